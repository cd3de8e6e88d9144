"""Judge the predictor on held-out random architectures: predict each, then measure it for real."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..measure.stoprule import StopRule
from .archs import draw
from .compose import TRAIN_SEED
from .fit import Models
from .predictor import predict_trace
from .trace import trace_model

EVAL_STOP = StopRule(min_time=0.3, max_time=1.0, ci_rel=0.02)


def measure_model(model, args: tuple, batch: int, threads: int):
    """One model measured for real with the core harness (single stream, torch-eager fp32)."""
    from ..api import workload_from_module
    from ..backends.base import Settings
    from ..scenarios.single_stream import single_stream

    w = workload_from_module(model, args)
    return single_stream(w, Settings("torch-eager", "fp32", batch, threads, "cpu", {}), EVAL_STOP)


def check_seed(seed: int) -> None:
    if seed == TRAIN_SEED:
        raise InputError(f"seed {TRAIN_SEED} draws the architectures the composition was trained on; "
                         "choose any other seed for a held-out set")  # fmt: skip


def evaluate(models: Models, threads: int, n: int, seed: int = 1, on_model=lambda i, row: None):
    """(summary dict per the JSON contract, the measurements); errors are (predicted − measured) / measured.
    The architectures are drawn from ``seed``, which must not be the training seed."""
    check_seed(seed)
    rows, measurements = [], []
    for i, (arch, model, args) in enumerate(draw(n, seed)):
        predicted = predict_trace(models, trace_model(model, args), threads).latency_ms
        m = measure_model(model, args, arch["batch"], threads)
        measured = m.latency_ms.p50
        row = {"arch": arch, "predicted_ms": predicted, "measured_ms": measured, "error": (predicted - measured) / measured}
        rows.append(row)
        measurements.append(m)
        on_model(i, row)
    return summarize(rows), measurements


def summarize(rows: list[dict]) -> dict:
    errs = np.array([r["error"] for r in rows])
    families = sorted({r["arch"]["family"] for r in rows})
    per_family = {}
    for fam in families:
        e = np.array([r["error"] for r in rows if r["arch"]["family"] == fam])
        per_family[fam] = {"n": len(e), "within_10pct": float(np.mean(np.abs(e) <= 0.10)), "mean_error": float(e.mean())}
    return {
        "n_models": len(rows),
        "within_5pct": float(np.mean(np.abs(errs) <= 0.05)) if len(rows) else 0.0,
        "within_10pct": float(np.mean(np.abs(errs) <= 0.10)) if len(rows) else 0.0,
        "rmspe": float(math.sqrt(np.mean(errs**2))) if len(rows) else 0.0,
        "per_family": per_family,
        "models": rows,
    }
