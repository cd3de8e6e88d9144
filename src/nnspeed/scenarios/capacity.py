"""The highest offered load that holds a p99 SLO, with and without dynamic batching.

Each trial is a short server run (``scenarios.server``) at one offered rate.  The search
starts at half the rate one batch-1 call could serve, doubles while trials pass, halves
while they fail, then bisects (geometrically) between the highest pass and the lowest fail
until they are within ``tolerance`` of each other.  Every trial is a point of the
latency-vs-offered-load curve.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import InputError
from ..measure.clock import Clock
from ..measure.stoprule import StopRule
from .server import BatchCalls, Batcher, Load, check_slo, serve, serve_result, server_measurement, warm_calls
from .single_stream import default_clock

MODES = ("no_batching", "dynamic_batching")
MAX_TRIALS = 14
TOLERANCE = 1.1


def search(
    trial: Callable[[float], dict], start_qps: float, max_trials: int = MAX_TRIALS, tolerance: float = TOLERANCE
) -> tuple[float, list[dict]]:
    """Highest passing rate and every trial's result; ``trial(qps)`` returns a server result."""
    lo, hi, qps, curve = 0.0, math.inf, start_qps, []
    while len(curve) < max_trials:
        r = trial(qps)
        curve.append(r)
        if r["passed"]:
            lo = max(lo, qps)
        else:
            hi = min(hi, qps)
        if math.isinf(hi):
            qps = 2 * lo
        elif lo == 0.0:
            qps = hi / 2
        elif hi / lo <= tolerance:
            break
        else:
            qps = math.sqrt(lo * hi)
    return lo, curve


def default_wait_ms(slo_ms: float) -> float:
    """A tenth of the SLO: batching delay that leaves most of the budget to queueing and the call."""
    return slo_ms / 10.0


def search_capacity(
    workload,
    settings: Settings,
    slo_ms: float,
    batcher: Batcher,
    trial_s: float,
    stop: StopRule,
    modes: tuple[str, ...] = MODES,
    burstiness: float = 1.0,
    seed: int = 0,
    clock: Clock | None = None,
    on_trial: Callable[[str, dict], None] | None = None,
) -> tuple[dict, list]:
    """The ``capacity --json`` document (max QPS per mode and the latency-vs-load curve) and
    the server measurement at each mode's highest passing rate (for the store)."""
    check_slo(slo_ms)
    if slo_ms is None:
        raise InputError("capacity needs --slo-p99 MS: the p99 latency each offered rate must hold")
    if not (trial_s > 0 and math.isfinite(trial_s)):
        raise InputError(f"--trial-time must be a positive number of seconds, got {trial_s}")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise InputError(f"unknown capacity mode {unknown[0]!r}; use {', '.join(MODES)}")
    max_qps: dict[str, float | None] = {m: None for m in MODES}
    curve: list[dict] = []
    kept: list[tuple[str, tuple]] = []
    with opened(workload, settings) as runner:
        calls = BatchCalls(runner, workload, batcher.max_batch)
        clock = clock or default_clock(settings)
        warm = warm_calls(calls, clock, stop)
        start = 0.5 / max(warm["typical_s"], 1e-6)
        for mode in modes:
            b = batcher if mode == "dynamic_batching" else Batcher(1, 0.0)

            logs = {}

            def trial(qps: float, b=b, mode=mode, logs=logs) -> dict:
                load = Load(qps, trial_s, burstiness, seed)
                log = serve(calls, clock, load.arrivals(), b)
                r = serve_result(log, load, b, slo_ms)
                logs[qps] = (log, load, b)
                if on_trial:
                    on_trial(mode, r)
                return r

            best, trials = search(trial, start)
            max_qps[mode] = best
            if best in logs:
                kept.append((mode, logs[best]))
            for r in trials:
                curve.append(
                    {
                        "offered_qps": r["qps"],
                        "p99_ms": r["p99_ms"],
                        "batching": mode,
                        "passed": r["passed"],
                        "achieved_qps": r["achieved_qps"],
                        "goodput": r["goodput"],
                        "p50_ms": r["p50_ms"],
                        "mean_batch": r["mean_batch"],
                    }
                )
        effective = dict(runner.effective)
    measurements = []
    for mode, (log, load, b) in kept:
        m = server_measurement(workload, settings, stop, log, load, b, slo_ms, clock, warm, effective, {})
        measurements.append(dataclasses.replace(m, extra={**m.extra, "capacity_mode": mode}))
    curve.sort(key=lambda p: (p["batching"], p["offered_qps"]))
    return {
        "source": workload.source,
        "slo_p99_ms": slo_ms,
        "max_qps": max_qps,
        "curve": curve,
        "settings": {
            **settings.to_dict(),
            "max_batch": batcher.max_batch,
            "max_wait_ms": batcher.max_wait_ms,
            "trial_s": trial_s,
            "burstiness": burstiness,
            "seed": seed,
        },
        "batch1_ms": warm["typical_s"] * 1e3,
        "effective": effective,
        "clock": clock.name,
    }, measurements
