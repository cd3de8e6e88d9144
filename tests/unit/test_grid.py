import pytest

from nnspeed.errors import InputError
from nnspeed.sweeps.grid import build_cells, parse_axes, sweep_id


def test_settings_and_zoo_keys_make_every_combination():
    cells = build_cells("zoo:mlp?width=64", "backend=torch-eager,onnxruntime;batch=1,8;depth=2,8")
    assert len(cells) == 8
    assert [c.index for c in cells] == list(range(8))
    assert {c.source for c in cells} == {"zoo:mlp?depth=2&width=64", "zoo:mlp?depth=8&width=64"}
    assert cells[0].key == "zoo:mlp?depth=2&width=64|torch-eager|fp32|b1|tauto|cpu"
    assert len({c.key for c in cells}) == 8


def test_threads_auto_and_numbers():
    cells = build_cells("zoo:mlp", "threads=auto,1,2")
    assert [c.threads for c in cells] == [None, 1, 2]


@pytest.mark.parametrize(
    "source, grid, match",
    [
        ("zoo:mlp", "", "empty"),
        ("zoo:mlp", "batch", "not of the form"),
        ("zoo:mlp", "batch=1;batch=2", "twice"),
        ("zoo:mlp", "batch=0", "at least 1"),
        ("zoo:mlp", "threads=many", "whole numbers"),
        ("zoo:mlp", "detph=2,4", "has no key 'detph'"),
        ("zoo:mlp", "act=relu,swish", "must be one of"),
        ("onnx:m.onnx", "depth=2", "not a zoo model"),
        ("zoo:mlp", "batch=1,1", "repeats a value"),
    ],
)
def test_bad_grids(source, grid, match):
    with pytest.raises(InputError, match=match):
        build_cells(source, grid)


def test_sweep_id_depends_on_arguments_only():
    a = sweep_id("zoo:mlp", "batch=1,8;backend=onnxruntime", {"stop": 1})
    assert a == sweep_id("zoo:mlp", " batch=1,8 ; backend=onnxruntime ", {"stop": 1})
    assert a != sweep_id("zoo:mlp", "batch=1,8", {"stop": 1})
    assert a != sweep_id("zoo:mlp", "batch=1,8;backend=onnxruntime", {"stop": 2})
    assert parse_axes("a=1,2;b=x") == {"a": ["1", "2"], "b": ["x"]}


@pytest.mark.parametrize(
    "source, backend",
    [
        ("zoo:mlp", "torch-eager"),
        ("py:pkg.mod:fn", "torch-eager"),
        ("onnx:model.onnx", "onnxruntime"),
        ("zoo:keras-mlp?depth=2", "tensorflow"),
        ("keras:model.keras", "tensorflow"),
        ("tf:saved", "tensorflow"),
        ("tflite:model.tflite", "litert"),
    ],
)
def test_without_a_backend_axis_each_source_runs_on_its_own_runtime(source, backend):
    from nnspeed.api import grid

    assert [c.backend for c in build_cells(source, "batch=1,2")] == [backend, backend]
    assert [s.backend for _, s in grid([source], ["auto", "onnxruntime"], ["fp32"], [1], [None], ["cpu"])] == [
        backend,
        "onnxruntime",
    ]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed interrupt
def test_an_interrupt_python_swallowed_still_stops_the_sweep_after_its_cell(store_url, monkeypatch):
    # Ctrl-C that lands in one of subprocess's fork hooks is printed and ignored by Python;
    # the sweep must stop after the cell it was in, not run every cell and exit 0.  A cell that
    # failed under the interrupt (a terminal's Ctrl-C reaches the cell's process too) is not
    # stored as failed: resuming runs it again.
    import os
    import signal

    from nnspeed.store.store import Store
    from nnspeed.sweeps import runner

    class Swallowed:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(1000))  # the handler runs here, and its KeyboardInterrupt is ignored

    from nnspeed.measure.measurement import Measurement

    ran = []
    done = Measurement("zoo:mlp", "torch-eager", "fp32", "fp32", 1, 1, "cpu", tuple([1.0] * 30), 1.0, 50.0)

    def run_cell(cell, spec, timeout_s):
        ran.append(cell.key)
        Swallowed()
        return ("ok", "", done) if len(ran) == 1 else ("failed", "killed by SIGINT", None)

    monkeypatch.setattr(runner, "run_cell", run_cell)
    cells = build_cells("zoo:mlp", "batch=1,2,4")
    for sweep in ("sweep-t", "sweep-u"):
        with pytest.raises(KeyboardInterrupt):
            runner.run_sweep(Store(store_url), sweep, "nnspeed sweep", cells, {})
    assert ran == [cells[0].key, cells[0].key]
    assert [c["position"] for c in Store(store_url).cells("sweep-t")] == [0]  # it finished: kept
    assert Store(store_url).cells("sweep-u") == []  # it failed under the interrupt: to be run again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
