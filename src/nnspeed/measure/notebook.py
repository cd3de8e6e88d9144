"""Short text and HTML forms of measurements for notebooks and the REPL.

A Measurement keeps every per-call sample; its generated dataclass repr printed them all
(100 KB for a long run).  These forms show the figures a reader looks for first, bounded in
length whatever the number of samples, and escape everything that came from the user.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

# The forms take a Measurement; it imports this module, so the name is not imported back.
Measurement = Any

# A source longer than this (a deep file path) is shortened in the one-line repr.
SOURCE_CHARS = 60
# A result's one-line repr names at most this many of its measurements.
LISTED = 3


def ms(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "–"
    return f"{x:.4g}" if x < 1e4 else f"{x:.0f}"  # 4 digits: a tight CI still shows its width


def _short(text: str, limit: int = SOURCE_CHARS) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _precision(m: Measurement) -> str:
    return m.precision if m.effective_precision == m.precision else f"{m.precision}→{m.effective_precision}"


def label(m: Measurement) -> str:
    """``source backend precision bN tN device``: what the measurement is of."""
    threads = "" if m.threads is None else f" t{m.threads}"
    return f"{_short(m.source)} {m.backend} {_precision(m)} b{m.batch}{threads} {m.device}"


def p50_with_ci(m: Measurement) -> str:
    lat = m.latency_ms
    return f"p50 {ms(lat.p50)} ms [{ms(lat.ci95[0])}–{ms(lat.ci95[1])}]"


def summary(m: Measurement) -> str:
    """One line, bounded whatever the number of samples."""
    w = len(m.warnings)
    warned = f", {w} warning{'s' if w != 1 else ''}" if w else ""
    return f"{label(m)}: {p50_with_ci(m)}, n={m.n}{warned}"


HEAD = ("source", "backend", "precision", "batch", "threads", "device", "p50 ms", "95% CI", "p99 ms", "n", "warnings")


def row(m: Measurement) -> tuple[str, ...]:
    """The cells of one measurement's table row (plain text, not yet escaped)."""
    lat = m.latency_ms
    return (
        m.source,
        m.backend,
        _precision(m),
        str(m.batch),
        "–" if m.threads is None else str(m.threads),
        m.device,
        ms(lat.p50),
        f"{ms(lat.ci95[0])}–{ms(lat.ci95[1])}",
        ms(lat.p99),
        str(m.n),
        str(len(m.warnings)),
    )


def table_html(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def warnings_html(lines: list[str]) -> str:
    if not lines:
        return ""
    return "<ul>" + "".join(f"<li>{escape(w)}</li>" for w in lines) + "</ul>"


def measurement_html(m: Measurement) -> str:
    """A small table of the headline figures, then the warnings in full."""
    return table_html(HEAD, [row(m)]) + warnings_html(m.warnings)


def measurements_html(title: str, ms_: list[Measurement]) -> str:
    """A result's measurements, one row each, under its title; warnings named by row."""
    warned = [f"{label(m)}: {w}" for m in ms_ for w in m.warnings]
    return f"<p><b>{escape(title)}</b></p>" + table_html(HEAD, [row(m) for m in ms_]) + warnings_html(warned)
