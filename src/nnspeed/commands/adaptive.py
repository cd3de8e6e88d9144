"""``bench --scenario server --adaptive``: a server that switches variants under load, and the
same arrival schedule replayed against every variant alone.

Requests carry real held-out samples in turn; what each variant answers is kept, so the
accuracy delivered is counted against the labels.  The governor (scenarios/adaptive.py) picks
the variant of each batch from the queue; the static replays use the same seeded arrivals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import BackendError, InputError, NnspeedError, reason
from ..measure.clock import PerfCounterClock
from ..measure.stoprule import StopRule
from ..optimization.setup import scorer_for
from ..optimization.variants import baseline_for, candidates_for, early_exit_candidates
from ..scenarios.adaptive import Fixed, Governor, GovernorRule, delivered, timeline
from ..scenarios.server import (
    Batcher,
    Load,
    Policy,
    check_slo,
    serve_result,
    serve_with,
    server_measurement,
    warm_calls,
)
from ..store.store import Store
from ..transforms.base import variant
from ..transforms.exit_rules import DEFAULT_TAUS
from ..workloads.sources import load
from .events import QUIET, Events
from .results import AdaptiveResult


def catalogue(w) -> dict:
    """Every variant name ``--adaptive`` may use for ``w``: the baseline, optimize's candidates
    and early exits at their default thresholds."""
    base = baseline_for(w)
    names: dict = {base.name: None}
    extra = early_exit_candidates("auto", "max-prob", DEFAULT_TAUS["max-prob"]) if w.model is not None else []
    for c in [*candidates_for(w), *extra]:
        names[c.name] = c
    return names


def parse_variants(text: str, w) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    if len(names) < 2:
        raise InputError(
            "--adaptive needs at least two variants, most accurate first, e.g. "
            "'eager fp32,eager early exit max-prob 0.9'"
        )
    if len(set(names)) != len(names):
        raise InputError("--adaptive names a variant twice; give each once, most accurate first")
    known = catalogue(w)
    for n in names:
        if n not in known:
            close = [k for k in known if any(word in k for word in n.split())][:6] or list(known)[:6]
            raise InputError(
                f"--adaptive names '{n}', which is not a variant of {w.source}; e.g. {', '.join(close)} "
                "(nnspeed optimize lists them all)"
            )
    return names


class VariantCalls:
    """One variant's runner behind ``calls(b)`` (warm-up: the first b held-out samples) and
    ``serve(first, b)`` (requests first … first+b-1, cycling the held-out set)."""

    def __init__(self, runner, x_test: np.ndarray, input_name: str, max_batch: int):
        self.runner, self.x, self.name, self.max_batch = runner, x_test, input_name, max_batch

    def serve(self, first: int, b: int) -> np.ndarray:
        rows = np.arange(first, first + b) % len(self.x)
        r = self.runner
        out = r.outputs(r.run(r.prepare({self.name: self.x[rows]})))
        r.sync()
        return np.asarray(out[0]).argmax(-1)

    def __call__(self, b: int) -> None:
        self.serve(0, b)


def prepare(source: str, variants: str, data: str | None, max_batch: int, threads: int | None):
    """The model, the variant names, the scoring context (with its held-out split) and each
    variant built: (name, workload, settings)."""
    w = load(source)
    names = parse_variants(variants, w)
    _scorer, ctx = scorer_for(w, data)
    if ctx.split is None:
        raise InputError(
            "--adaptive serves real held-out samples and counts the accuracy delivered: give --data "
            "(e.g. digits) or a model whose data is known (zoo:digits-cnn)"
        )
    known, base = catalogue(w), baseline_for(w)
    built = []
    for n in names:
        c = known[n]
        try:
            vw = c.build(w, ctx) if c is not None and c.build else w
        except NnspeedError as e:
            raise InputError(f"--adaptive variant '{n}' cannot be made for {w.source}: {e}") from None
        except Exception as e:
            raise InputError(f"--adaptive variant '{n}' cannot be made for {w.source}: {reason(e)}") from None
        backend, precision = (base.backend, "fp32") if c is None else (c.backend, c.precision)
        options = {} if c is None else dict(c.options)
        built.append((n, vw, Settings(backend, precision, max_batch, threads, options=options)))
    return w, names, ctx, built


@contextlib.contextmanager
def served_by(built, split, input_name: str, max_batch: int, clock, stop: StopRule):
    """Every variant's runner open and warm: (calls per variant, warm-up figures per variant)."""
    with contextlib.ExitStack() as stack:
        calls, warm = [], []
        for _, vw, settings in built:
            runner = stack.enter_context(opened(vw, settings))
            vc = VariantCalls(runner, split.x_test, input_name, max_batch)
            calls.append(vc)
            warm.append(warm_calls(vc, clock, stop))
        yield calls, warm


