"""A PyTorch ``nn.Sequential`` rebuilt as Keras layers with its weights copied across, so the
TFLite converter can turn it into a ``.tflite`` file and one torch model runs on eager, ONNX
Runtime, OpenVINO and LiteRT alike.

litert-torch, Google's PyTorch → LiteRT converter, needs ai-edge-litert's model utilities,
which pin xdsl, typing_extensions and pydantic below the versions this project installs, and
bring jax and a 300 MB converter; so nnspeed does the translation itself for the layers that
map one to one: Linear, Conv2d (plain and depthwise), BatchNorm, max/average pooling,
Flatten, Dropout and the common activations.  Images stay in torch's N×C×H×W at the model's
input; the plan permutes to channels-last before the first convolution and back before a
Flatten or a Linear, so every tensor holds the numbers torch's does.

``keras_plan`` reads the torch model (no TensorFlow imported); ``build_keras`` makes the Keras
model from a plan in the conversion child, which checks it against torch's outputs on a probe
input before converting.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import SourceError

# |keras - torch| allowed on the probe, relative to the largest torch output (at least 1).
AGREEMENT = 1e-4

SUPPORTED = (
    "Linear, Conv2d, BatchNorm1d/2d, MaxPool2d, AvgPool2d, AdaptiveAvg/MaxPool2d(1), Flatten, Dropout, "
    "Identity, ReLU, ReLU6, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Hardswish and Softmax"
)
ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "SiLU": "silu", "Hardswish": "hard_swish"}


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


class _Plan:
    """Keras layers in order, each ``(class name, config, weights)``, tracking the layout of
    the tensor between them: "torch" (the numbers in torch's order) or "nhwc"."""

    def __init__(self, source: str, shape: tuple[int, ...]):
        self.source = source
        self.rank = len(shape) + 1
        self.layout = "torch"
        self.layers: list[tuple[str, dict, list[np.ndarray]]] = []

    def add(self, cls: str, config: dict | None = None, weights: list | None = None) -> None:
        self.layers.append((cls, config or {}, [np.ascontiguousarray(w, dtype=np.float32) for w in weights or []]))

    def refuse(self, what: str) -> SourceError:
        return SourceError(
            f"{self.source} cannot be rebuilt for LiteRT: {what}; nnspeed converts an nn.Sequential of {SUPPORTED} "
            "(convert other models to .tflite yourself and pass tflite:PATH)"
        )

    def image(self, module) -> None:
        """Channels-last from here (an image op follows)."""
        if self.rank != 4:
            raise self.refuse(f"{type(module).__name__} needs N×C×H×W images and gets a rank-{self.rank} tensor")
        if self.layout == "torch":
            self.add("Permute", {"dims": (2, 3, 1)})
            self.layout = "nhwc"

    def torch_order(self) -> None:
        if self.layout == "nhwc":
            self.add("Permute", {"dims": (3, 1, 2)})
            self.layout = "torch"

    def channel_axis(self, dim: int) -> int:
        """The Keras axis of torch's ``dim`` (counted with the batch)."""
        dim = dim % self.rank
        if self.layout == "nhwc":
            return {0: 0, 1: 3, 2: 1, 3: 2}[dim]
        return dim


def _torch_layer(m) -> bool:
    """A layer of torch.nn itself (a user's subclass may compute something else)."""
    return type(m).__module__.startswith("torch.nn.modules.") and type(m).__name__ != "Sequential"


def _layers(model) -> list:
    import torch.nn as nn

    out = []
    for m in model:
        if type(m) is nn.Sequential:
            out += _layers(m)
        else:
            out.append(m)
    return out


def _conv(p: _Plan, m) -> None:
    p.image(m)
    if m.padding_mode != "zeros":
        raise p.refuse(f"Conv2d pads with '{m.padding_mode}'")
    w = m.weight.detach().numpy()
    bias = [m.bias.detach().numpy()] if m.bias is not None else []
    common = {"strides": _pair(m.stride), "dilation_rate": _pair(m.dilation), "use_bias": m.bias is not None}
    if m.padding == "same":
        common["padding"] = "same"
    else:
        pad = (0, 0) if m.padding == "valid" else _pair(m.padding)
        if pad != (0, 0):
            p.add("ZeroPadding2D", {"padding": pad})
        common["padding"] = "valid"
    if m.groups == 1:
        p.add(
            "Conv2D",
            {"filters": m.out_channels, "kernel_size": _pair(m.kernel_size), **common},
            [w.transpose(2, 3, 1, 0), *bias],
        )
    elif m.groups == m.in_channels and m.out_channels % m.in_channels == 0:
        k = m.out_channels // m.in_channels
        kernel = w.reshape(m.in_channels, k, *w.shape[2:]).transpose(2, 3, 0, 1)
        p.add(
            "DepthwiseConv2D", {"kernel_size": _pair(m.kernel_size), "depth_multiplier": k, **common}, [kernel, *bias]
        )
    else:
        raise p.refuse(f"Conv2d has {m.groups} groups (only 1 or depthwise)")


def _norm(p: _Plan, m) -> None:
    import torch.nn as nn

    if isinstance(m, nn.BatchNorm2d):
        p.image(m)
    elif p.rank != 2:
        raise p.refuse(f"BatchNorm1d on a rank-{p.rank} tensor")
    if m.running_mean is None:
        raise p.refuse("a BatchNorm without running statistics")
    c = m.num_features
    gamma = m.weight.detach().numpy() if m.affine else np.ones(c)
    beta = m.bias.detach().numpy() if m.affine else np.zeros(c)
    p.add(
        "BatchNormalization",
        {"axis": -1, "epsilon": float(m.eps)},
        [gamma, beta, m.running_mean.detach().numpy(), m.running_var.detach().numpy()],
    )


def _pool(p: _Plan, m) -> None:
    import torch.nn as nn

    p.image(m)
    if isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        if _pair(m.output_size) != (1, 1):
            raise p.refuse(f"{type(m).__name__} to {m.output_size} (only to 1)")
        p.add(
            "GlobalAveragePooling2D" if isinstance(m, nn.AdaptiveAvgPool2d) else "GlobalMaxPooling2D",
            {"keepdims": True},
        )
        return
    if _pair(m.padding) != (0, 0) or m.ceil_mode or (isinstance(m, nn.MaxPool2d) and _pair(m.dilation) != (1, 1)):
        raise p.refuse(f"{type(m).__name__} with padding, ceil_mode or dilation")
    cls = "MaxPooling2D" if isinstance(m, nn.MaxPool2d) else "AveragePooling2D"
    stride = m.stride if m.stride is not None else m.kernel_size
    p.add(cls, {"pool_size": _pair(m.kernel_size), "strides": _pair(stride), "padding": "valid"})


def _flatten(p: _Plan, m) -> None:
    if m.start_dim != 1 or m.end_dim != -1:
        raise p.refuse(f"Flatten({m.start_dim}, {m.end_dim}) (only from dimension 1 to the end)")
    p.torch_order()
    p.add("Flatten")
    p.rank = 2


def _activation(p: _Plan, m) -> bool:
    import torch.nn as nn

    name = type(m).__name__
    if isinstance(m, nn.ReLU):
        p.add("ReLU")
    elif isinstance(m, nn.ReLU6):
        p.add("ReLU", {"max_value": 6.0})
    elif isinstance(m, nn.LeakyReLU):
        p.add("LeakyReLU", {"negative_slope": float(m.negative_slope)})
    elif isinstance(m, nn.GELU):
        p.add("Activation", {"activation": "gelu"} if m.approximate == "none" else {"activation": "gelu_tanh"})
    elif isinstance(m, nn.Softmax):
        p.add("Softmax", {"axis": p.channel_axis(-1 if m.dim is None else m.dim)})
    elif name in ACTIVATIONS and type(m) is getattr(nn, name):
        p.add("Activation", {"activation": ACTIVATIONS[name]})
    else:
        return False
    return True


def keras_plan(model, specs, source: str) -> list[tuple[str, dict, list[np.ndarray]]]:
    """The Keras layers (after the Input) that compute what ``model`` does, or one
    SourceError naming the first thing that has no Keras twin here."""
    import torch.nn as nn

    if len(specs) != 1:
        raise SourceError(f"{source} has {len(specs)} inputs; nnspeed rebuilds single-input models for LiteRT")
    p = _Plan(source, tuple(specs[0].shape))
    if isinstance(model, nn.Sequential) and type(model).forward is nn.Sequential.forward:
        modules = _layers(model)
    elif _torch_layer(model):
        modules = [model]  # one layer is a chain of one
    else:
        raise p.refuse(f"its class {type(model).__name__} is not a plain nn.Sequential")
    for m in modules:
        if not _torch_layer(m):
            raise p.refuse(f"it holds a {type(m).__name__}, which is not a torch.nn layer")
        if isinstance(m, nn.Dropout | nn.Identity):
            continue  # inference: nothing to compute
        if isinstance(m, nn.Linear):
            if p.layout == "nhwc":
                p.torch_order()
            p.add(
                "Dense",
                {"units": m.out_features, "use_bias": m.bias is not None},
                [m.weight.detach().numpy().T, *([m.bias.detach().numpy()] if m.bias is not None else [])],
            )
        elif isinstance(m, nn.Conv2d):
            _conv(p, m)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            _norm(p, m)
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            _pool(p, m)
        elif isinstance(m, nn.Flatten):
            _flatten(p, m)
        elif not _activation(p, m):
            raise p.refuse(f"it holds a {type(m).__name__}")
    p.torch_order()
    return p.layers


def save_plan(path: Path, model, workload) -> None:
    """Write the plan, the input's shape and a probe with torch's outputs to ``path`` (.npz)."""
    import torch

    layers = keras_plan(model, workload.inputs, workload.source)
    spec = workload.inputs[0]
    probe = workload.make_inputs(2, 0)[spec.name]
    with torch.inference_mode():
        expected = model.eval()(torch.from_numpy(np.ascontiguousarray(probe))).numpy()
    arrays = {f"w{i}_{j}": w for i, (_, _, ws) in enumerate(layers) for j, w in enumerate(ws)}
    doc = {"input": [spec.name, list(spec.shape)], "layers": [[cls, cfg, len(ws)] for cls, cfg, ws in layers]}
    np.savez(path, plan=np.array(json.dumps(doc)), probe=probe, expected=expected, **arrays)


def build_keras(path: str):
    """In the conversion child: the Keras model of a saved plan, checked against torch's
    outputs on the probe (a mismatch raises, naming the difference)."""
    import keras

    z = np.load(path)
    doc = json.loads(str(z["plan"]))
    name, shape = doc["input"]
    layers = [keras.Input(tuple(shape), name=name)]
    weights = []
    for i, (cls, cfg, n) in enumerate(doc["layers"]):
        if cfg.get("activation") == "gelu_tanh":
            layers.append(keras.layers.Lambda(lambda x: keras.activations.gelu(x, approximate=True)))
        else:
            layers.append(getattr(keras.layers, cls)(**cfg))
        weights.append([z[f"w{i}_{j}"] for j in range(n)])
    model = keras.Sequential(layers, name="torch_rebuilt")
    for layer, ws in zip(model.layers, weights):
        if ws:
            layer.set_weights(ws)
    expected = z["expected"]
    got = np.asarray(model(z["probe"], training=False))
    diff = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("inf")
    if not diff <= AGREEMENT * max(1.0, float(np.max(np.abs(expected)))):
        raise ValueError(f"the Keras rebuild differs from the torch model by {diff:.3g} on a probe input")
    return model
