"""Judge the predictor on held-out random architectures: predict each, then measure it for real."""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import InputError
from .archs import draw
from .calibration import ANCHORS, TRAIN_SEED, drift_from, measure_rounds, reference_models
from .corrections import drift_features
from .models import Models
from .pricing import predict_trace, price_calls
from .trace import trace_model


def check_seed(seed: int) -> None:
    if seed == TRAIN_SEED:
        raise InputError(
            f"seed {TRAIN_SEED} draws the architectures the composition was trained on; "
            "choose any other seed for a held-out set"
        )


def evaluate(
    models: Models,
    threads: int,
    n: int,
    seed: int = 1,
    rounds: int = 3,
    anchors: int = ANCHORS,
    progress=lambda: None,
    on_total=lambda total: None,
):
    """(summary dict per the JSON contract, the measurements); errors are (predicted − measured) / measured.
    The architectures are drawn from ``seed``, which must not be the training seed.  Every model
    is predicted first; then all are measured in ``rounds`` interleaved passes, and a model's
    measured latency is the median of its rounds' medians.

    With ``anchors``, that many reference models (training architectures, never held-out ones)
    are measured in the same passes, spread through each, and every prediction is scaled by the
    drift they show (``corrections.Drift``, which replaces any drift ``models`` carried): the table
    was measured minutes or hours before, and a shared machine moves in between.  No held-out
    measurement enters any prediction."""
    check_seed(seed)
    if not isinstance(rounds, int) or rounds < 1:
        raise InputError(f"--rounds must be a whole number ≥ 1, got {rounds}")
    models.drift = None
    items = draw(n, seed)
    priced = []
    for _, model, args in items:
        t = trace_model(model, args)
        priced.append((t, list(price_calls(models, t, threads))))
    predicted = [predict_trace(models, t, threads, p).latency_ms for t, p in priced]
    t0 = time.perf_counter()
    refs = reference_models(models, threads, anchors) if anchors else []
    k = len(refs)
    order = sorted(range(n + k), key=lambda i: i / n if i < n else (i - n + 0.5) / k)  # references spread through
    on_total((n + k) * rounds)
    per = dict(
        zip(order, measure_rounds([items[i] if i < n else refs[i - n][:3] for i in order], threads, rounds, progress))
    )
    drift = (
        drift_from(
            refs, [float(np.median([m.latency_ms.p50 for m in per[n + j]])) for j in range(k)], time.perf_counter() - t0
        )
        if refs
        else None
    )
    rows, measurements = [], []
    for i, ((arch, _, _), p, (_, pr)) in enumerate(zip(items, predicted, priced)):
        p = p * (drift.factor(drift_features(pr)) if drift else 1.0)
        ms = per[i]
        p50s = [m.latency_ms.p50 for m in ms]
        measured = float(np.median(p50s))
        rows.append(
            {
                "arch": arch,
                "predicted_ms": p,
                "measured_ms": measured,
                "error": (p - measured) / measured,
                "rounds_ms": p50s,
            }
        )
        measurements.append(ms[int(np.argsort(p50s)[len(p50s) // 2])])  # the round at the median
    summary = summarize_errors(rows)
    summary["rounds"] = rounds
    summary["measurement_repeatability"] = repeatability(rows)
    summary["drift"] = drift.to_dict() if drift else None
    summary["notes"] = noise_notes(summary["measurement_repeatability"])
    return summary, measurements


NOISY_SPREAD = 0.05  # a median spread of rounds beyond this, and ±10% judges the machine as much as the predictor


def noise_notes(rep: dict) -> list[str]:
    """A warning when the models' own rounds disagree too much to judge predictions to ±10%."""
    if rep["median_spread"] <= NOISY_SPREAD:
        return []
    return [
        f"the machine was noisy during this evaluation: half the models had a round {100 * rep['median_spread']:.0f}% "
        "or more from their own median, so the shares above measure the machine as much as the predictor; "
        "run it again when the machine is quiet, or with more --rounds"
    ]


def repeatability(rows: list[dict]) -> dict:
    """How far a model's rounds lie from their own median: the noise floor the predictor is
    judged against (shares of models whose every round is within ±5% / ±10% of it)."""
    spread = (
        np.array([max(abs(v / r["measured_ms"] - 1) for v in r["rounds_ms"]) for r in rows]) if rows else np.zeros(0)
    )
    return {
        "within_5pct": float(np.mean(spread <= 0.05)) if len(rows) else 0.0,
        "within_10pct": float(np.mean(spread <= 0.10)) if len(rows) else 0.0,
        "median_spread": float(np.median(spread)) if len(rows) else 0.0,
    }


def share_ci(hits: int, n: int, confidence: float = 0.95) -> list[float]:
    """The Wilson interval for a share of ``hits`` in ``n`` models: 90 of 100 within ±10% is
    82.6-94.5% at 95%, so one run on 100 models tells a predictor at 90% from one at 85% only
    roughly."""
    from scipy.stats import binomtest

    if n == 0:
        return [0.0, 1.0]
    ci = binomtest(hits, n).proportion_ci(confidence, method="wilson")
    return [float(ci.low), float(ci.high)]


def summarize_errors(rows: list[dict]) -> dict:
    errs = np.array([r["error"] for r in rows])
    hits5, hits10 = int(np.sum(np.abs(errs) <= 0.05)), int(np.sum(np.abs(errs) <= 0.10))
    families = sorted({r["arch"]["family"] for r in rows})
    per_family = {}
    for fam in families:
        e = np.array([r["error"] for r in rows if r["arch"]["family"] == fam])
        per_family[fam] = {
            "n": len(e),
            "within_10pct": float(np.mean(np.abs(e) <= 0.10)),
            "mean_error": float(e.mean()),
        }
    return {
        "n_models": len(rows),
        "within_5pct": hits5 / len(rows) if rows else 0.0,
        "within_10pct": hits10 / len(rows) if rows else 0.0,
        "within_5pct_ci": share_ci(hits5, len(rows)),
        "within_10pct_ci": share_ci(hits10, len(rows)),
        "rmspe": float(math.sqrt(np.mean(errs**2))) if len(rows) else 0.0,
        "per_family": per_family,
        "models": rows,
    }
