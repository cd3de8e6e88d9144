"""Workloads under settings measured side by side in interleaved rounds, ratios with honest CIs.

Every arm is a (workload, settings) pair prepared by its backend.  All arms stay prepared for
the whole measurement when they fit in memory together; otherwise each window prepares its
arm afresh (A-B-A-B sequences), and the result says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..backends.base import Settings
from ..backends.registry import calling, get_backend
from ..errors import InputError
from ..measure.clock import Clock
from ..measure.compare import Comparison, from_rounds
from ..measure.harness import Timing
from ..measure.interleave import Arm, RoundRule, Rounds, run_rounds
from ..measure.measurement import Measurement
from ..measure.paired import RatioInterval
from .record import to_measurement
from .single_stream import default_clock, runner_call

# All arms stay prepared only while their estimated footprint is under this share of the
# memory available now; a runtime holds its own copy of the weights beside torch's.
RESIDENT_SHARE = 0.5
FOOTPRINT_FACTOR = 3


@dataclass
class SideBySide:
    """Each arm's Measurement (every per-call sample kept) and each arm's comparison with
    the first arm, from the same rounds."""

    labels: list[str]
    measurements: list[Measurement]
    comparisons: list[Comparison]
    rounds: Rounds = field(repr=False)

    def ratio(self, reference: int, other: int, per_item: bool = False) -> RatioInterval:
        """Time of ``other`` over ``reference`` per call (per sample with ``per_item``)."""
        r = self.rounds.ratio(reference, other)
        if not per_item:
            return r
        scale = self.measurements[reference].batch / self.measurements[other].batch
        lo, hi = r.ci95
        return RatioInterval(r.ratio * scale, (lo * scale, hi * scale), r.rounds, r.coverage)

    def compare(self, reference: int, other: int, per_item: bool = False) -> Comparison:
        """``other`` against ``reference`` as a Comparison (speedup > 1: ``other`` is faster)."""
        a, b = self.measurements[reference], self.measurements[other]
        key = f"{self.labels[reference]} → {self.labels[other]}"
        stat = self.rounds.rule.statistic
        return from_rounds(
            key, self.ratio(reference, other, per_item), a.latency_ms.of(stat), b.latency_ms.of(stat), stat
        )

    def to_dict(self, samples: bool = False) -> dict:
        r = self.rounds
        return {
            "method": self.comparisons[0].method if self.comparisons else "",
            "statistic": r.rule.statistic,
            "rounds": r.n_rounds,
            "stop_reason": r.stop_reason,
            "resident": r.resident,
            "seed": r.seed,
            "elapsed_s": r.elapsed_s,
            "rule": r.rule.to_dict(),
            "notes": list(r.notes),
            "labels": list(self.labels),
            "ratios": [c.to_dict() for c in self.comparisons],
            "results": [m.to_dict(samples=samples) for m in self.measurements],
        }


def footprint_bytes(workload) -> int:
    """A rough upper bound of what one prepared arm holds."""
    params = workload.params()
    if params is not None:
        return FOOTPRINT_FACTOR * 4 * params
    path = workload.model_file
    return FOOTPRINT_FACTOR * (path.stat().st_size if path is not None and path.exists() else 0)


def fits_resident(workloads: Sequence) -> bool:
    import psutil

    need = sum(footprint_bytes(w) for w in {id(w): w for w in workloads}.values())
    return need <= RESIDENT_SHARE * psutil.virtual_memory().available


def _check_same_inputs(arms: Sequence[tuple[object, Settings]], labels: list[str]) -> None:
    """Arms compared per call must take the same inputs: a ratio of two models fed different
    data says nothing about either."""
    w0 = arms[0][0]
    for (w, _), label in zip(arms[1:], labels[1:]):
        a = [(i.shape, i.dtype) for i in w0.inputs]
        b = [(i.shape, i.dtype) for i in w.inputs]
        if a != b:
            raise InputError(
                f"{labels[0]} and {label} take different inputs ({', '.join(i.describe() for i in w0.inputs)} vs "
                f"{', '.join(i.describe() for i in w.inputs)}); compare models with the same input shapes"
            )


def side_by_side(
    arms: Sequence[tuple[object, Settings]],
    rule: RoundRule,
    labels: Sequence[str] | None = None,
    clock: Clock | None = None,
    seed: int = 0,
    resident: bool | None = None,
    decided: Callable[[list[RatioInterval]], bool] | None = None,
    budget_ms: float | None = None,
    same_inputs: bool = False,
    on_round: Callable[[int, list[RatioInterval]], None] | None = None,
) -> SideBySide:
    """Measure every (workload, settings) arm in interleaved rounds; compare each with the first
    (one arm alone is measured in rounds, for comparing later with a run measured apart).

    ``resident``: keep every runner prepared (None: when they fit in memory together).
    ``same_inputs``: refuse arms whose models take different inputs.
    """
    if not arms:
        raise InputError("nothing to measure: give at least one configuration")
    labels = (
        list(labels) if labels is not None else [f"{w.source} {s.backend} {s.precision} b{s.batch}" for w, s in arms]
    )
    if same_inputs:
        _check_same_inputs(arms, labels)
    clock = clock or default_clock(arms[0][1])
    if resident is None:
        resident = fits_resident([w for w, _ in arms])
    effective: list[dict] = [{} for _ in arms]
    memory: list[dict] = [{} for _ in arms]
    pools: list[int] = [0 for _ in arms]

    with contextlib.ExitStack() as stack:
        built = []
        for k, (w, s) in enumerate(arms):
            built.append(
                _resident_arm(stack, k, w, s, labels[k], effective, memory, pools)
                if resident
                else _reentered_arm(k, w, s, labels[k], effective, memory, pools)
            )
        rounds = run_rounds(built, rule, clock, seed=seed, resident=resident, decided=decided, on_round=on_round)

    measurements = []
    for k, ((w, s), t) in enumerate(zip(arms, rounds.arms)):
        timing = Timing(
            samples_s=np.asarray(t.samples_s),
            block_size=t.block_size,
            first_call_s=t.first_call_s,
            warmup_calls=t.warmup_calls,
            warmup_s=t.warmup_s,
            steady=t.steady,
            overhead_ns=rounds.overhead_ns,
            stop_reason=rounds.stop_reason,
            elapsed_s=rounds.elapsed_s,
            clock=rounds.clock,
            notes=list(rounds.notes),
            cpu=rounds.cpu,
        )
        eff = {**effective[k], "input_pool": pools[k]}
        extra = {
            "interleave": {
                "label": labels[k],
                "arm": k,
                "arms": len(arms),
                "rounds": rounds.n_rounds,
                "statistic": rule.statistic,
                "resident": resident,
                "seed": seed,
                "round_values_ms": [v * 1e3 for v in t.round_values_s],
                "round_sizes": list(t.round_sizes),
            }
        }
        measurements.append(to_measurement(w, s, rule, timing, eff, memory[k], budget_ms, extra=extra))
    result = SideBySide(labels, measurements, [], rounds)
    result.comparisons = [result.compare(0, k) for k in range(1, len(arms))]
    return result


def _resident_arm(stack, k, w, s: Settings, label, effective, memory, pools) -> Arm:
    runner = get_backend(s.backend).prepare(w, s)
    stack.callback(runner.close)
    call, pools[k] = runner_call(runner, w, s.batch)
    effective[k] = dict(runner.effective)
    activate = getattr(runner, "activate", None)
    state = contextlib.ExitStack()  # the runner's call state, held for one window

    def enter():
        if activate is not None:
            activate()  # e.g. torch's thread count, which every torch runner in the process shares
        state.enter_context(calling(runner))
        return call, False

    def leave():
        state.close()
        memory[k] = runner.memory()

    return Arm(label, enter, leave)


def _reentered_arm(k, w, s: Settings, label, effective, memory, pools) -> Arm:
    held: list = []
    state = contextlib.ExitStack()  # the runner's call state, held for one window

    def enter():
        runner = get_backend(s.backend).prepare(w, s)
        held.append(runner)
        call, pools[k] = runner_call(runner, w, s.batch)
        effective[k] = dict(runner.effective)
        state.enter_context(calling(runner))
        return call, True

    def leave():
        state.close()
        runner = held.pop()
        memory[k] = runner.memory()
        runner.close()

    return Arm(label, enter, leave)
