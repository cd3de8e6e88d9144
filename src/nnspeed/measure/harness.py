"""The timing loop: first call, warm-up until steady, then timed calls under a stop rule.

The harness owns the clock.  It calls ``call(i)`` (which runs and synchronises the system
under test for input ``i``) and timestamps it; the callee never reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .clock import Clock, PerfCounterClock
from .contention import CpuReading, window_end, window_start
from .stoprule import CI_CHECK_GROWTH, StopRule

# Warm-up compares medians of consecutive windows; steady when they agree within this.
WARMUP_TOLERANCE = 0.05
# A warm-up window holds at least this many calls and lasts at least this long.
WARMUP_WINDOW_CALLS = 5
WARMUP_WINDOW_S = 0.05
# Warm-up is capped at this share of --max-time (and at WARMUP_CAP_S).
WARMUP_SHARE = 0.5
WARMUP_CAP_S = 5.0
# Calls are timed one by one while one mark pair costs at most this share of a call;
# shorter calls are timed in blocks long enough to bring the overhead down to it.
BLOCK_OVERHEAD_RATIO = 0.01


@dataclass
class Timing:
    """What the loop saw: per-call seconds (or per-call means of blocks) and how it ran."""

    samples_s: np.ndarray
    block_size: int
    first_call_s: float
    warmup_calls: int
    warmup_s: float
    steady: bool
    overhead_ns: float
    stop_reason: str
    elapsed_s: float
    clock: str
    notes: list[str] = field(default_factory=list)
    # CPU counters read at the start and the end of the timed window (None: not read, e.g.
    # under a simulated clock, whose window is not the one the counters saw).
    cpu: tuple[CpuReading, CpuReading] | None = None


def warm_up(
    call: Callable[[int], object], clock: Clock, cap_s: float, window_s: float = WARMUP_WINDOW_S
) -> tuple[int, float, bool]:
    """Call until two consecutive windows (each at least ``WARMUP_WINDOW_CALLS`` calls and
    ``window_s`` seconds) have the same median latency, or until ``cap_s``.

    Returns the number of calls, the median of the last full window (seconds) and whether
    the latency settled.
    """
    t0 = clock.now()
    calls, window, window_time, previous = 0, [], 0.0, None
    while True:
        a = clock.mark()
        call(calls + 1)
        b = clock.mark()
        calls += 1
        d = clock.elapsed(a, b)
        window.append(d)
        window_time += d
        if len(window) >= WARMUP_WINDOW_CALLS and window_time >= window_s:
            median = float(np.median(window))
            if previous is not None and abs(median - previous) <= WARMUP_TOLERANCE * max(median, previous):
                return calls, median, True
            previous, window, window_time = median, [], 0.0
        if clock.now() - t0 >= cap_s:
            last = previous if previous is not None else float(np.median(window))
            return calls, last, False


def block_size_for(call_s: float, overhead_ns: float) -> int:
    """Calls per timed block so that one mark pair is ≤ BLOCK_OVERHEAD_RATIO of the block."""
    if call_s <= 0:
        return 1
    needed = overhead_ns * 1e-9 / BLOCK_OVERHEAD_RATIO
    return max(1, math.ceil(needed / call_s - 1e-9))  # tolerance: 50.000000001 is 50


def run_timed(
    call: Callable[[int], object],
    stop: StopRule,
    clock: Clock | None = None,
    on_sample: Callable[[int, float], None] | None = None,
    block_size: int | None = None,
    warmup_window_s: float = WARMUP_WINDOW_S,
) -> Timing:
    """Time ``call`` rigorously: first call, warm-up until steady, then the stop rule.

    ``block_size`` forces calls per timed block (1: every call timed alone); by default it is
    chosen from the warm-up so that the timer costs at most BLOCK_OVERHEAD_RATIO of a block.
    """
    clock = clock or PerfCounterClock()
    overhead_ns = clock.overhead_ns()
    notes: list[str] = []

    a = clock.mark()
    call(0)
    b = clock.mark()
    first_s = clock.elapsed(a, b)

    cap = min(WARMUP_CAP_S, max(0.2, WARMUP_SHARE * stop.max_time))
    w0 = clock.now()
    warm_calls, typical_s, steady = warm_up(call, clock, cap, warmup_window_s)
    warmup_s = clock.now() - w0
    if not steady:
        notes.append(
            f"latency had not settled after {warmup_s:.1f} s of warm-up ({warm_calls} calls); "
            "the first samples may still be warming up"
        )
    block = block_size or block_size_for(typical_s, overhead_ns)
    if block > 1:
        notes.append(
            f"calls of ~{typical_s * 1e6:.1f} µs are too short to time one by one: "
            f"timed in blocks of {block}; percentiles are of per-block means"
        )

    samples: list[float] = []
    i = warm_calls + 1
    next_check = stop.min_iters
    cpu0 = window_start(clock.name)  # outside the timed calls: ~20 µs, once
    t0 = clock.now()
    mark = clock.mark
    while True:
        if block == 1:  # no loop object inside the timed span: it costs ~0.1 µs a call
            a = mark()
            call(i)
            b = mark()
            i += 1
        else:
            a = mark()
            for _ in range(block):
                call(i)
                i += 1
            b = mark()
        samples.append(clock.elapsed(a, b) / block)
        n = len(samples)
        if on_sample is not None:
            on_sample(n, samples[-1])
        elapsed = clock.now() - t0
        check_ci = n >= next_check
        if check_ci:
            next_check = max(n + 1, int(n * CI_CHECK_GROWTH))
        reason = stop.decide(n, elapsed, samples if check_ci else None)
        if reason:
            break
    cpu = window_end(cpu0)
    if reason in ("max_time", "max_iters") and n >= 6:
        from .stats import ci_half_width_rel

        rel = ci_half_width_rel(samples)
        if rel > stop.ci_rel:
            notes.append(
                f"stopped at {reason.replace('_', '-')} before the median's 95% CI reached "
                f"±{100 * stop.ci_rel:g}% (it is ±{100 * rel:.1f}%)"
            )
    return Timing(
        samples_s=np.asarray(samples),
        block_size=block,
        first_call_s=first_s,
        warmup_calls=warm_calls,
        warmup_s=warmup_s,
        steady=steady,
        overhead_ns=overhead_ns,
        stop_reason=reason,
        elapsed_s=elapsed,
        clock=clock.name,
        notes=notes,
        cpu=cpu,
    )


def call_ms(
    fn: Callable[[], object], stop: StopRule, statistic: Callable = np.median, warmup_window_s: float = WARMUP_WINDOW_S
) -> float:
    """One figure for ``fn()``'s latency in ms: the harness's per-call samples reduced by
    ``statistic`` (the median by default; ``np.min`` for the best achievable call)."""
    timing = run_timed(lambda i: fn(), stop, warmup_window_s=warmup_window_s)
    return float(statistic(timing.samples_s)) * 1e3
