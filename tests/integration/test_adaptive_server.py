"""The adaptive server on a real trained model: the governor's run and every variant's replay
of the same seeded schedule, with the accuracy each delivered counted against real labels."""

import pytest

from nnspeed.cli.app import main
from nnspeed.store.store import Store

pytestmark = pytest.mark.slow
ARGS = ["--scenario", "server", "--qps", "400", "--slo-p99", "20", "--max-time", "1.5", "--threads", "1"]


def test_adaptive_run_and_static_replays_of_one_schedule(cli_json, store_url, tmp_path, report_page):
    doc = cli_json(
        [
            "bench",
            "zoo:digits-mlp",
            *ARGS,
            "--burstiness",
            "4",
            "--adaptive",
            "eager fp32,onnxruntime int8 dynamic",
            "--report",
            str(tmp_path / "a.html"),
            "--store",
            store_url,
            "--json",
        ]
    )
    page = (tmp_path / "a.html").read_text()
    assert "the adaptive server and each variant alone" in page and "accuracy delivered" in page
    assert [r["mode"] for r in doc["runs"]] == ["adaptive", "eager fp32", "onnxruntime int8 dynamic"]
    for r in doc["runs"]:
        assert sum(r["shares"].values()) == pytest.approx(1.0, abs=1e-9) or r["unserved"]
        assert 0 <= r["delivered_accuracy"] <= 100 and r["p50_ms"] <= r["p99_ms"]
        assert len(r["timeline"]) > 0
    alone = {r["mode"]: r for r in doc["runs"][1:]}
    assert alone["eager fp32"]["shares"] == {"eager fp32": 1.0, "onnxruntime int8 dynamic": 0.0}
    assert alone["eager fp32"]["switches"] == 0
    a = doc["runs"][0]
    assert a["switches"] == len(a["switch_log"])
    # what each variant delivered on its own requests matches its replay within a few requests
    for name, acc in a["accuracy_by_variant"].items():
        if acc is not None and a["shares"][name] > 0.2:
            assert acc == pytest.approx(alone[name]["delivered_accuracy"], abs=5)
    run, ms = Store(store_url).get_run(doc["run_id"])
    assert run["kind"] == "adaptive" and len(ms) == 3 and ms[0].source.endswith("#adaptive")
    assert ms[0].extra["adaptive"]["delivered_accuracy"] == a["delivered_accuracy"]
    report_page(doc["run_id"], store_url, "adaptive")  # reported later from the store, in a browser
    assert "the adaptive server and each variant alone" in (tmp_path / "adaptive-report.html").read_text()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--adaptive", "eager fp32"], "at least two variants"),
        (["--adaptive", "eager fp32,tensorrt int4"], "'tensorrt int4', which is not a variant"),
        (["--adaptive", "eager fp32,eager fp32"], "names a variant twice"),
    ],
)
def test_bad_adaptive_input_is_one_sentence(extra, message, store_url, capsys):
    code = main(["bench", "zoo:digits-mlp", *ARGS, *extra, "--store", store_url])
    err = capsys.readouterr().err
    assert code == 2 and message in " ".join(err.split()), err
    assert err.strip().startswith("error:") and "Traceback" not in err
    assert Store(store_url).list_runs() == []


def test_adaptive_without_labelled_data_is_one_sentence(store_url, capsys):
    code = main(["bench", "zoo:mlp", *ARGS, "--adaptive", "eager fp32,onnxruntime", "--store", store_url])
    err = capsys.readouterr().err
    assert code == 2 and "counts the accuracy delivered: give --data" in " ".join(err.split()), err
    assert Store(store_url).list_runs() == []


def test_capacity_adaptive_searches_every_mode_on_the_same_schedules(cli_json, store_url):
    doc = cli_json(
        [
            "capacity",
            "zoo:digits-mlp",
            "--slo-p99",
            "10",
            "--trial-time",
            "0.3",
            "--threads",
            "1",
            "--adaptive",
            "eager fp32,onnxruntime int8 dynamic",
            "--store",
            store_url,
            "--json",
        ]
    )
    assert list(doc["capacity"]) == ["adaptive", "eager fp32", "onnxruntime int8 dynamic"]
    for mode, best in doc["capacity"].items():
        assert best["max_qps"] > 0, mode
        assert 0 <= best["delivered_accuracy"] <= 100
        assert {p["mode"] for p in doc["curve"]} >= {mode}
    assert doc["capacity"]["eager fp32"]["shares"] == {"eager fp32": 1.0, "onnxruntime int8 dynamic": 0.0}
    run, ms = Store(store_url).get_run(doc["run_id"])
    assert run["kind"] == "capacity" and {m.extra["capacity_mode"] for m in ms} == set(doc["capacity"])
