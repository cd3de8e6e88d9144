"""Per-layer time, FLOPs and bytes of a torch model, and where each sits on the roofline.

Times come from torch.profiler: every leaf module is wrapped in a ``record_function`` label
by forward hooks, so the profiler's own clock attributes operator time to layers.  Recording
costs time inside each range (the hooks, and every operator event the profiler writes), so
that cost is calibrated on this machine right before the profile, with probe modules of known
event count, and taken off each layer's time.  FLOPs come
from torch.utils.flop_counter; bytes are the layer's weights plus its input and output
activations (what must cross the memory bus at least once).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .._silence import quiet
from ..measure.harness import call_ms
from ..measure.stoprule import StopRule

# A layer whose roofline bound is under this share of its measured time is limited by
# per-call overhead (dispatch, launches, Python), not by compute or memory.
OVERHEAD_EFFICIENCY = 0.10
PROFILE_CALLS = 20
RECORDING_TRIALS = 5
PLAIN_STOP = StopRule(min_time=0.05, max_time=0.3, ci_rel=0.02)


@dataclass
class Layer:
    name: str
    op: str
    time_ms: float
    share: float
    flops: int
    bytes: int
    intensity: float
    gflops: float
    bound_ms: float
    efficiency: float
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def _leaves(model):
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


def _nbytes(x) -> int:
    import torch

    if isinstance(x, torch.Tensor):
        return x.numel() * x.element_size()
    if isinstance(x, (tuple, list)):
        return sum(_nbytes(v) for v in x)
    return 0


def _probe_chain(kind: str, k: int = 40):
    """Leaf modules for calibration: Identity records no operator, Neg records a few."""
    import torch

    class Neg(torch.nn.Module):
        def forward(self, x):
            return x.neg()

    leaf = torch.nn.Identity if kind == "identity" else Neg
    return torch.nn.Sequential(*[leaf() for _ in range(k)])


def _hooked(model, leaves, io_bytes: dict):
    from torch.profiler import record_function

    handles, open_ranges = [], {}

    def pre(name):
        def hook(mod, inputs):
            rf = record_function(f"nnspeed.layer::{name}")
            rf.__enter__()
            open_ranges[name] = rf

        return hook

    def post(name, mod):
        weights = sum(p.numel() * p.element_size() for p in mod.parameters(recurse=False))

        def hook(m, inputs, output):
            open_ranges.pop(name).__exit__(None, None, None)
            io_bytes[name] = weights + _nbytes(inputs) + _nbytes(output)

        return hook

    for name, mod in leaves:
        handles.append(mod.register_forward_pre_hook(pre(name)))
        handles.append(mod.register_forward_hook(post(name, mod)))
    return handles


def _descendants(evt) -> int:
    return sum(1 + _descendants(c) for c in evt.cpu_children)


def _profile(model, args, calls: int) -> tuple[dict, dict]:
    """Per layer, its profiled ranges as (ms, operator events inside) grouped by call, and bytes."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    leaves = _leaves(model)
    io_bytes: dict[str, int] = {}
    handles = _hooked(model, leaves, io_bytes)
    try:
        with torch.inference_mode():
            for _ in range(3):
                model(*args)  # warm-up outside the profile

            def profiled():
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    for _ in range(calls):
                        model(*args)
                return prof

            prof = quiet(profiled)  # the profiler announces itself from C++
    finally:
        for h in handles:
            h.remove()
    ranges: dict[str, list] = {}
    for evt in sorted(prof.events(), key=lambda e: e.time_range.start):
        if evt.name.startswith("nnspeed.layer::"):
            ranges.setdefault(evt.name.split("::", 1)[1], []).append((evt.cpu_time_total / 1e3, _descendants(evt)))
    # a module may run several times per call (a shared ReLU): split its ranges into calls
    per_call = {
        n: [v[i * (len(v) // calls) : (i + 1) * (len(v) // calls)] for i in range(calls)] for n, v in ranges.items()
    }
    return per_call, io_bytes


def _median_times(per_call: dict, per_range: float = 0.0, per_event: float = 0.0) -> dict[str, float]:
    """Each layer's median time per call, less the recording cost of its ranges and events."""
    import statistics

    return {
        n: statistics.median(max(0.0, sum(t - per_range - e * per_event for t, e in c)) for c in calls)
        for n, calls in per_call.items()
    }


def _plain_ms(model, args) -> float:
    """The best unprofiled, unhooked call of ``model``, timed by the core harness."""
    import numpy as np
    import torch

    with torch.inference_mode():
        return call_ms(lambda: model(*args), PLAIN_STOP, np.min)


def _recording_trial(calls: int) -> tuple[float, float]:
    import torch

    x = torch.zeros(1)
    costs = []
    for kind in ("identity", "neg"):
        chain = _probe_chain(kind)
        k = len(chain)
        per_call, _ = _profile(chain, (x,), calls)
        events = sum(e for c in per_call.values() for t, e in c[0]) / k
        costs.append((sum(_median_times(per_call).values()) / k, events, _plain_ms(chain, (x,)) / k))
    (r_id, _, u_id), (r_neg, n_neg, u_neg) = costs
    per_range = max(0.0, r_id - u_id)
    per_event = max(0.0, (r_neg - per_range - u_neg) / n_neg) if n_neg else 0.0
    return per_range, per_event


def recording_cost(calls: int = 100, trials: int = RECORDING_TRIALS) -> tuple[float, float]:
    """(ms per instrumented range, ms per recorded operator event) measured on probe chains.

    One calibration now and then comes out two or three times too high (a whole profiler
    session runs slow, idle machine or not), which would zero every small layer; the median
    of several trials does not follow it.
    """
    import statistics

    runs = [_recording_trial(calls) for _ in range(trials)]
    return statistics.median(r for r, _ in runs), statistics.median(e for _, e in runs)


def layer_stats(model, args: tuple, calls: int = PROFILE_CALLS) -> tuple[dict, dict, dict, float]:
    """(time_ms per layer, flops per layer, bytes per layer, recording cost taken off in ms).

    Each layer's time is the median over calls of its profiled ranges, less the calibrated
    recording cost of each range and of the operator events recorded inside it.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .flops import custom_mapping

    per_range, per_event = recording_cost()
    per_call, io_bytes = _profile(model, args, calls)
    times = _median_times(per_call, per_range, per_event)
    removed = sum(_median_times(per_call).values()) - sum(times.values())
    leaves = _leaves(model)
    counter = FlopCounterMode(display=False, custom_mapping=custom_mapping())
    with torch.enable_grad(), counter:
        model(*args)
    per_module = counter.get_flop_counts()
    flops = {
        name: int(sum(per_module.get(f"{type(model).__name__}.{name}", per_module.get(name, {})).values()))
        for name, _ in leaves
    }
    return times, flops, io_bytes, removed


def roofline(times, flops, nbytes, peak_gflops: float, peak_gbs: float, ops: dict) -> list[Layer]:
    """Each layer's bound (max of compute and memory time at the machine's peaks) and verdict."""
    total = sum(times.values()) or 1.0
    out = []
    for name, t in sorted(times.items(), key=lambda kv: -kv[1]):
        f, b = flops.get(name, 0), nbytes.get(name, 0)
        compute_ms = f / (peak_gflops * 1e9) * 1e3
        memory_ms = b / (peak_gbs * 1e9) * 1e3
        bound = max(compute_ms, memory_ms)
        eff = bound / t if t > 0 else 0.0
        verdict = (
            "overhead-bound"
            if eff < OVERHEAD_EFFICIENCY
            else ("compute-bound" if compute_ms >= memory_ms else "memory-bound")
        )
        out.append(
            Layer(
                name,
                ops.get(name, ""),
                t,
                t / total,
                f,
                b,
                f / b if b else 0.0,
                f / (t * 1e-3) / 1e9 if t > 0 else 0.0,
                bound,
                eff,
                verdict,
            )
        )
    return out
