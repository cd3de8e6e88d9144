"""nnspeed's own engine and MLPerf LoadGen agree on the same runner: single-stream p90 within
5%, offline throughput within 10%.  The engines take turns (A B A B A B) so that a drift of the
machine's speed falls on both, and the medians of the rounds are compared."""

import numpy as np
import pytest

pytest.importorskip("mlperf_loadgen")
pytestmark = pytest.mark.slow

ROUNDS = 3


def _rounds(scenario, batch, figure):
    from nnspeed.api import load
    from nnspeed.backends.base import Settings
    from nnspeed.measure.stoprule import StopRule
    from nnspeed.scenarios.choose import ScenarioOptions, scenario_runner

    w = load("zoo:cnn")
    stop = StopRule(min_time=1.0, max_time=1.5)
    settings = Settings("torch-eager", batch=batch, threads=1)
    out = {"nnspeed": [], "loadgen": []}
    for _ in range(ROUNDS):
        for engine in out:
            m = scenario_runner(ScenarioOptions(scenario=scenario, engine=engine), stop)(w, settings)
            out[engine].append(figure(m.to_dict()))
    return {k: float(np.median(v)) for k, v in out.items()}, out


def test_single_stream_p90_agrees_within_5_percent():
    def p90(d):
        return d["loadgen"]["p90_ms"] if d.get("engine") == "loadgen" else d["latency_ms"]["p90"]

    med, every = _rounds("single-stream", 1, p90)
    assert med["loadgen"] == pytest.approx(med["nnspeed"], rel=0.05), every


def test_offline_throughput_agrees_within_10_percent():
    def sps(d):
        return d["loadgen"]["samples_per_second"] if d.get("engine") == "loadgen" else d["offline"]["samples_per_s"]

    med, every = _rounds("offline", 8, sps)
    assert med["loadgen"] == pytest.approx(med["nnspeed"], rel=0.10), every
