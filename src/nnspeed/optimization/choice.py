"""Which accepted variant wins: the fastest, unless the measurements cannot tell it from a
simpler one, and then the simpler one.

"Faster" means the interval of one speedup over the other lies above 1: measured in the same
interleaved rounds where both were (a paired ratio that sees drift), otherwise the two
speedups' intervals against the baseline must not overlap.  A quantized variant that cannot
be told from its fp32 runtime buys risk for nothing.
"""

from __future__ import annotations

from collections.abc import Callable

# What a variant's numbers are, from exact to approximate.
APPROXIMATION = {"fp32": 0, "tf32": 0, "bf16": 1, "fp16": 1, "fp16 weights": 1, "int8 weights": 1}
LOSSY_STEPS = ("prune", "exit")


def simplicity(o) -> tuple[int, int]:
    """(how approximate its numbers are, how many steps make it): smaller is simpler."""
    level = APPROXIMATION.get(o.precision, 2)
    if any(word in step for step in o.transforms for word in LOSSY_STEPS):
        level = 2
    return level, len(o.transforms)


def interval_faster(a, b) -> bool:
    """``a`` is faster than ``b`` when their speedup intervals against the baseline part."""
    return a.speedup_ci95[0] > b.speedup_ci95[1]


def choose(ok: list, faster: Callable[[object, object], bool] = interval_faster) -> tuple[object, list]:
    """(the winner, the variants tied with the fastest): among the variants the fastest cannot
    be shown faster than, the simplest (then the quickest)."""
    fastest = max(ok, key=lambda o: o.speedup)
    tied = [o for o in ok if o is fastest or not faster(fastest, o)]
    return min(tied, key=lambda o: (simplicity(o), -o.speedup)), tied
