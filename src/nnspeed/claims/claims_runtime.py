"""Claims 5–8: how the model is run — batch, precision, runtime, threads."""

from __future__ import annotations

import itertools

import numpy as np

from .._optional import available
from ..backends.base import Settings, check_hardware_precision
from ..backends.registry import opened
from ..errors import NnspeedError
from ..measure.environment import physical_cores
from .context import Study
from .verdicts import (
    CLAIMS,
    INCONCLUSIVE,
    ClaimResult,
    ev,
    expect,
    fmt_ci,
    judge_batching,
    judge_precision,
    judge_runtimes,
    ratio_ev,
)

# Throughput within this share of the best is "flat": larger batches stop paying.
FLAT_SHARE = 0.90


def batching_raises_throughput(s: Study) -> ClaimResult:
    src = "zoo:cnn"
    batches = [1, 4, 16, 64]
    sbs = s.side_by_side(5, [(f"batch {b}", src, {"batch": b}) for b in batches])
    ms_ = dict(zip(batches, sbs.measurements))
    tput = {b: m.throughput_sps for b, m in ms_.items()}
    best = max(tput.values())
    flat_at = next(b for b in batches if tput[b] >= FLAT_SHARE * best)
    last = len(batches) - 1
    gain = sbs.compare(0, last, per_item=True)
    verdict = judge_batching(gain, sbs.compare(0, last))
    evidence = {f"batch {b}": ev(m) for b, m in ms_.items()}
    evidence.update({"throughput_gain_1_to_64": ratio_ev(gain), "flattens_at_batch": flat_at})
    return ClaimResult(
        5,
        CLAIMS[5],
        verdict,
        evidence,
        "A batch shares the per-call overhead and lets matrix kernels use the cores fully; once the cores "
        f"are busy, throughput stops growing (here within {100 * FLAT_SHARE:.0f}% of its best from batch {flat_at}).",
        " · ".join(f"b{b}: {tput[b]:,.0f}/s @ {ms_[b].latency_ms.p50:.2f} ms" for b in batches)
        + f"; b1→b64 throughput {gain.speedup:.1f}x {fmt_ci(gain.ci95)}",
        {"model": src, "backend": "torch-eager", "batches": batches},
    )


def _embeddings(workload, backend: str, precision: str, batches: list[dict]) -> np.ndarray:
    with opened(workload, Settings(backend, precision, batches[0]["input_ids"].shape[0])) as runner:
        return np.concatenate([runner.outputs(runner.run(runner.prepare(b)))[0] for b in batches])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def lower_precision_is_faster(s: Study) -> ClaimResult:
    from ..transforms.quantize import dynamic_int8_onnx, dynamic_int8_torch

    src = "zoo:minilm?seq=128"
    w = s.load(src)
    sentences = [w.make_inputs(16, k) for k in range(4)]  # 64 real sentences
    reference = _embeddings(w, "torch-eager", "fp32", sentences)
    variants = [("torch-eager bf16 autocast", w, "torch-eager", "bf16", "torch-eager fp32")]
    variants.append(("torch-eager int8 dynamic", dynamic_int8_torch(w), "torch-eager", "fp32", "torch-eager fp32"))
    if available("onnxruntime"):
        variants.append(("onnxruntime int8 dynamic", dynamic_int8_onnx(w), "onnxruntime", "fp32", "onnxruntime fp32"))
    if available("openvino"):
        variants.append(("openvino bf16", w, "openvino", "bf16", "openvino fp32"))
    evidence, rows, kept = {}, [], []
    for variant in variants:
        try:
            check_hardware_precision(variant[3], "cpu")
        except NnspeedError as e:
            evidence[variant[0]] = {"skipped": str(e)}
            continue
        kept.append(variant)
    # Every variant and every baseline it is compared with, in the same interleaved rounds.
    arms = list(dict.fromkeys(base for *_, base in kept))
    index = {label: i for i, label in enumerate(arms)}
    specs = [(label, w, dict(zip(("backend", "precision"), label.split()))) for label in arms]
    for label, vw, backend, precision, _ in kept:
        index[label] = len(specs)
        specs.append((label, vw, {"backend": backend, "precision": precision}))
    sbs = s.side_by_side(6, specs) if kept else None
    for label, vw, backend, precision, base_label in kept:
        m = sbs.measurements[index[label]]
        c = sbs.compare(index[base_label], index[label])
        cos = _cosines(reference, _embeddings(vw, backend, precision, sentences))
        evidence[label] = ev(m) | {
            "vs": base_label,
            **ratio_ev(c),
            "cosine_mean": float(cos.mean()),
            "cosine_min": float(cos.min()),
        }
        rows.append((label, c, float(cos.min())))
    evidence.update({b: ev(sbs.measurements[index[b]]) for b in arms})
    verdict = judge_precision(rows)
    return ClaimResult(
        6,
        CLAIMS[6],
        verdict,
        evidence,
        "Narrower numbers move fewer bytes and use wider SIMD/matrix instructions (VNNI, AMX) where the CPU "
        "has them; dynamic int8 pays to quantize activations on every call. Output change is the cosine "
        "similarity of sentence embeddings to fp32 on 64 real sentences.",
        "; ".join(f"{label}: {c.speedup:.2f}x {fmt_ci(c.ci95)}, min cosine {cos:.4f}" for label, c, cos in rows),
        {"model": src, "batch": 1, "data": "64 sentences from the licence texts"},
    )


