"""The Python API: load a workload, bench it, get a Measurement."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from .backends.base import Settings
from .backends.registry import before_load, resolve_backend
from .errors import (
    BackendError,
    InputError,
    MissingPackageError,
    ModelError,
    SourceError,
    StoreError,
    UnsavedError,
)
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
    from .backends.registry import get_backend

    counts: dict[str, set] = {}
    for _, s in cells:
        if getattr(get_backend(s.backend), "threads_fixed_per_process", False):
            counts.setdefault(s.backend, set()).add(s.threads)
    many = {b for b, c in counts.items() if len(c) > 1}
    return {i for i, (_, s) in enumerate(cells) if s.backend in many}


def _bench_apart(i: int, src: str, s: Settings, stop: StopRule, budget_ms, load_options: dict) -> Measurement:
    from .sweeps.grid import Cell
    from .sweeps.runner import DEFAULT_CELL_TIMEOUT_S, run_cell

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


def _values(v, label: str) -> list:
    """An axis given as a comma list ("1,8") or as a list of values."""
    from .axes import split

    if isinstance(v, str):
        return split(v, label)
    return ["auto" if x is None else str(x) for x in (v if isinstance(v, (list, tuple)) else [v])]


def bench_run(
    sources: str | list[str],
    backend: str | list[str] = "auto",
    precision: str | list[str] = "fp32",
    batch: str | list[int] = "1",
    threads: str | list[int] = "auto",
    device: str | list[str] = "cpu",
    budget_ms: float | None = None,
    fps: float | None = None,
    min_time: float = 1.0,
    max_time: float = 10.0,
    min_iters: int = 10,
    max_iters: int = 1_000_000,
    ci: float = 0.01,
    input_shape: str | None = None,
    input_dtype: str | None = None,
    input_fn: str | None = None,
    task: str | None = None,
    seq_len: int | None = None,
    scenario: str = "single-stream",
    engine: str = "nnspeed",
    drop_late: bool = False,
    qps: float | None = None,
    slo_p99: float | None = None,
    max_batch: int = 1,
    max_wait_ms: float | None = None,
    burstiness: float = 1.0,
    seed: int = 0,
    streams: int = 1,
    interleave: bool = False,
    min_rounds: int = 8,
    max_rounds: int = 60,
    samples: bool = False,
    store=None,
    command: str = "nnspeed bench",
    on_start: Callable[[int, str, Settings], None] | None = None,
    on_round: Callable[[int, object], None] | None = None,
):
    """The ``bench`` command as a function: every combination of the axes (comma lists or lists)
    measured in the scenario and stored as one run; a ``BenchResult`` whose document is what
    ``bench --json`` prints (``samples``: with every per-call sample).  With ``interleave`` the
    configurations are measured side by side in shuffled rounds, each against the first.
    Everything is checked, and the store opened, before anything is measured."""
    from .axes import int_values
    from .backends.registry import AUTO, check_backend
    from .commands.results import BenchResult
    from .scenarios.choose import ScenarioOptions, scenario_runner
    from .scenarios.offline import DEFAULT_BATCHES
    from .store.store import Store

    sources = _values(sources, "the sources")
    if task is not None or seq_len is not None:
        from .workloads.hf_dir import with_keys
        from .workloads.sources import with_scheme

        sources = [with_scheme(s) for s in sources]
        if not any(s.startswith("hf:") for s in sources):
            raise InputError("--task and --seq-len apply to Hugging Face directories (hf:DIR); drop them here")
        sources = [with_keys(s, task, seq_len) for s in sources]
    backends = _values(backend, "--backend")
    for b in backends:
        if b != AUTO:
            check_backend(b)
    stop = StopRule(min_time=min_time, max_time=max_time, min_iters=min_iters, max_iters=max_iters, ci_rel=ci)
    options = ScenarioOptions(
        scenario, engine, fps, budget_ms, drop_late, qps, slo_p99, max_batch, max_wait_ms, burstiness, seed, streams
    )
    run_cell = scenario_runner(options, stop)
    batches = _values(batch, "--batch")
    if scenario == "offline" and batches == ["1"]:
        batches = [str(b) for b in DEFAULT_BATCHES]
    cells = grid(
        sources,
        backends,
        _values(precision, "--precision"),
        int_values(batches, "--batch"),
        int_values(_values(threads, "--threads"), "--threads", allow_auto=True),
        _values(device, "--device"),
    )
    if interleave:
        if scenario != "single-stream" or engine != "nnspeed":
            raise BackendError(
                "--interleave measures single-stream latency with nnspeed's engine; drop --scenario/--engine"
            )
        rule = RoundRule(min_rounds=min_rounds, max_rounds=max_rounds, max_time=max_time * len(cells), ci_rel=ci)
    db = Store.of(store)
    load_options = dict(input_shape=input_shape, input_dtype=input_dtype, input_fn=input_fn)
    # Loaded before timing anything, so a bad source fails first; the cells reuse them.
    single = scenario == "single-stream" and engine == "nnspeed"
    apart = apart_cells(cells) if single and not interleave else set()
    before_load([s for i, (_, s) in enumerate(cells) if i not in apart])
    workloads = {src: _load(src, **load_options) for src in dict.fromkeys(sources)}
    budget = budget_or_fps(budget_ms, fps)
    if interleave:
        sbs = interleave_grid(cells, rule, workloads, budget, on_round=on_round)
        doc = sbs.to_dict(samples=samples)
        stored = {k: v for k, v in doc.items() if k != "results"}  # the results are stored as measurements
        result = BenchResult({"run_id": None, **doc}, sbs.measurements, side_by_side=sbs, store_url=db.display_url)
        result.document["run_id"] = _save(result, db, command, sbs.measurements, {"interleave": stored})
        return result
    failures: list[tuple[str, Settings, Exception]] = []
    scenario_fn = None if single else run_cell  # single: the library's own, which runs apart cells in fresh processes
    results = bench_grid(
        cells,
        stop,
        budget if single else None,
        load_options,
        on_start=on_start,
        workloads=workloads,
        scenario=scenario_fn,
        failures=failures,
    )
    if not results:  # nothing ran: the first cell's reason is the answer
        raise failures[0][2]
    failed = [{"source": src, **s.to_dict(), "error": str(e)} for src, s, e in failures]
    doc = {"run_id": None, "results": [m.to_dict(samples=samples) for m in results], "failed": failed}
    result = BenchResult(doc, results, store_url=db.display_url)
    result.document["run_id"] = _save(result, db, command, results)
    return result


def _save(result, db, command: str, measurements: list[Measurement], documents: dict | None = None) -> str:
    """Store the run; a failed save raises UnsavedError carrying ``result``, so the measured
    figures are still shown."""
    try:
        return db.save_run("bench", command, measurements, documents=documents)
    except StoreError as e:
        raise UnsavedError(str(e), result) from None
