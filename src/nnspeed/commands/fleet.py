"""``nnspeed.fleet``: one benchmark on every machine of a Ray cluster, the fastest and the
cheapest per million inferences, machines with the same fingerprint pooled."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from ..backends.registry import check_backend, resolve_backend
from ..errors import InputError
from ..measure.measurement import Measurement
from ..measure.stats import summarize
from ..measure.stoprule import StopRule
from ..scenarios.single_stream import budget_or_fps
from ..store.store import Store
from ..sweeps.cluster import Cluster, Node
from ..sweeps.fleet import NodeRun, run_on_every_node
from ..sweeps.grid import Cell
from ..sweeps.ray_runner import usable_nodes
from ..sweeps.runner import DEFAULT_CELL_TIMEOUT_S
from ..workloads.sources import load
from .events import QUIET, Events
from .results import FleetResult


def parse_prices(text: str | None) -> dict[str, float]:
    """``'NODE_OR_LABEL=USD_PER_HOUR,…'`` → {key: price}."""
    prices: dict[str, float] = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        key, eq, value = part.rpartition("=")
        try:
            usd = float(value)
        except ValueError:
            usd = -1.0
        if not eq or not key.strip() or not usd > 0:
            raise InputError(
                f"--price part '{part}' is not NODE_OR_LABEL=USD_PER_HOUR with a positive price, e.g. 1a2b3c4d=0.34"
            )
        prices[key.strip()] = usd
    return prices


def _names(node: Node) -> set[str]:
    """What a --price key may call a node: its id (or a prefix of 4+), address, hostname, a
    label's value, or key=value of a label."""
    return {node.address, node.hostname, *map(str, node.labels.values())} | {f"{k}={v}" for k, v in node.labels.items()}


def price_nodes(prices: dict[str, float], nodes: list[Node]) -> dict[str, tuple[str, float]]:
    """node id → (the key that priced it, USD per hour); a key that names no node is an error.
    A node named by its id keeps that price over one given to its address, hostname or label."""
    priced: dict[str, tuple[str, float]] = {}
    by_id: set[str] = set()
    for key, usd in prices.items():
        ids = [n for n in nodes if len(key) >= 4 and n.node_id.startswith(key)]
        named = [n for n in nodes if key in _names(n)]
        if not ids and not named:
            known = ", ".join(f"{n.short_id} ({n.address})" for n in nodes)
            raise InputError(
                f"--price names '{key}', which is no alive node of the cluster; name a node by id, address, "
                f"hostname or label (nodes: {known})"
            )
        for n in ids:
            priced[n.node_id] = (key, usd)
            by_id.add(n.node_id)
        for n in named:
            if n.node_id not in by_id:
                priced[n.node_id] = (key, usd)
    return priced


def _per_million(usd_per_hour: float | None, samples_per_s: float) -> float | None:
    if usd_per_hour is None or not samples_per_s > 0:
        return None
    return usd_per_hour / (samples_per_s * 3600.0) * 1e6


def _node_row(run: NodeRun, price: tuple[str, float] | None) -> dict:
    m = run.measurement
    row = {
        **run.node.to_dict(),
        "status": run.status,
        "reason": run.reason or None,
        "seconds": run.seconds,
        "machine_id": m.env.get("machine_id") if m else None,
        "cpu": m.env.get("cpu") if m else None,
        "price_key": price[0] if price else None,
        "usd_per_hour": price[1] if price else None,
    }
    if m is not None:
        lat = m.latency_ms
        row |= {
            "p50_ms": lat.p50,
            "ci95_ms": list(lat.ci95),
            "p99_ms": lat.p99,
            "throughput_sps": m.throughput_sps,
            "threads": m.threads,
            "usd_per_million": _per_million(row["usd_per_hour"], m.throughput_sps),
        }
    return row


def _pool(runs: list[NodeRun], rows: list[dict]) -> list[dict]:
    """One entry per fingerprint: nodes of the same machine pooled, and how far apart they were."""
    groups: dict[str, list[tuple[Measurement, dict]]] = {}
    for run, row in zip(runs, rows):
        if run.measurement is not None:
            groups.setdefault(row["machine_id"], []).append((run.measurement, row))
    machines = []
    for machine_id, members in groups.items():
        p50s = [r["p50_ms"] for _, r in members]
        pooled = summarize([x for m, _ in members for x in m.samples_ms])
        costs = [r["usd_per_million"] for _, r in members if r["usd_per_million"] is not None]
        median_p50 = statistics.median(p50s)
        machines.append(
            {
                "machine_id": machine_id,
                "cpu": members[0][1]["cpu"],
                "nodes": [r["node_id"] for _, r in members],
                "n_nodes": len(members),
                "p50_ms": median_p50,
                "pooled_p50_ms": pooled.p50,
                "pooled_ci95_ms": list(pooled.ci95),
                "node_spread": (max(p50s) - min(p50s)) / median_p50 if len(p50s) > 1 and median_p50 > 0 else 0.0,
                "throughput_sps": statistics.median(r["throughput_sps"] for _, r in members),
                "usd_per_million": statistics.median(costs) if costs else None,
            }
        )
    return sorted(machines, key=lambda g: g["p50_ms"])


