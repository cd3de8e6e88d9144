"""The pytest plugin, run in a child pytest: save a baseline, pass an unchanged model, fail a
slower one, and refuse bad options."""

import pytest

pytest_plugins = ["pytester"]

SPEED_TEST = """
import os
import torch

def test_model_speed(nnspeed_bench):
    width = int(os.environ["SPEED_WIDTH"])
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(256, width), torch.nn.ReLU(), torch.nn.Linear(width, 10))
    m = nnspeed_bench(model, inputs=torch.randn(1, 256), threads=1)
    assert m.n > 0 and m.extra["pytest"]["id"].endswith("test_model_speed")
"""


@pytest.fixture
def speed(pytester, monkeypatch, tmp_path):
    pytester.makepyfile(test_speed=SPEED_TEST)
    url = f"sqlite:///{tmp_path / 'plugin.db'}"

    def run(width: int, *args):
        monkeypatch.setenv("SPEED_WIDTH", str(width))
        return pytester.runpytest_subprocess("--nnspeed-store", url, "--nnspeed-max-time", "3", *args)

    return run


def test_save_then_pass_unchanged_and_fail_slower(speed):
    saved = speed(64, "--nnspeed-save", "base")
    saved.assert_outcomes(passed=1)
    saved.stdout.fnmatch_lines(["*nnspeed: stored 1 results as run *, named 'base'*"])
    # The baseline was measured apart, in another process: the threshold leaves room for the
    # machine's drift between sessions (a shared 2-core EPYC was seen running 2.3x slower for
    # seconds at a time); the slower model does ~250x the work.
    same = speed(64, "--nnspeed-compare", "base", "--nnspeed-fail", "p50:200%")
    same.assert_outcomes(passed=1)
    slower = speed(16384, "--nnspeed-compare", "base", "--nnspeed-fail", "p50:200%,p90:200%")
    slower.assert_outcomes(failed=1)
    slower.stdout.fnmatch_lines(["*nnspeed: *slower by more than 200%*"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nnspeed-compare", "nope"], "*no baseline named 'nope'*"),
        (["--nnspeed-compare", "base", "--nnspeed-fail", "p75:5%"], "*unknown --nnspeed-fail 'p75'*"),
        (["--nnspeed-fail", "p50:5%"], "*needs --nnspeed-compare*"),
        (["--nnspeed-compare", "base", "--nnspeed-fail", "p50:-5%"], "*must be a slowdown of 0% or more*"),
    ],
)
def test_bad_plugin_options(speed, args, message):
    res = speed(64, *args)
    assert res.ret != 0
    res.stderr.fnmatch_lines([message])
