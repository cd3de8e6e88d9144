"""Keras/TensorFlow → LiteRT ``.tflite`` variants: float, float16 weights, dynamic-range int8
(``Optimize.DEFAULT`` alone) and full int8 calibrated on real data."""

from __future__ import annotations

import numpy as np

from ..errors import SourceError
from ..workloads.tflite_convert import QUANTIZATIONS, tflite_files
from ..workloads.workload import Workload
from .base import variant


def to_tflite(w: Workload, quantization: str = "float", calibration: list[dict] | None = None) -> Workload:
    """``w`` as a .tflite file (``quantization``: float, fp16, dynamic-int8 or int8).  Full int8
    calibrates on ``calibration`` (input batches of real data, the first input of each)."""
    got = to_tflite_all(w, (quantization,), calibration)[quantization]
    if isinstance(got, SourceError):
        raise got
    return got


def to_tflite_all(
    w: Workload, quantizations=QUANTIZATIONS, calibration: list[dict] | None = None
) -> dict[str, Workload | SourceError]:
    """Several .tflite variants of ``w`` from one converter process; each is the variant, or
    the error that says why it could not be made (full int8 without ``calibration`` is one)."""
    data = None
    if "int8" in quantizations and calibration:
        data = np.concatenate([np.asarray(next(iter(b.values()))) for b in calibration])
    made: dict[str, Workload | SourceError] = {}
    if "int8" in quantizations and data is None:
        made["int8"] = SourceError("full int8 conversion needs real input samples to calibrate on: give --data")
        quantizations = tuple(q for q in quantizations if q != "int8")
    for q, path in tflite_files(w, quantizations, data).items():
        made[q] = (
            path
            if isinstance(path, SourceError)
            else variant(w, f"tflite-{q}", model=None, keras_model=None, model_file=path)
        )
    return made
