"""The Python API: load a workload, bench it, get a Measurement."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from .backends.base import Settings
from .backends.registry import before_load, resolve_backend
from .errors import InputError
from .measure.interleave import RoundRule
from .measure.measurement import Measurement
from .measure.stoprule import StopRule
from .scenarios.side_by_side import SideBySide
from .scenarios.side_by_side import side_by_side as _side_by_side
from .scenarios.single_stream import budget_or_fps, single_stream
from .workloads.sources import as_workload, workload_from_module
from .workloads.sources import load as _load
from .workloads.workload import Workload

__all__ = [
    "apart_cells",
    "as_workload",
    "bench",
    "bench_grid",
    "budget_or_fps",
    "cell_label",
    "grid",
    "interleave_grid",
    "load",
    "side_by_side",
    "workload_from_module",
]


def load(source: str, **options) -> Workload:
    """The workload a source names: ``zoo:mlp?depth=2``, ``py:pkg.mod:fn``, ``onnx:model.onnx``.

    ``options``: ``input_shape`` ("1x3x224x224"), ``input_dtype``, ``input_fn`` ("mod:fn").
    """
    return _load(source, **options)


def bench(
    model_or_source,
    inputs=None,
    backend: str = "torch-eager",
    precision: str = "fp32",
    batch: int = 1,
    threads: int | None = None,
    device: str = "cpu",
    min_time: float = 1.0,
    max_time: float = 10.0,
    budget_ms: float | None = None,
    fps: float | None = None,
    options: dict | None = None,
    clock=None,
    stop: StopRule | None = None,
) -> Measurement:
    """Measure one configuration and return its Measurement (not stored; see ``Store``).
    ``stop`` replaces the stop rule ``min_time``/``max_time`` make (iterations, CI target)."""
    settings = Settings(backend, precision, batch, threads, device, options or {})
    before_load([settings])
    workload = as_workload(model_or_source, inputs)
    stop = stop or StopRule(min_time=min_time, max_time=max_time)
    return single_stream(workload, settings, stop, clock=clock, budget_ms=budget_or_fps(budget_ms, fps))


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
) -> list[Measurement]:
    """Measure every cell; each source is loaded once (or taken from ``workloads``) and shared.

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
        if i in apart:
            out.append(_bench_apart(i, src, settings, stop, budget_ms, load_options or {}))
            continue
        if src not in workloads:
            workloads[src] = load(src, **(load_options or {}))
        if scenario is not None:
            out.append(scenario(workloads[src], settings))
        else:
            out.append(single_stream(workloads[src], settings, stop, budget_ms=budget_ms, on_sample=on_sample))
    return out


def apart_cells(cells: list[tuple[str, Settings]]) -> set[int]:
    """The cells to measure each in a process of its own: those of a backend whose thread count
    is fixed once per process (``threads_fixed_per_process``), when the cells ask it for more
    than one count."""
    from .backends.registry import get_backend

    counts: dict[str, set] = {}
    for _, s in cells:
        if getattr(get_backend(s.backend), "threads_fixed_per_process", False):
            counts.setdefault(s.backend, set()).add(s.threads)
    many = {b for b, c in counts.items() if len(c) > 1}
    return {i for i, (_, s) in enumerate(cells) if s.backend in many}


def _bench_apart(i: int, src: str, s: Settings, stop: StopRule, budget_ms, load_options: dict) -> Measurement:
    from .errors import BackendError
    from .sweeps.grid import Cell
    from .sweeps.runner import DEFAULT_CELL_TIMEOUT_S, run_cell

    if s.options:
        raise BackendError(
            f"backend options cannot travel to a fresh process; bench {s.backend} once per --threads value"
        )
    cell = Cell(i, src, s.backend, s.precision, s.batch, s.threads, s.device)
    options = {k: v for k, v in load_options.items() if v}
    spec = {"stop": stop.to_dict(), "budget_ms": budget_ms, "load_options": options}
    status, why, m = run_cell(cell, spec, DEFAULT_CELL_TIMEOUT_S)
    if m is None:
        raise BackendError(f"{src} on {s.backend} with {s.threads or 'auto'} threads failed in its own process: {why}")
    return m


def side_by_side(
    configs: Iterable,
    inputs=None,
    min_rounds: int = 8,
    max_rounds: int = 60,
    max_time: float = 60.0,
    ci: float = 0.01,
    statistic: str = "p50",
    seed: int = 0,
    budget_ms: float | None = None,
    labels: list[str] | None = None,
    clock=None,
) -> SideBySide:
    """Measure several configurations in interleaved rounds and compare each with the first.

    ``configs``: (model_or_source, settings) pairs, settings a dict of Settings fields
    (``{"backend": "onnxruntime", "threads": 1}``) or a Settings.  The ratios' 95% CIs come from
    the per-round ratios, so drift of the machine that hits every arm cancels out.
    """
    pairs = [
        (m, s if isinstance(s, Settings) else Settings(**{"backend": "torch-eager", **dict(s)})) for m, s in configs
    ]
    before_load([s for _, s in pairs])
    arms = [(as_workload(m, inputs), s) for m, s in pairs]
    rule = RoundRule(min_rounds=min_rounds, max_rounds=max_rounds, max_time=max_time, ci_rel=ci, statistic=statistic)
    return _side_by_side(arms, rule, labels=labels, clock=clock, seed=seed, budget_ms=budget_ms)


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
    return _side_by_side(
        arms, rule, labels=[cell_label(src, s) for src, s in cells], budget_ms=budget_ms, on_round=on_round
    )
