"""Run a sweep's missing cells one after another, each in its own process, storing each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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
    node: str = ""  # the cluster node that ran it ("" on this machine)
    attempts: list[dict] = field(default_factory=list)  # earlier tries that lost their node

    def line(self) -> str:
        """The outcome in one line: the cell, its p50 or why it failed, where it ran."""
        where = f"  on node {self.node[:8]}" if self.node else ""
        if self.attempts:
            where += f" after {len(self.attempts)} lost tr{'y' if len(self.attempts) == 1 else 'ies'}"
        if self.status == "ok" and self.measurement is not None:
            return f"{self.cell.key}  p50 {self.measurement.latency_ms.p50:.3f} ms  ({self.seconds:.1f} s){where}"
        return f"{self.cell.key}  {self.reason}{where}"

    def to_dict(self) -> dict:
        return {
            "index": self.cell.index,
            "key": self.cell.key,
            **self.cell.to_dict(),
            "status": self.status,
            "reason": self.reason or None,
            "seconds": self.seconds,
            "resumed": self.resumed,
            "node": self.node or None,
            "machine_id": self.measurement.env.get("machine_id") if self.measurement else None,
            "attempts": list(self.attempts),
            "result": self.measurement.to_dict() if self.measurement else None,
        }


def _die_with_parent() -> None:
    """In the child: be killed when the sweep process dies (kill -9 included)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_setup(cores: list[int] | None):
    if not sys.platform.startswith("linux"):
        return None

    def setup() -> None:
        _die_with_parent()
        if cores:
            os.sched_setaffinity(0, cores)

    return setup


def run_cell(
    cell: Cell, spec: dict, timeout_s: float, env: dict | None = None, cores: list[int] | None = None
) -> tuple[str, str, Measurement | None]:
    """One cell in a fresh process (with ``env`` as its environment and pinned to ``cores``
    when given): ok with its measurement, or failed with one line saying why."""
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
                env=env,
                preexec_fn=_child_setup(cores),
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


@contextmanager
def interrupts_remembered() -> Iterator[list[int]]:
    """Ctrl-C raises KeyboardInterrupt as usual, and is remembered too: one that lands where
    Python ignores exceptions (the fork hooks ``subprocess`` runs for a child with a
    ``preexec_fn``) still stops the caller at its next check of the list it yields."""
    heard: list[int] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield heard  # ignored, or someone else's handler: leave it alone
        return

    def handler(signum, frame):
        heard.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield heard
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def open_cells(store, run_id: str, command: str, cells: list[Cell]) -> tuple[list[CellOutcome], list[Cell]]:
    """Open (or reopen) the sweep: the outcomes of cells finished in earlier attempts, and the
    cells still to run."""
    from ..measure.environment import fingerprint

    done = store.open_sweep(run_id, command, fingerprint())
    stored = store.get_run_positions(run_id)[1] if done else {}
    outcomes = []
    for c in cells:
        if c.key in done:
            row = done[c.key]
            m = stored.get(c.index)
            node = (m.extra.get("placement") or {}).get("node_id", "") if m is not None else ""
            outcomes.append(CellOutcome(c, row["status"], row["reason"], row["seconds"], m, resumed=True, node=node))
    return outcomes, [c for c in cells if c.key not in done]


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
    outcomes, todo = open_cells(store, run_id, command, cells)
    with interrupts_remembered() as interrupted:
        for i, c in enumerate(todo):
            if on_start:
                on_start(c, i, len(todo))
            t0 = time.perf_counter()
            status, why, m = run_cell(c, spec, timeout_s)
            seconds = time.perf_counter() - t0
            if interrupted and status != "ok":  # Ctrl-C reached the cell too: not its failure, rerun it
                raise KeyboardInterrupt
            store.save_cell(run_id, c.index, c.key, status, why, seconds, m)
            outcome = CellOutcome(c, status, why, seconds, m)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
            if interrupted:
                raise KeyboardInterrupt
    outcomes.sort(key=lambda o: o.cell.index)
    return outcomes
