"""Microbenchmarks of every operator family on this machine, and the latency models fitted to them.

A multi-feature family's model is a Gaussian process on log features predicting log latency
(an anisotropic Matérn kernel plus white noise for the timing noise): smooth between samples,
and its own uncertainty says where the next sample helps most.  Samples are stored as
(params, ms), so a profile is a plain JSON file that travels between machines; models are
refitted from it when loaded, with the hyperparameters stored beside the samples (well
under a second; a minute when they must be searched for again).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..backends.base import torch_threads
from ..measure.harness import call_ms
from ..measure.stoprule import StopRule
from .kernels import MAX_NUMEL, Family, families

KERNEL_STOP = StopRule(min_time=0.04, max_time=0.3, min_iters=10, ci_rel=0.03)
FIRST_SHARE = 0.5  # of a family's budget sampled at random; the rest where the model is least sure
CANDIDATES = 600
ROUND = 20  # samples added between refits while sampling adaptively


def time_ms(fn, args, stop: StopRule = KERNEL_STOP) -> float:
    import torch

    with torch.inference_mode():
        return call_ms(lambda: fn(*args), stop)


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


def _measure(fam: Family, p: dict) -> float:
    fn, args = fam.build(p)
    if not fam.in_sequence:
        return time_ms(fn, args)
    conv, x = _neighbour()

    def after_neighbour(*a):
        conv(x)
        return fn(*a)

    # the neighbour alone is timed right before each sample: timed once, its drift over the
    # minutes of sampling came back as noise of several per cent in every sample
    alone = time_ms(conv, (x,))
    return max(0.05 * alone, time_ms(after_neighbour, args) - alone)


def _curve_samples(fam: Family, rng, budget: int, progress) -> list:
    """Bisect, in log size, the interval whose latency changes most, until the budget is spent."""
    lo, hi = 0.0, math.log(MAX_NUMEL)
    pts = {}
    for x in np.linspace(lo, hi, min(6, budget)):
        p = {"numel": int(round(math.exp(x)))}
        pts[p["numel"]] = _measure(fam, p)
        progress()
    while len(pts) < budget:
        xs = sorted(pts)
        gaps = [(abs(math.log(pts[b]) - math.log(pts[a])) + 1e-3 * math.log(b / a), a, b) for a, b in zip(xs, xs[1:]) if b - a > 1]
        if not gaps:
            break
        _, a, b = max(gaps)
        mid = int(round(math.sqrt(a * b)))
        pts[mid] = _measure(fam, {"numel": mid})
        progress()
    return [[{"numel": k}, v] for k, v in sorted(pts.items())]


def _surface_samples(fam: Family, rng, budget: int, progress, prior: list = ()) -> list:
    """The prior's shapes (those models are known to call), random shapes, then those where
    the model fitted so far is least sure: ``budget`` beyond the prior."""
    samples = []
    for p in [*prior, *_draw(fam, rng, max(8, int(budget * FIRST_SHARE)))]:
        samples.append([p, _measure(fam, p)])
        progress()
    budget += len(prior)
    while len(samples) < budget:
        model = Surface(fam, samples, restarts=0)
        cands = _draw(fam, rng, CANDIDATES)
        if not cands:
            break
        _, std = model.predict_log([fam.features(p) for p in cands])
        for i in np.argsort(-std)[: min(ROUND, budget - len(samples))]:
            samples.append([cands[i], _measure(fam, cands[i])])
            progress()
    return samples


def measure_kernels(threads: int, scale: float = 1.0, seed: int = 0, progress=lambda: None, priors: dict | None = None) -> dict:
    """Every family's samples at this thread count: {family: [[params, ms], ...]}; ``priors``:
    shapes per family to sample before the family's own budget."""
    priors = priors or {}
    rng = np.random.default_rng(seed)
    out = {}
    with torch_threads(threads):
        for name, fam in families().items():
            if fam.kind == "constant":
                out[name] = [[{}, _measure(fam, {})]]
                progress()
            elif fam.kind == "curve":
                out[name] = _curve_samples(fam, rng, _budget(fam, scale), progress)
            else:
                out[name] = _surface_samples(fam, rng, _budget(fam, scale), progress, _prior(fam, priors))
    return out


def _budget(fam: Family, scale: float) -> int:
    return 1 if fam.kind == "constant" else max(4, int(round(fam.budget * scale)))


def _prior(fam: Family, priors: dict) -> list:
    """A surface family's prior shapes, all of them: between shapes models call, a GEMM's
    latency steps with alignment and blocking, so a shape sampled beats one interpolated."""
    return priors.get(fam.name, []) if fam.kind == "surface" else []


