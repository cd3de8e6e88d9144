"""The Python API: load a workload, bench it, get a Measurement."""

from __future__ import annotations

from collections.abc import Iterable

from .backends.base import Settings
from .backends.registry import before_load
from .commands.events import QUIET
from .commands.grid import apart_cells, bench_grid, cell_label, grid, interleave_grid
from .commands.results import BenchResult
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
    "bench_run",
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
    *,
    min_time: float = 1.0,
    max_time: float = 10.0,
    budget_ms: float | None = None,
    fps: float | None = None,
    clock=None,
    stop: StopRule | None = None,
    **settings,
) -> Measurement:
    """Measure one configuration and return its Measurement (not stored; see ``Store``).

    ``settings``: the ``Settings`` fields (``backend`` "torch-eager" unless given, ``precision``,
    ``batch``, ``threads``, ``device``, ``options``).  ``stop`` replaces the stop rule
    ``min_time``/``max_time`` make (iterations, CI target)."""
    config = Settings(**{"backend": "torch-eager", **settings, "options": settings.get("options") or {}})
    before_load([config])
    workload = as_workload(model_or_source, inputs)
    stop = stop or StopRule(min_time=min_time, max_time=max_time)
    return single_stream(workload, config, stop, clock=clock, budget_ms=budget_or_fps(budget_ms, fps))


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


def bench_run(sources: str | list[str], *, store=None, events=None, **options) -> BenchResult:
    """The ``bench`` command as a function: ``options`` are ``BenchRequest``'s fields (axes as
    comma lists or lists: ``backend="torch-eager,onnxruntime"``); every combination measured in
    the scenario and stored as one run.  ``events``: progress (``commands.events.Events``)."""
    from .commands.bench import BenchRequest, run

    return run(BenchRequest(sources=sources, **options), store=store, events=events or QUIET)
