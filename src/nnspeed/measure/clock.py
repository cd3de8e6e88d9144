"""Clocks the harness reads; runners never read one.

A clock hands out *marks* and turns two marks into seconds.  Host clocks mark with
``perf_counter_ns``; the CUDA clock marks by recording events on the current stream, so a
call is timed on the device and the host is synchronised only when the elapsed time is read.
``FakeClock`` replays scripted durations so stop rules and statistics are tested exactly;
``ManualClock`` stands still until the system under test advances it, so a test can script
what each call costs (and how that drifts) whatever order the harness calls in.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

# Marks taken back to back to estimate what one mark pair costs.
OVERHEAD_PAIRS = 2000


class Clock(Protocol):
    name: str

    def now(self) -> float:
        """Host seconds, for deciding when to stop (not for samples)."""

    def mark(self) -> Any:
        """A point in time on this clock."""

    def elapsed(self, start: Any, end: Any) -> float:
        """Seconds between two marks."""

    def overhead_ns(self) -> float:
        """The median cost of one empty mark pair, in nanoseconds."""

    def sleep_until(self, t: float) -> None:
        """Return at host time ``t`` (seconds on ``now()``'s scale), or at once if it has passed."""


# time.sleep can overshoot by up to a scheduler tick: sleep until this close, then spin.
SPIN_S = 0.002


def sleep_until(t: float) -> None:
    """Wait until ``time.perf_counter() >= t``: sleep for the bulk, spin for the last SPIN_S."""
    while True:
        left = t - time.perf_counter()
        if left <= 0:
            return
        if left > SPIN_S:
            time.sleep(left - SPIN_S)


class PerfCounterClock:
    """The host's monotonic high-resolution counter."""

    name = "perf_counter"

    def now(self) -> float:
        return time.perf_counter()

    # The counter itself, not a method around it: a mark is a direct builtin call.
    mark = staticmethod(time.perf_counter_ns)

    def elapsed(self, start: int, end: int) -> float:
        return (end - start) * 1e-9

    def overhead_ns(self) -> float:
        mark = time.perf_counter_ns
        gaps = []
        for _ in range(OVERHEAD_PAIRS):
            a = mark()
            b = mark()
            gaps.append(b - a)
        gaps.sort()
        return float(gaps[len(gaps) // 2])

    def sleep_until(self, t: float) -> None:
        sleep_until(t)


class CudaEventClock:
    """CUDA events on the current stream: device time, no per-mark host synchronisation."""

    name = "cuda_event"

    def __init__(self, device: Any = None):
        import torch

        self._torch = torch
        self._device = device

    def now(self) -> float:
        return time.perf_counter()

    def sleep_until(self, t: float) -> None:
        sleep_until(t)

    def mark(self) -> Any:
        event = self._torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def elapsed(self, start: Any, end: Any) -> float:
        end.synchronize()
        return start.elapsed_time(end) * 1e-3

    def overhead_ns(self) -> float:
        gaps = []
        for _ in range(200):
            a, b = self.mark(), self.mark()
            gaps.append(self.elapsed(a, b) * 1e9)
        gaps.sort()
        return gaps[len(gaps) // 2]


# Clocks whose time is scripted, not read: the machine's counters say nothing about their window.
SIMULATED_CLOCKS = ("fake", "manual")


class FakeClock:
    """A scripted clock for tests: each timed call lasts the next scripted duration.

    ``durations`` (seconds) are consumed one per ``start → end`` mark pair; ``now()`` is the
    sum of everything consumed so far, so stop rules see time pass exactly as scripted.
    """

    name = "fake"

    def __init__(self, durations: Iterable[float], overhead_ns: float = 50.0):
        self._durations: Iterator[float] = iter(durations)
        self._t = 0.0
        self._open = False
        self._overhead = overhead_ns

    def now(self) -> float:
        return self._t

    def mark(self) -> float:
        if self._open:
            self._t += next(self._durations)
        self._open = not self._open
        return self._t

    def elapsed(self, start: float, end: float) -> float:
        return end - start

    def overhead_ns(self) -> float:
        return self._overhead

    def sleep_until(self, t: float) -> None:
        self._t = max(self._t, t)


class ManualClock:
    """A clock for tests that moves only when ``advance(seconds)`` is called.

    A scripted system under test advances it by what its call "costs", so the harness's
    samples are exactly those costs, in whatever order the harness makes the calls.
    """

    name = "manual"

    def __init__(self, overhead_ns: float = 50.0):
        self.t = 0.0
        self._overhead = overhead_ns

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def now(self) -> float:
        return self.t

    def mark(self) -> float:
        return self.t

    def elapsed(self, start: float, end: float) -> float:
        return end - start

    def overhead_ns(self) -> float:
        return self._overhead

    def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)
