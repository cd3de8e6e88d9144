"""nnspeed's litert p50 against a plain ``interpreter.invoke()`` loop in the style of TFLite's
``benchmark_model``: one Interpreter, inputs set once, warm-up for at least 0.5 s, then at
least 50 runs and 1 s, each ``invoke`` timed alone, median reported.

Rounds are interleaved (the order swaps every round) so drift on the machine hits both sides
alike.  Passes when the median of the per-round ratios is within TOLERANCE on every model.

    .venv/bin/python benchmarks/litert_agreement.py [SOURCE ...]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import nnspeed

TOLERANCE = 0.05
ROUNDS = 20
MODELS = ("zoo:keras-mlp?depth=8", "zoo:keras-mlp?depth=4&units=1024")


def invoke_reference(
    path, inputs: dict, threads: int = 1, warmup_s: float = 0.5, min_runs: int = 50, min_s: float = 1.0
):
    """Median ``invoke()`` time in ms, as benchmark_model measures it."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=threads)
    details = it.get_input_details()
    for d, a in zip(details, inputs.values()):
        if list(d["shape"]) != list(a.shape):
            it.resize_tensor_input(d["index"], list(a.shape))
    it.allocate_tensors()
    for d, a in zip(details, inputs.values()):
        it.set_tensor(d["index"], np.ascontiguousarray(a, dtype=d["dtype"]))
    t_end = time.perf_counter() + warmup_s
    while time.perf_counter() < t_end:
        it.invoke()
    times = []
    t0 = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - t0 < min_s:
        a = time.perf_counter_ns()
        it.invoke()
        times.append(time.perf_counter_ns() - a)
    return float(np.median(times)) * 1e-6


def ratios(w, rounds: int = ROUNDS, min_s: float = 1.0, threads: int = 1) -> list[dict]:
    from nnspeed.workloads.tflite_convert import tflite_file

    path = tflite_file(w)
    inputs = w.make_inputs(1, 0)
    out = []
    for r in range(rounds):
        sides = {}
        order = ("reference", "nnspeed") if r % 2 else ("nnspeed", "reference")
        for side in order:
            if side == "reference":
                sides[side] = invoke_reference(path, inputs, threads, warmup_s=0.5, min_s=min_s)
            else:
                m = nnspeed.bench(w, backend="litert", threads=threads, min_time=min_s, max_time=2 * min_s)
                sides[side] = m.latency_ms.p50
        out.append({"invoke_loop_ms": sides["reference"], "nnspeed_ms": sides["nnspeed"]})
        out[-1]["ratio"] = out[-1]["nnspeed_ms"] / out[-1]["invoke_loop_ms"]
    return out


def main(*sources: str) -> int:
    results = {}
    for source in sources or MODELS:
        w = nnspeed.load(source)
        rs = ratios(w)
        median = float(np.median([r["ratio"] for r in rs]))
        results[source] = {"rounds": rs, "median_ratio": median}
        print(
            f"{source}: nnspeed {np.median([r['nnspeed_ms'] for r in rs]) * 1e3:.1f} µs vs invoke loop "
            f"{np.median([r['invoke_loop_ms'] for r in rs]) * 1e3:.1f} µs; median ratio ×{median:.3f} "
            f"(rounds {min(r['ratio'] for r in rs):.3f}–{max(r['ratio'] for r in rs):.3f})"
        )
    passed = all(abs(v["median_ratio"] - 1) <= TOLERANCE for v in results.values())
    doc = {"benchmark": "litert_agreement", "threads": 1, "tolerance": TOLERANCE, "models": results, "passed": passed}
    from record import write_result  # benchmarks/, beside this script

    out = write_result("litert_agreement", doc)
    print(f"median ratio within ±{100 * TOLERANCE:.0f}% on every model: {'PASS' if passed else 'FAIL'}  ({out})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
