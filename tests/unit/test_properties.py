"""Properties of the statistics that must hold on any latency samples, heavy tails and stalls
included: percentiles ordered, every interval around its estimate, ratios that invert when
the arms are swapped, and a median interval that covers the true median as often as it says.

Hypothesis runs derandomized (the same examples on every run) and keeps no example database,
so CI sees the same cases as a laptop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binom, norm

from nnspeed.measure.changepoints import MIN_SEGMENT, change_points
from nnspeed.measure.compare import compare_rounds_apart, compare_samples, from_rounds, verdict
from nnspeed.measure.contention import contention_warning
from nnspeed.measure.paired import (
    MIN_ROUNDS,
    hodges_lehmann,
    paired_ratio,
    signed_rank_cdf,
    window_statistic,
)
from nnspeed.measure.stats import (
    FEW_SAMPLES,
    NOISY_IQR_RATIO,
    budget_stats,
    ci_half_width_rel,
    median_ci,
    noise_warnings,
    summarize,
)
from nnspeed.measure.stoprule import StopRule

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FEW = settings(PROPERTY, max_examples=25)  # for properties that bootstrap

REL = 1e-9  # floating-point slack where a property holds exactly on paper

# --- generated latency samples (ms) ------------------------------------------------------------

KINDS = ("lognormal", "pareto", "stalls", "ties", "block", "constant")


def _draw(kind: str, n: int, seed: int, scale: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "lognormal":  # skewed, sigma up to 1.5 (p99 ~ 30x the median)
        x = rng.lognormal(0.0, rng.uniform(0.05, 1.5), n)
    elif kind == "pareto":  # heavy tail, infinite variance below shape 2
        x = 1.0 + rng.pareto(rng.uniform(0.8, 3.0), n)
    elif kind == "stalls":  # steady calls with a few huge ones (GC, page faults, preemption)
        x = rng.lognormal(0.0, 0.1, n)
        stalled = rng.random(n) < rng.uniform(0.0, 0.1)
        x[stalled] *= rng.uniform(20.0, 1000.0, int(stalled.sum()))
    elif kind == "ties":  # a coarse timer: a handful of distinct values
        x = np.round(rng.lognormal(0.0, 0.3, n) * 4.0) / 4.0 + 0.25
    elif kind == "block":  # calls too short to time alone: block means on a 1 ns clock
        block = int(rng.integers(2, 1000))
        per_call_ns = rng.lognormal(np.log(800.0), 0.2, (n, block)).sum(axis=1)
        x = np.round(per_call_ns) / block * 1e-6
    else:
        x = np.full(n, 1.0)
    return x * scale


@st.composite
def samples(draw, min_size: int = 1, max_size: int = 2000) -> np.ndarray:
    """Latency samples in ms: a generated distribution, or a short hand-shrinkable list."""
    if draw(st.booleans()):
        values = draw(
            st.lists(
                st.one_of(
                    st.sampled_from([0.5, 1.0, 1.0, 2.0, 1000.0]),  # ties and a stall
                    st.floats(min_value=1e-4, max_value=1e4, allow_nan=False, allow_infinity=False),
                ),
                min_size=min_size,
                max_size=min(max_size, 60),
            )
        )
        return np.asarray(values, dtype=float)
    kind = draw(st.sampled_from(KINDS))
    n = draw(st.integers(min_size, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 37.0]))
    return _draw(kind, n, seed, scale)


scales = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)

# --- summarize ---------------------------------------------------------------------------------


@PROPERTY
@given(samples())
def test_summary_percentiles_are_ordered_and_the_ci_holds_the_median(x):
    s = summarize(x)
    assert s.n == x.size
    assert s.min <= s.p50 <= s.p90 <= s.p99 <= s.p999 <= s.max
    assert s.iqr >= 0 and s.std >= 0
    assert s.min * (1 - REL) <= s.mean <= s.max * (1 + REL)
    lo, hi = s.ci95
    if s.n < 6:
        assert math.isnan(lo) and math.isnan(hi)
    else:
        assert s.min <= lo <= s.p50 <= hi <= s.max
        assert lo in x and hi in x  # order statistics, no interpolation
    d = s.to_dict()
    assert d["ci95"] == list(s.ci95) or s.n < 6


@PROPERTY
@given(samples(min_size=6), scales)
def test_summary_scales_with_the_samples(x, c):
    a, b = summarize(x), summarize(x * c)
    for name in ("mean", "p50", "p90", "p99", "p999", "min", "max", "iqr"):
        assert getattr(b, name) == pytest.approx(c * getattr(a, name), rel=1e-9, abs=1e-12)
    assert b.ci95 == pytest.approx((c * a.ci95[0], c * a.ci95[1]), rel=1e-9)
    assert ci_half_width_rel(x * c) == pytest.approx(ci_half_width_rel(x), rel=1e-9)


@PROPERTY
@given(samples())
def test_noise_warnings_say_what_the_figures_show(x):
    s = summarize(x)
    warned = noise_warnings(s)
    assert any(w.startswith(f"only {s.n} samples") for w in warned) == (s.n < FEW_SAMPLES)
    assert any(w.startswith("noisy run") for w in warned) == (s.p50 > 0 and s.iqr / s.p50 > NOISY_IQR_RATIO)
    assert not any(w.startswith("noisy run") for w in noise_warnings(s, spread=False))


@PROPERTY
@given(samples(), st.floats(min_value=1e-4, max_value=1e5), st.floats(min_value=1.0, max_value=100.0))
def test_budget_stats_are_consistent(x, budget, wider):
    b = budget_stats(x, budget)
    p99 = float(np.percentile(x, 99))
    assert 0.0 <= b.miss_rate <= 1.0
    assert b.miss_rate == pytest.approx(float(np.mean(x > budget)))
    assert b.max_fps * p99 == pytest.approx(1000.0)
    assert (b.headroom >= 0) == (p99 <= budget)
    assert budget_stats(x, budget * wider).miss_rate <= b.miss_rate  # a larger budget misses less
    assert budget_stats(x, float(x.max())).miss_rate == 0.0


@PROPERTY
@given(samples(min_size=6))
def test_median_ci_is_the_binomial_order_statistic_interval(x):
    """[x_(k), x_(n-k+1)] with k the largest rank whose binomial tail keeps 95% (exact)."""
    n = x.size
    k = int(binom.ppf(0.025, n, 0.5))  # P(B <= k - 1) <= 0.025 < P(B <= k)
    if binom.cdf(k, n, 0.5) <= 0.025:
        k += 1
    assert 1 - 2 * binom.cdf(k - 1, n, 0.5) >= 0.95
    s = np.sort(x)
    assert median_ci(x) == (s[k - 1], s[n - k]) == summarize(x).ci95


# --- coverage of the median's interval ---------------------------------------------------------

STALL_SHARE = 0.05


def _lognormal(rng, n):
    return rng.lognormal(0.0, 1.0, n)  # true median exp(0) = 1


def _with_stalls(rng, n):
    x = rng.lognormal(0.0, 0.3, n)
    stalled = rng.random(n) < STALL_SHARE
    x[stalled] += rng.uniform(20.0, 100.0, int(stalled.sum()))  # far above every steady call
    return x


TRUE_MEDIAN = {
    "lognormal": 1.0,
    # Stalls are all above the steady calls: the median is the steady calls' 0.5/0.95 quantile.
    "stalls": math.exp(0.3 * norm.ppf(0.5 / (1 - STALL_SHARE))),
}
DRAW = {"lognormal": _lognormal, "stalls": _with_stalls}
COVERAGE_SEED = 35
COVERAGE_TRIALS = 1000


# Measured with seed 35, 1000 trials a case (Monte Carlo standard error ~0.006); the exact
# confidence of the order-statistic interval, the same for any continuous distribution, below:
#   lognormal sigma 1        n=20 0.954  n=50 0.967  n=200 0.959  n=1000 0.960
#   5% stalls of +20-100 ms  n=20 0.962  n=50 0.965  n=200 0.954  n=1000 0.964
#   exact                    n=20 0.959  n=50 0.967  n=200 0.960  n=1000 0.954
@pytest.mark.parametrize("n", [20, 50, 200, 1000])
@pytest.mark.parametrize("dist", ["lognormal", "stalls"])
def test_median_ci_covers_the_true_median_on_skewed_samples(dist, n):
    rng = np.random.default_rng(COVERAGE_SEED)
    truth = TRUE_MEDIAN[dist]
    hits = 0
    for _ in range(COVERAGE_TRIALS):
        lo, hi = summarize(DRAW[dist](rng, n)).ci95
        hits += lo <= truth <= hi
    assert hits / COVERAGE_TRIALS >= 0.93, f"{dist} n={n}: covered {hits / COVERAGE_TRIALS:.3f}"


# --- the paired ratio of interleaved rounds ----------------------------------------------------


@st.composite
def rounds(draw, min_rounds: int = 1, max_rounds: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Per-round figures of two arms: a shared drift per round (which the pairing cancels),
    a true ratio, noise and the odd stalled window in either arm."""
    n = draw(st.integers(min_rounds, max_rounds))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ratio = draw(st.floats(min_value=0.2, max_value=5.0))
    drift = rng.lognormal(0.0, draw(st.sampled_from([0.0, 0.05, 0.5])), n)
    noise = draw(st.sampled_from([0.0, 0.01, 0.2]))
    a = 1e-3 * drift * rng.lognormal(0.0, noise, n)
    b = 1e-3 * ratio * drift * rng.lognormal(0.0, noise, n)
    for arm in (a, b):
        arm[rng.random(n) < draw(st.sampled_from([0.0, 0.1]))] *= 30.0
    if draw(st.booleans()):  # a coarse clock: ties between rounds and between arms
        a, b = np.round(a, 4) + 1e-4, np.round(b, 4) + 1e-4
    return a, b


