"""The search on a real trained model: fastest accurate variant chosen, broken ones never."""

import json
from pathlib import Path

import pytest

from nnspeed.cli.app import main
from nnspeed.optimization.variants import CANDIDATES

VARIANT_KEYS = {
    "name",
    "transforms",
    "backend",
    "precision",
    "latency_ms",
    "speedup",
    "speedup_ci95",
    "accuracy",
    "accuracy_drop",
    "per_class_drop",
    "status",
    "reason",
}


@pytest.fixture(scope="module")
def digits_cnn(tmp_path_factory):
    root = tmp_path_factory.mktemp("opt")
    argv = [
        "optimize",
        "zoo:digits-cnn",
        "--data",
        "digits",
        "--max-drop",
        "1.0",
        "--threads",
        "1",
        "--min-time",
        "0.2",
        "--max-time",
        "1",
        "--export",
        str(root / "export"),
        "--out",
        str(root / "out"),
        "--store",
        f"sqlite:///{root / 'db'}",
        "--json",
    ]
    return root, argv


def test_digits_cnn_choice_is_fastest_within_tolerance(digits_cnn, capsys):
    root, argv = digits_cnn
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"baseline", "variants", "chosen"} <= set(doc)
    assert doc["baseline"]["accuracy"] >= 95 and doc["baseline"]["latency_ms"] > 0
    assert len(doc["variants"]) == len(CANDIDATES)
    for v in doc["variants"]:
        assert VARIANT_KEYS <= set(v) and v["status"] in ("ok", "rejected", "failed")
        if v["status"] == "ok":
            assert v["accuracy_drop"] <= 1.0 and v["speedup_ci95"][0] <= v["speedup"] <= v["speedup_ci95"][1]
        if v["status"] == "rejected":
            assert v["reason"]
    ok = [v for v in doc["variants"] if v["status"] == "ok"]
    chosen = next(v for v in doc["variants"] if v["name"] == doc["chosen"])
    assert chosen["status"] == "ok"
    fastest = max(ok, key=lambda v: v["speedup"])
    # the fastest, not the first; or a simpler variant it cannot be told from
    assert chosen is fastest or fastest["name"] in chosen["tied_with"]
    assert chosen["speedup"] > 1.5  # the 2x target is recorded in the note; CI machines are shared
    unstructured = next(v for v in doc["variants"] if "unstructured" in v["name"])
    assert unstructured["speedup"] < 1.3  # zeros in dense kernels buy (almost) nothing
    assert (root / "export" / "README.md").exists()
    assert "Variants of zoo:digits-cnn" in (root / "out" / "report.html").read_text()
    assert json.loads((root / "out" / "result.json").read_text())["chosen"] == doc["chosen"]
    again = root / "again.html"
    assert main(["report", doc["run_id"], "-o", str(again), "--store", argv[argv.index("--store") + 1]]) == 0
    assert "Variants of zoo:digits-cnn" in again.read_text()
    formats = ("model.onnx", "model.xml", "model.pt", "state_dict.pt", "model.tflite")
    assert any((root / "export" / f).exists() for f in formats)
    # Every file the export names is there, and the README's load line names the model file.
    exported = [Path(f) for f in doc["exported"]]
    assert exported and all(f.exists() for f in exported)
    assert f"'{exported[0].name}'" in (root / "export" / "README.md").read_text()


def test_nothing_within_an_impossible_tolerance_is_chosen_honestly(capsys, store_url):
    code = main(
        [
            "optimize",
            "zoo:digits-mlp",
            "--data",
            "digits",
            "--max-drop",
            "0",
            "--budget",
            "0.000001",
            "--min-time",
            "0.1",
            "--max-time",
            "0.3",
            "--time-limit",
            "5",
            "--store",
            store_url,
        ]
    )
    err = capsys.readouterr().err
    assert code == 0 and "no variant stays within" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["zoo:mlp", "--data", "digits"], "takes inputs of shape"),
        (["zoo:digits-cnn", "--data", "imagenet"], "unknown data set"),
        (["zoo:digits-cnn", "--max-drop", "-1"], "must be ≥ 0"),
        (["zoo:digits-cnn", "--variants", "tensorrt"], "matches no variant"),
        (["zoo:digits-cnn", "--fidelity", "accuracy:99"], "METRIC one of agreement"),
        (["zoo:digits-cnn", "--fidelity", "agreement:101"], "at most 100"),
        (["zoo:digits-cnn", "--data", "digits", "--fidelity", "snr:30"], "give one or the other"),
    ],
)
def test_bad_optimize_input(argv, message, capsys, store_url):
    assert main(["optimize", *argv, "--store", store_url]) == 2
    assert message in capsys.readouterr().err