def total_samples(scale: float = 1.0, priors: dict | None = None) -> int:
    """How many samples measure_kernels takes with these priors."""
    return sum(_budget(f, scale) + len(_prior(f, priors or {})) for f in families().values())


class LogGP:
    """A Gaussian process on standardized features (anisotropic Matérn 5/2, which follows a
    kernel's steps, a backend switch or a tile boundary, more closely than an infinitely smooth
    RBF; plus white noise for the timing noise) predicting a log quantity, with its uncertainty."""

    def __init__(self, X, y, restarts: int = 2, max_noise: float = 1e-1, theta=None):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel as C
        from sklearn.gaussian_process.kernels import Matern, WhiteKernel

        X = np.asarray(X, dtype=float)
        self.mu, self.sd = X.mean(axis=0), X.std(axis=0) + 1e-9
        kernel = C(1.0) * Matern(np.ones(X.shape[1]), (1e-2, 1e3), nu=2.5) + WhiteKernel(1e-3, (1e-6, max_noise))
        fixed = theta is not None and len(theta) == len(kernel.theta)  # hyperparameters fitted before: no search
        self.gp = GaussianProcessRegressor(kernel.clone_with_theta(np.asarray(theta, dtype=float)) if fixed else kernel,
                                           normalize_y=True, n_restarts_optimizer=restarts, random_state=0,
                                           optimizer=None if fixed else "fmin_l_bfgs_b")  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.gp.fit((X - self.mu) / self.sd, np.asarray(y, dtype=float))

    @property
    def theta(self) -> list[float]:
        """The fitted hyperparameters (log scale), to skip the search when refitted on the same samples."""
        return [float(v) for v in self.gp.kernel_.theta]

    def predict_log(self, rows) -> tuple[np.ndarray, np.ndarray]:
        X = (np.array(rows, dtype=float) - self.mu) / self.sd
        return self.gp.predict(X, return_std=True)


class Surface(LogGP):
    """log latency over a family's log features."""

    def __init__(self, fam: Family, samples: list, restarts: int = 2, theta=None):
        super().__init__([fam.features(p) for p, _ in samples], np.log([max(ms, 1e-6) for _, ms in samples]), restarts,
                         theta=theta)  # fmt: skip


class Models:
    """Latency models for one thread count, fitted from a profile's samples (``fitted``: the
    hyperparameters a previous fit found, by family, which make refitting a matter of seconds)."""

    def __init__(self, samples: dict, training: list | None = None, fitted: dict | None = None):
        from .compose import Composition

        self.fams = families()
        self.samples = samples
        self.fitted = dict(fitted or {})
        self._surfaces: dict = {}
        self._curves: dict = {}
        self.const = {}
        for name, s in samples.items():
            kind = self.fams[name].kind if name in self.fams else None  # a table may hold retired families
            if kind == "constant" and s:
                self.const[name] = s[0][1]
            elif kind == "curve" and s:
                xs = np.log([max(p["numel"], 1) for p, _ in s])
                self._curves[name] = (xs, np.log([ms for _, ms in s]))
        self.training = training or []
        self.composition = Composition(self.training, self.fitted.get("composition"))
        if self.composition.gp is not None:
            self.fitted["composition"] = self.composition.gp.theta
        self.drift = None  # a compose.Drift once the machine's drift has been measured

    def module_ms(self) -> float:
        return self.const["module"]

    def container_ms(self) -> float:
        return max(0.0, (self.const["container"] - self.const["module"]) / 2)

    def curve(self, name: str, numel: int) -> float:
        xs, ys = self._curves[name]
        x = math.log(max(numel, 1))
        if x > xs[-1]:  # beyond the sampled sizes: latency grows in proportion to size
            return float(math.exp(ys[-1] + (x - xs[-1])))
        return float(math.exp(np.interp(x, xs, ys)))

    def _surface(self, name: str) -> Surface:
        if name not in self._surfaces:
            self._surfaces[name] = Surface(self.fams[name], self.samples[name], theta=self.fitted.get(name))
            self.fitted[name] = self._surfaces[name].theta
        return self._surfaces[name]

    def surface(self, name: str, params: dict) -> float:
        mean, _ = self._surface(name).predict_log([self.fams[name].features(params)])
        return float(math.exp(mean[0]))

    @classmethod
    def from_table(cls, table: dict) -> Models:
        return cls(table["samples"], table["training"], table.get("fitted"))

    def fit_all(self) -> dict:
        """Every surface fitted; their hyperparameters and the composition's, by family."""
        for name, fam in self.fams.items():
            if fam.kind == "surface" and self.samples.get(name):
                self._surface(name)
        return self.fitted
