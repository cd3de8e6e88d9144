"""``nnspeed predict``: a model's latency before running it, and how good those predictions are."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..errors import InputError, UnsupportedError
from .app import app, command_line, err, out
from .options import InputDtype, InputShape, JsonOut, StoreUrl


def operator_table_shown(threads: int, scale: float = 1.0) -> tuple[dict, bool]:
    """This machine's operator table (cached, or measured now under a progress bar)."""
    from rich.progress import Progress

    from ..predict.profile import operator_table

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"operator tables at {threads} threads (once per machine)", total=None)
        return operator_table(
            threads, scale=scale, progress=lambda: bar.advance(task), on_total=lambda n: bar.update(task, total=n)
        )


def _models(threads: int, machine: Path | None, scale: float, anchor: bool):
    """The fitted models and where their tables came from.  This machine's tables, cached or
    just measured, are re-anchored to how fast it runs whole models now (a few of their training
    architectures measured again); another machine's profile is used as it is."""
    from rich.progress import Progress

    from ..predict.calibration import measure_drift
    from ..predict.models import Models
    from ..predict.profile import from_file

    if machine is not None:
        table = from_file(machine, threads)
        origin = {"machine_id": table["machine_id"], "cpu": table.get("cpu"), "from": str(machine), "drift": None}
        return Models.from_table(table), origin
    table, cached = operator_table_shown(threads, scale)
    models = Models.from_table(table)
    if anchor:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("re-measuring reference models for the machine's drift", total=None)
            models.drift = measure_drift(models, threads, progress=lambda: bar.advance(task))
    origin = {
        "machine_id": table["machine_id"],
        "cpu": table.get("cpu"),
        "from": "cache" if cached else "measured now",
        "drift": models.drift.to_dict() if models.drift is not None else None,
    }
    return models, origin


