"""Real models on real backends.  Timing assertions are wide: these machines are shared."""

import numpy as np
import pytest

import nnspeed
from nnspeed.cli.app import main
from nnspeed.measure.environment import cpu_flags

RESULT_KEYS = {
    "source",
    "backend",
    "precision",
    "effective_precision",
    "batch",
    "threads",
    "device",
    "latency_ms",
    "first_call_ms",
    "throughput_sps",
    "n",
    "timer_overhead_ns",
    "warnings",
    "budget",
}
LATENCY_KEYS = {"mean", "p50", "p90", "p99", "p999", "std", "ci95"}
QUICK = ["--min-time", "0.2", "--max-time", "1"]


def test_bench_three_backends_json_contract(cli_json, capsys, store_url):
    doc = cli_json(
        [
            "bench",
            "zoo:mlp",
            "--backend",
            "torch-eager,onnxruntime,openvino",
            "--threads",
            "1",
            "--json",
            "--fps",
            "30",
            "--store",
            store_url,
            *QUICK,
        ],
    )
    assert isinstance(doc["run_id"], str)
    assert [r["backend"] for r in doc["results"]] == ["torch-eager", "onnxruntime", "openvino"]
    for r in doc["results"]:
        assert RESULT_KEYS <= set(r)
        assert LATENCY_KEYS <= set(r["latency_ms"])
        lat = r["latency_ms"]
        assert 0 < lat["ci95"][0] <= lat["p50"] <= lat["ci95"][1]
        assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"]
        assert r["threads"] == 1 and r["effective_precision"] == "fp32"
        assert r["throughput_sps"] > 0 and r["n"] >= 10 and r["timer_overhead_ns"] > 0
        assert set(r["budget"]) >= {"ms", "miss_rate", "max_fps"} and r["budget"]["ms"] == pytest.approx(1000 / 30)
    # The stored run holds the same numbers and every raw sample.
    shown = cli_json(["show", doc["run_id"], "--json", "--samples", "--store", store_url])
    assert [r["latency_ms"]["p50"] for r in shown["results"]] == [r["latency_ms"]["p50"] for r in doc["results"]]
    assert all(len(r["samples_ms"]) == r["n"] for r in shown["results"])
    assert shown["env"]["cpu"] and "packages" in shown["env"]


def test_compare_two_runs(cli_json, capsys, store_url, same_document):
    a = cli_json(["bench", "zoo:mlp?depth=8", "--threads", "1", "--json", "--store", store_url, *QUICK])
    b = cli_json(
        [
            "bench",
            "zoo:mlp?depth=8",
            "--backend",
            "onnxruntime",
            "--threads",
            "1",
            "--json",
            "--store",
            store_url,
            *QUICK,
        ],
    )
    with pytest.raises(AssertionError):  # different backends share no configuration
        cli_json(["compare", a["run_id"], b["run_id"], "--json", "--store", store_url])
    doc = cli_json(["compare", a["run_id"], b["run_id"], "--ignore", "backend", "--json", "--store", store_url])
    (c,) = doc["comparisons"]
    assert {"key", "speedup", "ci95", "verdict"} <= set(c)
    assert c["ci95"][0] <= c["speedup"] <= c["ci95"][1]
    assert c["verdict"] == "faster"  # ONNX Runtime runs a small MLP several times faster than eager
    r = nnspeed.compare_runs(a["run_id"], b["run_id"], ignore=["backend"], store=store_url)  # as a function
    same_document(doc, r.to_dict())
    assert r.speedups == {c["key"]: c["speedup"]} and len(r.measurements) == 2 and r.comparisons[0].key == c["key"]
    both = cli_json(
        [
            "bench",
            "zoo:mlp?depth=8",
            "--backend",
            "torch-eager,onnxruntime",
            "--threads",
            "1",
            "--json",
            "--store",
            store_url,
            *QUICK,
        ],
    )
    assert main(["compare", a["run_id"], both["run_id"], "--ignore", "backend", "--store", store_url]) == 2
    assert "more than one result" in capsys.readouterr().err
    same = cli_json(["compare", a["run_id"], a["run_id"], "--json", "--store", store_url])
    assert same["comparisons"][0]["verdict"] == "same" and same["comparisons"][0]["speedup"] == 1.0


