"""``nnspeed.sweep``: every cell of a grid, each in its own process, stored as it finishes."""

from __future__ import annotations

from collections.abc import Callable

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
from .results import SweepResult


def sweep(
    source: str,
    grid: str,
    budget_ms: float | None = None,
    fps: float | None = None,
    min_time: float = 1.0,
    max_time: float = 10.0,
    ci: float = 0.01,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
    retry_failed: bool = False,
    input_shape: str | None = None,
    input_dtype: str | None = None,
    store: Store | str | None = None,
    cluster: str | None = None,
    per_node: int = 1,
    retries: int = DEFAULT_RETRIES,
    command: str = "nnspeed sweep",
    on_begin: Callable[[str, int], None] | None = None,
    on_start: Callable[[Cell, int, int], None] | None = None,
    on_done: Callable[[CellOutcome], None] | None = None,
) -> SweepResult:
    """Measure every cell of ``grid`` (``'backend=torch-eager,onnxruntime;batch=1,8;depth=2,4'``;
    zoo keys are axes too), each in a fresh process.  The sweep's id follows from its source,
    grid and settings, so calling again with the same arguments resumes: only the cells not
    stored yet run (``retry_failed`` runs the failed ones again).  ``on_begin(sweep_id, cells)``
    hears the id before the first cell starts.

    With ``cluster`` (a Ray address, ``auto`` or ``local``) the cells run on the cluster's
    nodes, ``per_node`` at a time on each (on a stated core split), a cell whose node dies
    running again elsewhere up to ``retries`` times; this process stays the only writer."""
    if cluster is None and (per_node != 1 or retries != DEFAULT_RETRIES):
        raise InputError("--per-node and --retries apply to a sweep on a cluster; add --cluster ADDRESS")
    cells = build_cells(source, grid)
    for b in dict.fromkeys(c.backend for c in cells):
        check_backend(b, " in --grid")
    stop = StopRule(min_time=min_time, max_time=max_time, ci_rel=ci)
    load_options = {k: v for k, v in dict(input_shape=input_shape, input_dtype=input_dtype).items() if v}
    spec = {"stop": stop.to_dict(), "budget_ms": budget_or_fps(budget_ms, fps), "load_options": load_options}
    db = Store.of(store)
    for src in dict.fromkeys(c.source for c in cells):
        load(src, **load_options)  # a bad source fails here, before any cell runs
    # cells split over a node's cores measure something else than cells that own a machine
    run_id = sweep_id(source, grid, spec if cluster is None else {**spec, "per_node": per_node})
    if cluster is None:
        if retry_failed:
            db.forget_failed_cells(run_id)
        if on_begin:
            on_begin(run_id, len(cells))
        outcomes = run_sweep(db, run_id, command, cells, spec, cell_timeout, on_start, on_done)
    else:
        with Cluster(cluster) as ray_cluster:
            usable_nodes(ray_cluster, per_node)  # before anything is stored
            if retry_failed:
                db.forget_failed_cells(run_id)
            if on_begin:
                on_begin(run_id, len(cells))
            outcomes = run_sweep_on_cluster(
                db, run_id, command, cells, spec, ray_cluster, cell_timeout, per_node, retries, on_start, on_done
            )
    doc = {"sweep_id": run_id, "cells": [o.to_dict() for o in outcomes]}
    measured = [o.measurement for o in outcomes if o.measurement is not None]
    return SweepResult(doc, measured, outcomes=outcomes)
