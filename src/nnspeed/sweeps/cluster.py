"""A Ray cluster to run cells on: connecting to it, its nodes, and one cell on one node.

Ray only carries the work: each cell still runs in a fresh process of its own on its node,
through the same harness as a local sweep, so Ray's scheduling never reaches a sample.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from dataclasses import dataclass, field

from .._optional import require
from ..errors import InputError, reason

# On Linux Ray advertises the address it would use to reach the internet, even for a cluster
# on 127.0.0.1; with this off it keeps to loopback (read when ray is first imported).
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# How long an address gets to accept a TCP connection before it counts as unreachable (Ray's
# own connect retries for minutes).
REACH_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Node:
    """One alive node of the cluster, as Ray describes it."""

    node_id: str
    address: str
    hostname: str
    cpus: int
    labels: dict = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.node_id[:8]

    def to_dict(self) -> dict:
        return {
            "node_id": self.node_id,
            "address": self.address,
            "hostname": self.hostname,
            "cpus": self.cpus,
            "labels": dict(self.labels),
        }


def _host_port(address: str) -> tuple[str, int] | None:
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_reachable(address: str) -> None:
    hp = _host_port(address)
    if hp is None:
        raise InputError(f"--cluster '{address}' is not a Ray address; give host:port, ray://host:10001, auto or local")
    try:
        with socket.create_connection(hp, timeout=REACH_TIMEOUT_S):
            pass
    except OSError as e:
        raise InputError(
            f"cannot reach the Ray cluster at {address} ({reason(e, 80)}); check the address and that the "
            "head node is running, or use --cluster local to start one on this machine"
        ) from None


class Cluster:
    """A connection to a Ray cluster (or a Ray instance started here on 127.0.0.1 for ``local``).

    An existing connection of this process is reused and left open; one opened here is closed
    by :meth:`close`."""

    def __init__(self, address: str):
        address = (address or "").strip()
        if not address:
            raise InputError("--cluster needs an address: host:port, ray://host:10001, auto or local")
        target = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
        if target and target not in ("auto", "local"):
            _check_reachable(target)
        hp = _host_port(target) if target not in ("", "auto", "local") else None
        if address == "local" or (hp is not None and _is_loopback(hp[0])):
            os.environ.setdefault(LOOPBACK_ENV, "0")
        ray = require("ray", purpose="--cluster")
        self._ray = ray
        self.address = address
        self.owned = False
        if ray.is_initialized():
            return
        common = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        try:
            if address == "local":
                ray.init(address="local", num_cpus=os.cpu_count() or 1, _node_ip_address="127.0.0.1", **common)
            else:
                ray.init(address=address, **common)
        except ConnectionError as e:
            raise InputError(
                f"no Ray cluster answered at --cluster {address} ({reason(e, 120)}); start one with "
                "'ray start --head --node-ip-address=127.0.0.1', give its address, or use --cluster local"
            ) from None
        self.owned = True

    def nodes(self) -> list[Node]:
        """The alive nodes, head first, then by id (a stable order for scheduling and tables)."""
        out = []
        for n in self._ray.nodes():
            if not n.get("Alive"):
                continue
            res = n.get("Resources", {})
            out.append(
                Node(
                    node_id=n["NodeID"],
                    address=n.get("NodeManagerAddress", ""),
                    hostname=n.get("NodeManagerHostname", ""),
                    cpus=int(res.get("CPU", 0)),
                    labels={k: v for k, v in (n.get("Labels") or {}).items() if not k.startswith("ray.io/")},
                )
            )
        head = self._ray.get_runtime_context().gcs_address.rpartition(":")[0]
        return sorted(out, key=lambda x: (x.address != head, x.node_id))

    def submit(self, node: Node, cell: dict, spec: dict, timeout_s: float, slot: int, per_node: int):
        """Start one cell on ``node``, holding its share of the node's CPUs (all of them when
        ``per_node`` is 1, so no other timed cell runs beside it)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        task = self._ray.remote(run_on_node).options(
            num_cpus=node.cpus / per_node,
            max_retries=0,  # the driver retries, elsewhere, and keeps the history
            scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False),
        )
        return task.remote(cell, spec, timeout_s, max(1, node.cpus // per_node), slot, per_node)

    def wait(self, refs: list, timeout_s: float) -> list:
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout_s)
        return ready

    def get(self, ref):
        return self._ray.get(ref)

    def cancel(self, ref) -> None:
        self._ray.cancel(ref, force=True)

    def close(self) -> None:
        if self.owned and self._ray.is_initialized():
            self._ray.shutdown()
        self.owned = False

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def placed(res: dict, node: Node, lost_tries: list[dict]):
    """The measurement a node sent back, with where and how it ran (None for a failed cell)."""
    from dataclasses import replace

    from ..measure.measurement import Measurement

    if not res["record"]:
        return None
    m = Measurement.from_record(res["record"])
    placement = {
        "runner": "ray",
        "node_id": res["node_id"],
        "node_address": node.address,
        "threads": res["threads"],
        "cores": res["cores"],
        "slot": res["slot"],
        "per_node": res["per_node"],
        "lost_tries": lost_tries,
    }
    return replace(m, extra={**m.extra, "placement": placement})


def slot_cores(available: list[int], slot: int, per_node: int) -> list[int] | None:
    """The cores of one slot when a node runs ``per_node`` cells at once (None: all of them)."""
    if per_node <= 1:
        return None
    k, n = len(available), per_node
    return available[slot * k // n : (slot + 1) * k // n]


def run_on_node(cell: dict, spec: dict, timeout_s: float, threads: int, slot: int, per_node: int) -> dict:
    """The Ray task: the cell in a fresh process on this node, its threads set explicitly (Ray
    sets OMP_NUM_THREADS from the task's CPUs) and, with several cells a node, pinned to its
    own cores."""
    import ray

    from .grid import Cell
    from .runner import run_cell

    cores = slot_cores(sorted(os.sched_getaffinity(0)), slot, per_node)
    if cores is not None:
        threads = len(cores)
    threads = cell.get("threads") or threads  # a cell's own thread count is the one it runs with
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    status, why, m = run_cell(Cell(**cell), spec, timeout_s, env=env, cores=cores)
    return {
        "status": status,
        "reason": why,
        "record": m.to_record() if m is not None else None,
        "node_id": ray.get_runtime_context().get_node_id(),
        "threads": threads,
        "cores": cores,
        "slot": slot,
        "per_node": per_node,
    }
