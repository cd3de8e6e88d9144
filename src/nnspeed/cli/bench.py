"""``nnspeed bench``: measure every combination of the given axes and store the run."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from ..axes import int_values, split
from ..errors import UnsavedError
from .app import BarEvents, StatusEvents, app, command_line, err, out, print_disagreements, progress_bar
from .options import Budget, Ci, Fps, InputDtype, InputShape, JsonOut, MaxTime, MinTime, Samples, StoreUrl


def print_adaptive(doc: dict, json_out: bool) -> None:
    from rich.table import Table

    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(
        title=f"{doc['source']} at {doc['qps']:g} requests/s (burstiness {doc['burstiness']:g}, seed {doc['seed']}), "
        f"p99 target {doc['slo_p99_ms']:g} ms",
        title_justify="left",
    )
    for name in ("server", "p99 ms", "p50 ms", "goodput/s", "accuracy %", "switches", "served by", "SLO"):
        t.add_column(name, justify="left" if name in ("server", "served by", "SLO") else "right")
    for r in doc["runs"]:
        shares = " · ".join(f"{k} {100 * v:.0f}%" for k, v in r["shares"].items() if v > 0)
        acc = r["delivered_accuracy"]
        t.add_row(
            r["mode"],
            f"{r['p99_ms']:.3g}",
            f"{r['p50_ms']:.3g}",
            f"{r['goodput']:,.0f}",
            "–" if acc is None else f"{acc:.2f}",
            str(r["switches"]) if r["mode"] == "adaptive" else "",
            shares,
            "held" if r["passed"] else "missed",
        )
    out.print(t)
    print_disagreements(doc)
    if doc.get("report"):
        err.print(f"wrote {doc['report']}", highlight=False)
    err.print(f"stored as run {doc['run_id']}", highlight=False)


@app.command()
def bench(
    sources: list[str] = typer.Argument(
        ...,
        help="zoo:NAME?k=v, py:module:function, py:file.py:function, hf:DIR, or a model file or "
        "directory (.onnx, .keras, .tflite, a save_pretrained folder); several allowed",
    ),
    backend: str = typer.Option(
        "auto",
        help="comma list: torch-eager, torch-compile, onnxruntime, openvino, tensorflow, litert; "
        "auto: each source's own runtime",
    ),
    precision: str = typer.Option("fp32", help="comma list: fp32, bf16, fp16"),
    batch: str = typer.Option("1", help="comma list of batch sizes"),
    threads: str = typer.Option("auto", help="comma list of thread counts; auto = the runtime's default"),
    device: str = typer.Option("cpu", help="comma list: cpu, cuda"),
    budget: Budget = None,
    fps: Fps = None,
    min_time: MinTime = 1.0,
    max_time: MaxTime = 10.0,
    min_iters: int = typer.Option(10, help="measure at least this many calls"),
    max_iters: int = typer.Option(1_000_000, help="measure at most this many calls"),
    ci: Ci = 0.01,
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    input_fn: str = typer.Option(None, help="py: a module:function returning example inputs for a batch size"),
    hf_task: str = typer.Option(
        None, "--task", help="hf: the task to load the directory for (default: from config.json's architectures)"
    ),
    seq_len: int = typer.Option(None, help="hf: tokens per sequence of a text model (default 128)"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
    samples: Samples = False,
    scenario: str = typer.Option("single-stream", help="single-stream, realtime (--fps), server (--qps), offline"),
    engine: str = typer.Option("nnspeed", help="nnspeed (its own load generator) or loadgen (MLPerf LoadGen)"),
    drop_late: bool = typer.Option(False, "--drop-late", help="realtime: drop a frame that arrives while one runs"),
    qps: float = typer.Option(None, help="server: mean arrival rate, requests per second"),
    slo_p99: float = typer.Option(None, "--slo-p99", help="server: p99 latency target in ms"),
    max_batch: int = typer.Option(1, help="server: largest batch the dynamic batcher forms (1: no batching)"),
    max_wait_ms: float = typer.Option(None, help="server: longest a request waits for a batch to fill (default 1)"),
    burstiness: float = typer.Option(1.0, help="server: squared CV of arrival gaps (1 Poisson, >1 burstier)"),
    seed: int = typer.Option(0, help="server: seed of the arrival times"),
    streams: int = typer.Option(1, help="offline: runner instances side by side (onnxruntime, openvino)"),
    interleave: bool = typer.Option(
        False,
        "--interleave",
        help="measure the configurations side by side in shuffled "
        "rounds and report each one's ratio to the first, with a CI that sees drift",
    ),
    min_rounds: int = typer.Option(8, help="--interleave: at least this many rounds"),
    max_rounds: int = typer.Option(60, help="--interleave: at most this many rounds"),
    adaptive: str = typer.Option(
        None,
        help="server: variants to switch between under load, most accurate first, e.g. "
        "'eager fp32,eager early exit max-prob 0.9' (names as nnspeed optimize shows them)",
    ),
    data: str = typer.Option(None, help="--adaptive: labelled data the requests carry (default: the model's own)"),
    report: str = typer.Option(None, help="--adaptive: also write an HTML report with latency and accuracy over time"),
):
    """Measure inference latency and throughput with rigorous statistics, and store the run."""
    if adaptive is not None:
        from ..commands.adaptive import AdaptiveRequest, check_bench_options
        from ..commands.adaptive import run as run_adaptive

        thread_counts = int_values(split(threads, "--threads"), "--threads", allow_auto=True)
        check_bench_options(scenario, sources, thread_counts)
        adaptive_request = AdaptiveRequest(
            source=sources[0],
            variants=adaptive,
            qps=qps,
            slo_p99=slo_p99,
            data=data,
            seconds=max_time,
            burstiness=burstiness,
            seed=seed,
            max_batch=max_batch,
            max_wait_ms=max_wait_ms,
            threads=thread_counts[0],
            report=report,
            command=command_line(),
        )
        with err.status("building the variants", spinner="dots") as status:
            served = run_adaptive(adaptive_request, store=store, events=StatusEvents(status))
        return print_adaptive(served.to_dict(), json_out)
    from ..commands.bench import BenchRequest, run

    request = BenchRequest(
        sources=sources,
        backend=backend,
        precision=precision,
        batch=batch,
        threads=threads,
        device=device,
        budget_ms=budget,
        fps=fps,
        min_time=min_time,
        max_time=max_time,
        min_iters=min_iters,
        max_iters=max_iters,
        ci=ci,
        input_shape=input_shape,
        input_dtype=input_dtype,
        input_fn=input_fn,
        task=hf_task,
        seq_len=seq_len,
        scenario=scenario,
        engine=engine,
        drop_late=drop_late,
        qps=qps,
        slo_p99=slo_p99,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        burstiness=burstiness,
        seed=seed,
        streams=streams,
        interleave=interleave,
        min_rounds=min_rounds,
        max_rounds=max_rounds,
        samples=samples,
        command=command_line(),
    )
    unsaved = None
    with progress_bar() as bar:
        task = bar.add_task("interleaved rounds" if interleave else "measuring", total=None)
        try:
            result = run(request, store=store, events=BarEvents(bar, task))
        except UnsavedError as e:  # measured but not stored: show the figures, then the error
            unsaved = e
            result = e.result
    show_bench(result, json_out)
    if unsaved is not None:
        raise unsaved
    if result.document.get("failed"):
        raise typer.Exit(PARTIAL_EXIT)


# Some configurations ran and were stored, others could not run (their reasons are printed and
# in the JSON's "failed"): not a clean success, and not an error that lost the rest.
PARTIAL_EXIT = 3


def show_bench(result, json_out: bool) -> None:
    from ..report.terminal import measurements_table, model_lines, ratios_table, scenario_lines, warnings_lines

    failed = result.document.get("failed", [])
    if json_out:
        out.print_json(json.dumps(result.to_dict()))
    else:
        run_id, results = result.run_id, result.measurements
        title = f"run {run_id}" if run_id else "not stored"
        if result.side_by_side is not None:
            out.print(measurements_table(results, title=title, best_per_source=False))
            out.print(ratios_table(result.side_by_side))
        else:
            out.print(measurements_table(results, title=title))
            for line in scenario_lines(results):
                out.print(line, highlight=False)
        for line in model_lines(results):
            out.print(f"[dim]{escape(line)}[/]", highlight=False)
        print_disagreements(result.document)
        out.file.flush()
        for line in warnings_lines(results):
            err.print(f"[yellow]warning:[/] {line}", highlight=False)
    for f in failed:
        label = f"{f['source']} {f['backend']} {f['precision']} b{f['batch']} t{f['threads'] or 'auto'}"
        err.print(f"[red]could not run:[/] {escape(label)}: {escape(f['error'])}", highlight=False)
    if result.run_id is not None and not json_out:
        err.print(f"stored as run {result.run_id} in {result.store_url}", highlight=False)
