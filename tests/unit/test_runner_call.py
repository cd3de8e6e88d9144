"""runner_call: what one timed call does, for runners with a pool of inputs and with one input set once."""

import numpy as np
import pytest

from nnspeed.errors import ModelError
from nnspeed.scenarios.single_stream import runner_call


class FakeWorkload:
    source = "zoo:fake"

    def make_inputs(self, batch, i):
        return {"x": np.full((batch, 2), float(i), dtype=np.float32)}

    def batches(self, batch):
        return [self.make_inputs(batch, i) for i in range(3)]


class PoolRunner:
    """Each call gets one of the prepared inputs, then a sync."""

    def __init__(self):
        self.seen, self.syncs = [], 0

    def prepare(self, inputs):
        return inputs["x"]

    def run(self, x):
        self.seen.append(float(x[0, 0]))
        return x

    def sync(self):
        self.syncs += 1

    def outputs(self, result):
        return [result]


class SetOnceRunner(PoolRunner):
    """One input buffer (as LiteRT's Interpreter): set once, then the runtime's own call."""

    input_pool = 1

    def __init__(self, outputs=(1.0,)):
        super().__init__()
        self.set, self.invokes, self._out = [], 0, np.asarray(outputs, dtype=np.float32)

    def invoker(self, x):
        self.set.append(x)

        def invoke():
            self.invokes += 1
            if self.invokes == 3:
                raise RuntimeError("delegate failed")

        return invoke

    def run(self, x):  # never called: the invoker is
        raise AssertionError("run() called instead of the invoker")

    def outputs(self, result):
        return [self._out]


def test_a_pooled_runner_cycles_its_inputs_and_waits_for_each():
    r = PoolRunner()
    call, n = runner_call(r, FakeWorkload(), 1)
    for i in range(5):
        call(i)
    assert n == 3 and r.seen == [0, 1, 2, 0, 1] and r.syncs == 5


def test_a_set_once_runner_is_called_through_its_invoker_alone():
    r = SetOnceRunner()
    call, n = runner_call(r, FakeWorkload(), 4)
    assert n == 1 and len(r.set) == 1 and r.set[0].shape == (4, 2)
    call(0)
    call(1)
    assert r.invokes == 2 and r.syncs == 0
    with pytest.raises(ModelError, match="RuntimeError when called"):
        call(2)  # the runtime's own exception is still one clear sentence


def test_the_first_outputs_are_checked_on_the_invoker_path_too():
    call, _ = runner_call(SetOnceRunner(outputs=(np.nan, 1.0)), FakeWorkload(), 1)
    with pytest.raises(ModelError, match="NaN/inf"):
        call(0)
