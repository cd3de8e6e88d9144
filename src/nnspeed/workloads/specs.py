"""Input specs from model files: shapes given on the command line, and dimensions a model
file leaves symbolic filled from them (shared by every file source)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .workload import InputSpec


def parse_shapes(text: str | None) -> list[tuple[int, ...]] | None:
    """``1x3x224x224,1x10`` → [(1, 3, 224, 224), (1, 10)]; dimension 0 is the batch."""
    if not text:
        return None
    shapes = []
    for part in text.split(","):
        try:
            dims = tuple(int(d) for d in part.strip().lower().split("x"))
        except ValueError:
            raise InputError(
                f"--input-shape '{text}' is not a list of shapes like 1x3x224x224 (several separated by commas)"
            ) from None
        if not dims or any(d < 1 for d in dims):
            raise InputError(f"--input-shape '{part}' has a dimension below 1; every dimension must be ≥ 1")
        shapes.append(dims)
    return shapes


def check_shape_count(shapes: list[tuple[int, ...]] | None, inputs: int) -> None:
    if shapes is not None and len(shapes) != inputs:
        raise InputError(f"--input-shape gives {len(shapes)} shapes but the model has {inputs} inputs")


def spec_from_dims(name: str, dims: list, dtype: str, given: tuple[int, ...] | None) -> InputSpec:
    """One input from a model file's dimensions: whole numbers are fixed, anything else (a
    name, None, -1) is symbolic and filled from ``given`` (one --input-shape).  A fixed
    dimension 0 fixes the batch."""

    def fixed(d) -> bool:
        return isinstance(d, (int, np.integer)) and d > 0

    if given is not None and len(given) != len(dims):
        raise InputError(
            f"--input-shape {'x'.join(map(str, given))} has {len(given)} dimensions but input '{name}' has {len(dims)}"
        )
    rest = []
    for j, d in enumerate(dims[1:], start=1):
        if fixed(d):
            if given is not None and given[j] != d:
                raise InputError(f"input '{name}' has dimension {j} fixed at {d}, but --input-shape gives {given[j]}")
            rest.append(int(d))
        elif given is not None:
            rest.append(given[j])
        else:
            example = "x".join("1" if i == 0 else str(int(x)) if fixed(x) else "128" for i, x in enumerate(dims))
            raise InputError(
                f"input '{name}' has a symbolic dimension '{d}'; give its size with --input-shape (e.g. {example})"
            )
    batch = int(dims[0]) if dims and fixed(dims[0]) else None
    return InputSpec(name, tuple(rest), dtype, fixed_batch=batch)
