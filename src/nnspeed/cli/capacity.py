"""``nnspeed capacity``: the highest request rate that holds a p99 SLO, with and without batching."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import StatusEvents, app, command_line, err, out, print_disagreements
from .options import InputDtype, InputShape, JsonOut, StoreUrl


def print_adaptive_capacity(doc: dict, slo_p99: float, burstiness: float, json_out: bool) -> None:
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(
        title=f"{doc['source']}: highest load holding p99 ≤ {slo_p99:g} ms (burstiness {burstiness:g})",
        title_justify="left",
        header_style="bold",
    )
    for c in ("server", "max QPS", "accuracy % there", "served by there"):
        t.add_column(c, justify="right" if c in ("max QPS", "accuracy % there") else "left")
    for mode, b in doc["capacity"].items():
        acc = b["delivered_accuracy"]
        shares = " · ".join(f"{k} {100 * v:.0f}%" for k, v in (b["shares"] or {}).items() if v > 0)
        t.add_row(mode, f"{b['max_qps']:,.0f}", "–" if acc is None else f"{acc:.2f}", shares)
    out.print(t)
    print_disagreements(doc)
    if doc["run_id"]:
        err.print(f"stored as run {doc['run_id']}", highlight=False)


@app.command()
def capacity(
    source: str = typer.Argument(..., help="zoo:NAME?k=v, py:module:function or onnx:PATH"),
    slo_p99: float = typer.Option(..., "--slo-p99", help="p99 latency target in ms"),
    dynamic_batching: bool = typer.Option(
        True, "--dynamic-batching/--no-dynamic-batching", help="also search with the dynamic batcher"
    ),
    max_batch: int = typer.Option(32, help="largest batch the dynamic batcher forms"),
    max_wait_ms: float = typer.Option(None, help="longest a request waits for a batch to fill (default: SLO/10)"),
    backend: str = typer.Option("torch-eager", help="torch-eager, torch-compile, onnxruntime, openvino"),
    precision: str = typer.Option("fp32", help="fp32, bf16, fp16"),
    threads: int = typer.Option(None, help="threads (default: the runtime's)"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    trial_time: float = typer.Option(2.0, help="seconds of arrivals per trial rate"),
    burstiness: float = typer.Option(1.0, help="squared CV of arrival gaps (1 Poisson, >1 burstier)"),
    seed: int = typer.Option(0, help="seed of the arrival times"),
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    report: Path = typer.Option(None, help="also write an HTML report with the latency-vs-load plot to this file"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
    adaptive: str = typer.Option(
        None, help="variants to switch between under load, most accurate first (see bench --adaptive)"
    ),
    data: str = typer.Option(None, help="--adaptive: labelled data the requests carry (default: the model's own)"),
):
    """Search the highest offered load whose p99 latency holds the SLO (Poisson arrivals)."""
    from ..commands.capacity import CapacityRequest, run, trial_line

    if adaptive is not None:
        from ..commands.adaptive import adaptive_capacity

        with err.status("building the variants", spinner="dots") as status:
            result = adaptive_capacity(
                source,
                adaptive,
                slo_p99,
                data=data,
                trial_time=trial_time,
                burstiness=burstiness,
                seed=seed,
                threads=threads,
                store=store,
                command=command_line(),
                on_trial=lambda mode, t: status.update(trial_line(mode, t)),
            )
        return print_adaptive_capacity(result.to_dict(), slo_p99, burstiness, json_out)

    request = CapacityRequest(
        source=source,
        slo_p99=slo_p99,
        dynamic_batching=dynamic_batching,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        backend=backend,
        precision=precision,
        threads=threads,
        device=device,
        trial_time=trial_time,
        burstiness=burstiness,
        seed=seed,
        input_shape=input_shape,
        input_dtype=input_dtype,
        report=report,
        command=command_line(),
    )
    with err.status("warming up", spinner="dots") as status:
        result = run(request, store=store, events=StatusEvents(status))
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(
        title=f"{doc['source']}: highest load holding p99 ≤ {slo_p99:g} ms", title_justify="left", header_style="bold"
    )
    for c in ("batching", "offered QPS", "achieved QPS", "p50 ms", "p99 ms", "mean batch", "SLO"):
        t.add_column(c, justify="left" if c in ("batching", "SLO") else "right")
    for p in doc["curve"]:
        t.add_row(
            p["batching"].replace("_", " "),
            f"{p['offered_qps']:,.0f}",
            f"{p['achieved_qps']:,.0f}",
            f"{p['p50_ms']:.3f}",
            f"{p['p99_ms']:.3f}",
            f"{p['mean_batch']:.1f}",
            "held" if p["passed"] else "missed",
        )
    out.print(t)
    print_disagreements(doc)
    for mode, q in doc["max_qps"].items():
        if q:
            out.print(f"max QPS {mode.replace('_', ' ')}: {q:,.0f}", highlight=False)
        elif q is not None:
            low = min(p["offered_qps"] for p in doc["curve"] if p["batching"] == mode)
            out.print(
                f"{mode.replace('_', ' ')}: no rate tried held the SLO, down to {low:,.0f} QPS; raise --slo-p99 "
                "or use a faster configuration",
                highlight=False,
            )
