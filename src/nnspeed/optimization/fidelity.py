"""Fidelity to fp32 without labels: every output scored with a metric that fits it, each with
a confidence interval, and the worst output decides.

A variant is rejected only when an output's interval lies wholly below its threshold: with
the interval in view, one flipped input among many is noise, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ModelError
from .metrics import METRICS, Metric
from .outputs import RULE, OutputKind
from .scorers import Score

# A second figure shown beside the deciding metric, where the kind has a natural one.
ALSO = {"class-map": "iou", "embedding": "retrieval"}
# When always answering fp32's most common class would pass the agreement threshold, agreement
# cannot tell a broken variant from a good one (an untrained model's constant map); the scores
# are then also held to this SNR (noise power 1% of how fp32's scores vary with the input).
GUARD_SNR_DB = 20.0


@dataclass(frozen=True)
class Check:
    """How one output is scored: its kind, metric and threshold."""

    kind: OutputKind
    metric: Metric
    threshold: float
    why: str = ""  # a guard check: why it was added

    @property
    def label(self) -> str:
        if self.metric.name != "agreement":
            return self.metric.label
        where = {"logits": "top-1", "labels": "label", "class-map": "per-position argmax"}.get(self.kind.kind, "argmax")
        if self.kind.kind == "class-map" and len(self.kind.shape) == 3:
            where = "per-pixel argmax"
        return f"{where} agreement with fp32 (%)"

    def margin(self, bound: float) -> float:
        """How far ``bound`` is above the threshold, in comparable steps (a point; 0.01 cosine)."""
        return (bound - self.threshold) / (0.01 if self.metric.name == "cosine" else 1.0)


def checks_for(kinds: list[OutputKind], metric: str | None, threshold: float | None, max_drop: float) -> list[Check]:
    """Each output's check: the metric its kind calls for (or ``metric`` for all), at
    ``threshold`` or the metric's default for ``max_drop``."""
    made = []
    for k in kinds:
        m = METRICS[metric or k.default_metric]
        if m.needs_classes and k.kind != "labels" and (k.axis is None or k.shape[k.axis - 1] < 2):
            raise InputError(
                f"--fidelity {m.name} compares class scores, but {k.describe()} has none; "
                "use snr or cosine for this model"
            )
        made.append(Check(k, m, m.default_threshold(max_drop) if threshold is None else threshold))
    return made


def guarded(checks: list[Check], reference: list[np.ndarray]) -> list[Check]:
    """``checks`` plus an SNR check on every output whose agreement a constant answer would pass."""
    made = list(checks)
    for c in checks:
        if c.metric.name != "agreement" or c.kind.axis is None:
            continue
        labels = reference[c.kind.index].argmax(axis=c.kind.axis)
        share = float(np.bincount(labels.ravel()).max() / labels.size)
        if 100 * share >= c.threshold:
            why = (
                f"fp32 answers one class at {100 * share:.2f}% of positions, so a constant answer would pass "
                f"{c.threshold:g}% agreement; the scores themselves are held to SNR ≥ {GUARD_SNR_DB:g} dB too"
            )
            made.append(Check(c.kind, METRICS["snr"], GUARD_SNR_DB, why))
    return made


class FidelityScorer:
    """Agreement of every output with the fp32 baseline's on the same inputs."""

    def __init__(self, chunks: list[tuple[dict, int]], reference: list[np.ndarray], checks: list[Check]):
        self.chunks, self.reference = chunks, reference
        self.checks = checks = guarded(checks, reference)
        self.eval_batch = chunks[0][1]
        self.n = len(reference[0])
        if len(reference) == 1:
            self.metric = checks[0].label
        else:
            self.metric = f"fidelity to fp32, worst of {len(reference)} outputs"

    def describe(self) -> dict:
        """How outputs are scored, for the result document."""
        return {
            "rule": RULE,
            "n": self.n,
            "outputs": [
                {
                    **c.kind.to_dict(),
                    "metric": c.metric.name,
                    "label": c.label,
                    "threshold": c.threshold,
                    **({"guard": c.why} if c.why else {}),
                }
                for c in self.checks
            ],
        }

    def score(self, outputs: list[np.ndarray]) -> Score:
        if len(outputs) != len(self.reference):
            raise ModelError(f"the variant returns {len(outputs)} outputs where fp32 returns {len(self.reference)}")
        rows = []
        for c in self.checks:
            ref, out = self.reference[c.kind.index], outputs[c.kind.index]
            if out.shape != ref.shape:
                raise ModelError(f"output {c.kind.index} has shape {out.shape} where fp32's has {ref.shape}")
            if out.dtype.kind == "f" and not np.isfinite(out).all():
                return Score(float("nan"), c.label, n=self.n, details={"n": self.n, "non_finite_output": c.kind.index})
            rows.append((c, c.metric.compute(ref, out, c.kind.axis), self._also(c, ref, out)))
        failed = [i for i, (c, e, _) in enumerate(rows) if e.ci95[1] < c.threshold]
        if failed:  # the check whose interval lies furthest below its threshold
            deciding = min(failed, key=lambda i: rows[i][0].margin(rows[i][1].ci95[1]))
        else:  # the check closest to failing
            deciding = min(range(len(rows)), key=lambda i: rows[i][0].margin(rows[i][1].ci95[0]))
        c, e, _ = rows[deciding]
        outputs_doc = [
            {
                "index": ck.kind.index,
                "kind": ck.kind.kind,
                "label": ck.label,
                **est.to_dict(),
                "threshold": ck.threshold,
                "passed": est.ci95[1] >= ck.threshold,
                **({"also": also.to_dict()} if also else {}),
                **({"guard": ck.why} if ck.why else {}),
            }
            for ck, est, also in rows
        ]
        details = {"n": e.n, "deciding": deciding, "deciding_output": c.kind.index, "ci_method": e.method}
        return Score(
            e.value,
            c.label,
            details=details,
            ci95=e.ci95,
            n=e.n,
            threshold=c.threshold,
            passed=not failed,
            outputs=outputs_doc,
        )

    @staticmethod
    def _also(c: Check, ref: np.ndarray, out: np.ndarray):
        name = ALSO.get(c.kind.kind)
        if name is None or name == c.metric.name or c.why or len(ref) <= 3:
            return None
        return METRICS[name].compute(ref, out, c.kind.axis)

    def judge(self, base: Score, var: Score, max_drop: float) -> str:
        """Why the variant is rejected (its deciding output's interval lies below the threshold)."""
        if var.passed:
            return ""
        c = self.checks[var.details["deciding"]]
        lo, hi = var.ci95 or (var.value, var.value)
        show = c.metric.show
        where = f"{c.kind.describe()}: " if len(self.reference) > 1 else ""
        return (
            f"{where}{c.label} {show(var.value)} [{show(lo)}, {show(hi)}] over {var.n} inputs "
            f"lies below {show(c.threshold)}"
        )
