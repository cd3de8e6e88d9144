"""Resolve a source string (``zoo:…``, ``py:module:function``, ``onnx:path``) to a Workload."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelError, SourceError, reason
from .signature import Example, adapt, split_example
from .specs import check_batch_dim, check_dtype, match_inputs, parse_inputs, spec_from_dims
from .workload import InputSpec, Workload, default_fill, random_inputs

SCHEMES = ("zoo", "py", "onnx", "hf", "keras", "tf", "tflite")


def parse_dtypes(text: str | None, count: int) -> list[str]:
    names = [d.strip() for d in (text or "float32").split(",")]
    for d in names:
        check_dtype(d, "--input-dtype")
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


# A bare file's scheme, by what it ends with.
SUFFIX_SCHEMES = {".onnx": "onnx", ".tflite": "tflite", ".keras": "keras", ".h5": "keras"}
SOURCE_FORMS = "zoo:NAME, py:module:function, py:path/to/file.py:function, a model file or directory, or SCHEME:PATH"


def with_scheme(source: str) -> str:
    """A source with its scheme: a bare path to a model file (.onnx, .tflite, .keras, .h5) or
    directory (config.json: hf, saved_model.pb: tf) gets the scheme its format needs; anything
    else is returned as it is."""
    if not isinstance(source, str):
        return source
    scheme = source.partition(":")[0]
    if scheme in SCHEMES:
        return source
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return f"hf:{source}"
        if (path / "saved_model.pb").is_file():
            return f"tf:{source}"
        raise SourceError(
            f"the directory '{source}' holds no model nnspeed knows (no config.json, no saved_model.pb); "
            f"give {SOURCE_FORMS}"
        )
    if path.suffix.lower() in SUFFIX_SCHEMES:
        if not path.is_file():
            raise SourceError(f"no model file at '{source}'; check the path")
        return f"{SUFFIX_SCHEMES[path.suffix.lower()]}:{source}"
    if path.suffix == ".py" and path.is_file():
        raise SourceError(f"'{source}' is a Python file; name the function that builds the model: py:{source}:make")
    if path.name in ("config.json", "saved_model.pb") and path.is_file():
        raise SourceError(f"'{source}' is a file inside a model directory; give the directory: {path.parent}")
    if path.is_file() and ":" not in source:
        raise SourceError(
            f"'{source}' is a file nnspeed cannot tell the format of ({path.suffix or 'no suffix'}); "
            "give SCHEME:PATH, e.g. onnx:PATH, or a .onnx, .tflite, .keras or .h5 file"
        )
    return source


def source_kind(source: str) -> str:
    """The workload kind a source will load as, read from its name alone (nothing is built):
    what picks a source's own runtime before the model is loaded."""
    scheme, _, rest = with_scheme(source).partition(":")
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
    source = with_scheme(source)
    if not isinstance(source, str) or ":" not in source:
        raise SourceError(f"'{source}' is not a model source or an existing file; give {SOURCE_FORMS}")
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
        from .hf_dir import load_hf

        return load_hf(rest)
    if scheme in ("keras", "tf", "tflite"):
        from .sources_tf import load_tf_source

        return load_tf_source(scheme, rest, input_shape)
    raise SourceError(
        f"unknown source scheme '{scheme}:' (and no file '{source}'); use zoo:NAME, py:module:function, "
        "onnx:PATH, hf:PATH, keras:PATH, tf:PATH or tflite:PATH, or give a model file's path"
    )


def workload_from_module(model, inputs) -> Workload:
    """Wrap a torch module and example inputs: a tensor, a tuple of them, a dict of them
    (keyword inputs), or a tuple with a dict last; dim 0 of each tensor is the batch."""
    example = split_example(inputs, "the inputs")
    name = type(model).__name__
    model, signature = adapt(model.eval(), example, "check the inputs given with the model")
    specs = _specs(example)

    def make(batch: int, index: int) -> dict[str, np.ndarray]:
        # The caller's own inputs, resized along the batch dimension: never silently random.
        return {s.name: np.resize(a, (batch, *a.shape[1:])) for s, a in zip(specs, example.arrays)}

    return Workload(
        source=f"module:{name}",
        name=name,
        inputs=specs,
        make_inputs=make,
        model=model,
        pool_size=1,
        meta={"signature": signature, "inputs_from": "the caller's inputs"},
    )


def _specs(example) -> list[InputSpec]:
    return [InputSpec(n, a.shape[1:], a.dtype.name) for n, a in zip(example.names, example.arrays)]


def as_workload(model_or_source, inputs) -> Workload:
    if isinstance(model_or_source, Workload):
        return model_or_source
    if isinstance(model_or_source, str):
        return load(model_or_source)
    if inputs is None:
        raise InputError("benching a module needs example inputs: nnspeed.bench(model, inputs=torch.randn(1, …))")
    return workload_from_module(model_or_source, inputs)


def module_of_file(path: Path) -> tuple[str, Path]:
    """The dotted name a .py file imports as, and the folder that must be on sys.path: the
    file's folder, or above the packages (folders with __init__.py) it sits in, so that its
    relative imports work."""
    path = path.resolve()
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder


