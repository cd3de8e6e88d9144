"""explain: per-layer roofline of a real model, the JSON contract, and advice backed by numbers."""

import pytest

import nnspeed
from nnspeed.cli.app import main

LAYER_KEYS = {
    "name",
    "op",
    "time_ms",
    "share",
    "flops",
    "bytes",
    "intensity",
    "gflops",
    "bound_ms",
    "efficiency",
    "verdict",
}


def test_explain_cnn_json_contract(cli_json, tmp_path, same_document):
    doc = cli_json(["explain", "zoo:cnn", "--json", "--report", str(tmp_path / "e.html")])
    html = (tmp_path / "e.html").read_text()
    assert "Where the time goes in zoo:cnn" in html and 'data-plot="roofline"' in html
    assert {"latency_ms", "overhead_ms", "total_flops", "roofline_bound_ms", "layers", "advice"} <= set(doc)
    assert doc["total_flops"] == 48956672  # torch.utils.flop_counter on the built-in cnn
    assert len(doc["layers"]) == 17
    for layer in doc["layers"]:
        assert LAYER_KEYS <= set(layer)
        assert layer["verdict"] in ("compute-bound", "memory-bound", "overhead-bound")
        # A layer cheaper than the profiler's calibrated recording cost comes out at 0 (below resolution).
        assert layer["time_ms"] >= 0 and 0 <= layer["share"] <= 1
    convs = [layer for layer in doc["layers"] if layer["op"] == "Conv2d"]
    assert all(layer["time_ms"] > 0 for layer in convs)
    assert sum(layer["flops"] for layer in convs) == doc["total_flops"] - 2 * 64 * 10  # all but the linear head
    assert 0 < doc["roofline_bound_ms"] < doc["latency_ms"]
    # profiled layers, less the calibrated recording cost, plus the overhead come back to the latency.
    # The profile and the latency are taken seconds apart, and a shared machine's speed moves by 30%
    # in that time (a CI run saw 1.31), so the bound is wide: benchmarks/explain_accounting.py
    # checks the 5% target
    accounted = sum(layer["time_ms"] for layer in doc["layers"]) + doc["overhead_ms"]
    assert 0.5 < accounted / doc["latency_ms"] < 2.0
    assert 0 < doc["profiler_cost_ms"] < doc["latency_ms"]
    gains = [a["estimated_gain"] for a in doc["advice"]]
    assert gains == sorted(gains, reverse=True)
    assert any("conv+bn" in a["text"] for a in doc["advice"])
    # the command as a function: the same document, with the measurement behind the latency
    e = nnspeed.explain("zoo:mlp", threads=1, report=tmp_path / "f.html")
    same_document(doc, e.to_dict())
    assert e.measurements[0].latency_ms.p50 == e.latency_ms and e.document["backend"] == "torch-eager"
    assert [r["op"] for r in e.layers].count("Linear") == 5 and (tmp_path / "f.html").exists()
    with pytest.raises(nnspeed.NnspeedError, match="use --backend torch-eager"):
        nnspeed.explain("zoo:mlp", backend="onnxruntime")


@pytest.mark.parametrize("argv, message", [(["zoo:cnn", "--backend", "openvino"], "supports torch-eager")])
def test_explain_bad_input(argv, message, capsys):
    assert main(["explain", *argv]) == 2
    assert message in capsys.readouterr().err
