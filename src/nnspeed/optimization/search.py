"""Measure and score every variant; choose the fastest one inside the tolerance and budget."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import NnspeedError, reason
from ..measure.compare import compare_samples
from ..measure.interleave import RoundRule
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from ..scenarios.side_by_side import side_by_side
from ..scenarios.single_stream import single_stream
from .choice import choose
from .scorers import Score, per_class_drops, run_outputs
from .variants import Candidate, Context, baseline_for, candidates_for


@dataclass
class Outcome:
    name: str
    transforms: tuple[str, ...]
    backend: str
    precision: str
    status: str  # ok | rejected | failed
    reason: str = ""
    measurement: Measurement | None = None
    score: Score | None = None
    speedup: float | None = None
    speedup_ci95: tuple[float, float] | None = None
    accuracy_drop: float | None = None
    per_class_drop: dict = field(default_factory=dict)
    flagged_classes: list = field(default_factory=list)
    workload: object | None = None
    settings: Settings | None = None
    speedup_method: str = ""
    statistic: str = "p50"  # what the speedup compares
    # against the baseline model at this variant's own batch size (a mean-compared variant at
    # batch > 1: what the transform itself gains there, batching aside)
    same_batch_speedup: float | None = None
    same_batch_ci95: tuple[float, float] | None = None
    # the interleaved rounds it was last measured in, and its arm there (to compare variants)
    rounds: tuple | None = field(default=None, repr=False)
    tied_with: list = field(default_factory=list)  # chosen: variants as fast as the fastest, within noise
    choice_note: str = ""  # chosen: why, when it is not the fastest point estimate

    def to_dict(self) -> dict:
        m = self.measurement
        return {
            "name": self.name,
            "transforms": list(self.transforms),
            "backend": self.backend,
            "precision": self.precision,
            "latency_ms": None if m is None else m.latency_ms.p50,
            "latency_ci95_ms": None if m is None else list(m.latency_ms.ci95),
            "mean_ms": None if m is None else m.latency_ms.mean,
            "p90_ms": None if m is None else m.latency_ms.p90,
            "p99_ms": None if m is None else m.latency_ms.p99,
            "batch": None if m is None else m.batch,
            "throughput_sps": None if m is None else m.throughput_sps,
            "speedup": self.speedup,
            "speedup_ci95": None if self.speedup_ci95 is None else list(self.speedup_ci95),
            "speedup_method": self.speedup_method or None,
            "speedup_statistic": self.statistic,
            "speedup_same_batch": self.same_batch_speedup,
            "speedup_same_batch_ci95": None if self.same_batch_ci95 is None else list(self.same_batch_ci95),
            "accuracy": None if self.score is None else self.score.value,
            "score": None if self.score is None else self.score.to_dict(),
            "accuracy_drop": self.accuracy_drop,
            "per_class_drop": self.per_class_drop,
            "flagged_classes": self.flagged_classes,
            "details": {} if self.score is None else self.score.details,
            "status": self.status,
            "reason": self.reason or None,
            **({"tied_with": self.tied_with, "choice_note": self.choice_note or None} if self.tied_with else {}),
        }


def evaluate(workload, backend: str, precision: str, scorer, options: dict | None = None) -> Score:
    """Score what the variant's own runtime returns (not the torch model it came from)."""
    with opened(workload, Settings(backend, precision, scorer.eval_batch, options=options or {})) as runner:
        if hasattr(scorer, "evaluate"):  # a user's own function drives the runner itself
            return scorer.evaluate(runner)
        return scorer.score(run_outputs(runner, scorer.chunks))


