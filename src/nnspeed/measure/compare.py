"""A comparison is a ratio with a confidence interval, not two numbers side by side."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .paired import METHOD

# Two runs measured apart: the within-run CI ignores the drift between them (a few percent on
# a shared machine), so a speedup smaller than this is called "same" even when the interval
# excludes 1.  Interleaved comparisons need no floor: their interval sees the drift.
NOISE_FLOOR = 0.02
UNPAIRED = "measured apart: bootstrap of the samples inside each run (blind to drift between them)"
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
    method: str = UNPAIRED
    rounds: int | None = None  # interleaved: rounds whose paired ratios give the interval
    statistic: str = "p50"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci95"] = list(self.ci95)
        return d


def verdict(speedup: float, lo: float, hi: float, floor: float = NOISE_FLOOR) -> str:
    if lo > 1.0 and speedup >= 1.0 + floor:
        return "faster"
    if hi < 1.0 and speedup <= 1.0 / (1.0 + floor):
        return "slower"
    return "same"


def from_rounds(
    key: str, candidate_over_baseline, baseline_ms: float, candidate_ms: float, statistic: str = "p50"
) -> Comparison:
    """The Comparison of an interleaved measurement: ``candidate_over_baseline`` is the
    paired ratio of per-round figures (a ``RatioInterval``, time of candidate / baseline)."""
    s = candidate_over_baseline.inverted()
    lo, hi = s.ci95
    return Comparison(
        key,
        s.ratio,
        (lo, hi),
        verdict(s.ratio, lo, hi, floor=0.0),
        baseline_ms,
        candidate_ms,
        method=METHOD,
        rounds=s.rounds,
        statistic=statistic,
    )


def _resampled_medians(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Medians of bootstrap resamples of ``x``: row ``r`` draws ``x.size`` values at the
    positions ``u[r, :x.size]`` (uniform in [0, 1)) point to."""
    idx = np.minimum((u[:, : x.size] * x.size).astype(np.intp), x.size - 1)
    return np.median(x[idx], axis=1)


def bootstrap_log_ratios(
    a: np.ndarray, b: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> np.ndarray:
    """Bootstrap replicates of log(median(a) / median(b)), the arms resampled independently.

    Each pair of uniform draws ``u``, ``v`` gives two replicates, ``a`` at ``u`` over ``b`` at
    ``v`` and ``a`` at ``v`` over ``b`` at ``u``, so the draws do not depend on which arm is
    given first: swapping the arms negates every replicate, and the interval of b / a is the
    reciprocal of the interval of a / b.
    """
    rng = np.random.default_rng(seed)
    width = max(a.size, b.size)
    batch = max(1, 1_000_000 // width)
    half = max(1, resamples // 2)
    out = []
    for start in range(0, half, batch):
        m = min(batch, half - start)
        u = rng.random((m, width))
        v = rng.random((m, width))
        with np.errstate(divide="ignore"):
            out.append(np.log(_resampled_medians(a, u)) - np.log(_resampled_medians(b, v)))
            out.append(np.log(_resampled_medians(a, v)) - np.log(_resampled_medians(b, u)))
    return np.concatenate(out)


def compare_samples(key: str, baseline_ms, candidate_ms, seed: int = 0) -> Comparison:
    """Speedup of the candidate over the baseline with a bootstrap 95% CI of the median ratio
    (percentile interval of the log ratio, so that swapping the arms inverts the interval)."""
    a = np.asarray(baseline_ms, dtype=float)
    b = np.asarray(candidate_ms, dtype=float)
    point = float(np.median(a) / np.median(b))
    if min(a.size, b.size) < 2:
        lo = hi = float("nan")
    else:
        alpha = 1.0 - CONFIDENCE
        q = np.quantile(bootstrap_log_ratios(a, b, seed), [alpha / 2, 1 - alpha / 2])
        lo, hi = float(np.exp(q[0])), float(np.exp(q[1]))
    return Comparison(key, point, (lo, hi), verdict(point, lo, hi), float(np.median(a)), float(np.median(b)))


ROUNDS_APART = (
    "runs measured apart: Hodges-Lehmann ratio of their per-round figures, Mann-Whitney 95% CI "
    "(sees drift within each run, not a shift between them)"
)


def compare_rounds_apart(key: str, baseline_rounds, candidate_rounds, statistic: str = "p50") -> Comparison:
    """Two runs measured at different times, each in rounds: the two-sample Hodges-Lehmann
    ratio of their per-round figures with the Mann-Whitney interval (normal approximation).

    Better than a bootstrap of per-call samples, which sees only the noise inside one stretch
    of time; still blind to a shift that lasted the whole of either run."""
    from scipy.stats import norm

    a = np.log(np.asarray(baseline_rounds, dtype=float))
    b = np.log(np.asarray(candidate_rounds, dtype=float))
    d = np.sort((b[None, :] - a[:, None]).ravel())
    m, n = a.size, b.size
    est = float(np.median(d))
    half = norm.ppf(0.5 + CONFIDENCE / 2) * np.sqrt(m * n * (m + n + 1) / 12.0)
    k = int(np.floor(m * n / 2.0 - half))
    if m < 3 or n < 3 or k < 1:
        lo_r = hi_r = float("nan")
    else:
        lo_r, hi_r = float(np.exp(d[k - 1])), float(np.exp(d[d.size - k]))
    ratio = float(np.exp(est))  # candidate / baseline time
    speedup, lo, hi = 1.0 / ratio, 1.0 / hi_r, 1.0 / lo_r
    return Comparison(
        key,
        speedup,
        (lo, hi),
        verdict(speedup, lo, hi),
        float(np.exp(np.median(a))),
        float(np.exp(np.median(b))),
        method=ROUNDS_APART,
        rounds=min(m, n),
        statistic=statistic,
    )
