"""A runner's call state (torch's inference mode) is entered once around a stretch of calls,
and a call made outside it still runs in that state and leaves nothing behind."""

import torch

import nnspeed
from nnspeed.backends.base import Settings
from nnspeed.backends.registry import calling, get_backend, opened


def test_eager_calls_inside_opened_run_in_inference_mode_entered_once():
    w = nnspeed.load("zoo:mlp")
    with opened(w, Settings("torch-eager", threads=1)) as runner:
        assert torch.is_inference_mode_enabled()
        out = runner.run(runner.prepare(w.make_inputs(1, 0)))
        assert out.is_inference()
        with calling(runner):  # nested: already entered, nothing changes
            assert torch.is_inference_mode_enabled()
        assert torch.is_inference_mode_enabled()
    assert not torch.is_inference_mode_enabled()


def test_a_call_outside_the_state_enters_and_leaves_it():
    w = nnspeed.load("zoo:mlp")
    runner = get_backend("torch-eager").prepare(w, Settings("torch-eager", threads=1))
    try:
        out = runner.run(runner.prepare(w.make_inputs(1, 0)))
        assert out.is_inference() and not torch.is_inference_mode_enabled()
    finally:
        runner.close()


def test_a_training_step_keeps_autograd():
    w = nnspeed.load("zoo:mlp")
    with opened(w, Settings("torch-train", threads=1)) as runner:
        assert not torch.is_inference_mode_enabled()
        loss = runner.run(runner.prepare(w.make_inputs(2, 0)))
        assert torch.isfinite(loss)


def test_a_runner_without_call_state_needs_none():
    class Plain:
        pass

    with calling(Plain()):
        assert not torch.is_inference_mode_enabled()