@dataclass(frozen=True, kw_only=True)
class FleetRequest:
    """Benchmark ``source`` on every alive node of the Ray cluster at ``cluster`` at once (each
    run pinned to its node, holding all its CPUs); one row per node, machines with the same
    fingerprint pooled with their spread, the fastest machine named, and with ``price``
    (``'NODE_OR_LABEL=USD_PER_HOUR,…'``) the cost per million inferences on each.  The
    measurements are stored as one run."""

    source: str
    cluster: str
    backend: str = "auto"
    precision: str = "fp32"
    batch: int = 1
    threads: int | None = None
    device: str = "cpu"
    price: str | None = None
    min_time: float = 1.0
    max_time: float = 10.0
    ci: float = 0.01
    budget_ms: float | None = None
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S
    input_shape: str | None = None
    input_dtype: str | None = None
    report: str | Path | None = None
    command: str = "nnspeed fleet"

    def validate(self) -> tuple[dict[str, float], str]:
        """The prices and the backend (``auto`` resolved), every option checked; nothing loaded."""
        prices = parse_prices(self.price)
        if self.batch < 1:
            raise InputError(f"--batch must be at least 1, not {self.batch}")
        backend = resolve_backend(self.backend, self.source)
        check_backend(backend)
        return prices, backend

    def load_options(self) -> dict:
        return {k: v for k, v in dict(input_shape=self.input_shape, input_dtype=self.input_dtype).items() if v}


def run(request: FleetRequest, *, store: Store | str | None = None, events: Events = QUIET) -> FleetResult:
    """Measure on every node and store the run; ``events`` hears how many nodes run it."""
    r = request
    prices, backend = r.validate()
    stop = StopRule(min_time=r.min_time, max_time=r.max_time, ci_rel=r.ci)
    load_options = r.load_options()
    load(r.source, **load_options)  # a bad source fails here, before any node runs it
    db = Store.of(store)
    spec = {"stop": stop.to_dict(), "budget_ms": budget_or_fps(r.budget_ms, None), "load_options": load_options}
    with Cluster(r.cluster) as ray_cluster:
        nodes = usable_nodes(ray_cluster, 1)
        priced = price_nodes(prices, nodes)
        events.progress(f"measuring on {len(nodes)} node{'s' if len(nodes) > 1 else ''} at once")
        cell = Cell(0, r.source, backend, r.precision, r.batch, r.threads, r.device)
        runs = run_on_every_node(ray_cluster, nodes, cell, spec, r.cell_timeout)
    rows = [_node_row(r, priced.get(r.node.node_id)) for r in runs]
    machines = _pool(runs, rows)
    measured = [r.measurement for r in runs if r.measurement is not None]
    doc = {
        "source": r.source,
        "backend": backend,
        "precision": r.precision,
        "batch": r.batch,
        "cluster": r.cluster,
        "nodes": rows,
        "machines": machines,
        "fastest": machines[0] if machines else None,
        "cheapest": min(
            (g for g in machines if g["usd_per_million"] is not None), key=lambda g: g["usd_per_million"], default=None
        ),
    }
    doc["run_id"] = db.save_run("fleet", r.command, measured, documents={"fleet": doc}) if measured else None
    if r.report is not None:
        from .._files import write_text
        from ..report.html import render

        run = {"id": doc["run_id"] or "fleet", "kind": "fleet", "created_at": "", "command": r.command, "env": {}}
        doc["report"] = str(write_text(Path(r.report), render(run, measured, fleet=doc)))
    return FleetResult(doc, measured, runs=runs)


def fleet(
    source: str, cluster: str, *, store: Store | str | None = None, events: Events = QUIET, **options
) -> FleetResult:
    """``nnspeed.fleet``: ``run`` on a ``FleetRequest`` of ``source``, ``cluster`` and ``options``."""
    return run(FleetRequest(source=source, cluster=cluster, **options), store=store, events=events)
