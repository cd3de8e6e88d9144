"""How a user's torch model is called: positional, keyword and mixed inputs, and what it returns.

Every backend, exporter and profiler in nnspeed calls a model one way: positional tensors in
the order of the workload's input specs. A model that takes keywords (``input_ids=…,
attention_mask=…``), needs constant keyword arguments (``use_cache=False``) or returns a dict,
a ``ModelOutput`` or nested tuples is wrapped in :class:`CallAdapter`, which calls it the
user's way and returns its tensors as one flat tuple with their names recorded. The model is
called once when it is loaded, so a forward that returns nothing, or raises, is refused
before anything is timed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, ModelError, reason

# Plain values a model may take by keyword besides tensors (flags, sizes, modes).
CONSTANT_TYPES = (bool, int, float, str, type(None))


@dataclass(frozen=True)
class Example:
    """Example inputs taken apart: tensors by name (with whether each goes by keyword) and the
    constant keyword arguments given with every call."""

    names: list[str]
    arrays: list[np.ndarray]
    keyword: list[bool]
    constants: dict = field(default_factory=dict)


def _array(x, where: str) -> np.ndarray | None:
    import torch

    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bfloat16:
            raise InputError(
                f"{where} is a bfloat16 tensor, which numpy cannot hold; give float32 inputs and --precision bf16"
            )
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    return None


def split_example(example, what: str = "the example inputs") -> Example:
    """Take apart what ``example_inputs`` (or ``nnspeed.bench(model, inputs=…)``) gave: a tensor,
    a tuple or list of tensors (a dict last for keyword inputs too), or a dict of tensors
    (plain values in it are constant keyword arguments)."""
    names: list[str] = []
    arrays: list[np.ndarray] = []
    keyword: list[bool] = []
    constants: dict = {}

    def add_mapping(m: Mapping) -> None:
        for k, v in m.items():
            a = _array(v, f"{what}['{k}']")
            if a is not None:
                names.append(str(k))
                arrays.append(a)
                keyword.append(True)
            elif isinstance(v, CONSTANT_TYPES):
                constants[str(k)] = v
            else:
                raise InputError(
                    f"{what}['{k}'] is a {type(v).__name__}; give tensors, or plain values (bool, int, float, str, None)"
                )

    if isinstance(example, Mapping):
        add_mapping(example)
    else:
        items = list(example) if isinstance(example, (tuple, list)) else [example]
        for i, x in enumerate(items):
            if isinstance(x, Mapping) and i == len(items) - 1:
                add_mapping(x)
                continue
            a = _array(x, f"{what}[{i}]")
            if a is None:
                raise InputError(
                    f"{what} hold a {type(x).__name__} at position {i}; give a tensor, a tuple of tensors, "
                    "a dict of tensors (keyword inputs), or a tuple of tensors with a dict last"
                )
            names.append(f"input{i}")
            arrays.append(a)
            keyword.append(False)
    if not arrays:
        raise InputError(f"{what} hold no tensor; give at least one input tensor whose first dimension is the batch")
    for n, a in zip(names, arrays):
        if a.ndim == 0:
            raise InputError(f"input '{n}' is a scalar; every input needs the batch as its first dimension")
    return Example(names, arrays, keyword, constants)


def flatten_outputs(out, prefix: str = "output") -> list[tuple[str, object]]:
    """A model's return value as (name, tensor) pairs: tensors, tuples, lists, dicts and
    ModelOutputs, nested; None and plain values are left out."""
    import torch

    if isinstance(out, torch.Tensor):
        return [(prefix, out)]
    if isinstance(out, Mapping):
        pairs = []
        for k, v in out.items():
            pairs += flatten_outputs(v, str(k) if prefix == "output" else f"{prefix}.{k}")
        return pairs
    if isinstance(out, (tuple, list)):
        pairs = []
        for i, v in enumerate(out):
            pairs += flatten_outputs(v, f"{prefix}{i}" if prefix == "output" else f"{prefix}.{i}")
        return pairs
    return []


def is_plain(out) -> bool:
    """A tensor, or a flat tuple of tensors: what every exporter and runtime takes as it is."""
    import torch

    return isinstance(out, torch.Tensor) or (
        isinstance(out, tuple) and len(out) > 0 and all(isinstance(t, torch.Tensor) for t in out)
    )


def _adapter_class():
    import torch.nn as nn

    class CallAdapter(nn.Module):
        """Positional tensors in, a tuple of tensors out, around a model called the user's way."""

        def __init__(self, model, keyword: list[str | None], constants: dict):
            super().__init__()
            self.model = model
            self.keyword = keyword  # per input: its keyword, or None when it goes by position
            self.constants = constants

        def forward(self, *args):
            positional = [a for a, k in zip(args, self.keyword) if k is None]
            named = {k: a for a, k in zip(args, self.keyword) if k is not None}
            out = self.model(*positional, **named, **self.constants)
            tensors = tuple(t for _, t in flatten_outputs(out))
            return tensors[0] if len(tensors) == 1 else tensors

    return CallAdapter


def model_error(e: BaseException, hint: str) -> ModelError:
    return ModelError(f"the model raised {type(e).__name__} when called ({reason(e)}); {hint}")


def probe(model, example: Example, hint: str):
    """Call the model once on the example (batch as given) and return its raw output; refuse a
    call that raises or returns no tensor."""
    import torch

    args = [torch.from_numpy(np.ascontiguousarray(a)) for a in example.arrays]
    positional = [a for a, k in zip(args, example.keyword) if not k]
    named = {n: a for a, n, k in zip(args, example.names, example.keyword) if k}
    try:
        with torch.no_grad():
            out = model(*positional, **named, **example.constants)
    except Exception as e:
        raise model_error(e, hint) from None
    tensors = flatten_outputs(out)
    if not tensors:
        raise ModelError(
            f"the model returned {type(out).__name__} with no tensor in it; its forward() must return the "
            "output tensor(s) (a tensor, a tuple or a dict of tensors)"
        )
    if all(t.numel() == 0 for _, t in tensors):
        raise ModelError("the model returned only empty tensors (0 elements); check its forward() and inputs")
    return out


def adapt(model, example: Example, hint: str):
    """The model as every backend calls it (wrapped only where it must be), and a description
    of its signature for the result: inputs (name, shape, dtype, keyword), constants, outputs."""
    out = probe(model, example, hint)
    outputs = flatten_outputs(out)
    wrapped = model
    if any(example.keyword) or example.constants or not is_plain(out):
        keyword = [n if k else None for n, k in zip(example.names, example.keyword)]
        wrapped = _adapter_class()(model, keyword, dict(example.constants)).eval()
    signature = {
        "call": "keyword" if all(example.keyword) else "mixed" if any(example.keyword) else "positional",
        "inputs": [
            {"name": n, "shape": list(a.shape), "dtype": a.dtype.name, "keyword": k}
            for n, a, k in zip(example.names, example.arrays, example.keyword)
        ],
        "constants": {k: v for k, v in example.constants.items()},
        "outputs": [
            {"name": n, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")} for n, t in outputs
        ],
    }
    return wrapped, signature
