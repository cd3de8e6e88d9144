"""LiteRT (formerly TensorFlow Lite): ``ai_edge_litert``'s Interpreter on a ``.tflite`` file,
with XNNPACK (the default delegate) or the builtin kernels alone (option ``xnnpack`` false).

A Keras or SavedModel workload is converted to a float ``.tflite`` first (cached); a PyTorch
``nn.Sequential`` is rebuilt as Keras layers with its weights (``workloads.torch_keras``) and
converted the same way.  Inputs are
resized to the batch once, before any timing: a resize re-initialises the delegate.  What the
runner records is what the file holds: the quantization is read from its tensors, never taken
from what was asked for."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..errors import UnsupportedError
from ..measure.environment import physical_cores
from .base import Exported, Settings, check_accepts, check_device

WEIGHT_DTYPES = {"float32": "fp32", "float16": "fp16", "int8": "int8", "uint8": "uint8"}


def file_quantization(interpreter) -> str:
    """What a .tflite file's numbers are, read from its tensors: "fp32", "fp16" (float16
    weights), "dynamic-range int8" (int8 weights, float activations) or "int8" (int8 inputs)."""
    inputs = {d["index"] for d in interpreter.get_input_details()}
    in_dtypes = {np.dtype(d["dtype"]).name for d in interpreter.get_input_details()}
    kinds = set()
    for t in interpreter.get_tensor_details():
        if t["index"] in inputs:
            continue
        kinds.add(np.dtype(t["dtype"]).name)
    if in_dtypes & {"int8", "uint8"}:
        return "int8"
    if "int8" in kinds or "uint8" in kinds:
        return "dynamic-range int8"
    if "float16" in kinds:
        return "fp16"
    return "fp32"


def input_details(interpreter) -> list[dict]:
    """The inputs in signature order when the file has a signature (names as the model's),
    else in tensor order."""
    signatures = interpreter.get_signature_list()
    if signatures:
        key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
        named = interpreter.get_signature_runner(key).get_input_details()
        return [{**d, "name": n} for n, d in named.items()]
    return list(interpreter.get_input_details())


class LiteRTRunner:
    # An Interpreter has one buffer per input: timed calls reuse one prepared input, set once,
    # as TFLite's benchmark_model times them (a new input costs a set_tensor copy per call).
    input_pool = 1

    def __init__(self, workload, settings: Settings, path: Path):
        from ..workloads.sources_tf import open_interpreter

        xnnpack = bool(settings.options.get("xnnpack", True))
        # Unset, LiteRT leaves the count to the implementation and cannot say what it chose: nnspeed
        # asks for the physical cores, as onnxruntime and torch default to, and records that.
        threads = settings.threads or physical_cores()
        it = open_interpreter(path, str(path), threads, xnnpack)
        details = input_details(it)
        by_name = {d["name"]: d for d in details}
        ordered = [by_name.get(s.name) for s in workload.inputs]
        if None in ordered:
            ordered = details  # names differ (a converted model): the same order
        resized = False
        for d, spec in zip(ordered, workload.inputs):
            shape = [settings.batch, *spec.shape]
            if list(d["shape"]) != shape:
                it.resize_tensor_input(d["index"], shape)
                resized = True
        if resized:
            it.allocate_tensors()
        self._it = it
        self._current = None  # the prepared input last set
        self._inputs = [(d["index"], np.dtype(d["dtype"]), d.get("quantization", (0.0, 0))) for d in ordered]
        self._outputs = [(d["index"], d.get("quantization", (0.0, 0))) for d in it.get_output_details()]
        self.effective = {
            "precision": file_quantization(it),
            "threads": threads,
            "delegate": "xnnpack" if xnnpack else "none (builtin kernels)",
            "device": "cpu",
            "model_file": path.name,
        }

    def prepare(self, inputs):
        """Arrays in the file's dtypes; float inputs to an int8 file are quantized with its
        scale and zero point, as a deployed app would."""
        out = []
        for (_, dtype, (scale, zero)), a in zip(self._inputs, inputs.values()):
            if np.issubdtype(dtype, np.integer) and np.issubdtype(a.dtype, np.floating) and scale:
                info = np.iinfo(dtype)
                a = np.clip(np.round(a / scale + zero), info.min, info.max)
            out.append(np.ascontiguousarray(a, dtype=dtype))
        return out

    def _set(self, arrays) -> None:
        if arrays is not self._current:
            for (index, _, _), a in zip(self._inputs, arrays):
                self._it.set_tensor(index, a)
            self._current = arrays

    def run(self, arrays):
        self._set(arrays)
        self._it.invoke()

    def invoker(self, arrays):
        """Set ``arrays`` once, without running them (the first call is timed apart); then every
        ``invoke()`` runs them, as benchmark_model does."""
        self._set(arrays)
        return self._it.invoke

    def sync(self):
        pass  # invoke() returns when the work is done

    def outputs(self, result):
        out = []
        for index, (scale, zero) in self._outputs:
            a = self._it.get_tensor(index)
            if np.issubdtype(a.dtype, np.integer) and scale:
                a = (a.astype(np.float32) - zero) * scale
            out.append(np.asarray(a, dtype=np.float32))
        return out

    def memory(self) -> dict:
        return {}

    def close(self):
        self._it = None


class LiteRT:
    name = "litert"
    accepts = frozenset({"tflite", "keras", "tf-saved-model", "torch"})
    streams = True  # each Interpreter has its own threads

    def prepare(self, workload, settings: Settings) -> LiteRTRunner:
        check_accepts(self, workload)
        check_device(settings.device)
        if settings.device != "cpu":
            raise UnsupportedError("the litert backend runs on the CPU here; use --device cpu")
        if settings.precision != "fp32":
            raise UnsupportedError(
                f"litert runs the numbers its .tflite file holds, so --precision {settings.precision} cannot be "
                "applied at run time; convert the model (nnspeed optimize tries fp16 and int8 files) and run that"
            )
        from ..workloads.tflite_convert import tflite_file

        return LiteRTRunner(workload, settings, tflite_file(workload))

    def export(self, workload, precision: str, out_dir: Path) -> Exported:
        from ..workloads.tflite_convert import tflite_file

        check_accepts(self, workload)
        target = Path(out_dir) / "model.tflite"
        shutil.copyfile(tflite_file(workload), target)
        return Exported(
            [target], "tflite", f"ai_edge_litert.interpreter.Interpreter(model_path='{target.name}').allocate_tensors()"
        )
