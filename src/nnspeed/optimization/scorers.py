"""How good a variant's outputs are, computed from what its runtime really returned.

Labelled data gives test accuracy in points (0–100) so that ``--max-drop 1.0`` means one
point; a user's ``--eval`` function gives its own score.  Without either, outputs are compared
with fp32's (``fidelity.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .metrics import wilson

# Inputs per evaluation call; the last chunk is padded to keep static-shape runtimes happy.
EVAL_BATCH = 64
# A class is flagged when its drop is this many times the average drop (and at least one image).
FLAG_RATIO = 3.0


@dataclass
class Score:
    value: float  # points (accuracy, agreement %), cosine or dB; higher is better
    metric: str
    per_class: dict[str, float] = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    ci95: tuple[float, float] | None = None  # None where the score's spread is unknown (a user's function)
    n: int | None = None  # inputs the score rests on
    threshold: float | None = None  # fidelity: the score its interval must reach
    passed: bool | None = None  # fidelity: no output's interval lies wholly below its threshold
    outputs: list[dict] = field(default_factory=list)  # fidelity: every output's estimate and verdict

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "value": self.value,
            "ci95": None if self.ci95 is None else list(self.ci95),
            "n": self.n,
            "threshold": self.threshold,
            "passed": self.passed,
            "outputs": self.outputs,
        }


def _chunks(x: np.ndarray, name: str, size: int = EVAL_BATCH) -> list[tuple[dict, int]]:
    out = []
    for i in range(0, len(x), size):
        part = x[i : i + size]
        n = len(part)
        if n < size:
            part = np.concatenate([part, np.repeat(part[-1:], size - n, axis=0)])
        out.append(({name: part}, n))
    return out


def batch_first(a: np.ndarray, batch: int) -> np.ndarray:
    """An output with its batch axis first: an LSTM's (h, c) carry the batch on axis 1."""
    a = np.asarray(a)
    if a.ndim == 0 or a.shape[0] == batch or batch not in a.shape:
        return a
    return np.moveaxis(a, a.shape.index(batch), 0)


def run_outputs(runner, chunks: list[tuple[dict, int]]) -> list[np.ndarray]:
    """Every output of every chunk, batch axis first, padding removed, concatenated along the batch."""
    parts = []
    for c, _ in chunks:
        batch = len(next(iter(c.values())))
        parts.append([batch_first(a, batch) for a in runner.outputs(runner.run(runner.prepare(c)))])
    return [np.concatenate([p[k][:n] for p, (_, n) in zip(parts, chunks)]) for k in range(len(parts[0]))]


def drop_reason(base: Score, var: Score, max_drop: float) -> str:
    """Why a variant scored against labels (or a user's function) is rejected; empty when kept."""
    drop = base.value - var.value
    return f"{var.metric} drops {drop:.2f} points (> {max_drop:g})" if drop > max_drop else ""


class AccuracyScorer:
    """Top-1 accuracy on a held-out split, overall and per class, with a Wilson interval.

    The gate is the drop on this split (the user's own test set is the yardstick), not its
    interval."""

    metric = "test accuracy"
    eval_batch = EVAL_BATCH

    def __init__(self, split, input_name: str = "x"):
        self.split = split
        self.chunks = _chunks(split.x_test, input_name)

    def score(self, outputs: list[np.ndarray]) -> Score:
        pred = outputs[0].argmax(-1)
        y = self.split.y_test
        per_class = {c: 100.0 * float(np.mean(pred[y == k] == k)) for k, c in enumerate(self.split.classes)}
        right, n = int(np.sum(pred == y)), len(y)
        lo, hi = wilson(right, n)
        return Score(100.0 * right / n, self.metric, per_class, {"n": n}, ci95=(100 * lo, 100 * hi), n=n)

    def judge(self, base: Score, var: Score, max_drop: float) -> str:
        return drop_reason(base, var, max_drop)


def per_class_drops(base: Score, var: Score, split) -> tuple[dict[str, float], list[str]]:
    """Points lost per class, and the classes hit several times harder than the average."""
    if not base.per_class:
        return {}, []
    drops = {c: base.per_class[c] - var.per_class.get(c, 0.0) for c in base.per_class}
    average = max(0.0, float(np.mean(list(drops.values()))))
    one_image = {c: 100.0 / max(1, int(np.sum(split.y_test == k))) for k, c in enumerate(split.classes)}
    ranked = sorted(drops.items(), key=lambda kv: -kv[1])
    # The worst-hit class is always named once it lost an image; others when hit several times
    # harder than the average.
    flagged = [
        c for i, (c, d) in enumerate(ranked) if d >= one_image[c] - 1e-9 and (i == 0 or d >= FLAG_RATIO * average)
    ]
    return drops, flagged


class UserScorer:
    """A user's ``function(predict) -> score``: ``predict(*arrays)`` runs the variant's own
    runtime on any number of samples (dimension 0) and returns its first output."""

    eval_batch = EVAL_BATCH

    def __init__(self, fn, ref: str, input_names: list[str]):
        self.fn, self.names = fn, input_names
        self.metric = f"score of {ref}"

    def evaluate(self, runner) -> Score:
        def predict(*arrays):
            if len(arrays) != len(self.names):
                raise ValueError(f"predict takes {len(self.names)} arrays ({', '.join(self.names)})")
            n = len(arrays[0])
            chunks = [
                ({name: part[0][name] for name, part in zip(self.names, parts)}, parts[0][1])
                for parts in zip(*[_chunks(np.asarray(a), name) for name, a in zip(self.names, arrays)])
            ]
            return run_outputs(runner, chunks)[0][:n]

        value = float(self.fn(predict))
        return Score(value, self.metric)

    def judge(self, base: Score, var: Score, max_drop: float) -> str:
        return drop_reason(base, var, max_drop)
