"""``nnspeed.machine``: what this machine can do, measured (and cached per machine)."""

from __future__ import annotations

import json
from pathlib import Path

from ..axes import int_values, split
from .predict import Phase, Progress, operator_tables
from .results import MachineResult


def machine(
    refresh: bool = False,
    threads: str | list[int] | None = None,
    operators: bool = False,
    export: str | Path | None = None,
    on_progress: Progress | None = None,
) -> MachineResult:
    """Peak GEMM rates per precision (fp32, bf16, int8) and triad memory bandwidth at each thread
    count (default: 1 and all cores), measured once per machine and cached (``refresh`` measures
    again), beside the paper fp32 peak.  ``operators`` also measures the operator tables
    ``predict`` uses; ``export`` writes the profile and every cached table to a JSON file that
    ``predict --machine`` reads on another machine."""
    from .._files import write_text
    from ..explanation.peaks import profile
    from ..prediction.profile import cached_tables

    counts = (
        int_values(split(threads, "--threads"), "--threads")
        if isinstance(threads, str) and threads
        else threads or None
    )
    Phase(on_progress, "measuring peak rates (GEMM fp32/bf16/int8, triad bandwidth)")
    doc, cached = profile(refresh, counts)
    if operators:
        for t in [r["threads"] for r in doc["rows"]]:
            operator_tables(t, on_progress=on_progress)
    tables = cached_tables()
    result = MachineResult(contract(doc), tables=tables, cached=cached)
    if export is not None:
        result.exported = str(write_text(Path(export), json.dumps({**doc, "operators": tables}, indent=2) + "\n"))
    return result


def contract(doc: dict) -> dict:
    """The documented JSON: measured rates keyed by thread count, the paper peak, the raw profile."""
    rows = doc["rows"]

    def per(get):
        return {str(r["threads"]): get(r) for r in rows}

    measured = {
        "fp32_gflops": per(lambda r: r["gemm"].get("fp32")),
        "bf16_gflops": per(lambda r: r["gemm"].get("bf16")),
        "int8_gops": per(lambda r: r["gemm"].get("int8")),
        "mem_bw_gbs": per(lambda r: r["triad_gbs"]),
        "bf16_over_fp32": per(
            lambda r: r["gemm"]["bf16"] / r["gemm"]["fp32"] if r["gemm"].get("bf16") and r["gemm"].get("fp32") else None
        ),
    }
    theo = dict(doc.get("theoretical_fp32") or {})
    best = max((r["gemm"].get("fp32") or 0 for r in rows), default=0)
    if theo:
        theo["measured_over_theoretical"] = best / theo["gflops"]
    return {"fingerprint": doc["machine"], "measured": measured, "theoretical": {"fp32": theo or None}, "profile": doc}
