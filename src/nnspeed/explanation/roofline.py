"""Each layer (and each function outside the layers) against this machine's roofline.

The bound of a layer is the longer of its FLOPs at the measured GEMM peak and its bytes at the
fastest rate those bytes can stream: a layer whose tensors fit in a cache is held to that
cache's measured rate, not main memory's.  A measured time below the bound means the bound is
wrong (bytes or peak not known well enough): the bound is then shown as unknown, never as an
efficiency above 100%.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .peaks import bandwidth_for

# A layer whose roofline bound is under this share of its measured time is limited by
# per-call overhead (dispatch, launches, Python), not by compute or memory.
OVERHEAD_EFFICIENCY = 0.10
UNKNOWN = "bound unknown"
BELOW_RESOLUTION = "below resolution"


@dataclass
class Layer:
    name: str
    op: str
    calls: int  # runs per model call; FLOPs, bytes and time cover all of them
    time_ms: float
    share: float  # of the measured latency
    flops: int
    bytes: int
    intensity: float
    gflops: float
    bandwidth_gbs: float  # the memory roof this layer's bytes were held to
    bound_ms: float | None
    efficiency: float | None
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Row:
    """What was measured and counted of one layer or function."""

    name: str
    op: str
    calls: int
    time_ms: float
    flops: int
    bytes: int


def _verdict(t: float, compute_ms: float, memory_ms: float) -> tuple[float | None, float | None, str]:
    bound = max(compute_ms, memory_ms)
    if t <= 0:
        # under the profiler's resolution once its recording cost is taken off
        return bound, None, BELOW_RESOLUTION if bound > 0 else "overhead-bound"
    eff = bound / t
    if eff > 1:
        return None, None, UNKNOWN
    if eff < OVERHEAD_EFFICIENCY:
        return bound, eff, "overhead-bound"
    return bound, eff, "compute-bound" if compute_ms >= memory_ms else "memory-bound"


def roofline(rows: list[Row], latency_ms: float, peak_gflops: float, peaks_row: dict) -> list[Layer]:
    """Each row's bound (max of compute and memory time at the machine's peaks) and verdict,
    longest first; shares are of ``latency_ms``."""
    out = []
    for r in sorted(rows, key=lambda r: -r.time_ms):
        gbs = bandwidth_for(peaks_row, r.bytes / max(r.calls, 1))  # one run's working set
        compute_ms = r.flops / (peak_gflops * 1e9) * 1e3
        memory_ms = r.bytes / (gbs * 1e9) * 1e3
        bound, eff, verdict = _verdict(r.time_ms, compute_ms, memory_ms)
        t = r.time_ms
        out.append(
            Layer(
                r.name,
                r.op,
                r.calls,
                t,
                t / latency_ms if latency_ms > 0 else 0.0,
                r.flops,
                r.bytes,
                r.flops / r.bytes if r.bytes else 0.0,
                r.flops / (t * 1e-3) / 1e9 if t > 0 else 0.0,
                gbs,
                bound,
                eff,
                verdict,
            )
        )
    return out
