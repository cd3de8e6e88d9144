"""The operator vocabulary: what a traced call is (a GEMM, a norm, an elementwise call or a
view), as the pricing and its corrections name it.  Imports nothing from the rest of predict."""

from __future__ import annotations

ACTIVATIONS = {
    "ReLU": "ReLU",
    "GELU": "GELU",
    "SiLU": "SiLU",
    "Sigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "Hardswish": "Hardswish",
    "relu": "ReLU",
    "gelu": "GELU",
    "silu": "SiLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "hardswish": "Hardswish",
}
BINARY = {
    "add",
    "__add__",
    "__iadd__",
    "add_",
    "__radd__",
    "mul",
    "__mul__",
    "__imul__",
    "mul_",
    "__rmul__",
    "sub",
    "__sub__",
    "__rsub__",
    "div",
    "__truediv__",
    "__itruediv__",
    "where",
    "maximum",
    "minimum",
}
VIEWS = {
    "view",
    "reshape",
    "transpose",
    "permute",
    "flatten",
    "unsqueeze",
    "squeeze",
    "t",
    "expand",
    "__getitem__",
    "chunk",
    "split",
    "contiguous",
    "detach",
    "unbind",
    "view_as",
    "expand_as",
    "unflatten",
    "narrow",
}
COPIES = {"contiguous", "reshape", "flatten"}  # copy only when their input is not contiguous
REDUCTIONS = {"mean", "sum", "amax", "max", "min", "norm"}
CATEGORIES = ["gemm", "norm", "elementwise", "view"]
# plus one more count: calls that directly follow a GEMM-class call (its output is new to them)
FEATURES = [*CATEGORIES, "after_gemm"]
GEMM = {"Linear", "Conv2d", "scaled_dot_product_attention", "matmul", "bmm", "__matmul__"}
NORM = {"BatchNorm2d", "BatchNorm1d", "LayerNorm", "Softmax", "softmax", "layer_norm", "log_softmax"}
VIEWLIKE = {"Dropout", "Identity", "Flatten", "dropout"}


def category(op: str) -> str:
    if op in GEMM:
        return "gemm"
    if op in NORM:
        return "norm"
    if op in VIEWS or op in VIEWLIKE:
        return "view"
    return "elementwise"


def walk(calls):
    """Each call with its category, and whether it directly follows a GEMM-class call (views
    in between do not count)."""
    previous = None
    for c in calls:
        cat = category(c.op)
        yield c, cat, previous == "gemm" and cat not in ("gemm", "view")
        if cat != "view":
            previous = cat


def category_counts(calls) -> list[float]:
    row = [0.0] * len(FEATURES)
    for _, cat, after_gemm in walk(calls):
        row[FEATURES.index(cat)] += 1
        row[FEATURES.index("after_gemm")] += after_gemm
    return row
