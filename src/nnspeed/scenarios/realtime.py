"""Frames on a fixed clock: deadline misses, drops, queueing and jitter at a frame rate.

Frame k arrives at ``t0 + k / fps`` and is due one frame period later (its deadline).  The
runner takes one frame at a time.  A frame that arrives while the previous one still runs
either waits in an unbounded FIFO queue (the default) or, with ``drop_late``, is dropped.

Definitions (the same in the docs and the JSON):

- ``latency``: end-to-end, from the frame's arrival to the end of its call (queueing included);
- ``late``: a frame that ran but ended after its deadline;
- ``dropped``: a frame never run because it arrived while the runner was busy (``drop_late``);
- ``unserved``: a queued frame not run before the run's time limit (an overloaded queue);
- ``miss_rate``: (late + dropped + unserved) / frames: the share of frames not delivered in time;
- ``jitter_ms``: the standard deviation of the end-to-end latency of the frames that ran;
- ``max_fps``: the highest rate at which at most 1% of frames miss.  The measured service
  times are replayed at other rates to find a candidate, and a real run checks it (when it
  misses more, searching between the highest rate that held and the lowest that missed, or
  stepping down 5% when none held yet); the requested rate counts when its own run missed ≤1%.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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

# The rate that ``max_fps`` stands for: at most this share of frames miss.
MAX_MISS = 0.01
# A queued run that overruns its schedule by this factor (plus a second) stops; the frames
# still queued are counted as unserved.
OVERRUN = 2.0
# When the real run at the replayed max_fps misses too often, the rate is lowered by this
# factor and tried again, at most CHECK_TRIES times (an unconfirmed answer says so).
CHECK_STEP = 0.95
CHECK_TRIES = 6
RAN, DROPPED, UNSERVED = 0, 1, 2
# Times closer than this (s) are equal: a frame ending exactly on its deadline is on time.
EPS = 1e-9


@dataclass(frozen=True)
class StreamLog:
    """What happened to every frame: seconds on the clock's host scale."""

    arrival: np.ndarray
    start: np.ndarray  # nan for frames that did not run
    end: np.ndarray
    status: np.ndarray  # RAN | DROPPED | UNSERVED
    deadline_s: float


def check_fps(fps: float) -> float:
    if fps is None or not fps > 0 or math.isinf(fps):
        raise InputError(f"--fps must be a positive number of frames per second, got {fps}")
    return float(fps)


def run_stream(
    call: Callable[[int], object], clock: Clock, fps: float, frames: int, drop_late: bool = False
) -> StreamLog:
    """Drive ``call`` with ``frames`` frames arriving every 1/fps s; the clock times everything."""
    period = 1.0 / check_fps(fps)
    t0 = clock.now() + period
    arrival = t0 + period * np.arange(frames)
    start = np.full(frames, np.nan)
    end = np.full(frames, np.nan)
    status = np.full(frames, RAN)
    stop_at = t0 + OVERRUN * frames * period + 1.0
    busy_until = -math.inf
    for k in range(frames):
        a = arrival[k]
        if drop_late and a < busy_until - EPS:
            status[k] = DROPPED
            continue
        if clock.now() > stop_at:
            status[k:] = UNSERVED
            break
        clock.sleep_until(a)
        s = clock.now()
        m0 = clock.mark()
        call(k)
        m1 = clock.mark()
        start[k], end[k] = s, s + clock.elapsed(m0, m1)
        busy_until = end[k]
    return StreamLog(arrival, start, end, status, period)


def stream_result(log: StreamLog) -> dict:
    """The ``realtime`` figures of one stream (max_fps is added by the caller)."""
    ran = log.status == RAN
    latency = (log.end - log.arrival)[ran]
    late = int(np.sum(latency > log.deadline_s + EPS))
    dropped = int(np.sum(log.status == DROPPED))
    unserved = int(np.sum(log.status == UNSERVED))
    frames = len(log.status)
    span = (np.nanmax(log.end) - log.arrival[0]) if ran.any() else math.nan
    on_time = int(ran.sum()) - late
    return {
        "fps": 1.0 / log.deadline_s,
        "frames": frames,
        "ran": int(ran.sum()),
        "late": late,
        "dropped": dropped,
        "unserved": unserved,
        "miss_rate": (late + dropped + unserved) / frames,
        "jitter_ms": float(np.std(latency, ddof=1) * 1e3) if latency.size > 1 else 0.0,
        "deadline_ms": log.deadline_s * 1e3,
        "queue_ms_p99": float(np.percentile((log.start - log.arrival)[ran], 99) * 1e3) if ran.any() else math.nan,
        "service_ms_p50": float(np.median((log.end - log.start)[ran]) * 1e3) if ran.any() else math.nan,
        "delivered_fps": on_time / span if span and span > 0 else 0.0,
    }


def replay_miss_rate(service_s: np.ndarray, fps: float, drop_late: bool) -> float:
    """The miss rate the same service times (in order, one per frame) would give at ``fps``."""
    period = 1.0 / fps
    busy_until, missed = -math.inf, 0
    for k, s in enumerate(service_s):
        a = k * period
        if drop_late and a < busy_until - EPS:
            missed += 1
            continue
        busy_until = max(a, busy_until) + s
        missed += busy_until - a > period + EPS
    return missed / len(service_s)


