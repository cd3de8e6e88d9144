"""What counts as a regression: a statistic, a threshold, and the rule that decides.

The grammar is pytest-benchmark's ``--benchmark-compare-fail``: ``STAT:N%`` (``p50:5%``),
several separated by commas.  A regression is proven, not suspected: the candidate is slower
beyond the threshold with its whole 95% interval past it.  An interval that straddles the
threshold is *inconclusive* and does not fail the gate; it says what would settle it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..errors import InputError
from ..measure.paired import STATISTICS

REGRESSION, WITHIN, INCONCLUSIVE, FASTER = "regression", "within", "inconclusive", "faster"


def parse_threshold(text: str, option: str = "--max-slowdown") -> float:
    """``5%`` or ``5`` → 0.05: a slowdown in percent, ≥ 0."""
    raw = str(text).strip()
    number = raw[:-1] if raw.endswith("%") else raw
    try:
        value = float(number)
    except ValueError:
        raise InputError(f"{option} takes a percentage such as 5%, got '{raw}'") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{option} must be a slowdown of 0% or more, got '{raw}'; e.g. {option} 5%")
    return value / 100.0


def check_statistic(stat: str, option: str = "--stat") -> str:
    if stat not in STATISTICS:
        raise InputError(f"unknown {option} '{stat}'; use one of {', '.join(STATISTICS)}")
    return stat


@dataclass(frozen=True)
class Condition:
    statistic: str
    max_slowdown: float  # a fraction: 0.05 is 5%

    def describe(self) -> str:
        return f"{self.statistic}:{100 * self.max_slowdown:g}%"

    def to_dict(self) -> dict:
        return asdict(self)


def parse_conditions(text: str, option: str = "--nnspeed-fail") -> list[Condition]:
    """``p50:5%,p99:10%`` → conditions, each statistic at most once."""
    out: list[Condition] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        stat, sep, thr = part.partition(":")
        if not sep:
            raise InputError(f"{option} takes STAT:N% items such as p50:5%, got '{part}'")
        c = Condition(check_statistic(stat.strip(), option), parse_threshold(thr, option))
        if any(o.statistic == c.statistic for o in out):
            raise InputError(f"{option} names {c.statistic} twice; give each statistic once")
        out.append(c)
    if not out:
        raise InputError(f"{option} needs at least one STAT:N% item, e.g. p50:5%")
    return out


def decide(ratio: float, ci95: tuple[float, float], max_slowdown: float) -> str:
    """The verdict on a time ratio candidate / baseline (> 1: the candidate is slower)."""
    lo, hi = ci95
    limit = 1.0 + max_slowdown
    if math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    if lo > limit:
        return REGRESSION
    if hi < 1.0:
        return FASTER
    if hi <= limit:
        return WITHIN
    return INCONCLUSIVE


def settled(ci95: tuple[float, float], max_slowdown: float) -> bool:
    """Whether more rounds could still change the verdict: not once the interval lies wholly
    on one side of the threshold."""
    lo, hi = ci95
    limit = 1.0 + max_slowdown
    return not math.isnan(lo) and (lo > limit or hi <= limit)
