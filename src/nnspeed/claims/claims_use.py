"""Claims 9–12: training cost, compression, real-time video and text generation."""

from __future__ import annotations

import numpy as np

from .._optional import available
from ..measure.stoprule import StopRule
from .context import Study
from .verdicts import (
    CLAIMS,
    ClaimResult,
    ev,
    fmt_ci,
    judge_compression,
    judge_range,
    judge_realtime,
    judge_training,
    meets_budget,
    rate_ci,
    ratio_ev,
)


def training_costs_more(s: Study) -> ClaimResult:
    src, batch = "zoo:cnn", 32
    sbs = s.side_by_side(
        9, [("training step", src, {"backend": "torch-train", "batch": batch}), ("inference", src, {"batch": batch})]
    )
    train, infer = sbs.measurements
    c = sbs.comparisons[0]  # how many inference calls fit in one training step
    verdict = judge_training(c.ci95)
    return ClaimResult(
        9,
        CLAIMS[9],
        verdict,
        {
            "inference": ev(infer),
            "training_step": ev(train),
            "ratio": c.speedup,
            "ratio_ci95": list(c.ci95),
            "method": c.method,
            "rounds": c.rounds,
        },
        "A step runs the forward pass with autograd bookkeeping, a backward pass of about twice its work, "
        f"and an optimizer update; here that is {c.speedup:.1f}x an inference call.",
        f"train step {train.latency_ms.p50:.2f} ms vs inference {infer.latency_ms.p50:.2f} ms at batch {batch}: "
        f"{c.speedup:.2f}x {fmt_ci(c.ci95)}",
        {"model": src, "batch": batch, "optimizer": "SGD"},
    )


def _agreement(w_ref, w_var, batches) -> float:
    """Share of inputs whose top class is unchanged by the transform."""
    import torch

    with torch.inference_mode():
        same = [
            (w_ref.model(*args).argmax(-1) == w_var.model(*args).argmax(-1)).float().mean().item() for args in batches
        ]
    return float(np.mean(same))


def pruning_and_quantization(s: Study) -> ClaimResult:
    from ..transforms.prune import magnitude_prune, structured_prune
    from ..transforms.quantize import dynamic_int8_torch

    src = "zoo:mlp?width=1024"
    w = s.load(src)
    checks = [w.torch_args(64, k) for k in range(4)]
    variants = [("pruned 50% unstructured", magnitude_prune(w)), ("int8 dynamic", dynamic_int8_torch(w))]
    variants.append(("pruned 50% unstructured + int8", dynamic_int8_torch(variants[0][1])))
    if available("torch_pruning"):
        variants.append(("pruned 50% structured + int8", dynamic_int8_torch(structured_prune(w))))
    sbs = s.side_by_side(10, [("fp32 dense", w, {})] + [(label, vw, {}) for label, vw in variants])
    evidence, combined = {"fp32 dense": ev(sbs.measurements[0])}, []
    for (label, vw), m, c in zip(variants, sbs.measurements[1:], sbs.comparisons):
        evidence[label] = ev(m) | ratio_ev(c) | {"top1_agreement": _agreement(w, vw, checks)}
        if "+" in label:
            combined.append((label, c))
    label, best = max(combined, key=lambda x: x[1].speedup)
    verdict = judge_compression(best)
    un = evidence["pruned 50% unstructured"]["speedup"]
    return ClaimResult(
        10,
        CLAIMS[10],
        verdict,
        evidence,
        f"Zeroed weights in dense layers do the same work (unstructured pruning alone: {un:.2f}x); only "
        "structured pruning shrinks the matrices, and dynamic int8 trades cheaper matrix products for "
        "quantizing activations on every call. Top-1 agreement is measured on 256 random inputs.",
        f"best combination ({label}): {best.speedup:.2f}x {fmt_ci(best.ci95)}; "
        + ", ".join(f"{k} {v['speedup']:.2f}x" for k, v in evidence.items() if "speedup" in v),
        {"model": src, "batch": 1, "backend": "torch-eager"},
    )


FRAME_MS = 1000 / 30
VISION = ("zoo:cnn", "zoo:mobilenet_v2", "zoo:resnet18", "zoo:resnet50")


def realtime_video(s: Study) -> ClaimResult:
    backends = ["torch-eager"] + (["openvino"] if available("openvino") else [])
    evidence, meets, parts = {}, [], []
    for src in VISION:
        runs = {b: s.bench(11, f"{src} {b}", src, backend=b, budget_ms=FRAME_MS) for b in backends}
        best_b = min(runs, key=lambda b: runs[b].latency_ms.p99)
        m = runs[best_b]
        budget = m.budget
        ok = meets_budget(m)
        meets.append(ok)
        evidence[src] = {b: ev(r) | {"budget": r.budget.to_dict()} for b, r in runs.items()} | {
            "best": best_b,
            "meets": ok,
        }
        parts.append(
            f"{src[4:]} {'meets' if ok else 'misses'} ({best_b}: p99 {m.latency_ms.p99:.1f} ms, headroom {100 * budget.headroom:+.0f}%)"
        )
    verdict = judge_realtime(meets)
    return ClaimResult(
        11,
        CLAIMS[11],
        verdict,
        evidence,
        "A frame must be done before the next arrives: the p99 latency (≤1% late frames) must fit in 33.3 ms. "
        "Whether it does depends on the model's FLOPs and on the runtime; the best runtime per model counts.",
        "; ".join(parts),
        {"budget_ms": FRAME_MS, "batch": 1, "backends": backends},
    )


WORDS_LOW, WORDS_HIGH = 50.0, 100.0


def llm_words_per_second(s: Study) -> ClaimResult:
    from ..scenarios.generate import generate

    new = 16 if s.quick else 32
    stop = StopRule(min_time=1.0, max_time=4.0 if s.quick else 15.0, min_iters=3, ci_rel=0.02)
    m = s.keep(12, "gpt2 generate", generate(s.load("zoo:gpt2"), 16, new, 1, None, stop))
    # Every generation step is a sample: tokens/s is 1000 / the mean step, its CI a bootstrap
    # over all the steps of all the requests (a few requests alone give no interval).
    tps, tps_ci = rate_ci(m.extra["step_ms"])
    from ..workloads.text import tokens_per_word

    tpw, how = tokens_per_word()
    wps, wps_ci = tps / tpw, [x / tpw for x in tps_ci]
    verdict = judge_range(wps_ci, WORDS_LOW, WORDS_HIGH)
    return ClaimResult(
        12,
        CLAIMS[12],
        verdict,
        ev(m)
        | {
            "tokens_per_s": tps,
            "tokens_per_s_ci95": tps_ci,
            "steps": len(m.extra["step_ms"]),
            "tokens_per_word": tpw,
            "tokens_per_word_method": how,
            "words_per_s": wps,
            "words_per_s_ci95": wps_ci,
            "new_tokens": new,
            "prompt_tokens": 16,
        },
        "Each new token is one forward pass over the cached keys and values of 124M parameters: decoding "
        "reads every weight once per token, so it is bound by memory bandwidth and per-call overhead.",
        f"{tps:.1f} tokens/s {fmt_ci(tps_ci)} = {wps:.1f} words/s at {tpw:.2f} tokens per word",
        {"model": "zoo:gpt2 (124M, random weights)", "greedy": True, "kv_cache": True, "batch": 1},
    )
