"""Fidelity metrics: how close a variant's outputs are to fp32's on the same inputs, each a
point estimate with a 95% confidence interval over the inputs.

The unit of evidence is the input: positions inside one input (pixels, tokens) are not
independent, so intervals resample inputs.  Where an input gives one yes/no (top-1 of class
logits) the interval is Wilson's, which stays honest at 100% agreement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

CONFIDENCE = 0.95
Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 2000
# Identical outputs have infinite SNR; float32 round-off sits near 140 dB, so this reads "exact".
SNR_CAP_DB = 120.0
# Default for regressions: noise power 1/1000 of the signal's (about 3% RMS error).
SNR_DEFAULT_DB = 30.0
# Near-duplicate inputs make the single nearest neighbour a coin toss between ties; retrieval
# holds when fp32's neighbour is still among the variant's first few.
RETRIEVAL_TOP = 3


@dataclass(frozen=True)
class Estimate:
    metric: str
    value: float
    ci95: tuple[float, float]
    n: int  # inputs the estimate rests on
    method: str
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "value": self.value,
            "ci95": list(self.ci95),
            "n": self.n,
            "method": self.method,
            **self.extra,
        }


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n."""
    if n == 0:
        return float("nan"), float("nan")
    p, z2 = k / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _resamples(n: int, seed: int = 0) -> np.ndarray:
    """Bootstrap index sets (resamples x n) over inputs, seeded so a score never jitters."""
    return np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    # nearest, not interpolated: an interval reaching -inf dB stays -inf instead of NaN (-inf - -inf)
    lo, hi = np.percentile(values, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2], method="nearest")
    return float(lo), float(hi)


