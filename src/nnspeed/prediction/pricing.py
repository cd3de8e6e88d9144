"""A model's latency from its traced calls and this machine's operator models, without running it.

Eager PyTorch fuses nothing, so the prediction starts from the sum of its calls: each leaf
module from its family's model (module call cost included, since the microbenchmarks call
modules), each torch function outside a leaf from the function families, the Python cost of
every container call, and what the harness wraps around one call.  That sum is then scaled by
the composition factor (see corrections) for what calls cost one after another inside a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .corrections import drift_features
from .kernels import conv_mkldnn, l2_bytes
from .models import Models
from .trace import Call, Trace
from .vocabulary import ACTIVATIONS, BINARY, CATEGORIES, COPIES, REDUCTIONS, VIEWS, category, category_counts


def _numel(shape) -> int:
    return math.prod(shape) if shape else 1


@dataclass
class Prediction:
    latency_ms: float
    by_op: dict  # op -> {"count", "ms"}
    unmodelled: dict = field(default_factory=dict)  # op -> count
    factor: float = 1.0  # the composition's measured / summed for this model
    drift: float = 1.0  # whole models now against when the table was measured (1: not measured)
    base_ms: float = 0.0  # what one call costs beyond its operators: containers, the runner (factors applied)


def cold_share(t: Trace, threads: int) -> float:
    """How much of a GEMM's weights a call reads from beyond L2, from 0 to 1: inside a model a
    layer's weights were last touched a whole forward pass ago, so they stay in the L2 caches of
    the cores it runs on only while all the model's weights fit there, and spill gradually as
    they approach that size (0 at half of it, 1 at twice it, in proportion to log size between).
    The GEMM families are sampled at both ends (weights in cache, weights cycled from beyond
    it); a call in between is priced that share of the way from one to the other."""
    x = math.log2(max(t.param_bytes, 1) / (l2_bytes() * threads))
    return min(1.0, max(0.0, x / 2 + 0.5))


def cold_ends(share: float) -> list[tuple[int, float]]:
    """(cold flag, weight) of the family samples a call with this share is priced from."""
    return [(c, w) for c, w in ((0, 1.0 - share), (1, share)) if w > 0]


def gemm_params(c: Call, cold: int, threads: int) -> tuple[str, dict] | None:
    """(family, params) of a Linear or Conv2d module call at this thread count."""
    a, x = c.attrs, (c.shapes[0] if c.shapes else ())
    if c.kind != "module":
        return None
    if c.op == "Linear" and x:
        k = a["in_features"]
        return "Linear", {
            "m": max(1, _numel(x) // k),
            "k": k,
            "n": a["out_features"],
            "rows3d": int(len(x) >= 3),
            "cold": cold,
        }
    if c.op == "Conv2d" and len(x) == 4 and (a.get("dilation") in (None, [1, 1])):
        p = {
            "n": x[0],
            "cin": x[1],
            "h": x[2],
            "w": x[3],
            "cout": a["out_channels"],
            "k": a["kernel_size"][0],
            "stride": a["stride"][0],
            "groups": a.get("groups", 1),
            "cold": cold,
        }
        return "Conv2d", {**p, "mkldnn": conv_mkldnn(p, threads)}
    return None


def _module_cost(m: Models, c: Call, share: float, threads: int) -> float | None:
    a = c.attrs
    x = c.shapes[0] if c.shapes else ()
    op = c.op
    gemm = gemm_params(c, 0, threads)
    if gemm is not None:
        family, params = gemm
        return sum(w * m.surface(family, {**params, "cold": cold}) for cold, w in cold_ends(share))
    if op in ("BatchNorm2d", "BatchNorm1d") and len(x) >= 2:
        return m.surface("BatchNorm2d", {"n": x[0], "c": x[1], "hw": max(1, _numel(x[2:]))})
    if op in ("LayerNorm", "Softmax") and x:
        d = _numel(a["normalized_shape"]) if op == "LayerNorm" else x[-1]
        return m.surface(op, {"rows": max(1, _numel(x) // d), "d": d})
    if op in ("MaxPool2d", "AvgPool2d") and len(x) == 4:
        k = a["kernel_size"] if isinstance(a["kernel_size"], int) else a["kernel_size"][0]
        s = a.get("stride") or k
        s = s if isinstance(s, int) else s[0]
        return m.surface(op, {"nc": x[0] * x[1], "h": round(math.sqrt(x[2] * x[3])), "k": k, "stride": s})
    if op == "AdaptiveAvgPool2d":
        return m.curve("AdaptiveAvgPool2d", _numel(x))
    if op in ACTIVATIONS:
        return m.curve(f"act:{ACTIVATIONS[op]}", _numel(x))
    if op in ("Dropout", "Identity"):
        return m.module_ms()
    if op == "Flatten":
        return m.module_ms() + m.const["fn:view"]
    return None


def _function_cost(m: Models, c: Call) -> float | None:
    op, shapes = c.op, c.shapes
    out = c.out_shapes[0] if c.out_shapes else (shapes[0] if shapes else ())
    above_fn = m.module_ms() - m.const["fn:view"]  # what a module call costs beyond a function call
    if op in BINARY:
        return m.curve("fn:binary", _numel(out))
    if op in VIEWS:
        if op in COPIES and not c.attrs.get("contiguous", True):
            return m.curve("fn:copy", _numel(shapes[0]))
        return m.const["fn:view"]
    if op == "scaled_dot_product_attention" and len(shapes) >= 3:
        q = shapes[0]
        return m.surface("fn:sdpa", {"bh": max(1, _numel(q[:-2])), "s": q[-2], "dh": q[-1]})
    if op in ("matmul", "bmm", "__matmul__") and len(shapes) >= 2 and len(shapes[0]) >= 2 and len(shapes[1]) >= 2:
        a, b = shapes[0], shapes[1]
        return m.surface("fn:matmul", {"b": max(1, _numel(a[:-2])), "m": a[-2], "k": a[-1], "n": b[-1]})
    if op in ("softmax", "log_softmax") and shapes:
        x = shapes[0]
        return max(
            m.const["fn:view"], m.surface("Softmax", {"rows": max(1, _numel(x) // x[-1]), "d": x[-1]}) - above_fn
        )
    if op == "layer_norm" and shapes:
        x = shapes[0]
        return max(
            m.const["fn:view"], m.surface("LayerNorm", {"rows": max(1, _numel(x) // x[-1]), "d": x[-1]}) - above_fn
        )
    if op in ACTIVATIONS and shapes:
        return max(m.const["fn:view"], m.curve(f"act:{ACTIVATIONS[op]}", _numel(shapes[0])) - above_fn)
    if op in REDUCTIONS and shapes:
        return m.curve("fn:reduce", _numel(shapes[0]))
    if op == "dropout":
        return m.const["fn:view"]
    return None


def price_calls(m: Models, t: Trace, threads: int):
    """(call, category, ms, modelled) for each call; GEMM weights are read from beyond L2 as far
    as the model's weights outgrow the L2 caches of the cores it runs on (``cold_share``)."""
    share = cold_share(t, threads)
    for c in t.calls:
        ms = _module_cost(m, c, share, threads) if c.kind == "module" else _function_cost(m, c)
        if ms is None:  # no model for it: priced as a plain call
            yield c, category(c.op), (m.module_ms() if c.kind == "module" else m.const["fn:view"]), False
        else:
            yield c, category(c.op), ms, True