def search(  # noqa: C901 (to be split)
    workload,
    scorer,
    ctx: Context,
    stop: StopRule,
    batch: list[int] | int = 1,
    threads: list[int | None] | int | None = None,
    max_drop: float = 1.0,
    budget_ms: float | None = None,
    time_limit_s: float | None = None,
    on_variant: Callable[[str], None] | None = None,
    candidates: list[Candidate] | None = None,
) -> tuple[Outcome, list[Outcome], Outcome | None]:
    """Baseline (the model's own framework in fp32: eager torch, or TensorFlow) first, then every applicable candidate at every thread count and
    batch size; returns (baseline, variants, chosen).

    With one batch size the chosen variant has the largest speedup over the baseline, measured
    in interleaved rounds (of the median call; of the mean for variants whose latency depends
    on the input, such as early exits); with several it has
    the highest throughput (samples/s) among those whose per-call p99 fits the budget.
    Speedups are per sample against the baseline at the first batch size.
    """
    t0 = time.perf_counter()
    thread_counts = threads if isinstance(threads, list) else [threads]
    batches = batch if isinstance(batch, list) else [batch]
    base = baseline_for(workload)
    if on_variant:
        on_variant(f"baseline: {base.name}")
    base_settings = Settings(base.backend, "fp32", batches[0], thread_counts[0])
    base_m = single_stream(workload, base_settings, stop)
    base_score = evaluate(workload, base.backend, "fp32", scorer)
    baseline = Outcome(
        base.name,
        (),
        base.backend,
        "fp32",
        "ok",
        measurement=base_m,
        score=base_score,
        speedup=1.0,
        speedup_ci95=(1.0, 1.0),
        accuracy_drop=0.0,
        workload=workload,
        settings=base_settings,
    )
    outcomes = []
    plan = [
        (c, t, b)
        for c in (candidates if candidates is not None else candidates_for(workload))
        for t in thread_counts
        for b in batches
    ]
    for cand, t, b in plan:
        name = cand.name
        if len(thread_counts) > 1:
            name += f" @ {t or 'default'} threads"
        if len(batches) > 1:
            name += f" @ batch {b}"
        out = Outcome(name, cand.transforms, cand.backend, cand.numbers or cand.precision, "failed")
        out.statistic = cand.statistic
        outcomes.append(out)
        if cand.needs_torch and workload.model is None:
            out.reason = "needs a torch model"
            continue
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            out.reason = f"not tried: the --time-limit of {time_limit_s:g} s was reached"
            continue
        if on_variant:
            on_variant(name)
        try:
            vw = cand.build(workload, ctx) if cand.build else workload
            settings = Settings(cand.backend, cand.precision, b, t, options=dict(cand.options))
            m = single_stream(vw, settings, stop)
            s = evaluate(vw, cand.backend, cand.precision, scorer, dict(cand.options))
            s.details.update(vw.meta.get("score_details", {}))  # what the transform knows of its outputs
        except NnspeedError as e:
            out.reason = str(e)
            continue
        except Exception as e:  # a transform that breaks on this model is a failed variant, not a crash
            out.reason = f"{type(e).__name__}: {reason(e)}"
            continue
        c = compare_samples(name, base_m.samples / base_m.batch, m.samples / m.batch)
        out.workload, out.measurement, out.score, out.settings = vw, m, s, settings
        out.speedup, out.speedup_ci95, out.speedup_method = c.speedup, c.ci95, c.method
        out.accuracy_drop = base_score.value - s.value
        out.per_class_drop, out.flagged_classes = per_class_drops(base_score, s, ctx.split) if ctx.split else ({}, [])
        if not np.isfinite(s.value):
            out.reason = "outputs are not finite"
        elif why := scorer.judge(base_score, s, max_drop):
            out.status, out.reason = "rejected", why
        else:
            out.status = "ok"
    # Every variant that ran, rejected ones too, is measured again beside the baseline: each
    # speedup it reports is then a paired one, and the budget is judged on those rounds.
    measured = [o for o in outcomes if o.status in ("ok", "rejected")]
    for stat in dict.fromkeys(o.statistic for o in measured):  # the median-compared group first
        side_by_side_with_baseline(baseline, [o for o in measured if o.statistic == stat], stop, stat)
    base_m = baseline.measurement
    for o in measured:
        if o.status == "ok" and budget_ms is not None and o.measurement.latency_ms.p99 > budget_ms:
            p99 = o.measurement.latency_ms.p99
            o.status, o.reason = "rejected", f"p99 {p99:.3g} ms is over the {budget_ms:g} ms budget"
    ok = [o for o in outcomes if o.status == "ok"]
    if budget_ms is None or base_m.latency_ms.p99 <= budget_ms:
        ok.append(baseline)
    if not ok:
        chosen = None
    elif len(batches) > 1:
        chosen = max(ok, key=lambda o: o.measurement.throughput_sps)
    else:  # the fastest by its paired speedup, unless it cannot be told from a simpler variant
        chosen, tied = choose(ok, lambda a, b: clearly_faster(a, b, baseline))
        chosen.tied_with = [o.name for o in tied if o is not chosen]
        fastest = max(ok, key=lambda o: o.speedup)
        if chosen is not fastest:
            ratio = paired(fastest, chosen, baseline)
            told = "" if ratio is None else f" ({ratio[0]:.2f}x [{ratio[1][0]:.2f}, {ratio[1][1]:.2f}] of this one)"
            chosen.choice_note = f"simpler than {fastest.name}, which is not clearly faster{told}"
    return baseline, outcomes, chosen


