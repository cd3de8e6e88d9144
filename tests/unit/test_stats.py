import math

import numpy as np
import pytest

from nnspeed.measure.compare import compare_samples, verdict
from nnspeed.measure.stats import budget_stats, ci_half_width_rel, median_ci, noise_warnings, summarize


def test_summarize_known_values():
    s = summarize(np.arange(1, 101, dtype=float))
    assert s.n == 100
    assert s.mean == pytest.approx(50.5)
    assert s.p50 == pytest.approx(50.5)
    assert s.p90 == pytest.approx(90.1)
    assert s.p99 == pytest.approx(99.01)
    assert s.iqr == pytest.approx(49.5)
    assert s.min == 1 and s.max == 100
    lo, hi = s.ci95
    assert lo < 50.5 < hi
    # Binomial order statistics for n=100 at 95%: the 40th and 61st values.
    assert (lo, hi) == (40.0, 61.0)


def test_median_ci_undefined_for_tiny_samples():
    assert all(math.isnan(x) for x in median_ci([1.0, 2.0, 3.0]))
    assert ci_half_width_rel([1.0, 2.0]) == math.inf


def test_median_ci_narrows_with_more_samples():
    rng = np.random.default_rng(0)
    small = ci_half_width_rel(rng.lognormal(0, 0.2, 100))
    large = ci_half_width_rel(rng.lognormal(0, 0.2, 10_000))
    assert large < small / 5


def test_noise_warnings():
    quiet = summarize(np.full(100, 1.0) + np.linspace(0, 0.01, 100))
    assert noise_warnings(quiet) == []
    noisy = summarize(np.linspace(1.0, 3.0, 100))
    assert any("noisy" in w for w in noise_warnings(noisy))
    assert any("only 5 samples" in w for w in noise_warnings(summarize([1.0] * 5)))


def test_budget_stats():
    x = np.array([10.0] * 98 + [40.0, 50.0])
    b = budget_stats(x, 33.3)
    assert b.miss_rate == pytest.approx(0.02)
    assert b.max_fps == pytest.approx(1000 / np.percentile(x, 99))
    assert b.headroom < 0
    ok = budget_stats(np.full(100, 20.0), 40.0)
    assert ok.miss_rate == 0 and ok.headroom == pytest.approx(0.5) and ok.max_fps == pytest.approx(50)


def test_compare_detects_speedup_and_sameness():
    rng = np.random.default_rng(1)
    base = rng.lognormal(np.log(10), 0.05, 2000)
    fast = rng.lognormal(np.log(5), 0.05, 2000)
    c = compare_samples("k", base, fast)
    assert c.verdict == "faster"
    assert c.ci95[0] < c.speedup < c.ci95[1]
    assert 1.9 < c.speedup < 2.1
    same = compare_samples("k", base, rng.lognormal(np.log(10), 0.05, 2000))
    assert same.verdict == "same"
    assert compare_samples("k", fast, base).verdict == "slower"


def test_verdict_needs_practical_difference():
    assert verdict(1.01, 1.005, 1.015) == "same"  # significant but below the noise floor
    assert verdict(1.10, 1.05, 1.15) == "faster"
    assert verdict(0.8, 0.75, 0.85) == "slower"
    assert verdict(1.10, 0.95, 1.25) == "same"


def test_prediction_share_interval():
    from nnspeed.prediction.evaluate import share_ci, summarize_errors

    assert share_ci(90, 100) == pytest.approx([0.8256, 0.9448], abs=1e-3)  # Wilson, 95%
    lo, hi = share_ci(0, 10)
    assert lo == 0 and 0.2 < hi < 0.35
    rows = [{"arch": {"family": "mlp"}, "error": e} for e in [0.01, -0.04, 0.08, -0.2, 0.3]]
    s = summarize_errors(rows)
    assert s["within_5pct"] == pytest.approx(0.4) and s["within_10pct"] == pytest.approx(0.6)
    assert s["within_10pct_ci"][0] < 0.6 < s["within_10pct_ci"][1]


def test_evaluation_warns_when_the_rounds_disagree():
    from nnspeed.prediction.evaluate import noise_notes, repeatability

    def rows(spreads):
        return [{"measured_ms": 1.0, "rounds_ms": [1.0 - s, 1.0, 1.0 + s]} for s in spreads]

    quiet = repeatability(rows([0.01, 0.02, 0.03, 0.2]))
    assert quiet["median_spread"] == pytest.approx(0.025) and noise_notes(quiet) == []
    noisy = repeatability(rows([0.01, 0.12, 0.15, 0.2]))
    assert quiet["within_5pct"] == 0.75 and noisy["within_5pct"] == 0.25
    (note,) = noise_notes(noisy)
    assert "noisy" in note and "14%" in note
