"""The ratio of two arms measured in the same rounds: pure functions of per-round figures.

Each round measured both arms close together in time, so whatever slowed the machine during
that round slowed both: the per-round log ratio ``log(b_r / a_r)`` cancels drift that hits
both arms, and drift that does not shows up as spread between rounds.  The ratio is the
Hodges–Lehmann estimate of those log ratios (the median of their pairwise means) and its
interval the Wilcoxon signed-rank interval: distribution-free, robust to a stalled round,
and exact for the round counts used here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
# Fewer rounds than this cannot bound a ratio at 95% with a signed-rank interval (with 5
# rounds the widest interval, min to max, covers only 93.75%).
MIN_ROUNDS = 6
METHOD = "interleaved rounds: Hodges-Lehmann ratio, Wilcoxon signed-rank 95% CI"


@dataclass(frozen=True)
class RatioInterval:
    """``ratio`` = b / a of the per-round statistic, with its 95% interval."""

    ratio: float
    ci95: tuple[float, float]
    rounds: int
    coverage: float  # the interval's exact confidence (≥ CONFIDENCE), nan when undefined

    @property
    def half_width_rel(self) -> float:
        lo, hi = self.ci95
        if math.isnan(lo) or not self.ratio:
            return math.inf
        return (hi - lo) / 2.0 / self.ratio

    def inverted(self) -> RatioInterval:
        """The same interval read as a / b."""
        lo, hi = self.ci95
        return RatioInterval(1.0 / self.ratio, (1.0 / hi, 1.0 / lo), self.rounds, self.coverage)


def signed_rank_cdf(n: int) -> np.ndarray:
    """P(T+ ≤ t) for t = 0 … n(n+1)/2 under the null: each rank's sign a fair coin."""
    total = n * (n + 1) // 2
    p = np.zeros(total + 1)
    p[0] = 1.0
    for k in range(1, n + 1):
        shifted = np.zeros_like(p)
        shifted[k:] = p[:-k]
        p = 0.5 * (p + shifted)
    return np.cumsum(p)


def walsh_averages(d: np.ndarray) -> np.ndarray:
    """Every pairwise mean (d_i + d_j) / 2 with i ≤ j, sorted."""
    i, j = np.triu_indices(d.size)
    return np.sort((d[i] + d[j]) / 2.0)


def hodges_lehmann(d, confidence: float = CONFIDENCE) -> tuple[float, float, float, float]:
    """(estimate, low, high, exact coverage) of the centre of ``d``; nan bounds below MIN_ROUNDS."""
    d = np.asarray(d, dtype=float)
    if d.size == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    w = walsh_averages(d)
    est = float(np.median(w))
    if d.size < MIN_ROUNDS:
        return (est, math.nan, math.nan, math.nan)
    cdf = signed_rank_cdf(d.size)
    alpha = 1.0 - confidence
    # The k-th smallest and k-th largest Walsh averages bound the centre with confidence
    # 1 - 2 P(T+ ≤ k - 1); k is the largest rank that keeps that at least `confidence`.
    k = int(np.searchsorted(cdf, alpha / 2.0, side="right"))
    k = max(1, k)
    return (est, float(w[k - 1]), float(w[w.size - k]), float(1.0 - 2.0 * cdf[k - 1]))


def paired_ratio(a, b, confidence: float = CONFIDENCE) -> RatioInterval:
    """b / a from per-round figures of two arms (same rounds, same order), with its CI."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired figures need one value per round for each arm ({a.size} and {b.size} given)")
    keep = (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b)
    d = np.log(b[keep]) - np.log(a[keep])
    est, lo, hi, coverage = hodges_lehmann(d, confidence)
    return RatioInterval(
        math.exp(est) if not math.isnan(est) else math.nan, (math.exp(lo), math.exp(hi)), int(d.size), coverage
    )


STATISTICS = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "mean": None}
# Timed samples a window needs before its statistic means anything: a p99 of 20 calls is
# its largest value, not a tail.
WINDOW_SAMPLES = {"p50": 5, "mean": 5, "p90": 20, "p99": 100}


def window_statistic(samples, statistic: str) -> float:
    """One window's figure: its median, mean or tail percentile."""
    x = np.asarray(samples, dtype=float)
    q = STATISTICS[statistic]
    return float(x.mean()) if q is None else float(np.percentile(x, q))