def import_function(ref: str, what: str):
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise SourceError(f"{what} '{ref}' must look like package.module:function or path/to/file.py:function")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a user's own modules, as `python -m` would find them
    file = None
    if module_name.endswith(".py"):
        file = Path(module_name).expanduser().resolve()
        if not file.is_file():
            raise SourceError(f"no Python file at '{module_name}'; check the path")
        module_name, root = module_of_file(file)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
    try:
        if file is not None and "." not in module_name:
            module = _import_file(file)  # a loose file: under a name of its own
        else:
            module = importlib.import_module(module_name)
    except ImportError as e:
        if "relative import" in str(e):
            raise SourceError(
                f"module '{module_name}' uses a relative import (from . import …) but its folder is not a package; "
                "add an __init__.py to its folder, or name it as package.module:function from the folder above"
            ) from None
        raise SourceError(
            f"cannot import module '{module_name}' ({e}); check the name and that it is on PYTHONPATH"
        ) from None
    except Exception as e:
        raise SourceError(f"importing module '{module_name}' raised {type(e).__name__}: {e}") from None
    if file is not None and Path(getattr(module, "__file__", "") or "").resolve() != file:
        raise SourceError(
            f"the module name '{module_name}' of {file} is taken by {module.__file__}, imported before; "
            "rename one of the packages or run them in separate commands"
        )
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise SourceError(f"module '{module_name}' has no function '{attr}'; check the name after the colon")
    return module, fn


def _import_file(file: Path):
    """A .py file outside any package, imported under a name derived from its full path: two
    files both called net.py (a v1 and a v2) are two modules, and neither shadows a standard
    module of the same name."""
    import hashlib
    import importlib.util

    name = f"{file.stem}_{hashlib.sha256(str(file).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


PY_HINT = "check --input-shape (e.g. 1x3x224x224 or input_ids=1x128:int64) or the module's example_inputs"


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
    given = parse_inputs(input_shape)
    companion = None
    if input_fn:
        _, companion = import_function(input_fn, "--input-fn")
    elif not given:
        attr = ref.partition(":")[2]
        companion = getattr(module, f"{attr}_inputs", None) or getattr(module, "example_inputs", None)
    if companion is not None:
        return _companion_workload(ref, model, companion)
    if not given:
        raise InputError(
            f"py:{ref} needs its inputs: pass --input-shape like 1x3x224x224 (several: 1x3x224x224,1x10; "
            "by name and dtype: input_ids=1x128:int64,attention_mask=1x128:int64), "
            "or define example_inputs(batch) in the module"
        )
    dtypes = parse_dtypes(input_dtype, len(given))
    specs = []
    for i, (g, d) in enumerate(zip(given, dtypes)):
        check_batch_dim(g)
        dtype = g.dtype or d
        name = g.name or f"input{i}"
        specs.append(InputSpec(name, g.dims[1:], dtype, fill=default_fill(name, dtype)))
    make = functools.partial(random_inputs, specs)
    example = Example([s.name for s in specs], list(make(1, 0).values()), [g.name is not None for g in given])
    model, signature = adapt(model, example, PY_HINT)
    return Workload(
        source=f"py:{ref}",
        name=ref.rpartition(":")[2],
        inputs=specs,
        make_inputs=make,
        model=model,
        meta={"input_shape": input_shape, "input_dtype": input_dtype, "signature": signature},
    )


def _companion_workload(ref: str, model, companion) -> Workload:
    import torch

    takes_batch = len(inspect.signature(companion).parameters) >= 1

    def example_at(batch: int, index: int):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(index)
            try:
                out = companion(batch) if takes_batch else companion()
            except Exception as e:
                raise InputError(f"the input function raised {type(e).__name__}: {e}") from None
        return split_example(out, "the example inputs")

    first = example_at(1, 0)
    model, signature = adapt(model, first, PY_HINT)
    specs = _specs(first)

    def make(batch: int, index: int) -> dict[str, np.ndarray]:
        ex = example_at(batch, index)
        if ex.names != first.names:
            raise InputError(
                f"the input function returned inputs {', '.join(ex.names)} for batch {batch}, "
                f"but {', '.join(first.names)} for batch 1; return the same inputs for every batch size"
            )
        arrays = ex.arrays if takes_batch else [np.resize(a, (batch, *a.shape[1:])) for a in ex.arrays]
        for s, a in zip(specs, arrays):
            if a.shape != (batch, *s.shape) or a.dtype.name != s.dtype:
                raise InputError(
                    f"the input function gave input '{s.name}' as {'x'.join(map(str, a.shape))} {a.dtype.name} "
                    f"for batch {batch}; it must be {'x'.join(map(str, (batch, *s.shape)))} {s.dtype}: "
                    "make dimension 0 the batch size it is asked for, and keep the other dimensions and the dtype"
                )
        return dict(zip(first.names, arrays))

    return Workload(
        source=f"py:{ref}",
        name=ref.rpartition(":")[2],
        inputs=specs,
        make_inputs=make,
        model=model,
        meta={"signature": signature, "inputs_from": f"{getattr(companion, '__name__', 'the input function')}(batch)"},
    )


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
    given = match_inputs(parse_inputs(input_shape), [i.name for i in graph_inputs])
    specs = []
    for inp, g in zip(graph_inputs, given):
        t = inp.type.tensor_type
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)).name
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
        spec = spec_from_dims(inp.name, dims, dtype, g)
        specs.append(dataclasses.replace(spec, fill=default_fill(inp.name, dtype)))
    return Workload.with_random_inputs(
        f"onnx:{path_text}",
        path.stem,
        specs,
        model_file=path,
        meta={"opset": [o.version for o in model.opset_import]},
    )
