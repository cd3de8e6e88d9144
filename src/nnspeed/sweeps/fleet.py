"""The same cell on every alive node of a cluster at once: which machine runs this model best.

Each node runs the cell pinned to it and holding all its CPUs, in a fresh process through the
harness, exactly as a sweep cell.  A node lost mid-run is reported as such, not retried
elsewhere: another node would be another machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import reason
from ..measure.measurement import Measurement
from .cluster import Cluster, Node, placed
from .grid import Cell
from .ray_runner import LOST_TASK_GRACE_S, POLL_S


@dataclass
class NodeRun:
    node: Node
    status: str  # ok | failed
    reason: str
    seconds: float
    measurement: Measurement | None


def run_on_every_node(
    cluster: Cluster,
    nodes: list[Node],
    cell: Cell,
    spec: dict,
    timeout_s: float,
    on_done: Callable[[NodeRun], None] | None = None,
) -> list[NodeRun]:
    """One run of ``cell`` per node, all started together; in the order of ``nodes``."""
    t0 = time.perf_counter()
    refs = {cluster.submit(n, cell.to_dict(), spec, timeout_s, 0, 1): n for n in nodes}
    runs: dict[str, NodeRun] = {}
    waiting = list(refs)
    deadline = t0 + timeout_s + LOST_TASK_GRACE_S
    while waiting:
        ready = cluster.wait(waiting, POLL_S)
        if not ready and time.perf_counter() > deadline:
            for ref in waiting:
                cluster.cancel(ref)  # a node that hangs: its run comes back cancelled
        for ref in ready:
            waiting.remove(ref)
            node = refs[ref]
            seconds = time.perf_counter() - t0
            try:
                res = cluster.get(ref)
            except Exception as e:  # the node or its worker died under the run
                run = NodeRun(node, "failed", f"node {node.short_id} was lost: {reason(e, 160)}", seconds, None)
            else:
                run = NodeRun(node, res["status"], res["reason"], seconds, placed(res, node, []))
            runs[node.node_id] = run
            if on_done:
                on_done(run)
    return [runs[n.node_id] for n in nodes]
