"""``nnspeed.optimize``: search variants, keep the fastest that stays accurate and in budget."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .._files import write_text
from ..axes import int_values, split
from ..backends.registry import before_load_for_any
from ..errors import InputError
from ..measure import invariants
from ..measure.stoprule import StopRule
from ..optimization.export import export as write_export
from ..optimization.metrics import parse_fidelity
from ..optimization.search import search
from ..optimization.setup import scorer_for
from ..optimization.variants import candidates_for, early_exit_candidates
from ..store.store import Store
from ..workloads.sources import load
from .events import QUIET, Events
from .results import OptimizeResult


def _taus(rule: str, text: str | None) -> tuple[float, ...]:
    from ..transforms.exit_rules import DEFAULT_TAUS, check_rule

    if rule not in DEFAULT_TAUS:
        check_rule(rule, ())
    try:
        taus = tuple(float(t) for t in split(text)) if text else DEFAULT_TAUS[rule]
    except ValueError:
        raise InputError(f"--exit-taus takes numbers separated by commas, e.g. 0.9,0.99; got '{text}'") from None
    check_rule(rule, taus)
    return taus


@dataclass(frozen=True, kw_only=True)
class OptimizeRequest:
    """Try precisions, quantization, pruning, fusion and runtimes on ``source``, score each
    variant on ``data`` (labelled data such as ``digits``), ``eval_fn`` (``module:function``) or
    its fidelity to fp32, and choose the fastest whose score drops at most ``max_drop`` points
    and whose p99 fits ``budget_ms``.  Fidelity scores each output with a metric that fits it
    (a heuristic on its shape) and rejects a variant only where an output's 95% interval lies
    below the threshold; ``fidelity`` (``METRIC:THRESHOLD``, e.g. ``agreement:99``,
    ``snr:30``) sets one for every output.  A variant no clearly faster than a simpler one
    (intervals that overlap) loses to it.  Writes ``result.json`` and ``report.html`` to
    ``out_dir``; ``export`` also writes the chosen variant in its runtime's format.

    ``early_exit`` adds early-exit variants of a classifier: heads after ``exits`` (``auto``:
    the block boundaries of an nn.Sequential, or its modules' names), trained on the data's
    training split with the backbone frozen, stopping where ``exit_rule`` (max-prob or
    entropy) passes each threshold of ``exit_taus``; their speedups compare mean latencies
    on every held-out sample."""

    source: str
    data: str | None = None
    eval_fn: str | None = None
    fidelity: str | None = None
    max_drop: float = 1.0
    budget_ms: float | None = None
    batch: str | int = "1"
    threads: str | int = "auto"
    time_limit: float | None = None
    export: str | Path | None = None
    out_dir: str | Path = "nnspeed-optimize"
    variants: str = ""
    early_exit: bool = False
    exits: str = "auto"
    exit_rule: str = "max-prob"
    exit_taus: str | None = None
    min_time: float = 0.5
    max_time: float = 3.0
    input_shape: str | None = None
    input_dtype: str | None = None
    command: str = "nnspeed optimize"

    def validate(self) -> Path:
        """The output folder, every option checked before any model loads."""
        out_dir = Path(self.out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError(f"--out {out_dir} is a file; give a directory")
        if self.max_drop < 0:
            raise InputError(f"--max-drop must be ≥ 0 points, got {self.max_drop:g}")
        if self.fidelity is not None:
            parse_fidelity(self.fidelity)
        return out_dir


def run(request: OptimizeRequest, *, store: Store | str | None = None, events: Events = QUIET) -> OptimizeResult:
    """Search, score, choose, store and write the request's files; ``events`` hears each variant."""
    r = request
    from ..report.html import render

    out_dir = r.validate()
    stop = StopRule(min_time=r.min_time, max_time=r.max_time, ci_rel=0.01)
    thread_counts = int_values(split(str(r.threads), "--threads"), "--threads", allow_auto=True)
    batches = int_values(split(str(r.batch), "--batch"), "--batch")
    db = Store.of(store)
    before_load_for_any(thread_counts)
    w = load(r.source, **{k: v for k, v in dict(input_shape=r.input_shape, input_dtype=r.input_dtype).items() if v})
    words = [v.strip() for v in r.variants.split(",") if v.strip()]
    every = candidates_for(w)
    if r.early_exit:
        every = every + early_exit_candidates(r.exits, r.exit_rule, _taus(r.exit_rule, r.exit_taus))
        if not (r.data or w.meta.get("data")):
            raise InputError(
                "--early-exit trains exit heads and scores them on labelled data; give --data digits or "
                "--data py:module:function"
            )
    candidates = [c for c in every if not words or any(word in c.name for word in words)]
    if not candidates:
        raise InputError(f"--variants {r.variants} matches no variant; names are: {', '.join(c.name for c in every)}")
    if r.eval_fn and r.data:
        raise InputError("give --eval or --data, not both: each decides how variants are scored")
    scorer, ctx = scorer_for(w, r.data, r.eval_fn, r.fidelity, r.max_drop)
    if r.early_exit:
        from ..transforms.early_exit import check

        check(w, ctx.split, r.exits)  # a bad --exits or a model that is no classifier: before any variant runs
    baseline, outcomes, chosen = search(
        w,
        scorer,
        ctx,
        stop,
        batch=batches,
        threads=thread_counts,
        max_drop=r.max_drop,
        budget_ms=r.budget_ms,
        time_limit_s=r.time_limit,
        on_variant=lambda name: events.progress(f"measuring and scoring: {name}"),
        candidates=candidates,
    )
    base_m, base_score = baseline.measurement, baseline.score
    assert base_m is not None and base_score is not None  # search raises when the baseline cannot be measured
    doc = {
        "source": w.source,
        "metric": scorer.metric,
        "max_drop": r.max_drop,
        "fidelity": r.fidelity,
        "scoring": scorer.describe() if hasattr(scorer, "describe") else {"n": base_score.n},
        "budget_ms": r.budget_ms,
        "baseline": {
            "name": baseline.name,
            "backend": baseline.backend,
            "latency_ms": base_m.latency_ms.p50,
            "accuracy": base_score.value,
            "score": base_score.to_dict(),
            "per_class": base_score.per_class,
        },
        "variants": [o.to_dict() for o in outcomes],
        "chosen": None if chosen is None else chosen.name,
        "choice": None if chosen is None else {"tied_with": chosen.tied_with, "note": chosen.choice_note or None},
    }
    measured = [base_m, *(m for m in (o.measurement for o in outcomes) if m is not None)]
    doc["run_id"] = db.save_run("optimize", r.command, measured, documents={"optimize": doc})
    if r.export is not None and chosen is not None:
        doc["exported"] = [str(p) for p in write_export(chosen, baseline, w.source, Path(r.export), scorer.metric)]
    run, ms = db.get_run(doc["run_id"])
    invariants.attach(doc)  # the file carries the check, as the result will
    write_text(out_dir / "result.json", json.dumps(doc, indent=2, default=float) + "\n")
    doc["report"] = str(write_text(out_dir / "report.html", render(run, ms, optimize=doc)))
    return OptimizeResult(doc, measured, baseline=baseline, outcomes=outcomes, chosen=chosen, metric=scorer.metric)


def optimize(source: str, *, store: Store | str | None = None, events: Events = QUIET, **options) -> OptimizeResult:
    """``nnspeed.optimize``: ``run`` on a ``OptimizeRequest`` of ``source`` and ``options``."""
    return run(OptimizeRequest(source=source, **options), store=store, events=events)
