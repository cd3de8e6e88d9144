"""A comparison is a ratio with a confidence interval, not two numbers side by side."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# A within-run CI ignores run-to-run drift (a few percent on a shared machine), so a speedup
# smaller than this is called "same" even when the interval excludes 1.
NOISE_FLOOR = 0.02
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Comparison:
    key: str
    speedup: float  # baseline median / candidate median: > 1 means the candidate is faster
    ci95: tuple[float, float]
    verdict: str  # faster | slower | same
    baseline_p50_ms: float
    candidate_p50_ms: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci95"] = list(self.ci95)
        return d


def verdict(speedup: float, lo: float, hi: float) -> str:
    if lo > 1.0 and speedup >= 1.0 + NOISE_FLOOR:
        return "faster"
    if hi < 1.0 and speedup <= 1.0 / (1.0 + NOISE_FLOOR):
        return "slower"
    return "same"


def compare_samples(key: str, baseline_ms, candidate_ms, seed: int = 0) -> Comparison:
    """Speedup of the candidate over the baseline with a bootstrap 95% CI of the median ratio."""
    from scipy.stats import bootstrap

    a = np.asarray(baseline_ms, dtype=float)
    b = np.asarray(candidate_ms, dtype=float)
    point = float(np.median(a) / np.median(b))

    def ratio(x, y, axis=-1):
        return np.median(x, axis=axis) / np.median(y, axis=axis)

    if min(a.size, b.size) < 2:
        lo = hi = float("nan")
    else:
        res = bootstrap(
            (a, b),
            ratio,
            n_resamples=BOOTSTRAP_RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            vectorized=True,
            paired=False,
            batch=max(1, 2_000_000 // max(a.size, b.size)),
            rng=np.random.default_rng(seed),
        )
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Comparison(key, point, (lo, hi), verdict(point, lo, hi), float(np.median(a)), float(np.median(b)))