def optimized_runtimes_win(s: Study) -> ClaimResult:
    src = "zoo:cnn"
    runtimes = [b for b, mod in (("onnxruntime", "onnxruntime"), ("openvino", "openvino")) if available(mod)]
    runtimes.append("torch-compile")
    sbs = s.side_by_side(7, [("torch-eager", src, {})] + [(b, src, {"backend": b}) for b in runtimes])
    eager = sbs.measurements[0]
    evidence, parts = {"torch-eager": ev(eager)}, []
    for b, m, c in zip(runtimes, sbs.measurements[1:], sbs.comparisons):
        evidence[b] = ev(m) | ratio_ev(c) | {"first_call_ms": m.first_call_ms}
        parts.append(f"{b} {c.speedup:.2f}x {fmt_ci(c.ci95)}")
    verdict = judge_runtimes(sbs.comparisons)
    return ClaimResult(
        7,
        CLAIMS[7],
        verdict,
        evidence,
        "Graph runtimes fold batch-norm into convolutions, fuse element-wise ops and skip Python dispatch "
        "per operator; the price is a slower first call (export or compilation), reported as first_call_ms.",
        f"eager {eager.latency_ms.p50:.3f} ms; speedups: " + ", ".join(parts),
        {"model": src, "batch": 1, "precision": "fp32"},
    )


def more_threads_are_faster(s: Study) -> ClaimResult:
    src = "zoo:cnn?width=64"
    cores = physical_cores()
    counts = sorted({1, *[2**k for k in range(1, 8) if 2**k < cores], cores})
    if cores < 2:
        m = s.bench(8, "1 threads", src, batch=8, threads=1)
        return ClaimResult(
            8,
            CLAIMS[8],
            INCONCLUSIVE,
            {"1 threads": ev(m)},
            "This machine has one physical core: there is nothing to compare.",
            "1 core",
        )
    sbs = s.side_by_side(8, [(f"{t} threads", src, {"batch": 8, "threads": t}) for t in counts])
    ms_ = dict(zip(counts, sbs.measurements))
    evidence = {f"{t} threads": ev(m) for t, m in ms_.items()}
    speedups = dict(zip(counts[1:], sbs.comparisons))
    stops = next(
        (t for prev, t in itertools.pairwise(counts) if ms_[prev].latency_ms.p50 / ms_[t].latency_ms.p50 < 1.1), None
    )
    top = speedups[cores]
    evidence.update({f"speedup_{t}": ratio_ev(c) | {"efficiency": c.speedup / t} for t, c in speedups.items()})
    evidence["stops_paying_at"] = stops
    verdict = expect(top, "faster")
    return ClaimResult(
        8,
        CLAIMS[8],
        verdict,
        evidence,
        "Convolutions split across cores, but each extra thread adds synchronisation and shares memory "
        f"bandwidth: {cores} threads give {top.speedup:.2f}x ({100 * top.speedup / cores:.0f}% parallel efficiency)"
        + (f"; past {stops} threads the gain is under 10%." if stops else "."),
        " · ".join(f"{t}t: {m.latency_ms.p50:.2f} ms" for t, m in ms_.items())
        + f"; {cores}t vs 1t {top.speedup:.2f}x {fmt_ci(top.ci95)}",
        {"model": src, "batch": 8, "physical_cores": cores},
    )
