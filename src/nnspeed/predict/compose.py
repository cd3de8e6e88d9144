"""What operators cost once they run one after another rather than alone in a loop.

A kernel timed alone finds its code, weights and buffers hot; inside a model, each call
follows a different one.  Short random chains of operators (random walks over shapes, built
here, not drawn from the evaluation architectures) are timed whole and predicted as a sum;
the difference is fitted, by non-negative least squares, as an extra cost per call of each
operator category.
"""

from __future__ import annotations

import numpy as np

from .fit import Models, time_ms

CATEGORIES = ["gemm", "norm", "elementwise", "view"]
# plus one more feature: calls that directly follow a GEMM-class call (its output is new to them)
FEATURES = [*CATEGORIES, "after_gemm"]
GEMM = {"Linear", "Conv2d", "scaled_dot_product_attention", "matmul", "bmm", "__matmul__"}
NORM = {"BatchNorm2d", "BatchNorm1d", "LayerNorm", "Softmax", "softmax", "layer_norm", "log_softmax"}
VIEWLIKE = {"Dropout", "Identity", "Flatten", "dropout"}


def category(op: str) -> str:
    from .predictor import VIEWS

    if op in GEMM:
        return "gemm"
    if op in NORM:
        return "norm"
    if op in VIEWS or op in VIEWLIKE:
        return "view"
    return "elementwise"


def walk(calls):
    """Each call with its category, and whether it directly follows a GEMM-class call (views
    in between do not count): the order the in-sequence costs are fitted and applied in."""
    previous = None
    for c in calls:
        cat = category(c.op)
        yield c, cat, previous == "gemm" and cat not in ("gemm", "view")
        if cat != "view":
            previous = cat


def _chain(steps: list):
    """Modules and plain functions called one after the other."""
    from torch import nn

    class OpChain(nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = nn.ModuleList([s for s in steps if isinstance(s, nn.Module)])
            self.steps = steps

        def forward(self, x):
            for s in self.steps:
                x = s(x)
            return x

    return OpChain().eval()


def _act(rng):
    from torch import nn

    return [nn.ReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh][int(rng.integers(0, 5))]()


def _vector_chain(rng):
    import torch
    from torch import nn

    rows, d = int(rng.integers(1, 257)), int(8 * rng.integers(2, 129))
    steps, shape = [], (rows, d)
    for _ in range(int(rng.integers(3, 11))):
        r = rng.random()
        if r < 0.35:
            d2 = int(8 * rng.integers(2, 129))
            steps.append(nn.Linear(d, d2))
            d = d2
        elif r < 0.5:
            steps.append(nn.LayerNorm(d))
        elif r < 0.75:
            steps.append(_act(rng))
        elif r < 0.85:
            steps.append(lambda x: x + x)
        else:
            steps.append(nn.Softmax(dim=-1))
    return _chain(steps), (torch.randn(*shape),)


def _image_chain(rng):
    import torch
    from torch import nn

    n, c, h = int(rng.integers(1, 9)), int(rng.choice([3, 8, 16, 32])), int(rng.integers(8, 65))
    steps, shape = [], (n, c, h, h)
    for _ in range(int(rng.integers(3, 11))):
        r = rng.random()
        if r < 0.35:
            k, c2 = int(rng.choice([1, 3, 5])), int(8 * rng.integers(1, 17))
            steps.append(nn.Conv2d(c, c2, k, 1, k // 2))
            c = c2
        elif r < 0.55:
            steps.append(nn.BatchNorm2d(c))
        elif r < 0.8:
            steps.append(_act(rng))
        elif h >= 4:
            steps.append(nn.MaxPool2d(2) if rng.random() < 0.7 else nn.AvgPool2d(2))
            h //= 2
    return _chain(steps), (torch.randn(*shape),)


def _attention_chain(rng):
    import torch
    import torch.nn.functional as F
    from torch import nn

    b, s, heads = int(rng.integers(1, 5)), int(rng.integers(4, 129)), int(rng.choice([1, 2, 4]))
    d = heads * int(8 * rng.integers(1, 9))

    class Attend(nn.Module):  # a module, so the meta-device copy the trace makes holds its own weights
        def __init__(self):
            super().__init__()
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

        def forward(self, x):
            q, k, v = self.qkv(x).view(b, s, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            return x + self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, s, d))

    return _chain([Attend()]), (torch.randn(b, s, d),)


CHAINS = 90


def chain_count(scale: float) -> int:
    return max(6, int(round(CHAINS * scale)))


def random_chains(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    makers = [_vector_chain, _image_chain, _attention_chain]
    return [makers[i % 3](rng) for i in range(n)]


def design_row(trace) -> np.ndarray:
    row = np.zeros(len(FEATURES))
    for _, cat, after_gemm in walk(trace.calls):
        row[FEATURES.index(cat)] += 1
        row[FEATURES.index("after_gemm")] += after_gemm
    return row


def measure_chains(models: Models, threads: int, n: int, progress=lambda: None) -> list:
    """[[category counts], predicted ms (sum of parts), measured ms] for n random chains."""
    from ..backends.base import torch_threads
    from .predictor import predict_trace
    from .trace import trace_model

    rows = []
    with torch_threads(threads):
        for model, args in random_chains(n):
            t = trace_model(model, args)
            parts = predict_trace(models, t, threads, whole_call=False).latency_ms
            rows.append([design_row(t).tolist(), parts, time_ms(model, args)])
            progress()
    return rows


def fit_penalties(rows: list) -> dict[str, float]:
    """Extra ms per call of each category (≥ 0), least squares on relative error."""
    from scipy.optimize import nnls

    if not rows:
        return dict.fromkeys(FEATURES, 0.0)
    X = np.array([r[0] for r in rows], dtype=float)
    resid = np.array([r[2] - r[1] for r in rows])
    w = 1.0 / np.array([r[2] for r in rows])  # relative: a small chain counts as much as a big one
    coef, _ = nnls(X * w[:, None], resid * w)
    return dict(zip(FEATURES, coef.tolist()))