def summarize_parts(m: Models, t: Trace, threads: int, priced: list | None = None) -> dict:
    """What the parts add up to and the model's shape in numbers: the composition's inputs."""
    priced = list(price_calls(m, t, threads)) if priced is None else priced
    by_cat = [sum(ms for _, cat, ms, _ in priced if cat == k) for k in CATEGORIES]
    conv = [0.0, 0.0]  # convolutions on torch's im2col path, on oneDNN
    for c, _, ms, _ in priced:
        gemm = gemm_params(c, 0, threads) if c.op == "Conv2d" else None
        if gemm is not None:
            conv[gemm[1]["mkldnn"]] += ms
    base = t.containers * m.container_ms() + max(0.0, m.const["runner"] - m.module_ms())
    return {
        "parts_ms": sum(by_cat),
        "base_ms": base,
        "by_category_ms": by_cat,
        "conv_ms": conv,
        "counts": category_counts(t.calls),
        "flops": t.flops,
        "param_bytes": t.param_bytes,
        "batch": t.batch,
    }


def predict_trace(m: Models, t: Trace, threads: int, priced: list | None = None) -> Prediction:
    """The sum of the trace's calls and what the harness wraps around one call, times the
    composition factor learned on whole training models and, where measured, the machine's
    drift since the table was measured."""
    priced = list(price_calls(m, t, threads)) if priced is None else priced
    s = summarize_parts(m, t, threads, priced)
    drift = m.drift.factor(drift_features(priced)) if m.drift is not None else 1.0
    composition = m.composition.factor(s)
    factor = composition * drift
    by_op: dict[str, dict] = {}
    unmodelled: dict[str, int] = {}
    for c, _, ms, modelled in priced:
        if not modelled:
            unmodelled[c.op] = unmodelled.get(c.op, 0) + 1
        row = by_op.setdefault(c.op, {"count": 0, "ms": 0.0})
        row["count"] += 1
        row["ms"] += ms * factor
    total = (s["parts_ms"] + s["base_ms"]) * factor
    ordered = dict(sorted(by_op.items(), key=lambda kv: -kv[1]["ms"]))
    return Prediction(total, ordered, unmodelled, composition, drift, s["base_ms"] * factor)
