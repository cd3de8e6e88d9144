import pytest

from nnspeed.measure.compare import Comparison
from nnspeed.study.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, expect, slowdown


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
