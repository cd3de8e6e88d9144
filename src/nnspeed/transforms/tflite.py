"""Keras/TensorFlow → LiteRT ``.tflite`` variants: float, float16 weights, dynamic-range int8
(``Optimize.DEFAULT`` alone) and full int8 calibrated on real data."""

from __future__ import annotations

import numpy as np

from ..workloads.tflite_convert import tflite_file
from ..workloads.workload import Workload
from .base import variant


def to_tflite(w: Workload, quantization: str = "float", calibration: list[dict] | None = None) -> Workload:
    """``w`` as a .tflite file (``quantization``: float, fp16, dynamic-int8 or int8).  Full int8
    calibrates on ``calibration`` (input batches of real data, the first input of each)."""
    data = None
    if quantization == "int8" and calibration:
        data = np.concatenate([np.asarray(next(iter(b.values()))) for b in calibration])
    path = tflite_file(w, quantization, data)
    return variant(w, f"tflite-{quantization}", keras_model=None, model_file=path)
