import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import nnspeed
from nnspeed.errors import InputError, ModelError, SourceError
from nnspeed.workloads.registry import ZOO, parse_zoo
from nnspeed.workloads.sources import load, workload_from_module
from nnspeed.workloads.specs import GivenInput, parse_inputs


def test_zoo_keys_defaults_and_canonical_source():
    w = load("zoo:mlp?width=64&depth=2")
    assert w.source == "zoo:mlp?depth=2&width=64"
    assert load("zoo:mlp?depth=4").source == "zoo:mlp"  # defaults are dropped
    x = w.make_inputs(3, 0)["x"]
    assert x.shape == (3, 100) and x.dtype == np.float32
    out = w.model(*w.torch_args(3))
    assert out.shape == (3, 10)
    assert np.allclose(out.sum(-1).detach().numpy(), 1.0, atol=1e-5)  # softmax head


@pytest.mark.parametrize(
    "spec, match",
    [
        ("zoo:nosuch", "unknown zoo model 'nosuch'"),
        ("zoo:mlp?detph=2", "has no key 'detph'"),
        ("zoo:mlp?depth=two", "must be a whole number"),
        ("zoo:mlp?depth=0", "between 1 and"),
        ("zoo:mlp?act=swishy", "must be one of relu, gelu, sigmoid, tanh"),
        ("zoo:transformer?dim=100&heads=3", "divisible"),
        ("mlp", "is not a model source"),
        ("hub:bert", "unknown source scheme"),
    ],
)
def test_bad_sources(spec, match):
    with pytest.raises(SourceError, match=match):
        load(spec)


def test_every_plain_zoo_model_builds_and_runs():
    for name in ("mlp", "cnn", "lstm", "gru", "transformer"):
        w = load(f"zoo:{name}")
        y = w.model(*w.torch_args(2))
        assert y.shape[0] == 2 and np.isfinite(y.detach().numpy()).all()
        assert w.flops(1) > 0 and w.params() > 0


def test_rnn_flops_count_the_fused_layer():
    w = load("zoo:lstm?hidden=32&in=16&seq=4")
    # 4 gates × 32 units, input 16 + hidden 32, 4 steps, ×2 for multiply-add; plus the head.
    assert w.flops(1) == 2 * 4 * (4 * 32) * (16 + 32) + 2 * 32 * 10


def test_inputs_differ_between_pool_entries():
    w = load("zoo:cnn")
    a, b = w.make_inputs(1, 0)["x"], w.make_inputs(1, 1)["x"]
    assert not np.array_equal(a, b)
    assert np.array_equal(a, w.make_inputs(1, 0)["x"])  # seeded


