"""Per-layer time of a torch model, and the time of what runs outside every layer.

Times come from torch.profiler: every leaf module is wrapped in a ``record_function`` label
by forward hooks, and every call in a ``nnspeed.call`` range, so the profiler's own clock
attributes operator time to layers, and the top-level operators in a call but in no layer
(the ``torch.cat`` of skip connections, residual adds, reshapes in ``forward()``) to themselves.
Recording costs time (the hooks around each leaf, and every operator event the profiler
writes), so that cost is measured on the model itself, between the profiled calls: hooked
calls without the profiler, and profiled calls without the hooks, each against plain calls,
and taken off each range and event.  Probes (chains of empty modules) read less than a real
model costs: a hook about 11 µs a leaf between resnet18's convolutions against 3 µs between
empty modules, an event 0.3 µs in a small MLP against 0.2 µs on a probe (the interpreter's
and the profiler's caches are cold after each operator).  FLOPs and bytes come from ``work``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from .._silence import quiet
from ..measure.harness import call_ms
from ..measure.stoprule import StopRule
from .work import CALL, LAYER, Work, count_work

PROFILE_CALLS = 20  # at least; a short call gets more, up to PROFILE_SECONDS of plain calls
PROFILE_MAX_CALLS = 400
PROFILE_SECONDS = 1.0
# and no more than this many operator events to read back (about 45 µs each in Python)
PROFILE_EVENTS = 40_000
CHUNKS = 5  # profiler sessions, each followed by as many plain calls
PLAIN_STOP = StopRule(min_time=0.05, max_time=0.3, ci_rel=0.02)


def _leaves(model):
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


def _range_type():
    """The cheapest profiler range this torch has.  ``record_function`` costs tens of
    microseconds a module on a real model (3 ms of resnet18's 45 at one thread, profiler on or
    off), more than the probe chains calibrate; the C++ range torch.compile uses costs next to
    nothing and nests the same way in the profiler's tree."""
    import torch
    from torch.profiler import record_function

    return getattr(torch._C._profiler, "_RecordFunctionFast", record_function)


