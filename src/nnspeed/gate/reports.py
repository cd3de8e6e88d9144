"""What a CI job shows of a check: a Markdown table for the job summary, a JUnit XML report."""

from __future__ import annotations

import math
from pathlib import Path
from xml.etree import ElementTree as ET

from ..errors import InputError
from .check import CheckResult

MARKS = {"regression": "❌ regression", "within": "✅ within", "faster": "✅ faster", "inconclusive": "⚠️ inconclusive"}


def check_paths(*paths: Path | None) -> None:
    """Refuse a report path that is a directory, before anything is measured."""
    for p in paths:
        if p is not None and Path(p).is_dir():
            raise InputError(f"{p} is a directory; give a file path for --summary / --junit")


def _ms(x: float) -> str:
    return "–" if x is None or math.isnan(x) else (f"{x:.4g}")


def markdown(results: list[CheckResult], title: str = "nnspeed check") -> str:
    """A GitHub-flavoured Markdown table, one row per check."""
    lines = [f"### {title}", ""]
    lines.append(
        "| baseline | candidate | statistic | baseline ms | candidate ms | ratio | 95% CI | threshold | verdict |"
    )
    lines.append("|---|---|---|---:|---:|---:|---|---:|---|")
    for r in results:
        stat = r.condition.statistic
        a, b = r.measurements[0], r.measurements[1]
        lo, hi = r.ci95
        lines.append(
            f"| `{r.baseline}` | `{r.candidate}` | {stat} | {_ms(a.latency_ms.of(stat))} | {_ms(b.latency_ms.of(stat))} | "
            f"{r.ratio:.3f}x | {lo:.3f}–{hi:.3f} | +{100 * r.condition.max_slowdown:g}% | {MARKS[r.verdict]} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- {r.explanation()}.")
        lines += [f"  - {n}" for n in r.notes]
    if results:
        lines.append(
            f"- Method: {results[0].method}" + (f", {results[0].rounds} rounds." if results[0].rounds else ".")
        )
    return "\n".join(lines) + "\n"


def junit(results: list[CheckResult], suite: str = "nnspeed.check") -> str:
    """JUnit XML: one test case per check, failed when it found a regression."""
    fails = sum(r.regression for r in results)
    elapsed = sum(m.extra.get("elapsed_s", 0.0) for r in results for m in r.measurements[1:2])
    root = ET.Element("testsuites", name="nnspeed", tests=str(len(results)), failures=str(fails))
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(fails),
        errors="0",
        skipped="0",
        time=f"{elapsed:.3f}",
    )
    for r in results:
        case = ET.SubElement(
            ts,
            "testcase",
            classname=suite,
            name=f"{r.candidate} vs {r.baseline} ({r.condition.describe()})",
            time=f"{r.measurements[-1].extra.get('elapsed_s', 0.0):.3f}",
        )
        if r.regression:
            f = ET.SubElement(case, "failure", message=r.explanation(), type="regression")
            f.text = "\n".join([r.explanation(), *r.notes])
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join([r.explanation(), f"method: {r.method}", *r.notes])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
