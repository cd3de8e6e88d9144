"""What running a sweep on Ray costs: per-cell wall-time overhead of the Ray runner over the
local runner on the same cells, and whether the two measure the same latencies.

A one-worker cluster on this machine (head without CPUs, the worker holding all of them, so
both runners get the same cores and threads).  Rounds are interleaved (the order swaps every
round) so drift hits both alike; each round runs the same cells through both runners into a
fresh in-memory store.  Targets: median overhead ≤ 0.5 s a cell, and the median p50 ratio of
every cell within 5%.

    .venv/bin/python benchmarks/ray_overhead.py [ROUNDS]   # default 10
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from sim_cluster import start

import nnspeed

OVERHEAD_TARGET_S = 0.5
AGREEMENT = 0.05
GRID = "depth=2,8;batch=1,16;threads=1"
STOP = dict(min_time=1.0, max_time=2.0, ci=0.01)
# A fresh cell process lands 0.5-2x off now and then on a small VM, either runner: one such
# round in four moves the median, so the default takes ten.
ROUNDS = 10


def one(cluster: str | None) -> tuple[float, dict[str, tuple[float, float]]]:
    """(sweep wall time, {cell key: (cell seconds, p50 ms)}) of one sweep."""
    db = nnspeed.Store("sqlite://")
    t0 = time.perf_counter()
    r = nnspeed.sweep("zoo:mlp", GRID, store=db, cluster=cluster, **STOP)
    wall = time.perf_counter() - t0
    bad = [o.reason for o in r.outcomes if o.status != "ok"]
    assert not bad, bad
    return wall, {o.cell.key: (o.seconds, o.measurement.latency_ms.p50) for o in r.outcomes}


def main(rounds: int = ROUNDS) -> int:
    import ray

    c = start(workers=1, cpus=os.cpu_count() or 1, head_cpus=0)
    ray.init(address=c.address, log_to_driver=False, logging_level="ERROR")
    try:
        one(c.address)  # Ray's first task on a node starts its worker process: not a cell's cost
        walls = {"local": [], "ray": []}
        cells: dict[str, dict[str, list]] = {}
        for i in range(rounds):
            order = [("local", None), ("ray", c.address)]
            for name, address in order if i % 2 == 0 else order[::-1]:
                wall, per_cell = one(address)
                walls[name].append(wall / len(per_cell))
                for key, v in per_cell.items():
                    cells.setdefault(key, {"local": [], "ray": []})[name].append(v)
    finally:
        ray.shutdown()
        c.shutdown()
    overhead = [
        r[0] - l[0]
        for v in cells.values()
        for l, r in zip(v["local"], v["ray"])  # noqa: E741
    ]
    print(f"{len(cells)} cells x {rounds} interleaved rounds, {GRID}, stop {STOP}")
    print(f"{'cell':45s} {'local p50':>10s} {'ray p50':>10s} {'ratio':>7s} {'local s':>8s} {'ray s':>7s}")
    ok = True
    doc: dict = {"benchmark": "ray_overhead", "grid": GRID, "stop": STOP, "rounds": rounds, "cells": {}}
    for key, v in cells.items():
        ratios = [r[1] / l[1] for l, r in zip(v["local"], v["ray"])]  # noqa: E741
        ratio = statistics.median(ratios)
        doc["cells"][key] = {"local": v["local"], "ray": v["ray"], "p50_ratios": ratios, "median_ratio": ratio}
        print(f"  per round: {' '.join(f'{x:.2f}' for x in ratios)}")
        ok &= abs(ratio - 1) <= AGREEMENT
        print(
            f"{key:45s} {statistics.median(x[1] for x in v['local']) * 1e3:8.1f}µs "
            f"{statistics.median(x[1] for x in v['ray']) * 1e3:8.1f}µs {ratio:7.3f} "
            f"{statistics.median(x[0] for x in v['local']):8.2f} {statistics.median(x[0] for x in v['ray']):7.2f}"
        )
    med = statistics.median(overhead)
    per_sweep = statistics.median(walls["ray"]) - statistics.median(walls["local"])
    print(f"overhead per cell: median {med:+.3f} s (cell times), {per_sweep:+.3f} s (sweep wall / cells)")
    ok &= med <= OVERHEAD_TARGET_S
    doc.update(overhead_cell_s=med, overhead_sweep_wall_per_cell_s=per_sweep, passed=ok)
    from record import write_result  # benchmarks/, beside this script

    out = write_result("ray_overhead", doc)
    print(
        "PASS" if ok else "FAIL",
        f"(targets: overhead <= {OVERHEAD_TARGET_S} s a cell, p50 within {AGREEMENT:.0%})  ({out})",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:2])))
