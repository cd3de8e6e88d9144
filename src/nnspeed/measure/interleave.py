"""Several arms measured in rounds, each round in a fresh random order (random interleaving).

Measuring A for ten seconds and then B for ten seconds compares two stretches of time as
much as two models: on a shared machine the medians of identical runs taken a minute apart
differ by several percent.  Here every round gives each arm one short window, in an order
shuffled anew each round (Google Benchmark's random interleaving, asv's rounds), so slow
stretches fall on every arm alike.  A ratio is computed from the per-round figures
(``paired.paired_ratio``); the stop rule works on that interval.

The harness owns the clock: an arm only runs ``call(i)``.  Resident arms stay prepared for
the whole measurement; arms that cannot all be held at once are re-entered each round
(``Arm.enter`` prepares a fresh runner), which costs a warm-up per window and is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError
from .clock import Clock, PerfCounterClock
from .contention import CpuReading, window_end, window_start
from .harness import WARMUP_CAP_S, block_size_for, warm_up
from .paired import MIN_ROUNDS, STATISTICS, WINDOW_SAMPLES, RatioInterval, paired_ratio, window_statistic

# A window opens with this many untimed calls: the arm before it evicted this one's weights
# and activations from the caches, and the switch itself is not what is being compared.
SWITCH_CALLS = 1
# A re-entered arm (a fresh runner each round) warms up for at most this long per window.
REENTRY_WARMUP_CAP_S = 1.0


@dataclass(frozen=True)
class RoundRule:
    """At least ``min_rounds`` rounds; stop at ``max_rounds`` or ``max_time`` seconds (but never
    before MIN_ROUNDS rounds, the fewest that bound a ratio), or
    once every ratio's 95% CI is within ±``ci_rel`` of it.  Each arm's window in a round
    lasts at least ``window_s`` and holds at least ``window_samples`` timed samples
    (default: enough for ``statistic``)."""

    min_rounds: int = 8
    max_rounds: int = 60
    max_time: float = 60.0
    ci_rel: float = 0.01
    window_s: float = 0.05
    window_samples: int | None = None
    statistic: str = "p50"

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise InputError(f"unknown statistic '{self.statistic}'; use one of {', '.join(STATISTICS)}")
        if self.min_rounds < MIN_ROUNDS:
            raise InputError(
                f"at least {MIN_ROUNDS} rounds are needed for a 95% interval on a ratio; got --min-rounds {self.min_rounds}"
            )
        if self.max_rounds < self.min_rounds:
            raise InputError(f"--max-rounds {self.max_rounds} is below --min-rounds {self.min_rounds}; raise it")
        if not self.max_time > 0 or not self.window_s > 0:
            raise InputError("--max-time and the window length must be positive seconds")
        if not 0 < self.ci_rel < 1:
            raise InputError("the CI target must be a fraction between 0 and 1, e.g. 0.01 for ±1%")
        if self.window_samples is not None and self.window_samples < 1:
            raise InputError("a window needs at least one timed sample")

    @property
    def samples_per_window(self) -> int:
        return self.window_samples or WINDOW_SAMPLES[self.statistic]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Arm:
    """One thing being compared.  ``enter()`` returns ``(call, fresh)``: the function that
    runs and waits for input ``i``, and whether it is a freshly prepared runner that must
    warm up again; ``leave()`` ends a window (a re-entered arm closes its runner there)."""

    name: str
    enter: Callable[[], tuple[Callable[[int], object], bool]]
    leave: Callable[[], None] = lambda: None


@dataclass
class ArmTiming:
    """What the rounds saw of one arm: every sample, and the figure of each round."""

    name: str
    samples_s: list[float] = field(default_factory=list)
    round_values_s: list[float] = field(default_factory=list)
    round_sizes: list[int] = field(default_factory=list)
    block_size: int = 1
    first_call_s: float = math.nan
    warmup_calls: int = 0
    warmup_s: float = 0.0
    steady: bool = True
    calls: int = 0


@dataclass
class Rounds:
    """The result of ``run_rounds``: per-arm timings, the orders used, why it stopped."""

    arms: list[ArmTiming]
    orders: list[list[int]]
    rule: RoundRule
    stop_reason: str
    elapsed_s: float
    overhead_ns: float
    clock: str
    resident: bool
    seed: int
    notes: list[str] = field(default_factory=list)
    cpu: tuple[CpuReading, CpuReading] | None = None  # counters around the rounds (see contention)

    @property
    def n_rounds(self) -> int:
        return len(self.orders)

    def ratio(self, reference: int, other: int) -> RatioInterval:
        """other / reference of the per-round statistic."""
        return paired_ratio(self.arms[reference].round_values_s, self.arms[other].round_values_s)


def _window(call: Callable[[int], object], clock: Clock, timing: ArmTiming, rule: RoundRule) -> list[float]:
    """One arm's window: untimed switch calls, then timed blocks until long and full enough."""
    i = timing.calls
    for _ in range(SWITCH_CALLS):
        call(i)
        i += 1
    out: list[float] = []
    spent = 0.0
    block = timing.block_size
    while len(out) < rule.samples_per_window or spent < rule.window_s:
        a = clock.mark()
        for _ in range(block):
            call(i)
            i += 1
        b = clock.mark()
        d = clock.elapsed(a, b)
        spent += d
        out.append(d / block)
    timing.calls = i
    return out


