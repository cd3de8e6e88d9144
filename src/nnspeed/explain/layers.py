"""Per-layer time, FLOPs and bytes of a torch model, and where each sits on the roofline.

Times come from torch.profiler: every leaf module is wrapped in a ``record_function`` label
by forward hooks, so the profiler's own clock attributes operator time to layers.  FLOPs come
from torch.utils.flop_counter; bytes are the layer's weights plus its input and output
activations (what must cross the memory bus at least once).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .._silence import quiet

# A layer whose roofline bound is under this share of its measured time is limited by
# per-call overhead (dispatch, launches, Python), not by compute or memory.
OVERHEAD_EFFICIENCY = 0.10
PROFILE_CALLS = 20


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


def layer_stats(model, args: tuple, calls: int = PROFILE_CALLS) -> tuple[dict, dict, dict]:
    """(time_ms per layer, flops per layer, bytes per layer)."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function
    from torch.utils.flop_counter import FlopCounterMode

    from .flops import _custom_mapping

    leaves = _leaves(model)
    io_bytes: dict[str, int] = {}
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
    times = {
        evt.key.split("::", 1)[1]: evt.cpu_time_total / calls / 1e3
        for evt in prof.key_averages()
        if evt.key.startswith("nnspeed.layer::")
    }
    counter = FlopCounterMode(display=False, custom_mapping=_custom_mapping())
    with torch.enable_grad(), counter:
        model(*args)
    per_module = counter.get_flop_counts()
    flops = {name: int(sum(per_module.get(f"{type(model).__name__}.{name}", per_module.get(name, {})).values()))
             for name, _ in leaves}  # fmt: skip
    return times, flops, io_bytes


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
        verdict = "overhead-bound" if eff < OVERHEAD_EFFICIENCY else ("compute-bound" if compute_ms >= memory_ms else "memory-bound")
        out.append(Layer(name, ops.get(name, ""), t, t / total, f, b, f / b if b else 0.0,
                         f / (t * 1e-3) / 1e9 if t > 0 else 0.0, bound, eff, verdict))  # fmt: skip
    return out
