"""Random architectures for judging the predictor on models it has never seen: MLPs, CNNs and
transformer blocks with varied widths, depths, kernels, activations and batch sizes.  Drawn
from their own seed, apart from the operator microbenchmarks.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..explanation.flops import count_flops
from .kernels import conv_out

ACTS = ["relu", "gelu", "silu", "tanh"]
# Each model stays under this many FLOPs per call so that measuring 100 of them takes minutes.
MAX_MODEL_FLOPS = 1.5e9


def _act(name: str):
    from torch import nn

    return {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}[name]()


def _width(rng, lo: int, hi: int, step: int = 8) -> int:
    return max(lo, round(math.exp(rng.uniform(math.log(lo), math.log(hi))) / step) * step)


def mlp(rng) -> tuple[dict, object, tuple]:
    import torch
    from torch import nn

    depth, act = int(rng.integers(1, 7)), str(rng.choice(ACTS))
    widths = [_width(rng, 16, 1024)] + [_width(rng, 32, 2048) for _ in range(depth)]
    norm = bool(rng.random() < 0.3)
    layers = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), *([nn.LayerNorm(b)] if norm else []), _act(act)]
    out = int(rng.integers(2, 1001))
    layers.append(nn.Linear(widths[-1], out))
    batch = int(2 ** rng.integers(0, 7))
    arch = {"family": "mlp", "batch": batch, "widths": widths, "out": out, "act": act, "layernorm": norm}
    return arch, nn.Sequential(*layers), (torch.randn(batch, widths[0]),)


def cnn(rng) -> tuple[dict, object, tuple]:
    import torch
    from torch import nn

    res = int(rng.choice([16, 24, 32, 48, 64]))
    batch = int(2 ** rng.integers(0, 4))
    act, bn = str(rng.choice(["relu", "silu"])), bool(rng.random() < 0.6)
    c, h, layers, spec = 3, res, [], []
    for _ in range(int(rng.integers(1, 5))):
        k = int(rng.choice([1, 3, 3, 5]))
        depthwise = rng.random() < 0.25 and c >= 8
        cout = c if depthwise else _width(rng, 8, 128)
        stride = 2 if (rng.random() < 0.3 and h >= 8) else 1
        layers.append(nn.Conv2d(c, cout, k, stride, k // 2, groups=c if depthwise else 1, bias=not bn))
        layers += [nn.BatchNorm2d(cout)] if bn else []
        layers.append(_act(act))
        h = conv_out(h, k, stride)
        if rng.random() < 0.4 and h >= 4:
            layers.append(nn.MaxPool2d(2))
            h //= 2
        spec.append({"k": k, "cout": cout, "stride": stride, "depthwise": bool(depthwise)})
        c = cout
    classes = int(rng.integers(2, 1001))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    arch = {"family": "cnn", "batch": batch, "res": res, "act": act, "batchnorm": bn, "convs": spec, "classes": classes}
    return arch, nn.Sequential(*layers), (torch.randn(batch, 3, res, res),)


def _block(dim: int, heads: int, ratio: int, act: str):
    """A pre-norm transformer block: attention through scaled_dot_product_attention, then an MLP."""
    import torch.nn.functional as F
    from torch import nn

    class TransformerBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = heads
            self.norm1, self.qkv, self.proj = nn.LayerNorm(dim), nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, ratio * dim), _act(act), nn.Linear(ratio * dim, dim))

        def forward(self, x):
            b, s, d = x.shape
            q, k, v = self.qkv(self.norm1(x)).view(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, s, d)
            x = x + self.proj(y)
            return x + self.mlp(self.norm2(x))

    return TransformerBlock()


def transformer(rng) -> tuple[dict, object, tuple]:
    import torch
    from torch import nn

    heads = int(rng.choice([1, 2, 4, 8]))
    dim = heads * int(rng.choice([16, 32, 48, 64]))
    depth, ratio, act = int(rng.integers(1, 4)), int(rng.choice([2, 4])), str(rng.choice(["gelu", "relu"]))
    seq, batch = _width(rng, 8, 128, 4), int(2 ** rng.integers(0, 3))
    model = nn.Sequential(*[_block(dim, heads, ratio, act) for _ in range(depth)])
    arch = {
        "family": "transformer",
        "batch": batch,
        "seq": seq,
        "dim": dim,
        "heads": heads,
        "depth": depth,
        "mlp_ratio": ratio,
        "act": act,
    }
    return arch, model, (torch.randn(batch, seq, dim),)


def draw(n: int, seed: int = 1) -> list[tuple[dict, object, tuple]]:
    """n architectures in equal thirds (MLP, CNN, transformer), each within MAX_MODEL_FLOPS."""
    rng = np.random.default_rng(seed)
    makers = [mlp, cnn, transformer]
    out = []
    while len(out) < n:
        arch, model, args = makers[len(out) % 3](rng)
        f = count_flops(model, args)
        if f <= MAX_MODEL_FLOPS:
            arch["flops"] = f
            out.append((arch, model.eval(), args))
    return out