@PROPERTY
@given(rounds())
def test_swapping_the_arms_inverts_the_paired_ratio_and_its_interval(ab):
    a, b = ab
    r, s = paired_ratio(a, b), paired_ratio(b, a)
    assert r.ratio * s.ratio == pytest.approx(1.0, rel=REL)
    assert r.rounds == s.rounds and (r.coverage == s.coverage or math.isnan(r.coverage))
    if r.rounds < MIN_ROUNDS:
        assert all(math.isnan(v) for v in (*r.ci95, *s.ci95))
        return
    assert r.ci95[0] == pytest.approx(1.0 / s.ci95[1], rel=REL)
    assert r.ci95[1] == pytest.approx(1.0 / s.ci95[0], rel=REL)
    inv = s.inverted()
    assert inv.ratio == pytest.approx(r.ratio, rel=REL) and inv.ci95 == pytest.approx(r.ci95, rel=REL)


@PROPERTY
@given(rounds(min_rounds=MIN_ROUNDS))
def test_the_paired_interval_holds_its_ratio_at_95_percent(ab):
    a, b = ab
    r = paired_ratio(a, b)
    lo, hi = r.ci95
    assert 0 < lo <= r.ratio <= hi
    assert 0.95 <= r.coverage <= 1.0
    assert r.half_width_rel >= 0
    c = from_rounds("k", r, 1.0, 1.0)  # the speedup of b over a: time a / time b
    assert c.speedup == pytest.approx(1.0 / r.ratio, rel=REL)
    assert c.ci95[0] <= c.speedup <= c.ci95[1]
    assert c.verdict == verdict(c.speedup, *c.ci95, floor=0.0)


