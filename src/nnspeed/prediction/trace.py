"""What a torch model calls, with shapes, without running it: the model is copied to the meta
device (no data, no arithmetic) and called once under module hooks and a TorchFunctionMode.

Leaf-module calls are recorded whole (their time is modelled per module type); torch
functions called outside any leaf (a residual add, attention written in a forward) are
recorded one by one; container calls are counted for their Python cost.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

# Tensor accessors cost a few hundred nanoseconds and no kernel: not worth a record.
_ACCESSORS = {
    "size",
    "dim",
    "shape",
    "dtype",
    "device",
    "__get__",
    "numel",
    "is_contiguous",
    "stride",
    "__len__",
    "requires_grad",
    "is_floating_point",
    "ndim",
    "__format__",
    "__repr__",
    "__bool__",
}


@dataclass
class Call:
    kind: str  # "module" or "function"
    op: str  # module class name, or function name
    shapes: list  # input tensor shapes
    out_shapes: list
    attrs: dict = field(default_factory=dict)


@dataclass
class Trace:
    calls: list[Call]
    containers: int  # non-leaf module calls, the root included
    device: str  # "meta", or "cpu" when the model could not run on meta tensors
    param_bytes: int = 0
    flops: int = 0  # torch.utils.flop_counter's count for the call
    batch: int = 1  # the first input's leading dimension

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.calls:
            out[c.op] = out.get(c.op, 0) + 1
        return out


def _shapes(x) -> list:
    import torch

    if isinstance(x, torch.Tensor):
        return [tuple(x.shape)]
    if isinstance(x, (tuple, list)):
        return [s for v in x for s in _shapes(v)]
    if isinstance(x, dict):
        return [s for v in x.values() for s in _shapes(v)]
    return []


def _attrs(mod) -> dict:
    keep = (
        "in_features",
        "out_features",
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "groups",
        "dilation",
        "num_features",
        "normalized_shape",
        "output_size",
        "p",
        "dim",
        "approximate",
    )
    out = {}
    for k in keep:
        v = getattr(mod, k, None)
        if v is not None and not callable(v):
            out[k] = list(v) if isinstance(v, tuple) else v
    if hasattr(mod, "bias"):
        out["bias"] = mod.bias is not None
    return out


def _name(func) -> str:
    return getattr(func, "__name__", None) or str(func)


def trace(model, args: tuple) -> Trace:
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils.flop_counter import FlopCounterMode

    calls: list[Call] = []
    state = {"leaf": 0, "containers": 0}

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, fargs=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*fargs, **kwargs)
            name = _name(func)
            if state["leaf"] == 0 and name not in _ACCESSORS:
                attrs = {k: v for k, v in kwargs.items() if isinstance(v, (int, float, bool, str))}
                first = fargs[0] if fargs else None
                if isinstance(first, torch.Tensor):
                    attrs["contiguous"] = first.is_contiguous()
                calls.append(Call("function", name, _shapes(fargs) + _shapes(kwargs), _shapes(out), attrs))
            return out

    handles = []
    for _, mod in model.named_modules():
        if any(True for _ in mod.children()):
            handles.append(
                mod.register_forward_pre_hook(lambda m, a: state.__setitem__("containers", state["containers"] + 1))
            )
            continue

        def pre(m, a):
            state["leaf"] += 1

        def post(m, a, o):
            state["leaf"] -= 1
            calls.append(Call("module", type(m).__name__, _shapes(a), _shapes(o), _attrs(m)))

        handles.append(mod.register_forward_pre_hook(pre))
        handles.append(mod.register_forward_hook(post))
    counter = FlopCounterMode(display=False)
    try:
        with torch.inference_mode(), counter, Recorder():
            model(*args)
    finally:
        for h in handles:
            h.remove()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    first = args[0] if args and isinstance(args[0], torch.Tensor) else None
    batch = int(first.shape[0]) if first is not None and first.dim() > 0 else 1
    return Trace(
        calls,
        state["containers"],
        str(first.device) if first is not None else "cpu",
        weights,
        int(counter.get_total_flops()),
        batch,
    )


def trace_model(model, args: tuple) -> Trace:
    """Trace on meta tensors (nothing computed); a model that cannot run there is traced on its inputs."""
    import torch

    try:
        meta = copy.deepcopy(model).to("meta")
        return trace(meta, tuple(a.to("meta") if isinstance(a, torch.Tensor) else a for a in args))
    except (RuntimeError, NotImplementedError, TypeError, ValueError):  # data-dependent code (.item(), numpy)
        pass
    return trace(model, args)
