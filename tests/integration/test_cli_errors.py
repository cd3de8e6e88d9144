"""Every bad input: one sentence, exit code 2, no traceback, and the store unchanged."""

import textwrap

import pytest

from nnspeed.cli.app import main
from nnspeed.store.store import Store

FAST = ["--min-time", "0", "--max-time", "0.2"]


@pytest.fixture
def usermodels_cli(tmp_path, monkeypatch):
    (tmp_path / "usermodels_cli.py").write_text(
        textwrap.dedent(
            """
            import torch

            def net():
                return torch.nn.Linear(12, 4)

            def broken_forward():
                class M(torch.nn.Module):
                    def forward(self, x):
                        raise RuntimeError("kernel exploded")
                return M()

            class Nan(torch.nn.Module):
                def forward(self, x):
                    return x * float("nan")

            def nan_model():
                return Nan()

            class Nothing(torch.nn.Module):
                def forward(self, x):
                    x.sum()

            def none_model():
                return Nothing()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage-not-a-model" * 20)


@pytest.fixture
def populated(store_url, capsys):
    assert main(["bench", "zoo:mlp?depth=1", "--store", store_url, *FAST]) == 0
    capsys.readouterr()
    db = Store(store_url)
    return db, [r["id"] for r in db.list_runs()], db.count_results()


BAD = [
    (["bench", "zoo:nosuch"], "unknown zoo model"),
    (["bench", "zoo:mlp?detph=2"], "has no key 'detph'"),
    (["bench", "zoo:mlp?act=swish"], "must be one of"),
    (["bench", "zoo:mlp", "--backend", "tensorrt"], "unknown backend 'tensorrt'"),
    (["bench", "onnx:missing.onnx", "--backend", "onnxruntime"], "no ONNX file"),
    (["bench", "onnx:bad.onnx", "--backend", "onnxruntime"], "not a valid ONNX model"),
    (["bench", "py:usermodels_cli:net", "--input-shape", "1x13"], "the model raised RuntimeError"),
    (["bench", "py:usermodels_cli:net"], "needs its inputs"),
    (["bench", "py:usermodels_cli:broken_forward", "--input-shape", "1x12"], "kernel exploded"),
    (["bench", "py:usermodels_cli:nan_model", "--input-shape", "1x12"], "NaN/inf"),
    (["bench", "py:nosuchmod:net", "--input-shape", "1x12"], "cannot import module"),
    (["bench", "py:usermodels_cli:none_model", "--input-shape", "1x12"], "returned NoneType with no tensor"),
    (["bench", "py:usermodels_cli:net", "--input-shape", "x=1x12,1x3"], "names some inputs and not others"),
    (["bench", "py:usermodels_cli:net", "--input-shape", "1x12:complex64"], "dtype 'complex64' is not supported"),
    (["bench", "model_v1.onnx"], "no model file at 'model_v1.onnx'"),
    (["bench", "model_v1"], "not a model source or an existing file"),
    (["bench", "zoo:mlp", "--batch", "1,,2"], "has an empty item"),
    (["bench", "zoo:mlp", "--task", "masked-lm"], "apply to Hugging Face directories"),
    (["bench", "zoo:mlp", "--backend", "onnxruntime", "--precision", "bf16"], "no bf16 kernels"),
    (["bench", "zoo:mlp", "--precision", "int3"], "unknown precision"),
    (["bench", "zoo:mlp", "--device", "cuda"], None),  # no GPU here: clear error; with one it runs
    (["bench", "zoo:mlp", "--batch", "0"], "at least 1"),
    (["bench", "zoo:mlp", "--batch", "eight"], "whole numbers"),
    (["bench", "zoo:mlp", "--min-time", "5", "--max-time", "1"], "longer than --max-time"),
    (["bench", "zoo:mlp", "--fps", "-3"], "positive"),
    (["bench", "zoo:mlp", "--scenario", "realtime"], "needs --fps"),
    (["bench", "zoo:mlp", "--scenario", "realtime", "--fps", "0"], "--fps must be a positive"),
    (["bench", "zoo:mlp", "--scenario", "realtime", "--fps", "30", "--qps", "5"], "--qps applies to"),
    (["bench", "zoo:mlp", "--scenario", "server"], "needs --qps"),
    (["bench", "zoo:mlp", "--scenario", "server", "--qps", "-1"], "--qps must be a positive"),
    (["bench", "zoo:mlp", "--scenario", "server", "--qps", "10", "--slo-p99", "0"], "--slo-p99 must be"),
    (["bench", "zoo:mlp", "--scenario", "server", "--qps", "10", "--max-batch", "0"], "--max-batch must be"),
    (["bench", "zoo:mlp", "--scenario", "server", "--qps", "10", "--burstiness", "0"], "--burstiness must be"),
    (["bench", "zoo:mlp", "--scenario", "streaming"], "unknown scenario 'streaming'"),
    (["bench", "zoo:mlp", "--drop-late"], "--drop-late applies to"),
    (["bench", "zoo:mlp", "--scenario", "offline", "--streams", "2"], "one pool per process"),
    (["bench", "zoo:mlp", "--engine", "tritonperf"], "unknown engine"),
    (["bench", "zoo:mlp", "--engine", "loadgen", "--scenario", "realtime", "--fps", "30"], "nnspeed's own"),
    (["bench", "zoo:mlp", "--engine", "loadgen", "--batch", "4"], "one sample per query"),
    (["capacity", "zoo:mlp", "--slo-p99", "-2"], "--slo-p99 must be"),
    (["capacity", "zoo:nosuch", "--slo-p99", "5"], "unknown zoo model"),
    (["generate", "zoo:mlp"], "not a causal language model"),
    (["generate", "zoo:gpt2-tiny", "--new-tokens", "0"], "--new-tokens must be"),
    (["generate", "zoo:gpt2-tiny", "--kv-cache", "maybe"], "--kv-cache must be one of"),
    (["generate", "zoo:gpt2-tiny", "--qps", "0"], "--qps must be a positive"),
    (["generate", "hf:/nonexistent/model"], "not a Hugging Face model directory"),
    (["generate", "zoo:gpt2-tiny", "--prompt-len", "1000", "--new-tokens", "100"], "past the model's context of 1024"),
    (["train", "zoo:mlp", "--target-accuracy", "0.9"], "need labelled data"),
    (["train", "zoo:digits-mlp", "--data", "mnist"], "unknown data set 'mnist'"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--steps", "1"], "--steps must be"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--workers", "two"], "--workers takes"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--target-accuracy", "1.5"], "--target-accuracy must be"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--stream", "--drift", "sideways"], "--drift must be"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--nproc", "1"], "--nproc must be"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--precision", "int4"], "unknown training precision"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--country", "FRA", "--gco2-per-kwh", "50"], "not both"),
    (["train", "zoo:digits-mlp", "--data", "digits", "--country", "XYZ"], "unknown country code"),
    (["sweep", "zoo:mlp", "--grid", "batch=1", "--cluster", "127.0.0.1:1"], "cannot reach the Ray cluster"),
    (["sweep", "zoo:mlp", "--grid", "batch=1", "--cluster", "head-node"], "is not a Ray address"),
    (["sweep", "zoo:mlp", "--grid", "batch=1", "--per-node", "2"], "apply to a sweep on a cluster"),
    (["sweep", "zoo:mlp", "--grid", "batch=1,,2"], "has an empty item"),
    (["show", "nosuchrun"], "no run 'nosuchrun'"),
    (["compare", "nosuchrun", "other"], "no run 'nosuchrun'"),
    (["report", "nosuchrun"], "no run 'nosuchrun'"),
    (["report", "nosuchrun", "-o", "."], "is a directory; give a file name"),
    (["history", "zoo:mlp", "--min-change", "5"], "--min-change must be a fraction"),
    (["check", "zoo:mlp", "--backend", "torch-eager,onnxruntime", "--summary", "."], "is a directory; give a file"),
    (["bench", "zoo:mlp", "--adaptive", "int8", "--qps", "10", "--slo-p99", "5"], "use --scenario server"),
    (["bench", "zoo:mlp", "--adaptive", "int8", "--scenario", "server", "--threads", "1,2"], "one thread count"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_one_line_exit_2_store_unchanged(argv, message, usermodels_cli, populated, store_url, capsys):
    import torch

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("a GPU is present: device cuda is valid here")
    db, runs_before, results_before = populated
    fast = FAST if argv[0] == "bench" and "--min-time" not in argv else []
    code = main([*argv, "--store", store_url, *fast])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = [line for line in captured.err.strip().splitlines() if line.strip()]
    assert len(lines) >= 1 and lines[0].startswith("error:"), captured.err
    assert "Traceback" not in captured.err
    if message:
        assert message in " ".join(captured.err.split()), captured.err
    assert [r["id"] for r in db.list_runs()] == runs_before
    assert db.count_results() == results_before


def test_read_only_store_fails_before_measuring(populated, store_url, capsys):
    db, runs_before, results_before = populated
    path = store_url.removeprefix("sqlite:///")
    code = main(["bench", "zoo:mlp", "--store", f"sqlite:///file:{path}?mode=ro&uri=true", *FAST])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "cannot be written" in err and "│" not in err
    assert [r["id"] for r in db.list_runs()] == runs_before and db.count_results() == results_before


def test_missing_optional_package(monkeypatch, populated, store_url, capsys):
    import nnspeed._optional as optional

    monkeypatch.setattr(optional, "available", lambda m: m != "onnxruntime")
    db, _runs_before, results_before = populated
    code = main(["bench", "zoo:mlp", "--backend", "onnxruntime", "--store", store_url, *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'nnspeed[onnx]'" in " ".join(err.split())
    assert db.count_results() == results_before


def test_cluster_without_ray_names_the_extra(monkeypatch, populated, store_url, capsys):
    import nnspeed._optional as optional

    monkeypatch.setattr(optional, "available", lambda m: m != "ray")
    db, runs_before, results_before = populated
    code = main(["sweep", "zoo:mlp", "--grid", "batch=1", "--cluster", "local", "--store", store_url, *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'nnspeed[ray]'" in " ".join(err.split()), err
    assert [r["id"] for r in db.list_runs()] == runs_before and db.count_results() == results_before


def test_a_postgresql_store_that_refuses_us_is_one_sentence(postgres_url, capsys):
    import sqlalchemy as sa

    url = sa.engine.make_url(postgres_url)
    for bad, said in [
        (url.set(password="wrong-password"), "refused the user name or password"),
        (url.set(port=1), "nothing accepted the connection"),
    ]:
        code = main(["bench", "zoo:mlp?depth=1", "--store", bad.render_as_string(hide_password=False), *FAST])
        err = capsys.readouterr().err
        lines = [line for line in err.strip().splitlines() if line.strip()]
        assert code == 2 and said in " ".join(err.split()), err
        assert lines[0].startswith("error:") and "wrong-password" not in err and "Traceback" not in err
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:  # nothing was written to the server we did reach
        assert not sa.inspect(conn).get_table_names()
    engine.dispose()


@pytest.mark.parametrize("argv", [["predict", "zoo:mlp"], ["machine", "--operators"]])
def test_predict_without_scikit_learn_names_the_extra(argv, monkeypatch, tmp_path, capsys):
    import nnspeed._optional as optional

    # A core install: no scikit-learn, and no cached operator table to fall back on.
    monkeypatch.setattr(optional, "available", lambda m: m != "sklearn")
    monkeypatch.setenv("NNSPEED_CACHE", str(tmp_path))
    monkeypatch.setattr("nnspeed.explanation.peaks.profile", lambda refresh, counts: ({"rows": [{"threads": 1}]}, True))
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'nnspeed[data]'" in " ".join(err.split()) and "Traceback" not in err
    assert err.count("error:") == 1


@pytest.mark.parametrize("url", ["sqlite:////nonexistent-dir/x/nnspeed.db", "postgresql://127.0.0.1:1/none"])
def test_unreachable_store(url, capsys):
    code = main(["bench", "zoo:mlp", "--store", url, *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "cannot open the store" in err and "Traceback" not in err


def test_debug_shows_traceback(capsys):
    code = main(["bench", "zoo:nosuch", "--debug"])
    assert code == 2 and "Traceback" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys):
    assert main(["bench", "zoo:mlp", "--no-such-option"]) == 2


def test_internal_error_exits_1_with_one_line(monkeypatch, capsys):
    import nnspeed.commands.bench as bench

    def broken(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(bench, "bench_grid", broken)
    assert main(["bench", "zoo:mlp", *FAST]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: boom") and "Traceback" not in err
