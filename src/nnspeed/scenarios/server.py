"""Requests at random times, a dynamic batcher, one runner: latency under load against a p99 SLO.

Arrivals are an open loop drawn before the run from a seeded generator: Poisson (exponential
gaps) by default, or gamma gaps with squared coefficient of variation ``burstiness`` (1 is
Poisson, above 1 burstier, below 1 more regular).  The batcher takes the queued requests in
arrival order and runs a batch when it holds ``max_batch`` requests, when its oldest request
has waited ``max_wait_ms``, or when no more requests will come.  ``max_batch=1`` is serving
without batching.

Definitions (the same in the docs and the JSON):

- ``latency``: from a request's scheduled arrival to the end of the call that served it
  (queueing and batching delay included);
- ``goodput``: requests served within the SLO per second of the run (first arrival to last
  completion);
- ``passed``: p99 latency ≤ the SLO and no request left unserved;
- ``unserved``: requests still queued when an overloaded run hit its time limit (counted as
  over the SLO; their latency so far is kept, so the percentiles are lower bounds).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import InputError
from ..measure.clock import Clock
from ..measure.contention import window_end, window_start
from ..measure.harness import Timing, warm_up
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from .record import to_measurement
from .single_stream import default_clock, runner_call

# An overloaded run stops when it overruns its arrival schedule by this factor (plus 1 s).
OVERRUN = 2.0
MIN_REQUESTS = 50


@dataclass(frozen=True)
class Load:
    """The offered load: rate, burstiness, seed and how long arrivals last."""

    qps: float
    seconds: float
    burstiness: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if not (self.qps > 0 and math.isfinite(self.qps)):
            raise InputError(f"--qps must be a positive number of requests per second, got {self.qps}")
        if not (self.burstiness > 0 and math.isfinite(self.burstiness)):
            raise InputError(f"--burstiness must be positive (1 = Poisson arrivals), got {self.burstiness}")

    def arrivals(self, n: int | None = None) -> np.ndarray:
        """Arrival offsets in seconds from the start (sorted, first one after one mean gap): ``n``
        of them, or as many as ``seconds`` holds at ``qps`` (at least MIN_REQUESTS)."""
        n = n or max(MIN_REQUESTS, round(self.qps * self.seconds))
        rng = np.random.default_rng(self.seed)
        shape = 1.0 / self.burstiness
        gaps = rng.gamma(shape, 1.0 / (self.qps * shape), n)  # mean 1/qps, CV² = burstiness
        return np.cumsum(gaps)


@dataclass(frozen=True)
class Batcher:
    max_batch: int = 1
    max_wait_ms: float = 0.0

    def __post_init__(self):
        if not (isinstance(self.max_batch, int) and self.max_batch >= 1):
            raise InputError(f"--max-batch must be a whole number ≥ 1, got {self.max_batch}")
        if not (self.max_wait_ms >= 0 and math.isfinite(self.max_wait_ms)):
            raise InputError(f"--max-wait-ms must be ≥ 0, got {self.max_wait_ms}")


@dataclass(frozen=True)
class ServeLog:
    arrival: np.ndarray  # seconds on the clock's host scale
    end: np.ndarray  # nan for unserved requests
    batches: list[int]
    stopped_at: float
    level: np.ndarray | None = None  # per request: the variant that served it (-1: unserved)
    outputs: list | None = None  # per batch: (first request, what the call returned)


class Policy(Protocol):
    """Which variant serves the next batch, from what the queue looks like now."""

    def choose(self, now: float, queued: int, oldest_wait_s: float) -> int: ...


def serve(calls: Callable[[int], object], clock: Clock, offsets: np.ndarray, batcher: Batcher) -> ServeLog:
    """Serve requests arriving at ``offsets`` seconds (sorted) from now; ``calls(b)`` runs one
    batch of ``b`` requests and waits for it."""
    return serve_with(lambda level, first, b: calls(b), clock, offsets, batcher)


def serve_with(
    calls: Callable[[int, int, int], object],
    clock: Clock,
    offsets: np.ndarray,
    batcher: Batcher,
    policy: Policy | None = None,
    keep_outputs: bool = False,
) -> ServeLog:
    """As :func:`serve`, with ``calls(level, first, b)`` running requests ``first … first+b-1``
    on variant ``level``, chosen per batch by ``policy`` (always 0 without one); with
    ``keep_outputs`` what each call returns is kept, for the accuracy it delivered."""
    t0 = clock.now() + 0.01
    arrival = t0 + offsets
    n = len(arrival)
    end = np.full(n, np.nan)
    level = np.full(n, -1, dtype=np.int64)
    wait = batcher.max_wait_ms * 1e-3
    stop_at = t0 + OVERRUN * offsets[-1] + 1.0
    batches: list[int] = []
    outputs: list = []
    served = 0
    while served < n:
        now = clock.now()
        if now > stop_at:
            break
        oldest = arrival[served]
        if oldest > now:
            clock.sleep_until(oldest)
            continue
        arrived = int(np.searchsorted(arrival, now, side="right"))
        queued = arrived - served
        if queued < batcher.max_batch and now < oldest + wait and arrived < n:
            fill = arrival[served + batcher.max_batch - 1] if served + batcher.max_batch - 1 < n else math.inf
            clock.sleep_until(min(oldest + wait, fill))
            continue
        b = min(queued, batcher.max_batch)
        k = policy.choose(now, queued, now - oldest) if policy is not None else 0
        m0 = clock.mark()
        out = calls(k, served, b)
        m1 = clock.mark()
        end[served : served + b] = now + clock.elapsed(m0, m1)
        level[served : served + b] = k
        if keep_outputs:
            outputs.append((served, out))
        batches.append(b)
        served += b
    return ServeLog(arrival, end, batches, clock.now(), level, outputs if keep_outputs else None)


def serve_result(log: ServeLog, load: Load, batcher: Batcher, slo_ms: float | None) -> dict:
    """The ``server`` figures of one run."""
    done = ~np.isnan(log.end)
    latency = np.where(done, log.end, log.stopped_at) - log.arrival
    unserved = int((~done).sum())
    p50, p90, p99 = (float(v) * 1e3 for v in np.percentile(latency, [50, 90, 99]))
    last = float(np.nanmax(log.end)) if done.any() else log.stopped_at
    span = max(last - float(log.arrival[0]), 1e-9)
    good = int(np.sum(done & (latency * 1e3 <= slo_ms))) if slo_ms is not None else int(done.sum())
    hist = {str(b): n for b, n in sorted(Counter(log.batches).items())}
    return {
        "qps": load.qps,
        "achieved_qps": int(done.sum()) / span,
        "requests": len(log.arrival),
        "unserved": unserved,
        "slo_p99_ms": slo_ms,
        "p50_ms": p50,
        "p90_ms": p90,
        "p99_ms": p99,
        "goodput": good / span,
        "passed": None if slo_ms is None else bool(p99 <= slo_ms and unserved == 0),
        "batch_hist": hist,
        "mean_batch": float(np.mean(log.batches)) if log.batches else 0.0,
        "max_batch": batcher.max_batch,
        "max_wait_ms": batcher.max_wait_ms,
        "burstiness": load.burstiness,
        "seed": load.seed,
        "seconds": load.seconds,
    }


def check_slo(slo_ms: float | None) -> float | None:
    if slo_ms is not None and not (slo_ms > 0 and math.isfinite(slo_ms)):
        raise InputError(f"--slo-p99 must be a positive number of milliseconds, got {slo_ms}")
    return slo_ms


class BatchCalls:
    """One prepared input per batch size 1..max_batch behind ``calls(b)``."""

    def __init__(self, runner, workload, max_batch: int):
        self.max_batch = max_batch
        self._calls = {b: runner_call(runner, workload, b, pool=1)[0] for b in range(1, max_batch + 1)}

    def __call__(self, b: int) -> None:
        self._calls[b](0)


def server(
    workload,
    settings: Settings,
    load: Load,
    batcher: Batcher,
    slo_ms: float | None,
    stop: StopRule,
    clock: Clock | None = None,
    warmup: bool = True,
) -> Measurement:
    """One server run: warm up at batch 1, then serve ``load`` through ``batcher``."""
    check_slo(slo_ms)
    with opened(workload, settings) as runner:
        calls = BatchCalls(runner, workload, batcher.max_batch)
        clock = clock or default_clock(settings)
        warm = warm_calls(calls, clock, stop, warmup)
        cpu0 = window_start(clock.name)
        log = serve(calls, clock, load.arrivals(), batcher)
        warm["cpu"] = window_end(cpu0)
        memory = runner.memory()
        effective = dict(runner.effective)
    return server_measurement(workload, settings, stop, log, load, batcher, slo_ms, clock, warm, effective, memory)


def warm_calls(calls, clock: Clock, stop: StopRule, warmup: bool = True, batch: int = 1) -> dict:
    """Time the first call at ``batch``, run every other batch size once (untimed: a first call
    pays one-off costs), then warm ``batch`` until steady.  ``typical_s``: its steady latency."""
    overhead_ns = clock.overhead_ns()
    m0 = clock.mark()
    calls(batch)
    first_s = clock.elapsed(m0, clock.mark())
    for b in range(1, calls.max_batch + 1):
        if b != batch:
            calls(b)
    w0 = clock.now()
    cap = min(5.0, 0.5 * stop.max_time)
    n, typical, steady = warm_up(lambda i: calls(batch), clock, cap) if warmup else (0, first_s, True)
    return {
        "overhead_ns": overhead_ns,
        "first_s": first_s,
        "calls": n,
        "seconds": clock.now() - w0,
        "steady": steady,
        "typical_s": typical,
    }


def server_measurement(workload, settings, stop, log, load, batcher, slo_ms, clock, warm, effective, memory):
    result = serve_result(log, load, batcher, slo_ms)
    done = ~np.isnan(log.end)
    notes = []
    if result["unserved"]:
        notes.append(
            f"overloaded at {load.qps:g} requests/s: {result['unserved']} requests were still queued when the run "
            "stopped; lower --qps, raise --max-batch or use a faster configuration"
        )
    if not warm["steady"]:
        notes.append(f"latency had not settled after {warm['seconds']:.1f} s of warm-up")
    latency_s = np.where(done, log.end, log.stopped_at) - log.arrival
    timing = Timing(
        samples_s=latency_s,
        block_size=1,
        first_call_s=warm["first_s"],
        warmup_calls=warm["calls"],
        warmup_s=warm["seconds"],
        steady=warm["steady"],
        overhead_ns=warm["overhead_ns"],
        stop_reason="requests",
        elapsed_s=float(log.stopped_at - log.arrival[0]),
        clock=clock.name,
        notes=notes,
        cpu=warm.get("cpu"),  # the serving window's CPU readings, where the caller took them
    )
    extra = {"scenario": "server", "server": result}
    return to_measurement(workload, settings, stop, timing, effective, memory, slo_ms, extra=extra)
