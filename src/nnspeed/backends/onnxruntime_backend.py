"""ONNX Runtime: ONNX files directly, torch models exported once per workload."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .._optional import require
from ..errors import SourceError, UnsupportedError, reason
from ..measure.environment import physical_cores
from .base import PRECISIONS, Exported, Settings, check_accepts, check_device

OPT_LEVELS = ("disable", "basic", "extended", "all")


class OrtRunner:
    def __init__(self, session, names: list[str], effective: dict):
        self.session = session
        self._names = names
        self.effective = effective

    def prepare(self, inputs):
        return {n: np.ascontiguousarray(inputs[n]) for n in self._names}

    def run(self, feed):
        return self.session.run(None, feed)

    def sync(self):
        pass  # session.run returns host arrays: the call is complete when it returns

    def outputs(self, result):
        return [np.asarray(r, dtype=float) for r in result if isinstance(r, np.ndarray)]

    def memory(self) -> dict:
        return {}

    def close(self):
        self.session = None


class OnnxRuntime:
    name = "onnxruntime"
    accepts = frozenset({"torch", "onnx"})
    streams = True  # every session has its own thread pools

    def prepare(self, workload, settings: Settings) -> OrtRunner:
        ort = require("onnxruntime", "onnx", "the onnxruntime backend")
        check_accepts(self, workload)
        if settings.precision not in PRECISIONS:
            raise UnsupportedError(f"unknown precision '{settings.precision}'; use one of {', '.join(PRECISIONS)}")
        check_device(settings.device)
        if settings.device == "cpu" and settings.precision != "fp32":
            raise UnsupportedError(
                f"onnxruntime's CPU provider has no {settings.precision} kernels for most operators; "
                "use --precision fp32 here, or openvino / torch-eager for reduced precision on CPU"
            )
        provider = "CUDAExecutionProvider" if settings.device == "cuda" else "CPUExecutionProvider"
        if provider not in ort.get_available_providers():
            raise UnsupportedError(
                f"onnxruntime here has no {provider}; install onnxruntime-gpu for device cuda, or use --device cpu"
            )
        level = settings.options.get("opt_level", "all")
        if level not in OPT_LEVELS:
            raise UnsupportedError(f"unknown onnxruntime opt_level '{level}'; use one of {', '.join(OPT_LEVELS)}")
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[level]
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.inter_op_num_threads = 1
        so.intra_op_num_threads = settings.threads or 0
        model = str(workload.model_path())
        if settings.precision == "fp16":
            model = _fp16_model(model)
        try:
            session = ort.InferenceSession(model, so, providers=[provider])
        except Exception as e:
            raise SourceError(
                f"onnxruntime could not load {workload.source} ({reason(e)}); check or re-export the model"
            ) from None
        if session.get_providers()[0] != provider:
            raise UnsupportedError(
                f"onnxruntime fell back from {provider} to {session.get_providers()[0]}; use --device cpu"
            )
        effective = {
            "precision": settings.precision,
            "threads": settings.threads or physical_cores(),
            "device": settings.device,
            "providers": session.get_providers(),
            "opt_level": level,
            "onnxruntime": ort.__version__,
        }
        return OrtRunner(session, [i.name for i in session.get_inputs()], effective)

    def export(self, workload, precision: str, out_dir: Path) -> Exported:
        """The ONNX file the sessions load (weights kept in a side file stay in one beside it)."""
        onnx = require("onnx", "onnx", "exporting for onnxruntime")
        check_accepts(self, workload)
        src, target = Path(workload.model_path()), Path(out_dir) / "model.onnx"
        header = onnx.load(str(src), load_external_data=False)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in header.graph.initializer):
            onnx.save_model(onnx.load(str(src)), str(target), save_as_external_data=True, location="model.onnx.data")
            files = [target, target.with_name("model.onnx.data")]
        else:
            shutil.copyfile(src, target)
            files = [target]
        how = f"onnxruntime.InferenceSession('{target.name}')"
        if precision == "fp16":
            how += ", after onnxruntime.transformers.float16.convert_float_to_float16(model, keep_io_types=True)"
        return Exported(files, "onnx", how)


def _fp16_model(path: str) -> bytes:
    """An fp16 copy of the model with fp32 inputs and outputs (onnxruntime's own converter)."""
    onnx = require("onnx", "onnx", "fp16 on onnxruntime")
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(onnx.load(path), keep_io_types=True).SerializeToString()