def _intervals(timings: list[ArmTiming]) -> list[RatioInterval]:
    """Each arm against the first; one arm alone: the interval of its own round figures."""
    if len(timings) == 1:
        values = timings[0].round_values_s
        return [paired_ratio(np.ones(len(values)), values)]
    return [paired_ratio(timings[0].round_values_s, t.round_values_s) for t in timings[1:]]


def _first_entry(arm: Arm, timing: ArmTiming, clock: Clock, overhead_ns: float, cap_s: float, block: int | None):
    call, _ = arm.enter()
    try:
        a = clock.mark()
        call(0)
        b = clock.mark()
        timing.first_call_s = clock.elapsed(a, b)
        w0 = clock.now()
        calls, typical, steady = warm_up(call, clock, cap_s)
        timing.warmup_calls, timing.warmup_s, timing.steady = calls, clock.now() - w0, steady
        timing.calls = calls + 1
        timing.block_size = block or block_size_for(typical, overhead_ns)
    finally:
        arm.leave()


def run_rounds(  # noqa: C901 (to be split)
    arms: Sequence[Arm],
    rule: RoundRule,
    clock: Clock | None = None,
    seed: int = 0,
    resident: bool = True,
    decided: Callable[[list[RatioInterval]], bool] | None = None,
    block_size: int | None = None,
    on_round: Callable[[int, list[RatioInterval]], None] | None = None,
) -> Rounds:
    """Measure ``arms`` in rounds; ratios are of each arm against the first (the reference).
    One arm alone is measured in rounds as well, its stop rule on its own round figures.

    Every arm is entered once first for its first call and warm-up (in a shuffled order as
    well), which also fixes its block size.  Then each round enters the arms in a new random
    order and times one window of each.  After ``min_rounds`` it stops once every ratio's CI
    is within ``rule.ci_rel``, or once ``decided(ratios)`` says the question is answered.
    """
    if not arms:
        raise InputError("nothing to measure: give at least one arm")
    clock = clock or PerfCounterClock()
    rng = np.random.default_rng(seed)
    overhead_ns = clock.overhead_ns()
    timings = [ArmTiming(a.name) for a in arms]
    notes: list[str] = []
    cap = min(WARMUP_CAP_S, max(0.2, 0.1 * rule.max_time))
    t0 = clock.now()
    for k in rng.permutation(len(arms)):
        _first_entry(arms[k], timings[k], clock, overhead_ns, cap, block_size)
    for t in timings:
        if not t.steady:
            notes.append(f"{t.name}: latency had not settled after {t.warmup_s:.1f} s of warm-up")
        if t.block_size > 1:
            notes.append(f"{t.name}: calls too short to time one by one, timed in blocks of {t.block_size}")
    if not resident:
        notes.append(
            "the arms could not all stay prepared at once: each window prepared its arm afresh and warmed it up "
            "(A-B-A-B sequences of separately prepared runners)"
        )
    orders: list[list[int]] = []
    reason = ""
    ratios: list[RatioInterval] = []
    cpu0 = window_start(clock.name)
    while not reason:
        order = [int(k) for k in rng.permutation(len(arms))]
        for k in order:
            call, fresh = arms[k].enter()
            try:
                if fresh:
                    warm_up(call, clock, min(REENTRY_WARMUP_CAP_S, cap))
                window = _window(call, clock, timings[k], rule)
            finally:
                arms[k].leave()
            t = timings[k]
            t.samples_s.extend(window)
            t.round_values_s.append(window_statistic(window, rule.statistic))
            t.round_sizes.append(len(window))
        orders.append(order)
        n = len(orders)
        ratios = _intervals(timings)
        if on_round:
            on_round(n, ratios)
        elapsed = clock.now() - t0
        if n >= rule.max_rounds:
            reason = "max_rounds"
        elif elapsed >= rule.max_time and n >= MIN_ROUNDS:  # never fewer rounds than bound a ratio
            reason = "max_time"
        elif n >= rule.min_rounds:
            if all(r.half_width_rel <= rule.ci_rel for r in ratios):
                reason = "ci"
            elif decided is not None and decided(ratios):
                reason = "decided"
    if reason in ("max_rounds", "max_time"):
        worst = max((r.half_width_rel for r in ratios), default=math.inf)
        if worst > rule.ci_rel:
            notes.append(
                f"stopped at {reason.replace('_', '-')} before every ratio's 95% CI reached ±{100 * rule.ci_rel:g}% "
                f"(the widest is ±{100 * worst:.1f}%)"
            )
    cpu = window_end(cpu0)
    elapsed = clock.now() - t0
    return Rounds(timings, orders, rule, reason, elapsed, overhead_ns, clock.name, resident, seed, notes, cpu)
