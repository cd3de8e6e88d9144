"""``nnspeed.machine``: what this machine can do, measured (and cached per machine)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..axes import int_values, split
from ..prediction.predictor import Phase, operator_tables
from ..store.store import Store
from .events import QUIET, Events
from .results import MachineResult


@dataclass(frozen=True, kw_only=True)
class MachineRequest:
    """Peak GEMM rates per precision (fp32, bf16, int8) and triad memory bandwidth at each thread
    count (default: 1 and all cores), measured once per machine and cached (``refresh`` measures
    again), beside the paper fp32 peak.  ``operators`` also measures the operator tables
    ``predict`` uses; ``export`` writes the profile and every cached table to a JSON file that
    ``predict --machine`` reads on another machine."""

    refresh: bool = False
    threads: str | list[int] | None = None
    operators: bool = False
    export: str | Path | None = None

    def validate(self) -> list[int] | None:
        """The thread counts to measure (None: 1 and all cores)."""
        if isinstance(self.threads, str):
            return int_values(split(self.threads, "--threads"), "--threads") if self.threads else None
        return list(self.threads) if self.threads else None


def run(request: MachineRequest, *, store: Store | str | None = None, events: Events = QUIET) -> MachineResult:
    """Measure (or read from the cache) what this machine can do; kept in the machine's cache,
    not the store.  ``events`` hears each phase's steps."""
    from .._files import write_text
    from ..explanation.peaks import profile
    from ..prediction.profile import cached_tables

    counts = request.validate()
    Phase(events.progress, "measuring peak rates (GEMM fp32/bf16/int8, triad bandwidth)")
    doc, cached = profile(request.refresh, counts)
    if request.operators:
        for t in [r["threads"] for r in doc["rows"]]:
            operator_tables(t, on_progress=events.progress)
    tables = cached_tables()
    result = MachineResult(contract(doc), tables=tables, cached=cached)
    if request.export is not None:
        result.exported = str(
            write_text(Path(request.export), json.dumps({**doc, "operators": tables}, indent=2) + "\n")
        )
    return result


def machine(*, events: Events = QUIET, **options) -> MachineResult:
    """``nnspeed.machine``: ``run`` on a ``MachineRequest`` of ``options``."""
    return run(MachineRequest(**options), events=events)


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
