"""nnspeed's median against independent timers, same model and thread count.

- torch-eager vs torch.utils.benchmark ``Timer.blocked_autorange`` (median of block means);
- onnxruntime vs a plain loop in the style of ``onnxruntime_perf_test``: one session, the
  same feed, warm-up calls, then ``perf_counter_ns`` around each ``session.run``.
Rounds are interleaved so drift on the machine hits both sides alike.  Passes when every
round's ratio is within TOLERANCE.

    .venv/bin/python benchmarks/agreement.py [SOURCE]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import nnspeed

TOLERANCE = 0.10
ROUNDS = 3


def torch_reference(w, min_run_time: float = 2.0) -> float:
    """Median of ``blocked_autorange`` block means, in ms."""
    import torch
    import torch.utils.benchmark as tb

    x = w.torch_args(1)
    previous = torch.get_num_threads()
    try:
        with torch.inference_mode():
            timer = tb.Timer("m(*x)", globals={"m": w.model, "x": x}, num_threads=1)
            m = timer.blocked_autorange(min_run_time=min_run_time)
    finally:
        torch.set_num_threads(previous)
    return m.median * 1e3


def ort_reference(w, calls: int = 20000, warmup: int = 1000) -> float:
    """Median of a plain timed ``session.run`` loop on one cached feed, in ms."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    sess = ort.InferenceSession(str(w.model_path()), so, providers=["CPUExecutionProvider"])
    feed = w.make_inputs(1, 0)
    for _ in range(warmup):
        sess.run(None, feed)
    times = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter_ns()
        sess.run(None, feed)
        times[i] = time.perf_counter_ns() - t0
    return float(np.median(times)) * 1e-6


def main(source: str = "zoo:mlp") -> int:
    w = nnspeed.load(source)
    rounds = []
    for r in range(ROUNDS):
        ref_t = torch_reference(w)
        ours_t = nnspeed.bench(w, backend="torch-eager", threads=1, min_time=2, max_time=5).latency_ms.p50
        ref_o = ort_reference(w)
        ours_o = nnspeed.bench(w, backend="onnxruntime", threads=1, min_time=2, max_time=5).latency_ms.p50
        rounds.append(
            {
                "torch_utils_benchmark_ms": ref_t,
                "nnspeed_torch_eager_ms": ours_t,
                "torch_ratio": ours_t / ref_t,
                "ort_plain_loop_ms": ref_o,
                "nnspeed_onnxruntime_ms": ours_o,
                "ort_ratio": ours_o / ref_o,
            }
        )
        print(
            f"round {r + 1}: torch-eager {ours_t * 1e3:.1f} µs vs blocked_autorange {ref_t * 1e3:.1f} µs "
            f"(×{ours_t / ref_t:.3f}); onnxruntime {ours_o * 1e3:.2f} µs vs plain loop {ref_o * 1e3:.2f} µs "
            f"(×{ours_o / ref_o:.3f})"
        )
    passed = all(abs(x[k] - 1) <= TOLERANCE for x in rounds for k in ("torch_ratio", "ort_ratio"))
    doc = {
        "benchmark": "agreement",
        "source": source,
        "threads": 1,
        "tolerance": TOLERANCE,
        "rounds": rounds,
        "passed": passed,
    }
    from record import write_result  # benchmarks/, beside this script

    out = write_result("agreement", doc)
    print(f"within ±{100 * TOLERANCE:.0f}% in every round: {'PASS' if passed else 'FAIL'}  ({out})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
