"""Resolve a source string (``zoo:…``, ``py:module:function``, ``onnx:path``) to a Workload."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelError, SourceError, reason
from .specs import check_shape_count, parse_shapes, spec_from_dims
from .workload import InputSpec, Workload

SCHEMES = ("zoo", "py", "onnx", "hf", "keras", "tf", "tflite")
DTYPES = ("float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool")


def parse_dtypes(text: str | None, count: int) -> list[str]:
    names = [d.strip() for d in (text or "float32").split(",")]
    for d in names:
        if d not in DTYPES:
            raise InputError(f"--input-dtype '{d}' is not supported; use one of {', '.join(DTYPES)}")
    if len(names) == 1:
        names *= count
    if len(names) != count:
        raise InputError(f"--input-dtype gives {len(names)} dtypes for {count} inputs; give one, or one per input")
    return names


SCHEME_KINDS = {
    "py": "torch",
    "hf": "torch",
    "onnx": "onnx",
    "keras": "keras",
    "tf": "tf-saved-model",
    "tflite": "tflite",
}


def source_kind(source: str) -> str:
    """The workload kind a source will load as, read from its name alone (nothing is built):
    what picks a source's own runtime before the model is loaded."""
    scheme, _, rest = source.partition(":")
    if scheme == "zoo":
        from .registry import parse_zoo

        return "keras" if parse_zoo(rest)[0].framework == "keras" else "torch"
    return SCHEME_KINDS.get(scheme, "torch")


def load(
    source: str,
    *,
    input_shape: str | None = None,
    input_dtype: str | None = None,
    input_fn: str | None = None,
) -> Workload:
    """Build the workload a source string names.  Raises SourceError for anything unknown."""
    if not isinstance(source, str) or ":" not in source:
        raise SourceError(
            f"'{source}' is not a model source; use zoo:NAME, py:module:function or onnx:PATH (see: nnspeed zoo)"
        )
    scheme, _, rest = source.partition(":")
    if scheme == "zoo":
        from .registry import load_zoo

        if input_shape or input_fn:
            raise InputError("zoo models make their own inputs; drop --input-shape/--input-fn and use zoo keys")
        return load_zoo(rest)
    if scheme == "py":
        return _load_py(rest, input_shape, input_dtype, input_fn)
    if scheme == "onnx":
        return _load_onnx(rest, input_shape)
    if scheme == "hf":
        from .zoo_hf import load_hf_causal_lm

        return load_hf_causal_lm(rest)
    if scheme in ("keras", "tf", "tflite"):
        from .sources_tf import load_tf_source

        return load_tf_source(scheme, rest, input_shape)
    raise SourceError(
        f"unknown source scheme '{scheme}:'; use zoo:NAME, py:module:function, onnx:PATH, hf:PATH, "
        "keras:PATH, tf:PATH or tflite:PATH"
    )


def workload_from_module(model, inputs) -> Workload:
    """Wrap a torch module and example inputs (a tensor or a tuple of them; dim 0 is the batch)."""
    import torch

    items = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    if not items or not all(isinstance(x, (torch.Tensor, np.ndarray)) for x in items):
        raise InputError("inputs must be a tensor or a tuple of tensors whose first dimension is the batch")
    arrays = [x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x) for x in items]
    specs = [InputSpec(f"input{i}", a.shape[1:], a.dtype.name) for i, a in enumerate(arrays)]

    def make(batch: int, index: int) -> dict[str, np.ndarray]:
        # The caller's own inputs, resized along the batch dimension: never silently random.
        return {s.name: np.resize(a, (batch, *a.shape[1:])) for s, a in zip(specs, arrays)}

    name = type(model).__name__
    return Workload(source=f"module:{name}", name=name, inputs=specs, make_inputs=make, model=model.eval(), pool_size=1)


def as_workload(model_or_source, inputs) -> Workload:
    if isinstance(model_or_source, Workload):
        return model_or_source
    if isinstance(model_or_source, str):
        return load(model_or_source)
    if inputs is None:
        raise InputError("benching a module needs example inputs: nnspeed.bench(model, inputs=torch.randn(1, …))")
    return workload_from_module(model_or_source, inputs)


