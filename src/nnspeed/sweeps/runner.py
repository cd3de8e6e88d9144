"""Run a sweep's missing cells one after another, each in its own process, storing each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..measure.measurement import Measurement
from .grid import Cell

# Beyond the measurement itself a cell loads and exports its model; allow for that.
DEFAULT_CELL_TIMEOUT_S = 600


@dataclass
class CellOutcome:
    cell: Cell
    status: str  # ok | failed
    reason: str
    seconds: float
    measurement: Measurement | None
    resumed: bool = False  # finished in an earlier invocation


def _die_with_parent() -> None:
    """In the child: be killed when the sweep process dies (kill -9 included)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_cell(cell: Cell, spec: dict, timeout_s: float) -> tuple[str, str, Measurement | None]:
    with tempfile.TemporaryDirectory(prefix="nnspeed-cell-") as tmp:
        spec_path, out_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "out.json")
        with open(spec_path, "w") as f:
            json.dump({**spec, "cell": cell.to_dict()}, f)
        cmd = [sys.executable, "-m", "nnspeed.sweeps.cell", spec_path, out_path]
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except subprocess.TimeoutExpired:
            return (
                "failed",
                f"no result within the cell timeout of {timeout_s:g} s (a hang?); raise --cell-timeout",
                None,
            )
        if os.path.exists(out_path):
            with open(out_path) as f:
                doc = json.load(f)
            if "record" in doc:
                return "ok", "", Measurement.from_record(doc["record"])
            return "failed", doc["error"], None
        if proc.returncode < 0:
            sig = signal.Signals(-proc.returncode).name
            hint = " (out of memory?)" if sig == "SIGKILL" else ""
            return "failed", f"the cell's process was killed by {sig}{hint}", None
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return "failed", f"the cell's process exited with code {proc.returncode}: {tail}", None


def run_sweep(
    store,
    run_id: str,
    command: str,
    cells: list[Cell],
    spec: dict,
    timeout_s: float = DEFAULT_CELL_TIMEOUT_S,
    on_start: Callable[[Cell, int, int], None] | None = None,
    on_done: Callable[[CellOutcome], None] | None = None,
) -> list[CellOutcome]:
    """Run every cell not finished before; each is stored the moment it finishes."""
    from ..measure.environment import fingerprint

    done = store.open_sweep(run_id, command, fingerprint())
    stored = store.get_run_positions(run_id)[1] if done else {}
    outcomes = []
    todo = [c for c in cells if c.key not in done]
    for c in cells:
        if c.key in done:
            row = done[c.key]
            outcomes.append(
                CellOutcome(c, row["status"], row["reason"], row["seconds"], stored.get(c.index), resumed=True)
            )
    for i, c in enumerate(todo):
        if on_start:
            on_start(c, i, len(todo))
        t0 = time.perf_counter()
        status, why, m = run_cell(c, spec, timeout_s)
        seconds = time.perf_counter() - t0
        store.save_cell(run_id, c.index, c.key, status, why, seconds, m)
        outcome = CellOutcome(c, status, why, seconds, m)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    outcomes.sort(key=lambda o: o.cell.index)
    return outcomes
