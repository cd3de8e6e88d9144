"""Where the benchmarks write their figures: results/NAME.json, with the machine that made them.

A figure without its machine says nothing: these machines differ (AMX or not, avx512 or not,
their L2) and the same benchmark moves by tens of per cent between them.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
MACHINE_FIELDS = ("cpu", "cpu_flags", "cores_logical", "cores_physical", "memory_gb", "machine_id", "packages")


def machine() -> dict:
    from nnspeed.measure.environment import fingerprint

    env = fingerprint()
    return {k: env.get(k) for k in MACHINE_FIELDS}


def write_result(name: str, doc: dict, out: str | Path | None = None) -> Path:
    """Write ``doc`` with this machine's fingerprint under ``machine`` (kept if already there)."""
    path = Path(out) if out is not None else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**doc, "machine": doc.get("machine") or machine()}, indent=2, default=float) + "\n")
    return path