def policy_for(mode: str, names: list[str], slo_s: float, rule: GovernorRule | None, warm: list[dict]) -> Policy:
    """The governor, told each variant's service time from its warm-up, for "adaptive"; the
    named variant alone otherwise."""
    if mode == "adaptive":
        return Governor(len(names), slo_s, rule or GovernorRule(), [wm["typical_s"] for wm in warm])
    return Fixed(names.index(mode))


def mode_measurement(mode: str, run: dict, w, built, warm, log, load, batcher, slo_ms, clock, stop, **extra):
    """The stored server measurement of one mode's run (the adaptive one tagged #adaptive)."""
    k = 0 if mode == "adaptive" else [n for n, _, _ in built].index(mode)
    mw = variant(w, "adaptive") if mode == "adaptive" else built[k][1]
    m = server_measurement(mw, built[k][2], stop, log, load, batcher, slo_ms, clock, warm[k], {}, {})
    figures_kept = {key: v for key, v in run.items() if key != "timeline"}
    return replace(m, extra={**m.extra, "adaptive": figures_kept, **extra})


def variants_doc(built, warm) -> list[dict]:
    return [
        {"name": n, "backend": s.backend, "service_ms": 1e3 * wm["typical_s"]} for (n, _, s), wm in zip(built, warm)
    ]


def figures(mode: str, log, load, batcher, slo_ms: float, labels, names: list[str], policy) -> dict:
    """One served run's figures: latency, goodput, accuracy delivered, shares, switches."""
    result = serve_result(log, load, batcher, slo_ms)
    served = delivered(log, labels, names)
    switches = getattr(policy, "switches", [])
    return {
        "mode": mode,
        "qps": load.qps,
        **{k: result[k] for k in ("p50_ms", "p90_ms", "p99_ms", "goodput", "achieved_qps", "unserved")},
        "passed": result["passed"],
        "delivered_accuracy": served["delivered_accuracy"],
        "shares": served["shares"],
        "accuracy_by_variant": served["accuracy_by_variant"],
        "switches": len(switches),
        "switch_log": [{"t_s": t - log.arrival[0], "from": names[a], "to": names[b]} for t, a, b in switches],
        "timeline": timeline(log, labels),
    }


def check_bench_options(scenario: str, sources: list[str], thread_counts: list) -> None:
    """``bench --adaptive`` serves one model under load at one thread count."""
    if scenario != "server" or len(sources) != 1:
        raise BackendError("--adaptive switches variants of one model under load: use --scenario server, one source")
    if len(thread_counts) != 1:
        raise BackendError("--adaptive serves with one thread count; give one --threads")


@dataclass(frozen=True, kw_only=True)
class AdaptiveRequest:
    """Serve a seeded arrival schedule (``qps``, ``burstiness``) with the governor switching
    between ``variants`` (names, most accurate first), then the same schedule on each variant
    alone; p99, goodput, accuracy delivered, shares per variant and switches for every run."""

    source: str
    variants: str
    qps: float
    slo_p99: float
    data: str | None = None
    seconds: float = 10.0
    burstiness: float = 1.0
    seed: int = 0
    max_batch: int = 1
    max_wait_ms: float | None = None
    threads: int | None = None
    rule: GovernorRule | None = None
    report: str | None = None
    command: str = "nnspeed bench --adaptive"

    def validate(self) -> None:
        """A p99 target and an arrival rate are needed; checked before anything loads."""
        check_slo(self.slo_p99)
        if self.slo_p99 is None:
            raise InputError("--adaptive serves against a p99 target: give --slo-p99 in ms")
        if self.qps is None:
            raise InputError("--adaptive needs --qps, the mean arrival rate")


