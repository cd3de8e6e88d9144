"""A governor that trades a measured amount of accuracy for latency under load.

Variants are ordered from most to least accurate.  Before each batch the governor looks at
the queue (how many wait, and how long the oldest has waited) and picks the variant that
serves it: a step to a cheaper variant once the oldest request has used ``high`` of the SLO
in waiting (or the queue holds ``queue_high``), a step back once ``calm`` batches in a row found
the oldest request waiting under ``low`` of the SLO, and never two switches within ``dwell``
SLOs of each other, so it does not flap.  Defaults: half the SLO, a tenth, 50 batches, 10 SLOs.  Requests carry real held-out samples, so the
accuracy it delivered is counted against their labels, not assumed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError
from .server import ServeLog


@dataclass(frozen=True)
class GovernorRule:
    high: float = 0.5  # of the SLO, waited by the oldest request: step to a cheaper variant
    low: float = 0.1  # of the SLO: a calm batch
    calm: int = 50  # calm batches in a row before a step back to a more accurate variant
    dwell: float = 10.0  # SLOs between two switches at least
    queue_high: int | None = None  # requests queued: step down too

    def __post_init__(self):
        if not (0 <= self.low < self.high and self.calm >= 1 and self.dwell >= 0):
            raise InputError("the governor needs 0 ≤ low < high, calm ≥ 1 and dwell ≥ 0")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Governor:
    """The policy of an adaptive server (see the module's doc); ``switches`` records every
    change as (time, from level, to level)."""

    n_variants: int
    slo_s: float
    rule: GovernorRule = field(default_factory=GovernorRule)
    level: int = 0
    switches: list[tuple[float, int, int]] = field(default_factory=list)
    _calm: int = 0
    _last_switch: float = -math.inf

    def __post_init__(self):
        if self.n_variants < 2:
            raise InputError("an adaptive server needs at least two variants to switch between")

    def _switch(self, now: float, to: int) -> None:
        self.switches.append((now, self.level, to))
        self.level, self._last_switch, self._calm = to, now, 0

    def choose(self, now: float, queued: int, oldest_wait_s: float) -> int:
        r = self.rule
        may_switch = now - self._last_switch >= r.dwell * self.slo_s
        pressed = oldest_wait_s >= r.high * self.slo_s or (r.queue_high is not None and queued >= r.queue_high)
        if pressed:
            self._calm = 0
            if may_switch and self.level < self.n_variants - 1:
                self._switch(now, self.level + 1)
        elif oldest_wait_s <= r.low * self.slo_s:
            self._calm += 1
            if self._calm >= r.calm and may_switch and self.level > 0:
                self._switch(now, self.level - 1)
        else:
            self._calm = 0
        return self.level


@dataclass(frozen=True)
class Fixed:
    """A static server: always the same variant (the replay every adaptive run is set beside)."""

    level: int

    def choose(self, now: float, queued: int, oldest_wait_s: float) -> int:
        return self.level


def predictions(log: ServeLog) -> np.ndarray:
    """Per request, the class its batch's call returned for it (-1 where unserved)."""
    pred = np.full(len(log.arrival), -1, dtype=np.int64)
    for first, out in log.outputs or []:
        labels = np.asarray(out).reshape(-1)
        pred[first : first + len(labels)] = labels
    return pred


def delivered(log: ServeLog, labels: np.ndarray, names: list[str]) -> dict:
    """What a run served: the share of requests per variant, the accuracy delivered against
    the requests' own labels (overall and per variant), and the switches."""
    pred = predictions(log)
    served = log.level >= 0
    y = labels[np.arange(len(pred)) % len(labels)]
    correct = (pred == y) & served
    shares, accuracy = {}, {}
    for k, name in enumerate(names):
        mine = log.level == k
        shares[name] = float(np.mean(mine)) if len(mine) else 0.0
        accuracy[name] = 100.0 * float(correct[mine].mean()) if mine.any() else None
    return {
        "variants": list(names),
        "shares": shares,
        "accuracy_by_variant": accuracy,
        "delivered_accuracy": 100.0 * float(correct[served].mean()) if served.any() else None,
        "served": int(served.sum()),
    }


def timeline(log: ServeLog, labels: np.ndarray, bins: int = 60) -> list[dict]:
    """Latency and accuracy through the run in equal slices of arrival time (for the plot)."""
    pred = predictions(log)
    t = log.arrival - log.arrival[0]
    lat = np.where(np.isnan(log.end), log.stopped_at, log.end) - log.arrival
    y = labels[np.arange(len(pred)) % len(labels)]
    edges = np.linspace(0, max(t[-1], 1e-9), bins + 1)
    rows = []
    for a, b in zip(edges, edges[1:]):
        idx = (t >= a) & (t < b) if b < edges[-1] else (t >= a)
        if not idx.any():
            continue
        served = idx & (log.level >= 0)
        rows.append(
            {
                "t_s": float(a),
                "requests": int(idx.sum()),
                "p99_ms": float(np.percentile(lat[idx], 99) * 1e3),
                "accuracy": 100.0 * float(np.mean(pred[served] == y[served])) if served.any() else None,
                "mean_level": float(log.level[served].mean()) if served.any() else None,
            }
        )
    return rows
