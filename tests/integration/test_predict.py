"""predict: operator tables measured here, a model's latency from its trace, device profiles as
files, and the held-out evaluation's JSON contract."""

import json

import pytest

import nnspeed
from nnspeed.cli.app import main
from nnspeed.commands.events import Events
from nnspeed.explanation.flops import count_flops
from nnspeed.prediction.archs import draw
from nnspeed.prediction.trace import trace_model

SMALL = ["--threads", "1", "--scale", "0.04"]  # a few samples per operator family: seconds, not minutes


def test_trace_runs_on_meta_and_sees_modules_and_functions():
    w = nnspeed.load("zoo:mlp")
    t = trace_model(w.model, w.torch_args(4))
    assert t.device == "meta" and t.containers == 1
    assert t.counts() == {"Linear": 5, "ReLU": 4, "Softmax": 1}
    linear = next(c for c in t.calls if c.op == "Linear")
    assert linear.shapes == [(4, 100)] and linear.attrs["in_features"] == 100
    assert t.batch == 4 and t.flops == count_flops(w.model, w.torch_args(4))
    arch, model, args = draw(3, seed=5)[2]
    assert arch["family"] == "transformer"
    counts = trace_model(model, args).counts()
    assert counts["scaled_dot_product_attention"] == arch["depth"] and counts["Linear"] == 4 * arch["depth"]
    assert counts["add"] == 2 * arch["depth"]  # the residual adds, outside any leaf module


def test_predict_profile_export_and_evaluate(cli_json, tmp_path, store_url, capsys, same_document, report_page):
    doc = cli_json(["predict", "zoo:mlp", *SMALL, "--json"])
    assert {"predicted_ms", "by_op", "unmodelled", "profile", "threads"} <= set(doc)
    assert doc["threads"] == 1 and doc["unmodelled"] == {} and doc["by_op"]["Linear"]["count"] == 5
    measured = nnspeed.bench("zoo:mlp", threads=1, min_time=0.2, max_time=1).latency_ms.p50
    assert 0.2 < doc["predicted_ms"] / measured < 5  # a coarse table; the real figures live in the issue notes
    # the profile travels as a file: the same tables give the same prediction elsewhere
    path = tmp_path / "profile.json"
    cli_json(["machine", "--threads", "1", "--export", str(path), "--json"])
    table = json.loads(path.read_text())["operators"]["1"]
    assert {"Linear", "Conv2d", "composition"} <= set(table["fitted"])  # hyperparameters travel with the samples
    cnns = [r for r in table["training"] if r["family"] == "cnn"]  # convolution time split by torch's path
    assert cnns and all(0 < sum(r["conv_ms"]) <= r["by_category_ms"][0] for r in cnns)
    again = cli_json(["predict", "zoo:mlp", "--threads", "1", "--machine", str(path), "--json"])
    unanchored = doc["predicted_ms"] / doc["drift_factor"]
    assert again["predicted_ms"] == pytest.approx(unanchored, rel=1e-9) and again["profile"]["from"] == str(path)
    assert main(["predict", "zoo:mlp", "--threads", "3", "--machine", str(path)]) == 2
    assert "not 3" in capsys.readouterr().err
    # this machine's table, measured now or cached, is re-anchored to the machine's drift, unless asked not to
    anchored = cli_json(["predict", "zoo:mlp", *SMALL, "--json"])
    drift = anchored["profile"]["drift"]
    assert doc["profile"]["drift"] is not None and again["profile"]["drift"] is None  # another machine's: as it is
    assert drift["anchors"] >= 3 and len(drift["ratios"]) == drift["anchors"] and 0.2 < anchored["drift_factor"] < 5
    assert anchored["predicted_ms"] == pytest.approx(unanchored * anchored["drift_factor"], rel=1e-9)
    plain = cli_json(["predict", "zoo:mlp", *SMALL, "--no-anchor", "--json"])
    assert plain["drift_factor"] == 1.0 and plain["predicted_ms"] == pytest.approx(unanchored, rel=1e-9)
    heard = []  # the command as a function: the same document, its phases told as they go

    class Told(Events):
        def progress(self, what, done=None, total=None):
            heard.append((what, done, total))

    p = nnspeed.predict("zoo:mlp", threads=1, scale=0.04, anchor=False, events=Told())
    assert p.predicted_ms == pytest.approx(unanchored, rel=1e-9) and p.measurements == [] and heard[0][1] == 0
    same_document(plain, p.to_dict())
    ev = cli_json(["predict", "--evaluate", "--models", "3", "--rounds", "2", *SMALL, "--store", store_url, "--json"])
    assert {"n_models", "within_5pct", "within_10pct", "rmspe", "models"} <= set(ev) and ev["n_models"] == 3
    assert ev["drift"]["anchors"] >= 3  # reference models measured in the same rounds
    assert [m["arch"]["family"] for m in ev["models"]] == ["mlp", "cnn", "transformer"]
    for m in ev["models"]:
        assert len(m["rounds_ms"]) == 2 and m["measured_ms"] == pytest.approx(sum(m["rounds_ms"]) / 2)  # median of 2
        assert m["measured_ms"] > 0 and m["error"] == pytest.approx(
            (m["predicted_ms"] - m["measured_ms"]) / m["measured_ms"]
        )
    assert 0 <= ev["within_5pct"] <= ev["within_10pct"] <= 1
    for k in ("within_5pct", "within_10pct"):
        assert 0 <= ev[f"{k}_ci"][0] <= ev[k] <= ev[f"{k}_ci"][1] <= 1  # 3 models: a wide interval
        assert ev[f"{k}_ci"][1] - ev[f"{k}_ci"][0] > 0.4
    rep = ev["measurement_repeatability"]
    assert ev["rounds"] == 2 and 0 <= rep["within_5pct"] <= rep["within_10pct"] <= 1 and rep["median_spread"] >= 0
    assert isinstance(ev["notes"], list)  # a warning when the rounds spread too far to judge ±10%
    assert len(nnspeed.Store(store_url).get_run(ev["run_id"])[1]) == 3
    report_page(ev["run_id"], store_url, "predict-evaluate")  # reported later from the store, in a browser
    assert (
        "<code>rmspe</code>" in (tmp_path / "predict-evaluate-report.html").read_text()
    )  # the evaluation's figures, reported later
    with pytest.raises(nnspeed.NnspeedError, match="not both"):
        nnspeed.predict("zoo:mlp", evaluate=True)


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "give a SOURCE"),
        (["zoo:mlp", "--evaluate"], "give a SOURCE"),
        (["zoo:mlp", "--backend", "openvino"], "torch-eager at fp32"),
        (["zoo:mlp", "--machine", "missing.json"], "cannot read the machine profile"),
        (["zoo:mlp", "--batch", "0"], "positive integers"),
        (["--evaluate", "--seed", "1000"], "trained on"),
        (["--evaluate", "--rounds", "0"], "--rounds"),
    ],
)
def test_predict_bad_input(argv, message, capsys):
    assert main(["predict", *argv]) == 2
    assert message in capsys.readouterr().err


