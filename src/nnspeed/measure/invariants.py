"""What every result must agree with itself on, checked before it is shown or stored.

A figure that contradicts another figure of the same result is worse than a missing one: the
reader cannot tell which to believe.  Each rule here takes figures as a document shows them
and returns the ``Violation``s it finds, with the figures, as one sentence a reader can act
on.  Two kinds:

- ``exact``: arithmetic that holds by definition (percentiles in order, a CI around its own
  point, shares summing to 1, counts adding up, goodput within the achieved rate).  A
  violation is a bug in nnspeed.
- ``measured``: parts timed apart from their whole (phases against a step, layers against a
  call) agree within a tolerance on a quiet machine; a violation says the figures cannot be
  read together, and why that may be.

``scan(doc)`` walks any JSON document for the patterns every result shares (percentile sets,
``ci95`` beside its point, ``shares``, frame counts, goodput); result types declare the rest
(``commands.results``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field

EXACT, MEASURED = "exact", "measured"
# Floating-point slack for rules that hold by definition.
REL_EXACT = 1e-6
# Percentile keys in the order their values must not decrease ("median" is p50).
ORDER = ("min", "p1", "p5", "p10", "p25", "p50", "median", "p75", "p90", "p95", "p99", "p999", "max")
# Streams counted over one window against their mean call: the calls cut off at its ends.
STREAMS_TOLERANCE = 0.10
# Which figure a ``ci95`` beside it is the interval of, first match wins.
CI_POINTS = ("p50", "median", "value", "speedup", "ratio", "slowdown", "gain", "mean")


@dataclass(frozen=True)
class Violation:
    """One figure that disagrees with another in the same result."""

    rule: str  # ordered, ci-contains, shares-sum, adds-up, at-most, counts, throughput, unreadable
    where: str  # the figure's path in the document, e.g. "results[0].latency_ms"
    message: str  # one sentence with the figures
    kind: str = EXACT
    figures: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


Rule = Callable[[Mapping], list[Violation]]


def number(x) -> bool:
    """A finite real number (not a bool, None or NaN)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def _path(where: str, key) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else str(key))


# --- rules on figures ---------------------------------------------------------------------


