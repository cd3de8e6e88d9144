"""A model plus how to make its inputs; nothing here reads a clock."""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import cache_dir
from .._silence import quiet
from ..errors import InputError, SourceError, reason, root_cause

# Distinct input batches a run cycles through (random inputs); real data may give more.
INPUT_POOL = 8


@dataclass(frozen=True)
class InputSpec:
    """One model input; dimension 0 is the batch, other dimensions are fixed."""

    name: str
    shape: tuple[int, ...]  # without the batch dimension
    dtype: str  # numpy dtype name
    high: int = 100  # exclusive upper bound for integer inputs (token ids, classes)
    fixed_batch: int | None = None  # set when the model file fixes dimension 0
    fill: str = "random"  # random, ones (attention masks) or zeros (token type ids)

    def check_batch(self, batch: int) -> None:
        if self.fixed_batch is not None and batch != self.fixed_batch:
            raise InputError(
                f"the model fixes input '{self.name}' to batch {self.fixed_batch}, so batch {batch} cannot run; "
                f"use --batch {self.fixed_batch} or export the model with a dynamic batch axis"
            )

    def describe(self) -> str:
        return f"{self.name}: Nx{'x'.join(map(str, self.shape))} {self.dtype}"


def default_fill(name: str, dtype: str) -> str:
    """How seeded inputs fill an input by its name: an attention mask attends to every token
    (random 0..99 would be no mask at all), token type ids are one segment."""
    if np.issubdtype(np.dtype(dtype), np.floating):
        return "random"
    lowered = name.lower()
    if "mask" in lowered:
        return "ones"
    if "token_type" in lowered:
        return "zeros"
    return "random"


def random_inputs(specs: list[InputSpec], batch: int, index: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random inputs; ``index`` picks one of several distinct batches."""
    rng = np.random.default_rng([seed, index])
    out = {}
    for s in specs:
        s.check_batch(batch)
        shape = (batch, *s.shape)
        if s.fill != "random":
            out[s.name] = (np.ones if s.fill == "ones" else np.zeros)(shape, dtype=s.dtype)
        elif np.issubdtype(np.dtype(s.dtype), np.integer):
            out[s.name] = rng.integers(0, s.high, size=shape, dtype=s.dtype)
        elif np.dtype(s.dtype) == np.bool_:
            out[s.name] = np.ones(shape, dtype=bool)
        else:
            out[s.name] = rng.standard_normal(shape).astype(s.dtype)
    return out


@dataclass
class Workload:
    """A model (a torch module, a Keras model, or a model file: ONNX, OpenVINO IR, a TensorFlow
    SavedModel directory or a LiteRT .tflite flatbuffer) and its inputs.

    ``make_inputs(batch, index)`` returns a dict of numpy arrays keyed by input name, in
    the order of ``inputs``; different ``index`` values give different data.
    """

    source: str
    name: str
    inputs: list[InputSpec]
    make_inputs: Callable[[int, int], dict[str, np.ndarray]]
    model: object | None = None  # torch.nn.Module
    model_file: Path | None = None  # .onnx, OpenVINO IR (.xml + .bin), SavedModel dir, .tflite
    keras_model: object | None = None  # a keras.Model (never imported unless a source needs it)
    real_data: bool = False
    pool_size: int = INPUT_POOL
    description: str = ""
    meta: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def with_random_inputs(cls, source: str, name: str, inputs: list[InputSpec], **fields) -> Workload:
        """A workload whose inputs are seeded random arrays of its input specs (a model file or a
        user's model with no data of its own)."""
        return cls(
            source=source, name=name, inputs=inputs, make_inputs=functools.partial(random_inputs, inputs), **fields
        )

    @property
    def file_format(self) -> str | None:
        """The format of ``model_file``: "onnx", "openvino-ir", "tf-saved-model" or "tflite"
        (None before any file exists)."""
        if self.model_file is None:
            return None
        path = Path(self.model_file)
        if path.is_dir():
            return "tf-saved-model"
        return {".xml": "openvino-ir", ".tflite": "tflite"}.get(path.suffix, "onnx")

    @property
    def kind(self) -> str:
        """What a backend must accept to run this workload: "torch", "keras", or a file format."""
        if self.model is not None:
            return "torch"
        if self.keras_model is not None:
            return "keras"
        return self.file_format or "onnx"

    def summary(self) -> dict:
        """What was timed, for the result: each input (name, shape with N the batch, dtype, by
        keyword or by position), the outputs, and for Hugging Face models the task, class and
        sequence length."""
        signature = self.meta.get("signature") or {}
        keyword = {i["name"]: i["keyword"] for i in signature.get("inputs", [])}
        out = {
            "inputs": [
                {
                    "name": s.name,
                    "shape": "x".join(["N", *map(str, s.shape)]),
                    "dtype": s.dtype,
                    "keyword": keyword.get(s.name, False),
                }
                for s in self.inputs
            ],
            "data": self.meta.get("inputs_from") or ("real data" if self.real_data else "seeded random values"),
        }
        if signature.get("constants"):
            out["constants"] = {k: repr(v) for k, v in signature["constants"].items()}
        if signature.get("outputs"):
            out["outputs"] = signature["outputs"]
        for key in ("task", "task_from", "model_class", "seq_len"):
            if key in self.meta:
                out[key] = self.meta[key]
        return out

    def batches(self, batch: int) -> list[dict[str, np.ndarray]]:
        """The pool of distinct input batches a run cycles through."""
        if batch < 1:
            raise InputError(f"batch size must be at least 1, got {batch}; pass --batch 1 or more")
        return [self.make_inputs(batch, i) for i in range(self.pool_size)]

    def torch_args(self, batch: int = 1, index: int = 0) -> tuple:
        import torch

        data = self.make_inputs(batch, index)
        return tuple(torch.from_numpy(np.ascontiguousarray(data[s.name])) for s in self.inputs)

    def params(self) -> int | None:
        if self.keras_model is not None:
            return int(self.keras_model.count_params())
        if self.model is None:
            return None
        return sum(p.numel() for p in self.model.parameters())

    def flops(self, batch: int = 1) -> int | None:
        """FLOPs of one forward call at this batch size (torch models; Keras models count their
        Dense and convolution layers, the rest of a Keras model is not counted)."""
        if self.keras_model is not None:
            return batch * keras_flops(self.keras_model)
        if self.model is None:
            return None
        from ..explanation.flops import count_flops

        return count_flops(self.model, self.torch_args(batch))

    def model_path(self) -> Path:
        """The model file: the one given, or ONNX exported once from the torch model (with a
        dynamic batch axis)."""
        with self._lock:
            if self.model_file is None:
                self.model_file = export_onnx(self)
            return self.model_file


def keras_flops(model) -> int:
    """Multiply-adds ×2 of a Keras model's Dense and Conv layers, per sample."""
    from ..explanation.keras import layer_flops

    return sum(layer_flops(model).values())


def content_tag(w: Workload) -> str:
    """What decides the exported file: source, inputs, code and weights, and the versions."""
    import inspect

    import torch

    from .. import __version__

    signature = w.meta.get("signature") or {}
    h = hashlib.sha256(f"{w.source}|{w.inputs}|{torch.__version__}|{__version__}|{w.model}|{signature}".encode())
    for cls in dict.fromkeys(type(m) for m in w.model.modules()):  # a user's edited forward(), at any depth
        try:
            h.update(inspect.getsource(cls).encode())
        except (OSError, TypeError):
            h.update(cls.__qualname__.encode())
    # transformers' modules are traced through code that changes between its versions
    h.update(str(getattr(sys.modules.get("transformers"), "__version__", "")).encode())
    for name, value in w.model.state_dict().items():
        h.update(name.encode())
        if isinstance(value, torch.Tensor):
            h.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:16]


def batch_dims(model, count: int) -> tuple:
    """torch.export's dynamic shapes, dimension 0 of every input, by position (the forward's own
    argument names need not be the inputs' names); a ``forward(*args)`` takes them as one."""
    import inspect

    import torch

    dims = tuple({0: torch.export.Dim("batch")} for _ in range(count))
    params = inspect.signature(model.forward).parameters.values()
    return (dims,) if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params) else dims


