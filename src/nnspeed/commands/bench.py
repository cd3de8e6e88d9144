"""``nnspeed bench``: every combination of the axes measured in a scenario, stored as one run.

``BenchRequest`` holds what a user asks for, as the CLI's flags do (axes as comma lists or
lists); ``validate()`` checks it all and says what will run, without loading anything; ``run``
measures and stores it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..backends.base import Settings
from ..backends.registry import AUTO, before_load, check_backend
from ..errors import BackendError, InputError, StoreError, UnsavedError
from ..measure.interleave import RoundRule
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from ..scenarios.registry import Run, ScenarioOptions, scenario_runner
from ..scenarios.single_stream import budget_or_fps
from ..store.store import Store
from ..workloads.sources import load
from .events import QUIET, Events
from .grid import apart_cells, bench_grid, grid, interleave_grid, values
from .results import BenchResult

Axis = str | Sequence[str] | Sequence[int]


@dataclass(frozen=True, kw_only=True)
class BenchRequest:
    """What ``bench`` measures: the axes (comma lists, or lists of values), the stop rule, how
    inputs are made, the scenario and its options, and whether to interleave."""

    sources: str | Sequence[str]
    backend: Axis = "auto"
    precision: Axis = "fp32"
    batch: Axis = "1"
    threads: Axis = "auto"
    device: Axis = "cpu"
    budget_ms: float | None = None
    fps: float | None = None
    min_time: float = 1.0
    max_time: float = 10.0
    min_iters: int = 10
    max_iters: int = 1_000_000
    ci: float = 0.01
    input_shape: str | None = None
    input_dtype: str | None = None
    input_fn: str | None = None
    task: str | None = None
    seq_len: int | None = None
    scenario: str = "single-stream"
    engine: str = "nnspeed"
    drop_late: bool = False
    qps: float | None = None
    slo_p99: float | None = None
    max_batch: int = 1
    max_wait_ms: float | None = None
    burstiness: float = 1.0
    seed: int = 0
    streams: int = 1
    interleave: bool = False
    min_rounds: int = 8
    max_rounds: int = 60
    samples: bool = False
    command: str = "nnspeed bench"

    def validate(self) -> BenchPlan:
        """Check every option and say what will run; loads nothing, measures nothing."""
        from ..axes import int_values
        from ..scenarios.offline import DEFAULT_BATCHES

        sources = values(self.sources, "the sources")
        if self.task is not None or self.seq_len is not None:
            from ..workloads.hf_dir import with_keys
            from ..workloads.sources import with_scheme

            sources = [with_scheme(s) for s in sources]
            if not any(s.startswith("hf:") for s in sources):
                raise InputError("--task and --seq-len apply to Hugging Face directories (hf:DIR); drop them here")
            sources = [with_keys(s, self.task, self.seq_len) for s in sources]
        backends = values(self.backend, "--backend")
        for b in backends:
            if b != AUTO:
                check_backend(b)
        stop = StopRule(
            min_time=self.min_time,
            max_time=self.max_time,
            min_iters=self.min_iters,
            max_iters=self.max_iters,
            ci_rel=self.ci,
        )
        run_cell = scenario_runner(self.scenario_options(), stop)
        batches = values(self.batch, "--batch")
        if self.scenario == "offline" and batches == ["1"]:
            batches = [str(b) for b in DEFAULT_BATCHES]
        cells = grid(
            sources,
            backends,
            values(self.precision, "--precision"),
            int_values(batches, "--batch"),
            int_values(values(self.threads, "--threads"), "--threads", allow_auto=True),
            values(self.device, "--device"),
        )
        single = self.scenario == "single-stream" and self.engine == "nnspeed"
        rule = None
        if self.interleave:
            if not single:
                raise BackendError(
                    "--interleave measures single-stream latency with nnspeed's engine; drop --scenario/--engine"
                )
            rule = RoundRule(
                min_rounds=self.min_rounds,
                max_rounds=self.max_rounds,
                max_time=self.max_time * len(cells),
                ci_rel=self.ci,
            )
        return BenchPlan(
            sources=list(dict.fromkeys(sources)),
            cells=cells,
            stop=stop,
            run_cell=None if single else run_cell,
            rounds=rule,
            budget_ms=budget_or_fps(self.budget_ms, self.fps),
            load_options={"input_shape": self.input_shape, "input_dtype": self.input_dtype, "input_fn": self.input_fn},
        )

    def scenario_options(self) -> ScenarioOptions:
        return ScenarioOptions(
            scenario=self.scenario,
            engine=self.engine,
            fps=self.fps,
            budget_ms=self.budget_ms,
            drop_late=self.drop_late,
            qps=self.qps,
            slo_p99_ms=self.slo_p99,
            max_batch=self.max_batch,
            max_wait_ms=self.max_wait_ms,
            burstiness=self.burstiness,
            seed=self.seed,
            streams=self.streams,
        )


@dataclass(frozen=True)
class BenchPlan:
    """What a valid request will run: the sources, every cell, and how each is measured."""

    sources: list[str]
    cells: list[tuple[str, Settings]]
    stop: StopRule
    run_cell: Run | None  # the scenario's run; None: single-stream by nnspeed's own engine
    rounds: RoundRule | None  # interleaved rounds, or None
    budget_ms: float | None
    load_options: dict


def run(request: BenchRequest, *, store: Store | str | None = None, events: Events = QUIET) -> BenchResult:
    """Measure the request's configurations and store them as one run; a ``BenchResult`` whose
    document is what ``bench --json`` prints.  With ``interleave`` the configurations are
    measured side by side in shuffled rounds, each against the first.  Everything is checked,
    and the store opened, before anything is measured."""
    plan = request.validate()
    db = Store.of(store)
    # Loaded before timing anything, so a bad source fails first; the cells reuse them.
    single = plan.run_cell is None
    apart = apart_cells(plan.cells) if single and plan.rounds is None else set()
    before_load([s for i, (_, s) in enumerate(plan.cells) if i not in apart])
    workloads = {src: load(src, **plan.load_options) for src in plan.sources}
    if plan.rounds is not None:
        sbs = interleave_grid(
            plan.cells,
            plan.rounds,
            workloads,
            plan.budget_ms,
            on_round=lambda n, _: events.progress(f"interleaved rounds: {n} done"),
        )
        doc = sbs.to_dict(samples=request.samples)
        stored = {k: v for k, v in doc.items() if k != "results"}  # the results are stored as measurements
        result = BenchResult({"run_id": None, **doc}, sbs.measurements, side_by_side=sbs, store_url=db.display_url)
        result.document["run_id"] = save(result, db, request.command, sbs.measurements, {"interleave": stored})
        return result
    failures: list[tuple[str, Settings, Exception]] = []
    total = len(plan.cells)
    results = bench_grid(
        plan.cells,
        plan.stop,
        plan.budget_ms if single else None,
        plan.load_options,
        on_start=lambda i, src, s: events.progress(
            f"{src} {s.backend} {s.precision} b{s.batch} t{s.threads or 'auto'}", i, total
        ),
        workloads=workloads,
        scenario=plan.run_cell,  # single: the library's own, which runs apart cells in fresh processes
        failures=failures,
    )
    if not results:  # nothing ran: the first cell's reason is the answer
        raise failures[0][2]
    failed = [{"source": src, **s.to_dict(), "error": str(e)} for src, s, e in failures]
    doc = {"run_id": None, "results": [m.to_dict(samples=request.samples) for m in results], "failed": failed}
    result = BenchResult(doc, results, store_url=db.display_url)
    result.document["run_id"] = save(result, db, request.command, results)
    return result


def save(result, db: Store, command: str, measurements: list[Measurement], documents: dict | None = None) -> str:
    """Store the run; a failed save raises UnsavedError carrying ``result``, so the measured
    figures are still shown."""
    try:
        return db.save_run("bench", command, measurements, documents=documents)
    except StoreError as e:
        raise UnsavedError(str(e), result) from None
