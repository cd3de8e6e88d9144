"""``nnspeed check`` (a speed regression gate for CI) and ``nnspeed tag`` (named baselines)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app, command_line, err, out, print_disagreements
from .options import InputDtype, InputShape, JsonOut, StoreUrl


@app.command()
def check(
    sources: list[str] = typer.Argument(..., help="A B (B is checked against A), or SOURCE with --baseline NAME"),
    max_slowdown: str = typer.Option("5%", help="the slowdown allowed before B counts as a regression"),
    stat: str = typer.Option("p50", help="what is compared: p50, p90, p99 or mean latency"),
    baseline: str = typer.Option(None, help="compare SOURCE with the stored run of this name"),
    save_baseline: str = typer.Option(None, help="store this measurement under this name for later checks"),
    any_machine: bool = typer.Option(False, "--any-machine", help="accept a baseline measured on another machine"),
    backend: str = typer.Option("torch-eager", help="backend (two values: check one against the other)"),
    precision: str = typer.Option("fp32", help="precision (two values: check one against the other)"),
    batch: str = typer.Option("1", help="batch size (two values: check one against the other)"),
    threads: str = typer.Option("auto", help="threads (two values: check one against the other)"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    min_rounds: int = typer.Option(8, help="at least this many interleaved rounds"),
    max_rounds: int = typer.Option(60, help="at most this many rounds"),
    max_time: float = typer.Option(60.0, help="at most this many seconds of rounds"),
    summary: Path = typer.Option(None, help="write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)"),
    junit: Path = typer.Option(None, help="write a JUnit XML report here"),
    seed: int = typer.Option(0, help="seed of the round orders"),
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Exit 1 when B is slower than A beyond --max-slowdown (whole 95% CI past it), else 0.

    A and B are measured side by side in interleaved rounds on this machine, so drift of the
    machine cancels instead of raising false alarms."""
    from .._files import write_text
    from ..commands.check import CheckRequest, run
    from ..gate.reports import check_paths, markdown
    from ..gate.reports import junit as junit_xml
    from ..measure.interleave import RoundRule

    rule = RoundRule(min_rounds=min_rounds, max_rounds=max_rounds, max_time=max_time)
    check_paths(summary, junit)
    request = CheckRequest(
        sources=sources,
        max_slowdown=max_slowdown,
        stat=stat,
        backend=backend,
        precision=precision,
        batch=batch,
        threads=threads,
        device=device,
        baseline=baseline,
        save_baseline=save_baseline,
        any_machine=any_machine,
        rule=rule,
        command=command_line(),
        load_options=dict(input_shape=input_shape, input_dtype=input_dtype),
        seed=seed,
    )
    result = run(request, store=store)
    compared = result.method != "saved as a baseline"
    if summary is not None and compared:
        err.print(f"wrote {write_text(summary, markdown([result]))}", highlight=False)
    if junit is not None and compared:
        err.print(f"wrote {write_text(junit, junit_xml([result]))}", highlight=False)
    if json_out:
        out.print_json(json.dumps(result.to_dict(), default=float))
    else:
        color = {"regression": "red", "within": "green", "faster": "green", "inconclusive": "yellow"}[result.verdict]
        if compared:
            out.print(f"[bold {color}]{result.verdict}[/]: {result.explanation()}", highlight=False)
            out.print(
                f"method: {result.method}" + (f", {result.rounds} rounds" if result.rounds else ""), highlight=False
            )
        print_disagreements(result.to_dict())
        for note in result.notes:
            err.print(f"note: {note}", highlight=False)
        err.print(f"stored as run {result.run_id}", highlight=False)
    raise typer.Exit(result.exit_code)


@app.command()
def tag(
    run_id: str = typer.Argument(..., help="a stored run id (or a unique prefix)"),
    name: str = typer.Argument(..., help="the baseline name, e.g. main"),
    store: StoreUrl = None,
):
    """Name a stored run as a baseline for ``nnspeed check SOURCE --baseline NAME``."""
    from ..store.store import Store

    db = Store(store, writable=True)
    previous = db.tag(run_id, name)
    full = db.tagged(name)
    moved = f" (it named run {previous} before)" if previous and previous != full else ""
    err.print(f"'{name}' now names run {full}{moved}", highlight=False)
