"""nnspeed's median agrees with independent timers on the same model and thread count.

The bound here is wide (25%) because CI machines are shared; benchmarks/agreement.py checks
10% with interleaved repetitions and records the figures.
"""

import time

import numpy as np
import pytest

import nnspeed

BOUND = 0.25


def test_agrees_with_torch_utils_benchmark():
    import torch
    import torch.utils.benchmark as tb

    w = nnspeed.load("zoo:mlp")
    x = w.torch_args(1)
    torch.set_num_threads(1)
    with torch.inference_mode():
        ref = tb.Timer("m(*x)", globals={"m": w.model, "x": x}, num_threads=1).blocked_autorange(min_run_time=1)
    ours = nnspeed.bench(w, threads=1, min_time=1, max_time=3)
    assert ours.latency_ms.p50 == pytest.approx(ref.median * 1e3, rel=BOUND)


def test_agrees_with_a_plain_onnxruntime_loop():
    import onnxruntime as ort

    w = nnspeed.load("zoo:mlp")
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    sess = ort.InferenceSession(str(w.onnx_path()), so, providers=["CPUExecutionProvider"])
    feed = w.make_inputs(1, 0)
    for _ in range(200):
        sess.run(None, feed)
    times = []
    for _ in range(5000):
        t0 = time.perf_counter_ns()
        sess.run(None, feed)
        times.append(time.perf_counter_ns() - t0)
    ours = nnspeed.bench(w, backend="onnxruntime", threads=1, min_time=1, max_time=3)
    assert ours.latency_ms.p50 == pytest.approx(np.median(times) * 1e-6, rel=BOUND)
