"""The adaptive server's governor on a manual clock with scripted service times: exactly which
request ran on which variant, the hysteresis that keeps it from flapping, and the accuracy it
delivered counted against the requests' labels."""

import numpy as np
import pytest

from nnspeed.errors import InputError
from nnspeed.measure.clock import ManualClock
from nnspeed.scenarios.adaptive import Fixed, Governor, GovernorRule, delivered
from nnspeed.scenarios.server import Batcher, serve_with

SLO = 0.020  # s


def test_governor_steps_down_under_pressure_and_back_after_calm_with_a_dwell():
    g = Governor(3, 0.010, GovernorRule(high=0.5, low=0.1, calm=3, dwell=2.0))
    assert g.choose(0.000, 1, 0.000) == 0  # calm 1
    assert g.choose(0.001, 5, 0.006) == 1  # the oldest used 60% of the SLO waiting: cheaper
    assert g.choose(0.002, 5, 0.008) == 1  # pressed again, but within the 20 ms dwell
    assert g.choose(0.030, 5, 0.007) == 2
    assert g.choose(0.031, 1, 0.003) == 2  # between low and high: neither pressed nor calm
    assert [g.choose(t, 1, 0.0) for t in (0.060, 0.061, 0.062)] == [2, 2, 1]  # 3 calm batches
    assert [g.choose(t, 1, 0.0) for t in (0.063, 0.064, 0.065)] == [1, 1, 1]  # calm, but within the dwell
    assert g.choose(0.090, 1, 0.0) == 0  # still calm, and past the dwell: back to the best
    assert g.switches == [(0.001, 0, 1), (0.030, 1, 2), (0.062, 2, 1), (0.090, 1, 0)]


def test_a_queue_limit_also_counts_as_pressure():
    g = Governor(2, 0.010, GovernorRule(queue_high=8))
    assert g.choose(0.0, 7, 0.0) == 0 and g.choose(0.0, 8, 0.0) == 1


def test_one_variant_or_a_bad_rule_is_refused():
    with pytest.raises(InputError, match="at least two variants"):
        Governor(1, SLO)
    with pytest.raises(InputError, match="low < high"):
        GovernorRule(high=0.1, low=0.5)


LABELS = np.arange(9) % 10
SERVICE_S = (0.008, 0.002)  # the accurate variant takes 8 ms a request, the cheap one 2 ms


def scripted(clock):
    """Variant 0 is always right; variant 1 is wrong on odd-numbered requests."""

    def calls(level, first, b):
        clock.advance(SERVICE_S[level] * b)
        rows = np.arange(first, first + b)
        y = LABELS[rows % len(LABELS)]
        return y if level == 0 else np.where(rows % 2 == 1, (y + 1) % 10, y)

    return calls


# six requests in a burst (1 ms apart), then three 100 ms apart; the run starts at 10 ms
OFFSETS = np.array([0.000, 0.001, 0.002, 0.003, 0.004, 0.005, 0.100, 0.200, 0.300])


def test_exact_accounting_of_which_request_ran_on_which_variant():
    clock = ManualClock()
    g = Governor(2, SLO, GovernorRule(high=0.5, low=0.1, calm=2, dwell=0.0))
    log = serve_with(scripted(clock), clock, OFFSETS, Batcher(), policy=g, keep_outputs=True)
    # r0 and r1 on the accurate variant; r2 has waited 14 ms (≥ 10) when its turn comes: cheap
    # until two calm batches (r6, r7) bring it back, r7 already on the accurate one
    assert log.level.tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0]
    assert g.switches == [(pytest.approx(0.026), 0, 1), (pytest.approx(0.210), 1, 0)]
    np.testing.assert_allclose((log.end - log.arrival) * 1e3, [8, 15, 16, 17, 18, 19, 2, 8, 8], atol=1e-9)
    d = delivered(log, LABELS, ["accurate", "cheap"])
    assert d["shares"] == {"accurate": pytest.approx(4 / 9), "cheap": pytest.approx(5 / 9)}
    assert d["accuracy_by_variant"] == {"accurate": 100.0, "cheap": pytest.approx(60.0)}  # r3, r5 wrong
    assert d["delivered_accuracy"] == pytest.approx(700 / 9)


def test_the_same_schedule_on_the_accurate_variant_alone_misses_the_slo():
    clock = ManualClock()
    log = serve_with(scripted(clock), clock, OFFSETS, Batcher(), policy=Fixed(0), keep_outputs=True)
    latency_ms = (log.end - log.arrival) * 1e3
    np.testing.assert_allclose(latency_ms[:6], [8, 15, 22, 29, 36, 43], atol=1e-9)
    assert np.percentile(latency_ms, 99) > SLO * 1e3
    assert delivered(log, LABELS, ["accurate", "cheap"])["delivered_accuracy"] == 100.0


def test_knowing_service_times_it_steps_down_as_a_burst_arrives():
    """With each variant's service time the queue's wait counts what is queued behind the
    oldest request: a burst of four at 2 ms each would keep the last one 6 ms (over half of a
    10 ms SLO), so it steps down before anyone has waited at all."""
    g = Governor(2, 0.010, GovernorRule(high=0.5, low=0.1, calm=1, dwell=0.0, down_dwell=0.0), [0.002, 0.0005])
    assert g.choose(0.000, 3, 0.0) == 0  # 2 requests × 2 ms behind: 4 ms
    assert g.choose(0.001, 4, 0.0) == 1  # 3 × 2 ms = 6 ms ≥ 5 ms
    assert g.choose(0.002, 2, 0.0) == 1  # calm on the cheap one, but 1 × 2 ms on the accurate one > 1 ms
    assert g.choose(0.003, 1, 0.0) == 0  # alone: calm on the accurate variant too
