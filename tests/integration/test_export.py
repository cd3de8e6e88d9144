"""Every backend exports its own format, and what it writes loads in a fresh process and gives
the outputs the variant gave when it was measured."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnspeed
from nnspeed.backends.base import Settings
from nnspeed.backends.registry import get_backend, opened
from nnspeed.errors import BackendError

# A fresh interpreter that knows nothing of nnspeed: only the runtime the README names.
LOADER = textwrap.dedent(
    """
    import json, sys
    import numpy as np

    jobs = json.loads(sys.argv[1])
    for job in jobs:
        x = np.load(job["input"])
        path = job["files"][0]
        if job["format"] == "torchscript":
            import torch
            with torch.no_grad():
                y = torch.jit.load(path)(torch.from_numpy(x)).numpy()
        elif job["format"] == "onnx":
            import onnxruntime
            s = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
            y = s.run(None, {s.get_inputs()[0].name: x})[0]
        elif job["format"] == "openvino-ir":
            import openvino
            c = openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
            y = c.create_infer_request().infer({0: x})[c.outputs[0]]
        np.save(job["output"], np.asarray(y, dtype=np.float64))
    """
)


def _ir_variant(w):
    from nnspeed.transforms.quantize import weight_int8_openvino

    return weight_int8_openvino(w)


CASES = [
    ("torch-eager", lambda w: w, "torchscript", {"model.pt"}),
    ("onnxruntime", lambda w: w, "onnx", {"model.onnx"}),
    ("openvino", lambda w: w, "openvino-ir", {"model.xml", "model.bin"}),  # ONNX converted to IR
    ("openvino", _ir_variant, "openvino-ir", {"model.xml", "model.bin"}),  # an IR variant copied whole
]


def test_exported_variants_load_in_a_fresh_process_and_reproduce_outputs(tmp_path):
    base = nnspeed.load("zoo:mlp")
    x = base.make_inputs(2, 3)
    name = base.inputs[0].name
    np.save(tmp_path / "x.npy", x[name])
    jobs, expected = [], []
    for k, (backend, make, fmt, names) in enumerate(CASES):
        w = make(base)
        out = tmp_path / f"export{k}"
        out.mkdir()
        exported = get_backend(backend).export(w, "fp32", out)
        assert exported.format == fmt and {p.name for p in exported.files} == names
        assert all(p.exists() for p in exported.files) and exported.load
        with opened(w, Settings(backend, threads=1, batch=2)) as runner:
            expected.append(runner.outputs(runner.run(runner.prepare(x)))[0])
        jobs.append(
            {
                "format": fmt,
                "files": [str(p) for p in exported.files],
                "input": str(tmp_path / "x.npy"),
                "output": str(tmp_path / f"y{k}.npy"),
            }
        )
    proc = subprocess.run([sys.executable, "-c", LOADER, json.dumps(jobs)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for k, want in enumerate(expected):
        got = np.load(tmp_path / f"y{k}.npy")
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"{CASES[k][0]} {CASES[k][2]}")


def test_a_backend_refuses_a_model_file_it_cannot_run(tmp_path):
    ir = _ir_variant(nnspeed.load("zoo:mlp"))
    assert ir.kind == "openvino-ir"
    with pytest.raises(BackendError, match="which is an OpenVINO IR file; use --backend openvino"):
        get_backend("onnxruntime").prepare(ir, Settings("onnxruntime"))
    with pytest.raises(BackendError, match="use --backend openvino"):
        get_backend("torch-eager").export(ir, "fp32", tmp_path)
