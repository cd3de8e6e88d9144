"""The TensorFlow side: Keras models, SavedModels and .tflite files on the tensorflow and
litert backends, the torch twin of the tutorial MLP, and one sentence for each bad input.

TensorFlow fixes its thread count once per process, and an earlier test of the session may
have started it (nnspeed zoo builds the Keras models): the tests here run the tensorflow
backend at the count it already has.  Conversions to .tflite share one cache for the module (each costs a child process).
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

import nnspeed
from nnspeed._tf import prefer_threads
from nnspeed.backends.base import Settings
from nnspeed.backends.registry import opened
from nnspeed.cli.app import main

MLP = "zoo:keras-mlp?depth=2"
TIMED = ["--min-time", "0.2", "--max-time", "1"]
SHORT = ["--min-time", "0.2", "--max-time", "0.5"]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory, cache_with_trained_weights):
    prefer_threads(1)
    return cache_with_trained_weights(tmp_path_factory.mktemp("tfcache"))


@pytest.fixture(autouse=True)
def _one_cache(shared_cache, monkeypatch):
    monkeypatch.setenv("NNSPEED_CACHE", str(shared_cache))


@pytest.fixture(scope="module")
def tflite_path(shared_cache, tmp_path_factory):
    from nnspeed.workloads.tflite_convert import tflite_file

    os.environ["NNSPEED_CACHE"] = str(shared_cache)
    return tflite_file(nnspeed.load(MLP))


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_keras_mlp_computes_what_its_torch_twin_does():
    import torch

    w = nnspeed.load(MLP)
    twin = nnspeed.load(w.meta["torch_twin"])
    x = w.make_inputs(16, 3)["x"]
    keras_out = np.asarray(w.keras_model(x, training=False))
    with torch.inference_mode():
        torch_out = twin.model(torch.from_numpy(x)).numpy()
    assert keras_out.shape == (16, 10)
    assert np.abs(keras_out - torch_out).max() <= 1e-5
    assert w.params() == twin.params()


def test_bench_keras_mlp_on_tensorflow_and_litert(cli_json, store_url):
    doc = cli_json(["bench", MLP, "--backend", "tensorflow,litert", *TIMED, "--store", store_url, "--json"])
    by = {r["backend"]: r for r in doc["results"]}
    assert set(by) == {"tensorflow", "litert"}
    assert by["tensorflow"]["effective"]["tf_mode"] == "tf.function"
    assert by["tensorflow"]["effective"]["threads"] >= 1
    lite = by["litert"]["effective"]
    assert lite["delegate"] == "xnnpack" and lite["precision"] == "fp32"
    assert all(r["latency_ms"]["p50"] > 0 for r in doc["results"])


def test_bench_tflite_file_at_one_and_two_threads(cli_json, store_url, tflite_path):
    # no --backend: a .tflite runs on litert
    doc = cli_json(["bench", f"tflite:{tflite_path}", "--threads", "1,2", *TIMED, "--store", store_url, "--json"])
    assert [r["backend"] for r in doc["results"]] == ["litert", "litert"]
    assert [r["effective"]["threads"] for r in doc["results"]] == [1, 2]
    assert {r["effective"]["precision"] for r in doc["results"]} == {"fp32"}


def test_litert_without_xnnpack_says_so(tflite_path):
    w = nnspeed.load(f"tflite:{tflite_path}")
    m = nnspeed.bench(w, backend="litert", threads=1, min_time=0.1, max_time=0.5, options={"xnnpack": False})
    assert m.effective["delegate"].startswith("none")


def test_keras_file_and_saved_model_sources(tmp_path, store_url, capsys):
    w = nnspeed.load(MLP)
    keras_file = tmp_path / "mlp.keras"
    w.keras_model.save(str(keras_file))
    saved = tmp_path / "saved"
    w.keras_model.export(str(saved), format="tf_saved_model", verbose=False)
    x = w.make_inputs(2, 0)
    expected = np.asarray(w.keras_model(x["x"], training=False))
    for source in (f"keras:{keras_file}", f"tf:{saved}"):
        other = nnspeed.load(source)
        assert [s.shape for s in other.inputs] == [(100,)]
        m = nnspeed.bench(other, backend="tensorflow", min_time=0.1, max_time=0.5)
        assert m.latency_ms.p50 > 0
        with opened(other, Settings("tensorflow")) as runner:
            got = runner.outputs(runner.run(runner.prepare({other.inputs[0].name: x["x"]})))[0]
        assert np.abs(got - expected).max() <= 1e-5


def test_tensorflow_runner_calls_model_x_in_inference_mode(tmp_path):
    """The runner calls model(x) as users do, without training=False: Keras still runs
    inference (batch norm on its moving statistics, no dropout) on every path."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((6,), name="x"),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.5),
        ]
    )
    path = tmp_path / "bn.keras"
    model.save(str(path))
    w = nnspeed.load(f"keras:{path}")
    x = w.make_inputs(4, 0)
    expected = np.asarray(w.keras_model(x["x"], training=False))
    for mode in ("eager", "graph"):
        with opened(w, Settings("tensorflow", options={"tf_mode": mode})) as runner:
            prepared = runner.prepare(x)
            first, second = (runner.outputs(runner.run(prepared))[0] for _ in range(2))
        assert np.abs(first - expected).max() <= 1e-6 and np.array_equal(first, second), mode


