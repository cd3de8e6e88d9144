"""Operator families: how each is sampled, built and timed on this machine, and the features its
latency model reads.  A family is a curve (latency against one size, sampled adaptively where
the curve bends), a surface (several shape features, sampled at random and then where the
fitted Gaussian process is least sure) or a constant (one call with no size).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The largest single kernel sampled (FLOPs): about 2-3 ms at one core's fp32 rate.
MAX_FLOPS = 6e8
MAX_NUMEL = 2**22


def _log_int(rng, lo: float, hi: float) -> int:
    return round(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _channels(rng, lo: int, hi: int) -> int:
    """A width as networks choose them: a multiple of 8 from 8 up (below 8, any)."""
    v = _log_int(rng, lo, hi)
    return v if v < 8 else max(8, round(v / 8) * 8)


@functools.cache
def l2_bytes() -> int:
    """One core's L2 cache (sysfs), or 1 MiB when the system does not say."""
    try:
        text = Path("/sys/devices/system/cpu/cpu0/cache/index2/size").read_text().strip()
        return int(text[:-1]) * {"K": 2**10, "M": 2**20}[text[-1]] if text[-1] in "KM" else int(text)
    except (OSError, ValueError, KeyError):
        return 2**20


def _pooled(module, weight_bytes: int, cold: bool):
    """The module itself (weights stay in cache, as in a small model), or a call that cycles
    through enough copies that each call reads its weights from beyond L2 (as in a model whose
    weights outgrow the cache)."""
    import copy

    if not cold:
        return module
    n = min(64, max(2, math.ceil(4 * l2_bytes() * 2 / max(weight_bytes, 1))))
    copies = [module] + [copy.deepcopy(module) for _ in range(n - 1)]
    state = [0]

    def call(x):
        state[0] += 1
        return copies[state[0] % n](x)

    return call


def _log(v: float) -> float:
    return math.log(max(v, 1.0))


@dataclass
class Family:
    name: str
    kind: str  # "curve" | "surface" | "constant"
    budget: int  # samples at full scale
    sample: Callable  # rng -> params, or None when outside the space
    build: Callable  # params -> (fn, args)
    features: Callable  # params -> list[float]
    in_sequence: bool = False  # timed right after a different convolution (see sampling.measure_sample)


# ----------------------------------------------------------------- builders
def _module(make, shape):
    import torch

    def build(p):
        return make(p).eval(), (torch.randn(*shape(p)),)

    return build


def _linear_sample(rng):
    m, k, n = _log_int(rng, 1, 4096), _channels(rng, 8, 4096), _channels(rng, 8, 4096)
    p = {"m": m, "k": k, "n": n, "rows3d": int(rng.random() < 0.3), "cold": int(rng.random() < 0.5)}
    return p if 2 * m * k * n <= MAX_FLOPS else None


def _linear_build(p):
    import torch

    shape = (1, p["m"], p["k"]) if p["rows3d"] else (p["m"], p["k"])
    fn = _pooled(torch.nn.Linear(p["k"], p["n"]).eval(), 4 * p["k"] * p["n"], bool(p.get("cold")))
    return fn, (torch.randn(*shape),)


def _linear_features(p):
    return [
        _log(p["m"]),
        _log(p["k"]),
        _log(p["n"]),
        _log(2 * p["m"] * p["k"] * p["n"]),
        p["rows3d"],
        p.get("cold", 0),
        float(p["k"] % 16 == 0),
        float(p["n"] % 16 == 0),
    ]


