"""nnspeed's own engine and MLPerf LoadGen agree on the same runner: single-stream p90 and
offline throughput, the median of the per-round ratios of five interleaved rounds (A B A B ...)
so that a drift of the machine's speed falls on both.  The bound is wide (25%) because CI machines are shared; the
5% and 10% targets are checked by benchmarks/loadgen_agreement.py, which records its figures."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BOUND = 0.25
ROUNDS = 5
_spec = importlib.util.spec_from_file_location(
    "loadgen_agreement", Path(__file__).resolve().parents[2] / "benchmarks" / "loadgen_agreement.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.mark.parametrize("scenario", ["single-stream", "offline"])
def test_engines_agree(scenario):
    every = bench.rounds(scenario, ROUNDS)
    assert all(len(v) == ROUNDS and min(v) > 0 for v in every.values()), every
    assert bench.round_ratio(every) == pytest.approx(1.0, abs=BOUND), every
