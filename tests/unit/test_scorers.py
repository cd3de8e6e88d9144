import numpy as np
import pytest

from nnspeed.optimization.scorers import AccuracyScorer, _chunks, per_class_drops
from nnspeed.workloads.datasets import Split


def split(y_test):
    y = np.asarray(y_test)
    return Split(
        "t", np.zeros((4, 2), np.float32), np.zeros(4, np.int64), np.zeros((len(y), 2), np.float32), y, ("0", "1")
    )


def onehot(pred, k=2):
    return np.eye(k)[np.asarray(pred)]


def test_accuracy_and_per_class():
    s = AccuracyScorer(split([0, 0, 0, 0, 1, 1, 1, 1]))
    score = s.score([onehot([0, 0, 0, 1, 1, 1, 1, 1])])
    assert score.value == pytest.approx(87.5)
    assert score.per_class == {"0": 75.0, "1": 100.0}


def test_chunks_pad_to_a_static_batch_and_trim():
    chunks = _chunks(np.arange(10).reshape(10, 1), "x", size=4)
    assert [n for _, n in chunks] == [4, 4, 2]
    assert all(c["x"].shape == (4, 1) for c, _ in chunks)


def test_per_class_flags_the_class_hit_hardest():
    sp = split([0] * 10 + [1] * 10)
    base = AccuracyScorer(sp).score([onehot([0] * 10 + [1] * 10)])
    hurt = AccuracyScorer(sp).score([onehot([0] * 10 + [1] * 6 + [0] * 4)])  # class 1 loses 4 of 10
    drops, flagged = per_class_drops(base, hurt, sp)
    assert drops == {"0": 0.0, "1": 40.0}
    assert flagged == ["1"]
    same = AccuracyScorer(sp).score([onehot([0] * 10 + [1] * 10)])
    assert per_class_drops(base, same, sp)[1] == []


def test_classes_hit_several_times_the_average_are_flagged():
    y = np.repeat(np.arange(10), 10)
    sp = Split("t", np.zeros((4, 2)), np.zeros(4), np.zeros((100, 2)), y, tuple(str(k) for k in range(10)))
    base = AccuracyScorer(sp).score([np.eye(10)[y]])
    pred = y.copy()
    pred[30:35] = 0  # class 3 loses 5 of 10
    pred[70:73] = 0  # class 7 loses 3 of 10
    pred[90] = 0  # class 9 loses 1
    drops, flagged = per_class_drops(base, AccuracyScorer(sp).score([np.eye(10)[pred]]), sp)
    assert drops["3"] == 50 and flagged == ["3", "7"]  # average drop 9: 7 (30) is over 3x it, 9 (10) is not


def test_accuracy_carries_n_and_a_wilson_interval():
    score = AccuracyScorer(split([0, 0, 0, 0, 1, 1, 1, 1])).score([onehot([0, 0, 0, 1, 1, 1, 1, 1])])
    assert score.n == 8 and score.ci95[0] < 87.5 < score.ci95[1] <= 100


def test_outputs_with_the_batch_on_another_axis_are_turned_batch_first():
    from nnspeed.optimization.scorers import batch_first

    h = np.zeros((1, 64, 32))  # an LSTM's (num_layers, batch, hidden)
    assert batch_first(h, 64).shape == (64, 1, 32)
    assert batch_first(np.zeros((64, 7)), 64).shape == (64, 7)
    assert batch_first(np.zeros((3, 5)), 64).shape == (3, 5)  # no batch axis: left as it is
