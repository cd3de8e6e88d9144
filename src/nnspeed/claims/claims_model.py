"""Claims 1–4: how the model's shape decides its speed."""

from __future__ import annotations

from .context import Study
from .verdicts import (
    CLAIMS,
    ClaimResult,
    ev,
    expect,
    fmt_ci,
    judge_activation,
    judge_all_agree,
    ms,
    ratio_ev,
    slowdown,
)


def _shape_pair(s: Study, cid: int, claim: str, small: tuple[str, str], big: tuple[str, str], why: str) -> ClaimResult:
    (la, sa), (lb, sb) = small, big
    sbs = s.side_by_side(cid, [(la, sa, {}), (lb, sb, {})])
    a, b = sbs.measurements
    c = sbs.comparisons[0]
    slow, ci = slowdown(c)
    flops = s.flops(sb) / s.flops(sa)
    verdict = expect(c, "slower")
    return ClaimResult(
        cid,
        claim,
        verdict,
        {la: ev(a), lb: ev(b), "slowdown": slow, "slowdown_ci95": ci, "flops_ratio": flops},
        why.format(slow=slow, flops=flops),
        f"{la}: {ms(a)} → {lb}: {ms(b)}; {slow:.2f}x slower {fmt_ci(ci)}, {flops:.1f}x the FLOPs",
        {"backend": "torch-eager", "precision": "fp32", "batch": 1},
    )


def deeper_is_slower(s: Study) -> ClaimResult:
    return _shape_pair(
        s,
        1,
        CLAIMS[1],
        ("depth 2", "zoo:mlp?depth=2"),
        ("depth 8", "zoo:mlp?depth=8"),
        "Each layer is one more matrix product and one more operator call; at batch 1 the fixed cost per "
        "call dominates, so {flops:.1f}x the FLOPs cost {slow:.2f}x the time.",
    )


def wider_is_slower(s: Study) -> ClaimResult:
    return _shape_pair(
        s,
        2,
        CLAIMS[2],
        ("width 128", "zoo:mlp?width=128"),
        ("width 1024", "zoo:mlp?width=1024"),
        "Hidden-to-hidden work grows with the square of the width ({flops:.1f}x the FLOPs) but small "
        "layers leave the cores idle on call overhead, so the time grows less: {slow:.2f}x.",
    )


ACTS = ("relu", "gelu", "sigmoid", "tanh")


def activation_matters_less(s: Study) -> ClaimResult:
    sbs = s.side_by_side(3, [(a, f"zoo:mlp?act={a}&width=512", {}) for a in ACTS])
    ms_ = dict(zip(ACTS, sbs.measurements))
    vs_relu = dict(zip(ACTS[1:], sbs.comparisons))
    p50 = {a: m.latency_ms.p50 for a, m in ms_.items()}
    fastest, slowest = ACTS.index(min(p50, key=p50.get)), ACTS.index(max(p50, key=p50.get))
    # The slowest activation over the fastest, from the same rounds: the activation's effect.
    r = sbs.ratio(fastest, slowest)
    spread, spread_ci = r.ratio, list(r.ci95)
    effects = {
        k: (res.evidence["slowdown"], res.evidence["slowdown_ci95"])
        for k, res in (("depth", s.results.get(1)), ("width", s.results.get(2)))
        if res is not None and "slowdown" in res.evidence
    }
    verdict = judge_activation(spread, spread_ci, effects)
    evidence = {a: ev(m) for a, m in ms_.items()}
    evidence.update({f"{a}_vs_relu": ratio_ev(c) for a, c in vs_relu.items()})
    evidence.update(
        {
            "activation_spread": spread,
            "activation_spread_ci95": spread_ci,
            "depth_effect": effects.get("depth"),
            "width_effect": effects.get("width"),
        }
    )
    slowest = ACTS[slowest]
    return ClaimResult(
        3,
        CLAIMS[3],
        verdict,
        evidence,
        "Activations are element-wise (work grows with the width) while layers are matrix products "
        "(work grows with its square): swapping the activation moves latency less than adding layers or width.",
        f"fastest/slowest activation {spread:.2f}x {fmt_ci(spread_ci)} ({slowest} slowest) vs "
        + (
            " and ".join(f"{k} {v:.2f}x {fmt_ci(ci)}" for k, (v, ci) in effects.items())
            or "no depth/width effect measured (claims 1, 2)"
        ),
        {"model": "zoo:mlp depth=4 width=512", "batch": 1},
    )


def recurrent_is_slower(s: Study) -> ClaimResult:
    attn_src = "zoo:transformer?dim=128&layers=1&seq=32"
    cells = ("lstm", "gru")
    srcs = {cell: f"zoo:{cell}?hidden=128&in=128&seq=32" for cell in cells}
    sbs = s.side_by_side(4, [("attention (1 encoder block)", attn_src, {})] + [(c.upper(), srcs[c], {}) for c in cells])
    attn = sbs.measurements[0]
    evidence = {"attention": ev(attn) | {"params": s.load(attn_src).params(), "flops": s.flops(attn_src)}}
    verdicts, parts = [], []
    for cell, m, c in zip(cells, sbs.measurements[1:], sbs.comparisons):
        src = srcs[cell]
        slow, ci = slowdown(c)
        verdicts.append(expect(c, "slower"))
        evidence[cell] = ev(m) | {"params": s.load(src).params(), "flops": s.flops(src)}
        evidence[f"{cell}_slowdown_vs_attention"] = {"ratio": slow, "ci95": ci}
        parts.append(f"{cell.upper()} {ms(m)} ({slow:.2f}x attention)")
    verdict = judge_all_agree(verdicts)
    lstm_f, attn_f = evidence["lstm"]["flops"], evidence["attention"]["flops"]
    return ClaimResult(
        4,
        CLAIMS[4],
        verdict,
        evidence,
        "An RNN runs its 32 steps one after another, each a small matrix product; attention processes all "
        f"32 tokens in a few large products. Here the LSTM does {lstm_f / attn_f:.2f}x the encoder block's FLOPs; "
        "a fused recurrent kernel (oneDNN) can hide much of the sequential cost at batch 1.",
        f"attention {ms(attn)}; " + "; ".join(parts),
        {"seq": 32, "hidden/dim": 128, "batch": 1},
    )
