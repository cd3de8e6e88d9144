"""What each output of a model is, guessed from its shape and dtype, to pick a fidelity metric
that fits it when there are no labels.

This is a heuristic on shapes, not knowledge of the model: results say so, and
``--fidelity METRIC:THRESHOLD`` overrides the metric it picks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Tasks whose vector outputs are embeddings (compared by direction), not class scores.
EMBEDDING_TASKS = frozenset({"embedding", "feature-extraction", "sentence-similarity", "encoder"})

# Words in an output's name (a dict key, a ModelOutput field) that say what it is.
EMBEDDING_NAMES = ("embed", "pooler", "pooled", "hidden_state", "feature", "encoding")
REGRESSION_NAMES = ("box", "bbox", "offset", "coord", "depth", "regress")
# Rows whose L2 norms are all within this of 1 are unit vectors: an embedding, not logits.
UNIT_NORM_TOLERANCE = 1e-3

RULE = (
    "heuristic on each output's name, shape and dtype: integers or booleans are labels; one value per "
    "input is a regression; a name saying embedding/pooled/hidden state, or rows of unit length, is an "
    "embedding; a name saying box/offset/coord/depth is a regression; "
    "(N, C) is class logits, or an embedding when the model's task is one; "
    "3-D or more is a dense map with its class axis on the smaller of dims 1 and -1 (3-D: -1): "
    "a per-position class map when it has 2 or more channels, a regression map when it has one"
)

# kind -> (default metric, what the kind is, in words)
KINDS = {
    "logits": ("agreement", "class logits"),
    "embedding": ("cosine", "embedding"),
    "class-map": ("agreement", "per-position class map"),
    "dense": ("snr", "dense regression map"),
    "regression": ("snr", "regression values"),
    "labels": ("agreement", "integer labels"),
}


@dataclass(frozen=True)
class OutputKind:
    """One output: its index, per-input shape, kind and class axis (in the batched array)."""

    index: int
    shape: tuple[int, ...]
    kind: str
    axis: int | None  # class/channel axis; None where values compare directly (labels, regressions)

    @property
    def default_metric(self) -> str:
        return KINDS[self.kind][0]

    def describe(self) -> str:
        dims = "x".join(map(str, self.shape)) or "scalar"
        return f"output {self.index} (Nx{dims}): {KINDS[self.kind][1]}"

    def to_dict(self) -> dict:
        return {"index": self.index, "shape": list(self.shape), "kind": self.kind, "class_axis": self.axis}


def class_axis(shape: tuple[int, ...]) -> int:
    """The class/channel axis of a batched dense output: dim -1 of a 3-D (N, positions, C)
    sequence, else the smaller of dims 1 (NCHW, torch and ONNX) and -1 (NHWC, Keras)."""
    if len(shape) == 3:
        return 2
    return 1 if shape[1] <= shape[-1] else len(shape) - 1


def classify(index: int, array: np.ndarray, task: str | None = None, name: str | None = None) -> OutputKind:
    """The kind of one batched output (dimension 0 is the batch)."""
    a = np.asarray(array)
    per_input = tuple(int(d) for d in a.shape[1:])
    word = (name or "").lower()
    if a.dtype.kind in "biu":
        return OutputKind(index, per_input, "labels", None)
    if int(np.prod(per_input, dtype=np.int64)) <= 1:
        return OutputKind(index, per_input, "regression", None)
    if any(w in word for w in REGRESSION_NAMES):
        return OutputKind(index, per_input, "regression", None)
    if any(w in word for w in EMBEDDING_NAMES) or _unit_rows(a):
        return OutputKind(index, per_input, "embedding", a.ndim - 1)
    if a.ndim == 2:
        return OutputKind(index, per_input, "embedding" if task in EMBEDDING_TASKS else "logits", 1)
    axis = class_axis(a.shape)
    if task in EMBEDDING_TASKS:
        return OutputKind(index, per_input, "embedding", axis)
    if a.shape[axis] == 1:
        return OutputKind(index, per_input, "dense", None)
    return OutputKind(index, per_input, "class-map", axis)


def _unit_rows(a: np.ndarray) -> bool:
    """Every vector along the last axis has length 1 (normalised embeddings)."""
    if a.ndim < 2 or a.shape[-1] < 2 or a.dtype.kind != "f":
        return False
    norms = np.linalg.norm(a.reshape(-1, a.shape[-1]).astype(np.float64), axis=1)
    return bool(np.all(np.abs(norms - 1.0) <= UNIT_NORM_TOLERANCE))


def classify_all(
    outputs: list[np.ndarray], task: str | None = None, names: list[str] | None = None
) -> list[OutputKind]:
    """Each output's kind; ``names`` (the model's own output names) when there is one per output."""
    names = names if names is not None and len(names) == len(outputs) else [None] * len(outputs)
    return [classify(i, o, task, n) for i, (o, n) in enumerate(zip(outputs, names))]
