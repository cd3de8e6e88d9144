"""Users' models unlike the zoo (tests/gallery): every one loads with the inputs it takes, every
backend that can run it gives the same outputs as the model itself, and bench measures it on
torch-eager, onnxruntime and openvino, or says in one sentence why a backend cannot."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnspeed.api import bench_run
from nnspeed.backends.base import Settings
from nnspeed.backends.registry import opened
from nnspeed.cli.app import main
from nnspeed.workloads.sources import load

pytestmark = pytest.mark.slow

TORCH = {
    name: f"py:tests.gallery.models:{name}" for name in ("unet", "fusion", "dict_out", "detector", "masked_encoder")
}
THREE = "torch-eager,onnxruntime,openvino"
TINY = dict(min_time=0.05, max_time=0.2, min_iters=3, threads="1")


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> dict[str, str]:
    """Every gallery model's source; the file and directory ones written once for the module."""
    from tests.gallery.hf import save_encoder, save_gpt2, save_t5, save_vit
    from tests.gallery.models import export_dynamic_onnx

    d = tmp_path_factory.mktemp("gallery")
    export_dynamic_onnx(d / "fusion.onnx")
    return {
        **TORCH,
        "hf-encoder": str(save_encoder(d / "encoder")),  # bare directory paths, as users give them
        "hf-vit": str(save_vit(d / "vit")),
        "hf-t5": str(save_t5(d / "t5")),
        "hf-gpt2": str(save_gpt2(d / "gpt2")),
        "onnx-dynamic": str(d / "fusion.onnx"),
    }


def _outputs(workload, backend: str, batch: int) -> list[np.ndarray]:
    with opened(workload, Settings(backend, batch=batch, threads=1)) as runner:
        return runner.outputs(runner.run(runner.prepare(workload.make_inputs(batch, 0))))


@pytest.mark.parametrize("name", [*TORCH, "hf-encoder", "hf-vit", "hf-t5", "hf-gpt2", "onnx-dynamic"])
def test_every_backend_gives_the_models_own_outputs(gallery, name):
    """Exported with its inputs' names and a dynamic batch: at batch 3 (not the export's 2) each
    backend returns every output of the model, close to the reference backend's."""
    w = load(gallery[name])
    reference = "onnxruntime" if w.kind == "onnx" else "torch-eager"
    want = _outputs(w, reference, 3)
    assert want and all(a.shape[0] == 3 for a in want)
    for backend in THREE.split(","):
        if backend == reference or (backend == "torch-eager" and w.kind != "torch"):
            continue
        got = _outputs(w, backend, 3)
        assert len(got) == len(want), (backend, [a.shape for a in got])
        for a, b in zip(want, got):
            scale = max(float(np.abs(a).max()), 1e-3)
            assert a.shape == b.shape and np.abs(a - b).max() <= 2e-3 * scale, (backend, a.shape)


def test_keyword_inputs_and_task_are_in_the_result(gallery, store_url):
    r = bench_run(gallery["hf-encoder"], backend="torch-eager", store=store_url, **TINY).to_dict()
    model = r["results"][0]["model"]
    assert r["results"][0]["source"].startswith("hf:")
    assert (model["task"], model["model_class"], model["seq_len"]) == ("feature-extraction", "BertModel", 128)
    names = [i["name"] for i in model["inputs"]]
    assert names[:2] == ["input_ids", "attention_mask"] and all(i["keyword"] for i in model["inputs"])
    assert [o["name"] for o in model["outputs"]] == ["last_hidden_state", "pooler_output"]
    assert "tokenizer" in model["data"]


@pytest.mark.parametrize("name", [*TORCH, "hf-vit", "onnx-dynamic"])
def test_bench_on_three_backends(gallery, name, store_url):
    doc = bench_run(gallery[name], backend=THREE, store=store_url, **TINY).to_dict()
    ran = {r["backend"] for r in doc["results"]}
    failed = {f["backend"]: f["error"] for f in doc["failed"]}
    assert ran | set(failed) == set(THREE.split(","))
    if name == "onnx-dynamic":  # an ONNX file cannot run on torch-eager, and the sentence says why
        assert ran == {"onnxruntime", "openvino"} and "ONNX file" in failed["torch-eager"]
    else:
        assert failed == {}
    assert all(r["latency_ms"]["p50"] > 0 for r in doc["results"])


def test_keras_two_inputs_bench_keeps_what_ran(gallery, tmp_path, store_url, capsys):
    pytest.importorskip("tensorflow")
    from tests.gallery.keras_models import save_two_input_keras

    path = save_two_input_keras(tmp_path / "two.keras")
    rc = main(
        # TensorFlow ran here already: its threads are fixed
        [
            "bench",
            str(path),
            "--backend",
            "tensorflow,torch-eager",
            "--min-time",
            "0.05",
            "--max-time",
            "0.2",
            "--store",
            store_url,
            "--json",
        ]
    )
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert rc == 3  # one configuration could not run; what did run is kept and stored
    assert [r["backend"] for r in doc["results"]] == ["tensorflow"] and doc["run_id"]
    assert [i["name"] for i in doc["results"][0]["model"]["inputs"]] == ["image", "meta"]
    assert "torch-eager cannot run" in doc["failed"][0]["error"] and "could not run" in captured.err


def test_generate_on_an_encoder_is_refused(gallery, store_url, capsys):
    rc = main(["generate", gallery["hf-encoder"], "--store", store_url])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == 2 and "feature-extraction model (BertModel)" in err and "causal language model" in err


def test_check_two_bare_onnx_files(gallery, tmp_path, store_url, capsys):
    """The README's own example: two model files named by their paths alone."""
    import shutil

    v1, v2 = tmp_path / "model_v1.onnx", tmp_path / "model_v2.onnx"
    shutil.copyfile(gallery["onnx-dynamic"], v1)
    shutil.copyfile(gallery["onnx-dynamic"], v2)
    rc = main(
        [
            "check",
            str(v1),
            str(v2),
            "--backend",
            "onnxruntime",
            "--max-slowdown",
            "50%",
            "--threads",
            "1",
            "--min-rounds",
            "6",
            "--max-rounds",
            "8",
            "--store",
            store_url,
        ]
    )
    assert rc == 0, capsys.readouterr().err
