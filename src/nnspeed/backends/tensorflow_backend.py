"""TensorFlow: a Keras model or a SavedModel's serving signature, called eagerly, as a
``tf.function`` graph (the default) or compiled by XLA (``jit_compile=True``).

Options: ``tf_mode`` = "graph" | "eager" | "xla".  TensorFlow reads its thread count once per
process, when it first runs: a second count in the same process is refused (see ``_tf``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .._tf import import_tf, prefer_threads, set_tf_threads
from ..errors import UnsupportedError
from .base import Exported, Settings, check_accepts, check_device

MODES = ("graph", "eager", "xla")


def tf_outputs(result) -> list[np.ndarray]:
    """Flatten what a Keras model or a signature returns (tensor, list, dict) to arrays."""
    if isinstance(result, dict):
        result = [result[k] for k in sorted(result)]
    if isinstance(result, (list, tuple)):
        return [a for r in result for a in tf_outputs(r)]
    if hasattr(result, "numpy"):
        return [np.asarray(result.numpy(), dtype=np.float32)]
    return []


class TensorFlowRunner:
    def __init__(self, workload, settings: Settings):
        tf = import_tf("the tensorflow backend")
        mode = settings.options.get("tf_mode", "graph")
        if mode not in MODES:
            raise UnsupportedError(f"unknown tf_mode '{mode}'; use one of {', '.join(MODES)}")
        threads = set_tf_threads(settings.threads)
        self._tf = tf
        if workload.keras_model is not None:
            model = workload.keras_model
            many = len(workload.inputs) > 1

            # model(x), as users and the Keras tutorials call it: Keras 3 layers run inference
            # unless told training=True, and an explicit training=False costs eager calls ~12%
            # (deep Dense stack, batch 1) in keyword handling at every layer.
            def call(*args):
                return model(list(args) if many else args[0])
        else:
            from ..workloads.sources_tf import serving_signature

            self._loaded, signature = serving_signature(Path(workload.model_file), str(workload.model_file))
            names = [s.name for s in workload.inputs]

            def call(*args):
                return signature(**dict(zip(names, args)))

        if mode == "eager":
            self._fn = call
        else:
            self._fn = tf.function(call, jit_compile=mode == "xla", reduce_retracing=True)
        self._dtypes = [s.dtype for s in workload.inputs]
        self.effective = {
            "precision": "fp32",
            "threads": threads,
            "device": "cpu",
            "tf_mode": {"graph": "tf.function", "eager": "eager", "xla": "tf.function + XLA"}[mode],
            "tensorflow": tf.__version__,
        }

    def prepare(self, inputs):
        return tuple(self._tf.constant(a) for a in inputs.values())

    def run(self, args):
        return self._fn(*args)

    def sync(self):
        pass  # CPU ops have finished when the call returns

    def outputs(self, result):
        return tf_outputs(result)

    def memory(self) -> dict:
        return {}

    def close(self):
        pass


class TensorFlow:
    name = "tensorflow"
    accepts = frozenset({"keras", "tf-saved-model"})
    streams = False  # one thread pool per process, fixed when TensorFlow starts
    threads_fixed_per_process = True  # several counts: one process each (api.apart_cells)

    def before_load(self, threads: list[int | None], strict: bool = True) -> None:
        """TensorFlow fixes its thread count when it starts, and building a Keras model starts it:
        ask for the count first.  Several counts cannot share one process (``strict``: refuse
        them now; else the first is asked for and a cell with another fails when prepared)."""
        counts = list(dict.fromkeys(threads))
        if strict and len(counts) > 1:
            raise UnsupportedError(
                "the tensorflow backend fixes its thread count once per process, so one run cannot measure "
                f"{', '.join(str(c or 'auto') for c in counts)} threads; run nnspeed bench once per --threads "
                "value, or nnspeed sweep (a fresh process for every cell)"
            )
        prefer_threads(counts[0])

    def prepare(self, workload, settings: Settings) -> TensorFlowRunner:
        check_accepts(self, workload)
        check_device(settings.device)
        if settings.device != "cpu":
            raise UnsupportedError("the tensorflow backend runs on the CPU here (tensorflow-cpu); use --device cpu")
        if settings.precision != "fp32":
            raise UnsupportedError(
                f"the tensorflow backend runs fp32 only, not {settings.precision}; for fp16 or int8 run the model "
                "on --backend litert after a conversion (nnspeed optimize tries them)"
            )
        return TensorFlowRunner(workload, settings)

    def export(self, workload, precision: str, out_dir: Path) -> Exported:
        check_accepts(self, workload)
        if workload.keras_model is not None:
            target = Path(out_dir) / "model.keras"
            workload.keras_model.save(str(target))
            return Exported([target], "keras", f"keras.saving.load_model('{target.name}')")
        target = Path(out_dir) / "saved_model"
        shutil.copytree(workload.model_file, target, dirs_exist_ok=True)
        return Exported([target], "tf-saved-model", f"tf.saved_model.load('{target.name}')")
