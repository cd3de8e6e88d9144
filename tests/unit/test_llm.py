"""LLM metrics on a scripted fake model whose token times are known: every definition checked."""

import itertools
import math

import numpy as np
import pytest

from nnspeed.measure.clock import FakeClock
from nnspeed.scenarios.llm import (
    DEFINITIONS,
    Request,
    Steps,
    generate_once,
    metrics,
    run_load,
    slo_result,
)


class FakeSteps(Steps):
    """Does nothing: the scripted clock decides how long each step takes."""

    def __init__(self):
        self.log = []

    def start(self, request):
        self.log.append(("start", request))

    def prefill(self):
        self.log.append("prefill")

    def decode(self):
        self.log.append("decode")


# prefill 100 ms, then decode steps of 10, 20, 30 ms: tokens at 100, 110, 130, 160 ms
SCRIPT = [0.1, 0.01, 0.02, 0.03]


def test_token_times_are_the_clock_after_each_step():
    steps = FakeSteps()
    times = generate_once(steps, FakeClock(SCRIPT), 0, 4)
    np.testing.assert_allclose(times, [0.1, 0.11, 0.13, 0.16])
    assert steps.log == [("start", 0), "prefill", "decode", "decode", "decode"]


def test_request_metrics_follow_the_definitions():
    r = Request(0.0, np.array([0.1, 0.11, 0.13, 0.16]))
    assert r.ttft == pytest.approx(0.1)  # prefill + first token
    assert r.e2e == pytest.approx(0.16)
    np.testing.assert_allclose(r.itl, [0.01, 0.02, 0.03])  # n_out − 1 gaps; TTFT is not one
    assert r.tpot == pytest.approx((0.16 - 0.1) / 3)  # (e2e − TTFT) / (n_out − 1) = mean ITL
    assert r.tpot == pytest.approx(r.itl.mean())
    # queueing counts in TTFT and e2e, never in ITL or TPOT
    q = Request(0.05, r.token_s)
    assert (q.ttft, q.e2e) == pytest.approx((0.15, 0.21))
    assert q.tpot == pytest.approx(r.tpot)
    assert math.isnan(Request(0.0, np.array([0.1])).tpot)  # one token: no TPOT


def test_summary_percentiles_and_rates():
    reqs = [Request(0.0, np.array([0.1, 0.11, 0.13, 0.16])), Request(0.0, np.array([0.2, 0.22, 0.24, 0.26]))]
    m = metrics(reqs, batch=2, tokens_per_word=1.25)
    assert m["ttft_ms"]["p50"] == pytest.approx(150)
    assert m["e2e_ms"]["p50"] == pytest.approx(210)
    assert m["itl_ms"]["n"] == 6 and m["itl_ms"]["p50"] == pytest.approx(20)
    assert m["tpot_ms"]["p50"] == pytest.approx(np.median([20, 20]))
    assert m["tokens_per_s"] == pytest.approx(8 / 0.42)  # n_out / e2e over both requests
    assert m["tokens_per_s_total"] == pytest.approx(2 * 8 / 0.42)  # × batch
    assert m["words_per_s"] == pytest.approx(m["tokens_per_s"] / 1.25)
    assert m["prefill_ms"] == pytest.approx(150)
    assert set(DEFINITIONS) >= {"ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "tokens_per_s", "words_per_s"}


def test_poisson_load_queues_requests_and_counts_goodput():
    # every step 10 ms, 3 tokens: a request takes 30 ms; arrivals at 0, 5 and 100 ms
    reqs, span = run_load(FakeSteps(), FakeClock(itertools.cycle([0.01])), np.array([0.0, 0.005, 0.1]), 3)
    assert [r.queue_s for r in reqs] == pytest.approx([0.0, 0.025, 0.0])
    assert [r.ttft for r in reqs] == pytest.approx([0.01, 0.035, 0.01])
    assert [r.tpot for r in reqs] == pytest.approx([0.01] * 3)
    assert span == pytest.approx(0.13)
    s = slo_result(reqs, span, ttft_slo_ms=20, tpot_slo_ms=None)
    assert s["good"] == 2 and s["goodput"] == pytest.approx(2 / 0.13)
    assert slo_result(reqs, span, ttft_slo_ms=None, tpot_slo_ms=5)["good"] == 0


def test_generate_measurement_with_fake_steps():
    import torch

    from nnspeed.api import workload_from_module
    from nnspeed.measure.stoprule import StopRule
    from nnspeed.scenarios.generate import generate

    w = workload_from_module(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    stop = StopRule(min_time=0, max_time=100, min_iters=3, max_iters=3)
    m = generate(w, 8, 4, 1, None, stop, clock=FakeClock(itertools.cycle(SCRIPT)), steps=FakeSteps())
    g = m.extra["generate"]
    assert m.n == 3 and m.latency_ms.p50 == pytest.approx(160)
    assert m.first_call_ms == pytest.approx(160)  # the first request is reported apart
    assert g["ttft_ms"]["p50"] == pytest.approx(100) and g["tpot_ms"]["p50"] == pytest.approx(20)
