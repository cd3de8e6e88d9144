"""Gaussian-process surfaces: log latency over an operator family's log features, with the
model's own uncertainty (which says where the next microbenchmark helps most).  They are
scikit-learn's, in the ``data`` extra."""

from __future__ import annotations

import numpy as np

from .._optional import require
from .kernels import Family


def require_gp() -> None:
    """The latency models are scikit-learn's Gaussian processes (the ``data`` extra): say so
    before minutes of microbenchmarks are spent, not with a traceback after them."""
    require("sklearn", purpose="nnspeed predict (its latency models are scikit-learn Gaussian processes)")


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
        self.gp = GaussianProcessRegressor(
            kernel.clone_with_theta(np.asarray(theta, dtype=float)) if fixed else kernel,
            normalize_y=True,
            n_restarts_optimizer=restarts,
            random_state=0,
            optimizer=None if fixed else "fmin_l_bfgs_b",
        )
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
        super().__init__(
            [fam.features(p) for p, _ in samples], np.log([max(ms, 1e-6) for _, ms in samples]), restarts, theta=theta
        )
