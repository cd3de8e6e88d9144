"""Five repeated measurements of one model: nnspeed's rigorous median against a naive one.

Each repetition is a fresh process, as a user re-running a command would get:
- rigorous: ``nnspeed bench SOURCE --threads 1 --json`` (warm-up until steady, stop rule);
- naive: build the model, one warm-up call, time one call.
The spread of five results is (max − min) / median.  Passes when the rigorous spread is at
least RATIO_TARGET times tighter than the naive one.

    .venv/bin/python benchmarks/repeatability.py [SOURCE]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPS = 5
RATIO_TARGET = 3.0

NAIVE = """
import sys, time, torch, nnspeed
torch.set_num_threads(1)
w = nnspeed.load(sys.argv[1])
x = w.torch_args(1)
with torch.inference_mode():
    w.model(*x)
    t0 = time.perf_counter()
    w.model(*x)
    print((time.perf_counter() - t0) * 1e3)
"""


def spread(values) -> float:
    v = np.asarray(values)
    return float((v.max() - v.min()) / np.median(v))


def main(source: str = "zoo:mlp") -> int:
    nnspeed_cmd = Path(sys.executable).with_name("nnspeed")
    rigorous, naive = [], []
    for r in range(REPS):
        res = subprocess.run(
            [str(nnspeed_cmd), "bench", source, "--threads", "1", "--json", "--store", "sqlite://"],
            capture_output=True,
            text=True,
            check=True,
        )
        rigorous.append(json.loads(res.stdout)["results"][0]["latency_ms"]["p50"])
        res = subprocess.run([sys.executable, "-c", NAIVE, source], capture_output=True, text=True, check=True)
        naive.append(float(res.stdout.strip().splitlines()[-1]))
        print(f"rep {r + 1}: rigorous p50 {rigorous[-1] * 1e3:.2f} µs   naive single call {naive[-1] * 1e3:.2f} µs")
    s_r, s_n = spread(rigorous), spread(naive)
    ratio = s_n / s_r if s_r > 0 else float("inf")
    doc = {
        "benchmark": "repeatability",
        "source": source,
        "threads": 1,
        "rigorous_p50_ms": rigorous,
        "naive_ms": naive,
        "rigorous_spread": s_r,
        "naive_spread": s_n,
        "ratio": ratio,
        "target_ratio": RATIO_TARGET,
        "passed": ratio >= RATIO_TARGET,
    }
    from record import write_result  # benchmarks/, beside this script

    out = write_result(f"repeatability-{source.split(':')[-1].split('?')[0]}", doc)
    print(f"spread of 5 medians: rigorous {100 * s_r:.1f}%, naive {100 * s_n:.1f}% → {ratio:.1f}x tighter")
    print(f"target ≥ {RATIO_TARGET:g}x: {'PASS' if doc['passed'] else 'FAIL'}  ({out})")
    return 0 if doc["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