def output_names(w: Workload) -> list[str]:
    """The names the exported graph gives the model's outputs (its own, where it has them)."""
    outputs = (w.meta.get("signature") or {}).get("outputs") or []
    return [o["name"] for o in outputs] or ["output"]


def export_onnx(w: Workload) -> Path:
    """Export the torch model to ONNX: the fast TorchScript exporter, or torch.export when
    the model uses an operator the older exporter cannot write."""
    import torch

    path = cache_dir("onnx") / f"{w.name}-{content_tag(w)}.onnx"
    if path.exists():
        return path  # the same model was exported before, by this or an earlier run
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.onnx")
    args = w.torch_args(2)
    names = [s.name for s in w.inputs]
    dynamic = {n: {0: "batch"} for n in names}
    model = w.model.eval()
    errors = []
    for dynamo, exporter in ((False, "TorchScript exporter"), (True, "torch.export")):
        try:
            with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                warnings.simplefilter("ignore")
                kwargs = dict(input_names=names, output_names=output_names(w), dynamo=dynamo)
                if dynamo:
                    kwargs["dynamic_shapes"] = batch_dims(model, len(names))
                    kwargs["external_data"] = False
                else:
                    kwargs["dynamic_axes"] = dynamic
                quiet(lambda: torch.onnx.export(model, args, str(tmp), **kwargs))  # noqa: B023 (called at once)
            os.replace(tmp, path)  # atomic: a concurrent run never reads half a file
            return path
        except Exception as e:  # the first exporter's failure is expected for some models
            cause = root_cause(e)  # torch.export wraps the operator that failed in "step 3/3" text
            errors.append(f"{exporter}: {type(cause).__name__}: {reason(cause, 160)}")
    raise SourceError(
        f"{w.source} could not be exported to ONNX ({'; '.join(errors)}); "
        "run it on torch-eager or torch-compile, or pass an ONNX file with onnx:PATH"
    )
