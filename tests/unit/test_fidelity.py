"""Fidelity without labels: each output's kind, a metric that fits it, an interval over inputs,
and the worst output deciding (no timing here)."""

import numpy as np
import pytest

from nnspeed.errors import InputError, ModelError
from nnspeed.optimization.fidelity import FidelityScorer, checks_for
from nnspeed.optimization.metrics import agreement, cosine, iou, parse_fidelity, retrieval, snr, wilson
from nnspeed.optimization.outputs import classify, classify_all

rng = np.random.default_rng(0)


@pytest.mark.parametrize(
    "shape, dtype, task, kind, axis",
    [
        ((8, 10), "float32", None, "logits", 1),
        ((8, 384), "float32", "embedding", "embedding", 1),
        ((8, 4, 64, 64), "float32", None, "class-map", 1),
        ((8, 64, 64, 4), "float32", None, "class-map", 3),  # NHWC (Keras)
        ((8, 32, 5), "float32", None, "class-map", 2),  # per-token classes
        ((8, 1, 64, 64), "float32", None, "dense", None),
        ((8,), "float32", None, "regression", None),
        ((8, 1), "float32", None, "regression", None),
        ((8, 5), "int64", None, "labels", None),
    ],
)
def test_outputs_are_classified_by_shape(shape, dtype, task, kind, axis):
    k = classify(0, np.zeros(shape, dtype), task)
    assert (k.kind, k.axis) == (kind, axis)


def test_wilson_keeps_one_flip_in_64_inside_a_99_percent_threshold():
    lo, hi = wilson(63, 64)
    assert lo < 63 / 64 < hi and hi > 0.99
    assert wilson(64, 64)[1] == 1.0 and wilson(64, 64)[0] < 0.95
    assert wilson(61, 64)[1] < 0.99  # three flips in 64: the interval lies below 99%


def test_top1_agreement_counts_inputs_with_a_wilson_interval():
    ref = rng.standard_normal((64, 10))
    out = ref.copy()
    out[0] = out[0][::-1]  # one input's top class flips
    e = agreement(ref, out, 1)
    assert e.n == 64 and e.value == pytest.approx(100 * 63 / 64) and e.ci95[1] > 99
    assert "Wilson" in e.method


def test_per_pixel_agreement_and_iou_resample_images():
    ref = rng.standard_normal((16, 4, 8, 8))
    out = ref.copy()
    out[:4, :, 0, 0] = -out[:4, :, 0, 0]  # one pixel flips in 4 of 16 images
    e = agreement(ref, out, 1)
    assert e.n == 16 and e.extra["positions_per_input"] == 64
    assert 99 < e.value < 100 and e.ci95[0] < e.value <= e.ci95[1]
    exact = agreement(ref, ref, 1)
    assert exact.value == 100 and 99.5 < exact.ci95[0] < 100  # not a point: Wilson over all pixels
    assert iou(ref, ref, 1).value == 100 and iou(ref, out, 1).value < 100


def test_cosine_retrieval_and_snr():
    ref = rng.standard_normal((32, 16))
    noisy = ref + 0.1 * rng.standard_normal(ref.shape)
    c = cosine(ref, noisy)
    assert 0.98 < c.value < 1 and c.ci95[0] <= c.value <= c.ci95[1] and c.extra["min"] < c.value
    assert retrieval(ref, ref).value == 100
    s = snr(ref, noisy)
    assert s.value == pytest.approx(20, abs=1) and s.ci95[0] < 20.5 < s.ci95[1] + 1
    assert snr(ref, ref).value == 120  # capped: exact
    offset = 100 + ref  # a constant offset is no signal: it neither helps nor hides the error
    assert snr(offset, offset + (noisy - ref)).value == pytest.approx(s.value)


def scorer(reference, metric=None, threshold=None):
    kinds = classify_all(reference)
    return FidelityScorer([({}, len(reference[0]))], reference, checks_for(kinds, metric, threshold, 1.0))


def test_every_output_is_scored_and_the_worst_decides():
    logits, boxes = rng.standard_normal((64, 10)), rng.standard_normal((64, 4, 8, 8))
    s = scorer([logits, boxes])
    good = s.score([logits.copy(), boxes.copy()])
    assert good.passed and {o["index"] for o in good.outputs} == {0, 1}
    broken = boxes.copy()
    broken[:, :, :4] = rng.standard_normal(broken[:, :, :4].shape)  # half of every map scrambled
    bad = s.score([logits.copy(), broken])
    assert not bad.passed and bad.details["deciding_output"] == 1 and bad.n == 64
    reason = s.judge(good, bad, 1.0)
    assert reason.startswith("output 1 (Nx4x8x8)") and "lies below 99" in reason


def test_one_flip_is_not_the_verdict_but_many_are():
    ref = rng.standard_normal((64, 10))
    s = scorer([ref])
    one = ref.copy()
    one[0] = one[0][::-1]
    assert s.score([one]).passed
    many = ref.copy()
    many[:8] = many[:8, ::-1]
    assert not s.score([many]).passed


def test_a_constant_class_map_is_also_held_to_snr():
    ref = rng.standard_normal((16, 4, 8, 8)) * 0.01
    ref[:, 3] += 1  # fp32 answers class 3 everywhere: agreement alone proves nothing
    s = scorer([ref])
    assert [c.metric.name for c in s.checks] == ["agreement", "snr"] and "constant answer" in s.checks[1].why
    flat = ref.copy()
    flat[:, :3] = 0  # still class 3 everywhere, but the scores no longer follow the input
    score = s.score([flat])
    assert not score.passed and score.outputs[0]["passed"] and not score.outputs[1]["passed"]


def test_a_variant_that_changes_outputs_fails_clearly():
    ref = rng.standard_normal((8, 10))
    with pytest.raises(ModelError, match="returns 2 outputs"):
        scorer([ref]).score([ref, ref])
    with pytest.raises(ModelError, match="has shape"):
        scorer([ref]).score([ref[:, :5]])
    assert np.isnan(scorer([ref]).score([ref * np.nan]).value)


def test_fidelity_option_sets_metric_and_threshold():
    assert parse_fidelity("agreement:99.5") == ("agreement", 99.5)
    assert parse_fidelity("top1:98") == ("agreement", 98.0)
    assert parse_fidelity("snr") == ("snr", None)
    s = scorer([rng.standard_normal((8, 4, 4, 4))], "snr", 25.0)
    assert [(c.metric.name, c.threshold) for c in s.checks] == [("snr", 25.0)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("accuracy:99", "METRIC one of agreement"),
        ("agreement:high", "must be a number"),
        ("agreement:120", "at most 100"),
        ("cosine:2", "at most 1"),
    ],
)
def test_bad_fidelity_values_are_one_sentence(text, message):
    with pytest.raises(InputError, match=message):
        parse_fidelity(text)


def test_agreement_on_a_regression_is_refused():
    with pytest.raises(InputError, match="has none; use snr or cosine"):
        checks_for(classify_all([np.zeros((8, 1))]), "agreement", None, 1.0)
