"""Pruning: unstructured magnitude (zeros in dense weights) and structured (smaller layers)."""

from __future__ import annotations

from ..workloads.workload import Workload
from .base import copied_model, variant


def magnitude_prune(w: Workload, amount: float = 0.5) -> Workload:
    """Zero the smallest ``amount`` of Linear/Conv weights globally (torch.nn.utils.prune).

    The layers keep their shapes: dense kernels do the same work on zeros, so this alone is
    not expected to be faster.
    """
    import torch
    from torch.nn.utils import prune

    model = copied_model(w)
    params = [(m, "weight") for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    for m, name in params:
        prune.remove(m, name)
    return variant(w, f"pruned{int(amount * 100)}-unstructured", model=model, onnx_file=None)


def structured_prune(w: Workload, ratio: float = 0.5) -> Workload:
    """Remove the ``ratio`` of channels/neurons with the smallest L1 norm (Torch-Pruning),
    keeping the output layer: the layers really shrink."""
    import torch

    from .._optional import require

    tp = require("torch_pruning", "prune", "structured pruning")
    model = copied_model(w)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    pruner = tp.pruner.MagnitudePruner(
        model,
        w.torch_args(1),
        importance=tp.importance.MagnitudeImportance(p=1),
        pruning_ratio=ratio,
        ignored_layers=linears[-1:],
    )
    pruner.step()
    return variant(w, f"pruned{int(ratio * 100)}-structured", model=model, onnx_file=None)
