"""What operators cost inside a model rather than alone in a loop.

A kernel timed alone finds its code, weights and buffers hot and its threads awake; inside a
model each call follows a different one, and how much that costs depends on the mix.  The
sum of the parts is therefore corrected by a factor learned from whole models: training
architectures drawn from the same families as the evaluation set but from their own seed
(``TRAIN_SEED``; the evaluation refuses it), each priced part by part and measured whole.  A
Gaussian process (Matérn 5/2) maps a model's summary (what its parts add up to, how they split
across operator categories and between torch's two convolution paths, how many calls of
each, FLOPs, weight bytes, batch) to the log of measured over summed.
"""

from __future__ import annotations

import math

import numpy as np

CATEGORIES = ["gemm", "norm", "elementwise", "view"]
# plus one more count: calls that directly follow a GEMM-class call (its output is new to them)
FEATURES = [*CATEGORIES, "after_gemm"]
GEMM = {"Linear", "Conv2d", "scaled_dot_product_attention", "matmul", "bmm", "__matmul__"}
NORM = {"BatchNorm2d", "BatchNorm1d", "LayerNorm", "Softmax", "softmax", "layer_norm", "log_softmax"}
VIEWLIKE = {"Dropout", "Identity", "Flatten", "dropout"}
TRAIN_SEED = 1000
TRAIN_MODELS = 240
TRAIN_ROUNDS = 3
# training architectures re-measured at prediction time to follow the machine's drift
ANCHORS = 20
OUTLIER = 0.4  # log(measured / predicted) this far (1.5x) from the reference models' median: left out
RIDGE = 0.05  # the drift's penalty on its slopes, per reference model


def category(op: str) -> str:
    from .predictor import VIEWS

    if op in GEMM:
        return "gemm"
    if op in NORM:
        return "norm"
    if op in VIEWS or op in VIEWLIKE:
        return "view"
    return "elementwise"


def walk(calls):
    """Each call with its category, and whether it directly follows a GEMM-class call (views
    in between do not count)."""
    previous = None
    for c in calls:
        cat = category(c.op)
        yield c, cat, previous == "gemm" and cat not in ("gemm", "view")
        if cat != "view":
            previous = cat


def category_counts(calls) -> list[float]:
    row = [0.0] * len(FEATURES)
    for _, cat, after_gemm in walk(calls):
        row[FEATURES.index(cat)] += 1
        row[FEATURES.index("after_gemm")] += after_gemm
    return row


def features(s: dict) -> list[float]:
    """A model summary (``predictor.summarize``) as the correction's inputs."""
    total = s["parts_ms"] + s["base_ms"]
    return [math.log(total), *[v / total for v in s["by_category_ms"]], *[v / total for v in s["conv_ms"]],
            *[math.log1p(c) for c in s["counts"]], math.log1p(s["flops"]), math.log1p(s["param_bytes"]),
            math.log(max(1, s["batch"]))]  # fmt: skip


def train_count(scale: float) -> int:
    return max(12, int(round(TRAIN_MODELS * scale)))


def training_architectures(n: int) -> list:
    """(arch, model, args, trace) for the first n training architectures."""
    from .archs import draw
    from .trace import trace_model

    return [(arch, model, args, trace_model(model, args)) for arch, model, args in draw(n, TRAIN_SEED)]


def training_shapes(archs: list, threads: int) -> dict[str, list[dict]]:
    """The Linear and Conv2d shapes the training architectures call, each once (at both cache
    states where a model is priced between them): the operator tables sample them first, as a
    careful study samples from the models it serves."""
    from .predictor import cold_ends, cold_share, gemm_params

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
    from .evaluate import measure_rounds
    from .predictor import summarize

    per_model = measure_rounds([(arch, model, args) for arch, model, args, _ in archs], threads, TRAIN_ROUNDS, progress)
    rows = []
    for (arch, _, _, t), ms in zip(archs, per_model):
        s = summarize(models, t, threads)
        s["family"], s["measured_ms"] = arch["family"], float(np.median([m.latency_ms.p50 for m in ms]))
        rows.append(s)
    return rows


class Composition:
    """measured / summed for a model summary; 1 when the table holds no training models."""

    def __init__(self, rows: list[dict], theta=None):
        self.gp = None
        if len(rows) < 8:
            return
        from .fit import LogGP

        y = np.log([r["measured_ms"] / (r["parts_ms"] + r["base_ms"]) for r in rows])
        self.gp = LogGP([features(r) for r in rows], y, max_noise=1.0, theta=theta)

    def factor(self, s: dict) -> float:
        if self.gp is None:
            return 1.0
        mean, _ = self.gp.predict_log([features(s)])
        return float(math.exp(mean[0]))


