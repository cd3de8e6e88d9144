"""Per-layer time of a torch model, and the time of what runs outside every layer.

Times come from torch.profiler: every leaf module is wrapped in a ``record_function`` label
by forward hooks, and every call in a ``nnspeed.call`` range, so the profiler's own clock
attributes operator time to layers, and the top-level operators in a call but in no layer
(the ``torch.cat`` of skip connections, residual adds, reshapes in ``forward()``) to themselves.
Recording costs time inside each range (the hooks, and every operator event the profiler
writes), so that cost is calibrated on this machine right before the profile, with probe
modules of known event count, and taken off each time.  FLOPs and bytes come from ``work``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from .._silence import quiet
from ..measure.harness import call_ms
from ..measure.stoprule import StopRule
from .work import CALL, LAYER, Work, count_work

PROFILE_CALLS = 20
CHUNKS = 5  # profiler sessions, each followed by as many plain calls
RECORDING_TRIALS = 5
PLAIN_STOP = StopRule(min_time=0.05, max_time=0.3, ci_rel=0.02)


def _leaves(model):
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


def _probe_chain(kind: str, k: int = 40):
    """Leaf modules for calibration: Identity records no operator, Neg records a few."""
    import torch

    class Neg(torch.nn.Module):
        def forward(self, x):
            return x.neg()

    leaf = torch.nn.Identity if kind == "identity" else Neg
    return torch.nn.Sequential(*[leaf() for _ in range(k)])


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


def _profile(model, args, calls: int) -> tuple[dict, dict, list, list[float]]:
    """Per call, each layer's profiled ranges and each top-level operator run outside every
    layer, as (ms, operator events inside), keyed by layer name and by operator name; per
    call, the time in neither as (ms, layer ranges, outside operators); and the plain calls
    (no hooks, no profiler) timed between the profiled ones, in ms.

    The profiled calls come in ``CHUNKS`` sessions with as many plain calls after each: the
    plain calls see the machine the profile saw, where a latency measured seconds apart does
    not (a shared VM's speed moves by ±6% from one 20-call window to the next)."""
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

    sessions, plain = [], []
    with torch.inference_mode():
        with layer_ranges(model):
            for _ in range(3):
                model(*args)  # warm-up outside the profile
        for size in sizes:
            with layer_ranges(model):  # the profiler announces itself from C++: quiet
                sessions.append(quiet(lambda: profiled(size)))  # noqa: B023 (called at once)
            for _ in range(size):
                start = time.perf_counter()
                model(*args)
                plain.append((time.perf_counter() - start) * 1e3)
    call_events = [
        e
        for prof in sessions
        for e in sorted((e for e in prof.events() if e.name == CALL), key=lambda e: e.time_range.start)
    ]
    layers: dict[str, list[list]] = {}
    outside: dict[str, list[list]] = {}
    between = []
    for i, call in enumerate(call_events):
        ranges = 0
        for evt in call.cpu_children:
            is_layer = evt.name.startswith(LAYER)
            ranges += is_layer
            table, name = (layers, evt.name[len(LAYER) :]) if is_layer else (outside, evt.name)
            runs = table.setdefault(name, [[] for _ in call_events])
            runs[i].append((evt.cpu_time_total / 1e3, _descendants(evt)))
        inside = sum(evt.cpu_time_total for evt in call.cpu_children) / 1e3
        between.append((call.cpu_time_total / 1e3 - inside, ranges, len(call.cpu_children) - ranges))
    return layers, outside, between, plain


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


def _recording_trial(calls: int) -> tuple[float, float, float]:
    import torch

    x = torch.zeros(1)
    costs = []
    for kind in ("identity", "neg"):
        chain = _probe_chain(kind)
        k = len(chain)
        per_call, _, between, _ = _profile(chain, (x,), calls)
        events = sum(e for c in per_call.values() for t, e in c[0]) / k
        plain = _plain_ms(chain, (x,)) / k
        costs.append((sum(_median_times(per_call).values()) / k, events, plain, _between_ms(between) / k))
    (r_id, _, u_id, g_id), (r_neg, n_neg, u_neg, _) = costs
    per_range = max(0.0, r_id - u_id)  # a module's own call counts in its range
    per_event = max(0.0, (r_neg - per_range - u_neg) / n_neg) if n_neg else 0.0
    return per_range, per_event, g_id


def recording_cost(calls: int = 100, trials: int = RECORDING_TRIALS) -> tuple[float, float, float]:
    """(ms per instrumented range, ms per recorded operator event, ms a range's hooks cost
    outside it) measured on probe chains.

    One calibration now and then comes out two or three times too high (a whole profiler
    session runs slow, idle machine or not), which would zero every small layer; the median
    of several trials does not follow it.
    """
    import statistics

    runs = [_recording_trial(calls) for _ in range(trials)]
    per_range, per_event, per_gap = ([r[i] for r in runs] for i in range(3))
    return statistics.median(per_range), statistics.median(per_event), statistics.median(per_gap)


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


def layer_stats(model, args: tuple, calls: int = PROFILE_CALLS) -> Profile:
    """Each layer's time is the median over calls of its profiled ranges, less the calibrated
    recording cost of each range and of the operator events recorded inside it; a function
    outside every layer (a top-level operator) is corrected for the events inside it, and the
    time in neither for the hooks that run there.  All three are measured, so their sum can
    be set against the plain calls timed between the profiled ones."""
    import statistics

    per_range, per_event, per_gap = recording_cost()
    layers, outside, between, plain = _profile(model, args, calls)
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