def replay_max_fps(service_s: np.ndarray, drop_late: bool, max_miss: float = MAX_MISS) -> float:
    """The highest frame rate whose replayed miss rate is at most ``max_miss`` (bisection)."""
    service_s = np.asarray(service_s, dtype=float)
    if service_s.size == 0 or not np.all(service_s > 0):
        return math.nan
    lo, hi = 0.5 / float(service_s.max()), 1.01 / float(service_s.min())
    if replay_miss_rate(service_s, lo, drop_late) > max_miss:
        return lo
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        if replay_miss_rate(service_s, mid, drop_late) <= max_miss:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.001:
            break
    return lo


def frames_for(fps: float, seconds: float) -> int:
    return max(10, round(fps * seconds))


def check_max_fps(call, clock, candidate: float, seconds: float, drop_late: bool, passed_at: float = 0.0) -> dict:
    """Run the stream for real at ``candidate`` fps; when it misses more than 1%, search below.

    ``passed_at``: a rate already measured with ≤1% misses (the main run); the answer is never
    below it.  With such a floor the search bisects (geometrically) between the highest rate
    that held and the lowest that missed: the replayed candidate can be many times the main
    rate, and on a busy machine a call's jitter makes the real stream miss well below it, so
    steps of 5% from the candidate would end at the floor.  Without one it steps down by
    CHECK_STEP.  At most CHECK_TRIES real runs either way.
    """
    fps, tried = candidate, []
    held, missed = passed_at, candidate  # the highest rate known to hold, the lowest known to miss
    for _ in range(CHECK_TRIES):
        if fps <= passed_at:
            break
        r = stream_result(run_stream(call, clock, fps, frames_for(fps, seconds), drop_late))
        tried.append({"fps": fps, "miss_rate": r["miss_rate"]})
        if r["miss_rate"] <= MAX_MISS:
            if fps >= missed:  # the candidate itself holds
                return {"max_fps": fps, "confirmed": True, "tried": tried}
            held = fps
        else:
            missed = fps
        if held > 0 and missed / held < 1 / CHECK_STEP:
            break  # bracketed within one step: settled
        fps = math.sqrt(held * missed) if held > 0 else fps * CHECK_STEP
    if held > 0:  # a rate that held in this search, or else the main run's
        return {"max_fps": held, "confirmed": True, "tried": tried}
    return {"max_fps": fps, "confirmed": False, "tried": tried}


def realtime(
    workload,
    settings: Settings,
    fps: float,
    stop: StopRule,
    drop_late: bool = False,
    clock: Clock | None = None,
    warmup: bool = True,
    check_s: float | None = None,
) -> Measurement:
    """Stream frames at ``fps`` for ``stop.max_time`` seconds, then find and check max_fps.

    ``check_s``: seconds of the real run that checks max_fps (default: half the stream's, at
    most 5 s; 0 skips the check and reports the replayed rate alone).
    """
    fps = check_fps(fps)
    with opened(workload, settings) as runner:
        call, pool = runner_call(runner, workload, settings.batch)
        clock = clock or default_clock(settings)
        overhead_ns = clock.overhead_ns()
        m0 = clock.mark()
        call(0)
        first_s = clock.elapsed(m0, clock.mark())
        w0 = clock.now()
        warm_calls, _, steady = warm_up(call, clock, min(5.0, 0.5 * stop.max_time)) if warmup else (0, 0.0, True)
        warm_s = clock.now() - w0
        cpu0 = window_start(clock.name)
        log = run_stream(call, clock, fps, frames_for(fps, stop.max_time), drop_late)
        cpu = window_end(cpu0)
        result = stream_result(log)
        ran = log.status == RAN
        service = (log.end - log.start)[ran]
        replayed = replay_max_fps(service, drop_late)
        seconds = min(5.0, stop.max_time / 2) if check_s is None else check_s
        if seconds > 0 and math.isfinite(replayed):
            passed_at = fps if result["miss_rate"] <= MAX_MISS else 0.0
            check = check_max_fps(call, clock, replayed, seconds, drop_late, passed_at)
        else:
            check = {"max_fps": replayed, "confirmed": False, "tried": []}
        memory = runner.memory()
        effective = dict(runner.effective)
    result.update(max_fps=check["max_fps"], max_fps_replayed=replayed, max_fps_check=check, drop_late=drop_late)
    notes = []
    if not steady:
        notes.append(f"latency had not settled after {warm_s:.1f} s of warm-up; the first frames may be slow")
    if result["unserved"]:
        notes.append(
            f"the model cannot keep up with {fps:g} fps: {result['unserved']} queued frames were never run; "
            "use --drop-late, a lower --fps or a faster configuration"
        )
    latency_s = (log.end - log.arrival)[ran]
    timing = Timing(
        samples_s=latency_s if latency_s.size else np.array([math.nan]),
        block_size=1,
        first_call_s=first_s,
        warmup_calls=warm_calls,
        warmup_s=warm_s,
        steady=steady,
        overhead_ns=overhead_ns,
        stop_reason="frames",
        elapsed_s=float(np.nanmax(log.end) - log.arrival[0]),
        clock=clock.name,
        notes=notes,
        cpu=cpu,
    )
    effective["input_pool"] = pool
    extra = {"scenario": "realtime", "realtime": result}
    # The deadline lives in ``realtime``: the single-stream budget figures (1000/p99 as max fps)
    # would contradict the stream's own max_fps.
    return to_measurement(workload, settings, stop, timing, effective, memory, None, extra=extra)
