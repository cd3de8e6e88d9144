"""Keras/TensorFlow → LiteRT ``.tflite``: float, float16 weights, dynamic-range int8, or full
int8 calibrated on real data.  Each conversion runs in a child process (TensorFlow's converter
leaks memory on every call) and its file is cached by the model's content.

The child is ``python -m nnspeed.workloads.tflite_convert SRC DST QUANTIZATION [DATA.npy]``:
SRC is a .keras file, a SavedModel directory, or the Keras plan of a torch nn.Sequential
(``torch_keras``, .npz).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .._files import cache_dir, private_tmp
from ..errors import SourceError

QUANTIZATIONS = ("float", "fp16", "dynamic-int8", "int8")
CONVERT_TIMEOUT_S = 600


def _keras_tag(model) -> str:
    import tensorflow as tf

    h = hashlib.sha256(f"{model.to_json()}|{tf.__version__}".encode())
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()[:16]


def _dir_tag(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def tflite_file(workload, quantization: str = "float", data: np.ndarray | None = None) -> Path:
    """The workload's model as a ``.tflite`` file: the file itself for a ``tflite:`` source,
    else converted once (cached).  ``data``: real input samples for full int8 calibration."""
    if quantization not in QUANTIZATIONS:
        raise SourceError(f"unknown LiteRT conversion '{quantization}'; use one of {', '.join(QUANTIZATIONS)}")
    if workload.kind == "tflite":
        return Path(workload.model_file)
    if workload.kind not in ("keras", "tf-saved-model", "torch"):
        raise SourceError(
            f"{workload.source} is a {workload.kind} file, which nnspeed cannot convert to LiteRT; "
            "pass a .tflite file with tflite:PATH, a Keras model or a PyTorch nn.Sequential"
        )
    if quantization == "int8" and data is None:
        raise SourceError("full int8 conversion needs real input samples to calibrate on: give --data")
    with tempfile.TemporaryDirectory(prefix="nnspeed-tflite-") as tmp:
        if workload.kind == "keras":
            tag = _keras_tag(workload.keras_model)
            src = Path(tmp) / "model.keras"
        elif workload.kind == "torch":
            from .torch_keras import save_plan
            from .workload import content_tag

            tag = content_tag(workload)
            src = Path(tmp) / "model.plan.npz"
            save_plan(src, workload.model, workload)  # refuses, in one sentence, what it cannot rebuild
        else:
            tag = _dir_tag(Path(workload.model_file))
            src = Path(workload.model_file)
        if data is not None:
            tag += "-" + hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()[:8]
        path = cache_dir("tflite") / f"{workload.name}-{tag}-{quantization}.tflite"
        if path.exists():
            return path
        if workload.kind == "keras":
            workload.keras_model.save(str(src))
        argv = [sys.executable, "-m", "nnspeed.workloads.tflite_convert", str(src), "", quantization]
        if data is not None:
            np.save(Path(tmp) / "data.npy", np.asarray(data, dtype=np.float32))
            argv.append(str(Path(tmp) / "data.npy"))
        out = private_tmp(path)
        argv[4] = str(out)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, env=env)
        if done.returncode != 0 or not out.exists():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
            raise SourceError(
                f"{workload.source} could not be converted to LiteRT ({quantization}): {last}; "
                "convert it yourself and pass tflite:PATH"
            )
        out.replace(path)  # atomic: a concurrent run never reads half a file
        return path


def convert(src: str, dst: str, quantization: str, data_path: str | None = None) -> None:
    """In the child: SRC (.keras, a torch model's plan .npz, or a SavedModel dir) → DST (.tflite)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    saved = src
    work = None
    if src.endswith((".keras", ".npz")):
        import keras

        if src.endswith(".npz"):
            from nnspeed.workloads.torch_keras import build_keras

            model = build_keras(src)  # a torch model's plan, checked against torch's outputs
        else:
            model = keras.saving.load_model(src, compile=False)
        work = tempfile.mkdtemp(prefix="nnspeed-savedmodel-")
        saved = os.path.join(work, "saved")
        model.export(saved, format="tf_saved_model", verbose=False)
    try:
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantization == "fp16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "dynamic-int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif quantization == "int8":
            samples = np.load(data_path)

            def representative():
                for x in samples:
                    yield [x[None, ...].astype(np.float32)]

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        Path(dst).write_bytes(converter.convert())
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    convert(*sys.argv[1:5])
