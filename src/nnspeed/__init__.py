"""nnspeed: how fast is your neural network, why, and how to make it faster without breaking it.

``import nnspeed`` is cheap: runtimes (onnxruntime, openvino, transformers) are imported
only when a request needs them.
"""

from __future__ import annotations

import os

from .errors import NnspeedError

# TensorFlow's C++ start-up notes (CPU features, oneDNN) stay off the terminal, whichever
# package imports it first; its warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

__all__ = [
    "Measurement",
    "NnspeedError",
    "StopRule",
    "Store",
    "TrainOptions",
    "Workload",
    "__version__",
    "bench",
    "bench_run",
    "capacity",
    "check",
    "compare",
    "compare_runs",
    "explain",
    "fleet",
    "generate",
    "history",
    "load",
    "machine",
    "optimize",
    "predict",
    "side_by_side",
    "study",
    "sweep",
    "train",
]

_LAZY = {
    "bench": ("nnspeed.api", "bench"),
    "bench_run": ("nnspeed.api", "bench_run"),
    "load": ("nnspeed.api", "load"),
    "Measurement": ("nnspeed.measure.measurement", "Measurement"),
    "StopRule": ("nnspeed.measure.stoprule", "StopRule"),
    "Store": ("nnspeed.store.store", "Store"),
    "Workload": ("nnspeed.workloads.workload", "Workload"),
    "compare": ("nnspeed.measure.compare", "compare_samples"),
    "compare_runs": ("nnspeed.commands.compare", "compare_runs"),
    "check": ("nnspeed.commands.check", "check"),
    "history": ("nnspeed.commands.history", "history"),
    "side_by_side": ("nnspeed.api", "side_by_side"),
    "capacity": ("nnspeed.commands.capacity", "capacity"),
    "generate": ("nnspeed.commands.generate", "generate"),
    "explain": ("nnspeed.commands.explain", "explain"),
    "predict": ("nnspeed.commands.predict", "predict"),
    "machine": ("nnspeed.commands.machine", "machine"),
    "optimize": ("nnspeed.commands.optimize", "optimize"),
    "sweep": ("nnspeed.commands.sweep", "sweep"),
    "fleet": ("nnspeed.commands.fleet", "fleet"),
    "study": ("nnspeed.commands.study", "study"),
    "train": ("nnspeed.commands.train", "train"),
    "TrainOptions": ("nnspeed.training.run", "TrainOptions"),
}


def __getattr__(name: str):
    # Lazy: `import nnspeed` must not pay for torch, scipy or SQLAlchemy until they are used.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnspeed' has no attribute '{name}'")


def __dir__():
    return sorted(__all__)
