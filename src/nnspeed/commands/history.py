"""``nnspeed.history``: the trend of one configuration's stored runs, with its change points."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError, NotFoundError
from ..measure import invariants
from ..measure.changepoints import MIN_CHANGE, change_points
from ..measure.environment import fingerprint
from ..store.store import Store
from .events import QUIET, Events


@dataclass
class History:
    source: str
    config: str
    runs: list[dict]
    changes: list[dict]
    machines: int

    def to_dict(self) -> dict:
        doc = {
            "source": self.source,
            "config": self.config,
            "runs": self.runs,
            "changes": self.changes,
            "machines": self.machines,
        }
        invariants.attach(doc)
        return doc


@dataclass(frozen=True, kw_only=True)
class HistoryRequest:
    """Every stored result of ``source`` under these settings, oldest first (this machine's
    only, unless ``any_machine``), and the runs where its median latency stepped."""

    source: str
    backend: str | None = None
    precision: str | None = None
    batch: int | None = None
    threads: int | None = None
    device: str | None = None
    any_machine: bool = False
    min_change: float = MIN_CHANGE

    def validate(self) -> None:
        if not 0 < self.min_change < 1:
            raise InputError(f"--min-change must be a fraction between 0 and 1, got {self.min_change:g}")


def run(request: HistoryRequest, *, store: Store | str | None = None, events: Events = QUIET) -> History:
    """Read the history from the store (nothing is measured or stored)."""
    r = request
    r.validate()
    db = Store.of(store, writable=False)
    settings = dict(backend=r.backend, precision=r.precision, batch=r.batch, threads=r.threads, device=r.device)
    rows = db.history(r.source, **settings)
    here = fingerprint()["machine_id"]
    if not r.any_machine:
        rows = [(r, m) for r, m in rows if r["machine_id"] == here]
    if not rows:
        given = " ".join(f"--{k} {v}" for k, v in settings.items() if v is not None)
        raise NotFoundError(
            f"no stored runs of {r.source}{' ' + given if given else ''}"
            + ("" if r.any_machine else " on this machine (--any-machine shows others')")
            + "; measure it with: nnspeed bench "
            + r.source
        )
    configs = {(m.backend, m.precision, m.batch, m.threads, m.device) for _, m in rows}
    config = " ".join(f"{k}={v}" for k, v in settings.items() if v is not None) or "all settings"
    if len(configs) > 1:
        config += f" ({len(configs)} configurations mixed: narrow with --backend/--precision/--batch/--threads)"
    points = [
        {
            "run_id": r["id"],
            "created_at": r["created_at"],
            "kind": r["kind"],
            "machine_id": r["machine_id"],
            "backend": m.backend,
            "precision": m.precision,
            "batch": m.batch,
            "threads": m.threads,
            "p50_ms": m.latency_ms.p50,
            "ci95_ms": list(m.latency_ms.ci95),
            "p99_ms": m.latency_ms.p99,
            "n": m.n,
        }
        for r, m in rows
    ]
    changes = []
    for c in change_points([p["p50_ms"] for p in points], min_change=r.min_change):
        k = c["index"]
        changes.append(
            {
                "run_id": points[k]["run_id"],
                "created_at": points[k]["created_at"],
                "index": k,
                "ratio": c["ratio"],
                "direction": "slower" if c["ratio"] > 1 else "faster",
            }
        )
    return History(r.source, config, points, changes, len({p["machine_id"] for p in points}))


def history(source: str, *, store: Store | str | None = None, events: Events = QUIET, **options) -> History:
    """``nnspeed.history``: ``run`` on a ``HistoryRequest`` of ``source`` and ``options``."""
    return run(HistoryRequest(source=source, **options), store=store, events=events)
