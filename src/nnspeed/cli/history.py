"""``nnspeed runs``, ``show`` and ``compare``: the stored history."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app, command_line, err, out, print_disagreements
from .options import JsonOut, Samples, StoreUrl


@app.command()
def runs(
    limit: int = typer.Option(20, help="how many recent runs"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """List stored runs, newest first."""
    from ..report.terminal import runs_table
    from ..store.store import Store

    rows = Store(store).list_runs(limit)
    if json_out:
        out.print_json(json.dumps({"runs": rows}))
    elif not rows:
        err.print("no runs stored yet; measure something with: nnspeed bench zoo:mlp")
    else:
        out.print(runs_table(rows))


@app.command()
def show(
    run_id: str = typer.Argument(..., help="a run id (or a unique prefix of one)"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
    samples: Samples = False,
):
    """Show one stored run: its results, settings and machine."""
    from ..report.terminal import measurements_table, warnings_lines
    from ..store.store import Store

    if json_out:
        from ..commands.show import ShowRequest, run

        out.print_json(json.dumps(run(ShowRequest(run_id=run_id, samples=samples), store=store).to_dict()))
        return
    run, ms = Store(store).get_run(run_id)
    env = run["env"]
    out.print(measurements_table(ms, title=f"run {run['id']} · {run['created_at']} · {run['command']}"))
    out.print(
        f"machine: {env.get('cpu')} · {env.get('cores_physical')} cores · {env.get('memory_gb')} GiB · "
        f"flags {' '.join(env.get('cpu_flags', []))} · {env.get('os')}",
        highlight=False,
    )
    for line in warnings_lines(ms):
        err.print(f"[yellow]warning:[/] {line}", highlight=False)


@app.command()
def compare(
    run_a: str = typer.Argument(..., help="baseline run id"),
    run_b: str = typer.Argument(..., help="candidate run id"),
    ignore: str = typer.Option("", help="settings that may differ between matched results, e.g. backend,precision"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Speedup of RUN_B over RUN_A per matching configuration, with a 95% confidence interval."""
    from ..commands.compare import CompareRequest
    from ..commands.compare import run as run_compare
    from ..report.terminal import comparisons_table

    result = run_compare(CompareRequest(run_a=run_a, run_b=run_b, ignore=ignore), store=store)
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    out.print(comparisons_table(result.comparisons, doc["baseline"], doc["candidate"]))
    print_disagreements(doc)
    out.file.flush()
    err.print(f"note: {doc['note']}", highlight=False)


@app.command()
def history(
    source: str = typer.Argument(..., help="the source string as stored, e.g. zoo:mlp"),
    backend: str = typer.Option(None, help="only this backend"),
    precision: str = typer.Option(None, help="only this precision"),
    batch: int = typer.Option(None, help="only this batch size"),
    threads: int = typer.Option(None, help="only this thread count"),
    device: str = typer.Option(None, help="only this device"),
    any_machine: bool = typer.Option(False, "--any-machine", help="include runs from other machines"),
    min_change: float = typer.Option(0.05, help="smallest step called a change, as a fraction (0.05: 5%)"),
    report: Path = typer.Option(None, help="write an HTML report with the trend plot here"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """The trend of one configuration over its stored runs, with the runs where it changed."""
    from .._files import write_text
    from ..commands.history import HistoryRequest, run
    from ..report.terminal import history_table

    request = HistoryRequest(
        source=source,
        backend=backend,
        precision=precision,
        batch=batch,
        threads=threads,
        device=device,
        any_machine=any_machine,
        min_change=min_change,
    )
    h = run(request, store=store)
    if report is not None:
        from ..report.html import render

        page = {
            "id": f"history of {source}",
            "created_at": h.runs[-1]["created_at"],
            "command": command_line(),
            "kind": "history",
        }
        err.print(f"wrote {write_text(report, render(page, [], history=h.to_dict()))}", highlight=False)
    if json_out:
        out.print_json(json.dumps(h.to_dict()))
        return
    out.print(history_table(h))
    print_disagreements(h.to_dict())
    for c in h.changes:
        out.print(
            f"change at run {c['run_id']} ({c['created_at']}): {c['ratio']:.3f}x, {c['direction']}", highlight=False
        )
    if not h.changes:
        out.print(f"no change of {100 * min_change:g}% or more across {len(h.runs)} runs", highlight=False)