def test_composition_learns_what_whole_models_cost_beyond_their_parts():
    """Training models that take 1.3x their summed parts, plus noise: the factor comes back."""
    import numpy as np

    from nnspeed.prediction.corrections import Composition

    rng = np.random.default_rng(0)

    def row(parts):
        cats = rng.dirichlet(np.ones(4)) * parts
        im2col = cats[0] * rng.uniform()  # the GEMM-class time split between torch's two convolution paths
        return {
            "parts_ms": parts,
            "base_ms": 0.01,
            "by_category_ms": cats.tolist(),
            "conv_ms": [im2col, cats[0] - im2col],
            "counts": rng.integers(1, 30, 5).tolist(),
            "flops": float(rng.integers(1e5, 1e9)),
            "param_bytes": float(rng.integers(1e3, 1e7)),
            "batch": 1,
        }

    rows = [row(float(p)) for p in np.exp(rng.uniform(np.log(0.02), np.log(5), 40))]
    for r in rows:
        r["measured_ms"] = 1.3 * (r["parts_ms"] + r["base_ms"]) * float(np.exp(rng.normal(0, 0.02)))
    comp = Composition(rows)
    assert comp.factor(row(0.5)) == pytest.approx(1.3, rel=0.05)
    assert Composition(rows[:3]).factor(row(0.5)) == 1.0  # too few to learn from: the plain sum