def conv_out(h: int, k: int, stride: int) -> int:
    return (h + 2 * (k // 2) - k) // stride + 1


def _conv_flops(p) -> float:
    ho, wo = conv_out(p["h"], p["k"], p["stride"]), conv_out(p["w"], p["k"], p["stride"])
    return 2 * p["n"] * ho * wo * p["cout"] * (p["cin"] // p["groups"]) * p["k"] ** 2


def conv_mkldnn(p: dict, threads: int | None = None) -> int:
    """1 when torch runs this convolution through oneDNN, 0 when through its own im2col path
    (small single-image convolutions): the two differ by up to 2x at the same shape.  Asked of
    torch's own backend choice, on uninitialized tensors (nothing computed)."""
    import torch

    from ..backends.base import torch_threads

    try:
        with torch_threads(threads):
            x = torch.empty(p["n"], p["cin"], p["h"], p["w"])
            w = torch.empty(p["cout"], p["cin"] // p["groups"], p["k"], p["k"])
            b = torch._C._select_conv_backend(
                x, w, None, [p["stride"]] * 2, [p["k"] // 2] * 2, [1, 1], False, [0, 0], p["groups"], None
            )
        return int(str(b).endswith("Mkldnn"))
    except (AttributeError, RuntimeError, TypeError):
        return 1  # a torch without the query: oneDNN, the common case


def _conv_sample(rng):
    h = _log_int(rng, 4, 64)
    k = int(rng.choice([1, 3, 3, 5, 7]))
    cin = _channels(rng, 3, 256)
    dw = rng.random() < 0.2 and cin >= 8
    p = {
        "n": _log_int(rng, 1, 8),
        "cin": cin,
        "h": h,
        "w": h,
        "cout": cin if dw else _channels(rng, 8, 256),
        "k": k,
        "stride": int(rng.choice([1, 1, 2])),
        "groups": cin if dw else 1,
        "cold": int(rng.random() < 0.5),
    }
    if k > h or _conv_flops(p) > MAX_FLOPS or p["n"] * cin * h * h > MAX_NUMEL:
        return None
    return {**p, "mkldnn": conv_mkldnn(p)}


def _conv_build(p):
    import torch

    conv = torch.nn.Conv2d(p["cin"], p["cout"], p["k"], p["stride"], p["k"] // 2, groups=p["groups"]).eval()
    wbytes = 4 * p["cout"] * (p["cin"] // p["groups"]) * p["k"] ** 2
    return _pooled(conv, wbytes, bool(p.get("cold"))), (torch.randn(p["n"], p["cin"], p["h"], p["w"]),)


def _conv_features(p):
    """Batch apart from the spatial size: at one image oneDNN keeps a small convolution on one
    thread, from two it goes parallel and pays the threads' start-up (tens of µs here).  Which
    backend runs it, and whether the channels fill oneDNN's 16-wide blocks, make steps in the
    latency that no smooth function of the sizes has."""
    ho, wo = conv_out(p["h"], p["k"], p["stride"]), conv_out(p["w"], p["k"], p["stride"])
    return [
        _log(p["n"]),
        float(p["n"] == 1),
        _log(ho * wo),
        _log(p["cin"] // p["groups"]),
        _log(p["cout"]),
        p["k"],
        p["stride"],
        float(p["groups"] > 1),
        _log(_conv_flops(p)),
        _log(p["n"] * p["cin"] * p["h"] * p["w"]),
        p.get("cold", 0),
        float(p["cin"] < 8),
        p.get("mkldnn", 1),
        float(p["cin"] % 16 == 0),
        float(p["cout"] % 16 == 0),
    ]


def _rows_d_sample(rng):
    d = _log_int(rng, 8, 4096)
    rows = _log_int(rng, 1, 4096)
    return {"rows": rows, "d": d} if rows * d <= MAX_NUMEL else None


def _rows_d_features(p):
    return [_log(p["rows"] * p["d"]), _log(p["d"])]


def _bn_sample(rng):
    c, hw, n = _log_int(rng, 4, 256), _log_int(rng, 1, 4096), _log_int(rng, 1, 8)
    return {"n": n, "c": c, "hw": hw} if n * c * hw <= MAX_NUMEL else None


def _pool_sample(rng):
    h = _log_int(rng, 4, 64)
    nc = _log_int(rng, 3, 1024)
    k = int(rng.choice([2, 3]))
    return {"nc": nc, "h": h, "k": k, "stride": int(rng.choice([1, 2]))} if nc * h * h <= MAX_NUMEL and k <= h else None


def _pool_features(p):
    return [_log(p["nc"] * p["h"] ** 2), p["k"], p["stride"]]


def _sdpa_sample(rng):
    bh, s, dh = _log_int(rng, 1, 64), _log_int(rng, 4, 512), int(rng.choice([8, 16, 32, 48, 64, 128]))
    return {"bh": bh, "s": s, "dh": dh} if 4 * bh * s * s * dh <= MAX_FLOPS else None


def _sdpa_build(p):
    import torch
    import torch.nn.functional as F

    q, k, v = (torch.randn(1, p["bh"], p["s"], p["dh"]) for _ in range(3))
    return F.scaled_dot_product_attention, (q, k, v)


def _sdpa_features(p):
    return [_log(p["bh"]), _log(p["s"]), _log(p["dh"]), _log(4 * p["bh"] * p["s"] ** 2 * p["dh"])]


def _bmm_sample(rng):
    b, m, k, n = _log_int(rng, 1, 64), _log_int(rng, 1, 512), _log_int(rng, 8, 512), _log_int(rng, 1, 512)
    return {"b": b, "m": m, "k": k, "n": n} if 2 * b * m * k * n <= MAX_FLOPS else None


def _bmm_build(p):
    import torch

    return torch.matmul, (torch.randn(p["b"], p["m"], p["k"]), torch.randn(p["b"], p["k"], p["n"]))


def _bmm_features(p):
    return [_log(p["b"]), _log(p["m"]), _log(p["k"]), _log(p["n"]), _log(2 * p["b"] * p["m"] * p["k"] * p["n"])]


def _numel_sample(rng):
    return {"numel": _log_int(rng, 1, MAX_NUMEL)}


def _numel_features(p):
    return [_log(p["numel"])]


def _unary(name: str, make):
    import torch

    return Family(
        f"act:{name}",
        "curve",
        14,
        _numel_sample,
        lambda p: (make().eval(), (torch.randn(p["numel"]),)),
        _numel_features,
    )


def _runner():
    """What the harness wraps around every model call: inference mode entered, the model called."""
    import torch

    ident = torch.nn.Identity()

    def run(x):
        with torch.inference_mode():
            return ident(x)

    return run


def families() -> dict[str, Family]:
    import torch
    from torch import nn

    fams = [
        Family("Linear", "surface", 300, _linear_sample, _linear_build, _linear_features),
        Family("Conv2d", "surface", 300, _conv_sample, _conv_build, _conv_features, in_sequence=True),
        Family(
            "BatchNorm2d",
            "surface",
            30,
            _bn_sample,
            _module(lambda p: nn.BatchNorm2d(p["c"]), lambda p: (p["n"], p["c"], p["hw"], 1)),
            lambda p: [_log(p["n"] * p["c"] * p["hw"]), _log(p["c"])],
            in_sequence=True,
        ),
        Family(
            "LayerNorm",
            "surface",
            30,
            _rows_d_sample,
            _module(lambda p: nn.LayerNorm(p["d"]), lambda p: (p["rows"], p["d"])),
            _rows_d_features,
        ),
        Family(
            "Softmax",
            "surface",
            30,
            _rows_d_sample,
            _module(lambda p: nn.Softmax(dim=-1), lambda p: (p["rows"], p["d"])),
            _rows_d_features,
        ),
        Family(
            "MaxPool2d",
            "surface",
            30,
            _pool_sample,
            _module(lambda p: nn.MaxPool2d(p["k"], p["stride"]), lambda p: (1, p["nc"], p["h"], p["h"])),
            _pool_features,
            in_sequence=True,
        ),
        Family(
            "AvgPool2d",
            "surface",
            20,
            _pool_sample,
            _module(lambda p: nn.AvgPool2d(p["k"], p["stride"]), lambda p: (1, p["nc"], p["h"], p["h"])),
            _pool_features,
            in_sequence=True,
        ),
        Family(
            "AdaptiveAvgPool2d",
            "curve",
            14,
            _numel_sample,
            _module(lambda p: nn.AdaptiveAvgPool2d(1), lambda p: (1, 1, p["numel"], 1)),
            _numel_features,
            in_sequence=True,
        ),
        Family("fn:sdpa", "surface", 80, _sdpa_sample, _sdpa_build, _sdpa_features),
        Family("fn:matmul", "surface", 60, _bmm_sample, _bmm_build, _bmm_features),
        Family(
            "fn:binary",
            "curve",
            14,
            _numel_sample,
            lambda p: (torch.add, (torch.randn(p["numel"]), torch.randn(p["numel"]))),
            _numel_features,
        ),
        Family(
            "fn:copy",
            "curve",
            14,
            _numel_sample,
            lambda p: (torch.Tensor.contiguous, (torch.randn(p["numel"], 2).t(),)),
            _numel_features,
        ),
        Family(
            "fn:reduce",
            "curve",
            12,
            _numel_sample,
            lambda p: (torch.mean, (torch.randn(1, p["numel"]), -1)),
            _numel_features,
        ),
        Family("module", "constant", 1, lambda rng: {}, lambda p: (nn.Identity(), (torch.zeros(1),)), lambda p: []),
        Family(
            "fn:view",
            "constant",
            1,
            lambda rng: {},
            lambda p: (torch.transpose, (torch.zeros(2, 2, 2), 1, 2)),
            lambda p: [],
        ),
        Family("runner", "constant", 1, lambda rng: {}, lambda p: (_runner(), (torch.zeros(1),)), lambda p: []),
        Family(
            "container",
            "constant",
            1,
            lambda rng: {},
            lambda p: (nn.Sequential(nn.Sequential(nn.Identity())), (torch.zeros(1),)),
            lambda p: [],
        ),
    ]
    for name, make in [
        ("ReLU", nn.ReLU),
        ("GELU", nn.GELU),
        ("SiLU", nn.SiLU),
        ("Sigmoid", nn.Sigmoid),
        ("Tanh", nn.Tanh),
        ("Hardswish", nn.Hardswish),
    ]:
        fams.append(_unary(name, make))
    return {f.name: f for f in fams}
