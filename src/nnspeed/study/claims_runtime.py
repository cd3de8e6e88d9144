"""Claims 5–8: how the model is run — batch, precision, runtime, threads."""

from __future__ import annotations

import numpy as np

from .._optional import available
from ..backends.base import Settings, check_hardware_precision
from ..backends.registry import opened
from ..errors import NnspeedError
from ..measure.environment import physical_cores
from .context import Study
from .verdicts import CLAIMS, INCONCLUSIVE, REFUTED, SUPPORTED, ClaimResult, compare, ev, expect, fmt_ci, ratio_ev

# Throughput within this share of the best is "flat": larger batches stop paying.
FLAT_SHARE = 0.90


def batching_raises_throughput(s: Study) -> ClaimResult:
    src = "zoo:cnn"
    batches = [1, 4, 16, 64]
    ms_ = {b: s.bench(5, f"batch {b}", src, batch=b) for b in batches}
    tput = {b: m.throughput_sps for b, m in ms_.items()}
    best = max(tput.values())
    flat_at = next(b for b in batches if tput[b] >= FLAT_SHARE * best)
    gain = compare(ms_[1], ms_[batches[-1]], per_item=True)
    gains, grows = expect(gain, "faster"), expect(compare(ms_[1], ms_[batches[-1]]), "slower")
    verdict = SUPPORTED if gains == grows == SUPPORTED else (REFUTED if REFUTED in (gains, grows) else INCONCLUSIVE)
    evidence = {f"batch {b}": ev(m) for b, m in ms_.items()}
    evidence.update({"throughput_gain_1_to_64": ratio_ev(gain), "flattens_at_batch": flat_at})
    return ClaimResult(
        5, CLAIMS[5], verdict, evidence,
        "A batch shares the per-call overhead and lets matrix kernels use the cores fully; once the cores "
        f"are busy, throughput stops growing (here within {100 * FLAT_SHARE:.0f}% of its best from batch {flat_at}).",
        " · ".join(f"b{b}: {tput[b]:,.0f}/s @ {ms_[b].latency_ms.p50:.2f} ms" for b in batches)
        + f"; b1→b64 throughput {gain.speedup:.1f}x {fmt_ci(gain.ci95)}",
        {"model": src, "backend": "torch-eager", "batches": batches},
    )  # fmt: skip


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
    baselines, evidence, rows = {}, {}, []
    for label, vw, backend, precision, base_label in variants:
        try:
            check_hardware_precision(precision, "cpu")
        except NnspeedError as e:
            evidence[label] = {"skipped": str(e)}
            continue
        if base_label not in baselines:
            b_backend, b_prec = base_label.split()
            baselines[base_label] = s.bench(6, base_label, w, backend=b_backend, precision=b_prec)
        m = s.bench(6, label, vw, backend=backend, precision=precision)
        c = compare(baselines[base_label], m)
        cos = _cosines(reference, _embeddings(vw, backend, precision, sentences))
        evidence[label] = ev(m) | {"vs": base_label, **ratio_ev(c), "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min())}
        rows.append((label, c, float(cos.min())))
    evidence.update({b: ev(m) for b, m in baselines.items()})
    faithful = [r for r in rows if r[2] >= 0.99]
    if not rows:
        verdict = INCONCLUSIVE
    elif any(expect(c, "faster") == SUPPORTED for _, c, _ in faithful):
        verdict = SUPPORTED
    else:
        verdict = REFUTED if all(expect(c, "faster") == REFUTED for _, c, _ in rows) else INCONCLUSIVE
    return ClaimResult(
        6, CLAIMS[6],
        verdict, evidence,
        "Narrower numbers move fewer bytes and use wider SIMD/matrix instructions (VNNI, AMX) where the CPU "
        "has them; dynamic int8 pays to quantize activations on every call. Output change is the cosine "
        "similarity of sentence embeddings to fp32 on 64 real sentences.",
        "; ".join(f"{label}: {c.speedup:.2f}x {fmt_ci(c.ci95)}, min cosine {cos:.4f}" for label, c, cos in rows),
        {"model": src, "batch": 1, "data": "64 sentences from the licence texts"},
    )  # fmt: skip


def optimized_runtimes_win(s: Study) -> ClaimResult:
    src = "zoo:cnn"
    eager = s.bench(7, "torch-eager", src)
    runtimes = [b for b, mod in (("onnxruntime", "onnxruntime"), ("openvino", "openvino")) if available(mod)]
    runtimes.append("torch-compile")
    evidence, wins, parts = {"torch-eager": ev(eager)}, 0, []
    for b in runtimes:
        m = s.bench(7, b, src, backend=b)
        c = compare(eager, m)
        evidence[b] = ev(m) | ratio_ev(c) | {"first_call_ms": m.first_call_ms}
        wins += expect(c, "faster") == SUPPORTED
        parts.append(f"{b} {c.speedup:.2f}x {fmt_ci(c.ci95)}")
    verdict = SUPPORTED if wins > len(runtimes) / 2 else (REFUTED if wins == 0 else INCONCLUSIVE)
    return ClaimResult(
        7, CLAIMS[7],
        verdict, evidence,
        "Graph runtimes fold batch-norm into convolutions, fuse element-wise ops and skip Python dispatch "
        "per operator; the price is a slower first call (export or compilation), reported as first_call_ms.",
        f"eager {eager.latency_ms.p50:.3f} ms; speedups: " + ", ".join(parts),
        {"model": src, "batch": 1, "precision": "fp32"},
    )  # fmt: skip


def more_threads_are_faster(s: Study) -> ClaimResult:
    src = "zoo:cnn?width=64"
    cores = physical_cores()
    counts = sorted({1, *[2**k for k in range(1, 8) if 2**k < cores], cores})
    ms_ = {t: s.bench(8, f"{t} threads", src, batch=8, threads=t) for t in counts}
    evidence = {f"{t} threads": ev(m) for t, m in ms_.items()}
    if cores < 2:
        return ClaimResult(
        8, CLAIMS[8], INCONCLUSIVE, evidence,
                           "This machine has one physical core: there is nothing to compare.", "1 core")
    speedups = {t: compare(ms_[1], m) for t, m in ms_.items() if t > 1}
    stops = next((t for prev, t in zip(counts, counts[1:]) if ms_[prev].latency_ms.p50 / ms_[t].latency_ms.p50 < 1.1), None)
    top = speedups[cores]
    evidence.update({f"speedup_{t}": ratio_ev(c) | {"efficiency": c.speedup / t} for t, c in speedups.items()})
    evidence["stops_paying_at"] = stops
    verdict = expect(top, "faster")
    return ClaimResult(
        8, CLAIMS[8],
        verdict, evidence,
        "Convolutions split across cores, but each extra thread adds synchronisation and shares memory "
        f"bandwidth: {cores} threads give {top.speedup:.2f}x ({100 * top.speedup / cores:.0f}% parallel efficiency)"
        + (f"; past {stops} threads the gain is under 10%." if stops else "."),
        " · ".join(f"{t}t: {m.latency_ms.p50:.2f} ms" for t, m in ms_.items()) + f"; {cores}t vs 1t {top.speedup:.2f}x {fmt_ci(top.ci95)}",
        {"model": src, "batch": 8, "physical_cores": cores},
    )  # fmt: skip
