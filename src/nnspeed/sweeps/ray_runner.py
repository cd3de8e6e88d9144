"""Run a sweep's missing cells over a Ray cluster.

The driver (this process) places every cell itself: one timed cell per node at a time, holding
all of the node's CPUs (``per_node`` cells on a stated core split), so timed cells never share
cores.  It is the only writer of the store: each cell is stored the moment its result comes
back.  A cell whose node dies runs again on another node, up to ``retries`` more times, and is
stored once with the lost tries in its history.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from ..errors import InputError, reason
from ..measure.measurement import Measurement
from .cluster import Cluster, Node, placed
from .grid import Cell
from .runner import CellOutcome, open_cells

DEFAULT_RETRIES = 2
# How often the driver looks again at the cluster's nodes while cells run.
POLL_S = 1.0
# Beyond the cell timeout (which the node enforces), how long a task may stay unanswered
# before the driver gives up on it (a node that hangs instead of dying).
LOST_TASK_GRACE_S = 120.0


def usable_nodes(cluster: Cluster, per_node: int) -> list[Node]:
    """The nodes that can take timed cells; ``per_node`` must fit each of them."""
    if per_node < 1:
        raise InputError(f"--per-node must be at least 1, not {per_node}")
    nodes = [n for n in cluster.nodes() if n.cpus >= 1]
    if not nodes:
        raise InputError(f"the cluster at {cluster.address} has no alive node with a CPU to run cells on")
    for n in nodes:
        if per_node > n.cpus:
            raise InputError(
                f"--per-node {per_node} is more than the {n.cpus} cores of node {n.short_id} ({n.address}); "
                f"use at most {min(x.cpus for x in nodes)}"
            )
    return nodes


def _is_lost_node(exc: BaseException) -> bool:
    """A failure of the node or its worker, not of the cell: worth a try elsewhere."""
    from ray import exceptions as rex

    if isinstance(exc, rex.RayTaskError) and not isinstance(exc, rex.WorkerCrashedError):
        return False  # the task's own code raised: it would raise again anywhere
    return isinstance(exc, rex.RayError)


def run_sweep_on_cluster(  # noqa: C901 (to be split)
    store,
    run_id: str,
    command: str,
    cells: list[Cell],
    spec: dict,
    cluster: Cluster,
    timeout_s: float,
    per_node: int = 1,
    retries: int = DEFAULT_RETRIES,
    on_start: Callable[[Cell, int, int], None] | None = None,
    on_done: Callable[[CellOutcome], None] | None = None,
) -> list[CellOutcome]:
    """Every cell not finished before, spread over the cluster's nodes; returns all outcomes."""
    if retries < 0:
        raise InputError(f"--retries must be 0 or more, not {retries}")
    usable_nodes(cluster, per_node)  # before the sweep is opened: a bad --per-node stores nothing
    outcomes, todo = open_cells(store, run_id, command, cells)
    pending: deque[Cell] = deque(todo)
    lost: dict[str, list[dict]] = {c.key: [] for c in todo}
    running: dict = {}  # ref → (cell, node, slot, started)
    busy: dict[str, set[int]] = {}
    lost_nodes: set[str] = set()
    finished = len(outcomes)  # on_start hears how many cells are done, as the local runner says

    def finish(cell: Cell, node: Node | None, status: str, why: str, seconds: float, m: Measurement | None):
        store.save_cell(run_id, cell.index, cell.key, status, why, seconds, m)
        o = CellOutcome(cell, status, why, seconds, m, node=node.node_id if node else "", attempts=lost[cell.key])
        outcomes.append(o)
        if on_done:
            on_done(o)

    while pending or running:
        # a node that lost a cell takes no more: Ray may take a while to call it dead
        nodes = [n for n in cluster.nodes() if n.cpus >= per_node and n.node_id not in lost_nodes]
        for node in nodes:
            taken = busy.setdefault(node.node_id, set())
            for slot in range(per_node):
                if slot in taken or not pending:
                    continue
                cell = _next_for(pending, node, nodes, lost)
                if cell is None:
                    break
                ref = cluster.submit(node, cell.to_dict(), spec, timeout_s, slot, per_node)
                running[ref] = (cell, node, slot, time.perf_counter())
                taken.add(slot)
                if on_start:
                    on_start(cell, len(outcomes) - finished, len(todo))
        if not running:  # cells wait, but no node is left that may take them
            for cell in list(pending):
                tried = ", ".join(a["node_id"][:8] for a in lost[cell.key]) or "none"
                finish(cell, None, "failed", f"no alive node was left to run it (nodes tried: {tried})", 0.0, None)
            pending.clear()
            break
        ready = cluster.wait(list(running), POLL_S)
        now = time.perf_counter()
        for ref, (_, _, _, t0) in running.items():
            if ref not in ready and now - t0 > timeout_s + LOST_TASK_GRACE_S:
                cluster.cancel(ref)  # its node hangs: the cancelled task comes back as a lost try
        for ref in ready:
            cell, node, slot, t0 = running.pop(ref)
            busy[node.node_id].discard(slot)
            seconds = time.perf_counter() - t0
            try:
                res = cluster.get(ref)
            except Exception as e:  # Ray's errors and the task's own
                if not _is_lost_node(e):
                    finish(
                        cell,
                        node,
                        "failed",
                        f"the cell's task failed on node {node.short_id}: {reason(e, 160)}",
                        seconds,
                        None,
                    )
                    continue
                lost_nodes.add(node.node_id)
                lost[cell.key].append({"node_id": node.node_id, "error": reason(e, 200), "seconds": round(seconds, 3)})
                if len(lost[cell.key]) <= retries:
                    pending.appendleft(cell)
                else:
                    why = f"failed on every one of its {len(lost[cell.key])} tries; the last: {reason(e, 160)}"
                    finish(cell, node, "failed", why, seconds, None)
                continue
            m = placed(res, node, lost[cell.key])
            finish(cell, node, res["status"], res["reason"], seconds, m)
    outcomes.sort(key=lambda o: o.cell.index)
    return outcomes


def _next_for(pending: deque[Cell], node: Node, nodes: list[Node], lost: dict[str, list[dict]]) -> Cell | None:
    """The first waiting cell that has not lost this node before (while another node may take it)."""
    alive = {n.node_id for n in nodes}
    for cell in pending:
        failed_here = {a["node_id"] for a in lost[cell.key]}
        if node.node_id not in failed_here or not (alive - failed_here):
            pending.remove(cell)
            return cell
    return None
