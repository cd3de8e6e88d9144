"""Values of a setting axis: comma lists on the command line and grid axes alike."""

from __future__ import annotations

from typing import Literal, overload

from .errors import InputError


def split(text: str, label: str = "a comma list") -> list[str]:
    """``"1, 8"`` → ["1", "8"]; an empty text is no values, but an empty item among others
    (``1,,8`` or ``1,``) is refused: a dropped value is a configuration silently not run."""
    if not text.strip():
        return []
    items = [p.strip() for p in text.split(",")]
    if not all(items):
        raise InputError(f"{label} '{text}' has an empty item; remove the extra comma")
    return items


@overload
def int_values(values: list[str], label: str, allow_auto: Literal[False] = False) -> list[int]: ...
@overload
def int_values(values: list[str], label: str, allow_auto: bool) -> list[int | None]: ...
def int_values(values: list[str], label: str, allow_auto: bool = False) -> list[int | None] | list[int]:
    """Whole numbers ≥ 1 (and ``auto`` → None where allowed); ``label`` names the option."""
    out: list[int | None] = []
    for p in values:
        if allow_auto and p == "auto":
            out.append(None)
            continue
        try:
            v = int(p)
        except ValueError:
            raise InputError(f"{label} takes whole numbers separated by commas (e.g. 1,8), got '{p}'") from None
        if v < 1:
            raise InputError(f"{label} values must be at least 1, got {v}")
        out.append(v)
    if not out:
        raise InputError(f"{label} needs at least one value")
    return out
