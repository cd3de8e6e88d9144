"""``nnspeed train`` on the real digits data: the JSON contract and every optional part."""

import json

import pytest

from nnspeed.store.store import Store

pytestmark = pytest.mark.slow
MODEL = "zoo:digits-mlp?width=64"


def test_train_contract_breakdown_and_variants(cli_json, store_url):
    d = cli_json(
        ["train", MODEL, "--data", "digits", "--steps", "40", "--batch", "32,64", "--json", "--store", store_url]
    )
    assert set(d["breakdown_ms"]) == {"data", "h2d", "forward", "backward", "optimizer", "allreduce"}
    assert d["breakdown_ms"]["allreduce"] < 0.05  # one process: nothing to reduce
    assert d["breakdown_ms"]["forward"] > 0 and d["breakdown_ms"]["backward"] > 0
    assert sum(d["shares"].values()) == pytest.approx(1.0)
    assert 0.5 < d["sum_over_step"] < 1.5  # wide: a timed test on a shared machine
    assert d["samples_per_s"] == pytest.approx(32 * 1000 / d["step_ms"])
    assert d["statistic"] == "interquartile mean of steps after warm-up"
    assert d["sum_over_step"] == d["variants"][0]["sum_over_step"] and d["adds_up"] == d["variants"][0]["adds_up"]
    flagged = {x["where"] for x in d["invariants"]["violations"] if x["rule"] == "adds-up"}
    for i, v in enumerate(d["variants"]):  # the check reads the figures on display, and says when they disagree
        assert v["sum_over_step"] == pytest.approx(sum(v["breakdown_ms"].values()) / v["step_ms"])
        assert v["adds_up"] == (abs(v["sum_over_step"] - 1) <= 0.05)
        assert v["adds_up"] == (f"variants[{i}]" not in flagged)
    assert d["step_ms_mean"] > 0 and d["samples_per_s_overall"] > 0
    names = [v["name"] for v in d["variants"]]
    assert names[0] == "fp32 b32" and "fp32 b64" in names
    assert d["time_to_accuracy"] is None and d["stream"] is None and d["ddp"] is None
    assert d["energy"]["method"].split(":")[0] in ("measured", "estimated")
    assert d["train_vs_inference"]["ratio_per_sample"] > 1
    _, stored = Store(store_url).get_run(d["run_id"])
    assert [m.backend for m in stored] == ["torch-train"] * len(names)
    # a stored training run shows each variant's breakdown, as train --json gave it
    page = cli_json(["show", d["run_id"], "--json", "--store", store_url])
    shown = page["results"]
    assert [r["train"]["name"] for r in shown] == names
    assert shown[0]["train"]["breakdown_ms"] == d["variants"][0]["breakdown_ms"]
    assert shown[0]["train"]["step_ms"] == d["variants"][0]["step_ms"]
    # and the document train printed, stored with the run
    stored_doc = page["documents"]["train"]
    assert set(page["documents"]) == {"train"} and json.dumps(stored_doc["variants"]) == json.dumps(d["variants"])


def test_time_to_accuracy_excludes_evaluation(cli_json, store_url, tmp_path, report_page):
    d = cli_json(
        [
            "train",
            MODEL,
            "--data",
            "digits",
            "--steps",
            "10",
            "--precision",
            "fp32",
            "--target-accuracy",
            "0.9",
            "--report",
            str(tmp_path / "t.html"),
            "--json",
            "--store",
            store_url,
        ]
    )
    assert "Accuracy vs training time" in (tmp_path / "t.html").read_text()
    t = d["time_to_accuracy"]
    assert t["reached"] and t["curve"][-1][1] >= 0.9
    assert t["seconds"] == pytest.approx(t["curve"][-1][0]) and t["eval_seconds"] > 0
    assert all(a[0] < b[0] for a, b in zip(t["curve"], t["curve"][1:]))
    # the stored run reports later as it did then: its document is stored with it
    report_page(d["run_id"], store_url, "train")  # reported later from the store, in a browser
    assert "Accuracy vs training time" in (tmp_path / "train-report.html").read_text()


def test_stream_with_drift_drops_and_recovers(cli_json, store_url):
    d = cli_json(
        [
            "train",
            MODEL,
            "--data",
            "digits",
            "--steps",
            "10",
            "--precision",
            "fp32",
            "--stream",
            "--drift",
            "label",
            "--rate",
            "2000",
            "--json",
            "--store",
            store_url,
        ]
    )
    s = d["stream"]
    assert s["used"] == s["samples"] == 2 * 1437 and s["drift_at"] == 1437
    assert s["update_latency_ms"]["p50"] > 0 and s["max_backlog"] >= 0
    r = s["recovery"]
    assert r["lowest_after"] < r["before"]  # the label map changed: accuracy falls


def test_ddp_two_processes_on_loopback(cli_json, store_url):
    d = cli_json(
        [
            "train",
            MODEL,
            "--data",
            "digits",
            "--steps",
            "20",
            "--precision",
            "fp32",
            "--nproc",
            "2",
            "--json",
            "--store",
            store_url,
        ]
    )
    dd = d["ddp"]
    assert dd["nproc"] == 2 and dd["backend"] == "gloo" and dd["launcher"] == "torchrun"
    assert len(dd["per_process_samples_per_s"]) == 2 and 0 < dd["efficiency"] < 2
    assert dd["samples_per_s"] == pytest.approx(sum(dd["per_process_samples_per_s"]))
    split = dd["split"]  # the unoverlapped all-reduce, timed as its own phase
    assert split["breakdown_ms"]["allreduce"] == dd["allreduce_ms"] > 0 and 0 < split["efficiency"] < 2
    assert dd["breakdown_ms"]["allreduce"] < dd["allreduce_ms"]  # the wrapper reduces inside backward
    assert dd["step_overhead_ms"] == pytest.approx(dd["step_ms"] - dd["single_process_step_ms"])


def test_ddp_process_failure_is_one_sentence():
    from nnspeed.errors import InputError
    from nnspeed.training.ddp import launch

    job = {
        "source": MODEL,
        "data": "digits",
        "batch": 16,
        "precision": "fp64",
        "steps": 4,
        "threads": 1,
        "device": "cpu",
        "mode": "ddp",
    }
    with pytest.raises(InputError, match="a DDP process failed: InputError: unknown training precision"):
        launch(2, job)