def test_users_own_eval_function(tmp_path, cli_json, store_url):
    (tmp_path / "myeval.py").write_text(
        "import numpy as np\n"
        "from nnspeed.workloads.datasets import digits\n"
        "def accuracy(predict):\n"
        "    d = digits()\n"
        "    return 100.0 * float(np.mean(predict(d.x_test).argmax(-1) == d.y_test))\n"
    )
    doc = cli_json(
        [
            "optimize",
            "zoo:digits-mlp",
            "--eval",
            "myeval:accuracy",
            "--variants",
            "onnxruntime",
            "--min-time",
            "0.1",
            "--max-time",
            "0.3",
            "--out",
            str(tmp_path / "o"),
            "--store",
            store_url,
            "--json",
        ]
    )
    assert doc["metric"] == "score of myeval:accuracy"
    assert doc["baseline"]["accuracy"] > 90
    assert all(v["accuracy"] is not None for v in doc["variants"] if v["status"] != "failed")


def test_batch_axis_picks_highest_throughput_within_budget(cli_json, tmp_path, store_url):
    doc = cli_json(
        [
            "optimize",
            "zoo:digits-cnn",
            "--data",
            "digits",
            "--variants",
            "onnxruntime int8 static",
            "--batch",
            "1,16",
            "--budget",
            "50",
            "--min-time",
            "0.1",
            "--max-time",
            "0.3",
            "--out",
            str(tmp_path / "o"),
            "--store",
            store_url,
            "--json",
        ]
    )
    ok = [v for v in doc["variants"] if v["status"] == "ok"]
    assert sorted(v["batch"] for v in ok) == [1, 16]
    chosen = next(v for v in ok if v["name"] == doc["chosen"])
    assert chosen["throughput_sps"] == max(v["throughput_sps"] for v in ok)


def test_head_pruning_really_shrinks_attention():
    import nnspeed
    from nnspeed.errors import UnsupportedError
    from nnspeed.transforms.prune import head_prune

    w = nnspeed.load("zoo:minilm?seq=32")
    pruned = head_prune(w, 0.5)
    layers = pruned.model.model.encoder.layer
    assert all(layer.attention.self.num_attention_heads == 6 for layer in layers)
    assert all(layer.attention.self.query.out_features == 192 for layer in layers)
    assert pruned.params() < w.params() and pruned.source.endswith("#heads-pruned50")
    out = pruned.model(*w.torch_args(2))
    assert out.shape == (2, 384)
    with pytest.raises(UnsupportedError, match="BERT-style attention"):
        head_prune(nnspeed.load("zoo:mlp"))


def test_unet_without_labels_scores_each_row_with_metric_n_and_interval(cli_json, tmp_path, store_url):
    """A per-pixel class map is scored pixel by pixel against fp32; structured pruning gets
    through the torch.cat skips (or says why not)."""
    variants = "eager bf16,eager pruned 50% structured"
    quick = "--threads 1 --min-time 0.1 --max-time 0.3 --json".split()
    argv = ["optimize", "py:tests.gallery.models:unet", "--variants", variants, *quick]
    doc = cli_json([*argv, "--out", str(tmp_path / "o"), "--store", store_url])
    out = doc["scoring"]["outputs"][0]
    assert out["kind"] == "class-map" and out["metric"] == "agreement" and "heuristic" in doc["scoring"]["rule"]
    assert doc["scoring"]["n"] >= 64
    for row in [doc["baseline"], *(v for v in doc["variants"] if v["status"] != "failed")]:
        score = row["score"]
        assert score["metric"] and score["n"] >= 64 and score["ci95"][0] <= score["value"] <= score["ci95"][1]
        assert all({"metric", "value", "ci95", "n", "threshold", "passed"} <= set(o) for o in score["outputs"])
    pruned = next(v for v in doc["variants"] if "structured" in v["name"])
    assert pruned["status"] in ("ok", "rejected"), pruned["reason"]  # it runs on a model with skip connections
    assert pruned["score"]["n"] > 0
    assert doc["chosen"] is not None
