"""Early exits: a classifier head after chosen blocks of a network, trained with the backbone
frozen, and a confidence rule that decides per sample where it stops.

At batch 1 a sample stops at the first exit whose head is confident.  At batch > 1 every
sample keeps the logits of its own first confident exit, but the batch runs on until all its
samples are confident: the outputs are those of batch 1, the saving shrinks with the batch.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ..errors import InputError, UnsupportedError
from ..workloads.workload import Workload
from .base import copied_model, variant

HEAD_EPOCHS = 30
# With --exits auto, an exit that fewer than this share of the training samples would leave by
# at a threshold is left out of that threshold's network: every sample that passes it pays for
# its head and its decision, and almost none stop there.
MIN_EXIT_SHARE = 0.05
# Side of the grid a head pools a feature map to (a global average loses too much to be sure).
HEAD_POOL = 2
ACTIVATIONS = ("ReLU", "ReLU6", "GELU", "SiLU", "Tanh", "LeakyReLU", "Hardswish", "ELU", "Mish")
POOLS = ("MaxPool2d", "AvgPool2d")


def exit_points(model, exits: str) -> list[int]:
    """Indices of the children of an ``nn.Sequential`` after which an exit goes.

    ``auto``: after every activation (and a pooling layer right after it) but the last, so
    each exit ends a block and the final classifier stays the last exit.  Otherwise a comma
    list of the children's names."""
    import torch.nn as nn

    if not isinstance(model, nn.Sequential):
        raise UnsupportedError(
            f"early exits split a model into blocks that run one after another: give an nn.Sequential "
            f"(its children in order), not a {type(model).__name__}"
        )
    children = list(model.named_children())
    kinds = [type(m).__name__ for _, m in children]
    if exits.strip() == "auto":
        points = []
        for i, kind in enumerate(kinds):
            if kind in ACTIVATIONS:
                points.append(i + 1 if i + 1 < len(kinds) and kinds[i + 1] in POOLS else i)
        points = points[:-1]
        if not points:
            raise UnsupportedError("the model has one block only: nowhere to put an early exit")
        return points
    names = [n.strip() for n in exits.split(",") if n.strip()]
    by_name = {n: i for i, (n, _) in enumerate(children)}
    points = []
    for n in names:
        if n not in by_name:
            raise InputError(
                f"--exits names '{n}', which is not a module of the model; its modules are: {', '.join(by_name)}"
            )
        if by_name[n] == len(children) - 1:
            raise InputError(f"--exits '{n}' is the model's last module: an exit there is the model itself")
        points.append(by_name[n])
    if not points:
        raise InputError("--exits is empty; give auto or the names of modules to put an exit after")
    return sorted(set(points))


def held_out_inputs(x_test: np.ndarray, name: str, batch: int, index: int) -> dict[str, np.ndarray]:
    """The held-out samples in order, ``batch`` at a time, cycled."""
    rows = np.arange(index * batch, (index + 1) * batch) % len(x_test)
    return {name: x_test[rows]}


def check_classifier(model, split, source: str) -> None:
    """Early exits replace a classifier's logits: the model must return one row of class scores
    per sample."""
    import torch

    try:
        with torch.inference_mode():
            out = model(torch.from_numpy(split.x_test[:2]))
    except Exception as e:
        raise InputError(f"{source} cannot run on the data's samples ({type(e).__name__}: {e})") from None
    n = len(split.classes)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] != n:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise InputError(
            f"early exits need a classifier of the data's {n} classes, but {source} returns {shape} for 2 samples"
        )


def check(w: Workload, split, exits: str) -> None:
    """Everything about an early-exit request that can be wrong, before any head is trained."""
    if w.model is None:
        raise InputError(f"--early-exit needs a torch classifier; {w.source} is not a torch model")
    if len(w.inputs) != 1:
        raise InputError(f"--early-exit takes a model of one input; {w.source} has {len(w.inputs)}")
    check_classifier(w.model, split, w.source)
    exit_points(w.model, exits)


def _segments(model, points: list[int]):
    import torch.nn as nn

    children = list(model.children())
    bounds = [0, *(p + 1 for p in points), len(children)]
    return [nn.Sequential(*children[a:b]) for a, b in itertools.pairwise(bounds)]


def _head(shape: tuple[int, ...], n_classes: int):
    import torch.nn as nn

    from .early_exit_modules import PooledHead

    if len(shape) == 3:  # C×H×W feature maps: pooled to 2×2, then one linear layer
        return PooledHead(shape[0], n_classes, min(HEAD_POOL, shape[1], shape[2]))
    return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(shape)), n_classes))


