"""Statistics of latency samples: pure functions of the raw samples, nothing else."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# IQR/median above this marks a run as noisy.
NOISY_IQR_RATIO = 0.10
# Fewer samples than this give percentiles that are mostly interpolation.
FEW_SAMPLES = 20
CONFIDENCE = 0.95


@dataclass(frozen=True)
class LatencyStats:
    """Latency summary in milliseconds."""

    n: int
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float
    std: float
    iqr: float
    min: float
    max: float
    ci95: tuple[float, float]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci95"] = list(self.ci95)
        return d

    def of(self, statistic: str) -> float:
        """The figure a comparison is made on: p50, p90, p99 or mean."""
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99, "mean": self.mean}[statistic]


def median_ci(samples, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Distribution-free confidence interval of the median (binomial order statistics).

    Latency samples are skewed and often multi-modal, so no normal approximation is used:
    scipy's quantile test inverts the exact binomial test on order statistics.  Fewer than
    six samples cannot bound the median at 95%, and give (nan, nan).
    """
    x = np.asarray(samples, dtype=float)
    if x.size < 6:
        return (math.nan, math.nan)
    from scipy.stats import quantile_test

    ci = quantile_test(x, q=float(np.median(x)), p=0.5).confidence_interval(confidence)
    return (float(ci.low), float(ci.high))


def ci_half_width_rel(samples) -> float:
    """Half the width of the median's CI, relative to the median (inf when undefined)."""
    x = np.asarray(samples, dtype=float)
    med = float(np.median(x)) if x.size else 0.0
    lo, hi = median_ci(x)
    if not med or math.isnan(lo):
        return math.inf
    return (hi - lo) / 2.0 / med


def summarize(samples_ms) -> LatencyStats:
    """Mean, percentiles, spread and the median's 95% CI of per-call latencies (ms)."""
    x = np.asarray(samples_ms, dtype=float)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    p25, p50, p75, p90, p99, p999 = np.percentile(x, [25, 50, 75, 90, 99, 99.9])
    return LatencyStats(
        n=int(x.size),
        mean=float(x.mean()),
        p50=float(p50),
        p90=float(p90),
        p99=float(p99),
        p999=float(p999),
        std=float(x.std(ddof=1)) if x.size > 1 else 0.0,
        iqr=float(p75 - p25),
        min=float(x.min()),
        max=float(x.max()),
        ci95=median_ci(x),
    )


def noise_warnings(stats: LatencyStats, spread: bool = True) -> list[str]:
    """Plain-language warnings about how far these numbers can be trusted (``spread``: also
    warn when the IQR is wide, which under load is the queueing, not noise)."""
    out = []
    if stats.n < FEW_SAMPLES:
        out.append(f"only {stats.n} samples: tail percentiles are interpolated; raise --max-time for more")
    if spread and stats.p50 > 0 and stats.iqr / stats.p50 > NOISY_IQR_RATIO:
        out.append(
            f"noisy run: IQR is {100 * stats.iqr / stats.p50:.0f}% of the median "
            "(other load on the machine, frequency scaling or too many threads)"
        )
    return out


@dataclass(frozen=True)
class BudgetStats:
    """How a latency distribution sits against a per-call budget (a frame time)."""

    ms: float
    miss_rate: float
    max_fps: float
    headroom: float

    def to_dict(self) -> dict:
        return asdict(self)


def budget_stats(samples_ms, budget_ms: float) -> BudgetStats:
    """Share of calls over budget, the highest call rate with ≤1% misses, and the headroom.

    ``max_fps`` is 1000 / p99: one call after another, 99% of them fit in that frame time.
    ``headroom`` is the share of the budget left at p99 (negative when p99 is over budget).
    """
    x = np.asarray(samples_ms, dtype=float)
    p99 = float(np.percentile(x, 99))
    return BudgetStats(
        ms=float(budget_ms),
        miss_rate=float(np.mean(x > budget_ms)),
        max_fps=1000.0 / p99 if p99 > 0 else math.inf,
        headroom=1.0 - p99 / budget_ms,
    )