def mean_ci(per_input: np.ndarray) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean over inputs."""
    if len(per_input) < 2:
        return float(per_input.mean()), float(per_input.mean())
    return _percentiles(per_input[_resamples(len(per_input))].mean(axis=1))


def _flat(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(len(a), -1)


def _labels(a: np.ndarray, axis: int | None) -> np.ndarray:
    return (np.asarray(a) if axis is None else np.asarray(a).argmax(axis=axis)).reshape(len(a), -1)


def agreement(ref: np.ndarray, out: np.ndarray, axis: int | None) -> Estimate:
    """Share (%) of inputs, or of positions, whose argmax along ``axis`` (the values themselves
    when None) matches fp32's.  Several positions per input: the wider of a bootstrap over
    inputs and a Wilson interval on all positions (the bootstrap alone is a point when every
    input agrees fully)."""
    same = _labels(ref, axis) == _labels(out, axis)
    n, k, total = len(same), int(same.sum()), same.size
    value = 100.0 * k / total
    if same.shape[1] == 1:
        lo, hi = wilson(k, n)
        return Estimate("agreement", value, (100 * lo, 100 * hi), n, "Wilson over inputs")
    b_lo, b_hi = mean_ci(same.mean(axis=1))
    w_lo, w_hi = wilson(k, total)
    ci = (100 * min(b_lo, w_lo), 100 * max(b_hi, w_hi))
    extra = {"positions_per_input": int(same.shape[1])}
    return Estimate("agreement", value, ci, n, "bootstrap over inputs ∪ Wilson over positions", extra)


def iou(ref: np.ndarray, out: np.ndarray, axis: int | None) -> Estimate:
    """Mean intersection-over-union (%) of the argmax class maps, per input over the classes
    either map contains, then averaged over inputs."""
    a, b = _labels(ref, axis), _labels(out, axis)
    classes = np.union1d(np.unique(a), np.unique(b))
    inter = np.stack([((a == c) & (b == c)).sum(axis=1) for c in classes], axis=1)
    union = np.stack([((a == c) | (b == c)).sum(axis=1) for c in classes], axis=1)
    present = union > 0
    per_input = np.where(present, inter / np.maximum(union, 1), 0).sum(axis=1) / present.sum(axis=1)
    lo, hi = mean_ci(per_input)
    return Estimate("iou", 100.0 * float(per_input.mean()), (100 * lo, 100 * hi), len(a), "bootstrap over inputs")


def cosine(ref: np.ndarray, out: np.ndarray, axis: int | None = None) -> Estimate:
    """Mean cosine similarity of each input's whole output to fp32's."""
    r, o = _flat(ref), _flat(out)
    per_input = (r * o).sum(1) / (np.linalg.norm(r, axis=1) * np.linalg.norm(o, axis=1) + 1e-12)
    lo, hi = mean_ci(per_input)
    extra = {"min": float(per_input.min())}
    return Estimate("cosine", float(per_input.mean()), (lo, hi), len(r), "bootstrap over inputs", extra)


def _ranked_neighbours(e: np.ndarray) -> np.ndarray:
    """For each row, the other rows from most to least similar (cosine)."""
    unit = e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-12)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1)[:, :-1]


def retrieval(ref: np.ndarray, out: np.ndarray, axis: int | None = None) -> Estimate:
    """Share (%) of inputs whose nearest neighbour among the inputs under fp32 is still among
    their first ``RETRIEVAL_TOP`` under the variant."""
    r, o = _flat(ref), _flat(out)
    if len(r) <= RETRIEVAL_TOP:
        raise InputError(f"retrieval agreement needs more than {RETRIEVAL_TOP} inputs to rank neighbours")
    first, ranked = _ranked_neighbours(r)[:, 0], _ranked_neighbours(o)[:, :RETRIEVAL_TOP]
    hits = np.array([f in row for f, row in zip(first, ranked)])
    lo, hi = wilson(int(hits.sum()), len(hits))
    extra = {"nearest_same": float(np.mean(first == ranked[:, 0]))}
    return Estimate("retrieval", 100.0 * float(hits.mean()), (100 * lo, 100 * hi), len(r), "Wilson over inputs", extra)


# fp32's variation between inputs below this share of its size counts as none at all.
CONSTANT_SHARE = 1e-12


def _snr_db(signal: np.ndarray, noise: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10 * np.log10(signal / noise)
    return np.where(noise == 0, SNR_CAP_DB, np.minimum(db, SNR_CAP_DB))


def snr(ref: np.ndarray, out: np.ndarray, axis: int | None = None) -> Estimate:
    """Signal-to-noise ratio (dB) of the variant's error against how fp32's outputs vary from
    input to input (each element centred on its mean over the inputs: a constant offset, such
    as a bias, is no signal a variant could keep), pooled over inputs and capped at
    ``SNR_CAP_DB`` (exact).  Per-element errors ride along."""
    r, o = _flat(ref), _flat(out)
    err = o - r
    centred = r - r.mean(axis=0) if len(r) > 1 else r
    constant = float((centred * centred).sum()) <= CONSTANT_SHARE * float((r * r).sum())
    if constant:  # fp32 gives the same output for every input: judge the error against its size
        centred = r
    signal, noise = (centred * centred).sum(1), (err * err).sum(1)
    value = float(_snr_db(signal.sum(), noise.sum()))
    idx = _resamples(len(r))
    ci = _percentiles(_snr_db(signal[idx].sum(1), noise[idx].sum(1))) if len(r) > 1 else (value, value)
    extra = {
        "max_abs_error": float(np.abs(err).max()),
        "mean_abs_error": float(np.abs(err).mean()),
        "signal_rms": float(np.sqrt((centred * centred).mean())),
        "signal": "fp32's output itself (it is the same for every input)" if constant else "fp32's variation",
    }
    return Estimate("snr", value, ci, len(r), "bootstrap over inputs", extra)


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # what the score is, for tables
    unit: str
    compute: Callable[[np.ndarray, np.ndarray, int | None], Estimate]
    bounds: tuple[float, float]  # a threshold must lie in (low, high]
    needs_classes: bool = False  # an argmax only means something with two classes or more

    def default_threshold(self, max_drop: float) -> float:
        """``--max-drop`` points below exact agreement (cosine: hundredths below 1)."""
        if self.name == "snr":
            return SNR_DEFAULT_DB
        return 1.0 - max_drop / 100 if self.name == "cosine" else 100.0 - max_drop

    def show(self, x: float) -> str:
        return f"{x:.4f}" if self.name == "cosine" else f"{x:.2f}"


METRICS = {
    m.name: m
    for m in (
        Metric("agreement", "argmax agreement with fp32 (%)", "%", agreement, (0.0, 100.0), needs_classes=True),
        Metric("iou", "mean IoU with fp32's class map (%)", "%", iou, (0.0, 100.0), needs_classes=True),
        Metric("cosine", "cosine to fp32", "", cosine, (-1.0, 1.0)),
        Metric("retrieval", f"fp32's nearest input in the variant's top {RETRIEVAL_TOP} (%)", "%", retrieval, (0, 100)),
        Metric("snr", "SNR against fp32 (dB)", "dB", snr, (0.0, SNR_CAP_DB)),
    )
}
ALIASES = {"top1": "agreement", "top-1": "agreement", "pixel": "agreement", "miou": "iou"}


def parse_fidelity(text: str) -> tuple[str, float | None]:
    """``METRIC[:THRESHOLD]`` from ``--fidelity`` as (metric name, threshold or None)."""
    name, _, value = text.strip().partition(":")
    name = ALIASES.get(name.strip().lower(), name.strip().lower())
    if name not in METRICS:
        raise InputError(
            f"--fidelity takes METRIC:THRESHOLD with METRIC one of {', '.join(METRICS)} "
            f"(e.g. agreement:99 or snr:30); got '{text}'"
        )
    if not value.strip():
        return name, None
    try:
        threshold = float(value)
    except ValueError:
        raise InputError(f"--fidelity {text}: the threshold must be a number, e.g. {name}:99") from None
    low, high = METRICS[name].bounds
    if not (low < threshold <= high):
        raise InputError(
            f"--fidelity {text}: a {name} threshold must be above {low:g} and at most {high:g} {METRICS[name].unit}"
        )
    return name, threshold
