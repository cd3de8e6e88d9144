"""Early-exit variants scored on real held-out data: exit shares, mean latency against the
baseline in interleaved rounds, a user's own classifier with named exits, and bad input."""

import textwrap

import pytest

from nnspeed.cli.app import main
from nnspeed.store.store import Store

pytestmark = pytest.mark.slow
FAST = ["--threads", "1", "--min-time", "0.2", "--max-time", "0.5"]


def test_early_exit_variants_of_the_digits_cnn_say_where_samples_left(cli_json, tmp_path):
    doc = cli_json(
        [
            "optimize",
            "zoo:digits-cnn",
            "--data",
            "digits",
            "--early-exit",
            "--variants",
            "eager early exit",
            "--exit-taus",
            "0.9,0.999",
            "--out",
            str(tmp_path / "o"),
            "--json",
            *FAST,
        ]
    )
    ee = [v for v in doc["variants"] if "early exit" in v["name"]]
    assert [v["name"] for v in ee] == ["eager early exit max-prob 0.9", "eager early exit max-prob 0.999"]
    for v, kept in zip(ee, (["2", "6"], ["6"])):
        assert v["status"] in ("ok", "rejected"), v["reason"]
        details = v["details"]["early_exit"]
        # at 0.999 the stem's head is almost never that sure: --exits auto leaves that exit out
        assert details["exits_after"] == kept and set(details["exit_shares"]) == {*kept, "full model"}
        assert set(details["exits_dropped"]) == {"2", "6"} - set(kept)
        assert all(share < 0.05 for share in details["exits_dropped"].values())
        assert set(details["head_accuracy"]) == {"2", "6"}
        assert sum(details["exit_shares"].values()) == pytest.approx(1.0)
        assert v["speedup_statistic"] == "mean" and v["mean_ms"] > 0 and v["p99_ms"] >= v["mean_ms"] * 0.5
        assert v["speedup_ci95"][0] <= v["speedup"] <= v["speedup_ci95"][1]
    eager, cautious = (v["details"]["early_exit"]["exit_shares"]["full model"] for v in ee)
    assert eager <= cautious  # a stricter threshold sends more samples all the way
    assert "exits:" not in doc.get("report", "")  # the HTML is a file; its table carries the shares
    assert "early exit" in (tmp_path / "o" / "report.html").read_text()


@pytest.fixture
def user_classifier(tmp_path, monkeypatch):
    (tmp_path / "eeuser.py").write_text(
        textwrap.dedent(
            """
            from collections import OrderedDict

            import torch.nn as nn

            def net():
                return nn.Sequential(OrderedDict(
                    stem=nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU()),
                    body=nn.Sequential(nn.Linear(48, 48), nn.ReLU()),
                    classifier=nn.Linear(48, 10),
                ))

            def not_a_classifier():
                return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32))

            def data():
                from sklearn.datasets import load_digits

                d = load_digits()
                x = (d.images / 16.0)[:, None].astype("float32")
                return {"x_train": x[:1200], "y_train": d.target[:1200], "x_test": x[1200:], "y_test": d.target[1200:]}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_users_classifier_with_named_exits_and_its_own_data(user_classifier, cli_json, tmp_path):
    doc = cli_json(
        [
            "optimize",
            "py:eeuser:net",
            "--input-shape",
            "1x1x8x8",
            "--data",
            "py:eeuser:data",
            "--early-exit",
            "--exits",
            "stem,body",
            "--exit-taus",
            "0.5",
            "--variants",
            "eager early exit",
            "--max-drop",
            "100",
            "--batch",
            "1,4",
            "--out",
            str(tmp_path / "o"),
            "--json",
            *FAST,
        ]
    )
    v, v4 = doc["variants"]
    assert v["status"] == "ok" and v4["status"] == "ok", (v["reason"], v4["reason"])
    # at batch 4 the gain is also set against the plain model at batch 4, batching aside
    assert v["speedup_same_batch"] == pytest.approx(v["speedup"])
    lo, hi = v4["speedup_same_batch_ci95"]
    assert lo <= v4["speedup_same_batch"] <= hi and v4["speedup_same_batch"] != v4["speedup"]
    details = v["details"]["early_exit"]
    assert details["exits_after"] == ["stem", "body"]
    assert set(details["exit_shares"]) == {"stem", "body", "full model"}
    assert set(details["head_accuracy"]) == {"stem", "body"} and details["exits_dropped"] == {}  # named: kept


@pytest.mark.parametrize(
    "argv, message",
    [
        (["optimize", "zoo:mlp", "--early-exit"], "labelled data"),
        (["optimize", "zoo:digits-cnn", "--data", "digits", "--early-exit", "--exits", "neck"], "not a module of"),
        (["optimize", "zoo:digits-cnn", "--data", "digits", "--early-exit", "--exit-rule", "margin"], "exit rule"),
        (["optimize", "zoo:digits-cnn", "--data", "digits", "--early-exit", "--exit-taus", "2"], "probability in"),
        (["optimize", "zoo:digits-cnn", "--data", "digits", "--early-exit", "--exit-taus", "high"], "numbers"),
        (
            ["optimize", "py:eeuser:not_a_classifier", "--input-shape", "1x1x8x8", "--data", "digits", "--early-exit"],
            "need a classifier of the data's 10 classes",
        ),
        (["optimize", "zoo:digits-cnn", "--data", "py:eeuser:nosuch", "--early-exit"], "has no function"),
    ],
)
def test_bad_early_exit_input_is_one_sentence(argv, message, user_classifier, store_url, capsys, tmp_path):
    code = main([*argv, "--store", store_url, "--out", str(tmp_path / "o"), *FAST])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines[0].startswith("error:") and "Traceback" not in err
    assert message in " ".join(err.split()), err
    assert Store(store_url).list_runs() == []
