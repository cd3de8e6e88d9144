"""What else ran while we measured: other processes' CPU time over the timed window.

Threaded runtimes (OpenMP, oneDNN, ONNX Runtime's pool) spin-wait for their peers at every
barrier.  When another process holds a core one of those threads needs, each barrier waits for
the scheduler, and a model that takes 0.23 ms at 1 thread reads 40 ms at 2, with a tight
interval.  The harness reads the CPU counters at the start and the end of its timed window,
outside the timed calls; ``figures`` turns the two readings into cores used by others and cores
left free, and ``contention_warning`` says when the threads asked for did not fit, and which
thread count would have.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

from .clock import SIMULATED_CLOCKS

# A core counts as taken when other processes used at least half of it over the window: a
# thread that must share its core more than half the time stalls its peers at most barriers,
# while below that the stalls are within the run-to-run spread of a quiet machine.
TAKEN_SHARE = 0.5
# /proc/stat counts in clock ticks, and each reading of each CPU is off by up to one: other
# processes' use is judged only beyond this many ticks per CPU over the window.
TICK_ALLOWANCE = 2
# /proc/stat fields that are time spent running something (guest time is already in user).
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal (steal: other VMs)
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# How long a command that picks its own thread count watches the machine first.
PROBE_S = 0.5


@dataclass(frozen=True)
class CpuReading:
    """One reading of the counters: wall time, busy CPU seconds of the CPUs this process may
    run on (all processes), this process's own CPU seconds, and how many CPUs that is."""

    wall_s: float
    busy_s: float
    own_s: float
    cpus: int


def _allowed_cpus() -> set[int] | None:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None


def _busy_ticks(allowed: set[int] | None) -> tuple[float, int] | None:
    """Busy ticks summed over the allowed CPUs (all when unknown) from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            lines = [ln.split() for ln in f if ln.startswith("cpu") and not ln.startswith("cpu ")]
    except OSError:
        return None
    busy, cpus = 0.0, 0
    for parts in lines:
        cpu = int(parts[0][3:])
        if allowed is not None and cpu not in allowed:
            continue
        values = [float(x) for x in parts[1:]]
        busy += sum(values[i] for i in _BUSY_FIELDS if i < len(values))
        cpus += 1
    return (busy, cpus) if cpus else None


def read_cpu() -> CpuReading:
    """Read the counters now (~20 µs); psutil's machine-wide totals where /proc is absent."""
    ticks = _busy_ticks(_allowed_cpus())
    if ticks is not None:
        busy_s, cpus = ticks[0] / _TICKS_PER_S, ticks[1]
    else:
        import psutil

        t = psutil.cpu_times()
        busy_s = t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
        busy_s += getattr(t, "steal", 0.0)
        cpus = psutil.cpu_count() or 1
    return CpuReading(time.monotonic(), busy_s, time.process_time(), cpus)


def window_start(clock_name: str) -> CpuReading | None:
    """A reading at the start of a timed window; None under a simulated clock (tests), where
    the machine's counters have nothing to do with the samples."""
    return None if clock_name in SIMULATED_CLOCKS else read_cpu()


def window_end(start: CpuReading | None) -> tuple[CpuReading, CpuReading] | None:
    """The start and end readings of a window (what ``Timing.cpu`` holds)."""
    return None if start is None else (start, read_cpu())


def figures(start: CpuReading, end: CpuReading, threads: int) -> dict | None:
    """What ran during the window, in cores (CPU seconds per second of wall time).

    ``other_cores`` is every process's busy time on our CPUs less our own; ``uncertainty_cores``
    is what the counters' tick resolution allows over this window.
    """
    window = end.wall_s - start.wall_s
    if window <= 0:
        return None
    own = max(0.0, end.own_s - start.own_s)
    other = max(0.0, (end.busy_s - start.busy_s) - own)
    cores = end.cpus
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "window_s": round(window, 4),
        "cores": cores,
        "threads": threads,
        "other_cores": round(other / window, 3),
        "own_cores": round(own / window, 3),
        "free_cores": round(max(0.0, cores - other / window), 3),
        "uncertainty_cores": round(TICK_ALLOWANCE * cores / (_TICKS_PER_S * window), 3),
        "load1": None if load1 is None else round(load1, 2),
    }


def _cores(x: float) -> str:
    return f"{x:.2f} of a core" if x < 1 else f"{x:.2f} cores"


def contended(fig: dict | None) -> bool:
    """Whether the threads asked for needed more than half a core beyond those other processes
    left free (threads beyond the cores compete with each other, not with others)."""
    if not fig:
        return False
    sure_other = max(0.0, fig["other_cores"] - fig.get("uncertainty_cores", 0.0))
    return min(fig["threads"], fig["cores"]) - (fig["cores"] - sure_other) > TAKEN_SHARE


def fitting_threads(fig: dict) -> int:
    """Threads that fit the free cores: a core used less than half by others counts."""
    return max(1, math.floor(max(0.0, fig["cores"] - fig["other_cores"]) + TAKEN_SHARE))


def contention_warning(fig: dict | None) -> str | None:
    """A warning when the threads asked for needed more than half a core beyond those left free
    by other processes, naming the thread count that fits (None when they fit, or no figures)."""
    if fig is None or not contended(fig):
        return None
    cores, threads, other = fig["cores"], fig["threads"], fig["other_cores"]
    free = max(0.0, cores - other)
    fits = fitting_threads(fig)
    load = f" (1-min load {fig['load1']:g})" if fig.get("load1") is not None else ""
    head = (
        f"other processes used {_cores(other)} during this run{load}; "
        f"{threads} thread{'s' if threads != 1 else ''} on {cores} cores with ~{free:.1f} free: "
        f"{'threads' if threads != 1 else 'the thread'} waited for a core, "
        "so the figure may be far slower than this model runs"
    )
    if fits < threads:
        return f"{head}; try --threads {fits}"
    return f"{head}; measure again on a quieter machine"


def threads_that_fit(wanted: int, seconds: float = PROBE_S) -> tuple[int, dict | None]:
    """How many of ``wanted`` threads fit the cores other processes leave free, read over
    ``seconds`` now (this process sleeps through it): ``(threads, figures)``."""
    start = read_cpu()
    time.sleep(seconds)
    fig = figures(start, read_cpu(), wanted)
    if fig is None or not contended(fig):
        return wanted, fig
    return min(wanted, fitting_threads(fig)), fig