# what a model spends its time on, for telling which reference models it resembles
SHARE_GROUPS = ({"Conv2d"}, {"Linear"}, {"scaled_dot_product_attention", "matmul", "bmm", "__matmul__"})


def drift_features(priced: list) -> list[float]:
    """Shares of the summed parts in convolutions, Linear, attention/matmul, norms and
    elementwise calls, and the log of the sum (over 4, to weigh about as much as a share)."""
    total = max(sum(ms for _, _, ms, _ in priced), 1e-9)
    groups = [sum(ms for c, _, ms, _ in priced if c.op in g) / total for g in SHARE_GROUPS]
    cats = [sum(ms for _, cat, ms, _ in priced if cat == k) / total for k in ("norm", "elementwise")]
    return [*groups, *cats, math.log(total) / 4]


class Drift:
    """How far the predictor is off for whole models on this machine now.

    On a shared machine whole models drift by 5-20% over tens of minutes while isolated
    kernels barely move (neighbours contend for cache and memory, which a kernel timed in a
    loop hardly needs), and not by the same amount for all: small models, dominated by the
    cost of each call, have moved more than large ones.  So a table measured earlier goes
    stale.  A few of the table's training architectures are predicted and measured again now,
    and their log(measured / predicted) is fitted as a linear function of ``drift_features``
    (ridge regression: the intercept free, the slopes penalized ``RIDGE`` per reference model),
    leaving out any more than ``OUTLIER`` (in log) from their median.  A model's correction is
    that function at its features, both kept within the range the reference models span (a
    model larger than any of them is corrected as the largest is)."""

    def __init__(self, X: list[list[float]], log_ratio: list[float], seconds: float = 0.0):
        self.log_ratio, self.seconds = np.asarray(log_ratio, dtype=float), seconds
        # a reference model far from the others' median was caught by a burst of load, or is
        # priced badly: it does not speak for the machine
        keep = np.abs(self.log_ratio - np.median(self.log_ratio)) <= OUTLIER
        Xk, y = np.asarray(X, dtype=float)[keep], self.log_ratio[keep]
        X1 = np.c_[np.ones(len(y)), Xk]
        penalty = RIDGE * len(y) * np.diag([0.0] + [1.0] * Xk.shape[1])
        self.w = np.linalg.solve(X1.T @ X1 + penalty, X1.T @ y)
        self.lo, self.hi = float(y.min()), float(y.max())
        self.x_lo, self.x_hi = Xk.min(axis=0), Xk.max(axis=0)

    def factor(self, x: list[float]) -> float:
        x = np.clip(np.asarray(x, dtype=float), self.x_lo, self.x_hi)  # no extrapolation past the reference models
        return float(math.exp(np.clip(self.w[0] + np.dot(self.w[1:], x), self.lo, self.hi)))

    def to_dict(self) -> dict:
        return {"anchors": len(self.log_ratio), "median_ratio": float(np.exp(np.median(self.log_ratio))),
                "ratios": [float(v) for v in np.exp(self.log_ratio)], "seconds": self.seconds}  # fmt: skip


def reference_models(models, threads: int, n: int = ANCHORS) -> list[tuple]:
    """The first ``n`` training architectures as (arch, model, args, predicted_ms, drift
    features), predicted by ``models`` without a drift of its own; [] when the table holds
    too few (under 3) to tell a drift."""
    from .archs import draw
    from .predictor import _priced, predict_trace
    from .trace import trace_model

    n = min(n, len(models.training))
    if n < 3:
        return []
    out = []
    for arch, model, args in draw(n, TRAIN_SEED):
        t = trace_model(model, args)
        priced = list(_priced(models, t, threads))
        out.append((arch, model, args, predict_trace(models, t, threads, priced).latency_ms, drift_features(priced)))
    return out


def drift_from(refs: list[tuple], measured_ms: list[float], seconds: float) -> Drift:
    return Drift([r[4] for r in refs], [math.log(m / r[3]) for r, m in zip(refs, measured_ms)], seconds)


def measure_drift(models, threads: int, n: int = ANCHORS, progress=lambda: None) -> Drift | None:
    """Predict and measure the reference models now; None when the table holds too few."""
    import time

    from .evaluate import measure_model

    t0 = time.perf_counter()
    refs = reference_models(models, threads, n)
    measured = []
    for arch, model, args, *_ in refs:
        measured.append(measure_model(model, args, arch["batch"], threads).latency_ms.p50)
        progress()
    return drift_from(refs, measured, time.perf_counter() - t0) if refs else None
