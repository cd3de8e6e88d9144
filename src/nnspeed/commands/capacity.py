"""``nnspeed.capacity``: the highest request rate that holds a p99 SLO, with and without batching."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..backends.base import Settings
from ..backends.registry import check_backend
from ..measure.stoprule import StopRule
from ..scenarios.capacity import MODES, default_wait_ms, search_capacity
from ..scenarios.server import Batcher, check_slo
from ..store.store import Store
from ..workloads.sources import load
from .events import QUIET, Events
from .results import CapacityResult

TRIAL_STOP = StopRule(max_time=4)


@dataclass(frozen=True, kw_only=True)
class CapacityRequest:
    """The highest offered load (seeded Poisson arrivals, or gamma gaps with squared CV
    ``burstiness``) whose p99 latency stays within ``slo_p99`` ms: without batching and, with
    ``dynamic_batching``, with a batcher of up to ``max_batch`` waiting at most ``max_wait_ms``
    (default SLO/10).  ``report``: also write the latency-vs-load plot there."""

    source: str
    slo_p99: float
    dynamic_batching: bool = True
    max_batch: int = 32
    max_wait_ms: float | None = None
    backend: str = "torch-eager"
    precision: str = "fp32"
    threads: int | None = None
    device: str = "cpu"
    trial_time: float = 2.0
    burstiness: float = 1.0
    seed: int = 0
    input_shape: str | None = None
    input_dtype: str | None = None
    report: str | Path | None = None
    command: str = "nnspeed capacity"

    def validate(self) -> None:
        """Refuse an SLO or backend that cannot run, before anything loads."""
        check_slo(self.slo_p99)
        check_backend(self.backend)


def run(request: CapacityRequest, *, store: Store | str | None = None, events: Events = QUIET) -> CapacityResult:
    """Search the request's capacity; the run at each mode's highest passing rate is stored.
    ``events`` hears every trial."""
    r = request
    r.validate()
    wait = r.max_wait_ms if r.max_wait_ms is not None else default_wait_ms(r.slo_p99)
    batcher = Batcher(r.max_batch, wait)
    modes = MODES if r.dynamic_batching else MODES[:1]
    w = load(r.source, **{k: v for k, v in dict(input_shape=r.input_shape, input_dtype=r.input_dtype).items() if v})
    settings = Settings(r.backend, r.precision, 1, r.threads, r.device)
    db = Store.of(store)
    doc, measurements = search_capacity(
        w,
        settings,
        r.slo_p99,
        batcher,
        r.trial_time,
        TRIAL_STOP,
        modes,
        r.burstiness,
        r.seed,
        on_trial=lambda mode, t: events.progress(trial_line(mode, t)),
    )
    doc["run_id"] = (
        db.save_run("capacity", r.command, measurements, documents={"capacity": doc}) if measurements else None
    )
    if r.report is not None:
        from .._files import write_text
        from ..report.html import render

        run = {"id": "capacity", "kind": "capacity", "created_at": "", "command": r.command, "env": {}}
        doc["report"] = str(write_text(Path(r.report), render(run, [], capacity=doc)))
    return CapacityResult(doc, measurements)


def trial_line(mode: str, trial: dict) -> str:
    """One trial of a capacity search, in words: its mode, rate, p99 and verdict."""
    verdict = "held" if trial["passed"] else "missed"
    return f"{mode.replace('_', ' ')}: {trial['qps']:,.0f} QPS → p99 {trial['p99_ms']:.3g} ms ({verdict})"


def capacity(
    source: str, slo_p99: float, *, store: Store | str | None = None, events: Events = QUIET, **options
) -> CapacityResult:
    """``nnspeed.capacity``: ``run`` on a ``CapacityRequest`` of ``source``, ``slo_p99`` and ``options``."""
    return run(CapacityRequest(source=source, slo_p99=slo_p99, **options), store=store, events=events)
