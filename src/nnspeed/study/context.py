"""What every claim uses: shared workloads, the study's stop rule, the measurements so far."""

from __future__ import annotations

from collections.abc import Callable

from ..backends.base import Settings
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from ..scenarios.single_stream import single_stream

QUICK_STOP = StopRule(min_time=0.3, max_time=1.0, ci_rel=0.02)
FULL_STOP = StopRule(min_time=1.0, max_time=5.0, ci_rel=0.01)


class Study:
    def __init__(self, quick: bool, on_measure: Callable[[str], None] | None = None):
        self.quick = quick
        self.stop = QUICK_STOP if quick else FULL_STOP
        self.measurements: list[Measurement] = []
        self.results: dict[int, object] = {}
        self._workloads: dict[str, object] = {}
        self._flops: dict[str, int] = {}
        self._on_measure = on_measure

    def load(self, source: str):
        if source not in self._workloads:
            from ..api import load

            self._workloads[source] = load(source)
        return self._workloads[source]

    def flops(self, source: str) -> int:
        if source not in self._flops:
            self._flops[source] = self.load(source).flops(1)
        return self._flops[source]

    def keep(self, claim: int, label: str, m: Measurement) -> Measurement:
        """Tag a measurement with its claim and label and keep it for the store."""
        m.extra["study"] = {"claim": claim, "label": label}
        self.measurements.append(m)
        return m

    def bench(
        self,
        claim: int,
        label: str,
        workload,
        backend: str = "torch-eager",
        precision: str = "fp32",
        batch: int = 1,
        threads: int | None = None,
        budget_ms: float | None = None,
    ) -> Measurement:
        w = self.load(workload) if isinstance(workload, str) else workload
        if self._on_measure:
            self._on_measure(f"claim {claim}: {label}")
        m = single_stream(w, Settings(backend, precision, batch, threads), self.stop, budget_ms=budget_ms)
        return self.keep(claim, label, m)
