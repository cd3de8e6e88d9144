"""The invariants an explanation declares (parts against the latency, efficiencies under their
bound), as violations its result carries, and the rows whose bound had to be dropped."""

from __future__ import annotations

from ..measure.invariants import MEASURED, Violation, adds_up
from .roofline import UNKNOWN

# The measured parts (layers, functions outside them, time in no operator) may miss the measured
# latency by this share (all medians over calls, taken seconds apart) before they are said not to fit.
ACCOUNTING_TOLERANCE = 0.05
# ...and by this share of the profiler's own cost as well: that cost is measured on the model
# and taken off, but known only to within about half itself (on a 60 µs MLP it is as large as
# the call, and the parts then miss it by 5-30%)
COST_UNCERTAINTY = 0.5
# a profiler costing more than this share of a call leaves each layer's time uncertain
COSTLY_PROFILE = 0.2
NAMES_SHOWN = 4


def _names(rows: list[dict]) -> str:
    names = [r["name"] for r in rows[:NAMES_SHOWN]]
    return ", ".join(names) + (f" and {len(rows) - NAMES_SHOWN} more" if len(rows) > NAMES_SHOWN else "")


def accounting_tolerance(profiler_cost_ms: float, latency_ms: float) -> float:
    """How far the parts may miss the whole: ``ACCOUNTING_TOLERANCE``, widened by the part of
    the profiler's cost that may not have been taken off."""
    share = profiler_cost_ms / latency_ms if latency_ms > 0 and profiler_cost_ms > 0 else 0.0
    return ACCOUNTING_TOLERANCE + COST_UNCERTAINTY * share


def violations(
    rows: list[dict], between_ms: float, latency_ms: float, profiler_cost_ms: float = 0.0
) -> list[Violation]:
    """What does not hold in ``rows`` (layers and outside functions as shown) and the time in
    no operator against the measured ``latency_ms``: efficiencies above their physical bound and
    parts that do not add up to the whole, within ``accounting_tolerance``."""
    out = []
    over = [r for r in rows if r["efficiency"] is not None and r["efficiency"] > 1]
    if over:
        worst = max(r["efficiency"] for r in over)
        out.append(
            Violation(
                "at-most",
                "layers",
                f"{len(over)} rows show an efficiency above 100% of the roofline ({_names(over)}, up to "
                f"{100 * worst:.0f}%): their bound is wrong; do not read these efficiencies",
                MEASURED,
                {"rows": [r["name"] for r in over], "max_efficiency": worst},
            )
        )
    parts = [r["time_ms"] for r in rows] + [between_ms]
    out += adds_up(
        parts,
        latency_ms,
        accounting_tolerance(profiler_cost_ms, latency_ms),
        "",
        "the layers, the functions outside them and the time in no operator",
        "the plain calls timed between the profiled ones",
        "median",
        MEASURED,
        "the profiler's cost was not all taken off, or the machine's speed moved within the profile "
        "(another process?); rerun on a quiet machine",
    )
    return out


def warnings(rows: list[dict], profiler_cost_ms: float = 0.0, latency_ms: float = 0.0) -> list[str]:
    """A profile that cost a large share of each call, and rows whose bound had to be dropped
    (they ran faster than it allows)."""
    out = []
    if latency_ms > 0 and profiler_cost_ms > COSTLY_PROFILE * latency_ms:
        share = profiler_cost_ms / latency_ms
        out.append(
            f"the profiler's own cost was {100 * share:.0f}% of a call; it was measured and taken off, but each "
            f"layer's time is uncertain by up to about {100 * COST_UNCERTAINTY * share:.0f}% of the call: a larger "
            "batch gives a sharper breakdown"
        )
    unknown = [r for r in rows if r["verdict"] == UNKNOWN]
    if unknown:
        out.append(
            f"{len(unknown)} rows ran faster than their roofline bound allows ({_names(unknown)}): their bound is "
            "shown as unknown, as the bytes they move or this machine's peak rates are not known well enough"
        )
    return out
