"""Other processes' CPU time over a timed window, turned into figures and a warning."""

import pytest

from nnspeed.measure.clock import FakeClock
from nnspeed.measure.contention import TAKEN_SHARE, CpuReading, contention_warning, figures, read_cpu
from nnspeed.measure.harness import run_timed
from nnspeed.measure.stoprule import StopRule


def fig(other, threads=2, cores=2, uncertainty=0.02, load1=1.0):
    return {
        "cores": cores,
        "threads": threads,
        "other_cores": other,
        "free_cores": max(0.0, cores - other),
        "uncertainty_cores": uncertainty,
        "load1": load1,
    }


def test_figures_are_others_cpu_time_per_second_of_wall_time():
    # 2 s window; all CPUs busy 3.9 CPU-s, of which this process 2.0: others used 0.95 core.
    start = CpuReading(wall_s=10.0, busy_s=100.0, own_s=5.0, cpus=2)
    end = CpuReading(wall_s=12.0, busy_s=103.9, own_s=7.0, cpus=2)
    f = figures(start, end, threads=2)
    assert f["other_cores"] == pytest.approx(0.95)
    assert f["own_cores"] == pytest.approx(1.0)
    assert f["free_cores"] == pytest.approx(1.05)
    assert f["cores"] == 2 and f["threads"] == 2 and f["window_s"] == pytest.approx(2.0)
    assert f["uncertainty_cores"] < 0.1  # two ticks per CPU over 2 s


def test_figures_need_a_window():
    r = CpuReading(1.0, 1.0, 1.0, 2)
    assert figures(r, r, threads=1) is None


def test_a_peer_on_one_of_two_cores_warns_with_the_figure_and_a_thread_count():
    w = contention_warning(fig(0.97))
    assert w is not None
    assert "0.97 of a core" in w and "2 threads on 2 cores" in w and "~1.0 free" in w
    assert w.endswith("try --threads 1")


def test_threads_that_fit_the_free_cores_do_not_warn():
    assert contention_warning(fig(0.97, threads=1)) is None
    assert contention_warning(fig(0.1)) is None
    assert contention_warning(fig(3.0, threads=4, cores=8)) is None  # 5 free for 4 threads


def test_half_a_core_is_the_line():
    assert contention_warning(fig(TAKEN_SHARE - 0.01, uncertainty=0.0)) is None
    assert contention_warning(fig(TAKEN_SHARE + 0.01, uncertainty=0.0)) is not None


def test_tick_resolution_is_not_taken_for_load():
    # 0.6 core measured, but a short window allows 0.3 of it to be the counters' rounding.
    assert contention_warning(fig(0.6, uncertainty=0.3)) is None
    assert contention_warning(fig(0.6, uncertainty=0.05)) is not None


def test_no_free_core_at_one_thread_says_measure_again():
    w = contention_warning(fig(1.9, threads=1))
    assert w is not None and "1.90 cores" in w and "quieter machine" in w


def test_more_threads_than_cores_without_others_is_not_contention():
    assert contention_warning(fig(0.0, threads=4)) is None


def test_more_cores_suggest_the_free_count():
    w = contention_warning(fig(3.2, threads=8, cores=8))
    assert w is not None and w.endswith("try --threads 5")


def test_no_figures_no_warning():
    assert contention_warning(None) is None


def test_read_cpu_is_monotonic():
    a = read_cpu()
    sum(range(200_000))
    b = read_cpu()
    assert b.wall_s > a.wall_s and b.own_s >= a.own_s and b.busy_s >= a.busy_s and b.cpus >= 1


def test_harness_reads_counters_around_a_real_window_only():
    rule = StopRule(min_time=0.01, max_time=0.05, min_iters=3)
    assert run_timed(lambda i: None, rule, FakeClock([0.001] * 10_000)).cpu is None
    t = run_timed(lambda i: None, rule)
    assert t.cpu is not None and t.cpu[1].wall_s >= t.cpu[0].wall_s


@pytest.mark.parametrize("other, wanted, fits", [(0.02, 2, 2), (0.97, 2, 1), (1.9, 2, 1), (0.97, 4, 3)])
def test_threads_that_fit_leave_the_cores_others_hold(monkeypatch, other, wanted, fits):
    import nnspeed.measure.contention as c

    cores = 4 if wanted == 4 else 2
    readings = iter([CpuReading(0.0, 0.0, 0.0, cores), CpuReading(1.0, other, 0.0, cores)])
    monkeypatch.setattr(c, "read_cpu", lambda: next(readings))
    monkeypatch.setattr(c.time, "sleep", lambda s: None)
    threads, f = c.threads_that_fit(wanted, seconds=1.0)
    assert threads == fits and f["other_cores"] == pytest.approx(other)
