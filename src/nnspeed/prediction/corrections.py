"""What operators cost inside a model rather than alone in a loop, and how far a table has
drifted since it was measured.

Composition: a kernel timed alone finds its code, weights and buffers hot and its threads
awake; inside a model each call follows a different one, and how much that costs depends on
the mix.  The sum of the parts is therefore corrected by a factor learned from whole models
(``calibration.measure_training``): a Gaussian process (Matérn 5/2) maps a model's summary
(what its parts add up to, how they split across operator categories and between torch's two
convolution paths, how many calls of each, FLOPs, weight bytes, batch) to the log of measured
over summed.

Drift: whole models on a shared machine move over minutes while kernels barely do; a few
reference models measured again now give a correction (``Drift``).
"""

from __future__ import annotations

import math

import numpy as np

from .gp import LogGP

OUTLIER = 0.4  # log(measured / predicted) this far (1.5x) from the reference models' median: left out
RIDGE = 0.05  # the drift's penalty on its slopes, per reference model


def features(s: dict) -> list[float]:
    """A model summary (``pricing.summarize_parts``) as the correction's inputs."""
    total = s["parts_ms"] + s["base_ms"]
    return [
        math.log(total),
        *[v / total for v in s["by_category_ms"]],
        *[v / total for v in s["conv_ms"]],
        *[math.log1p(c) for c in s["counts"]],
        math.log1p(s["flops"]),
        math.log1p(s["param_bytes"]),
        math.log(max(1, s["batch"])),
    ]


class Composition:
    """measured / summed for a model summary; 1 when the table holds no training models."""

    def __init__(self, rows: list[dict], theta=None):
        self.gp = None
        if len(rows) < 8:
            return

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
        return {
            "anchors": len(self.log_ratio),
            "median_ratio": float(np.exp(np.median(self.log_ratio))),
            "ratios": [float(v) for v in np.exp(self.log_ratio)],
            "seconds": self.seconds,
        }
