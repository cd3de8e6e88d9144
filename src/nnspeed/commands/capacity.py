"""``nnspeed.capacity``: the highest request rate that holds a p99 SLO, with and without batching."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..backends.base import Settings
from ..backends.registry import check_backend
from ..measure.stoprule import StopRule
from ..scenarios.capacity import MODES, default_wait_ms, search_capacity
from ..scenarios.server import Batcher, check_slo
from ..store.store import Store
from ..workloads.sources import load
from .results import CapacityResult

TRIAL_STOP = StopRule(max_time=4)


def capacity(
    source: str,
    slo_p99: float,
    dynamic_batching: bool = True,
    max_batch: int = 32,
    max_wait_ms: float | None = None,
    backend: str = "torch-eager",
    precision: str = "fp32",
    threads: int | None = None,
    device: str = "cpu",
    trial_time: float = 2.0,
    burstiness: float = 1.0,
    seed: int = 0,
    input_shape: str | None = None,
    input_dtype: str | None = None,
    report: str | Path | None = None,
    store: Store | str | None = None,
    command: str = "nnspeed capacity",
    on_trial: Callable[[str, dict], None] | None = None,
) -> CapacityResult:
    """Search the highest offered load (seeded Poisson arrivals, or gamma gaps with squared CV
    ``burstiness``) whose p99 latency stays within ``slo_p99`` ms: without batching and, with
    ``dynamic_batching``, with a batcher of up to ``max_batch`` waiting at most ``max_wait_ms``
    (default SLO/10).  The run at each mode's highest passing rate is stored; ``report`` also
    writes the latency-vs-load plot.  ``on_trial(mode, result)`` hears every trial."""
    check_slo(slo_p99)
    check_backend(backend)  # an unknown backend fails before anything loads
    wait = max_wait_ms if max_wait_ms is not None else default_wait_ms(slo_p99)
    batcher = Batcher(max_batch, wait)
    modes = MODES if dynamic_batching else MODES[:1]
    w = load(source, **{k: v for k, v in dict(input_shape=input_shape, input_dtype=input_dtype).items() if v})
    settings = Settings(backend, precision, 1, threads, device)
    db = Store.of(store)
    doc, measurements = search_capacity(
        w, settings, slo_p99, batcher, trial_time, TRIAL_STOP, modes, burstiness, seed, on_trial=on_trial
    )
    doc["run_id"] = (
        db.save_run("capacity", command, measurements, documents={"capacity": doc}) if measurements else None
    )
    if report is not None:
        from .._files import write_text
        from ..report.html import render

        run = {"id": "capacity", "kind": "capacity", "created_at": "", "command": command, "env": {}}
        doc["report"] = str(write_text(Path(report), render(run, [], capacity=doc)))
    return CapacityResult(doc, measurements)
