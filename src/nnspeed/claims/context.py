"""What every claim uses: shared workloads, the study's stop rule, the measurements so far."""

from __future__ import annotations

from collections.abc import Callable

from ..backends.base import Settings
from ..measure.interleave import RoundRule
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from ..scenarios.side_by_side import SideBySide, side_by_side
from ..scenarios.single_stream import single_stream

QUICK_STOP = StopRule(min_time=0.3, max_time=1.0, ci_rel=0.02)
FULL_STOP = StopRule(min_time=1.0, max_time=5.0, ci_rel=0.01)
# Ratio claims measure their configurations side by side in interleaved rounds.
QUICK_ROUNDS = RoundRule(min_rounds=6, max_rounds=20, max_time=6.0, ci_rel=0.02, window_s=0.03)
FULL_ROUNDS = RoundRule(min_rounds=8, max_rounds=40, max_time=30.0, ci_rel=0.01, window_s=0.05)


class Study:
    def __init__(self, quick: bool, on_measure: Callable[[str], None] | None = None):
        self.quick = quick
        self.stop = QUICK_STOP if quick else FULL_STOP
        self.rounds = QUICK_ROUNDS if quick else FULL_ROUNDS
        self.measurements: list[Measurement] = []
        self.results: dict[int, object] = {}
        self._workloads: dict[str, object] = {}
        self._flops: dict[str, int] = {}
        self._on_measure = on_measure
        self.cache: dict[str, object] = {}  # what several claims share (models, one-shot runs)

    def load(self, source: str):
        if source not in self._workloads:
            from ..workloads.sources import load

            self._workloads[source] = load(source)
        return self._workloads[source]

    def flops(self, source: str) -> int:
        if source not in self._flops:
            self._flops[source] = self.load(source).flops(1)
        return self._flops[source]

    def note(self, text: str) -> None:
        """Tell the caller what is being measured now."""
        if self._on_measure:
            self._on_measure(text)

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

    def side_by_side(self, claim: int, arms: list[tuple], seed: int | None = None) -> SideBySide:
        """Measure ``(label, workload, settings kwargs)`` arms in interleaved rounds; every arm's
        Measurement is kept with its claim and label."""
        labels = [a[0] for a in arms]
        if self._on_measure:
            self._on_measure(f"claim {claim}: " + " vs ".join(labels))
        pairs = [
            (self.load(w) if isinstance(w, str) else w, Settings(**{"backend": "torch-eager", **kw}))
            for _, w, kw in arms
        ]
        # More arms share the same time budget: each gets its share of the rounds' seconds.
        rule = RoundRule(**{**self.rounds.to_dict(), "max_time": self.rounds.max_time * max(1, len(arms) / 2)})
        sbs = side_by_side(pairs, rule, labels=labels, seed=claim if seed is None else seed)
        for label, m in zip(labels, sbs.measurements):
            self.keep(claim, label, m)
        return sbs
