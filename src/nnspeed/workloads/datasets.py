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
    from ..errors import InputError

    if name not in DATASETS:
        raise InputError(f"unknown data set '{name}'; built-in: {', '.join(DATASETS)}")
    return DATASETS[name]()
