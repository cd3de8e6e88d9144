"""The invariants each command's result declares, beyond the patterns every document shares
(``measure.invariants.scan``).  Each rule reads a document as ``--json`` prints it."""

from __future__ import annotations

from collections.abc import Mapping

from ..measure.invariants import EXACT, MEASURED, Violation, adds_up, at_most, close, number, throughput

# Priced parts and their prediction are one sum: only rounding may separate them.
PRICED_TOLERANCE = 1e-6


def train_breakdown(doc: Mapping) -> list[Violation]:
    """The phases shown add up to the step shown (one statistic for both), for the headline and
    every variant; ``sum_over_step`` is that ratio; samples/s is batch / step."""
    from ..training.step import ADDS_UP

    out: list[Violation] = []
    # the headline repeats the first variant: checked once, as that variant
    variants = [(f"variants[{i}]", v) for i, v in enumerate(doc.get("variants") or [])]
    ddp = doc.get("ddp") or {}
    parallel = [(w, r) for w, r in (("ddp", ddp), ("ddp.split", ddp.get("split") or {})) if r.get("breakdown_ms")]
    for where, row in (variants or [("", doc)]) + parallel:
        parts, step = row.get("breakdown_ms"), row.get("step_ms")
        if isinstance(parts, Mapping) and number(step):
            cause = row.get("mismatch_cause") or "the phases were timed in other steps than the step shown"
            what = f"{row['name']}: the training phases" if row.get("name") else "the training phases"
            out += adds_up(
                parts,
                step,
                ADDS_UP,
                where,
                what,
                "the step",
                row.get("statistic") or doc.get("statistic"),
                MEASURED,
                cause,
            )
            ratio = row.get("sum_over_step")
            total = sum(v for v in parts.values() if number(v))
            if number(ratio) and step > 0 and not close(ratio, total / step, 1e-6):
                out.append(
                    Violation(
                        "adds-up",
                        where,
                        f"sum_over_step says {ratio:.4g}, but the phases shown sum to {total:.4g} of a {step:.4g} "
                        f"ms step ({total / step:.4g})",
                        EXACT,
                        {"sum_over_step": ratio, "shown": total / step},
                    )
                )
        if "batch" in row and "samples_per_s" in row:
            out += throughput(row["samples_per_s"], row["batch"], step, where)
    return out


def explain_accounting(doc: Mapping) -> list[Violation]:
    """Layers, functions outside them and time in no operator add up to the latency; no row's
    efficiency is above its roofline (``explanation.checks``)."""
    from ..explanation.checks import violations

    if "layers" not in doc:
        return []
    if "overhead_ms" not in doc:  # a Keras model: the per-layer bound against the whole call
        return at_most(
            doc.get("efficiency"), 1.0, "", "the roofline efficiency", "100%", MEASURED, "the bound is wrong"
        )
    rows = list(doc["layers"]) + list(doc.get("outside", []))
    whole = doc.get("between_profiles_ms") or doc["latency_ms"]
    return violations(rows, doc["overhead_ms"], whole, doc.get("profiler_cost_ms") or 0.0)


def predicted_parts(doc: Mapping) -> list[Violation]:
    """The operators priced plus the per-call cost are the prediction."""
    if not number(doc.get("predicted_ms")) or not isinstance(doc.get("by_op"), Mapping):
        return []
    parts = [row["ms"] for row in doc["by_op"].values()] + [doc.get("per_call_ms", 0.0)]
    return adds_up(
        parts,
        doc["predicted_ms"],
        PRICED_TOLERANCE,
        "",
        "the operators priced and the per-call cost",
        "the prediction",
        kind=EXACT,
    )


def machine_peak(doc: Mapping) -> list[Violation]:
    """The fastest GEMM measured is not above the theoretical peak (cores × clock × FLOPs per
    cycle): above it, the clock or the FLOPs per cycle assumed are wrong."""
    theo = (doc.get("theoretical") or {}).get("fp32") or {}
    return at_most(
        theo.get("measured_over_theoretical"),
        1.0,
        "theoretical.fp32",
        "the fastest fp32 GEMM measured, as a share of the theoretical peak,",
        "100%",
        MEASURED,
        "the peak assumed (clock, FLOPs per cycle) is too low for this machine",
    )
