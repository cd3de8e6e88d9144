"""``nnspeed predict``: a model's latency before running it, and how good those predictions are."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table

from ..commands.events import Events
from .app import app, command_line, err, out, print_disagreements
from .options import InputDtype, InputShape, JsonOut, StoreUrl


@contextmanager
def phases_shown():
    """A progress bar for each phase an ``on_progress`` callback hears of, gone when done."""
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        tasks: dict[str, object] = {}

        def on_progress(text: str, done: int, total: int | None) -> None:
            if text not in tasks:
                tasks[text] = bar.add_task(text, total=None)
            bar.update(tasks[text], completed=done, total=total)

        yield on_progress


class PhaseEvents(Events):
    """A command's progress told to a ``phases_shown`` callback."""

    def __init__(self, on_progress) -> None:
        self.on_progress = on_progress

    def progress(self, what: str, done: int | None = None, total: int | None = None) -> None:
        self.on_progress(what, done or 0, total)


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
    from ..commands.predict import PredictRequest, run

    request = PredictRequest(
        source=source,
        backend=backend,
        precision=precision,
        batch=batch,
        threads=threads,
        machine=machine,
        evaluate=evaluate,
        models=models,
        seed=seed,
        rounds=rounds,
        anchor=anchor,
        scale=scale,
        input_shape=input_shape,
        input_dtype=input_dtype,
        command=command_line(),
    )
    with phases_shown() as on_progress:
        result = run(request, store=store, events=PhaseEvents(on_progress))
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    if evaluate:
        _print_evaluation(doc)
        return
    drift = f", × {doc['drift_factor']:.2f} for the drift since" if doc["profile"]["drift"] else ""
    tab = Table(
        title=f"{doc['source']}: predicted {doc['predicted_ms']:.3f} ms per call (batch {batch}, {doc['threads']} "
        f"threads, operator tables: {doc['profile']['from']}; parts × {doc['composition_factor']:.2f} for running "
        f"in sequence{drift})",
        title_justify="left",
        header_style="bold",
    )
    for c in ("operator", "calls", "ms", "share"):
        tab.add_column(c, justify="left" if c == "operator" else "right")
    for op, row in doc["by_op"].items():
        tab.add_row(op, str(row["count"]), f"{row['ms']:.4f}", f"{100 * row['ms'] / doc['predicted_ms']:.0f}%")
    per_call = doc["per_call_ms"]
    tab.add_row("per call (modules, runner)", "1", f"{per_call:.4f}", f"{100 * per_call / doc['predicted_ms']:.0f}%")
    out.print(tab)
    print_disagreements(doc)
    if doc["unmodelled"]:
        err.print(
            "no latency model for "
            + ", ".join(f"{k} ×{v}" for k, v in doc["unmodelled"].items())
            + ": priced as plain calls, so the prediction is a lower bound there",
            highlight=False,
        )


def _print_evaluation(summary: dict) -> None:
    n, threads = summary["n_models"], summary["threads"]
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
    print_disagreements(summary)
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
