"""Keras/TensorFlow → LiteRT ``.tflite``: float, float16 weights, dynamic-range int8, or full
int8 calibrated on real data.  Each conversion runs in a child process (TensorFlow's converter
leaks memory on every call) and its file is cached by the model's content.

The child is ``python -m nnspeed.workloads.tflite_convert SRC DATA.npy|"" QUANTIZATION=DST…``:
SRC is a .keras file, a SavedModel directory, or the Keras plan of a torch nn.Sequential
(``torch_keras``, .npz); one child makes every file asked of it.
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
    got = tflite_files(workload, (quantization,), data)[quantization]
    if isinstance(got, SourceError):
        raise got
    return got


def tflite_files(workload, quantizations, data: np.ndarray | None = None) -> dict[str, Path | SourceError]:
    """Several conversions of one model at once, in one child process (TensorFlow's start-up,
    several seconds, is paid once): each quantization's file, or the error that says why it
    could not be made."""
    for q in quantizations:
        if q not in QUANTIZATIONS:
            raise SourceError(f"unknown LiteRT conversion '{q}'; use one of {', '.join(QUANTIZATIONS)}")
    if workload.kind == "tflite":
        return {q: Path(workload.model_file) for q in quantizations}
    if workload.kind not in ("keras", "tf-saved-model", "torch"):
        raise SourceError(
            f"{workload.source} is a {workload.kind} file, which nnspeed cannot convert to LiteRT; "
            "pass a .tflite file with tflite:PATH, a Keras model or a PyTorch nn.Sequential"
        )
    if "int8" in quantizations and data is None:
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
        paths = {}
        for q in quantizations:
            calibrated = ""
            if q == "int8":
                calibrated = "-" + hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()[:8]
            paths[q] = cache_dir("tflite") / f"{workload.name}-{tag}{calibrated}-{q}.tflite"
        todo = [q for q in quantizations if not paths[q].exists()]
        errors = _convert_in_child(workload, src, {q: paths[q] for q in todo}, data, Path(tmp)) if todo else {}
        return {q: errors.get(q, paths[q]) for q in quantizations}


def _convert_in_child(workload, src: Path, targets: dict[str, Path], data, tmp: Path) -> dict[str, SourceError]:
    if workload.kind == "keras":
        workload.keras_model.save(str(src))
    data_arg = ""
    if data is not None and "int8" in targets:
        data_arg = str(tmp / "data.npy")
        np.save(data_arg, np.asarray(data, dtype=np.float32))
    outs = {q: private_tmp(path) for q, path in targets.items()}
    argv = [sys.executable, "-m", "nnspeed.workloads.tflite_convert", str(src), data_arg]
    argv += [f"{q}={out}" for q, out in outs.items()]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, env=env)
    lines = done.stderr.strip().splitlines()
    errors = {}
    for q, out in outs.items():
        if out.exists():
            out.replace(targets[q])  # atomic: a concurrent run never reads half a file
            continue
        said = [line.split(": ", 1)[1] for line in lines if line.startswith(f"{FAILED} {q}: ")]
        last = (said or lines or ["no message"])[-1][:200]
        errors[q] = SourceError(
            f"{workload.source} could not be converted to LiteRT ({q}): {last}; convert it yourself and pass tflite:PATH"
        )
    return errors


FAILED = "nnspeed-conversion-failed"


def convert(src: str, data_path: str, targets: dict[str, str]) -> None:
    """In the child: SRC (.keras, a torch model's plan .npz, or a SavedModel dir) → one .tflite
    per quantization in ``targets``.  A conversion that fails is said on stderr, one line, and
    the others still run."""
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
        for quantization, dst in targets.items():
            try:
                Path(dst).write_bytes(_converter(tf, saved, quantization, data_path).convert())
            except Exception as e:
                Path(dst).unlink(missing_ok=True)
                message = " ".join(str(e).split()) or type(e).__name__
                print(f"{FAILED} {quantization}: {message}", file=sys.stderr, flush=True)
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


def _converter(tf, saved: str, quantization: str, data_path: str):
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
    return converter


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2], dict(arg.split("=", 1) for arg in sys.argv[3:]))
