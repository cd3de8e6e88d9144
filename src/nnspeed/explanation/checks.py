"""The invariants an explanation checks before it is shown; each failure is a warning in it."""

from __future__ import annotations

from .roofline import UNKNOWN

# The measured parts (layers, functions outside them, time in no operator) may miss the measured
# latency by this share (all medians over calls, taken seconds apart) before they are said not to fit.
ACCOUNTING_TOLERANCE = 0.05
NAMES_SHOWN = 4


def _names(rows: list[dict]) -> str:
    names = [r["name"] for r in rows[:NAMES_SHOWN]]
    return ", ".join(names) + (f" and {len(rows) - NAMES_SHOWN} more" if len(rows) > NAMES_SHOWN else "")


def warnings(rows: list[dict], between_ms: float, latency_ms: float) -> list[str]:
    """What does not hold in ``rows`` (layers and outside functions as shown) and the time in
    no operator against the measured ``latency_ms``: efficiencies above their physical bound,
    bounds that had to be dropped, and parts that do not add up to the whole."""
    out = []
    over = [r for r in rows if r["efficiency"] is not None and r["efficiency"] > 1]
    if over:
        out.append(
            f"{len(over)} rows show an efficiency above 100% of the roofline ({_names(over)}): "
            "their bound is wrong; do not read these efficiencies"
        )
    unknown = [r for r in rows if r["verdict"] == UNKNOWN]
    if unknown:
        out.append(
            f"{len(unknown)} rows ran faster than their roofline bound allows ({_names(unknown)}): their bound is "
            "shown as unknown, as the bytes they move or this machine's peak rates are not known well enough"
        )
    parts = sum(r["time_ms"] for r in rows) + between_ms
    if latency_ms > 0 and abs(parts / latency_ms - 1) > ACCOUNTING_TOLERANCE:
        out.append(
            f"the layers, the functions outside them and the time in no operator add up to {parts:.3f} ms, "
            f"{100 * abs(parts / latency_ms - 1):.0f}% {'over' if parts > latency_ms else 'under'} the measured "
            f"{latency_ms:.3f} ms per call: the profile and the timing did not see the same machine (another "
            "process?) or the profiler's cost was not all taken off; rerun on a quiet machine"
        )
    return out
