"""CUDA paths: event timing, synchronisation, memory high-water mark.  Skipped without a GPU."""

import pytest
import torch

import nnspeed

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def test_cuda_eager_uses_event_clock_and_reports_memory():
    m = nnspeed.bench("zoo:resnet18", device="cuda", batch=8, min_time=0.5, max_time=2)
    assert m.effective["clock"] == "cuda_event" and m.effective["device"].startswith("cuda")
    assert m.extra["memory"]["cuda_peak_mb"] > 10
    assert 0 < m.latency_ms.p50 < 1000


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cuda_reduced_precision(precision):
    fp32 = nnspeed.bench("zoo:resnet50", device="cuda", batch=16, min_time=0.5, max_time=2)
    low = nnspeed.bench("zoo:resnet50", device="cuda", batch=16, precision=precision, min_time=0.5, max_time=2)
    assert low.effective_precision == precision
    assert low.latency_ms.p50 < fp32.latency_ms.p50


def test_cuda_event_time_matches_host_time_for_synchronised_calls():
    from nnspeed.measure.clock import CudaEventClock, PerfCounterClock

    w = nnspeed.load("zoo:resnet18")
    dev = nnspeed.bench(w, device="cuda", batch=8, min_time=0.5, max_time=2, clock=CudaEventClock())
    host = nnspeed.bench(w, device="cuda", batch=8, min_time=0.5, max_time=2, clock=PerfCounterClock())
    assert dev.latency_ms.p50 == pytest.approx(host.latency_ms.p50, rel=0.3)
