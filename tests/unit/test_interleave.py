"""Interleaved rounds and paired ratios, timed by a manual clock that scripted calls advance."""

import math

import numpy as np
import pytest

from nnspeed.errors import InputError
from nnspeed.measure.clock import ManualClock
from nnspeed.measure.compare import compare_samples, from_rounds
from nnspeed.measure.harness import run_timed
from nnspeed.measure.interleave import Arm, RoundRule, run_rounds
from nnspeed.measure.paired import hodges_lehmann, paired_ratio, signed_rank_cdf
from nnspeed.measure.stoprule import StopRule


def test_signed_rank_distribution_matches_the_tables():
    cdf = signed_rank_cdf(10)
    assert cdf[-1] == pytest.approx(1.0)
    # Two-sided 5% critical value of the signed-rank statistic for n = 10 is 8.
    assert cdf[8] <= 0.025 < cdf[9]
    assert signed_rank_cdf(6)[0] == pytest.approx(1 / 64)


def test_hodges_lehmann_interval_bounds():
    d = np.arange(10, dtype=float)
    est, lo, hi, coverage = hodges_lehmann(d)
    assert est == pytest.approx(4.5)
    # n = 10 → the 9th smallest and 9th largest Walsh averages.
    assert (lo, hi) == (2.0, 7.0)
    assert coverage == pytest.approx(1 - 2 * signed_rank_cdf(10)[8])
    assert math.isnan(hodges_lehmann(d[:5])[1])  # five rounds cannot bound it at 95%


def test_paired_interval_covers_the_centre_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    hits = 0
    trials = 1000
    for _ in range(trials):
        a = np.exp(rng.normal(0, 0.05, 12))
        b = a * 1.1 * np.exp(rng.normal(0, 0.02, 12))
        r = paired_ratio(a, b)
        hits += r.ci95[0] <= 1.1 <= r.ci95[1]
    assert 0.93 <= hits / trials <= 0.985


class Machine:
    """Scripted calls: arm k costs cost[k] seconds, scaled by the machine's speed at the time
    (``slow(t)``) and by 1% seeded jitter."""

    def __init__(self, costs, slow=lambda t: 1.0, seed=0):
        self.clock = ManualClock()
        self.costs = costs
        self.slow = slow
        self.rng = np.random.default_rng(seed)
        self.entries = [0] * len(costs)

    def call(self, k):
        def run(i):
            self.clock.advance(self.costs[k] * self.slow(self.clock.t) * math.exp(self.rng.normal(0, 0.01)))

        return run

    def arm(self, k, fresh=False):
        def enter():
            self.entries[k] += 1
            return self.call(k), fresh

        return Arm(f"arm{k}", enter)


def step_at(t_step, factor):
    return lambda t: factor if t >= t_step else 1.0


def test_drift_that_the_old_method_calls_a_slowdown_cancels_in_rounds():
    # Identical arms; the machine gets 15% slower after 1.2 s (another job starts).
    old = Machine([1e-3, 1e-3], step_at(1.2, 1.15))
    stop = StopRule(min_time=1.0, max_time=1.0, ci_rel=0.001)
    a = run_timed(old.call(0), stop, old.clock).samples_s
    b = run_timed(old.call(1), stop, old.clock).samples_s
    c = compare_samples("A/A", a, b)
    assert c.verdict == "slower" and c.ci95[1] < 0.9  # a tight, confident, wrong answer

    new = Machine([1e-3, 1e-3], step_at(1.2, 1.15))
    rounds = run_rounds([new.arm(0), new.arm(1)], RoundRule(min_rounds=8, max_rounds=40, ci_rel=0.005), new.clock)
    r = rounds.ratio(0, 1)
    assert r.ci95[0] <= 1.0 <= r.ci95[1]
    assert abs(r.ratio - 1) < 0.01
    assert from_rounds("A/A", r, 1.0, 1.0).verdict == "same"


def test_a_true_slowdown_is_found_through_drift():
    m = Machine([1e-3, 1.1e-3], lambda t: 1.0 + 0.3 * math.sin(t * 3))  # slow waves of ±30%
    rounds = run_rounds([m.arm(0), m.arm(1)], RoundRule(min_rounds=8, max_rounds=60, ci_rel=0.01), m.clock, seed=1)
    r = rounds.ratio(0, 1)
    assert r.ci95[0] <= 1.1 <= r.ci95[1]
    assert r.ci95[0] > 1.05
    assert rounds.stop_reason == "ci"


