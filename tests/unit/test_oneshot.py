"""The tutorial's one-shot timing, step by step: the child builds its models from code in the
order of the arms and times one eager call after one warm-up, traced on stand-ins for Keras,
TensorFlow and LiteRT (no TensorFlow needed)."""

import ast
import importlib.util
import json
import sys
import types
from dataclasses import asdict
from typing import ClassVar

import pytest

from nnspeed.errors import SourceError
from nnspeed.scenarios.oneshot import CHILD, DenseStack, OneShotArm, check_arms


def _stand_ins(trace: list):
    """keras, tensorflow and ai_edge_litert modules that record what the child does with them."""

    class Model:
        count = 0

        def __init__(self, layers):
            Model.count += 1
            self.name = f"model{Model.count}"
            trace.append(("build", self.name, [layer for layer in layers]))

        def __call__(self, x):
            trace.append(("call", self.name, x))

    def dense(units, activation=None, input_shape=None):
        return (units, activation, input_shape)

    keras = types.SimpleNamespace(layers=types.SimpleNamespace(Dense=dense), Sequential=Model)

    class Normal(tuple):
        def numpy(self):
            return self

    def normal(shape):
        trace.append(("normal", tuple(shape)))
        return Normal(shape)

    class Converter:
        optimizations: ClassVar[list] = []

        @staticmethod
        def from_keras_model(model):
            c = Converter()
            c.model = model.name
            return c

        def convert(self):
            trace.append(("convert", self.model, list(self.optimizations)))
            return b"bytes"

    lite = types.SimpleNamespace(TFLiteConverter=Converter, Optimize=types.SimpleNamespace(DEFAULT="DEFAULT"))
    tf = types.SimpleNamespace(random=types.SimpleNamespace(normal=normal), lite=lite)

    class Interpreter:
        def __init__(self, model_content):
            trace.append(("interpreter",))

        def get_input_details(self):
            return [{"index": 0, "shape": [1, 100]}]

        def resize_tensor_input(self, index, shape):
            trace.append(("resize", tuple(shape)))

        def allocate_tensors(self):
            pass

        def set_tensor(self, index, x):
            trace.append(("set", tuple(x)))

        def invoke(self):
            trace.append(("invoke",))

    litert = types.ModuleType("ai_edge_litert")
    litert.interpreter = types.SimpleNamespace(Interpreter=Interpreter)
    return keras, tf, litert


def _run_child(tmp_path, monkeypatch, arms) -> list:
    trace: list = []
    keras, tf, litert = _stand_ins(trace)
    for name, mod in [("keras", keras), ("tensorflow", tf), ("ai_edge_litert", litert)]:
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", litert.interpreter)
    spec = importlib.util.spec_from_file_location("oneshot_child_under_test", CHILD)
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)
    monkeypatch.setattr(child.time, "time", lambda: trace.append(("clock",)) or float(len(trace)))
    path = tmp_path / "arms.json"
    path.write_text(json.dumps([asdict(a) for a in arms]))
    monkeypatch.setattr(sys, "argv", ["oneshot_child.py", str(path)])
    child.main()
    return trace


def test_child_builds_each_model_in_the_process_and_times_one_eager_call_after_one_warm_up(
    tmp_path, monkeypatch, capsys
):
    shallow, deep = DenseStack("shallow", 2), DenseStack("deep", 8)
    arms = [
        OneShotArm("depth 2", "keras", shallow),
        OneShotArm("depth 8", "keras", deep),
        OneShotArm("batch 32", "keras", deep, 32),
    ]
    trace = _run_child(tmp_path, monkeypatch, arms)
    x1, x32 = ("normal", (1, 100)), ("normal", (32, 100))
    first = [(128, "relu", (100,)), (128, "relu", None)]
    assert trace == [
        ("build", "model1", [*first, (10, "softmax", None)]),  # built from code, input_shape on the first layer
        x1,
        ("call", "model1", (1, 100)),  # the warm-up call
        ("clock",),
        ("call", "model1", (1, 100)),  # the one timed eager call
        ("clock",),
        ("build", "model2", [*first, *[(128, "relu", None)] * 6, (10, "softmax", None)]),  # deep, built second
        x1,
        ("call", "model2", (1, 100)),
        ("clock",),
        ("call", "model2", (1, 100)),
        ("clock",),
        x32,  # a later arm reuses the deep model, as one script would
        ("call", "model2", (32, 100)),
        ("clock",),
        ("call", "model2", (32, 100)),
        ("clock",),
    ]
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(out) == ["depth 2", "depth 8", "batch 32"] and all(v > 0 for v in out.values())


def test_child_converts_in_the_process_and_times_one_invoke(tmp_path, monkeypatch, capsys):
    deep = DenseStack("deep", 8)
    arms = [OneShotArm("float", "tflite", deep), OneShotArm("int8", "tflite", deep, quantization="dynamic-int8")]
    trace = _run_child(tmp_path, monkeypatch, arms)
    steps = [t for t in trace if t[0] != "build"]
    timed = [("set", (1, 100)), ("invoke",), ("clock",), ("invoke",), ("clock",)]
    assert steps == [
        ("convert", "model1", []),
        ("interpreter",),
        ("normal", (1, 100)),
        *timed,
        ("convert", "model1", ["DEFAULT"]),  # Optimize.DEFAULT: dynamic-range int8
        ("interpreter",),
        ("normal", (1, 100)),
        *timed,
    ]
    assert [t[0] for t in trace].count("build") == 1


def test_child_imports_nothing_of_nnspeed():
    imported = set()
    for node in ast.walk(ast.parse(CHILD.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"contextlib", "json", "sys", "time", "warnings", "keras", "tensorflow", "ai_edge_litert"}


def test_two_models_under_one_name_are_refused():
    """Two models sharing a name would time the first twice: the defect that once read the
    deep model as faster."""
    with pytest.raises(SourceError, match="both named 'mlp'"):
        check_arms(
            [OneShotArm("depth 2", "keras", DenseStack("mlp", 2)), OneShotArm("depth 8", "keras", DenseStack("mlp", 8))]
        )
    with pytest.raises(SourceError, match="distinct labels"):
        check_arms([OneShotArm("a", "keras", DenseStack("s", 2)), OneShotArm("a", "keras", DenseStack("s", 2))])
    check_arms([OneShotArm("a", "keras", DenseStack("s", 2)), OneShotArm("b", "keras", DenseStack("s", 2), 32)])
