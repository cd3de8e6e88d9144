"""``nnspeed sweep``: every cell of a grid, each in its own process, resumable."""

from __future__ import annotations

import json

import typer

from .app import BarEvents, app, command_line, err, interrupt_note, out, print_disagreements, progress_bar
from .options import Budget, Ci, ClusterAddress, Fps, InputDtype, InputShape, JsonOut, MaxTime, MinTime, StoreUrl


class SweepEvents(BarEvents):
    def begun(self, run_id: str) -> None:
        interrupt_note[0] = f"interrupted: finished cells are stored in {run_id}; run the same command again to resume"


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
    cluster: ClusterAddress = None,
    per_node: int = typer.Option(1, help="with --cluster: timed cells at once on each node, on a split of its cores"),
    retries: int = typer.Option(2, help="with --cluster: tries on other nodes for a cell whose node dies"),
    json_out: JsonOut = False,
):
    """Measure every cell of a grid in isolated processes; rerun the same command to resume."""
    from ..commands.sweep import SweepRequest, run
    from ..report.terminal import failed_cells_table, measurements_table
    from ..store.store import Store

    request = SweepRequest(
        source=source,
        grid=grid,
        budget_ms=budget,
        fps=fps,
        min_time=min_time,
        max_time=max_time,
        ci=ci,
        cell_timeout=cell_timeout,
        retry_failed=retry_failed,
        input_shape=input_shape,
        input_dtype=input_dtype,
        cluster=cluster,
        per_node=per_node,
        retries=retries,
        command=command_line(),
    )
    db = Store(store, writable=True)
    with progress_bar() as progress:
        result = run(request, store=db, events=SweepEvents(progress, progress.add_task("sweep", total=None)))
    if json_out:
        out.print_json(json.dumps(result.to_dict()))
        return
    outcomes, run_id = result.outcomes, result.sweep_id
    ok = [o for o in outcomes if o.status == "ok" and o.measurement is not None]
    failed, resumed = result.failed, result.resumed
    if ok:
        out.print(measurements_table([o.measurement for o in ok], title=f"sweep {run_id}", best_per_source=False))
    if failed:
        out.print(failed_cells_table(failed))
    print_disagreements(result.document)
    out.file.flush()
    err.print(
        f"{len(outcomes)} cells: {len(outcomes) - resumed} run now, {resumed} from an earlier attempt, "
        f"{len(failed)} failed; stored as run {run_id} in {db.display_url}",
        highlight=False,
    )
