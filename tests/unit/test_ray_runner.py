"""The Ray runner's placement and retries against a scripted cluster: which cell ran on which
node and slot, exactly, without starting Ray."""

import pytest

rex = pytest.importorskip("ray.exceptions")

from nnspeed.errors import InputError  # noqa: E402
from nnspeed.measure.measurement import Measurement  # noqa: E402
from nnspeed.store.store import Store  # noqa: E402
from nnspeed.sweeps.cluster import Node, slot_cores  # noqa: E402
from nnspeed.sweeps.grid import build_cells  # noqa: E402
from nnspeed.sweeps.ray_runner import run_sweep_on_cluster  # noqa: E402


def record(source: str, node_id: str) -> dict:
    m = Measurement(
        source=source,
        backend="torch-eager",
        precision="fp32",
        effective_precision="fp32",
        batch=1,
        threads=1,
        device="cpu",
        samples_ms=(1.0, 1.1, 1.2),
        first_call_ms=2.0,
        timer_overhead_ns=30.0,
        env={"machine_id": f"machine-of-{node_id}"},
    )
    return m.to_record()


class ScriptedCluster:
    """Nodes that run cells instantly, in submission order; ``lose`` names (cell index, try)
    pairs whose node dies under the cell."""

    address = "scripted:1"

    def __init__(self, n_nodes=3, cpus=1, lose=()):
        self._nodes = [Node(f"node{i}", "127.0.0.1", f"host{i}", cpus) for i in range(n_nodes)]
        self.dead: set[str] = set()
        self.lose = set(lose)
        self.tries: dict[int, int] = {}
        self.running: dict[object, tuple] = {}
        self.placed: list[tuple[int, str, int]] = []  # (cell index, node, slot) per submission

    def nodes(self):
        return [n for n in self._nodes if n.node_id not in self.dead]

    def submit(self, node, cell, spec, timeout_s, slot, per_node):
        busy = [k for k in self.running.values() if k[0].node_id == node.node_id]
        assert len(busy) < per_node and all(k[2] != slot for k in busy), "two timed cells on one slot"
        assert node.node_id not in self.dead, "a cell placed on a node known to be dead"
        ref = object()
        self.running[ref] = (node, cell, slot)
        self.placed.append((cell["index"], node.node_id, slot))
        return ref

    def wait(self, refs, timeout_s):
        return refs[:1]

    def get(self, ref):
        node, cell, slot = self.running.pop(ref)
        t = self.tries[cell["index"]] = self.tries.get(cell["index"], 0) + 1
        if (cell["index"], t) in self.lose:
            self.dead.add(node.node_id)
            raise rex.NodeDiedError(f"{node.node_id} died")
        return {
            "status": "ok",
            "reason": "",
            "record": record(cell["source"], node.node_id),
            "node_id": node.node_id,
            "threads": 1,
            "cores": None,
            "slot": slot,
            "per_node": 1,
        }

    def cancel(self, ref):
        pass


CELLS = build_cells("zoo:mlp", "depth=2,4,8;batch=1,8")


def run(cluster, store_url, **kw):
    return run_sweep_on_cluster(Store(store_url), "sweep-test", "nnspeed sweep", CELLS, {}, cluster, 60.0, **kw)


def test_cells_fill_the_nodes_one_at_a_time_and_are_stored_once(store_url):
    c = ScriptedCluster()
    outcomes = run(c, store_url)
    assert [o.status for o in outcomes] == ["ok"] * 6
    assert [p[1] for p in c.placed[:3]] == ["node0", "node1", "node2"]  # every node before any twice
    db = Store(store_url)
    assert len(db.cells("sweep-test")) == 6
    stored = db.get_run_positions("sweep-test")[1]
    assert all(stored[o.cell.index].env["machine_id"] == f"machine-of-{o.node}" for o in outcomes)


def test_a_lost_cell_runs_once_more_elsewhere_and_its_node_takes_no_more(store_url):
    c = ScriptedCluster(lose={(1, 1)})  # cell 1's first node dies under it
    outcomes = run(c, store_url)
    assert [o.status for o in outcomes] == ["ok"] * 6
    o = outcomes[1]
    assert [a["node_id"] for a in o.attempts] == ["node1"] and o.node != "node1"
    assert [p for p in c.placed if p[0] == 1] == [(1, "node1", 0), (1, o.node, 0)]
    assert all(node != "node1" for _, node, _ in c.placed[3:])
    stored = Store(store_url).get_run_positions("sweep-test")[1][1]
    assert stored.extra["placement"]["lost_tries"][0]["node_id"] == "node1"


def test_a_cell_lost_on_every_try_is_stored_failed_and_the_sweep_goes_on(store_url):
    c = ScriptedCluster(n_nodes=4, lose={(0, 1), (0, 2)})
    outcomes = run(c, store_url, retries=1)
    assert outcomes[0].status == "failed" and "every one of its 2 tries" in outcomes[0].reason
    assert [o.status for o in outcomes[1:]] == ["ok"] * 5
    cells = {c["position"]: c for c in Store(store_url).cells("sweep-test")}
    assert cells[0]["status"] == "failed" and len(cells) == 6


def test_cells_left_when_every_node_is_gone_are_failed_with_the_reason(store_url):
    c = ScriptedCluster(n_nodes=1, lose={(0, 1)})
    outcomes = run(c, store_url)
    assert all(o.status == "failed" for o in outcomes)
    assert "no alive node was left" in outcomes[1].reason


def test_per_node_splits_each_node_into_slots_on_disjoint_cores(store_url):
    c = ScriptedCluster(n_nodes=2, cpus=2)
    outcomes = run(c, store_url, per_node=2)
    assert [o.status for o in outcomes] == ["ok"] * 6
    assert c.placed[:4] == [(0, "node0", 0), (1, "node0", 1), (2, "node1", 0), (3, "node1", 1)]
    assert slot_cores([0, 1, 2, 3], 0, 2) == [0, 1] and slot_cores([0, 1, 2, 3], 1, 2) == [2, 3]
    assert slot_cores([0, 1], 0, 1) is None
    with pytest.raises(InputError, match="more than the 2 cores"):
        run(ScriptedCluster(cpus=2), store_url, per_node=3)
