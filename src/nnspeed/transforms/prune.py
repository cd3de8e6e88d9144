"""Pruning: unstructured magnitude (zeros in dense weights) and structured (smaller layers)."""

from __future__ import annotations

from ..workloads.signature import flatten_outputs
from ..workloads.workload import Workload
from .base import copied_model, variant


def magnitude_prune(w: Workload, amount: float = 0.5) -> Workload:
    """Zero the smallest ``amount`` of Linear/Conv weights globally (torch.nn.utils.prune).

    The layers keep their shapes: dense kernels do the same work on zeros, so this alone is
    not expected to be faster.
    """
    import torch
    from torch.nn.utils import prune

    from ..errors import UnsupportedError

    model = copied_model(w)
    params = [(m, "weight") for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    if not params:
        raise UnsupportedError("magnitude pruning found no nn.Linear or nn.Conv2d layer to prune in this model")
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    for m, name in params:
        prune.remove(m, name)
    return variant(w, f"pruned{int(amount * 100)}-unstructured", model=model, model_file=None)


def _tensors(out) -> list:
    """The tensors in a model's output (a tensor, or tuples, lists and dicts of them)."""
    return [t for _, t in flatten_outputs(out)]


def _output_layers(model, args) -> list:
    """The layers whose outputs the model returns as they are, or else the last one to run:
    their output channels are the model's outputs (a class map's classes), so they stay whole."""
    import torch

    kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.ConvTranspose2d)
    ran: list = []
    hooks = [
        m.register_forward_hook(lambda mod, _inputs, out: ran.append((mod, out)))
        for m in model.modules()
        if isinstance(m, kinds)
    ]
    try:
        with torch.no_grad():
            returned = {id(t) for t in _tensors(model(*args))}
    finally:
        for h in hooks:
            h.remove()
    layers = list(dict.fromkeys(m for m, out in ran if id(out) in returned))
    return layers or [m for m, _ in ran[-1:]]


def structured_prune(w: Workload, ratio: float = 0.5) -> Workload:
    """Remove the ``ratio`` of channels/neurons with the smallest L1 norm (Torch-Pruning, which
    follows channels through skip connections joined by torch.cat or +), keeping the output
    layers: the layers really shrink, the outputs keep their shapes."""
    import torch

    from .._optional import require
    from ..errors import UnsupportedError

    tp = require("torch_pruning", "prune", "structured pruning")
    model = copied_model(w)
    args = w.torch_args(1)
    with torch.no_grad():
        before = [tuple(t.shape) for t in _tensors(model(*args))]
    with torch.enable_grad():  # Torch-Pruning traces the graph through autograd
        pruner = tp.pruner.MagnitudePruner(
            model,
            args,
            importance=tp.importance.MagnitudeImportance(p=1),
            pruning_ratio=ratio,
            ignored_layers=_output_layers(model, args),
        )
        pruner.step()
    with torch.no_grad():
        after = [tuple(t.shape) for t in _tensors(model(*args))]
    if sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in w.model.parameters()):
        raise UnsupportedError(
            "structured pruning found nothing it can shrink in this model (no channels of nn.Linear or nn.Conv "
            "layers outside the output layers), so it is left out rather than timed unchanged"
        )
    if after != before:
        raise UnsupportedError(
            f"structured pruning would change the outputs' shapes ({before} to {after}): nnspeed could not tell "
            "which layers make them, so this model is not pruned"
        )
    return variant(w, f"pruned{int(ratio * 100)}-structured", model=model, model_file=None)


def _slice_linear(layer, index, dim: int):
    """A copy of ``layer`` keeping only ``index`` along its output (0) or input (1) features."""
    import torch

    weight = layer.weight.detach().index_select(dim, index)
    out = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=layer.bias is not None)
    out.weight.data.copy_(weight)
    if layer.bias is not None:
        out.bias.data.copy_(layer.bias.detach() if dim == 1 else layer.bias.detach().index_select(0, index))
    return out


def head_prune(w: Workload, ratio: float = 0.5) -> Workload:
    """Remove the ``ratio`` of attention heads per layer whose output projection has the
    smallest L1 norm, shrinking query/key/value and the output projection (BERT-style blocks:
    an attention module with ``.self.{query,key,value}`` and ``.output.dense``)."""
    import torch

    from ..errors import UnsupportedError

    model = copied_model(w)
    blocks = [
        m
        for m in model.modules()
        if all(hasattr(getattr(m, "self", None), a) for a in ("query", "key", "value", "attention_head_size"))
        and hasattr(getattr(m, "output", None), "dense")
    ]
    if not blocks:
        raise UnsupportedError("head pruning needs BERT-style attention blocks (self.query/key/value, output.dense)")
    for block in blocks:
        sa, dense = block.self, block.output.dense
        d = sa.attention_head_size
        heads = sa.query.out_features // d
        norms = dense.weight.detach().abs().reshape(dense.out_features, heads, d).sum(dim=(0, 2))
        keep = sorted(norms.argsort(descending=True)[: max(1, heads - round(heads * ratio))].tolist())
        index = torch.cat([torch.arange(h * d, (h + 1) * d) for h in keep])
        sa.query, sa.key, sa.value = (_slice_linear(getattr(sa, n), index, 0) for n in ("query", "key", "value"))
        block.output.dense = _slice_linear(dense, index, 1)
        sa.num_attention_heads, sa.all_head_size = len(keep), len(keep) * d
    return variant(w, f"heads-pruned{int(ratio * 100)}", model=model, model_file=None)
