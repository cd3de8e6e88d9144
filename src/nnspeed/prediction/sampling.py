"""Microbenchmarks of every operator family on this machine: the samples an operator table holds.

Samples are stored as (params, ms), so a table is a plain JSON file that travels between
machines.  Curves are bisected where latency changes most; surfaces are sampled at the shapes
models are known to call, at random, and then where the surface fitted so far is least sure.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import replace

import numpy as np

from ..backends.base import torch_threads
from ..measure.harness import WARMUP_WINDOW_S, call_ms
from ..measure.stoprule import StopRule
from .gp import Surface
from .kernels import MAX_NUMEL, Family, families

KERNEL_STOP = StopRule(min_time=0.04, max_time=0.3, min_iters=10, ci_rel=0.03)
FIRST_SHARE = 0.5  # of a family's budget sampled at random; the rest where the model is least sure
CANDIDATES = 600
ROUND = 20  # samples added between refits while sampling adaptively


def kernel_stop(scale: float = 1.0) -> StopRule:
    """The stop rule of one sample: ``KERNEL_STOP``, its times cut with the budget's share
    (down to a quarter) when a table is measured at a fraction of the full budget.  The
    warm-up's windows are cut with them (``time_ms``)."""
    if scale >= 1:
        return KERNEL_STOP
    f = max(scale, 0.25)
    return replace(KERNEL_STOP, min_time=KERNEL_STOP.min_time * f, max_time=KERNEL_STOP.max_time * f)


def time_ms(fn, args, stop: StopRule = KERNEL_STOP) -> float:
    """A sample's median call, after a warm-up whose windows shrink with the stop rule: at a
    quarter of the budget a table's 170 samples spent three quarters of their time warming up."""
    import torch

    window = WARMUP_WINDOW_S * min(1.0, stop.min_time / KERNEL_STOP.min_time)
    with torch.inference_mode():
        return call_ms(lambda: fn(*args), stop, warmup_window_s=window)


def _draw(fam: Family, rng, n: int) -> list[dict]:
    out, tries = [], 0
    while len(out) < n and tries < 200 * n:
        tries += 1
        p = fam.sample(rng)
        if p is not None:
            out.append(p)
    return out


@functools.cache
def _neighbour():
    """A different convolution run before each timed call, then subtracted: inside a model a
    kernel never follows itself, and finds its code and data partly evicted by the one before."""
    import torch

    return torch.nn.Conv2d(16, 16, 3, padding=1).eval(), torch.randn(2, 16, 20, 20)


def measure_sample(fam: Family, p: dict, stop: StopRule = KERNEL_STOP) -> float:
    fn, args = fam.build(p)
    if not fam.in_sequence:
        return time_ms(fn, args, stop)
    conv, x = _neighbour()

    def after_neighbour(*a):
        conv(x)
        return fn(*a)

    # the neighbour alone is timed right before each sample: timed once, its drift over the
    # minutes of sampling came back as noise of several per cent in every sample
    alone = time_ms(conv, (x,), stop)
    return max(0.05 * alone, time_ms(after_neighbour, args, stop) - alone)


def _curve_samples(fam: Family, rng, budget: int, progress, stop: StopRule) -> list:
    """Bisect, in log size, the interval whose latency changes most, until the budget is spent."""
    lo, hi = 0.0, math.log(MAX_NUMEL)
    pts = {}
    for x in np.linspace(lo, hi, min(6, budget)):
        p = {"numel": round(math.exp(x))}
        pts[p["numel"]] = measure_sample(fam, p, stop)
        progress()
    while len(pts) < budget:
        xs = sorted(pts)
        gaps = [
            (abs(math.log(pts[b]) - math.log(pts[a])) + 1e-3 * math.log(b / a), a, b)
            for a, b in itertools.pairwise(xs)
            if b - a > 1
        ]
        if not gaps:
            break
        _, a, b = max(gaps)
        mid = round(math.sqrt(a * b))
        pts[mid] = measure_sample(fam, {"numel": mid}, stop)
        progress()
    return [[{"numel": k}, v] for k, v in sorted(pts.items())]


def _surface_samples(fam: Family, rng, budget: int, progress, stop: StopRule, prior: list = ()) -> list:
    """The prior's shapes (those models are known to call), random shapes, then those where
    the model fitted so far is least sure: ``budget`` beyond the prior."""
    samples = []
    for p in [*prior, *_draw(fam, rng, max(8, int(budget * FIRST_SHARE)))]:
        samples.append([p, measure_sample(fam, p, stop)])
        progress()
    budget += len(prior)
    while len(samples) < budget:
        model = Surface(fam, samples, restarts=0)
        cands = _draw(fam, rng, CANDIDATES)
        if not cands:
            break
        _, std = model.predict_log([fam.features(p) for p in cands])
        for i in np.argsort(-std)[: min(ROUND, budget - len(samples))]:
            samples.append([cands[i], measure_sample(fam, cands[i], stop)])
            progress()
    return samples


def measure_kernels(
    threads: int, scale: float = 1.0, seed: int = 0, progress=lambda: None, priors: dict | None = None
) -> dict:
    """Every family's samples at this thread count: {family: [[params, ms], ...]}; ``priors``:
    shapes per family to sample before the family's own budget."""
    priors = priors or {}
    rng = np.random.default_rng(seed)
    stop = kernel_stop(scale)
    out = {}
    with torch_threads(threads):
        for name, fam in families().items():
            if fam.kind == "constant":
                out[name] = [[{}, measure_sample(fam, {}, stop)]]
                progress()
            elif fam.kind == "curve":
                out[name] = _curve_samples(fam, rng, _budget(fam, scale), progress, stop)
            else:
                out[name] = _surface_samples(fam, rng, _budget(fam, scale), progress, stop, prior_shapes(fam, priors))
    return out


def _budget(fam: Family, scale: float) -> int:
    return 1 if fam.kind == "constant" else max(4, round(fam.budget * scale))


def prior_shapes(fam: Family, priors: dict) -> list:
    """A surface family's prior shapes, all of them: between shapes models call, a GEMM's
    latency steps with alignment and blocking, so a shape sampled beats one interpolated."""
    return priors.get(fam.name, []) if fam.kind == "surface" else []


def total_samples(scale: float = 1.0, priors: dict | None = None) -> int:
    """How many samples measure_kernels takes with these priors."""
    return sum(_budget(f, scale) + len(prior_shapes(f, priors or {})) for f in families().values())
