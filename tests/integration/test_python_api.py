"""Every command that is more than one measurement is a library function too: called from
Python it returns the document its command prints with --json (the figures differ between
two runs; the document's structure and its settings do not)."""

import pytest

import nnspeed
from nnspeed.commands.results import CommandResult

FAST = dict(min_time=0.05, max_time=0.3)


CASES = {
    "bench": (
        ["bench", "zoo:mlp", "--backend", "torch-eager,onnxruntime", "--min-time", "0.05", "--max-time", "0.3"],
        lambda store, tmp: nnspeed.bench_run("zoo:mlp", backend=["torch-eager", "onnxruntime"], store=store, **FAST),
        (),
    ),
    "bench-interleaved": (
        [
            "bench",
            "zoo:mlp",
            "--batch",
            "1,2",
            "--interleave",
            "--min-rounds",
            "6",
            "--max-rounds",
            "6",
            "--min-time",
            "0.05",
            "--max-time",
            "0.3",
        ],
        lambda store, tmp: nnspeed.bench_run(
            "zoo:mlp", batch="1,2", interleave=True, min_rounds=6, max_rounds=6, store=store, **FAST
        ),
        (),
    ),
    "capacity": (
        ["capacity", "zoo:mlp", "--slo-p99", "20", "--trial-time", "0.3", "--no-dynamic-batching", "--threads", "1"],
        lambda store, tmp: nnspeed.capacity(
            "zoo:mlp", 20, dynamic_batching=False, trial_time=0.3, threads=1, store=store
        ),
        ("source",),
    ),
    "generate": (
        [
            "generate",
            "zoo:gpt2-tiny",
            "--prompt-len",
            "8",
            "--new-tokens",
            "4",
            "--requests",
            "1",
            "--kv-cache",
            "on",
            "--no-int8",
        ],
        lambda store, tmp: nnspeed.generate(
            "zoo:gpt2-tiny", prompt_len=8, new_tokens=4, requests=1, kv_cache="on", int8=False, store=store
        ),
        ("source", "prompt_len", "new_tokens", "configuration"),
    ),
    "optimize": (
        [
            "optimize",
            "zoo:digits-mlp",
            "--data",
            "digits",
            "--variants",
            "eager int8 dynamic",
            "--min-time",
            "0.05",
            "--max-time",
            "0.3",
            "--out",
            "{tmp}/cli",
        ],
        lambda store, tmp: nnspeed.optimize(
            "zoo:digits-mlp", data="digits", variants="eager int8 dynamic", out_dir=tmp / "py", store=store, **FAST
        ),
        ("source", "metric", "max_drop"),
    ),
    "sweep": (
        ["sweep", "zoo:mlp", "--grid", "batch=1,2", "--min-time", "0.05", "--max-time", "0.3"],
        lambda store, tmp: nnspeed.sweep("zoo:mlp", "batch=1,2", store=store, **FAST),
        ("sweep_id",),
    ),
    "study": (
        ["study", "--quick", "--claims", "1", "--out", "{tmp}/cli"],
        lambda store, tmp: nnspeed.study(quick=True, claims="1", out_dir=tmp / "py", store=store),
        ("mode",),
    ),
    "train": (
        ["train", "zoo:mlp", "--steps", "10", "--precision", "fp32", "--batch", "8"],
        lambda store, tmp: nnspeed.train("zoo:mlp", steps=10, precision="fp32", batch="8", store=store),
        ("source", "data", "device"),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_command_and_function_give_the_same_document(name, cli_json, tmp_path, same_document):
    argv, call, fixed = CASES[name]
    cli = cli_json(
        [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--store", f"sqlite:///{tmp_path / 'cli.db'}", "--json"]
    )
    result = call(f"sqlite:///{tmp_path / 'py.db'}", tmp_path)
    assert isinstance(result, CommandResult)
    doc = result.to_dict()
    same_document(cli, doc)
    for key in fixed:
        assert doc[key] == cli[key], key
    assert result.measurements, "the result carries the measurements it stored"
    assert nnspeed.Store(f"sqlite:///{tmp_path / 'py.db'}").list_runs(), "the function stored its run"


def test_the_comparison_of_documents_can_fail(same_document):
    with pytest.raises(AssertionError):
        same_document({"a": {"b": 1}}, {"a": {"c": 1}})
    with pytest.raises(AssertionError):
        same_document({"a": [{"x": "s"}]}, {"a": [{"x": 2}]})
    same_document({"a": None, "b": [1.5]}, {"a": {"x": 1}, "b": [2]})


def test_train_options_validate_before_anything_runs(store_url):
    with pytest.raises(nnspeed.NnspeedError, match="--steps must be a whole number"):
        nnspeed.TrainOptions(steps=1).plan()
    with pytest.raises(nnspeed.NnspeedError, match="need labelled data"):
        nnspeed.train("zoo:mlp", stream=True, store=store_url)
    assert nnspeed.Store(store_url).list_runs() == []
