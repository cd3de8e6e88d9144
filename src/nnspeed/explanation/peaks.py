"""This machine's peak rates, measured through the framework: GEMM throughput per precision
and thread count, memory bandwidth from a STREAM-like triad (in main memory, and on a ladder of
working sets that fit each cache level), and the theoretical peak from the CPU's flags and clock
where it can be known.  Cached per machine fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._files import cache_dir, write_text
from ..backends.base import torch_threads
from ..measure.environment import cpu_flags, fingerprint, physical_cores
from ..measure.harness import call_ms
from ..measure.stoprule import StopRule

# Square GEMMs this size keep every core busy and sit in no cache level.
GEMM_N = 1024
# ... unless one such call would take longer than this: then a smaller side (not under PROBE_N).
CALL_BUDGET_S = 0.1
PROBE_N = 256
# Triad arrays (float32 elements): 3 × 128 MiB, far beyond any last-level cache.
TRIAD_N = 32 * 2**20
STOP = StopRule(min_time=0.3, max_time=1.5, ci_rel=0.02)
# Triad working sets (bytes, all three arrays) from L1-sized to beyond a large L2: a layer whose
# tensors fit in a cache streams them at that cache's rate, not at main memory's.  Factors of 4
# place at least one rung inside each cache level without reading the cache sizes.
LADDER_BYTES = tuple(48 * 2**10 * 4**k for k in range(6))  # 48 KiB … 48 MiB; beyond: TRIAD_N
LADDER_STOP = StopRule(min_time=0.03, max_time=0.15, ci_rel=0.02)
PROFILE_VERSION = 2  # 2: the bandwidth ladder


def _gemm(precision: str, n: int):
    import torch

    if precision == "int8":
        a = torch.randint(-128, 127, (n, n), dtype=torch.int8)
        b = torch.randint(-128, 127, (n, n), dtype=torch.int8)
        return lambda: torch._int_mm(a, b)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return lambda: torch.mm(a, b)


def gemm_size(precision: str, threads: int, n: int = GEMM_N) -> int:
    """``n``, or a smaller power-of-two side where one n×n×n product would take over
    ``CALL_BUDGET_S``: a precision the CPU has no instructions for runs emulated at a GFLOP/s or
    two, and a 1024³ product then takes seconds a call without telling anything more."""
    import time

    with torch_threads(threads):
        fn = _gemm(precision, PROBE_N)
        fn()  # the first call pays for allocation and dispatch
        t0 = time.perf_counter()
        fn()
        probe_s = time.perf_counter() - t0
    while n > PROBE_N and probe_s * (n / PROBE_N) ** 3 > CALL_BUDGET_S:
        n //= 2
    return n


def gemm_rate(precision: str, threads: int, n: int = GEMM_N) -> float:
    """GFLOP/s (GOP/s for int8) of an n×n×n matrix product at this precision."""
    with torch_threads(threads):
        ms = call_ms(_gemm(precision, n), STOP, np.min)  # best call: the achievable rate
    return 2 * n**3 / (ms * 1e-3) / 1e9


def triad_bandwidth(threads: int, n: int = TRIAD_N, stop: StopRule = STOP) -> float:
    """GB/s of a = b + s·c (two reads and one write per element)."""
    import torch

    with torch_threads(threads):
        a, b, c = torch.empty(n), torch.rand(n), torch.rand(n)
        ms = call_ms(lambda: torch.add(b, c, alpha=3.0, out=a), stop, np.min)
    return 3 * 4 * n / (ms * 1e-3) / 1e9


def bandwidth_ladder(threads: int) -> list[list[float]]:
    """[working-set bytes, GB/s] of the triad at each rung of ``LADDER_BYTES``."""
    return [[float(12 * (ws // 12)), triad_bandwidth(threads, ws // 12, LADDER_STOP)] for ws in LADDER_BYTES]


def bandwidth_for(row: dict, nbytes: float) -> float:
    """The fastest rate at which ``nbytes`` can stream on this machine (GB/s), an upper bound for
    a layer that moves them.  A working set no larger than ``nbytes`` streams at least as fast in
    hardware, so the rung just below ``nbytes`` bounds it; rungs above stand in where a small
    rung was held back by per-call overhead rather than by its cache.  Main memory's triad rate
    is the floor."""
    rungs = row.get("ladder", [])
    below = max((ws for ws, _ in rungs if ws <= nbytes), default=0.0)
    return max([row["triad_gbs"], *(gbs for ws, gbs in rungs if ws >= below)])


def theoretical_fp32(cores: int) -> dict | None:
    """Cores × clock × FLOPs per cycle from the vector width (two FMA units assumed), or None
    when the clock is not reported."""
    mhz = None
    try:
        with open("/proc/cpuinfo") as f:
            mhz = next((float(line.split(":")[1]) for line in f if line.startswith("cpu MHz")), None)
    except OSError:
        pass
    if not mhz:
        return None
    flags = cpu_flags()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    per_cycle = 2 * 2 * lanes if "fma" in flags or "avx512f" in flags else 2 * lanes
    return {
        "gflops": cores * mhz * 1e-3 * per_cycle,
        "clock_mhz": mhz,
        "flops_per_cycle": per_cycle,
        "basis": f"{cores} cores × {mhz:.0f} MHz × {per_cycle} FLOP/cycle ({lanes}-lane FMA ×2)",
    }


def measure(threads: list[int] | None = None) -> dict:
    """Every peak at every thread count (1 and all physical cores by default)."""
    cores = physical_cores()
    counts = threads or sorted({1, cores})
    precisions = ["fp32", "bf16", "int8"]
    rows = []
    for t in counts:
        row = {"threads": t, "gemm": {}, "gemm_n": {}}
        for p in precisions:
            try:
                row["gemm_n"][p] = n = gemm_size(p, t)
                row["gemm"][p] = gemm_rate(p, t, n)
            except (RuntimeError, AttributeError) as e:  # a precision this build cannot run
                row["gemm"][p] = None
                row.setdefault("notes", []).append(f"{p}: {e}")
        row["triad_gbs"] = triad_bandwidth(t)
        row["ladder"] = bandwidth_ladder(t)
        rows.append(row)
    env = fingerprint()
    return {
        "version": PROFILE_VERSION,
        "machine_id": env["machine_id"],
        "machine": env,
        "gemm_n": GEMM_N,  # the side of every product but those in a row's gemm_n said smaller
        "rows": rows,
        "theoretical_fp32": theoretical_fp32(cores),
    }


def cache_path(machine_id: str) -> Path:
    return cache_dir("machines") / f"{machine_id}.json"


def profile(refresh: bool = False, threads: list[int] | None = None) -> tuple[dict, bool]:
    """This machine's profile from the cache, or measured now; returns (profile, from_cache)."""
    path = cache_path(fingerprint()["machine_id"])
    if path.exists() and not refresh and threads is None:
        doc = json.loads(path.read_text())
        if doc.get("version") == PROFILE_VERSION:
            return doc, True
    doc = measure(threads)
    write_text(path, json.dumps(doc, indent=2))
    return doc, False
