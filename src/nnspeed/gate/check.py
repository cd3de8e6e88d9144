"""``check``: is B slower than A beyond a threshold?  Measured side by side on this machine,
or against a named baseline stored earlier.

Two arms measured in interleaved rounds give a ratio whose interval sees the machine's drift,
so an unchanged model is not called slower because the machine was busier a minute later
(the false alarms users of CI gates on shared runners complain of).  A stored baseline cannot
be interleaved with: it is compared round against round, and the result says what that
interval cannot see.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..backends.base import Settings
from ..errors import InputError
from ..measure import invariants
from ..measure.compare import Comparison, compare_rounds_apart, compare_samples
from ..measure.environment import fingerprint
from ..measure.interleave import RoundRule
from ..measure.measurement import Measurement
from ..measure.paired import WINDOW_SAMPLES, window_statistic
from ..scenarios.side_by_side import side_by_side
from .conditions import REGRESSION, Condition, decide, settled

# What check measures by default: enough rounds to bound a ratio, not so long a CI job waits.
CHECK_RULE = RoundRule(min_rounds=8, max_rounds=60, max_time=60.0, ci_rel=0.01)
SETTING_FIELDS = ("backend", "precision", "batch", "threads", "device")


@dataclass
class CheckResult:
    """The verdict on B against A (``ratio`` = B's time / A's; > 1: B is slower)."""

    baseline: str
    candidate: str
    condition: Condition
    verdict: str  # regression | within | inconclusive | faster
    ratio: float
    ci95: tuple[float, float]
    method: str
    rounds: int | None
    measurements: list[Measurement]
    notes: list[str] = field(default_factory=list)
    baseline_run: dict | None = None
    run_id: str | None = None

    @property
    def regression(self) -> bool:
        return self.verdict == REGRESSION

    @property
    def exit_code(self) -> int:
        return 1 if self.regression else 0

    def explanation(self) -> str:
        c = self.condition
        lo, hi = self.ci95
        change = f"{self.candidate} takes {self.ratio:.3f}x the {c.statistic} time of {self.baseline} (95% CI {lo:.3f}–{hi:.3f})"
        limit = f"{100 * c.max_slowdown:g}%"
        return {
            "regression": f"{change}: slower by more than {limit}, with the whole interval past it",
            "within": f"{change}: no slowdown beyond {limit}",
            "faster": f"{change}: faster",
            "inconclusive": f"{change}: the interval straddles the {limit} threshold; not proven a regression "
            "(measure longer with --max-time to settle it)",
        }[self.verdict]

    def to_dict(self) -> dict:
        doc = {
            "verdict": self.verdict,
            "regression": self.regression,
            "exit_code": self.exit_code,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "statistic": self.condition.statistic,
            "max_slowdown": self.condition.max_slowdown,
            "ratio": self.ratio,
            "ci95": list(self.ci95),
            "method": self.method,
            "rounds": self.rounds,
            "explanation": self.explanation(),
            "notes": list(self.notes),
            "baseline_run": self.baseline_run,
            "run_id": self.run_id,
            "results": [m.to_dict() for m in self.measurements],
        }
        invariants.attach(doc)
        return doc


def _from_comparison(c: Comparison, condition: Condition, a: str, b: str, ms, notes, baseline_run=None) -> CheckResult:
    # A Comparison's speedup is baseline / candidate; the gate reads candidate / baseline.
    lo, hi = c.ci95
    ratio, ci = 1.0 / c.speedup, (1.0 / hi, 1.0 / lo)
    return CheckResult(
        a,
        b,
        condition,
        decide(ratio, ci, condition.max_slowdown),
        ratio,
        ci,
        c.method,
        c.rounds,
        list(ms),
        list(notes),
        baseline_run,
    )


def check_pair(
    a,
    b,
    settings_a: Settings,
    settings_b: Settings,
    condition: Condition,
    rule: RoundRule = CHECK_RULE,
    labels: tuple[str, str] = ("A", "B"),
    seed: int = 0,
    clock=None,
) -> CheckResult:
    """Measure workloads ``a`` and ``b`` side by side; a regression is ``b`` slower than ``a``
    beyond ``condition`` with its whole 95% CI past the threshold.  Rounds stop early once the
    interval lies wholly on one side of the threshold."""
    rule = RoundRule(**{**rule.to_dict(), "statistic": condition.statistic})
    sbs = side_by_side(
        [(a, settings_a), (b, settings_b)],
        rule,
        labels=list(labels),
        seed=seed,
        clock=clock,
        same_inputs=True,
        decided=lambda ratios: settled(ratios[0].ci95, condition.max_slowdown),
    )
    return _from_comparison(sbs.comparisons[0], condition, labels[0], labels[1], sbs.measurements, sbs.rounds.notes)


def measure_in_rounds(
    workload, settings: Settings, statistic: str, rule: RoundRule = CHECK_RULE, clock=None
) -> Measurement:
    """One configuration measured in rounds (its figures kept per round), for a baseline."""
    rule = RoundRule(**{**rule.to_dict(), "statistic": statistic})
    return side_by_side([(workload, settings)], rule, labels=[workload.source], clock=clock).measurements[0]


def pick_baseline(run: dict, ms: list[Measurement], settings: Settings, source: str) -> Measurement:
    """The stored result that matches these settings (and the source, when several do)."""
    want = {f: getattr(settings, f) for f in SETTING_FIELDS}
    match = [m for m in ms if all(getattr(m, f) == v for f, v in want.items() if not (f == "threads" and v is None))]
    if len(match) > 1:
        match = [m for m in match if m.source == source] or match
    if len(match) != 1:
        have = "; ".join(f"{m.source} {m.backend} {m.precision} b{m.batch} t{m.threads}" for m in ms[:4]) or "nothing"
        raise InputError(
            f"baseline run {run['id']} has {'no' if not match else 'more than one'} result for "
            f"{settings.backend} {settings.precision} batch {settings.batch}"
            + (f" threads {settings.threads}" if settings.threads else "")
            + f" (it holds: {have}); give the settings it was measured with"
        )
    return match[0]


def check_machine(run: dict, any_machine: bool) -> None:
    here = fingerprint()
    theirs = run.get("machine_id", "") or run.get("env", {}).get("machine_id", "")
    if any_machine or theirs == here.get("machine_id"):
        return
    cpu = run.get("env", {}).get("cpu", "another machine")
    raise InputError(
        f"baseline run {run['id']} was measured on another machine ({cpu}, fingerprint {theirs or 'unknown'}; "
        f"this one is {here.get('cpu')}, {here.get('machine_id')}): its speed says nothing about this one; "
        "measure a baseline here, or pass --any-machine to compare anyway"
    )


def round_values(m: Measurement, statistic: str) -> list[float] | None:
    """The per-round figures of a measurement made in rounds, for any statistic: stored for the
    one it was measured for, recomputed from the samples of each round otherwise."""
    info = m.extra.get("interleave") or {}
    if not info:
        return None
    if info.get("statistic") == statistic:
        return list(info["round_values_ms"])
    sizes = info.get("round_sizes")
    # A window too short for the statistic (a p99 of five calls is their maximum) cannot serve.
    if not sizes or sum(sizes) != m.n or min(sizes) < WINDOW_SAMPLES[statistic]:
        return None
    bounds = np.cumsum([0, *sizes])
    return [window_statistic(m.samples[a:b], statistic) for a, b in itertools.pairwise(bounds)]


def require_round_values(baseline: Measurement, statistic: str, name: str) -> None:
    """A tail statistic needs per-round figures of it; only p50 falls back to per-call samples."""
    if statistic != "p50" and round_values(baseline, statistic) is None:
        raise InputError(
            f"the baseline '{name}' holds no per-round {statistic} figures; save it with "
            f"nnspeed check SOURCE --save-baseline {name} --stat {statistic}, or check --stat p50"
        )


def check_against(
    baseline: Measurement,
    baseline_run: dict,
    current: Measurement,
    condition: Condition,
    name: str,
) -> CheckResult:
    """A fresh measurement against a stored one, round figures against round figures."""
    notes = [
        f"the baseline '{name}' was measured apart (run {baseline_run['id']}, {baseline_run['created_at']}): the interval "
        "sees drift within each run but not a shift between them; for a ratio that cancels drift, measure both "
        "side by side: nnspeed check A B"
    ]
    base_rounds = round_values(baseline, condition.statistic)
    cur_rounds = round_values(current, condition.statistic)
    key = f"{name} → now"
    if base_rounds and cur_rounds:
        c = compare_rounds_apart(key, base_rounds, cur_rounds, condition.statistic)
    else:
        require_round_values(baseline, condition.statistic, name)
        notes.append("the baseline was not measured in rounds: its per-call samples are compared (blind to drift)")
        c = compare_samples(key, baseline.samples, current.samples)
    info = {
        "name": name,
        "run_id": baseline_run["id"],
        "created_at": baseline_run["created_at"],
        "source": baseline.source,
    }
    return _from_comparison(c, condition, f"{name}", "now", [baseline, current], notes, baseline_run=info)
