"""The invariants an explanation checks before it is shown; each failure is a warning in it."""

from __future__ import annotations

from .roofline import UNKNOWN

# The layers and the functions outside them may add up to this much over the measured latency
# (both are medians over calls, taken seconds apart) before the parts are said not to fit.
ACCOUNTING_TOLERANCE = 0.05
NAMES_SHOWN = 4


def _names(rows: list[dict]) -> str:
    names = [r["name"] for r in rows[:NAMES_SHOWN]]
    return ", ".join(names) + (f" and {len(rows) - NAMES_SHOWN} more" if len(rows) > NAMES_SHOWN else "")


def warnings(rows: list[dict], latency_ms: float) -> list[str]:
    """What does not hold in ``rows`` (layers and outside functions as shown) against the
    measured ``latency_ms``: efficiencies above their physical bound, bounds that had to be
    dropped, and parts that add up to more than the whole."""
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
    parts = sum(r["time_ms"] for r in rows)
    if latency_ms > 0 and parts > latency_ms * (1 + ACCOUNTING_TOLERANCE):
        out.append(
            f"the layers and the functions outside them add up to {parts:.3f} ms, {100 * (parts / latency_ms - 1):.0f}% "
            f"over the measured {latency_ms:.3f} ms per call: the machine ran slower during the profile than during "
            "the timing (another process?); rerun on a quiet machine"
        )
    return out
