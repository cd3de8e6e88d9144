"""Where a series of stored runs changed speed: binary segmentation of per-run figures.

Each run is one point (its median latency): per-call samples of one run say nothing about the
drift between runs, so a step is judged against the run-to-run spread of the series itself.
A split is kept when the step between the medians of the two sides is at least ``min_change``,
and either a Mann-Whitney test between the sides' runs rejects "no change" (enough runs on
each side) or, with few runs, the step exceeds STEP_OVER_NOISE times the run-to-run noise.
"""

from __future__ import annotations

import math

import numpy as np

MIN_CHANGE = 0.05
ALPHA = 0.01
MIN_SEGMENT = 2
# With fewer runs a side than this a rank test cannot reach ALPHA: the noise rule decides.
RANK_TEST_RUNS = 5
STEP_OVER_NOISE = 3.0


def run_noise(log_values: np.ndarray) -> float:
    """Robust spread of one run to the next: MAD of consecutive differences, as a normal sd."""
    d = np.diff(log_values)
    if d.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def _best_split(x: np.ndarray, lo: int, hi: int) -> tuple[int, float]:
    """The split that explains most of the segment's variance (the CUSUM statistic), and the
    step between the medians of its two sides."""
    best, score = -1, 0.0
    for k in range(lo + MIN_SEGMENT, hi - MIN_SEGMENT + 1):
        n1, n2 = k - lo, hi - k
        s = n1 * n2 / (n1 + n2) * float(np.mean(x[k:hi]) - np.mean(x[lo:k])) ** 2
        if s > score:
            best, score = k, s
    if best < 0:
        return -1, 0.0
    return best, float(np.median(x[best:hi]) - np.median(x[lo:best]))


def change_points(values, min_change: float = MIN_CHANGE, alpha: float = ALPHA) -> list[dict]:
    """Indices where the series steps, with the ratio after/before; in order."""
    from scipy.stats import mannwhitneyu

    x = np.log(np.asarray(values, dtype=float))
    noise = run_noise(x)
    found: list[dict] = []

    def split(lo: int, hi: int) -> None:
        k, step = _best_split(x, lo, hi)
        if k < 0 or math.exp(abs(step)) - 1 < min_change:
            return
        left, right = x[lo:k], x[k:hi]
        if min(left.size, right.size) >= RANK_TEST_RUNS:
            ok = mannwhitneyu(left, right).pvalue < alpha
        else:
            ok = abs(step) > STEP_OVER_NOISE * noise
        if not ok:
            return
        found.append({"index": k, "ratio": math.exp(step)})
        split(lo, k)
        split(k, hi)

    split(0, x.size)
    return sorted(found, key=lambda c: c["index"])
