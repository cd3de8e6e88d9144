import itertools

import pytest

from nnspeed.errors import InputError
from nnspeed.measure.clock import FakeClock, PerfCounterClock
from nnspeed.measure.harness import BLOCK_OVERHEAD_RATIO, block_size_for, run_timed, warm_up
from nnspeed.measure.stoprule import StopRule


def noop(i):
    return None


def test_stop_rule_order_of_conditions():
    r = StopRule(min_time=1, max_time=5, min_iters=10, max_iters=100, ci_rel=0.01)
    assert r.decide(5, 2.0) is None  # too few calls
    assert r.decide(50, 0.5) is None  # too little time
    assert r.decide(50, 2.0) is None  # no samples given: no CI test
    assert r.decide(50, 2.0, [1.0] * 50) == "ci"
    assert r.decide(100, 0.1) == "max_iters"
    assert r.decide(20, 5.0) == "max_time"


@pytest.mark.parametrize(
    "kwargs",
    [dict(min_time=5, max_time=1), dict(max_time=0), dict(min_iters=0), dict(ci_rel=0), dict(ci_rel=1.5)],
)
def test_stop_rule_rejects_bad_limits(kwargs):
    with pytest.raises(InputError):
        StopRule(**kwargs)


def test_first_call_reported_apart_and_warmup_until_steady():
    # First call 1 s (lazy init), then 30 calls slowly settling from 20 ms, then steady 10 ms.
    settling = [0.020 - i * 0.0003 for i in range(30)]
    clock = FakeClock(itertools.chain([1.0], settling, itertools.repeat(0.010)))
    t = run_timed(noop, StopRule(min_time=0.5, max_time=5, ci_rel=0.01), clock)
    assert t.first_call_s == pytest.approx(1.0)
    assert t.steady
    assert t.warmup_calls > 30  # did not stop warming up while latency still fell
    assert t.samples_s.min() == pytest.approx(0.010)
    assert t.samples_s.max() == pytest.approx(0.010)
    assert t.stop_reason == "ci"
    assert t.elapsed_s >= 0.5  # min-time held although the CI was tight at once


def test_unsteady_warmup_is_capped_and_noted():
    # Each call 3% slower than the last: windows of ≥5 calls never agree within 5%.
    clock = FakeClock(0.001 * 1.03**i for i in itertools.count())
    t = run_timed(noop, StopRule(min_time=0.1, max_time=1.0), clock)
    assert not t.steady
    assert any("had not settled" in n for n in t.notes)


def test_max_time_stops_noisy_run_and_says_ci_not_reached():
    noisy = itertools.cycle([0.001, 0.002, 0.004, 0.008])
    clock = FakeClock(itertools.chain([0.001], noisy))
    t = run_timed(noop, StopRule(min_time=0.1, max_time=0.5, ci_rel=0.001), clock)
    assert t.stop_reason == "max_time"
    assert any("before the median's 95% CI" in n for n in t.notes)


def test_max_iters():
    clock = FakeClock(0.001 * (1 + (i * 0.618) % 1) for i in itertools.count())  # never a tight CI
    t = run_timed(noop, StopRule(min_time=0, max_time=100, min_iters=5, max_iters=50, ci_rel=1e-6), clock)
    assert t.stop_reason == "max_iters" and len(t.samples_s) == 50


def test_tiny_calls_are_timed_in_blocks():
    clock = FakeClock(itertools.repeat(1e-7), overhead_ns=50)  # 100 ns calls, 50 ns timer
    calls = []
    t = run_timed(calls.append, StopRule(min_time=0, max_time=1, min_iters=10, max_iters=20), clock)
    assert t.block_size == block_size_for(1e-7, 50) == pytest.approx(50e-9 / BLOCK_OVERHEAD_RATIO / 1e-7, abs=1)
    assert any("blocks of" in n for n in t.notes)
    # Each scripted duration is one block: calls happened block_size times per sample.
    assert len(calls) >= t.block_size * len(t.samples_s)


def test_calls_receive_distinct_indices():
    seen = []
    clock = FakeClock(itertools.repeat(0.01))
    run_timed(seen.append, StopRule(min_time=0, max_time=1, min_iters=10, max_iters=10), clock)
    assert seen == list(range(len(seen)))


def test_warm_up_returns_steady_median():
    clock = FakeClock(itertools.repeat(0.02))
    calls, median, steady = warm_up(noop, clock, cap_s=10)
    assert steady and median == pytest.approx(0.02) and calls == 10
    # 1 ms calls: two windows of 50 ms by default, of at least 5 calls when the window is cut
    assert warm_up(noop, FakeClock(itertools.repeat(0.001)), cap_s=10)[0] == 100
    assert warm_up(noop, FakeClock(itertools.repeat(0.001)), cap_s=10, window_s=0.0125)[0] == 26
    assert warm_up(noop, FakeClock(itertools.repeat(0.001)), cap_s=10, window_s=0.0)[0] == 10


def test_real_clock_overhead_is_small():
    assert 0 < PerfCounterClock().overhead_ns() < 5000
