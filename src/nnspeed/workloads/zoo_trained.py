"""Zoo models trained by nnspeed on real data in seconds, cached once trained."""

from __future__ import annotations

import hashlib

import numpy as np

from .._files import cache_dir, private_tmp
from .registry import Key, entry
from .workload import InputSpec

EPOCHS = 40
BATCH = 64
LR = 3e-3


def train_classifier(model, split, seed: int = 0, epochs: int = EPOCHS) -> float:
    """Adam on the training split with a fixed seed; returns test accuracy (0–1)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    with torch.inference_mode():
        pred = model(torch.from_numpy(split.x_test)).argmax(-1).numpy()
    return float(np.mean(pred == split.y_test))


def _trained(name: str, build, v: dict):
    """Train once per (architecture, recipe, torch version); later loads are instant."""
    import torch

    from . import datasets

    split = datasets.digits()
    torch.manual_seed(0)
    model = build(v)
    tag = hashlib.sha256(f"{name}|{sorted(v.items())}|{EPOCHS}|{BATCH}|{LR}|{torch.__version__}".encode()).hexdigest()[
        :12
    ]
    path = cache_dir("trained") / f"{name}-{tag}.pt"
    if path.exists():
        saved = torch.load(path, weights_only=True)
        model.load_state_dict(saved["state"])
        acc = float(saved["accuracy"])
    else:
        acc = train_classifier(model, split)
        tmp = private_tmp(path)  # DDP ranks train the same model at once
        torch.save({"state": model.state_dict(), "accuracy": acc}, tmp)
        tmp.replace(path)  # atomic: two processes training at once both end with a whole file
    model.eval()
    return (model, *digits_test_inputs(split, acc))


def digits_test_inputs(split, accuracy: float) -> tuple[list[InputSpec], object, dict]:
    """A digits model's inputs (held-out images, cycled in order) and its zoo fields."""
    x_test = split.x_test

    def make(batch: int, index: int) -> dict[str, np.ndarray]:
        rows = np.arange(index * batch, (index + 1) * batch) % len(x_test)
        return {"x": x_test[rows]}

    extra = {
        "real_data": True,
        "pool_size": 16,
        "meta": {"data": "digits", "test_accuracy": accuracy, "task": "classification"},
    }
    return [InputSpec("x", (1, 8, 8), "float32")], make, extra


def _mlp(v):
    import torch.nn as nn

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, v["width"]),
        nn.ReLU(),
        nn.Linear(v["width"], v["width"]),
        nn.ReLU(),
        nn.Linear(v["width"], 10),
    )


def _cnn(v):
    import torch.nn as nn

    w = v["width"]
    return nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1, bias=False),
        nn.BatchNorm2d(w),
        nn.ReLU(),
        nn.Conv2d(w, 2 * w, 3, padding=1, bias=False),
        nn.BatchNorm2d(2 * w),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(2 * w, 2 * w, 3, padding=1, bias=False),
        nn.BatchNorm2d(2 * w),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * w, 10),
    )


entry(
    "digits-mlp",
    "MLP trained on scikit-learn's digits (real data, fixed split), cached once trained",
    "sklearn",
    width=Key(256, "hidden units"),
)(lambda v: _trained("digits-mlp", _mlp, v))
entry(
    "digits-cnn",
    "conv net (conv+bn+relu ×3) trained on scikit-learn's digits, cached once trained",
    "sklearn",
    width=Key(32, "channels of the first conv"),
)(lambda v: _trained("digits-cnn", _cnn, v))