def test_litert_agrees_with_a_plain_invoke_loop(one_core):
    """benchmarks/litert_agreement.py checks 5%; here the median of seven short rounds, 25%."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "litert_agreement", Path(__file__).resolve().parents[2] / "benchmarks" / "litert_agreement.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rounds = mod.ratios(nnspeed.load("zoo:keras-mlp?depth=8"), rounds=7, min_s=0.3)
    median = float(np.median([r["ratio"] for r in rounds]))
    assert median == pytest.approx(1.0, abs=0.25), rounds


def _one_sentence_exit_2(argv, capsys, *words):
    code, _out, err = _run(argv, capsys)
    assert code == 2, err
    line = err.strip()
    assert "Traceback" not in line and len(line.splitlines()) == 1, line
    for word in words:
        assert word in line, line
    return line


def _flex_tflite(tmp_path) -> Path:
    """A .tflite holding TensorFlow ops (SELECT_TF_OPS), which LiteRT without Flex cannot run."""
    import tensorflow as tf

    class Strings(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def f(self, x):
            return tf.strings.to_number(tf.strings.as_string(x))

    m = Strings()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([m.f.get_concrete_function()], m)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    path = tmp_path / "flex.tflite"
    path.write_bytes(converter.convert())
    return path


def test_bad_tensorflow_inputs_one_sentence_each(tmp_path, store_url, capsys):
    import tensorflow as tf

    corrupt = tmp_path / "bad.tflite"
    corrupt.write_bytes(os.urandom(256))
    not_model = tmp_path / "notes.keras"
    not_model.write_text("not a model")
    unsigned = tmp_path / "unsigned"
    tf.saved_model.save(tf.Module(), str(unsigned))
    bench = ["bench", "--min-time", "0.1", "--max-time", "0.2", "--store", store_url]
    _one_sentence_exit_2([*bench[:1], f"tflite:{corrupt}", *bench[1:]], capsys, "tflite")
    _one_sentence_exit_2(
        [*bench[:1], f"keras:{not_model}", *bench[1:]], capsys, "is not a Keras model (a .keras file is a zip"
    )
    _one_sentence_exit_2([*bench[:1], f"tf:{unsigned}", *bench[1:]], capsys, "serving signature")
    _one_sentence_exit_2([*bench[:1], "zoo:transformer", "--backend", "litert", *bench[1:]], capsys, "nn.Sequential")
    _one_sentence_exit_2([*bench[:1], f"tflite:{_flex_tflite(tmp_path)}", *bench[1:]], capsys, "builtin ops")
    assert nnspeed.Store(store_url).list_runs() == []


def test_without_tensorflow_the_extra_is_named(monkeypatch, capsys, store_url):
    import nnspeed._optional as optional

    real = optional.available
    monkeypatch.setattr(optional, "available", lambda m: m not in ("tensorflow", "keras") and real(m))
    line = _one_sentence_exit_2(["bench", "zoo:keras-mlp", "--store", store_url], capsys, "nnspeed[tf]")
    assert "tensorflow" in line


def test_import_nnspeed_imports_no_tensorflow():
    import subprocess
    import sys

    code = "import sys, nnspeed; nnspeed.load('zoo:mlp'); print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_optimize_keras_model_exports_a_tflite_that_scores_as_reported(tmp_path, store_url, capsys):
    argv = ["optimize", "zoo:keras-digits-mlp", "--data", "digits", "--max-drop", "1.0"]
    argv += ["--variants", "int8 dynamic-range", "--min-time", "0.1", "--max-time", "0.5"]
    argv += ["--export", str(tmp_path / "export"), "--out", str(tmp_path / "out"), "--store", store_url, "--json"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["baseline"]["backend"] == "tensorflow" and doc["baseline"]["accuracy"] >= 95
    (v,) = doc["variants"]
    assert v["backend"] == "litert" and v["status"] == "ok" and doc["chosen"] in (v["name"], doc["baseline"]["name"])
    assert v["speedup_ci95"][0] <= v["speedup"] <= v["speedup_ci95"][1]
    if doc["chosen"] == v["name"]:
        from ai_edge_litert.interpreter import Interpreter

        from nnspeed.workloads.datasets import digits

        split = digits()
        it = Interpreter(model_path=str(tmp_path / "export" / "model.tflite"))
        d = it.get_input_details()[0]
        it.resize_tensor_input(d["index"], [len(split.x_test), 1, 8, 8])
        it.allocate_tensors()
        it.set_tensor(d["index"], split.x_test)
        it.invoke()
        logits = it.get_tensor(it.get_output_details()[0]["index"])
        accuracy = 100 * float(np.mean(logits.argmax(-1) == split.y_test))
        assert accuracy == pytest.approx(v["accuracy"], abs=1e-6)


def test_explain_keras_model_counts_flops_and_says_what_it_cannot_break_down(cli_json, capsys):
    doc = cli_json(["explain", MLP, "--json"])
    w = nnspeed.load(MLP)
    twin = nnspeed.load(w.meta["torch_twin"])
    assert doc["backend"] == "tensorflow" and doc["latency_ms"] > 0
    assert doc["total_flops"] == twin.flops(1) > 0  # the Dense kernels, as torch's flop_counter counts them
    assert [r["name"] for r in doc["layers"]] and len(doc["layers"]) == len(w.keras_model.layers)
    assert all(r["bound_ms"] > 0 and r["bytes"] > 0 for r in doc["layers"] if r["op"] == "Dense")
    assert doc["roofline_bound_ms"] == pytest.approx(sum(r["bound_ms"] for r in doc["layers"]))
    assert "not its share of the measured time" in doc["not_broken_down"]
    assert main(["explain", MLP, "--backend", "litert"]) == 2
    assert "supports torch-eager (and tensorflow for Keras models)" in capsys.readouterr().err
    assert main(["explain", "zoo:mlp", "--backend", "tensorflow"]) == 2
    assert "explain runs zoo:mlp on torch-eager" in capsys.readouterr().err


def test_study_tutorial_section_sets_one_shot_spread_beside_nnspeeds_interval(tmp_path, store_url, monkeypatch):
    import json

    from nnspeed.claims import claims_keras
    from nnspeed.cli.app import main

    monkeypatch.setattr(claims_keras, "QUICK_REPEATS", 3)  # each fresh process costs TensorFlow's start-up
    out = tmp_path / "o"
    assert main(["study", "--quick", "--claims", "13,14,15", "--out", str(out), "--store", store_url]) == 0
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert [c["id"] for c in claims] == [13, 14, 15]
    eager, litert = "Keras eager model(x)", "LiteRT Interpreter.invoke() (xnnpack, 1 thread)"
    for c, judged in zip(claims, (eager, litert, eager)):
        e = c["evidence"]
        assert "error" not in e, c
        one = e["one_shot"]
        assert one["repeats"] == 3 and all(len(v) == 3 and min(v) > 0 for v in one["ms"].values())
        sp, n = one["spread"], one["nnspeed"]
        assert sp["low"] <= sp["median"] <= sp["high"] and 0 <= sp["against"] <= 3
        assert n["ci95"][0] <= n["value"] <= n["ci95"][1]
        # every number names its call path, and the verdict is the tutorial's path's
        assert e["call_path"] == one["call_path"] == n["call_path"] == judged
        assert [r["call_path"] for r in e["paths"] if r["judged"]] == [judged]
        assert c["verdict"] == e["paths"][0]["verdict"] and all(r["call_path"] for r in e["paths"])
        assert all(v["call_path"] for k, v in e.items() if isinstance(v, dict) and "p50_ms" in v)
    for c in (claims[0], claims[2]):
        paths = [r["call_path"] for r in c["evidence"]["paths"]]
        assert paths == [eager, "tf.function(model)", "tf.function(model, jit_compile=True) (XLA)", litert]
    assert claims[0]["evidence"]["depth 8"]["call_path"] == eager
    assert "keras-mlp" in claims[0]["evidence"]["one_shot"]["reversal"]["explanation"]
    assert claims[1]["evidence"]["file_quantization"] == "dynamic-range int8"
    html = (out / "report.html").read_text()
    assert "The tutorials' timing against nnspeed's" in html and "batch 1 to 1024" in html
    assert "Every call path nnspeed measured" in html and "tf.function(model)" in html
    assert "Why an earlier re-enactment read the deep model as faster" in html


def test_one_shot_spread_counts_repeats_against_the_claim():
    from nnspeed.scenarios.oneshot import spread

    s = spread([0.9, 1.2, 1.5, 0.8, 1.1])
    assert (s.low, s.high, s.median, s.against) == (0.8, 1.5, 1.1, 2)


TORCH_NETS = """
import torch.nn as nn

