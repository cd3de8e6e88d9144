"""nnspeed's median agrees with independent timers on the same model and thread count.

The reference timers are those of benchmarks/agreement.py, which checks ±10% with
interleaved rounds and records the figures; here the bound is wide (25%) because CI
machines are shared.
"""

import importlib.util
from pathlib import Path

import pytest

import nnspeed

BOUND = 0.25
_spec = importlib.util.spec_from_file_location(
    "agreement", Path(__file__).resolve().parents[2] / "benchmarks" / "agreement.py"
)
agreement = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agreement)


def test_agrees_with_torch_utils_benchmark():
    w = nnspeed.load("zoo:mlp")
    ref_ms = agreement.torch_reference(w, min_run_time=1)
    ours = nnspeed.bench(w, threads=1, min_time=1, max_time=3)
    assert ours.latency_ms.p50 == pytest.approx(ref_ms, rel=BOUND)


def test_agrees_with_a_plain_onnxruntime_loop():
    w = nnspeed.load("zoo:mlp")
    ref_ms = agreement.ort_reference(w, calls=5000, warmup=200)
    ours = nnspeed.bench(w, backend="onnxruntime", threads=1, min_time=1, max_time=3)
    assert ours.latency_ms.p50 == pytest.approx(ref_ms, rel=BOUND)
