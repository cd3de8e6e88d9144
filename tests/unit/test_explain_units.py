"""Profiler recording-cost calibration and the per-call medians it corrects."""

from nnspeed.explanation.layers import _median_times, recording_cost


def test_median_times_take_off_recording_cost_per_range_and_event():
    # layer a runs once per call, layer b (a shared module) twice per call; (ms, events)
    per_call = {"a": [[(1.0, 4)], [(1.2, 4)], [(9.0, 4)]], "b": [[(0.5, 0), (0.5, 0)]] * 3}
    assert _median_times(per_call) == {"a": 1.2, "b": 1.0}
    corrected = _median_times(per_call, per_range=0.1, per_event=0.05)
    assert abs(corrected["a"] - 0.9) < 1e-9 and abs(corrected["b"] - 0.8) < 1e-9
    assert _median_times({"c": [[(0.01, 9)]]}, 0.1, 0.1) == {"c": 0.0}  # never negative


def test_recording_cost_is_small_and_positive():
    per_range, per_event = recording_cost(calls=30)
    assert 0 < per_range < 0.2  # ms: a hook pair and a profiler range cost microseconds
    assert 0 <= per_event < 0.05


def test_recording_cost_does_not_follow_one_slow_calibration(monkeypatch):
    import nnspeed.explanation.layers as layers

    # one profiler session in five runs three times slow: taken alone it zeroes every small layer
    trials = iter([(0.006, 0.0023), (0.018, 0.0070), (0.0062, 0.0024), (0.0061, 0.0022), (0.0063, 0.0025)])
    monkeypatch.setattr(layers, "_recording_trial", lambda calls: next(trials))
    assert recording_cost(calls=10, trials=5) == (0.0062, 0.0024)
