"""Realtime frames: miss, late and drop accounting checked exactly on a scripted slow model."""

import itertools

import numpy as np
import pytest

from nnspeed.errors import InputError
from nnspeed.measure.clock import FakeClock
from nnspeed.scenarios.realtime import (
    DROPPED,
    RAN,
    replay_max_fps,
    replay_miss_rate,
    run_stream,
    stream_result,
)

# 10 fps: frame k arrives at 0.1 + 0.1·k s and is due 0.1 s later.  The second call is slow.
SCRIPT = [0.05, 0.25, 0.05, 0.05, 0.04, 0.05]


def _stream(drop_late):
    calls = []
    log = run_stream(calls.append, FakeClock(SCRIPT), fps=10, frames=6, drop_late=drop_late)
    return log, calls


def test_queued_frames_wait_and_turn_late():
    log, calls = _stream(drop_late=False)
    assert calls == [0, 1, 2, 3, 4, 5]
    # starts: on arrival, or when the previous frame ends
    np.testing.assert_allclose(log.start, [0.1, 0.2, 0.45, 0.5, 0.55, 0.6])
    np.testing.assert_allclose(log.end - log.arrival, [0.05, 0.25, 0.2, 0.15, 0.09, 0.05])
    r = stream_result(log)
    assert (r["frames"], r["ran"], r["late"], r["dropped"], r["unserved"]) == (6, 6, 3, 0, 0)
    assert r["miss_rate"] == pytest.approx(3 / 6)
    assert r["queue_ms_p99"] == pytest.approx(np.percentile([0, 0, 150, 100, 50, 0], 99))
    assert r["jitter_ms"] == pytest.approx(np.std([50, 250, 200, 150, 90, 50], ddof=1))


def test_drop_late_drops_frames_that_arrive_while_one_runs():
    log, calls = _stream(drop_late=True)
    # frames 2 and 3 arrive (0.3, 0.4 s) while frame 1 runs until 0.45 s: dropped, never called
    assert calls == [0, 1, 4, 5]
    assert list(log.status) == [RAN, RAN, DROPPED, DROPPED, RAN, RAN]
    r = stream_result(log)
    assert (r["ran"], r["late"], r["dropped"]) == (4, 1, 2)
    assert r["miss_rate"] == pytest.approx(3 / 6)
    np.testing.assert_allclose((log.end - log.arrival)[log.status == RAN], [0.05, 0.25, 0.05, 0.05])


def test_replay_matches_the_stream_and_finds_the_sustainable_rate():
    # replaying the scripted service times at 10 fps gives the same misses as the stream
    assert replay_miss_rate(np.array(SCRIPT), 10, drop_late=False) == pytest.approx(3 / 6)
    assert replay_miss_rate(np.array(SCRIPT), 10, drop_late=True) == pytest.approx(3 / 6)
    # a constant 20 ms call sustains 50 fps and no more
    assert replay_max_fps(np.full(200, 0.02), drop_late=False) == pytest.approx(50, rel=0.01)
    # one 50 ms call in 400: late, and the two frames arriving while it runs are dropped:
    # 3 misses in 400 (≤1%), so 50 fps holds
    service = np.full(400, 0.02)
    service[0] = 0.05
    assert replay_max_fps(service, drop_late=True) == pytest.approx(50, rel=0.01)
    # one in 100: 3% at 50 fps; only a period of 50 ms (20 fps) absorbs the slow call
    service[::100] = 0.05
    assert replay_miss_rate(service, 50, drop_late=True) == pytest.approx(0.03)
    assert replay_max_fps(service, drop_late=True) == pytest.approx(20, rel=0.01)


def test_realtime_measurement_carries_the_contract():
    import torch

    from nnspeed.api import workload_from_module
    from nnspeed.backends.base import Settings
    from nnspeed.measure.stoprule import StopRule
    from nnspeed.scenarios.realtime import realtime

    w = workload_from_module(torch.nn.Linear(4, 4), torch.zeros(1, 4))
    clock = FakeClock(itertools.cycle([0.01]))  # every call takes 10 ms
    m = realtime(w, Settings("torch-eager"), 30, StopRule(max_time=2), clock=clock, warmup=False, check_s=0)
    d = m.to_dict()
    rt = d["realtime"]
    assert {"fps", "miss_rate", "dropped", "jitter_ms", "max_fps"} <= set(rt)
    assert (rt["frames"], rt["miss_rate"], rt["dropped"]) == (60, 0.0, 0)
    assert rt["max_fps"] == pytest.approx(100, rel=0.01)
    assert d["latency_ms"]["p50"] == pytest.approx(10)
    assert rt["deadline_ms"] == pytest.approx(1000 / 30)


@pytest.mark.parametrize("fps", [0, -5, float("inf"), float("nan")])
def test_bad_fps_is_refused(fps):
    with pytest.raises(InputError, match="--fps"):
        run_stream(lambda i: None, FakeClock([]), fps=fps, frames=3)


def test_check_bisects_down_to_a_rate_that_holds(monkeypatch):
    """The replayed candidate (10,000 fps) misses for real; frames miss above 1,000 fps.  From a
    main run that held at 200 fps, the check finds a rate near 1,000, not 200."""
    import nnspeed.scenarios.realtime as rt

    monkeypatch.setattr(rt, "run_stream", lambda call, clock, fps, frames, drop_late: fps)
    monkeypatch.setattr(rt, "stream_result", lambda fps: {"miss_rate": 0.5 if fps > 1000 else 0.0})
    c = rt.check_max_fps(None, None, 10_000, 1.0, False, passed_at=200)
    assert c["confirmed"] and 950 <= c["max_fps"] <= 1000
    assert len(c["tried"]) <= rt.CHECK_TRIES and c["tried"][0]["fps"] == 10_000
    # a candidate that holds is confirmed at once; without a floor the check steps down
    assert rt.check_max_fps(None, None, 900, 1.0, False, passed_at=200)["tried"] == [{"fps": 900, "miss_rate": 0.0}]
    c = rt.check_max_fps(None, None, 1100, 1.0, False)
    assert c["tried"][1]["fps"] == pytest.approx(1100 * rt.CHECK_STEP)
    assert c["confirmed"] and 950 <= c["max_fps"] <= 1000