def import_function(ref: str, what: str):
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise SourceError(f"{what} '{ref}' must look like package.module:function")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a user's own modules, as `python -m` would find them
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SourceError(
            f"cannot import module '{module_name}' ({e}); check the name and that it is on PYTHONPATH"
        ) from None
    except Exception as e:
        raise SourceError(f"importing module '{module_name}' raised {type(e).__name__}: {e}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise SourceError(f"module '{module_name}' has no function '{attr}'; check the name after the colon")
    return module, fn


def _load_py(ref: str, input_shape: str | None, input_dtype: str | None, input_fn: str | None) -> Workload:
    import torch

    module, factory = import_function(ref, "py: source")
    try:
        model = factory()
    except Exception as e:
        raise ModelError(f"calling {ref}() raised {type(e).__name__}: {e}") from None
    if not isinstance(model, torch.nn.Module):
        raise SourceError(f"{ref}() returned {type(model).__name__}, not a torch.nn.Module; return the model itself")
    model.eval()
    shapes = parse_shapes(input_shape)
    companion = None
    if input_fn:
        _, companion = import_function(input_fn, "--input-fn")
    elif not shapes:
        attr = ref.partition(":")[2]
        companion = getattr(module, f"{attr}_inputs", None) or getattr(module, "example_inputs", None)
    if companion is not None:
        return _companion_workload(ref, model, companion)
    if not shapes:
        raise InputError(
            f"py:{ref} needs its input shape: pass --input-shape like 1x3x224x224, "
            "or define example_inputs(batch) in the module"
        )
    dtypes = parse_dtypes(input_dtype, len(shapes))
    specs = [InputSpec(f"input{i}", s[1:], d) for i, (s, d) in enumerate(zip(shapes, dtypes))]
    return Workload.with_random_inputs(
        f"py:{ref}",
        ref.rpartition(":")[2],
        specs,
        model=model,
        meta={"input_shape": input_shape, "input_dtype": input_dtype},
    )


def _companion_workload(ref: str, model, companion) -> Workload:
    import torch

    takes_batch = len(inspect.signature(companion).parameters) >= 1

    def as_arrays(batch: int, index: int) -> list[np.ndarray]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(index)
            try:
                out = companion(batch) if takes_batch else companion()
            except Exception as e:
                raise InputError(f"the input function raised {type(e).__name__}: {e}") from None
        items = out if isinstance(out, (tuple, list)) else (out,)
        arrays = [np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x) for x in items]
        if not takes_batch:
            arrays = [np.resize(a, (batch, *a.shape[1:])) for a in arrays]
        return arrays

    example = as_arrays(1, 0)
    specs = [InputSpec(f"input{i}", a.shape[1:], a.dtype.name) for i, a in enumerate(example)]

    def make(batch: int, index: int) -> dict[str, np.ndarray]:
        return {s.name: a for s, a in zip(specs, as_arrays(batch, index))}

    return Workload(source=f"py:{ref}", name=ref.rpartition(":")[2], inputs=specs, make_inputs=make, model=model)


def _load_onnx(path_text: str, input_shape: str | None) -> Workload:
    from .._optional import require

    onnx = require("onnx", "onnx", "an onnx: source")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise SourceError(f"no ONNX file at '{path_text}'; check the path")
    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as e:
        raise SourceError(f"'{path_text}' is not a valid ONNX model ({reason(e, 160)}); re-export it") from None
    initializers = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    shapes = parse_shapes(input_shape)
    check_shape_count(shapes, len(graph_inputs))
    specs = []
    for k, inp in enumerate(graph_inputs):
        t = inp.type.tensor_type
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)).name
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
        specs.append(spec_from_dims(inp.name, dims, dtype, shapes[k] if shapes else None))
    return Workload.with_random_inputs(
        f"onnx:{path_text}",
        path.stem,
        specs,
        model_file=path,
        meta={"opset": [o.version for o in model.opset_import]},
    )