def paired(a: Outcome, b: Outcome, baseline: Outcome) -> tuple[float, tuple[float, float]] | None:
    """The speedup of ``a`` over ``b`` with its interval, from the interleaved rounds both ran
    in (the baseline ran in every round), or None."""
    if b is baseline:
        return a.speedup, a.speedup_ci95
    if a is baseline:
        lo, hi = b.speedup_ci95
        return 1 / b.speedup, (1 / hi, 1 / lo)
    if a.rounds and b.rounds and a.rounds[0] is b.rounds[0]:
        c = a.rounds[0].compare(b.rounds[1], a.rounds[1], per_item=True)
        return c.speedup, c.ci95
    return None


def clearly_faster(a: Outcome, b: Outcome, baseline: Outcome) -> bool:
    """``a`` is faster than ``b`` beyond doubt: the paired interval of their ratio lies above 1,
    or, measured in different rounds, their speedup intervals part."""
    c = paired(a, b, baseline)
    return c[1][0] > 1.0 if c is not None else a.speedup_ci95[0] > b.speedup_ci95[1]


def side_by_side_with_baseline(baseline: Outcome, ok: list[Outcome], stop: StopRule, statistic: str = "p50") -> None:
    """Measure every variant that ran again, in interleaved rounds with the baseline, and take
    its figures and its per-sample speedup (with a CI that sees drift) from those rounds.

    Each variant was first measured on its own, minutes apart from the baseline: that screens
    out what fails, but a ratio of two stretches of time would decide the choice, and would be
    what a rejected variant reports."""
    rule = RoundRule(
        min_rounds=8,
        max_rounds=30,
        max_time=max(10.0, stop.max_time * (len(ok) + 1)),
        ci_rel=0.02,
        window_s=0.05,
        statistic=statistic,
    )
    arms = [(baseline.workload, baseline.settings)] + [(o.workload, o.settings) for o in ok]
    labels = [baseline.name] + [o.name for o in ok]
    # mean-compared variants at other batch sizes also meet the baseline model at theirs
    plain: dict[int, int] = {baseline.settings.batch: 0}
    if statistic == "mean":
        for b in dict.fromkeys(o.settings.batch for o in ok):
            if b not in plain:
                plain[b] = len(arms)
                arms.append((baseline.workload, dataclasses.replace(baseline.settings, batch=b)))
                labels.append(f"{baseline.name} @ batch {b}")
    sbs = side_by_side(arms, rule, labels=labels)
    if statistic == "p50" or baseline.speedup_method == "":  # the baseline's figures: from its first rounds
        baseline.measurement = sbs.measurements[0]
        baseline.speedup_method = sbs.comparisons[0].method
    for k, o in enumerate(ok, start=1):
        c = sbs.compare(0, k, per_item=True)
        o.rounds = (sbs, k)
        o.measurement = sbs.measurements[k]
        o.speedup, o.speedup_ci95, o.speedup_method = c.speedup, c.ci95, c.method
        if statistic == "mean":
            same = sbs.compare(plain[o.settings.batch], k, per_item=True)
            o.same_batch_speedup, o.same_batch_ci95 = same.speedup, same.ci95
