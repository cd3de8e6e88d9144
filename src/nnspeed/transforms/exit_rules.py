"""The rules an early exit decides by, and the thresholds tried when none are given (no torch
here: the network's modules and the transform both read them)."""

from __future__ import annotations

from ..errors import InputError

# rule → what it asks of a head's softmax
RULES = {"max-prob": "max softmax ≥ τ", "entropy": "entropy ≤ τ (nats)"}
# Thresholds tried when none are given: from an eager exit to a cautious one.
DEFAULT_TAUS = {"max-prob": (0.8, 0.9, 0.99), "entropy": (0.5, 0.3, 0.05)}


def check_rule(rule: str, taus: tuple[float, ...]) -> None:
    if rule not in RULES:
        raise InputError(f"unknown exit rule '{rule}'; use one of {', '.join(RULES)}")
    for tau in taus:
        if rule == "max-prob" and not 0 < tau <= 1:
            raise InputError(f"a max-prob threshold is a probability in (0, 1], not {tau:g}")
        if rule == "entropy" and not tau >= 0:
            raise InputError(f"an entropy threshold is ≥ 0 nats, not {tau:g}")
