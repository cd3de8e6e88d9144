"""A governor that trades a measured amount of accuracy for latency under load.

Variants are ordered from most to least accurate.  Before each batch the governor looks at
the queue (how many wait, and how long the oldest has waited) and picks the variant that
serves it.  It steps to a cheaper variant when the queue's wait reaches ``high`` of the SLO:
the oldest request's wait so far, plus, when it knows the variants' service times, what the
queue behind it will take on the current variant, so it reacts as a burst arrives rather
than once it has done its damage.  It steps back once ``calm`` batches since the last pressed
one found the queue's wait (on the more accurate variant) under ``low`` of the SLO.  Fast down, slow up:
a step down waits ``down_dwell`` SLOs after any switch, a step up ``dwell`` SLOs, so it does
not flap.  Defaults: half the SLO, a tenth, 50 batches, 1 and 10 SLOs.  Requests carry real
held-out samples, so the accuracy it delivered is counted against their labels, not assumed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError
from .server import ServeLog


@dataclass(frozen=True)
class GovernorRule:
    high: float = 0.5  # of the SLO, waited by the oldest request: step to a cheaper variant
    low: float = 0.1  # of the SLO: a calm batch
    calm: int = 50  # calm batches since the last pressed one before a step back up
    dwell: float = 10.0  # SLOs since the last switch before a step back up
    down_dwell: float = 1.0  # SLOs since the last switch before a step down
    queue_high: int | None = None  # requests queued: step down too

    def __post_init__(self):
        if not (0 <= self.low < self.high and self.calm >= 1 and self.dwell >= 0 and self.down_dwell >= 0):
            raise InputError("the governor needs 0 ≤ low < high, calm ≥ 1 and dwells ≥ 0")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Governor:
    """The policy of an adaptive server (see the module's doc); ``switches`` records every
    change as (time, from level, to level)."""

    n_variants: int
    slo_s: float
    rule: GovernorRule = field(default_factory=GovernorRule)
    service_s: list[float] | None = None  # per variant, one request's typical service time
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

    def _queue_wait(self, level: int, queued: int, oldest_wait_s: float) -> float:
        """The oldest request's wait so far and what the queue behind it takes on ``level``."""
        ahead = (queued - 1) * self.service_s[level] if self.service_s else 0.0
        return oldest_wait_s + ahead

    def choose(self, now: float, queued: int, oldest_wait_s: float) -> int:
        r = self.rule
        since = now - self._last_switch
        pressed = self._queue_wait(self.level, queued, oldest_wait_s) >= r.high * self.slo_s or (
            r.queue_high is not None and queued >= r.queue_high
        )
        up = max(self.level - 1, 0)
        if pressed:
            self._calm = 0
            if since >= r.down_dwell * self.slo_s and self.level < self.n_variants - 1:
                self._switch(now, self.level + 1)
        elif self._queue_wait(up, queued, oldest_wait_s) <= r.low * self.slo_s:
            self._calm += 1
            if self._calm >= r.calm and since >= r.dwell * self.slo_s and self.level > 0:
                self._switch(now, self.level - 1)
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
        shares[name] = float(mine.sum() / served.sum()) if served.any() else 0.0  # of the requests served
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
    for a, b in itertools.pairwise(edges):
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
