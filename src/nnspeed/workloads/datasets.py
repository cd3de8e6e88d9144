"""Real data shipped with packages: scikit-learn's handwritten digits (1,797 8×8 images).

The split is fixed (stratified, seed 0, 20% test) so every accuracy in the store is on the
same held-out images.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._optional import require

SEED = 0
TEST_SHARE = 0.2


@dataclass(frozen=True)
class Split:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]


@functools.cache
def digits() -> Split:
    require("sklearn", "data", "the digits data set")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]  # N×1×8×8, scaled to [0, 1]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_SHARE, random_state=SEED, stratify=y)
    return Split("digits", x_tr, y_tr, x_te, y_te, tuple(str(c) for c in range(10)))


DATASETS = {"digits": digits}


def get(name: str) -> Split:
    """A built-in data set by name, or a user's from ``py:module:function``."""
    from ..errors import InputError

    if name.startswith("py:"):
        return from_function(name[3:])
    if name not in DATASETS:
        raise InputError(
            f"unknown data set '{name}'; built-in: {', '.join(DATASETS)}, or a user's as py:module:function"
        )
    return DATASETS[name]()


def from_function(ref: str) -> Split:
    """A user's labelled data: ``module:function()`` returns a dict (or an object) with
    x_train, y_train, x_test, y_test (arrays, samples first; integer labels) and optionally
    classes (names, one per label)."""
    from ..errors import InputError
    from .sources import import_function

    _, fn = import_function(ref, "--data py:")
    try:
        d = fn()
    except Exception as e:
        raise InputError(f"--data py:{ref} raised {type(e).__name__}: {e}") from None
    get_ = (lambda k: d.get(k)) if isinstance(d, dict) else (lambda k: getattr(d, k, None))
    parts = {k: get_(k) for k in ("x_train", "y_train", "x_test", "y_test")}
    missing = [k for k, v in parts.items() if v is None]
    if missing:
        raise InputError(
            f"--data py:{ref} must return x_train, y_train, x_test and y_test; it lacks {', '.join(missing)}"
        )
    x_tr, x_te = (np.ascontiguousarray(parts[k], dtype=np.float32) for k in ("x_train", "x_test"))
    y_tr, y_te = (np.asarray(parts[k]).astype(np.int64) for k in ("y_train", "y_test"))
    if len(x_tr) != len(y_tr) or len(x_te) != len(y_te) or x_tr.shape[1:] != x_te.shape[1:] or not len(x_te):
        raise InputError(f"--data py:{ref}: inputs and labels must match in number, and train and test in sample shape")
    n = int(max(y_tr.max(), y_te.max())) + 1
    classes = tuple(str(c) for c in (get_("classes") or range(n)))
    if y_tr.min() < 0 or len(classes) < n:
        raise InputError(f"--data py:{ref}: labels must be 0 … {len(classes) - 1}, one per class")
    return Split(f"py:{ref}", x_tr, y_tr, x_te, y_te, classes)
