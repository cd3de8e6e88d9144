"""The cells of a bench: every combination of the axes, each measured (in a process of its own
where its runtime needs one), or all of them side by side in interleaved rounds."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from ..backends.base import Settings
from ..backends.registry import before_load, get_backend, resolve_backend
from ..errors import BackendError, InputError, MissingPackageError, ModelError, SourceError
from ..measure.interleave import RoundRule
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from ..scenarios.side_by_side import SideBySide, side_by_side
from ..scenarios.single_stream import single_stream
from ..workloads.sources import load
from ..workloads.workload import Workload


def grid(
    sources: Iterable[str],
    backends: Iterable[str],
    precisions: Iterable[str],
    batches: Iterable[int],
    threads: Iterable[int | None],
    devices: Iterable[str],
) -> list[tuple[str, Settings]]:
    """Every combination of the axes, in a stable order.  Backend "auto": each source's own
    runtime (torch-eager for torch, onnxruntime for ONNX, tensorflow for Keras, litert for .tflite)."""
    return [
        (src, Settings(resolve_backend(b, src), p, n, t, d))
        for src, b, p, n, t, d in itertools.product(sources, backends, precisions, batches, threads, devices)
    ]


def bench_grid(
    cells: list[tuple[str, Settings]],
    stop: StopRule,
    budget_ms: float | None = None,
    load_options: dict | None = None,
    on_start: Callable[[int, str, Settings], None] | None = None,
    on_sample: Callable[[int, float], None] | None = None,
    workloads: dict[str, Workload] | None = None,
    scenario: Callable[[Workload, Settings], Measurement] | None = None,
    failures: list[tuple[str, Settings, Exception]] | None = None,
) -> list[Measurement]:
    """Measure every cell; each source is loaded once (or taken from ``workloads``) and shared.

    With ``failures`` (a list), a cell that cannot run (its backend cannot load or export the
    model, a precision it lacks, …) adds ``(source, settings, error)`` there and the other cells
    go on; without it the first such error is raised.

    ``scenario(workload, settings)`` measures one cell (default: single-stream).  Single-stream
    cells of a runtime that fixes its threads once per process (TensorFlow), asked for several
    counts, are measured each in a fresh process, as a sweep's cells are (``apart_cells``)."""
    workloads = dict(workloads or {})
    apart = apart_cells(cells) if scenario is None else set()
    before_load([s for i, (_, s) in enumerate(cells) if i not in apart])
    out = []
    for i, (src, settings) in enumerate(cells):
        if on_start:
            on_start(i, src, settings)
        try:
            if i in apart:
                out.append(_bench_apart(i, src, settings, stop, budget_ms, load_options or {}))
                continue
            if src not in workloads:
                workloads[src] = load(src, **(load_options or {}))
            if scenario is not None:
                out.append(scenario(workloads[src], settings))
            else:
                out.append(single_stream(workloads[src], settings, stop, budget_ms=budget_ms, on_sample=on_sample))
        except CELL_ERRORS as e:
            if failures is None:
                raise
            failures.append((src, settings, e))
    return out


# What stops one cell and not the others: the same model on another backend, precision or
# batch may well run (a model file that fixes batch 1 runs --batch 1,4 at 1). Bad options and
# sources are found before any cell runs.
CELL_ERRORS = (BackendError, SourceError, ModelError, MissingPackageError, InputError)


def apart_cells(cells: list[tuple[str, Settings]]) -> set[int]:
    """The cells to measure each in a process of its own: those of a backend whose thread count
    is fixed once per process (``threads_fixed_per_process``), when the cells ask it for more
    than one count."""
    counts: dict[str, set] = {}
    for _, s in cells:
        if getattr(get_backend(s.backend), "threads_fixed_per_process", False):
            counts.setdefault(s.backend, set()).add(s.threads)
    many = {b for b, c in counts.items() if len(c) > 1}
    return {i for i, (_, s) in enumerate(cells) if s.backend in many}


def _bench_apart(i: int, src: str, s: Settings, stop: StopRule, budget_ms, load_options: dict) -> Measurement:
    from ..sweeps.grid import Cell
    from ..sweeps.runner import DEFAULT_CELL_TIMEOUT_S, run_cell

    if s.options:
        raise BackendError(
            f"backend options cannot travel to a fresh process; bench {s.backend} once per --threads value"
        )
    cell = Cell(i, src, s.backend, s.precision, s.batch, s.threads, s.device)
    options = {k: v for k, v in load_options.items() if v}
    spec = {"stop": stop.to_dict(), "budget_ms": budget_ms, "load_options": options}
    _status, why, m = run_cell(cell, spec, DEFAULT_CELL_TIMEOUT_S)
    if m is None:
        raise BackendError(f"{src} on {s.backend} with {s.threads or 'auto'} threads failed in its own process: {why}")
    return m


def cell_label(source: str, s: Settings) -> str:
    return f"{source} {s.backend} {s.precision} b{s.batch} t{s.threads or 'auto'} {s.device}"


def interleave_grid(
    cells: list[tuple[str, Settings]],
    rule: RoundRule,
    workloads: dict[str, Workload],
    budget_ms: float | None = None,
    on_round=None,
) -> SideBySide:
    """Every cell of a grid as one arm of an interleaved measurement (the first is the reference)."""
    if len(cells) < 2:
        raise InputError("--interleave compares configurations: give a comma list on some axis (e.g. --backend a,b)")
    arms = [(workloads[src], s) for src, s in cells]
    return side_by_side(
        arms, rule, labels=[cell_label(src, s) for src, s in cells], budget_ms=budget_ms, on_round=on_round
    )


def values(v, label: str) -> list:
    """An axis given as a comma list ("1,8") or as a list of values."""
    from ..axes import split

    if isinstance(v, str):
        return split(v, label)
    return ["auto" if x is None else str(x) for x in (v if isinstance(v, (list, tuple)) else [v])]