def run(request: AdaptiveRequest, *, store: Store | str | None = None, events: Events = QUIET) -> AdaptiveResult:
    """Serve, measure and store the runs; ``events`` hears each run as it starts."""
    r = request
    db = Store.of(store)  # an unreachable store fails before anything is measured
    r.validate()
    batcher = Batcher(r.max_batch, 1.0 if r.max_wait_ms is None else r.max_wait_ms)
    the_load = Load(r.qps, r.seconds, r.burstiness, r.seed)
    w, names, ctx, built = prepare(r.source, r.variants, r.data, r.max_batch, r.threads)
    split = ctx.split
    stop = StopRule(max_time=4.0)
    clock = PerfCounterClock()
    offsets = the_load.arrivals()
    slo_s = r.slo_p99 * 1e-3
    runs, measurements = [], []
    with served_by(built, ctx.split, w.inputs[0].name, r.max_batch, clock, stop) as (calls, warm):
        for mode in ["adaptive", *names]:
            events.progress(f"serving: {mode}")
            policy = policy_for(mode, names, slo_s, r.rule, warm)
            log = serve_with(
                lambda k, first, b: calls[k].serve(first, b), clock, offsets, batcher, policy, keep_outputs=True
            )
            run = figures(mode, log, the_load, batcher, r.slo_p99, split.y_test, names, policy)
            runs.append(run)
            measurements.append(
                mode_measurement(mode, run, w, built, warm, log, the_load, batcher, r.slo_p99, clock, stop)
            )
    static = runs[1:]
    doc = {
        "source": w.source,
        "slo_p99_ms": r.slo_p99,
        "qps": r.qps,
        "burstiness": r.burstiness,
        "seed": r.seed,
        "seconds": r.seconds,
        "requests": len(offsets),
        "max_batch": r.max_batch,
        "governor": (r.rule or GovernorRule()).to_dict(),
        "variants": variants_doc(built, warm),
        "runs": runs,
        "most_accurate_static_passed": static[0]["passed"],
        "adaptive_passed": runs[0]["passed"],
    }
    doc["run_id"] = db.save_run("adaptive", r.command, measurements, documents={"adaptive": doc})
    if r.report is not None:
        from pathlib import Path

        from .._files import write_text
        from ..report.html import render

        run = {"id": doc["run_id"], "kind": "adaptive", "created_at": "", "command": r.command, "env": {}}
        doc["report"] = str(write_text(Path(r.report), render(run, measurements, adaptive=doc)))
    return AdaptiveResult(doc, measurements)


def adaptive(
    source: str, variants: str, *, store: Store | str | None = None, events: Events = QUIET, **options
) -> AdaptiveResult:
    """``nnspeed.adaptive``: ``run`` on a ``AdaptiveRequest`` of ``source``, ``variants`` and ``options``."""
    return run(AdaptiveRequest(source=source, variants=variants, **options), store=store, events=events)


def adaptive_capacity(
    source: str,
    variants: str,
    slo_p99: float,
    data: str | None = None,
    trial_time: float = 2.0,
    burstiness: float = 1.0,
    seed: int = 0,
    threads: int | None = None,
    rule: GovernorRule | None = None,
    store: Store | str | None = None,
    command: str = "nnspeed capacity --adaptive",
    on_trial: Callable[[str, dict], None] | None = None,
) -> AdaptiveResult:
    """The highest offered load that holds the p99 SLO with the governor switching between
    ``variants``, and with each variant alone (the same search, the same seeded schedules),
    with the accuracy delivered at each one's highest passing load."""
    from ..scenarios.capacity import search

    db = Store.of(store)
    check_slo(slo_p99)
    if slo_p99 is None:
        raise InputError("capacity needs --slo-p99 MS: the p99 latency each offered rate must hold")
    if not (trial_time > 0):
        raise InputError(f"--trial-time must be a positive number of seconds, got {trial_time}")
    batcher = Batcher(1, 0.0)
    w, names, ctx, built = prepare(source, variants, data, 1, threads)
    stop, clock, slo_s = StopRule(max_time=4.0), PerfCounterClock(), slo_p99 * 1e-3
    curve, best, measurements = [], {}, []
    with served_by(built, ctx.split, w.inputs[0].name, 1, clock, stop) as (calls, warm):
        start = 0.5 / max(warm[0]["typical_s"], 1e-6)
        for mode in ["adaptive", *names]:
            logs: dict = {}

            def trial(qps: float, mode=mode, logs=logs) -> dict:
                policy = policy_for(mode, names, slo_s, rule, warm)
                load = Load(qps, trial_time, burstiness, seed)
                log = serve_with(
                    lambda lvl, f, b: calls[lvl].serve(f, b), clock, load.arrivals(), batcher, policy, True
                )
                r = figures(mode, log, load, batcher, slo_p99, ctx.split.y_test, names, policy)
                logs[qps] = (log, load, r)
                if on_trial:
                    on_trial(mode, r)
                return r

            top, trials = search(trial, start)
            at = logs[top][2] if top in logs else None
            best[mode] = {
                "max_qps": top,
                "delivered_accuracy": at["delivered_accuracy"] if at else None,
                "shares": at["shares"] if at else None,
                "switches": at["switches"] if at else None,
            }
            curve += [{k: r[k] for k in r if k != "timeline"} for r in trials]
            if top in logs:
                log, load, r = logs[top]
                measurements.append(
                    mode_measurement(
                        mode, r, w, built, warm, log, load, batcher, slo_p99, clock, stop, capacity_mode=mode
                    )
                )
    doc = {
        "source": w.source,
        "slo_p99_ms": slo_p99,
        "burstiness": burstiness,
        "seed": seed,
        "trial_s": trial_time,
        "governor": (rule or GovernorRule()).to_dict(),
        "variants": variants_doc(built, warm),
        "capacity": best,
        "curve": curve,
    }
    doc["run_id"] = (
        db.save_run("capacity", command, measurements, documents={"adaptive-capacity": doc}) if measurements else None
    )
    return AdaptiveResult(doc, measurements)
