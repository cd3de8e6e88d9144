"""The fitted latency models of one operator table: constants, curves over size, Gaussian
surfaces over shape, and the composition correction; refitted from a table's samples (with
its stored hyperparameters, in seconds)."""

from __future__ import annotations

import math

import numpy as np

from .corrections import Composition, Drift
from .gp import Surface, require_gp
from .kernels import families


class Models:
    """Latency models for one thread count, fitted from a profile's samples (``fitted``: the
    hyperparameters a previous fit found, by family, which make refitting a matter of seconds)."""

    def __init__(self, samples: dict, training: list | None = None, fitted: dict | None = None):
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
        self.drift: Drift | None = None  # once the machine's drift has been measured

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
        require_gp()
        return cls(table["samples"], table["training"], table.get("fitted"))

    def fit_all(self) -> dict:
        """Every surface fitted; their hyperparameters and the composition's, by family."""
        for name, fam in self.fams.items():
            if fam.kind == "surface" and self.samples.get(name):
                self._surface(name)
        return self.fitted