def _percentile_groups(values: Mapping) -> list[list[tuple[str, float]]]:
    """Percentile sets in one dict: bare keys (``p50``, ``p99``) and suffixed ones (``p50_ms``)."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for key, v in values.items():
        if not (isinstance(key, str) and number(v)):
            continue
        head, _, unit = key.partition("_")
        if head in ORDER:
            groups.setdefault(unit, []).append((key, float(v)))
    rank = {k: i for i, k in enumerate(ORDER)}
    # min/max alone are limits (min_time, max_time), not a distribution's ends
    spread = [g for g in groups.values() if any(k.partition("_")[0] not in ("min", "max") for k, _ in g)]
    return [sorted(g, key=lambda kv: rank[kv[0].partition("_")[0]]) for g in spread if len(g) > 1]


def ordered(values: Mapping, where: str = "") -> list[Violation]:
    """Percentiles (and min/max) of one distribution do not decrease: min ≤ p50 ≤ p99 ≤ max."""
    out = []
    for seq in _percentile_groups(values):
        for (ka, a), (kb, b) in itertools.pairwise(seq):
            if a > b and not close(a, b, REL_EXACT):
                out.append(
                    Violation(
                        "ordered",
                        where,
                        f"{ka} {a:.6g} is above {kb} {b:.6g}; percentiles of one distribution cannot decrease",
                        figures={ka: a, kb: b},
                    )
                )
                break
    return out


def ci_contains(point, ci, where: str = "", name: str = "estimate") -> list[Violation]:
    """A confidence interval is ordered and contains the point estimate it is the interval of."""
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2 and number(ci[0]) and number(ci[1]) and number(point)):
        return []
    lo, hi = float(ci[0]), float(ci[1])
    slack = REL_EXACT * max(abs(lo), abs(hi), abs(point), 1e-12)
    if lo - slack <= point <= hi + slack:
        return []
    return [
        Violation(
            "ci-contains",
            where,
            f"the 95% CI [{lo:.6g}, {hi:.6g}] does not contain its {name} {point:.6g}",
            figures={"point": point, "ci95": [lo, hi]},
        )
    ]


def shares_sum(shares, where: str = "", tol: float = 1e-6) -> list[Violation]:
    """Shares of one whole sum to 1 (or are all 0: nothing to share)."""
    values = list(shares.values()) if isinstance(shares, Mapping) else list(shares)
    nums = [v for v in values if number(v)]
    if not nums or len(nums) != len([v for v in values if v is not None]):
        return []
    total = sum(nums)
    bad = [v for v in nums if v < -tol]
    if bad:
        return [Violation("shares-sum", where, f"a share is negative ({min(bad):.6g})", figures={"shares": values})]
    if total == 0 or abs(total - 1) <= tol:
        return []
    return [
        Violation(
            "shares-sum", where, f"the shares sum to {total:.6g}, not 1", figures={"sum": total, "shares": values}
        )
    ]


def adds_up(
    parts: Mapping | Iterable[float],
    whole,
    tol: float,
    where: str = "",
    what: str = "the parts",
    of: str = "the whole",
    statistic: str | None = None,
    kind: str = MEASURED,
    why: str = "",
) -> list[Violation]:
    """Parts sum to their whole within ``tol`` (a share of the whole)."""
    values = list(parts.values()) if isinstance(parts, Mapping) else list(parts)
    nums = [float(v) for v in values if number(v)]
    if not nums or not number(whole) or whole <= 0:
        return []
    total = sum(nums)
    off = total / whole - 1
    if abs(off) <= tol:
        return []
    stat = f" (statistic: {statistic})" if statistic else ""
    return [
        Violation(
            "adds-up",
            where,
            f"{what} add up to {total:.4g}, {100 * abs(off):.3g}% {'over' if off > 0 else 'under'} {of} "
            f"{whole:.4g}{stat}, beyond the {100 * tol:.3g}% allowed" + (f": {why}" if why else ""),
            kind,
            {"parts": total, "whole": float(whole), "ratio": total / whole, "tolerance": tol},
        )
    ]


def at_most(
    value, bound, where: str = "", what: str = "value", of: str = "its bound", kind: str = EXACT, why: str = ""
) -> list[Violation]:
    """A figure does not exceed its bound (an efficiency its roofline, goodput the achieved rate)."""
    if not (number(value) and number(bound)) or value <= bound or close(value, bound, REL_EXACT):
        return []
    return [
        Violation(
            "at-most",
            where,
            f"{what} {value:.6g} is above {of} {bound:.6g}" + (f": {why}" if why else ""),
            kind,
            {"value": value, "bound": bound},
        )
    ]


def counts(parts: Mapping, total, where: str = "", of: str = "the total") -> list[Violation]:
    """Whole counts that split a total add up to it exactly (served + late + dropped + unserved)."""
    if not all(isinstance(v, int) for v in parts.values()) or not isinstance(total, int):
        return []
    got = sum(parts.values())
    if got == total:
        return []
    names = " + ".join(parts)
    return [
        Violation(
            "counts",
            where,
            f"{names} = {got}, not {of} {total}",
            figures={**parts, "total": total},
        )
    ]


def throughput(
    rate, batch, latency_ms, where: str = "", streams: int = 1, tol: float = REL_EXACT, kind: str = EXACT
) -> list[Violation]:
    """Throughput, one call after another, is batch × streams / mean latency (within ``tol``)."""
    if not (number(rate) and number(batch) and number(latency_ms)) or latency_ms <= 0:
        return []
    expect = batch * streams * 1e3 / latency_ms
    if close(rate, expect, tol):
        return []
    return [
        Violation(
            "throughput",
            where,
            f"throughput {rate:.6g}/s disagrees with batch {batch} × {streams} stream(s) / {latency_ms:.6g} ms "
            f"= {expect:.6g}/s",
            kind,
            {"throughput": rate, "expected": expect},
        )
    ]


def generation(d: Mapping, where: str = "") -> list[Violation]:
    """Token timings of one set of requests: mean TTFT + (n − 1) × mean TPOT = mean e2e, and
    tokens/s per sequence = n / e2e (every request gives n tokens)."""
    stats = [d.get(k) for k in ("ttft_ms", "tpot_ms", "e2e_ms")]
    n = d.get("new_tokens")
    if not (all(isinstance(x, Mapping) for x in stats) and isinstance(n, int) and n > 1):
        return []
    ttft, tpot, e2e = (x.get("mean") for x in stats)  # type: ignore[union-attr]
    if not (number(ttft) and number(tpot) and number(e2e)):
        return []
    out = adds_up(
        [ttft, (n - 1) * tpot],
        e2e,
        1e-6,
        where,
        f"TTFT + {n - 1} × TPOT",
        "the end-to-end latency",
        "mean",
        EXACT,
    )
    tps = d.get("tokens_per_s")
    requests = d.get("requests")
    if number(tps) and isinstance(requests, int) and d.get("e2e_ms", {}).get("n") == requests:
        expect = n * 1e3 / e2e
        if not close(tps, expect, 1e-6):
            out.append(
                Violation(
                    "throughput",
                    where,
                    f"{tps:.6g} tokens/s disagrees with {n} tokens / mean e2e {e2e:.6g} ms = {expect:.6g}/s",
                    figures={"tokens_per_s": tps, "expected": expect},
                )
            )
    return out


# --- the patterns every document shares ---------------------------------------------------


def _ci_point(d: Mapping, key: str) -> str | None:
    """The figure an interval beside it belongs to: ``ci95`` to p50 (or value, speedup, ...),
    ``speedup_ci95`` to speedup, ``latency_ci95_ms`` to latency_ms, ``ci95_ms`` to p50_ms."""
    if key == "ci95":
        return next((k for k in CI_POINTS if k in d), None)
    named = [key.replace("_ci95", ""), key.replace("ci95", "p50"), key.replace("ci95", "median")]
    named += [key[: -len("_ci")]] if key.endswith("_ci") else []
    return next((k for k in named if k != key and k in d), None)


def slo_counts(d: Mapping, where: str = "") -> list[Violation]:
    """Requests that met their SLOs: no more than were sent, their share is ``attainment`` and
    per second of the run ``goodput`` (within the rate requests were sent at)."""
    good, requests = d.get("good"), d.get("requests")
    if not (isinstance(good, int) and isinstance(requests, int) and requests > 0):
        return []
    out = at_most(good, requests, where, "requests within the SLO", "the requests sent")
    share = d.get("attainment")
    if number(share) and not close(share, good / requests, REL_EXACT):
        out.append(
            Violation(
                "counts",
                where,
                f"attainment {share:.6g} is not {good} of {requests} requests ({good / requests:.6g})",
                figures={"attainment": share, "good": good, "requests": requests},
            )
        )
    span = d.get("span_s")
    if number(span) and span > 0:
        out += at_most(d.get("goodput"), requests / span, where, "goodput", "the rate requests were sent at")
    return out


def measured_rate(r: Mapping, where: str = "") -> list[Violation]:
    """A measurement's throughput is its batch over its mean latency; offline streams' samples
    over their window agree with streams × batch / mean call within ``STREAMS_TOLERANCE``."""
    lat = r.get("latency_ms")
    if number(r.get("mean_ms")) and "throughput_sps" in r and "batch" in r:  # a variant's row (optimize)
        return throughput(r["throughput_sps"], r["batch"], r["mean_ms"], where)
    if not (isinstance(lat, Mapping) and "throughput_sps" in r and "batch" in r):
        return []
    if not r.get("scenario"):
        return throughput(r["throughput_sps"], r["batch"], lat.get("mean"), where)
    o = r.get("offline")
    if not isinstance(o, Mapping):
        return []  # load scenarios state their own rates
    streams = o.get("streams", 1)
    tol, kind = (REL_EXACT, EXACT) if streams == 1 else (STREAMS_TOLERANCE, MEASURED)
    return throughput(o.get("samples_per_s"), o.get("batch"), lat.get("mean"), where, streams, tol, kind)


def _scan_dict(d: Mapping, where: str) -> list[Violation]:
    out = ordered(d, where)
    for k, v in d.items():
        point = _ci_point(d, k) if isinstance(k, str) and ("ci95" in k or k.endswith("_ci")) else None
        if point is not None:
            out += ci_contains(d[point], v, where, point)
    if isinstance(d.get("shares"), Mapping):
        out += shares_sum(d["shares"], _path(where, "shares"))
    if all(isinstance(d.get(k), int) for k in ("frames", "ran", "dropped", "unserved")):
        out += counts({k: d[k] for k in ("ran", "dropped", "unserved")}, d["frames"], where, "the frames offered")
    if isinstance(d.get("ran"), int) and isinstance(d.get("late"), int):
        out += at_most(d["late"], d["ran"], where, "late frames", "the frames that ran")
    out += generation(d, where) + measured_rate(d, where) + slo_counts(d, where)
    if number(d.get("goodput")) and number(d.get("achieved_qps")):
        out += at_most(d["goodput"], d["achieved_qps"], where, "goodput", "the achieved rate")
    return out


def scan(doc, where: str = "") -> list[Violation]:
    """Every shared pattern anywhere in a JSON document."""
    out: list[Violation] = []
    if isinstance(doc, Mapping):
        out += _scan_dict(doc, where)
        for k, v in doc.items():
            if isinstance(v, (Mapping, list)) and k != "invariants":  # not the findings themselves
                out += scan(v, _path(where, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            if isinstance(v, (Mapping, list)):
                out += scan(v, _path(where, i))
    return out


def check(doc: Mapping, rules: Iterable[Rule] = ()) -> list[Violation]:
    """The shared patterns and each declared rule on ``doc``.  A rule that cannot read the
    document is itself reported (as a violation), never passed over."""
    found = scan(doc)
    for rule in rules:
        try:
            found += rule(doc)
        except (KeyError, TypeError, IndexError, ValueError, ZeroDivisionError, AttributeError) as e:
            name = getattr(rule, "__name__", "a rule")
            found.append(Violation("unreadable", "", f"{name} could not read the result: {type(e).__name__}: {e}"))
    seen, unique = set(), []
    for v in found:
        if (v.rule, v.where, v.message) not in seen:
            seen.add((v.rule, v.where, v.message))
            unique.append(v)
    return unique


def summary(violations: list[Violation], declared: int) -> dict:
    """What a document carries under ``"invariants"``."""
    return {"declared_rules": declared, "violations": [v.to_dict() for v in violations]}


def attach(doc: dict, rules: tuple[Rule, ...] = ()) -> list[Violation]:
    """Check ``doc`` (as JSON would carry it) and keep the findings in it under ``"invariants"``."""
    import json

    doc.pop("invariants", None)
    found = check(json.loads(json.dumps(doc, default=plain)), rules)
    doc["invariants"] = summary(found, len(rules))
    return found


def plain(value):
    """A JSON value for what json cannot write itself: numpy scalars and arrays, paths, versions."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
