"""Turn what the harness saw into the stored record: one place for every scenario."""

from __future__ import annotations

import resource

from ..backends.base import Settings
from ..measure.contention import contention_warning, figures
from ..measure.environment import fingerprint, physical_cores
from ..measure.harness import Timing
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule


def to_measurement(
    workload,
    settings: Settings,
    stop: StopRule,
    timing: Timing,
    effective: dict,
    memory: dict | None = None,
    budget_ms: float | None = None,
    extra: dict | None = None,
) -> Measurement:
    notes = list(timing.notes) + list(workload.meta.get("notes", []))  # what loading the model found
    if settings.threads and settings.threads > physical_cores():
        notes.append(f"{settings.threads} threads on {physical_cores()} physical cores: threads compete for cores")
    threads = settings.threads if settings.threads is not None else effective.get("threads")
    contention = _contention(timing, threads, settings.device)
    warning = contention_warning(contention)
    if warning:
        notes.append(warning)
    memory = dict(memory or {})
    memory["process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Measurement(
        source=workload.source,
        backend=settings.backend,
        precision=settings.precision,
        effective_precision=effective.get("precision", settings.precision),
        batch=settings.batch,
        threads=threads,
        device=settings.device,
        samples_ms=tuple(float(x) for x in timing.samples_s * 1e3),
        first_call_ms=timing.first_call_s * 1e3,
        timer_overhead_ns=timing.overhead_ns,
        block_size=timing.block_size,
        warmup={"calls": timing.warmup_calls, "seconds": timing.warmup_s, "steady": timing.steady},
        stop_reason=timing.stop_reason,
        budget_ms=budget_ms,
        requested={**settings.to_dict(), "stop": stop.to_dict(), "budget_ms": budget_ms},
        effective={**effective, "clock": timing.clock, "real_data": workload.real_data},
        env=fingerprint(),
        notes=tuple(notes),
        extra={
            "memory": memory,
            "elapsed_s": timing.elapsed_s,
            "model": workload.summary(),
            **({"contention": contention} if contention else {}),
            **(extra or {}),
        },
    )


def _contention(timing: Timing, threads: int | None, device: str) -> dict | None:
    """Other processes' CPU use over the timed window, against the threads this run needed
    (unknown threads: a CPU runtime's default of one per core; one host thread for a device)."""
    if timing.cpu is None:
        return None
    start, end = timing.cpu
    return figures(start, end, threads or (end.cpus if device == "cpu" else 1))