@app.command()
def predict(
    source: str = typer.Argument(None, help="zoo:NAME?k=v or py:module:function (a torch model)"),
    backend: str = typer.Option("torch-eager", help="runtime to predict for (torch-eager)"),
    precision: str = typer.Option("fp32", help="numeric precision (fp32)"),
    batch: int = typer.Option(1, help="batch size"),
    threads: int = typer.Option(None, help="threads (default: the runtime's)"),
    machine: Path = typer.Option(
        None, help="a profile from nnspeed machine --operators --export (default: this machine)"
    ),
    evaluate: bool = typer.Option(False, "--evaluate", help="predict and then measure held-out random architectures"),
    models: int = typer.Option(100, "--models", help="with --evaluate: how many architectures"),
    seed: int = typer.Option(1, help="with --evaluate: the seed the architectures are drawn from"),
    rounds: int = typer.Option(
        3, "--rounds", help="with --evaluate: interleaved passes measuring every model (median)"
    ),
    anchor: bool = typer.Option(
        True,
        "--anchor/--no-anchor",
        help="re-measure a few of the table's reference models (seconds) to follow the machine's drift",
    ),
    scale: float = typer.Option(1.0, hidden=True, help="share of the full microbenchmark budget (tests)"),
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Predict latency from per-operator models fitted on microbenchmarks, without running the model."""
    import torch

    if backend != "torch-eager" or precision != "fp32":
        raise UnsupportedError(
            f"predict models torch-eager at fp32 so far, not {backend} at {precision}; "
            "use --backend torch-eager --precision fp32"
        )
    if batch < 1 or (threads is not None and threads < 1) or models < 1 or rounds < 1 or not 0 < scale <= 1:
        raise InputError("--batch, --threads, --models and --rounds must be positive integers")
    if evaluate == (source is not None):
        raise InputError("give a SOURCE to predict, or --evaluate (not both)")
    if evaluate and machine is not None:
        raise InputError("--evaluate measures on this machine, so it uses this machine's own tables; drop --machine")
    if evaluate:
        from ..predict.evaluate import check_seed

        check_seed(seed)
    t = threads or torch.get_num_threads()
    fitted, origin = _models(t, machine, scale, anchor and not evaluate)  # --evaluate anchors in its own rounds
    if evaluate:
        return _evaluate(fitted, t, models, seed, rounds, anchor, store, json_out)
    from ..api import load
    from ..predict.pricing import predict_trace
    from ..predict.trace import trace_model

    w = load(source, **{k: v for k, v in {"input_shape": input_shape, "input_dtype": input_dtype}.items() if v})
    if w.model is None:
        raise UnsupportedError(f"{source} is an ONNX file; predict needs a torch model (zoo: or py:)")
    p = predict_trace(fitted, trace_model(w.model, w.torch_args(batch)), t)
    doc = {
        "source": w.source,
        "backend": backend,
        "precision": precision,
        "batch": batch,
        "threads": t,
        "predicted_ms": p.latency_ms,
        "composition_factor": p.factor,
        "drift_factor": p.drift,
        "by_op": p.by_op,
        "unmodelled": p.unmodelled,
        "profile": origin,
    }
    if json_out:
        out.print_json(json.dumps(doc))
        return
    tab = Table(
        title=f"{w.source}: predicted {p.latency_ms:.3f} ms per call (batch {batch}, {t} threads, "
        f"operator tables: {origin['from']}; parts × {p.factor:.2f} for running in sequence"
        f"{f', × {p.drift:.2f} for the drift since' if origin['drift'] else ''})",
        title_justify="left",
        header_style="bold",
    )
    for c in ("operator", "calls", "ms", "share"):
        tab.add_column(c, justify="left" if c == "operator" else "right")
    for op, row in p.by_op.items():
        tab.add_row(op, str(row["count"]), f"{row['ms']:.4f}", f"{100 * row['ms'] / p.latency_ms:.0f}%")
    out.print(tab)
    if p.unmodelled:
        err.print(
            "no latency model for "
            + ", ".join(f"{k} ×{v}" for k, v in p.unmodelled.items())
            + ": priced as plain calls, so the prediction is a lower bound there",
            highlight=False,
        )


def _evaluate(fitted, threads: int, n: int, seed: int, rounds: int, anchor: bool, store, json_out: bool):
    from rich.progress import Progress

    from ..predict.calibration import ANCHORS
    from ..predict.evaluate import evaluate
    from ..store.store import Store

    db = Store(store)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"predicting, then measuring {n} held-out architectures ({rounds} rounds)", total=None)
        summary, measurements = evaluate(
            fitted,
            threads,
            n,
            seed,
            rounds,
            ANCHORS if anchor else 0,
            progress=lambda: bar.advance(task),
            on_total=lambda k: bar.update(task, total=k),
        )
    summary["threads"] = threads
    summary["seed"] = seed
    summary["run_id"] = db.save_run("predict-eval", command_line(), measurements, {"predict_eval": summary})
    if json_out:
        out.print_json(json.dumps(summary))
        return
    tab = Table(
        title=f"prediction error on {n} held-out architectures ({threads} threads)",
        title_justify="left",
        header_style="bold",
    )
    for c in ("family", "models", "within ±10%", "mean error"):
        tab.add_column(c, justify="left" if c == "family" else "right")
    for fam, row in summary["per_family"].items():
        tab.add_row(fam, str(row["n"]), f"{100 * row['within_10pct']:.0f}%", f"{100 * row['mean_error']:+.1f}%")
    out.print(tab)
    ci5, ci10 = summary["within_5pct_ci"], summary["within_10pct_ci"]
    out.print(
        f"within ±5%: {100 * summary['within_5pct']:.0f}% (95% CI {100 * ci5[0]:.0f}-{100 * ci5[1]:.0f}%)   "
        f"within ±10%: {100 * summary['within_10pct']:.0f}% (95% CI {100 * ci10[0]:.0f}-{100 * ci10[1]:.0f}%)   "
        f"RMSPE: {100 * summary['rmspe']:.1f}%   (stored as run {summary['run_id']})",
        highlight=False,
    )
    rep = summary["measurement_repeatability"]
    out.print(
        f"measurement repeatability ({summary['rounds']} rounds per model): every round within ±5% of the "
        f"model's median for {100 * rep['within_5pct']:.0f}% of models, within ±10% for "
        f"{100 * rep['within_10pct']:.0f}%",
        highlight=False,
    )
    if summary["drift"]:
        d = summary["drift"]
        out.print(
            f"drift: {d['anchors']} reference models measured in the same rounds ran at a median "
            f"{d['median_ratio']:.2f}x their prediction; every prediction is scaled for it",
            highlight=False,
        )
    for note in summary["notes"]:
        err.print(f"[yellow]warning:[/] {note}", highlight=False)
