"""OpenVINO on CPU, reading an ONNX file or its own IR; precision is pinned and read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .._optional import require
from ..errors import SourceError, UnsupportedError, reason
from .base import PRECISIONS, Exported, Settings, check_accepts, check_hardware_precision

HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


def _precision_name(value) -> str:
    """OpenVINO reports an element type (f32, bf16, f16); map it back to fp32/bf16/fp16."""
    name = value.get_type_name() if hasattr(value, "get_type_name") else str(value)
    return {v: k for k, v in HINTS.items()}.get(name, name)


def input_names(compiled, wanted: list[str]) -> list[str]:
    """The workload's input that feeds each of the compiled model's inputs. A port has several
    tensor names and ``any_name`` may be an internal one (an exported GPT-2's is a Reshape's
    output), so the name is looked up among all of them, in the workload's order otherwise."""
    names = []
    for k, port in enumerate(compiled.inputs):
        known = port.get_names()
        match = next((n for n in wanted if n in known), None)
        if match is None:
            if k >= len(wanted):
                raise SourceError(f"the model file has an input {port.any_name} that the workload does not give")
            match = wanted[k]
        names.append(match)
    return names


class OvRunner:
    def __init__(self, compiled, effective: dict, names: list[str]):
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self._names = names  # the workload's input for each port, in port order
        self.effective = effective

    def prepare(self, inputs):
        return {k: np.ascontiguousarray(inputs[n]) for k, n in enumerate(self._names)}

    def run(self, feed):
        return self.request.infer(feed)

    def sync(self):
        pass  # infer() is synchronous

    def outputs(self, result):
        return [np.asarray(v, dtype=float) for v in result.values()]

    def memory(self) -> dict:
        return {}

    def close(self):
        self.request = None
        self.compiled = None


class OpenVino:
    name = "openvino"
    accepts = frozenset({"torch", "onnx", "openvino-ir"})
    streams = True  # every compiled model has its own thread pool

    def prepare(self, workload, settings: Settings) -> OvRunner:
        ov = require("openvino", "openvino", "the openvino backend")
        check_accepts(self, workload)
        if settings.precision not in PRECISIONS:
            raise UnsupportedError(f"unknown precision '{settings.precision}'; use one of {', '.join(PRECISIONS)}")
        if settings.device != "cpu":
            raise UnsupportedError(
                "the openvino backend runs on the CPU here (it has no CUDA device); use --device cpu"
            )
        check_hardware_precision(settings.precision, "cpu")
        core = ov.Core()
        try:
            model = core.read_model(str(workload.model_path()))
            # Static shapes at the requested batch: what a deployment would compile.
            model.reshape({i.any_name: [settings.batch, *s.shape] for i, s in zip(model.inputs, workload.inputs)})
        except Exception as e:
            raise SourceError(
                f"openvino could not read {workload.source} ({reason(e)}); check or re-export the model"
            ) from None
        # Pinned explicitly: on CPUs with bf16 instructions OpenVINO otherwise runs bf16 when fp32 was meant.
        config = {
            "INFERENCE_PRECISION_HINT": HINTS[settings.precision],
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
        }
        if settings.threads:
            config["INFERENCE_NUM_THREADS"] = str(settings.threads)
        compiled = core.compile_model(model, "CPU", config)
        effective_precision = _precision_name(compiled.get_property("INFERENCE_PRECISION_HINT"))
        if effective_precision != settings.precision:
            raise UnsupportedError(
                f"openvino runs this model in {effective_precision} when {settings.precision} is asked for on this CPU; "
                f"use --precision {effective_precision}"
            )
        effective = {
            "precision": effective_precision,
            "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
            "device": "cpu",
            "num_streams": int(compiled.get_property("NUM_STREAMS")),
            "openvino": ov.__version__ if hasattr(ov, "__version__") else ov.get_version(),
        }
        return OvRunner(compiled, effective, input_names(compiled, [s.name for s in workload.inputs]))

    def export(self, workload, precision: str, out_dir: Path) -> Exported:
        """OpenVINO IR: the .xml graph and the .bin weights beside it (an ONNX model converted,
        its weights kept at full precision)."""
        ov = require("openvino", "openvino", "exporting for openvino")
        check_accepts(self, workload)
        target = Path(out_dir) / "model.xml"
        src = Path(workload.model_path())
        if workload.file_format == "openvino-ir":
            shutil.copyfile(src, target)
            shutil.copyfile(src.with_suffix(".bin"), target.with_suffix(".bin"))
        else:
            ov.save_model(ov.Core().read_model(str(src)), str(target), compress_to_fp16=False)
        how = (
            f"openvino.Core().compile_model('{target.name}', 'CPU', "
            f"{{'INFERENCE_PRECISION_HINT': '{HINTS[precision]}'}})"
        )
        return Exported([target, target.with_suffix(".bin")], "openvino-ir", how)