def test_python_api_with_a_module():
    import torch

    m = nnspeed.bench(torch.nn.Linear(64, 64), inputs=torch.randn(4, 64), batch=4, min_time=0.1, max_time=0.5)
    assert isinstance(m, nnspeed.Measurement)
    assert m.latency_ms.ci95[0] <= m.latency_ms.p50 <= m.latency_ms.ci95[1]
    assert m.throughput_sps == pytest.approx(4000 / m.latency_ms.mean)
    assert len(m.samples) == m.n and RESULT_KEYS <= set(m.to_dict())
    w = nnspeed.load("zoo:gru?hidden=32")
    assert nnspeed.bench(w, min_time=0.1, max_time=0.3).source == "zoo:gru?hidden=32"


@pytest.mark.skipif("avx512_bf16" not in cpu_flags() and "amx_bf16" not in cpu_flags(), reason="no bf16 CPU")
def test_effective_precision_is_pinned_and_recorded():
    fp32 = nnspeed.bench("zoo:cnn", backend="openvino", precision="fp32", min_time=0.1, max_time=0.3)
    bf16 = nnspeed.bench("zoo:cnn", backend="openvino", precision="bf16", min_time=0.1, max_time=0.3)
    assert fp32.effective_precision == "fp32" and bf16.effective_precision == "bf16"
    eager = nnspeed.bench("zoo:cnn", precision="bf16", min_time=0.1, max_time=0.3)
    assert eager.effective["precision_mode"] == "autocast"


def test_fp16_refused_without_native_support():
    if "avx512_fp16" in cpu_flags() or "amx_fp16" in cpu_flags():
        pytest.skip("this CPU has native fp16")
    with pytest.raises(nnspeed.NnspeedError, match="no native fp16"):
        nnspeed.bench("zoo:mlp", precision="fp16", min_time=0.1, max_time=0.2)


def test_real_data_model_cycles_real_sentences():
    w = nnspeed.load("zoo:minilm?seq=32")
    assert w.real_data
    a, b = w.make_inputs(4, 0), w.make_inputs(4, 1)
    assert not np.array_equal(a["input_ids"], b["input_ids"])
    m = nnspeed.bench(w, backend="onnxruntime", batch=4, threads=2, min_time=0.2, max_time=1)
    assert m.effective["real_data"] and m.effective["input_pool"] == 32
    # Embeddings of real sentences are unit vectors.
    emb = w.model(*w.torch_args(4)).detach().numpy()
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)


def test_torch_compile_first_call_includes_compilation():
    m = nnspeed.bench("zoo:mlp?depth=2", backend="torch-compile", threads=1, min_time=0.2, max_time=1)
    assert m.first_call_ms > 20 * m.latency_ms.p50
    assert m.effective["compile_mode"] == "default"


def test_zoo_command_lists_params_and_flops(cli_json, capsys):
    doc = cli_json(["zoo", "--json"])
    models = {r["name"]: r for r in doc["models"]}
    assert models["resnet50"]["params"] == pytest.approx(25.6e6, rel=0.01)
    assert models["resnet50"]["flops"] == pytest.approx(8.2e9, rel=0.05)
    assert models["gpt2"]["params"] == pytest.approx(124.4e6, rel=0.01)
    assert all(r["flops"] > 0 and r["params"] > 0 for r in models.values())


@pytest.mark.parametrize("source", ["zoo:lstm", "zoo:transformer", "zoo:gpt2-tiny?seq=16", "zoo:resnet18?size=64"])
def test_exported_models_agree_across_backends(source):
    """The ONNX export runs the same function: outputs match eager within fp32 tolerance."""
    from nnspeed.backends.base import Settings
    from nnspeed.backends.registry import get_backend

    w = nnspeed.load(source)
    inputs = w.make_inputs(2, 0)
    ref = w.model(*w.torch_args(2)).detach().numpy()
    for name in ("onnxruntime", "openvino"):
        runner = get_backend(name).prepare(w, Settings(name, batch=2, threads=2))
        (out,) = runner.outputs(runner.run(runner.prepare(inputs)))[:1]
        np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())
        runner.close()
