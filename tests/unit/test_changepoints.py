import numpy as np

from nnspeed.measure.changepoints import change_points


def test_a_step_is_found_where_it_happened():
    rng = np.random.default_rng(0)
    series = np.r_[np.full(10, 1.0), np.full(10, 1.2)] * np.exp(rng.normal(0, 0.01, 20))
    found = change_points(series)
    assert [c["index"] for c in found] == [10] and abs(found[0]["ratio"] - 1.2) < 0.03


def test_noise_and_small_steps_are_not_changes():
    rng = np.random.default_rng(1)
    assert change_points(np.exp(rng.normal(0, 0.02, 30))) == []
    assert change_points(np.r_[np.full(8, 1.0), np.full(8, 1.03)]) == []  # under 5%


def test_two_steps_and_a_short_series():
    series = np.r_[np.full(6, 1.0), np.full(6, 0.7), np.full(6, 1.4)]
    assert [c["index"] for c in change_points(series)] == [6, 12]
    # Four runs: too few for a rank test; a step far above the run-to-run noise still counts.
    assert [c["index"] for c in change_points([1.0, 1.01, 1.5, 1.49])] == [2]
    assert change_points([1.0]) == []
