"""How good a variant's outputs are, computed from what its runtime really returned.

Scores are in points (0–100, higher is better) so that ``--max-drop 1.0`` means one point:
test accuracy for classifiers with labelled data, fidelity to the fp32 baseline otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Inputs per evaluation call; the last chunk is padded to keep static-shape runtimes happy.
EVAL_BATCH = 64
# A class is flagged when its drop is this many times the average drop (and at least one image).
FLAG_RATIO = 3.0


@dataclass
class Score:
    value: float  # points, higher is better
    metric: str
    per_class: dict[str, float] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def _chunks(x: np.ndarray, name: str, size: int = EVAL_BATCH) -> list[tuple[dict, int]]:
    out = []
    for i in range(0, len(x), size):
        part = x[i : i + size]
        n = len(part)
        if n < size:
            part = np.concatenate([part, np.repeat(part[-1:], size - n, axis=0)])
        out.append(({name: part}, n))
    return out


def run_outputs(runner, chunks: list[tuple[dict, int]]) -> np.ndarray:
    """The first output of every chunk, padding removed, concatenated."""
    return np.concatenate([runner.outputs(runner.run(runner.prepare(c)))[0][:n] for c, n in chunks])


class AccuracyScorer:
    """Top-1 accuracy on a held-out split, overall and per class."""

    metric = "test accuracy"
    eval_batch = EVAL_BATCH

    def __init__(self, split, input_name: str = "x"):
        self.split = split
        self.chunks = _chunks(split.x_test, input_name)

    def score(self, outputs: np.ndarray) -> Score:
        pred = outputs.argmax(-1)
        y = self.split.y_test
        per_class = {c: 100.0 * float(np.mean(pred[y == k] == k)) for k, c in enumerate(self.split.classes)}
        return Score(100.0 * float(np.mean(pred == y)), self.metric, per_class, {"n": int(len(y))})


class FidelityScorer:
    """Agreement with the fp32 baseline's outputs on the same inputs.

    Embeddings: mean cosine similarity (×100), with the minimum and nearest-neighbour
    agreement among the inputs in the details.  Logits: top-1 agreement (×100).
    """

    def __init__(self, chunks: list[tuple[dict, int]], reference: np.ndarray, kind: str):
        self.chunks, self.reference, self.kind = chunks, reference, kind
        self.eval_batch = chunks[0][1]
        self.metric = "cosine to fp32 ×100" if kind == "embedding" else "top-1 agreement with fp32 (%)"

    def score(self, outputs: np.ndarray) -> Score:
        ref = self.reference.reshape(len(self.reference), -1).astype(np.float64)
        out = outputs.reshape(len(outputs), -1).astype(np.float64)
        cos = (ref * out).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1) + 1e-12)
        details = {"cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()), "n": int(len(ref))}
        if self.kind == "embedding":
            ref_nn, out_rank = _ranked_neighbours(ref), _ranked_neighbours(out)
            details["neighbour_agreement"] = float(np.mean(ref_nn[:, 0] == out_rank[:, 0]))
            # Near-duplicate sentences make the single nearest one a coin toss between ties;
            # retrieval is kept when fp32's neighbour is still among the variant's top 3.
            details["neighbour_in_top3"] = float(np.mean([r in o[:3] for r, o in zip(ref_nn[:, 0], out_rank)]))
            return Score(100.0 * float(cos.mean()), self.metric, {}, details)
        details["top1_agreement"] = float(np.mean(ref.argmax(1) == out.argmax(1)))
        return Score(100.0 * details["top1_agreement"], self.metric, {}, details)


def _ranked_neighbours(e: np.ndarray) -> np.ndarray:
    """For each row, the other rows from most to least similar (cosine)."""
    n = e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-12)
    sim = n @ n.T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1)[:, :-1]


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
            return run_outputs(runner, chunks)[:n]

        value = float(self.fn(predict))
        return Score(value, self.metric)
