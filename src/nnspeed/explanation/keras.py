"""FLOPs, bytes and roofline bounds of a Keras model's layers.

TensorFlow runs a Keras model as one graph (or one XLA cluster), so nnspeed does not split the
measured time by layer.  What it can say of each layer without timing it: the FLOPs of its
Dense and convolution kernels (multiply-adds ×2; every other layer counts 0), the bytes it must
move at least once (its weights plus its input and output activations), and the time those
would take at this machine's measured peaks: the layer's roofline bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

NOT_BROKEN_DOWN = (
    "per-layer times: TensorFlow runs the model as one graph, so nnspeed gives each layer's FLOPs, "
    "bytes and roofline bound, not its share of the measured time; FLOPs count Dense and convolution "
    "kernels only"
)


@dataclass
class LayerBound:
    name: str
    op: str
    flops: int
    bytes: int
    intensity: float
    bound_ms: float
    verdict: str  # which roof binds at these peaks: compute-bound or memory-bound

    def to_dict(self) -> dict:
        return asdict(self)


def _per_sample(shape) -> int:
    return int(np.prod([d for d in tuple(shape)[1:] if d is not None]))


def _tensors(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else list(x.values()) if isinstance(x, dict) else [x]


def layer_flops(model) -> dict[str, int]:
    """FLOPs per sample of each layer with a Dense or convolution kernel (2 × multiply-adds)."""
    out = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        shape = tuple(d for d in layer.output.shape[1:] if d is not None)
        positions = int(np.prod(shape[:-1])) if len(shape) > 1 else 1  # Dense per position; Conv per pixel
        out[layer.name] = 2 * int(np.prod(kernel.shape)) * positions
    return out


def layer_bytes(model, batch: int) -> dict[str, int]:
    """Weights plus input and output activations of each layer at this batch size."""
    out = {}
    for layer in model.layers:
        weights = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in layer.weights)
        act = 0
        for t in _tensors(layer.input) + _tensors(layer.output):
            act += batch * _per_sample(t.shape) * np.dtype(t.dtype).itemsize
        out[layer.name] = weights + act
    return out


def keras_roofline(model, batch: int, peak_gflops: float, peak_gbs: float) -> list[LayerBound]:
    """Every layer's bound (the slower of its compute and memory time at the peaks), largest first."""
    flops = {k: batch * v for k, v in layer_flops(model).items()}
    nbytes = layer_bytes(model, batch)
    rows = []
    for layer in model.layers:
        f, b = flops.get(layer.name, 0), nbytes.get(layer.name, 0)
        compute_ms = f / (peak_gflops * 1e9) * 1e3
        memory_ms = b / (peak_gbs * 1e9) * 1e3
        verdict = "compute-bound" if compute_ms >= memory_ms else "memory-bound"
        rows.append(
            LayerBound(layer.name, type(layer).__name__, f, b, f / b if b else 0.0, max(compute_ms, memory_ms), verdict)
        )
    return sorted(rows, key=lambda r: -r.bound_ms)
