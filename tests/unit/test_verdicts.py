import pytest

from nnspeed.claims.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, expect, slowdown
from nnspeed.measure.compare import Comparison


def cmp(speedup, lo, hi):
    return Comparison("k", speedup, (lo, hi), "", 1.0, 1.0 / speedup)


@pytest.mark.parametrize(
    "speedup, lo, hi, direction, verdict",
    [
        (2.0, 1.9, 2.1, "faster", SUPPORTED),
        (2.0, 1.9, 2.1, "slower", REFUTED),  # materially the opposite
        (0.5, 0.45, 0.55, "slower", SUPPORTED),
        (1.02, 1.01, 1.03, "slower", REFUTED),  # significant, but no material effect either way
        (0.98, 0.97, 0.99, "faster", REFUTED),
        (1.06, 1.02, 1.12, "faster", INCONCLUSIVE),  # small effect, CI reaches past 10%
        (1.3, 0.8, 1.9, "faster", INCONCLUSIVE),  # too wide to tell
        (1.1, 1.05, 1.15, "faster", SUPPORTED),
    ],
)
def test_expect(speedup, lo, hi, direction, verdict):
    assert expect(cmp(speedup, lo, hi), direction) == verdict


def test_slowdown_inverts_the_interval():
    s, ci = slowdown(cmp(0.5, 0.4, 0.625))
    assert s == 2.0 and ci == [1.6, 2.5]


# Every claim's verdict rule on synthetic measurements: per-round figures of two arms measured
# side by side (as the study measures them), per-call samples, and generation steps.

import numpy as np  # noqa: E402

from nnspeed.claims import verdicts as v  # noqa: E402
from nnspeed.measure.compare import from_rounds  # noqa: E402
from nnspeed.measure.measurement import Measurement  # noqa: E402
from nnspeed.measure.paired import paired_ratio  # noqa: E402


def rounds(base_ms, time_ratio, spread=0.01, n=12, seed=0):
    """A Comparison from n synthetic rounds: the candidate takes ``time_ratio`` × the baseline's
    time in each round, with ``spread`` of round-to-round jitter, on a drifting machine."""
    rng = np.random.default_rng(seed)
    drift = np.exp(np.linspace(0, 0.3, n))  # the machine slows 35% over the rounds: it cancels
    a = base_ms * drift * np.exp(rng.normal(0, 0.002, n))
    b = a * time_ratio * np.exp(rng.normal(0, spread, n))
    return from_rounds("a → b", paired_ratio(a, b), float(np.median(a)), float(np.median(b)))


def measurement(samples, budget_ms=None, extra=None):
    return Measurement(
        "zoo:x",
        "torch-eager",
        "fp32",
        "fp32",
        1,
        1,
        "cpu",
        tuple(samples),
        1.0,
        50.0,
        budget_ms=budget_ms,
        extra=extra or {},
    )


@pytest.mark.parametrize(
    "time_ratio, direction, verdict",
    [
        (2.0, "slower", SUPPORTED),  # claims 1, 2, 4, 8: materially slower, CI excludes 1
        (1.0, "slower", REFUTED),  # no material effect: the whole CI within ±10%
        (1.08, "slower", INCONCLUSIVE),  # small effect with a CI reaching past 10%
    ],
)
def test_pair_claims(time_ratio, direction, verdict):
    spread = 0.06 if verdict == INCONCLUSIVE else 0.01
    assert expect(rounds(1.0, time_ratio, spread), direction) == verdict


def test_claim_3_activation_against_depth_and_width():
    effects = {"depth": (2.0, [1.9, 2.1]), "width": (3.0, [2.8, 3.2])}
    assert v.judge_activation(1.1, [1.05, 1.15], effects) == SUPPORTED
    assert v.judge_activation(2.5, [2.3, 2.7], effects) == REFUTED
    assert v.judge_activation(1.9, [1.7, 2.05], effects) == INCONCLUSIVE
    assert v.judge_activation(1.1, [1.05, 1.15], {}) == INCONCLUSIVE