def test_parse_inputs():
    assert parse_inputs("1x3x224x224,1x10") == [GivenInput((1, 3, 224, 224)), GivenInput((1, 10))]
    assert parse_inputs("input_ids=1x128:int64, attention_mask=1x128:int64") == [
        GivenInput((1, 128), "input_ids", "int64"),
        GivenInput((1, 128), "attention_mask", "int64"),
    ]
    assert parse_inputs("1x3x8x8:float16") == [GivenInput((1, 3, 8, 8), None, "float16")]
    assert parse_inputs("") is None
    for bad in ("1x3xa", "1x0x3", "1x3,,1x4", "a=1x3,1x4", "a=1x3,a=1x4", "1x3:complex64", "=1x3"):
        with pytest.raises(InputError):
            parse_inputs(bad)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "usermodels_unit.py").write_text(
        textwrap.dedent(
            """
            import torch

            def net():
                return torch.nn.Sequential(torch.nn.Linear(12, 4))

            def net_inputs(batch):
                return torch.randn(batch, 12)

            def broken():
                raise ValueError("no weights")

            def not_a_model():
                return 42
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "usermodels_unit"


def test_py_source_with_shape_and_companion(user_module):
    w = load(f"py:{user_module}:net", input_shape="1x12")
    assert w.inputs[0].shape == (12,)
    w2 = load(f"py:{user_module}:net")  # companion net_inputs(batch)
    assert w2.make_inputs(5, 0)["input0"].shape == (5, 12)


@pytest.mark.parametrize(
    "ref, match",
    [
        ("nosuchmodule_xyz:net", "cannot import module"),
        ("usermodels_unit:missing", "has no function 'missing'"),
        ("usermodels_unit:not_a_model", "not a torch.nn.Module"),
        ("usermodels_unit", "must look like"),
    ],
)
def test_py_source_errors(user_module, ref, match):
    with pytest.raises(SourceError, match=match):
        load(f"py:{ref}", input_shape="1x12")


def test_py_source_that_raises(user_module):
    with pytest.raises(nnspeed.NnspeedError, match="raised ValueError: no weights"):
        load(f"py:{user_module}:broken", input_shape="1x12")


def test_onnx_sources(tmp_path):
    import torch

    path = tmp_path / "m.onnx"
    torch.onnx.export(
        torch.nn.Linear(8, 2),
        (torch.randn(1, 8),),
        str(path),
        dynamo=False,
        input_names=["x"],
        dynamic_axes={"x": {0: "batch"}},
    )
    w = load(f"onnx:{path}")
    assert w.kind == "onnx" and w.inputs[0].shape == (8,) and w.inputs[0].fixed_batch is None
    assert w.make_inputs(4, 0)["x"].shape == (4, 8)
    with pytest.raises(SourceError, match="no ONNX file"):
        load(f"onnx:{tmp_path / 'missing.onnx'}")
    (tmp_path / "bad.onnx").write_bytes(b"\x00garbage" * 50)
    with pytest.raises(SourceError, match="not a valid ONNX model"):
        load(f"onnx:{tmp_path / 'bad.onnx'}")


def test_onnx_symbolic_dims_need_input_shape(tmp_path):
    import torch

    path = tmp_path / "seq.onnx"
    torch.onnx.export(
        torch.nn.Linear(8, 2),
        (torch.randn(1, 5, 8),),
        str(path),
        dynamo=False,
        input_names=["x"],
        dynamic_axes={"x": {0: "batch", 1: "seq"}},
    )
    with pytest.raises(InputError, match="symbolic dimension 'seq'"):
        load(f"onnx:{path}")
    w = load(f"onnx:{path}", input_shape="1x7x8")
    assert w.make_inputs(2, 0)["x"].shape == (2, 7, 8)
    with pytest.raises(InputError, match="fixed at 8"):
        load(f"onnx:{path}", input_shape="1x7x9")


def test_fixed_batch_onnx(tmp_path):
    import torch

    path = tmp_path / "fixed.onnx"
    torch.onnx.export(torch.nn.Linear(8, 2), (torch.randn(1, 8),), str(path), dynamo=False, input_names=["x"])
    w = load(f"onnx:{path}")
    with pytest.raises(InputError, match="use --batch 1"):
        w.make_inputs(4, 0)


def test_zoo_lists_documented_models():
    expected = {
        "mlp",
        "cnn",
        "lstm",
        "gru",
        "transformer",
        "resnet18",
        "resnet50",
        "mobilenet_v2",
        "minilm",
        "gpt2",
        "gpt2-tiny",
    }
    assert expected <= set(ZOO)
    _e, v = parse_zoo("lstm?hidden=16&layers=2&seq=8")
    assert v == {"hidden": 16, "layers": 2, "seq": 8, "in": 64}


def test_import_nnspeed_is_light():
    code = (
        "import sys, nnspeed; heavy = [m for m in ('onnxruntime', 'openvino', 'transformers', 'ray', 'torch', 'onnx') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_public_api_is_exactly_all():
    assert set(nnspeed.__all__) == {
        "Measurement",
        "NnspeedError",
        "Store",
        "StopRule",
        "TrainOptions",
        "Workload",
        "__version__",
        "bench",
        "bench_run",
        "capacity",
        "check",
        "compare",
        "compare_runs",
        "explain",
        "fleet",
        "generate",
        "history",
        "load",
        "machine",
        "optimize",
        "predict",
        "side_by_side",
        "study",
        "sweep",
        "train",
    }
    # Each name resolves (lazily) to the object it names, even once every submodule is
    # imported: a subpackage of the same name would then shadow the function.
    import importlib
    import pkgutil

    for m in pkgutil.walk_packages(nnspeed.__path__, "nnspeed."):
        if not m.name.endswith("__main__"):
            importlib.import_module(m.name)
    for name in nnspeed.__all__:
        value = getattr(nnspeed, name)
        assert isinstance(value, str) if name == "__version__" else callable(value) or isinstance(value, type), name
        assert not isinstance(value, type(nnspeed)), f"nnspeed.{name} is a module, not the public {name}"


def test_readme_python_api_shows_every_public_name():
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Python API\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = set(re.findall(r"\bnnspeed\.(\w+)", code))
    assert shown == set(nnspeed.__all__)


class _KeywordNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)

    def forward(self, x, mask=None, scale=1.0, flag=True):
        assert flag is False  # the constant keyword argument reaches the model
        return {"out": self.lin(x) * mask.unsqueeze(-1) * scale, "none": None, "pair": (x.sum(-1), x.mean(-1))}


@pytest.mark.parametrize(
    "inputs, call",
    [
        ({"x": torch.randn(2, 5, 4), "mask": torch.ones(2, 5), "flag": False}, "keyword"),
        ((torch.randn(2, 5, 4), {"mask": torch.ones(2, 5), "flag": False}), "mixed"),
    ],
)
def test_keyword_and_mixed_inputs_and_flattened_outputs(inputs, call):
    w = workload_from_module(_KeywordNet(), inputs)
    sig = w.meta["signature"]
    assert sig["call"] == call and sig["constants"] == {"flag": False}
    assert [o["name"] for o in sig["outputs"]] == ["out", "pair.0", "pair.1"]  # None left out
    out = w.model(*w.torch_args(3))  # every backend calls it by position and gets a flat tuple
    assert isinstance(out, tuple) and [t.shape for t in out] == [(3, 5, 3), (3, 5), (3, 5)]
    summary = w.summary()
    assert summary["inputs"][1] == {"name": "mask", "shape": "Nx5", "dtype": "float32", "keyword": True}


def test_a_forward_returning_nothing_or_bad_inputs_is_refused():
    class Nothing(torch.nn.Module):
        def forward(self, x):
            return None

    with pytest.raises(ModelError, match="no tensor"):
        workload_from_module(Nothing(), torch.randn(1, 3))
    with pytest.raises(InputError, match="hold no tensor"):
        workload_from_module(torch.nn.Identity(), {"flag": True})
    with pytest.raises(InputError, match="at position 1"):
        workload_from_module(torch.nn.Identity(), (torch.randn(1, 3), [1, 2]))
    with pytest.raises(InputError, match="scalar"):
        workload_from_module(torch.nn.Identity(), torch.tensor(1.0))


def test_bare_paths_and_python_files(tmp_path, monkeypatch):
    from nnspeed.workloads.sources import with_scheme

    (tmp_path / "m.onnx").write_bytes(b"")
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    assert with_scheme(str(tmp_path / "m.onnx")) == f"onnx:{tmp_path / 'm.onnx'}"
    assert with_scheme(str(tmp_path / "hf")) == f"hf:{tmp_path / 'hf'}"
    assert with_scheme("zoo:mlp") == "zoo:mlp"
    with pytest.raises(SourceError, match="no model file"):
        with_scheme(str(tmp_path / "other.onnx"))
    with pytest.raises(SourceError, match="holds no model"):
        with_scheme(str(tmp_path))
    # A file in a package imports with its relative imports; a loose one says what to do.
    pkg = tmp_path / "userpkg_unit"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "parts.py").write_text("import torch\ndef head():\n    return torch.nn.Linear(3, 2)\n")
    (pkg / "net.py").write_text("from .parts import head\ndef make():\n    return head()\n")
    monkeypatch.chdir(tmp_path)
    w = load("py:userpkg_unit/net.py:make", input_shape="1x3")
    assert w.model(*w.torch_args(2)).shape == (2, 2)
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "net_loose_unit.py").write_text((pkg / "net.py").read_text())
    with pytest.raises(SourceError, match=r"add an __init__\.py"):
        load("py:loose/net_loose_unit.py:make", input_shape="1x3")


def test_input_shape_batch_dimension_is_the_batch():
    with pytest.raises(InputError, match="--batch 4"):
        load("py:tests.gallery.models:dict_out", input_shape="4x32")
    w = load("py:tests.gallery.models:dict_out", input_shape="1x32")
    assert w.make_inputs(4, 0)["input0"].shape == (4, 32)