@PROPERTY
@given(rounds(), scales)
def test_scaling_both_arms_leaves_the_paired_ratio_unchanged(ab, c):
    a, b = ab
    r, s = paired_ratio(a, b), paired_ratio(a * c, b * c)
    assert s.ratio == pytest.approx(r.ratio, rel=1e-9)
    assert s.ci95 == pytest.approx(r.ci95, rel=1e-9, nan_ok=True)


@PROPERTY
@given(rounds())
def test_identical_arms_give_one_inside_the_interval(ab):
    a, _ = ab
    r = paired_ratio(a, a.copy())
    assert r.ratio == 1.0
    if r.rounds >= MIN_ROUNDS:
        assert r.ci95 == (1.0, 1.0)
    c = compare_rounds_apart("k", a, a.copy())
    assert c.speedup == 1.0
    if not math.isnan(c.ci95[0]):
        assert c.ci95[0] <= 1.0 <= c.ci95[1] and c.verdict == "same"


@PROPERTY
@given(
    st.lists(st.floats(min_value=-3.0, max_value=3.0), min_size=1, max_size=40),
    st.floats(min_value=-2.0, max_value=2.0),
)
def test_hodges_lehmann_moves_with_the_data(d, shift):
    d = np.asarray(d)
    est, lo, hi, cov = hodges_lehmann(d)
    est2, lo2, hi2, cov2 = hodges_lehmann(d + shift)
    assert est2 == pytest.approx(est + shift, abs=1e-9)
    assert (lo2, hi2) == pytest.approx((lo + shift, hi + shift), abs=1e-9, nan_ok=True)
    neg = hodges_lehmann(-d)
    assert neg[0] == pytest.approx(-est, abs=1e-12)
    assert (neg[1], neg[2]) == pytest.approx((-hi, -lo), abs=1e-12, nan_ok=True)
    if d.size >= MIN_ROUNDS:
        assert d.min() <= lo <= est <= hi <= d.max() and cov == cov2 >= 0.95


@pytest.mark.parametrize("n", range(1, 41))
def test_signed_rank_distribution(n):
    cdf = signed_rank_cdf(n)
    total = n * (n + 1) // 2
    assert cdf.size == total + 1 and cdf[-1] == pytest.approx(1.0)
    assert np.all(np.diff(cdf) >= 0) and cdf[0] == pytest.approx(0.5**n)
    # Symmetric about n(n+1)/4: P(T <= t) = P(T >= total - t) = 1 - P(T <= total - t - 1).
    assert np.allclose(cdf[:-1], 1.0 - cdf[::-1][1:])


# --- comparisons of runs measured apart --------------------------------------------------------


