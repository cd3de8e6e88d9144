"""Server load: arrivals, the dynamic batcher's decisions and the SLO figures, on a scripted clock."""

import itertools
import math

import numpy as np
import pytest

from nnspeed.errors import InputError
from nnspeed.measure.clock import FakeClock
from nnspeed.scenarios.capacity import search
from nnspeed.scenarios.server import Batcher, Load, serve, serve_result


def test_batcher_waits_for_a_full_batch_or_the_oldest_requests_deadline():
    # every call takes 4 ms whatever its batch; the run starts 10 ms after now (t = 0)
    calls = []
    offsets = np.array([0.0, 0.001, 0.002, 0.010, 0.030])
    log = serve(calls.append, FakeClock(itertools.cycle([0.004])), offsets, Batcher(max_batch=2, max_wait_ms=5))
    # r0+r1 fill a batch at 11 ms; r2 waits its 5 ms alone; so does r3; r4 is the last request
    assert calls == [2, 1, 1, 1]
    np.testing.assert_allclose(log.end - log.arrival, [0.005, 0.004, 0.009, 0.009, 0.004], atol=1e-12)
    r = serve_result(log, Load(100, 0.05), Batcher(2, 5), slo_ms=8)
    assert r["batch_hist"] == {"1": 3, "2": 1}
    assert r["goodput"] == pytest.approx(3 / 0.034)
    assert r["p50_ms"] == pytest.approx(5)
    assert r["p99_ms"] == pytest.approx(9)
    assert r["passed"] is False
    assert serve_result(log, Load(100, 0.05), Batcher(2, 5), slo_ms=10)["passed"] is True


def test_without_batching_requests_queue_one_by_one():
    calls = []
    offsets = np.array([0.0, 0.0, 0.0])  # three at once, 4 ms each: 4, 8 and 12 ms
    log = serve(calls.append, FakeClock(itertools.cycle([0.004])), offsets, Batcher())
    assert calls == [1, 1, 1]
    np.testing.assert_allclose(log.end - log.arrival, [0.004, 0.008, 0.012], atol=1e-12)


def test_overload_stops_and_counts_unserved_requests():
    # 1000 requests/s for 1 s against a 10 ms call: it cannot keep up, and stops at 3 s
    load = Load(1000, 1.0, seed=1)
    log = serve(lambda b: None, FakeClock(itertools.cycle([0.01])), load.arrivals(), Batcher())
    r = serve_result(log, load, Batcher(), slo_ms=50)
    assert r["unserved"] > 0 and r["passed"] is False
    assert r["achieved_qps"] == pytest.approx(100, rel=0.05)


def test_arrivals_are_seeded_poisson_or_gamma():
    a = Load(2000, 5, seed=3).arrivals()
    assert np.array_equal(a, Load(2000, 5, seed=3).arrivals())
    gaps = np.diff(a)
    assert gaps.mean() == pytest.approx(1 / 2000, rel=0.05)
    assert (gaps.std() / gaps.mean()) ** 2 == pytest.approx(1, rel=0.1)  # Poisson: CV² = 1
    bursty = np.diff(Load(2000, 5, burstiness=4, seed=3).arrivals())
    assert (bursty.std() / bursty.mean()) ** 2 == pytest.approx(4, rel=0.2)


@pytest.mark.parametrize("kw", [dict(qps=0), dict(qps=-1), dict(qps=math.inf), dict(qps=10, burstiness=0)])
def test_bad_load_is_refused(kw):
    with pytest.raises(InputError):
        Load(seconds=1, **kw)


def test_capacity_search_brackets_the_knee():
    # a server that holds its SLO up to 1000 requests/s
    seen = []

    def trial(qps):
        seen.append(qps)
        return {"qps": qps, "passed": qps <= 1000}

    best, curve = search(trial, start_qps=37)
    assert 1000 / 1.1 <= best <= 1000
    assert len(curve) == len(seen) <= 14
    best, _ = search(trial, start_qps=50_000)  # starting above the knee searches down
    assert 1000 / 1.1 <= best <= 1000