def _features(segments, x: np.ndarray) -> list:
    """The frozen backbone's output after every segment but the last, for every sample."""
    import torch

    out = [[] for _ in segments[:-1]]
    with torch.inference_mode():
        for i in range(0, len(x), 256):
            h = torch.from_numpy(x[i : i + 256])
            for k, seg in enumerate(segments[:-1]):
                h = seg(h)
                out[k].append(h)
    return [torch.cat(f) for f in out]


def train_heads(segments, split, seed: int = 0) -> tuple[list, list[float]]:
    """One head per exit, trained on the training split with the backbone frozen (the zoo's
    recipe, on the backbone's features); returns the heads and each one's accuracy (0–1) on
    the test split on its own."""
    import dataclasses

    import torch

    from ..workloads.zoo_trained import train_classifier

    heads, accuracy = [], []
    for f, ft in zip(_features(segments, split.x_train), _features(segments, split.x_test)):
        torch.manual_seed(seed)
        head = _head(tuple(f.shape[1:]), len(split.classes))
        features = dataclasses.replace(split, x_train=f.numpy(), x_test=ft.numpy())
        accuracy.append(train_classifier(head, features, seed=seed, epochs=HEAD_EPOCHS))
        heads.append(head)
    return heads, accuracy


class EarlyExits:
    """Heads trained once for a model and a set of exit points; one variant per threshold."""

    def __init__(self, w: Workload, split, exits: str = "auto"):
        if w.model is None:
            raise UnsupportedError("early exits need a torch model")
        self.w, self.split = w, split
        model = copied_model(w).eval()
        self.model = model
        self.prune = exits.strip() == "auto"  # exits the user named are kept as named
        self.points = exit_points(model, exits)
        self.exit_names = [list(dict(model.named_children()))[p] for p in self.points]
        self.segments = _segments(model, self.points)
        for p in model.parameters():
            p.requires_grad_(False)
        check_classifier(model, split, w.source)
        self.heads, self.head_accuracy = train_heads(self.segments, split)

    def kept(self, rule: str, tau: float) -> tuple[list[int], dict[str, float]]:
        """The exits (indices into ``points``) a network at this threshold keeps, and the
        training-split share of each exit left out (see ``MIN_EXIT_SHARE``); at least one is kept."""
        import torch

        from .early_exit_modules import EarlyExitNet

        everyone = list(range(len(self.points)))
        if not self.prune:
            return everyone, {}
        net = EarlyExitNet(self.segments, self.heads, rule, tau).eval()
        with torch.inference_mode():
            where = net.exit_index(torch.from_numpy(self.split.x_train)).numpy()
        shares = [float(np.mean(where == k)) for k in everyone]
        keep = [k for k in everyone if shares[k] >= MIN_EXIT_SHARE] or [int(np.argmax(shares))]
        return keep, {self.exit_names[k]: shares[k] for k in everyone if k not in keep}

    def variant(self, rule: str, tau: float) -> Workload:
        """The model with its exits and the rule at threshold ``tau``; its inputs are every test
        sample (the exit depends on the input: a few cached inputs would lie)."""
        import torch

        from .early_exit_modules import EarlyExitNet

        keep, dropped = self.kept(rule, tau)
        segments = self.segments if not dropped else _segments(self.model, [self.points[k] for k in keep])
        net = EarlyExitNet(segments, [self.heads[k] for k in keep], rule, tau).eval()
        with torch.inference_mode():
            where = net.exit_index(torch.from_numpy(self.split.x_test)).numpy()
        names = [*(self.exit_names[k] for k in keep), "full model"]
        shares = {names[k]: float(np.mean(where == k)) for k in range(len(names))}
        details = {
            "early_exit": {
                "rule": rule,
                "tau": tau,
                "exits_after": names[:-1],
                "exit_shares": shares,
                "exits_dropped": dropped,
                "head_accuracy": dict(zip(self.exit_names, self.head_accuracy)),
            }
        }
        v = variant(
            self.w,
            f"early-exit-{rule}-{tau:g}",
            model=net,
            model_file=None,
            make_inputs=functools.partial(held_out_inputs, self.split.x_test, self.w.inputs[0].name),
            real_data=True,
            pool_size=len(self.split.x_test),
        )
        v.meta["score_details"] = details
        return v
