"""Parsing of comma-list options shared by commands."""

from __future__ import annotations

from ..errors import InputError


def split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def int_list(text: str, name: str, allow_auto: bool = False) -> list[int | None]:
    out: list[int | None] = []
    for p in split(text):
        if allow_auto and p == "auto":
            out.append(None)
            continue
        try:
            v = int(p)
        except ValueError:
            raise InputError(f"--{name} takes whole numbers separated by commas (e.g. 1,8), got '{p}'") from None
        if v < 1:
            raise InputError(f"--{name} values must be at least 1, got {v}")
        out.append(v)
    if not out:
        raise InputError(f"--{name} needs at least one value")
    return out
