"""Per-call overhead of nnspeed's timing loop around an empty callable.

Two figures, both must stay under TARGET_US:
- the median per-call sample when every call is timed alone (what one sample over-reports);
- the loop's whole cost per call: wall time of the timed phase / calls (marks, list append,
  stop-rule checks included).

    .venv/bin/python benchmarks/harness_overhead.py
"""

from __future__ import annotations

import sys
import time

import numpy as np

from nnspeed.measure.clock import PerfCounterClock
from nnspeed.measure.harness import run_timed
from nnspeed.measure.stoprule import StopRule

TARGET_US = 2.0


def empty(i):
    return None


def main() -> int:
    clock = PerfCounterClock()
    rows = []
    for _ in range(5):
        t0 = time.perf_counter()
        t = run_timed(empty, StopRule(min_time=1.0, max_time=1.0, max_iters=10**8, ci_rel=1e-9), clock, block_size=1)
        wall = time.perf_counter() - t0
        rows.append(
            {
                "median_sample_us": float(np.median(t.samples_s)) * 1e6,
                "loop_cost_per_call_us": t.elapsed_s / len(t.samples_s) * 1e6,
                "timer_overhead_ns": t.overhead_ns,
                "calls": len(t.samples_s),
                "wall_s": wall,
            }
        )
    worst_sample = max(r["median_sample_us"] for r in rows)
    worst_loop = max(r["loop_cost_per_call_us"] for r in rows)
    doc = {
        "benchmark": "harness_overhead",
        "target_us": TARGET_US,
        "reps": rows,
        "worst_median_sample_us": worst_sample,
        "worst_loop_cost_per_call_us": worst_loop,
        "passed": worst_sample < TARGET_US and worst_loop < TARGET_US,
    }
    from record import write_result  # benchmarks/, beside this script

    out = write_result("harness_overhead", doc)
    print(f"median per-call sample of an empty call: {worst_sample:.3f} µs (worst of 5)")
    print(f"timing loop cost per call:               {worst_loop:.3f} µs (worst of 5)")
    print(f"target < {TARGET_US} µs: {'PASS' if doc['passed'] else 'FAIL'}  ({out})")
    return 0 if doc["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