@FEW
@given(samples(min_size=2, max_size=400), samples(min_size=2, max_size=400))
def test_swapping_the_runs_inverts_the_bootstrap_comparison(a, b):
    x, y = compare_samples("k", a, b), compare_samples("k", b, a)
    assert x.speedup * y.speedup == pytest.approx(1.0, rel=REL)
    assert x.ci95[0] == pytest.approx(1.0 / y.ci95[1], rel=1e-9)
    assert x.ci95[1] == pytest.approx(1.0 / y.ci95[0], rel=1e-9)
    assert {x.verdict, y.verdict} in ({"same"}, {"faster", "slower"})


@FEW
@given(samples(min_size=2, max_size=400), samples(min_size=2, max_size=400), scales)
def test_the_bootstrap_comparison_is_unit_free_and_holds_its_estimate(a, b, c):
    x, y = compare_samples("k", a, b), compare_samples("k", a * c, b * c)
    assert y.speedup == pytest.approx(x.speedup, rel=1e-9)
    assert y.ci95 == pytest.approx(x.ci95, rel=1e-9)
    assert x.ci95[0] * (1 - REL) <= x.speedup <= x.ci95[1] * (1 + REL)


@PROPERTY
@given(rounds(min_rounds=3), st.integers(0, 20), scales)
def test_rounds_measured_apart_invert_and_hold_their_estimate(ab, drop, c):
    a, b = ab
    b = b[: max(3, b.size - drop)]  # the runs need not have as many rounds
    x, y = compare_rounds_apart("k", a, b), compare_rounds_apart("k", b, a)
    assert x.speedup * y.speedup == pytest.approx(1.0, rel=REL)
    assert compare_rounds_apart("k", a * c, b * c).speedup == pytest.approx(x.speedup, rel=1e-9)
    if not math.isnan(x.ci95[0]):
        assert x.ci95[0] == pytest.approx(1.0 / y.ci95[1], rel=REL)
        assert x.ci95[0] <= x.speedup <= x.ci95[1]


# --- other pure statistics ---------------------------------------------------------------------


@PROPERTY
@given(samples(min_size=1, max_size=300), st.sampled_from(["p50", "p90", "p99", "mean"]))
def test_a_window_statistic_lies_within_the_window(x, statistic):
    v = window_statistic(x, statistic)
    assert x.min() * (1 - REL) <= v <= x.max() * (1 + REL)


@PROPERTY
@given(
    st.integers(0, 10**6),
    st.floats(min_value=0.0, max_value=100.0),
    st.integers(1, 1000),
    st.integers(0, 10**5),
    st.floats(min_value=0.0, max_value=20.0),
)
def test_the_stop_rule_respects_its_limits(n, elapsed, min_iters, extra, min_time):
    rule = StopRule(min_time=min_time, max_time=min_time + 1.0, min_iters=min_iters, max_iters=min_iters + extra)
    reason = rule.decide(n, elapsed)
    assert reason in (None, "max_iters", "max_time")  # no samples: no CI test
    assert (reason is None) == (n < rule.max_iters and elapsed < rule.max_time)
    tight = np.full(100, 1.0)  # a CI of width 0 stops as soon as the minimums are met
    reason = rule.decide(n, elapsed, tight)
    if n < rule.max_iters and elapsed < rule.max_time:
        assert (reason == "ci") == (n >= rule.min_iters and elapsed >= rule.min_time)


@PROPERTY
@given(
    st.integers(2, 60),
    st.integers(0, 2**32 - 1),
    st.floats(min_value=0.0, max_value=0.02),
    st.floats(min_value=1e-3, max_value=1e3),
)
def test_change_points_are_in_order_inside_the_series_and_large_enough(n, seed, noise, level):
    rng = np.random.default_rng(seed)
    x = level * rng.lognormal(0.0, noise, n)
    k = int(rng.integers(0, n))
    x[k:] *= rng.choice([1.0, 1.5, 0.5])
    found = change_points(x)
    idx = [c["index"] for c in found]
    assert idx == sorted(set(idx))
    assert all(MIN_SEGMENT <= i <= n - MIN_SEGMENT for i in idx)
    assert all(abs(math.log(c["ratio"])) >= math.log1p(0.05) - 1e-12 for c in found)
    assert change_points(np.full(n, level)) == []


@PROPERTY
@given(
    st.integers(1, 64),
    st.integers(1, 64),
    st.floats(min_value=0.0, max_value=64.0),
    st.floats(min_value=0.0, max_value=64.0),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_contention_warnings_grow_with_the_load_of_others(cores, threads, other, more, unc):
    def fig(o):
        return {"cores": cores, "threads": threads, "other_cores": o, "uncertainty_cores": unc, "load1": None}

    assert contention_warning(fig(0.0)) is None  # nobody else ran: the threads fit
    if contention_warning(fig(other)) is not None:
        assert contention_warning(fig(other + more)) is not None
        w = contention_warning(fig(other))
        assert w is not None and ("try --threads" in w or "quieter machine" in w)
