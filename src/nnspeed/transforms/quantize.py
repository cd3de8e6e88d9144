"""Dynamic int8 quantization through the frameworks' own quantizers."""

from __future__ import annotations

import warnings
from pathlib import Path

from .._optional import require
from .._silence import quiet
from ..errors import UnsupportedError
from ..workloads.workload import Workload
from .base import copied_model, variant


def conv1d_as_linear(model):
    """Replace transformers' ``Conv1D`` (GPT-2's projections: ``x @ W + b``, W stored as in×out)
    by the equivalent ``nn.Linear`` in place, so that the quantizers see those layers."""
    import torch

    for name, child in list(model.named_children()):
        if type(child).__name__ == "Conv1D" and hasattr(child, "nf"):
            n_in, n_out = child.weight.shape
            linear = torch.nn.Linear(n_in, n_out, bias=child.bias is not None)
            with torch.no_grad():
                linear.weight.copy_(child.weight.t())
                if child.bias is not None:
                    linear.bias.copy_(child.bias)
            setattr(model, name, linear)
        else:
            conv1d_as_linear(child)
    return model


def quantize_dynamic_int8(model):
    """torch.ao dynamic int8 quantization of a module's Linear/LSTM/GRU layers (and Conv1D)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(
            conv1d_as_linear(model), {torch.nn.Linear, torch.nn.LSTM, torch.nn.GRU}, dtype=torch.qint8
        )


def dynamic_int8_torch(w: Workload) -> Workload:
    """torch.ao dynamic quantization of Linear/LSTM/GRU weights (activations quantized per call)."""
    if w.model is None:
        raise UnsupportedError("torch dynamic quantization needs a torch model; use dynamic_int8_onnx for ONNX files")
    return variant(w, "int8-dynamic-torch", model=quantize_dynamic_int8(copied_model(w)), model_file=None)


def dynamic_int8_onnx(w: Workload) -> Workload:
    """onnxruntime.quantization.quantize_dynamic on the workload's ONNX file (int8 weights)."""
    require("onnxruntime", "onnx", "ONNX Runtime quantization")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = Path(w.model_path())
    dst = src.with_name(src.stem + "-int8.onnx")
    # Weights of MatMul/Gemm only, one scale per output channel: quantizing activation-by-
    # activation products (attention) or embedding lookups costs fidelity for little speed.
    options = dict(weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul", "Gemm"])
    try:
        quiet(lambda: quantize_dynamic(str(src), str(dst), **options))
    except Exception:
        pre = _pre_processed(src)  # torch.export files need shape inference first
        quiet(lambda: quantize_dynamic(str(pre), str(dst), **options))
    return variant(w, "int8-dynamic-onnx", model=None, model_file=dst)


def _pre_processed(src: Path) -> Path:
    """onnxruntime's quantization pre-processing; its symbolic shape inference cannot read
    every graph, so it is skipped when it fails, and the original is used when all fails."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = src.with_name(src.stem + "-pre.onnx")
    for options in ({}, {"skip_symbolic_shape": True}):
        try:
            quiet(lambda: quant_pre_process(str(src), str(pre), **options))  # noqa: B023 (called at once)
            return pre
        except Exception:
            continue
    return src


def static_int8_onnx(w: Workload, calibration: list[dict]) -> Workload:
    """onnxruntime.quantization.quantize_static (QDQ, per-channel int8) calibrated on real batches."""
    require("onnxruntime", "onnx", "ONNX Runtime quantization")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(calibration)

        def get_next(self):
            return next(self._it, None)

    src = Path(w.model_path())
    dst = src.with_name(src.stem + "-int8s.onnx")
    pre = _pre_processed(src)
    quiet(
        lambda: quantize_static(
            str(pre),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
    )
    return variant(w, "int8-static-onnx", model=None, model_file=dst)


def weight_int8_openvino(w: Workload) -> Workload:
    """Weight-only int8 (NNCF ``compress_weights``, asymmetric per-channel) for OpenVINO:
    activations stay in floating point, so fidelity holds where dynamic int8 loses it."""
    ov = require("openvino", "openvino", "OpenVINO weight compression")
    nncf = require("nncf", "openvino", "OpenVINO weight compression")
    src = Path(w.model_path())
    dst = src.with_name(src.stem + "-w8.xml")
    model = quiet(
        lambda: nncf.compress_weights(ov.Core().read_model(str(src)), mode=nncf.CompressWeightsMode.INT8_ASYM)
    )
    ov.save_model(model, str(dst))
    # An OpenVINO IR file: only the openvino backend can run this variant.
    return variant(w, "int8-weights-openvino", model=None, model_file=dst)


def static_int8_openvino(w: Workload, calibration: list[dict]) -> Workload:
    """Post-training static int8 with NNCF ``nncf.quantize``, calibrated on real batches."""
    ov = require("openvino", "openvino", "OpenVINO quantization")
    nncf = require("nncf", "openvino", "OpenVINO quantization")
    src = Path(w.model_path())
    dst = src.with_name(src.stem + "-int8s.xml")
    model = ov.Core().read_model(str(src))
    data = nncf.Dataset(calibration)
    quantized = quiet(lambda: nncf.quantize(model, data, subset_size=len(calibration)))
    ov.save_model(quantized, str(dst))
    return variant(w, "int8-static-openvino", model=None, model_file=dst)
