"""``nnspeed.sweep``: every cell of a grid, each in its own process, stored as it finishes."""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.registry import check_backend
from ..errors import InputError
from ..measure.stoprule import StopRule
from ..scenarios.single_stream import budget_or_fps
from ..store.store import Store
from ..sweeps.cluster import Cluster
from ..sweeps.grid import Cell, build_cells, sweep_id
from ..sweeps.ray_runner import DEFAULT_RETRIES, run_sweep_on_cluster, usable_nodes
from ..sweeps.runner import DEFAULT_CELL_TIMEOUT_S, CellOutcome, run_sweep
from ..workloads.sources import load
from .events import QUIET, Events
from .results import SweepResult


@dataclass(frozen=True, kw_only=True)
class SweepRequest:
    """Every cell of ``grid`` (``'backend=torch-eager,onnxruntime;batch=1,8;depth=2,4'``; zoo
    keys are axes too), each measured in a fresh process.  The sweep's id follows from its
    source, grid and settings, so the same request again resumes: only the cells not stored yet
    run (``retry_failed`` runs the failed ones again).

    With ``cluster`` (a Ray address, ``auto`` or ``local``) the cells run on the cluster's
    nodes, ``per_node`` at a time on each (on a stated core split), a cell whose node dies
    running again elsewhere up to ``retries`` times; this process stays the only writer."""

    source: str
    grid: str
    budget_ms: float | None = None
    fps: float | None = None
    min_time: float = 1.0
    max_time: float = 10.0
    ci: float = 0.01
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S
    retry_failed: bool = False
    input_shape: str | None = None
    input_dtype: str | None = None
    cluster: str | None = None
    per_node: int = 1
    retries: int = DEFAULT_RETRIES
    command: str = "nnspeed sweep"

    def validate(self) -> list[Cell]:
        """The cells, every option and backend checked; nothing loaded or stored."""
        if self.cluster is None and (self.per_node != 1 or self.retries != DEFAULT_RETRIES):
            raise InputError("--per-node and --retries apply to a sweep on a cluster; add --cluster ADDRESS")
        cells = build_cells(self.source, self.grid)
        for b in dict.fromkeys(c.backend for c in cells):
            check_backend(b, " in --grid")
        return cells


def run(request: SweepRequest, *, store: Store | str | None = None, events: Events = QUIET) -> SweepResult:
    """Measure the request's cells, each stored as it finishes.  ``events`` hears the sweep's
    id before the first cell starts, each cell's start and each cell's outcome."""
    r = request
    cells = r.validate()
    stop = StopRule(min_time=r.min_time, max_time=r.max_time, ci_rel=r.ci)
    load_options = {k: v for k, v in dict(input_shape=r.input_shape, input_dtype=r.input_dtype).items() if v}
    spec = {"stop": stop.to_dict(), "budget_ms": budget_or_fps(r.budget_ms, r.fps), "load_options": load_options}
    db = Store.of(store)
    for src in dict.fromkeys(c.source for c in cells):
        load(src, **load_options)  # a bad source fails here, before any cell runs
    # cells split over a node's cores measure something else than cells that own a machine
    run_id = sweep_id(r.source, r.grid, spec if r.cluster is None else {**spec, "per_node": r.per_node})

    def on_start(cell: Cell, done: int, n: int) -> None:
        events.progress(f"cell {cell.index + 1}/{len(cells)} {cell.key}", done, n)

    def on_done(o: CellOutcome) -> None:
        events.finished(o.line(), ok=o.status == "ok")

    if r.cluster is None:
        if r.retry_failed:
            db.forget_failed_cells(run_id)
        events.begun(run_id)
        outcomes = run_sweep(db, run_id, r.command, cells, spec, r.cell_timeout, on_start, on_done)
    else:
        with Cluster(r.cluster) as ray_cluster:
            usable_nodes(ray_cluster, r.per_node)  # before anything is stored
            if r.retry_failed:
                db.forget_failed_cells(run_id)
            events.begun(run_id)
            outcomes = run_sweep_on_cluster(
                db,
                run_id,
                r.command,
                cells,
                spec,
                ray_cluster,
                r.cell_timeout,
                r.per_node,
                r.retries,
                on_start,
                on_done,
            )
    doc = {"sweep_id": run_id, "cells": [o.to_dict() for o in outcomes]}
    measured = [o.measurement for o in outcomes if o.measurement is not None]
    return SweepResult(doc, measured, outcomes=outcomes)


def sweep(
    source: str, grid: str, *, store: Store | str | None = None, events: Events = QUIET, **options
) -> SweepResult:
    """``nnspeed.sweep``: ``run`` on a ``SweepRequest`` of ``source``, ``grid`` and ``options``."""
    return run(SweepRequest(source=source, grid=grid, **options), store=store, events=events)
