"""Whole-model figures and advice ranked by estimated gain, each backed by the numbers."""

from __future__ import annotations

import itertools

from .roofline import Layer

# Overhead above this share of the latency is worth a runtime change.
OVERHEAD_SHARE = 0.30
MEMORY_SHARE = 0.30
# Functions outside every layer above this share of the latency are worth a look.
OUTSIDE_SHARE = 0.10
# What a kind of function outside the layers costs, and what removes it (by operator name).
OUTSIDE_HINTS = (
    (
        ("cat", "stack"),
        "concatenation copies every input into a new tensor each call (a UNet's skip connections): a graph "
        "runtime (ONNX Runtime, OpenVINO) or torch.compile writes the producers into the joined buffer",
    ),
    (
        ("add", "add_", "mul", "mul_", "sub", "div", "relu", "relu_", "sigmoid", "gelu"),
        "element-wise functions in forward() each read and write whole tensors: torch.compile or a graph "
        "runtime fuses them into the neighbouring layer",
    ),
    (
        ("reshape", "permute", "transpose", "contiguous", "flatten", "clone"),
        "a reshape or permute of a non-contiguous tensor copies it: keep the layout the next layer wants",
    ),
)


def _outside(outside: list[Layer], latency_ms: float) -> list[dict]:
    """Advice where the functions run outside every layer take a large share of the time."""
    total = sum(f.time_ms for f in outside)
    if latency_ms <= 0 or total / latency_ms <= OUTSIDE_SHARE:
        return []
    named = ", ".join(f"{f.name} {f.time_ms:.3f} ms" for f in outside[:3])
    names = {f.name.split("::")[-1] for f in outside[:3]}
    hints = [text for ops, text in OUTSIDE_HINTS if names & set(ops)]
    hint = "; ".join(hints) or "move them into modules a graph runtime or torch.compile can fuse"
    return [
        {
            "text": f"{100 * total / latency_ms:.0f}% of the time is in functions outside any layer ({named}): {hint}",
            # at best they run at their roofline bound (an unknown bound: nothing promised)
            "estimated_gain": sum(f.time_ms - (f.bound_ms if f.bound_ms is not None else f.time_ms) for f in outside),
        }
    ]


def _unfused_conv_bn(order: list[tuple[str, str]]) -> list[str]:
    """BatchNorm layers that directly follow a convolution (foldable into it)."""
    return [
        name
        for (_, op1), (name, op2) in itertools.pairwise(order)
        if op1.startswith("Conv") and op2.startswith("BatchNorm")
    ]


def advise(
    layers: list[Layer],
    outside: list[Layer],
    latency_ms: float,
    overhead_ms: float,
    order: list[tuple[str, str]],
    batch: int,
    peaks: dict,
) -> list[dict]:
    out = _outside(outside, latency_ms)
    by_name = {layer.name: layer for layer in layers}
    slack = overhead_ms + sum(
        layer.time_ms - (layer.bound_ms or 0.0) for layer in layers if layer.verdict == "overhead-bound"
    )
    slack = min(slack, latency_ms)  # parts that do not fit the whole are warned of, not advised on
    if latency_ms > 0 and slack / latency_ms > OVERHEAD_SHARE:
        out.append(
            {
                "text": f"{100 * slack / latency_ms:.0f}% of the time is framework overhead (outside operators, or in layers "
                f"far below their roofline): a graph runtime (ONNX Runtime, OpenVINO) removes per-operator "
                f"dispatch; torch.compile fuses operators but adds its own per-call guard cost",
                "estimated_gain": slack,
            }
        )
    bns = [n for n in _unfused_conv_bn(order) if n in by_name]
    if bns:
        gain = sum(by_name[n].time_ms for n in bns)
        out.append(
            {
                "text": f"{len(bns)} conv+bn pairs are unfused ({gain:.3f} ms in batch-norm): fold them "
                "(ONNX Runtime and OpenVINO do; in torch, torch.fx fuse)",
                "estimated_gain": gain,
            }
        )
    mem = sum(layer.time_ms for layer in layers if layer.verdict == "memory-bound")
    if batch == 1 and latency_ms > 0 and mem / latency_ms > MEMORY_SHARE:
        out.append(
            {
                "text": f"memory-bound at batch 1 ({100 * mem / latency_ms:.0f}% of the time): batching or int8 "
                "weights will help more than more threads",
                "estimated_gain": mem / 2,
            }
        )
    comp = sum(layer.time_ms for layer in layers if layer.verdict == "compute-bound")
    fp32, low = peaks.get("fp32"), max(peaks.get("bf16") or 0, peaks.get("int8") or 0)
    if comp > 0 and fp32 and low > 1.5 * fp32:
        out.append(
            {
                "text": f"compute-bound layers take {comp:.3f} ms at fp32; this CPU's measured bf16/int8 peak is "
                f"{low / fp32:.1f}x its fp32 peak: lower precision raises the ceiling",
                "estimated_gain": comp * (1 - fp32 / low),
            }
        )
    return sorted(out, key=lambda a: -a["estimated_gain"])
