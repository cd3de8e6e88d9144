"""``nnspeed sweep``: every cell of a grid, each in its own process, resumable."""

from __future__ import annotations

import json

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .app import app, command_line, err, interrupt_note, out
from .options import Budget, Ci, Fps, InputDtype, InputShape, JsonOut, MaxTime, MinTime, StoreUrl


@app.command()
def sweep(
    source: str = typer.Argument(..., help="zoo:NAME?k=v, py:module:function or onnx:PATH"),
    grid: str = typer.Option(
        ..., help="axes and values: 'backend=torch-eager,onnxruntime;batch=1,8;depth=2,4' (zoo keys are axes too)"
    ),
    budget: Budget = None,
    fps: Fps = None,
    min_time: MinTime = 1.0,
    max_time: MaxTime = 10.0,
    ci: Ci = 0.01,
    cell_timeout: float = typer.Option(600, help="seconds before a cell counts as hung and is recorded as failed"),
    retry_failed: bool = typer.Option(False, help="run again the cells that failed in an earlier attempt"),
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Measure every cell of a grid in isolated processes; rerun the same command to resume."""
    from ..api import budget_or_fps, load
    from ..backends.registry import check_backend
    from ..measure.stoprule import StopRule
    from ..report.terminal import failed_cells_table, measurements_table
    from ..store.store import Store
    from ..sweep.grid import build_cells, sweep_id
    from ..sweep.runner import run_sweep

    cells = build_cells(source, grid)
    for b in dict.fromkeys(c.backend for c in cells):
        check_backend(b, " in --grid")
    stop = StopRule(min_time=min_time, max_time=max_time, ci_rel=ci)
    load_options = {k: v for k, v in dict(input_shape=input_shape, input_dtype=input_dtype).items() if v}
    spec = {"stop": stop.to_dict(), "budget_ms": budget_or_fps(budget, fps), "load_options": load_options}
    db = Store(store)
    for src in dict.fromkeys(c.source for c in cells):
        load(src, **load_options)  # a bad source fails here, before any cell runs
    run_id = sweep_id(source, grid, spec)
    if retry_failed:
        db.forget_failed_cells(run_id)
    interrupt_note[0] = f"interrupted: finished cells are stored in {run_id}; run the same command again to resume"

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("sweep", total=None)

        def on_start(cell, i, n):
            progress.update(task, total=n, completed=i, description=f"cell {cell.index + 1}/{len(cells)} {cell.key}")

        def on_done(o):
            if o.status == "ok":
                lat = o.measurement.latency_ms
                msg = f"[green]ok[/]     {o.cell.key}  p50 {lat.p50:.3f} ms  ({o.seconds:.1f} s)"
            else:
                msg = f"[red]failed[/] {o.cell.key}  {o.reason}"
            progress.console.print(msg, highlight=False, soft_wrap=True)

        outcomes = run_sweep(
            db, run_id, command_line(), cells, spec, cell_timeout, on_start, on_done
        )

    ok = [o for o in outcomes if o.status == "ok" and o.measurement is not None]
    failed = [o for o in outcomes if o.status == "failed"]
    resumed = sum(o.resumed for o in outcomes)
    if json_out:
        doc = {
            "sweep_id": run_id,
            "cells": [
                {
                    "index": o.cell.index,
                    "key": o.cell.key,
                    **o.cell.to_dict(),
                    "status": o.status,
                    "reason": o.reason or None,
                    "seconds": o.seconds,
                    "resumed": o.resumed,
                    "result": o.measurement.to_dict() if o.measurement else None,
                }
                for o in outcomes
            ],
        }
        out.print_json(json.dumps(doc))
        return
    if ok:
        out.print(measurements_table([o.measurement for o in ok], title=f"sweep {run_id}", best_per_source=False))
    if failed:
        out.print(failed_cells_table(failed))
    out.file.flush()
    err.print(
        f"{len(outcomes)} cells: {len(outcomes) - resumed} run now, {resumed} from an earlier attempt, "
        f"{len(failed)} failed; stored as run {run_id} in {db.display_url}",
        highlight=False,
    )
