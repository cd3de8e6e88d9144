"""The frozen record of one measured configuration; statistics are derived, never stored alone."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields

import numpy as np

from . import invariants, notebook
from .stats import BudgetStats, LatencyStats, budget_stats, noise_warnings, summarize

SCHEMA_VERSION = 1
# What a scenario adds to its results (``bench --json`` and ``show --json`` carry them as they
# are): the load scenarios' figures, a generation's token metrics, a training step's breakdown,
# and which capacity search a stored server run came from.
SCENARIO_KEYS = (
    "scenario",
    "realtime",
    "server",
    "offline",
    "engine",
    "loadgen",
    "generate",
    "prompt_len",
    "new_tokens",
    "train",
    "capacity_mode",
)
# Per-step samples a scenario keeps beside its per-call ones: shown with the samples only.
SCENARIO_SAMPLES = ("step_ms",)
LOAD_SCENARIOS = ("realtime", "server")


@dataclass(frozen=True)
class Measurement:
    """Raw per-call samples plus everything needed to reproduce and judge them.

    ``samples_ms`` holds one latency per timed call (or the per-call mean of a block when
    ``block_size`` > 1).  ``requested`` and ``effective`` are the settings asked for and the
    ones that really ran; ``env`` is the machine fingerprint.
    """

    source: str
    backend: str
    precision: str
    effective_precision: str
    batch: int
    threads: int | None
    device: str
    samples_ms: tuple[float, ...]
    first_call_ms: float
    timer_overhead_ns: float
    block_size: int = 1
    warmup: dict = field(default_factory=dict)
    stop_reason: str = ""
    budget_ms: float | None = None
    requested: dict = field(default_factory=dict)
    effective: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @functools.cached_property
    def latency_ms(self) -> LatencyStats:
        return summarize(self.samples_ms)

    @property
    def samples(self) -> np.ndarray:
        """Per-call latencies in milliseconds."""
        return np.asarray(self.samples_ms, dtype=float)

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def throughput_sps(self) -> float:
        """Samples per second, one call after another: batch / mean latency."""
        mean = self.latency_ms.mean
        return self.batch * 1000.0 / mean if mean > 0 else math.inf

    @property
    def budget(self) -> BudgetStats | None:
        return None if self.budget_ms is None else budget_stats(self.samples_ms, self.budget_ms)

    @property
    def warnings(self) -> list[str]:
        # Under load the spread is the queueing being measured, not noise on the machine.
        spread = self.extra.get("scenario") not in LOAD_SCENARIOS
        return list(self.notes) + noise_warnings(self.latency_ms, spread=spread) + self.inconsistencies

    @property
    def inconsistencies(self) -> list[str]:
        """Its own figures that disagree: percentiles out of order, a CI without its median."""
        lat = self.latency_ms
        found = invariants.ordered({"min": lat.min, "p50": lat.p50, "p90": lat.p90, "p99": lat.p99, "max": lat.max})
        found += invariants.ci_contains(lat.p50, lat.ci95, name="median")
        return [f"inconsistent: latency {v.message}" for v in found]

    @property
    def machine_id(self) -> str:
        """The fingerprint of the machine that measured it."""
        return str(self.env.get("machine_id", ""))

    @property
    def node_id(self) -> str:
        """The cluster node that ran it ("" when it ran on the machine that asked)."""
        return str((self.extra.get("placement") or {}).get("node_id", ""))

    @property
    def key(self) -> str:
        """What two runs must share to be compared."""
        return f"{self.source}|{self.backend}|{self.precision}|b{self.batch}|t{self.threads}|{self.device}"

    def to_dict(self, samples: bool = False) -> dict:
        """The ``bench --json`` result entry (and the raw samples when asked)."""
        lat = self.latency_ms
        budget = self.budget
        d = {
            "source": self.source,
            "backend": self.backend,
            "precision": self.precision,
            "effective_precision": self.effective_precision,
            "batch": self.batch,
            "threads": self.threads,
            "device": self.device,
            "latency_ms": {
                "mean": lat.mean,
                "p50": lat.p50,
                "p90": lat.p90,
                "p99": lat.p99,
                "p999": lat.p999,
                "std": lat.std,
                "ci95": list(lat.ci95),
                "iqr": lat.iqr,
                "min": lat.min,
                "max": lat.max,
            },
            "first_call_ms": self.first_call_ms,
            "throughput_sps": self.throughput_sps,
            "n": self.n,
            "block_size": self.block_size,
            "timer_overhead_ns": self.timer_overhead_ns,
            "warmup": dict(self.warmup),
            "stop_reason": self.stop_reason,
            "warnings": self.warnings,
            "budget": None if budget is None else budget.to_dict(),
            "memory": dict(self.extra.get("memory", {})),
            "effective": dict(self.effective),
        }
        if "model" in self.extra:  # what was timed: inputs, outputs, task
            d["model"] = self.extra["model"]
        if "contention" in self.extra:  # other processes' CPU use over the timed window
            d["contention"] = dict(self.extra["contention"])
        for key in SCENARIO_KEYS:
            if key in self.extra:
                d[key] = self.extra[key]
        scenario = self.extra.get("scenario")
        if isinstance(scenario, str) and scenario in self.extra and scenario not in d:
            d[scenario] = self.extra[scenario]  # a registered scenario's figures, under its name
        d["machine_id"] = self.machine_id or None
        if "placement" in self.extra:  # which node of a cluster ran it, on which cores
            d["placement"] = self.extra["placement"]
        if samples:
            d["samples_ms"] = list(self.samples_ms)
            d.update({k: list(self.extra[k]) for k in SCENARIO_SAMPLES if k in self.extra})
        return d

    def __repr__(self) -> str:
        # Every sample would be printed otherwise (100 KB for a long run).
        return f"Measurement({notebook.summary(self)})"

    def _repr_html_(self) -> str:
        return notebook.measurement_html(self)

    def to_record(self) -> dict:
        """Every field, for the store."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_record(cls, record: dict) -> Measurement:
        """Rebuild from a stored record; fields added in later schema versions get defaults."""
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in record.items() if k in names}
        data["samples_ms"] = tuple(float(x) for x in data.get("samples_ms", ()))
        data["notes"] = tuple(data.get("notes", ()))
        return cls(**data)