def test_drift_follows_the_reference_models_nearest_the_model():
    """Conv-heavy reference models predicted 0.8x too slow now, Linear-heavy ones 1.1x: a
    conv-heavy model gets close to 0.8, a Linear-heavy one close to 1.1."""
    import math

    import numpy as np

    from nnspeed.prediction.corrections import Drift, drift_features
    from nnspeed.prediction.trace import Call

    def priced(conv_ms, linear_ms):
        calls = [
            (Call("module", "Conv2d", [], [], {}), "gemm", conv_ms, True),
            (Call("module", "Linear", [], [], {}), "gemm", linear_ms, True),
            (Call("function", "relu", [], [], {}), "elementwise", 0.01, True),
        ]
        return drift_features(calls)

    x = priced(0.9, 0.05)
    assert x[:2] == pytest.approx([0.9 / 0.96, 0.05 / 0.96]) and x[-1] == pytest.approx(math.log(0.96) / 4)
    convs, linears = [priced(c, 0.05) for c in (0.5, 0.9, 1.3)], [priced(0.0, v) for v in (0.5, 0.9, 1.3)]
    d = Drift(convs + linears, [math.log(0.8)] * 3 + [math.log(1.1)] * 3)
    assert d.factor(priced(0.7, 0.05)) == pytest.approx(0.8, rel=0.03)
    assert d.factor(priced(0.0, 0.7)) == pytest.approx(1.1, rel=0.03)
    assert d.to_dict()["anchors"] == 6 and d.to_dict()["median_ratio"] == pytest.approx(np.sqrt(0.8 * 1.1), rel=0.1)
    assert Drift(convs + linears, [math.log(0.9)] * 6).factor(priced(0.3, 0.3)) == pytest.approx(0.9)
    # one conv-heavy reference model caught by a burst of load (2.5x) does not drag the others
    burst = Drift([*convs, priced(0.7, 0.05), *linears], [math.log(0.8)] * 3 + [math.log(2.5)] + [math.log(1.1)] * 3)
    assert burst.factor(priced(0.7, 0.05)) == pytest.approx(0.8, rel=0.03)
    # small models drifted more than large ones: the correction follows the size, within the range seen
    sized = Drift([priced(c, 0.05) for c in (0.2, 0.3, 3.0, 4.0)], [math.log(0.8)] * 2 + [math.log(0.95)] * 2)
    assert sized.factor(priced(0.25, 0.05)) < 0.85 < 0.9 < sized.factor(priced(3.5, 0.05))
    largest = sized.factor(priced(4.0, 0.05))
    assert sized.factor(priced(40.0, 0.05)) == pytest.approx(largest) and largest <= 0.95  # no extrapolation


def test_gemm_weights_spill_from_l2_gradually():
    """A model whose weights fit in half the cores' L2 is priced from the in-cache samples, one
    with twice that from the beyond-cache ones, and one in between from both, in proportion."""
    import torch
    from torch import nn

    from nnspeed.prediction.kernels import l2_bytes
    from nnspeed.prediction.pricing import cold_ends, cold_share

    l2 = l2_bytes() * 2

    def share(weight_bytes):
        n = max(1, int(weight_bytes / 4 / 256))  # a 256-wide Linear with this many fp32 weight bytes
        return cold_share(trace_model(nn.Linear(256, n, bias=False), (torch.randn(1, 256),)), 2)

    assert share(l2 / 4) == 0.0 and share(l2 / 2.01) == 0.0 and share(2.01 * l2) == 1.0
    assert share(l2) == pytest.approx(0.5, abs=0.01) and 0 < share(0.7 * l2) < 0.5 < share(1.4 * l2) < 1
    assert cold_ends(0.0) == [(0, 1.0)] and cold_ends(1.0) == [(1, 1.0)] and cold_ends(0.25) == [(0, 0.75), (1, 0.25)]


def test_convolutions_know_their_backend_and_block_alignment():
    """torch runs a small one-image convolution through its own im2col path and a batch of two
    through oneDNN: the latency model is told which, and whether channels fill 16-wide blocks."""
    from nnspeed.prediction.kernels import conv_mkldnn, families

    p = {"n": 1, "cin": 3, "h": 24, "w": 24, "cout": 80, "k": 3, "stride": 1, "groups": 1, "cold": 0}
    assert conv_mkldnn(p, 2) == 0 and conv_mkldnn({**p, "n": 2}, 2) == 1
    feats = families()["Conv2d"].features({**p, "mkldnn": 0})
    assert feats[-3:] == [0, 0.0, 1.0]  # im2col, 3 input channels (unaligned), 80 output channels (5 blocks)
    assert families()["Linear"].features({"m": 4, "k": 24, "n": 32, "rows3d": 0})[-2:] == [0.0, 1.0]


def test_fitted_hyperparameters_are_reused_without_a_search():
    """A table keeps its surfaces' fitted hyperparameters: refitting with them skips the search
    and predicts the same."""
    import numpy as np

    from nnspeed.prediction.models import Models

    rng = np.random.default_rng(0)
    samples = []
    for _ in range(40):
        p = {
            "m": int(rng.integers(1, 512)),
            "k": int(rng.integers(8, 1024)),
            "n": int(rng.integers(8, 1024)),
            "rows3d": 0,
            "cold": 0,
        }
        samples.append([p, 1e-3 + 2 * p["m"] * p["k"] * p["n"] / 5e7 * float(np.exp(rng.normal(0, 0.03)))])
    first = Models({"Linear": samples})
    query = {"m": 64, "k": 256, "n": 512, "rows3d": 0, "cold": 0}
    expected = first.surface("Linear", query)
    fitted = first.fit_all()
    assert set(fitted) == {"Linear"} and all(isinstance(v, float) for v in fitted["Linear"])
    again = Models({"Linear": samples}, fitted=json.loads(json.dumps(fitted)))  # as stored in the table's JSON
    assert again.surface("Linear", query) == pytest.approx(expected, rel=1e-6)
    assert again._surface("Linear").gp.optimizer is None
    assert (
        Models({"Linear": samples}, fitted={"Linear": [0.0]})._surface("Linear").gp.optimizer is not None
    )  # wrong shape: searched
