"""What ``--input-shape`` says about a model's inputs, and input specs for model files.

The grammar, one item per input, items separated by commas::

    [NAME=]DIMS[:DTYPE]        e.g.  1x3x224x224
                                     1x3x224x224:float16
                                     input_ids=1x128:int64,attention_mask=1x128:int64

Dimension 0 is the batch.  A named item is given to the model by keyword (``py:``) or matched
to the model file's input of that name (``onnx:``, ``keras:``, ``tf:``, ``tflite:``); unnamed
items are given in order.  Dimensions a model file leaves symbolic are filled from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .workload import InputSpec

DTYPES = ("float32", "float16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool")
GRAMMAR = "[NAME=]DIMS[:DTYPE], e.g. 1x3x224x224 or input_ids=1x128:int64,attention_mask=1x128:int64"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-/]*$")  # TensorFlow names end in :0


@dataclass(frozen=True)
class GivenInput:
    """One ``--input-shape`` item: its dimensions (batch first), and a name and dtype if given."""

    dims: tuple[int, ...]
    name: str | None = None
    dtype: str | None = None

    def describe(self) -> str:
        text = "x".join(map(str, self.dims))
        return (f"{self.name}=" if self.name else "") + text + (f":{self.dtype}" if self.dtype else "")


def check_dtype(dtype: str, option: str = "--input-shape") -> str:
    if dtype not in DTYPES:
        raise InputError(f"{option} dtype '{dtype}' is not supported; use one of {', '.join(DTYPES)}")
    return dtype


def parse_inputs(text: str | None) -> list[GivenInput] | None:
    """``input_ids=1x128:int64,attention_mask=1x128:int64`` → two GivenInputs (None: nothing given)."""
    if text is None or not text.strip():
        return None
    items = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise InputError(f"--input-shape '{text}' has an empty item; remove the extra comma")
        name, eq, rest = part.rpartition("=")
        if eq and not _NAME.match(name.strip()):
            raise InputError(f"--input-shape item '{part}' has the name '{name}', which is not an input name")
        dims_text, colon, dtype = rest.rpartition(":") if ":" in rest else (rest, "", "")
        try:
            dims = tuple(int(d) for d in dims_text.strip().lower().split("x"))
        except ValueError:
            raise InputError(f"--input-shape item '{part}' is not of the form {GRAMMAR}") from None
        if any(d < 1 for d in dims):
            raise InputError(f"--input-shape item '{part}' has a dimension below 1; every dimension must be ≥ 1")
        items.append(GivenInput(dims, name.strip() or None, check_dtype(dtype.strip()) if colon else None))
    named = [g.name for g in items if g.name]
    if named and len(named) != len(items):
        raise InputError(f"--input-shape '{text}' names some inputs and not others; name all of them or none")
    if len(set(named)) != len(named):
        raise InputError(f"--input-shape '{text}' names an input twice")
    return items


def check_batch_dim(given: GivenInput, fixed: int | None = None) -> None:
    """Dimension 0 of an --input-shape item is the batch, which --batch sets: a 4 there was
    silently timed at batch 1. It may be 1, or the batch a model file fixes."""
    if given.dims[0] not in (1, fixed):
        shape = "x".join(map(str, (1, *given.dims[1:])))
        raise InputError(
            f"--input-shape {given.describe()} puts {given.dims[0]} in dimension 0, the batch, which --batch sets; "
            f"give {(given.name + '=') if given.name else ''}{shape} and --batch {given.dims[0]}"
        )


def match_inputs(given: list[GivenInput] | None, names: list[str]) -> list[GivenInput | None]:
    """The given item for each of a model file's inputs (by name when named, else in order)."""
    if given is None:
        return [None] * len(names)
    if given[0].name is None:
        if len(given) != len(names):
            raise InputError(
                f"--input-shape gives {len(given)} shapes but the model has {len(names)} inputs ({', '.join(names)})"
            )
        return list(given)
    by_name = {g.name: g for g in given}
    unknown = [n for n in by_name if n not in names]
    if unknown:
        raise InputError(
            f"--input-shape names '{unknown[0]}', which is not an input of the model; its inputs are {', '.join(names)}"
        )
    return [by_name.get(n) for n in names]


def spec_from_dims(name: str, dims: list, dtype: str, given: GivenInput | None) -> InputSpec:
    """One input from a model file's dimensions: whole numbers are fixed, anything else (a
    name, None, -1) is symbolic and filled from ``given`` (one --input-shape item).  A fixed
    dimension 0 fixes the batch."""

    def fixed(d) -> bool:
        return isinstance(d, (int, np.integer)) and d > 0

    if given is not None and given.dtype is not None and given.dtype != dtype:
        raise InputError(f"input '{name}' of the model file is {dtype}, but --input-shape gives {given.dtype}")
    shape = given.dims if given is not None else None
    if shape is not None and len(shape) != len(dims):
        raise InputError(
            f"--input-shape {'x'.join(map(str, shape))} has {len(shape)} dimensions but input '{name}' has {len(dims)}"
        )
    rest = []
    for j, d in enumerate(dims[1:], start=1):
        if fixed(d):
            if shape is not None and shape[j] != d:
                order = "" if given.name else "; unnamed items go to the inputs in order, so name them (NAME=DIMS)"
                raise InputError(
                    f"input '{name}' has dimension {j} fixed at {d}, but --input-shape gives {shape[j]}{order}"
                )
            rest.append(int(d))
        elif shape is not None:
            rest.append(shape[j])
        else:
            example = "x".join("1" if i == 0 else str(int(x)) if fixed(x) else "128" for i, x in enumerate(dims))
            raise InputError(
                f"input '{name}' has a symbolic dimension '{d}'; give its size with --input-shape (e.g. {name}={example})"
            )
    batch = int(dims[0]) if dims and fixed(dims[0]) else None
    if given is not None:
        check_batch_dim(given, batch)
    return InputSpec(name, tuple(rest), dtype, fixed_batch=batch)