def convnet():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=(1, 2)),
        nn.BatchNorm2d(8),
        nn.LeakyReLU(0.1),
        nn.Conv2d(8, 16, 3, padding="same", groups=8),
        nn.Hardswish(),
        nn.AvgPool2d(2),
        nn.Sequential(nn.Conv2d(16, 16, 1), nn.SiLU()),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 12),
        nn.BatchNorm1d(12),
        nn.ReLU6(),
        nn.Dropout(0.2),
        nn.Linear(12, 5),
        nn.Softmax(dim=1),
    ).eval()
"""


def test_torch_sequentials_run_on_litert_with_torchs_outputs(tmp_path, monkeypatch):
    """A torch nn.Sequential is rebuilt as Keras layers and converted: LiteRT's outputs are
    torch's, on the zoo's trained digits CNN and on a net of every layer kind the plan maps."""
    import torch

    (tmp_path / "torchnets.py").write_text(TORCH_NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    for w in (nnspeed.load("zoo:digits-cnn"), nnspeed.load("py:torchnets:convnet", input_shape="1x3x13x13")):
        x = w.make_inputs(3, 1)
        with torch.inference_mode():
            expected = w.model.eval()(torch.from_numpy(x[w.inputs[0].name])).numpy()
        with opened(w, Settings("litert", batch=3, threads=1)) as runner:
            got = runner.outputs(runner.run(runner.prepare(x)))[0]
            assert runner.effective["precision"] == "fp32" and runner.effective["threads"] == 1
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-4, w.source


def test_one_torch_model_on_eager_onnxruntime_and_litert_in_one_sweep(cli_json, store_url):
    grid = "backend=torch-eager,onnxruntime,litert;threads=1"
    doc = cli_json(["sweep", "zoo:mlp?depth=2", "--grid", grid, *SHORT, "--store", store_url, "--json"])
    cells = doc["cells"]
    assert [c["status"] for c in cells] == ["ok"] * 3, cells
    lite = next(c for c in cells if c["result"]["backend"] == "litert")["result"]
    assert lite["effective"]["delegate"] == "xnnpack" and lite["effective"]["precision"] == "fp32"


def test_bench_tensorflow_at_two_thread_counts_measures_each_in_its_own_process(cli_json, store_url):
    doc = cli_json(
        ["bench", MLP, "--backend", "tensorflow", "--threads", "1,2", *SHORT, "--store", store_url, "--json"]
    )
    assert [r["effective"]["threads"] for r in doc["results"]] == [1, 2]
    assert all(r["latency_ms"]["p50"] > 0 for r in doc["results"])


def test_a_torch_models_litert_variants_run_the_numbers_their_files_hold():
    """Each LiteRT variant of a torch model is its converted file, not the torch model run
    through the float conversion again: the precision read from the file is the variant's."""
    from nnspeed.optimization.variants import CANDIDATES, Context
    from nnspeed.workloads.datasets import digits

    w = nnspeed.load("zoo:digits-cnn")
    split = digits()
    ctx = Context(split, [{w.inputs[0].name: split.x_train[i : i + 32]} for i in range(0, 128, 32)])
    found = []
    for cand in (c for c in CANDIDATES if c.backend == "litert"):
        vw = cand.build(w, ctx)
        assert vw.kind == "tflite" and vw.model is None, cand.name
        with opened(vw, Settings("litert", threads=1)) as runner:
            found.append(runner.effective["precision"])
    assert found == ["fp32", "fp16", "dynamic-range int8", "int8"]
