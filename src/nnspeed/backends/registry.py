"""Backends by name; each module is imported only when asked for."""

from __future__ import annotations

import importlib

from ..errors import BackendError

BACKENDS = {
    "torch-eager": "nnspeed.backends.torch_backend:TorchEager",
    "torch-compile": "nnspeed.backends.torch_backend:TorchCompile",
    "onnxruntime": "nnspeed.backends.onnxruntime_backend:OnnxRuntime",
    "openvino": "nnspeed.backends.openvino_backend:OpenVino",
}


def get_backend(name: str):
    if name not in BACKENDS:
        raise BackendError(f"unknown backend '{name}'; choose from {', '.join(BACKENDS)}")
    module, _, attr = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)()
