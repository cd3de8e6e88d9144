"""Load scenarios through the CLI on a real (tiny) model: the JSON contracts and what is stored."""

import pytest

from nnspeed.store.store import Store

MLP = "zoo:mlp?depth=1&width=32"
# Latency-bound runs take one thread: two threads on a machine where another process keeps a
# core busy wait for that core at every operator, and a p99 target then measures the neighbour.
ONE_THREAD = ["--threads", "1"]


def test_realtime_json_contract_and_store(cli_json, store_url):
    d = cli_json(
        [
            "bench",
            MLP,
            "--scenario",
            "realtime",
            "--fps",
            "200",
            "--max-time",
            "1",
            *ONE_THREAD,
            "--json",
            "--store",
            store_url,
        ]
    )
    r = d["results"][0]
    rt = r["realtime"]
    assert {"fps", "miss_rate", "dropped", "jitter_ms", "max_fps"} <= set(rt)
    assert rt["fps"] == 200 and rt["frames"] == 200
    assert 0 <= rt["miss_rate"] <= 1 and rt["dropped"] == 0
    # a tiny MLP call is far under 5 ms: most frames are on time and it sustains more than 200 fps
    assert rt["miss_rate"] < 0.2 and rt["max_fps"] > 200
    assert r["scenario"] == "realtime" and rt["deadline_ms"] == pytest.approx(5)
    assert Store(store_url).count_results() == 1


def test_server_json_contract(cli_json, store_url):
    d = cli_json(
        [
            "bench",
            MLP,
            "--scenario",
            "server",
            "--qps",
            "500",
            "--slo-p99",
            "50",
            "--max-batch",
            "8",
            "--max-time",
            "1",
            *ONE_THREAD,
            "--json",
            "--store",
            store_url,
        ]
    )
    s = d["results"][0]["server"]
    assert {"qps", "slo_p99_ms", "p99_ms", "goodput", "passed", "batch_hist"} <= set(s)
    assert s["requests"] == 500 and s["unserved"] == 0
    assert sum(int(b) * n for b, n in s["batch_hist"].items()) == 500
    assert s["passed"] is True and s["goodput"] == pytest.approx(500, rel=0.3)


def test_offline_over_batches(cli_json, store_url):
    d = cli_json(
        [
            "bench",
            MLP,
            "--scenario",
            "offline",
            "--batch",
            "1,16",
            "--min-time",
            "0.2",
            "--max-time",
            "0.5",
            "--json",
            "--store",
            store_url,
        ]
    )
    rows = d["results"]
    assert [r["offline"]["batch"] for r in rows] == [1, 16]
    assert all(r["offline"]["samples_per_s"] > 0 for r in rows)


def test_capacity_contract_report_and_store(cli_json, tmp_path, store_url, report_page):
    d = cli_json(
        [
            "capacity",
            MLP,
            "--slo-p99",
            "20",
            "--trial-time",
            "0.3",
            "--max-batch",
            "16",
            *ONE_THREAD,
            "--report",
            str(tmp_path / "cap.html"),
            "--json",
            "--store",
            store_url,
        ]
    )
    assert set(d["max_qps"]) == {"no_batching", "dynamic_batching"}
    assert d["slo_p99_ms"] == 20
    assert {p["batching"] for p in d["curve"]} == {"no_batching", "dynamic_batching"}
    assert all({"offered_qps", "p99_ms", "batching"} <= set(p) for p in d["curve"])
    # the knee was bracketed: some trial held the SLO and some missed it, in each mode
    for mode in ("no_batching", "dynamic_batching"):
        passed = {p["passed"] for p in d["curve"] if p["batching"] == mode}
        assert passed == {True, False}, mode
        assert d["max_qps"][mode] > 0
    assert "Latency vs offered load" in (tmp_path / "cap.html").read_text()
    # the server run at each mode's highest passing rate is stored
    _, stored = Store(store_url).get_run(d["run_id"])
    assert [m.extra["server"]["qps"] for m in stored] == [d["max_qps"]["no_batching"], d["max_qps"]["dynamic_batching"]]
    # and reported later from the store, curve and all
    report_page(d["run_id"], store_url, "capacity")  # reported later from the store, in a browser
    later = (tmp_path / "capacity-report.html").read_text()
    assert "Latency vs offered load" in later and "Capacity of zoo:mlp" in later


def test_offline_streams_on_onnxruntime(cli_json, store_url):
    d = cli_json(
        [
            "bench",
            MLP,
            "--backend",
            "onnxruntime",
            "--scenario",
            "offline",
            "--streams",
            "2",
            "--threads",
            "2",
            "--batch",
            "4",
            "--min-time",
            "0.2",
            "--max-time",
            "0.5",
            "--json",
            "--store",
            store_url,
        ]
    )
    r = d["results"][0]
    assert r["offline"]["streams"] == 2 and r["effective"]["threads_per_stream"] == 1
    # both streams ran in the window, and the throughput counts every sample they finished
    calls = r["offline"]["per_stream_calls"]
    assert len(calls) == 2 and min(calls) > 0
    assert r["n"] == sum(calls) and r["offline"]["samples_per_s"] > 0
