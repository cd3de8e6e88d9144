"""Two models for trying `nnspeed check` on a known slowdown: B is A with one extra layer.

    nnspeed check py:ab_models:make_a py:ab_models:make_b --input-shape 1x3x32x32 --threads 1

(run from benchmarks/, or with it on PYTHONPATH).  A is the built-in zoo:cnn; B returns, beside
A's output, one square matrix product of size EXTRA_N (env AB_EXTRA_N; 161 cost about 10% of
the cnn's 2.4 ms at one thread on the 2-core AMD EPYC, bisected by ab_calibration.py).
"""

import os

import torch

EXTRA_N = int(os.environ.get("AB_EXTRA_N", "161"))


def make_a():
    import nnspeed

    return nnspeed.load("zoo:cnn").model


class WithExtraLayer(torch.nn.Module):
    def __init__(self, model, n: int):
        super().__init__()
        self.model = model
        self.register_buffer("w", torch.randn(n, n, generator=torch.Generator().manual_seed(0)) / n**0.5)

    def forward(self, x):
        return self.model(x), torch.mm(self.w, self.w)


def make_b():
    return WithExtraLayer(make_a(), EXTRA_N).eval()