def test_claim_4_needs_both_recurrent_cells_to_agree():
    assert v.judge_all_agree([SUPPORTED, SUPPORTED]) == SUPPORTED
    assert v.judge_all_agree([REFUTED, REFUTED]) == REFUTED
    assert v.judge_all_agree([SUPPORTED, REFUTED]) == INCONCLUSIVE


def test_claim_5_batching():
    gain, grows = rounds(1.0, 1 / 8), rounds(1.0, 4.0)  # per-sample time falls 8x, per-call grows 4x
    assert v.judge_batching(gain, grows) == SUPPORTED
    assert v.judge_batching(rounds(1.0, 1.0), grows) == REFUTED
    assert v.judge_batching(rounds(1.0, 0.94, 0.08), grows) == INCONCLUSIVE


def test_claim_6_precision_counts_only_faithful_variants():
    fast, same = rounds(1.0, 0.5), rounds(1.0, 1.0)
    assert v.judge_precision([("bf16", fast, 0.999)]) == SUPPORTED
    assert v.judge_precision([("int8", fast, 0.9), ("bf16", same, 0.999)]) == INCONCLUSIVE
    assert v.judge_precision([("bf16", same, 0.999)]) == REFUTED
    assert v.judge_precision([]) == INCONCLUSIVE


def test_claim_7_runtimes():
    fast, same = rounds(1.0, 0.5), rounds(1.0, 1.0)
    assert v.judge_runtimes([fast, fast, same]) == SUPPORTED
    assert v.judge_runtimes([same, same]) == REFUTED
    assert v.judge_runtimes([fast, same, same]) == INCONCLUSIVE


def test_claim_9_training_step_against_twice_inference():
    # The comparison reads "inference" as the candidate: its speedup is the step's time over it.
    assert v.judge_training(rounds(1.0, 1 / 3).ci95) == SUPPORTED
    assert v.judge_training(rounds(1.0, 1 / 1.5).ci95) == REFUTED
    assert v.judge_training(rounds(1.0, 1 / 2.0, 0.05).ci95) == INCONCLUSIVE
    assert v.judge_training((float("nan"), float("nan"))) == INCONCLUSIVE


def test_claim_10_compression_range():
    assert v.judge_compression(rounds(1.0, 1 / 3)) == SUPPORTED
    assert v.judge_compression(rounds(1.0, 1 / 1.3)) == REFUTED
    assert v.judge_compression(rounds(1.0, 1 / 6)) == REFUTED
    assert v.judge_compression(rounds(1.0, 1 / 2.0, 0.1)) == INCONCLUSIVE  # the CI straddles 2x


def test_claim_11_realtime_from_per_call_samples():
    fits = measurement(np.full(200, 20.0), budget_ms=33.3)
    late = measurement(np.r_[np.full(190, 20.0), np.full(10, 40.0)], budget_ms=33.3)  # 5% of frames late
    assert v.meets_budget(fits) and not v.meets_budget(late)
    assert v.judge_realtime([True, True]) == SUPPORTED
    assert v.judge_realtime([False, False]) == REFUTED
    assert v.judge_realtime([True, False]) == INCONCLUSIVE


def test_claim_12_words_per_second_from_generation_steps():
    rng = np.random.default_rng(0)
    steps = rng.normal(40.0, 2.0, 80)  # 80 steps of ~40 ms: ~25 tokens/s
    rate, ci = v.rate_ci(steps)
    assert rate == pytest.approx(1000 / steps.mean()) and ci[0] < rate < ci[1]
    assert np.isfinite(ci).all()
    assert v.judge_range(ci, 50, 100) == REFUTED  # the whole CI below the claimed range
    assert v.judge_range([60, 90], 50, 100) == SUPPORTED
    assert v.judge_range([45, 60], 50, 100) == INCONCLUSIVE
    assert v.judge_range([float("nan")] * 2, 50, 100) == INCONCLUSIVE
