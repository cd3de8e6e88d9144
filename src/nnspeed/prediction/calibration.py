"""Whole models measured to calibrate the parts: the training architectures the composition
learns from, and the reference models that tell the machine's drift now.

Training architectures are drawn from the same families as the evaluation set but from their
own seed (``TRAIN_SEED``; the evaluation refuses it), each priced part by part and measured
whole.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..backends.base import Settings
from ..measure.stoprule import StopRule
from ..scenarios.single_stream import single_stream
from ..workloads.sources import workload_from_module
from .archs import draw
from .corrections import Drift, drift_features
from .pricing import cold_ends, cold_share, gemm_params, predict_trace, price_calls, summarize_parts
from .trace import trace_model

TRAIN_SEED = 1000
TRAIN_MODELS = 240
TRAIN_ROUNDS = 3
# training architectures re-measured at prediction time to follow the machine's drift
ANCHORS = 20
EVAL_STOP = StopRule(min_time=0.3, max_time=1.0, ci_rel=0.02)


def measure_model(model, args: tuple, batch: int, threads: int):
    """One model measured for real with the core harness (single stream, torch-eager fp32)."""
    w = workload_from_module(model, args)
    return single_stream(w, Settings("torch-eager", "fp32", batch, threads, "cpu", {}), EVAL_STOP)


def measure_rounds(items: list, threads: int, rounds: int, progress=lambda: None) -> list[list]:
    """Each (arch, model, args) measured ``rounds`` times, one pass over all of them per round:
    a machine that drifts over minutes moves every model's rounds apart instead of moving the
    models measured late.  The Measurements per item, in round order."""
    out: list[list] = [[] for _ in items]
    for _ in range(rounds):
        for i, (arch, model, args) in enumerate(items):
            out[i].append(measure_model(model, args, arch["batch"], threads))
            progress()
    return out


def train_count(scale: float) -> int:
    return max(12, round(TRAIN_MODELS * scale))


def training_architectures(n: int) -> list:
    """(arch, model, args, trace) for the first n training architectures."""
    return [(arch, model, args, trace_model(model, args)) for arch, model, args in draw(n, TRAIN_SEED)]


def training_shapes(archs: list, threads: int) -> dict[str, list[dict]]:
    """The Linear and Conv2d shapes the training architectures call, each once (at both cache
    states where a model is priced between them): the operator tables sample them first, as a
    careful study samples from the models it serves."""
    out: dict[str, list[dict]] = {"Linear": [], "Conv2d": []}
    for *_, t in archs:
        gemms = [fp for fp in (gemm_params(c, 0, threads) for c in t.calls) if fp is not None]
        for cold, _ in cold_ends(cold_share(t, threads)):
            for family, params in gemms:
                p = {**params, "cold": cold}
                if p not in out[family]:
                    out[family].append(p)
    return out


def measure_training(models, archs: list, threads: int, progress=lambda: None) -> list[dict]:
    """Summaries of the training architectures, each with its measured latency (``measured_ms``):
    the median of ``TRAIN_ROUNDS`` interleaved passes, as the evaluation measures, so that a
    burst of load on a shared machine does not become what a kind of model is taught to cost."""
    per_model = measure_rounds([(arch, model, args) for arch, model, args, _ in archs], threads, TRAIN_ROUNDS, progress)
    rows = []
    for (arch, _, _, t), ms in zip(archs, per_model):
        s = summarize_parts(models, t, threads)
        s["family"], s["measured_ms"] = arch["family"], float(np.median([m.latency_ms.p50 for m in ms]))
        rows.append(s)
    return rows


def reference_models(models, threads: int, n: int = ANCHORS) -> list[tuple]:
    """The first ``n`` training architectures as (arch, model, args, predicted_ms, drift
    features), predicted by ``models`` without a drift of its own; [] when the table holds
    too few (under 3) to tell a drift."""
    n = min(n, len(models.training))
    if n < 3:
        return []
    out = []
    for arch, model, args in draw(n, TRAIN_SEED):
        t = trace_model(model, args)
        priced = list(price_calls(models, t, threads))
        out.append((arch, model, args, predict_trace(models, t, threads, priced).latency_ms, drift_features(priced)))
    return out


def drift_from(refs: list[tuple], measured_ms: list[float], seconds: float) -> Drift:
    return Drift([r[4] for r in refs], [math.log(m / r[3]) for r, m in zip(refs, measured_ms)], seconds)


def measure_drift(models, threads: int, n: int = ANCHORS, progress=lambda: None) -> Drift | None:
    """Predict and measure the reference models now; None when the table holds too few."""
    t0 = time.perf_counter()
    refs = reference_models(models, threads, n)
    measured = []
    for arch, model, args, *_ in refs:
        measured.append(measure_model(model, args, arch["batch"], threads).latency_ms.p50)
        progress()
    return drift_from(refs, measured, time.perf_counter() - t0) if refs else None
