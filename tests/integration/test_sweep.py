"""Sweeps: isolated cells, failures recorded, resumable after kill -9, each cell stored once."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

from nnspeed.cli.app import main
from nnspeed.store import schema
from nnspeed.store.store import Store

QUICK = ["--min-time", "0.2", "--max-time", "0.5"]


def bf16_native() -> bool:
    from nnspeed.backends.base import check_hardware_precision
    from nnspeed.errors import UnsupportedError

    try:
        check_hardware_precision("bf16", "cpu")
    except UnsupportedError:
        return False
    return True


@pytest.fixture
def sweep_json(cli_json):
    return lambda argv: cli_json(["sweep", *argv, "--json"])


def test_impossible_cell_is_recorded_and_the_rest_finish(sweep_json, capsys, store_url, report_page):
    doc = sweep_json(
        [
            "zoo:mlp?depth=2",
            "--grid",
            "backend=torch-eager,onnxruntime;precision=fp32,bf16",
            "--store",
            store_url,
            *QUICK,
        ],
    )
    by_key = {(c["backend"], c["precision"]): c for c in doc["cells"]}
    assert len(by_key) == 4
    failed = by_key[("onnxruntime", "bf16")]
    assert failed["status"] == "failed" and "no bf16 kernels" in failed["reason"] and failed["result"] is None
    # A CPU without bf16 instructions (an AMD EPYC with AVX2 only) refuses eager bf16 as well.
    impossible = {("onnxruntime", "bf16")} | (set() if bf16_native() else {("torch-eager", "bf16")})
    for k, c in by_key.items():
        if k in impossible:
            assert c["status"] == "failed" and c["result"] is None
            assert k[0] == "onnxruntime" or "no native bf16" in c["reason"]
        else:
            assert c["status"] == "ok" and c["result"]["latency_ms"]["p50"] > 0
    # Cells ran in their own processes: the thread count of one cannot leak into the next.
    assert Store(store_url).get_run(doc["sweep_id"])[0]["n_results"] == 4 - len(impossible)
    seen = report_page(doc["sweep_id"], store_url, "sweep")
    assert "Failed cells" in seen["sections"] and seen["plots"] > 0


def test_hung_cell_times_out_and_sweep_goes_on(sweep_json, capsys, store_url, tmp_path):
    (tmp_path / "slowmodels.py").write_text(
        textwrap.dedent(
            """
            import os, time, torch

            class Slow(torch.nn.Module):
                def forward(self, x):
                    if x.shape[0] > 1:
                        time.sleep(3600)
                    return x * 2

            def slow():
                return Slow()
            """
        )
    )
    doc = sweep_json(
        [
            "py:slowmodels:slow",
            "--input-shape",
            "1x4",
            "--grid",
            "batch=1,2",
            "--cell-timeout",
            "15",
            "--store",
            store_url,
            *QUICK,
        ],
    )
    status = {c["batch"]: c for c in doc["cells"]}
    assert status[1]["status"] == "ok"
    assert status[2]["status"] == "failed" and "cell timeout of 15 s" in status[2]["reason"]


def _stored_cells(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        return [r.cell_key for r in conn.execute(sa.select(schema.cells.c.cell_key))]


def _sweep_until(store_url: str, grid: str, cells: int, **popen) -> subprocess.Popen:
    """Start a sweep in its own process and return once ``cells`` cells are stored."""
    cmd = [sys.executable, "-m", "nnspeed", "sweep", "zoo:mlp?depth=1", "--grid", grid, "--store", store_url, *QUICK]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, **popen)
    Store(store_url)
    deadline = time.time() + 120
    while len(_stored_cells(store_url)) < cells and time.time() < deadline:
        time.sleep(0.2)
    return proc


def test_sweep_killed_halfway_resumes_only_missing_cells(sweep_json, capsys, store_url):
    grid = "batch=1,2,4,8,16,32"
    proc = _sweep_until(store_url, grid, cells=2, stderr=subprocess.DEVNULL, start_new_session=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = set(_stored_cells(store_url))
    assert 2 <= len(before) < 6, "the kill did not land halfway"
    time.sleep(1)  # a running cell's process dies with its parent: nothing more is stored
    assert set(_stored_cells(store_url)) == before

    doc = sweep_json(["zoo:mlp?depth=1", "--grid", grid, "--store", store_url, *QUICK])
    resumed = {c["key"] for c in doc["cells"] if c["resumed"]}
    assert resumed == before
    assert all(c["status"] == "ok" and c["result"] for c in doc["cells"])
    keys = _stored_cells(store_url)
    assert len(keys) == 6 == len(set(keys))  # each cell exactly once
    run, ms = Store(store_url).get_run(doc["sweep_id"])
    assert run["n_results"] == 6 and sorted(m.batch for m in ms) == [1, 2, 4, 8, 16, 32]

    again = sweep_json(["zoo:mlp?depth=1", "--grid", grid, "--store", store_url, *QUICK])
    assert all(c["resumed"] for c in again["cells"])  # nothing left to run


def test_ctrl_c_keeps_finished_cells_and_says_so(store_url, interruptible):
    # more cells than can finish between the first one landing and the signal, even on a busy machine
    proc = _sweep_until(
        store_url, "batch=1,2,3,4,5,6,7,8,16,32,48,64", cells=1, stderr=subprocess.PIPE, text=True, **interruptible
    )
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    assert 1 <= len(_stored_cells(store_url)) < 12


def test_retry_failed(sweep_json, capsys, store_url):
    argv = ["zoo:mlp?depth=1", "--grid", "backend=onnxruntime;precision=fp32,bf16", "--store", store_url, *QUICK]
    first = sweep_json(argv)
    assert [c["status"] for c in first["cells"]] == ["ok", "failed"]
    retried = sweep_json([*argv, "--retry-failed"])
    assert [c["resumed"] for c in retried["cells"]] == [True, False]
    assert len(_stored_cells(store_url)) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["zoo:mlp", "--grid", "detph=2"], "has no key 'detph'"),
        (["zoo:mlp", "--grid", "backend=tensorrt"], "unknown backend 'tensorrt'"),
        (["zoo:nosuch", "--grid", "batch=1"], "unknown zoo model"),
    ],
)
def test_bad_sweeps(argv, message, capsys, store_url):
    assert main(["sweep", *argv, "--store", store_url]) == 2
    assert message in capsys.readouterr().err
    assert Store(store_url).list_runs() == []
