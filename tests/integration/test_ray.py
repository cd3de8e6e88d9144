"""Sweeps and fleets on a real multi-node Ray cluster built on this machine (a head and two
workers of 1 CPU each, all on 127.0.0.1, no dashboard): cells spread over the nodes, a worker
lost mid-sweep, a killed driver resumed, one fleet row per node, and bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ray = pytest.importorskip("ray")

from nnspeed.commands.events import Events  # noqa: E402
from nnspeed.commands.sweep import sweep  # noqa: E402
from nnspeed.store.store import Store  # noqa: E402

pytestmark = pytest.mark.slow
GRID = "depth=2,4,8;batch=1,8"
FAST = dict(min_time=0.1, max_time=0.3, ci=0.2)
SLOWER = dict(min_time=2.0, max_time=3.0, ci=0.001)  # cells long enough to lose a node under one


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    assert os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") == "0", "conftest keeps Ray on loopback"
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False},
    )
    c.workers = [c.add_node(num_cpus=1, node_ip_address="127.0.0.1") for _ in range(2)]
    ray.init(address=c.address, log_to_driver=False, logging_level="ERROR")
    yield c
    ray.shutdown()
    c.shutdown()


def worker_ids(c) -> list[str]:
    return [n.node_id for n in c.workers]


def test_a_sweep_spreads_its_cells_over_the_nodes_and_stores_each_once(cluster, any_store_url):
    store_url = any_store_url  # the driver, the only writer, on SQLite and on PostgreSQL
    r = sweep("zoo:mlp", GRID, cluster=cluster.address, store=store_url, **FAST)
    assert [o.status for o in r.outcomes] == ["ok"] * 6, [o.reason for o in r.outcomes]
    assert set(worker_ids(cluster)) <= {o.node for o in r.outcomes}
    db = Store(store_url)
    assert len(db.cells(r.sweep_id)) == 6
    run, by_position = db.get_run_positions(r.sweep_id)
    assert run["n_results"] == 6 and sorted(by_position) == list(range(6))
    for o in r.outcomes:
        stored = by_position[o.cell.index]
        placement = stored.extra["placement"]
        assert placement["node_id"] == o.node and placement["lost_tries"] == []
        assert stored.env["machine_id"] and stored.threads == 1  # a 1-CPU node: one thread, set explicitly
    doc = r.to_dict()
    assert doc["cells"][0]["machine_id"] == doc["cells"][0]["result"]["machine_id"]
    again = sweep("zoo:mlp", GRID, cluster=cluster.address, store=store_url, **FAST)
    assert again.resumed == 6 and {o.node for o in again.outcomes} == {o.node for o in r.outcomes}


def test_bad_per_node_and_retries_store_nothing(cluster, store_url, capsys):
    from nnspeed.errors import InputError

    with pytest.raises(InputError, match="more than the 1 cores of node"):
        sweep("zoo:mlp", GRID, cluster=cluster.address, store=store_url, per_node=2, **FAST)
    with pytest.raises(InputError, match="--retries"):
        sweep("zoo:mlp", GRID, cluster=cluster.address, store=store_url, retries=-1, **FAST)
    from nnspeed.cli.app import main

    code = main(
        ["sweep", "zoo:mlp", "--grid", GRID, "--cluster", cluster.address, "--per-node", "3", "--store", store_url]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--per-node 3 is more than the 1 cores" in " ".join(err.split()), err
    assert Store(store_url).list_runs() == []


def test_a_killed_driver_resumes_only_the_missing_cells(cluster, store_url, interruptible):
    cmd = [sys.executable, "-m", "nnspeed", "sweep", "zoo:mlp", "--grid", GRID, "--cluster", cluster.address]
    cmd += ["--store", store_url, "--min-time", "0.5", "--max-time", "1", "--ci", "0.2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **interruptible)
    db = Store(store_url)
    deadline = time.monotonic() + 180
    sweep_id = None
    while time.monotonic() < deadline and proc.poll() is None:
        runs = db.list_runs()
        if runs and len(db.cells(runs[0]["id"])) >= 2:
            sweep_id = runs[0]["id"]
            break
        time.sleep(0.2)
    assert sweep_id, proc.stderr.read() if proc.poll() is not None else "no cell finished in time"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    first = {c["cell_key"] for c in db.cells(sweep_id)}
    assert 2 <= len(first) < 6
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["sweep_id"] == sweep_id
    assert {c["key"] for c in doc["cells"] if c["resumed"]} == first
    assert all(c["status"] == "ok" for c in doc["cells"])
    assert len(db.cells(sweep_id)) == 6 and db.get_run(sweep_id)[0]["n_results"] == 6


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to split")
def test_per_node_pins_each_slot_to_its_own_cores_on_a_local_ray(tmp_path):
    """--cluster local starts Ray here (a subprocess: this one is connected to the test cluster)."""
    cmd = [sys.executable, "-m", "nnspeed", "sweep", "zoo:mlp?depth=2", "--grid", "batch=1,8", "--cluster", "local"]
    cmd += ["--per-node", "2", "--store", f"sqlite:///{tmp_path / 's.db'}", "--min-time", "0.2", "--max-time", "0.5"]
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    placements = [c["result"]["placement"] for c in json.loads(done.stdout)["cells"]]
    assert sorted(p["slot"] for p in placements) == [0, 1]
    a, b = (set(p["cores"]) for p in placements)
    assert a and b and not a & b and len(a) == len(b) == (os.cpu_count() or 2) // 2
    assert all(p["threads"] == len(p["cores"]) for p in placements)


def test_fleet_gives_one_row_per_node_pooled_by_fingerprint_with_prices(cluster, store_url, tmp_path, report_page):
    from nnspeed.commands.fleet import fleet

    w0 = cluster.workers[0].node_id
    r = fleet(
        "zoo:cnn",
        cluster=cluster.address,
        price=f"127.0.0.1=0.10,{w0[:8]}=0.50",
        report=tmp_path / "fleet.html",
        store=store_url,
        **FAST,
    )
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert {row["node_id"] for row in r.nodes} == nodes and len(r.nodes) == 3
    for row in r.nodes:
        assert row["status"] == "ok", row["reason"]
        assert row["usd_per_hour"] == (0.50 if row["node_id"] == w0 else 0.10)
        expected = row["usd_per_hour"] / (row["throughput_sps"] * 3600) * 1e6
        assert row["usd_per_million"] == pytest.approx(expected)
        assert row["ci95_ms"][0] <= row["p50_ms"] <= row["ci95_ms"][1]
    # three nodes of one machine: one fingerprint, pooled, with the spread between them
    assert len(r.machines) == 1 and r.machines[0]["n_nodes"] == 3 and r.machines[0]["node_spread"] >= 0
    assert r.fastest["machine_id"] == r.nodes[0]["machine_id"]
    assert r.to_dict()["cheapest"]["usd_per_million"] > 0
    run, ms = Store(store_url).get_run(r.run_id)
    assert run["kind"] == "fleet" and {m.extra["placement"]["node_id"] for m in ms} == nodes
    assert "Pooled by machine fingerprint" in (tmp_path / "fleet.html").read_text()
    assert report_page(r.run_id, store_url, "fleet")["plots"] > 0  # the stored fleet, reported later


def test_fleet_price_for_a_node_that_does_not_exist_stores_nothing(cluster, store_url, capsys):
    from nnspeed.cli.app import main

    code = main(["fleet", "zoo:cnn", "--cluster", cluster.address, "--price", "nosuchnode=1.2", "--store", store_url])
    err = capsys.readouterr().err
    assert code == 2 and "--price names 'nosuchnode', which is no alive node" in " ".join(err.split()), err
    assert Store(store_url).list_runs() == []


def test_a_worker_lost_mid_sweep_has_its_cell_run_elsewhere_and_stored_once(cluster, store_url):
    """Runs last: it takes a worker away (and puts a fresh one back for whatever follows)."""
    import threading

    victim = cluster.workers[1]
    removed, starts = [], []

    def remove():
        cluster.remove_node(victim, allow_graceful=False)
        removed.append(victim.node_id)

    class Starts(Events):
        def progress(self, what, done=None, total=None):
            starts.append(what)
            if len(starts) == 3:  # every node holds a cell now: take one away while its cell runs
                threading.Timer(1.0, remove).start()

    try:
        r = sweep("zoo:mlp", GRID, cluster=cluster.address, store=store_url, events=Starts(), retries=2, **SLOWER)
    finally:
        if removed:
            cluster.workers[1] = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    assert removed
    assert [o.status for o in r.outcomes] == ["ok"] * 6, [o.reason for o in r.outcomes]
    retried = [o for o in r.outcomes if o.attempts]
    assert len(retried) == 1 and len(starts) == 7  # six cells and one of them again
    assert retried[0].attempts[0]["node_id"] == victim.node_id and retried[0].node != victim.node_id
    db = Store(store_url)
    assert len(db.cells(r.sweep_id)) == 6 and db.get_run(r.sweep_id)[0]["n_results"] == 6
    stored = db.get_run_positions(r.sweep_id)[1][retried[0].cell.index]
    assert stored.extra["placement"]["lost_tries"][0]["node_id"] == victim.node_id