def test_rounds_shuffle_the_order_and_keep_every_sample():
    m = Machine([1e-3, 2e-3, 3e-3])
    rule = RoundRule(min_rounds=10, max_rounds=10, window_s=0.01)
    rounds = run_rounds([m.arm(k) for k in range(3)], rule, m.clock, seed=5)
    assert rounds.n_rounds == 10 and rounds.stop_reason == "max_rounds"
    assert len({tuple(o) for o in rounds.orders}) > 1  # not the same order every round
    assert all(sorted(o) == [0, 1, 2] for o in rounds.orders)
    for k, t in enumerate(rounds.arms):
        assert len(t.round_values_s) == 10
        assert len(t.samples_s) == sum(t.round_sizes)
        assert min(t.round_sizes) >= 5  # a 3 ms call still gets five timed samples a window
        assert np.median(t.samples_s) == pytest.approx(1e-3 * (k + 1), rel=0.02)
    assert rounds.ratio(0, 2).ratio == pytest.approx(3.0, rel=0.01)


def test_decided_stops_early_and_max_time_is_honoured():
    m = Machine([1e-3, 2e-3])
    calls = []

    def decided(ratios):
        calls.append(ratios[0].ratio)
        return ratios[0].ci95[0] > 1.5

    rounds = run_rounds([m.arm(0), m.arm(1)], RoundRule(min_rounds=6, ci_rel=1e-6), m.clock, decided=decided)
    assert rounds.stop_reason == "decided" and rounds.n_rounds == 6 and len(calls) == 1

    slow = Machine([0.2, 0.2])
    rounds = run_rounds([slow.arm(0), slow.arm(1)], RoundRule(max_time=3.0), slow.clock)
    # The time limit stops it, but not before the six rounds a 95% interval needs.
    assert rounds.stop_reason == "max_time" and rounds.n_rounds == 6
    assert not math.isnan(rounds.ratio(0, 1).ci95[0])


def test_reentered_arms_warm_up_each_window_and_say_so():
    m = Machine([1e-3, 1e-3])
    rounds = run_rounds(
        [m.arm(0, fresh=True), m.arm(1, fresh=True)], RoundRule(min_rounds=6, max_rounds=6), m.clock, resident=False
    )
    assert m.entries == [7, 7]  # the first entry plus one per round
    assert any("A-B-A-B" in n for n in rounds.notes)


def test_tail_statistics_need_longer_windows():
    m = Machine([1e-3, 1e-3])
    rounds = run_rounds(
        [m.arm(0), m.arm(1)], RoundRule(min_rounds=6, max_rounds=6, statistic="p99", window_s=0.001), m.clock
    )
    assert min(rounds.arms[0].round_sizes) >= 100


@pytest.mark.parametrize(
    "kwargs",
    [dict(statistic="p75"), dict(min_rounds=3), dict(max_rounds=4), dict(ci_rel=0), dict(max_time=-1)],
)
def test_bad_round_rules_are_refused(kwargs):
    with pytest.raises(InputError):
        RoundRule(**kwargs)


def test_one_arm_is_measured_in_rounds_too():
    m = Machine([1e-3])
    rounds = run_rounds([m.arm(0)], RoundRule(min_rounds=6, ci_rel=0.005), m.clock)
    assert rounds.stop_reason == "ci" and rounds.n_rounds >= 6
    with pytest.raises(InputError):
        run_rounds([], RoundRule(), m.clock)


def test_round_figures_of_another_statistic_need_long_enough_windows():
    from nnspeed.gate.check import round_values
    from nnspeed.measure.measurement import Measurement

    def m(sizes):
        samples = tuple(float(x) for n in sizes for x in np.linspace(1.0, 2.0, n))
        info = {"statistic": "p50", "round_values_ms": [1.5] * len(sizes), "round_sizes": sizes}
        return Measurement(
            "zoo:x", "torch-eager", "fp32", "fp32", 1, 1, "cpu", samples, 1.0, 50.0, extra={"interleave": info}
        )

    assert round_values(m([5] * 8), "p50") == [1.5] * 8
    assert round_values(m([5] * 8), "p99") is None  # a p99 of five calls is their largest
    assert round_values(m([200] * 8), "p99") == pytest.approx([np.percentile(np.linspace(1, 2, 200), 99)] * 8)