@contextmanager
def layer_ranges(model):
    """Within this context each run of a leaf module of ``model`` is a profiler range
    ``nnspeed.layer::NAME`` (a module run k times makes k ranges)."""
    handles, open_ranges = [], {}
    label = _range_type()

    def pre(name):
        def hook(mod, inputs):
            rf = label(f"{LAYER}{name}")
            rf.__enter__()
            open_ranges[name] = rf

        return hook

    def post(name):
        def hook(mod, inputs, output):
            open_ranges.pop(name).__exit__(None, None, None)

        return hook

    for name, mod in _leaves(model):
        handles.append(mod.register_forward_pre_hook(pre(name)))
        handles.append(mod.register_forward_hook(post(name)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _descendants(evt) -> int:
    return sum(1 + _descendants(c) for c in evt.cpu_children)


@dataclass
class Sessions:
    """What ``_profile`` saw.  ``layers`` and ``outside``: per call, each layer's profiled
    ranges and each top-level operator run outside every layer, as (ms, operator events
    inside), keyed by layer name and by operator name; ``between``: per call, the time in
    neither as (ms, layer ranges, outside operators); ``plain``: calls with no hooks and no
    profiler, in ms.  With ``in_situ``, also ``hooked`` (the hooks, no profiler: each timed
    beside a plain call of ``paired``, in random order) and
    ``traced`` (the profiler, no hooks) calls in ms, and the operator events a traced call
    records."""

    layers: dict[str, list[list]]
    outside: dict[str, list[list]]
    between: list[tuple[float, int, int]]
    plain: list[float]
    hooked: list[float] = field(default_factory=list)
    traced: list[float] = field(default_factory=list)
    traced_events: float = 0.0
    paired: list[float] = field(default_factory=list)  # the plain call timed beside each hooked one


def _profile(model, args, calls: int, in_situ: bool = False) -> Sessions:
    """The profiled calls come in ``CHUNKS`` sessions with as many plain calls after each
    (and, ``in_situ``, as many hooked and traced ones): the plain calls see the machine the
    profile saw, where a latency measured seconds apart does not (a shared VM's speed moves
    by ±6% from one 20-call window to the next)."""
    import random
    import statistics
    import time

    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    n = max(1, min(CHUNKS, calls))
    sizes = [calls // n + (i < calls % n) for i in range(n)]

    def profiled(size: int):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(size):
                with record_function(CALL):
                    model(*args)
        return prof

    def timed(size: int, into: list[float]) -> None:
        for _ in range(size):
            start = time.perf_counter()
            model(*args)
            into.append((time.perf_counter() - start) * 1e3)

    def traced(size: int, into: list[float]) -> None:
        with profile(activities=[ProfilerActivity.CPU]):
            timed(size, into)

    sessions, out = [], Sessions({}, {}, [], [])
    rng = random.Random(0)
    with torch.inference_mode():
        with layer_ranges(model):
            for _ in range(3):
                model(*args)  # warm-up outside the profile
        for size in sizes:
            with layer_ranges(model):  # the profiler announces itself from C++: quiet
                sessions.append(quiet(lambda: profiled(size)))  # noqa: B023 (called at once)
            timed(size, out.plain)  # the whole, in a block as a caller's calls run
            if not in_situ:
                continue
            quiet(lambda: traced(size, out.traced))  # noqa: B023
            # in pairs, so that the machine's drift cancels in each difference; of each arm's
            # two calls the second is kept, as the first after a switch pays for the switch
            for _ in range(size):
                for hooked in rng.sample((False, True), 2):
                    if hooked:
                        with layer_ranges(model):
                            timed(2, out.hooked)
                        del out.hooked[-2]
                    else:
                        timed(2, out.paired)
                        del out.paired[-2]
    call_events = [
        e
        for prof in sessions
        for e in sorted((e for e in prof.events() if e.name == CALL), key=lambda e: e.time_range.start)
    ]
    traced_events = []
    for i, call in enumerate(call_events):
        ranges = 0
        # a traced call records the same operators, without the layers' own ranges
        traced_events.append(sum(_descendants(e) + (not e.name.startswith(LAYER)) for e in call.cpu_children))
        for evt in call.cpu_children:
            is_layer = evt.name.startswith(LAYER)
            ranges += is_layer
            table, name = (out.layers, evt.name[len(LAYER) :]) if is_layer else (out.outside, evt.name)
            runs = table.setdefault(name, [[] for _ in call_events])
            runs[i].append((evt.cpu_time_total / 1e3, _descendants(evt)))
        inside = sum(evt.cpu_time_total for evt in call.cpu_children) / 1e3
        out.between.append((call.cpu_time_total / 1e3 - inside, ranges, len(call.cpu_children) - ranges))
    if in_situ and traced_events:
        out.traced_events = statistics.median(traced_events)
    return out


def in_situ_costs(seen: Sessions) -> tuple[float, float]:
    """(ms the hooks cost per range, ms the profiler costs per operator event) on the model
    itself: the median of the hooked calls less their plain pairs over the ranges a call opens,
    and the median traced call less the median plain one over the events it records (never
    below zero: two medians of a noisy call can cross)."""
    import statistics

    if not (seen.plain and seen.hooked and seen.paired and seen.traced and seen.between):
        return 0.0, 0.0
    plain = statistics.median(seen.plain)
    ranges = statistics.median(n for _, n, _ in seen.between)
    pairs = [h - p for h, p in zip(seen.hooked, seen.paired, strict=False)]
    per_range = statistics.median(pairs) / ranges if ranges else 0.0
    per_event = (statistics.median(seen.traced) - plain) / seen.traced_events if seen.traced_events else 0.0
    return max(0.0, per_range), max(0.0, per_event)


def _median_times(per_call: dict, per_range: float = 0.0, per_event: float = 0.0) -> dict[str, float]:
    """Each layer's median time per call, less the recording cost of its ranges and events."""
    import statistics

    return {
        n: statistics.median(max(0.0, sum(t - per_range - e * per_event for t, e in c)) for c in calls)
        for n, calls in per_call.items()
    }


def _between_ms(between: list, per_gap: float = 0.0, per_event: float = 0.0) -> float:
    """The median time per call in no layer and no operator (Python in ``forward()``, module
    calls), less what recording costs there: each range's hooks outside the range itself, and
    each outside operator's own event."""
    import statistics

    return statistics.median(max(0.0, g - n * per_gap - m * per_event) for g, n, m in between) if between else 0.0


def _plain_ms(model, args) -> float:
    """The best unprofiled, unhooked call of ``model``, timed by the core harness."""
    import numpy as np
    import torch

    with torch.inference_mode():
        return call_ms(lambda: model(*args), PLAIN_STOP, np.min)


@dataclass
class Profile:
    """Median time per call (ms) of each leaf layer and of each function run outside every
    layer, how many times each ran per call, their FLOPs and bytes, and the recording cost
    taken off."""

    times: dict[str, float]
    outside: dict[str, float]
    between_ms: float  # in no layer and no operator
    runs: dict[str, int]
    outside_runs: dict[str, int]
    work: Work
    recording_ms: float
    plain_ms: float = 0.0  # median of the plain calls timed between the profiled ones


def _runs(per_call: dict) -> dict[str, int]:
    import statistics

    return {n: int(statistics.median(len(c) for c in calls)) for n, calls in per_call.items()}


def profile_calls(model, args) -> int:
    """As many calls as take ``PROFILE_SECONDS`` plain and record ``PROFILE_EVENTS`` events,
    within [PROFILE_CALLS, PROFILE_MAX_CALLS]: a call of 70 µs varies by 2x from one to the
    next, and the first after a switch between profiled, hooked and plain calls is the
    slowest, so 20 are not enough to take a median of."""
    import math

    import torch
    from torch.profiler import ProfilerActivity, profile

    def recorded() -> int:
        with torch.inference_mode(), layer_ranges(model):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                model(*args)
        return len(prof.events())

    once, events = _plain_ms(model, args) / 1e3, quiet(recorded)
    wanted = math.ceil(PROFILE_SECONDS / once) if once > 0 else PROFILE_MAX_CALLS
    return max(PROFILE_CALLS, min(PROFILE_MAX_CALLS, wanted, PROFILE_EVENTS // max(1, events)))


def layer_stats(model, args: tuple, calls: int | None = None) -> Profile:
    """Each layer's time is the median over calls of its profiled ranges, less the recording
    cost of the range (one event) and of the operator events recorded inside it; a function
    outside every layer (a top-level operator) is corrected for the events inside it, and the
    time in neither for the hooks that run there.  All three are measured, so their sum can
    be set against the plain calls timed between the profiled ones."""
    import statistics

    seen = _profile(model, args, calls or profile_calls(model, args), in_situ=True)
    layers, outside, between, plain = seen.layers, seen.outside, seen.between, seen.plain
    # a hook's Python runs around its range, not in it; the range is one more event
    per_gap, per_event = in_situ_costs(seen)
    per_range = per_event
    times = _median_times(layers, per_range, per_event)
    outside_times = _median_times(outside, 0.0, per_event)
    between_ms = _between_ms(between, per_gap, per_event)
    raw = sum(_median_times(layers).values()) + sum(_median_times(outside).values()) + _between_ms(between)
    work = count_work(model, args, lambda: layer_ranges(model))
    return Profile(
        times,
        outside_times,
        between_ms,
        _runs(layers),
        _runs(outside),
        work,
        raw - sum(times.values()) - sum(outside_times.values()) - between_ms,
        statistics.median(plain),
    )
