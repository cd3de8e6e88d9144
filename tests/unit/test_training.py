"""Training pieces: the breakdown arithmetic, the stream's accounting and drift, energy labels."""

import numpy as np
import pytest

from nnspeed.training.energy import EnergyMeter, with_carbon
from nnspeed.training.run import summary_lines
from nnspeed.training.step import PHASES, STATISTIC, breakdown, iqm, measure_steps
from nnspeed.training.stream import drift_figures, stream_arrays, windowed


class ScriptedTrainer:
    """A training step whose phases cost scripted times on a ManualClock: ``costs`` (seconds)
    for data, h2d, forward, backward, allreduce, optimizer; step ``k`` (from 0, the first
    step included) costs ``stall`` more in its backward phase when ``k`` is in ``stalled``.
    ``marked_extra`` is what each phase mark itself costs (0: the marks change nothing)."""

    def __init__(self, clock, costs, stalled=(), stall=0.0, marked_extra=0.0, first=0.5):
        self.clock, self.costs, self.stalled, self.stall = clock, costs, set(stalled), stall
        self.marked_extra, self.first, self.k = marked_extra, first, 0

    def batches(self):
        while True:
            self.clock.advance(self.costs[0])  # the loader's time, inside whoever times the step
            yield (None,)

    def step(self, batch, mark=None):
        costs = list(self.costs[1:])
        costs[2] += self.stall if self.k in self.stalled else 0.0
        costs[0] += self.first if self.k == 0 else 0.0
        for c in costs:
            self.clock.advance(c)
            if mark is not None:
                self.clock.advance(self.marked_extra)
                mark()
        self.k += 1
        return 0.0


COSTS = (0.0005, 0.0001, 0.004, 0.006, 0.0, 0.0014)  # 12 ms in all


def timed_run(steps=200, seed=0, **kw):
    from nnspeed.measure.clock import ManualClock

    clock = ManualClock()
    trainer = ScriptedTrainer(clock, COSTS, **kw)
    return measure_steps(trainer, trainer.batches(), steps, clock=clock, seed=seed)


def test_warm_up_and_the_first_step_stay_out_of_both_kinds():
    timed = timed_run(steps=40, stalled=range(1, 5), stall=1.0)  # the first step and warm-up are slow
    assert timed["first_s"] == pytest.approx(0.012 + 0.5) and timed["warmup"] == 4
    assert len(timed["plain"]) + len(timed["phases"]["data"]) == 40 and timed["run"] == 45
    np.testing.assert_allclose(timed["plain"], 0.012)
    np.testing.assert_allclose(sum(timed["phases"].values()), 0.012)


def test_the_kinds_alternate_in_pairs_of_either_order():
    order = timed_run(steps=201, seed=1)["order"]
    assert len(order) == 201 and all(set(order[i : i + 2]) == {"instrumented", "plain"} for i in range(0, 200, 2))
    assert {tuple(order[i : i + 2]) for i in range(0, 200, 2)} == {("instrumented", "plain"), ("plain", "instrumented")}
    assert {timed_run(steps=4, seed=seed)["order"][0] for seed in range(8)} == {"instrumented", "plain"}


def test_stalls_leave_the_displayed_phases_adding_up_to_the_displayed_step():
    """One step in six stalls by 50 ms (a busy core): the means move by ~8 ms, the IQMs do not,
    and the parts on display sum to the step on display."""
    stalled = range(0, 300, 6)
    d = breakdown(timed_run(steps=200, stalled=stalled, stall=0.05), batch=64, name="fp32 b64")
    parts = sum(d["breakdown_ms"].values())
    assert d["step_ms"] == pytest.approx(12.0) and parts == pytest.approx(12.0)
    assert d["breakdown_ms"]["backward"] == pytest.approx(6.0) and d["breakdown_ms"]["allreduce"] == 0.0
    assert d["sum_over_step"] == pytest.approx(parts / d["step_ms"]) and d["adds_up"] is True
    assert d["warnings"] == [] and d["statistic"] == STATISTIC
    assert d["samples_per_s"] == pytest.approx(64 * 1000 / d["step_ms"])
    assert d["step_ms_mean"] > 15.0  # the stall-inclusive figure keeps the stalls
    plain_s = d["steps"]["plain"] * d["step_ms_mean"] / 1000
    assert d["samples_per_s_overall"] == pytest.approx(64 * d["steps"]["plain"] / plain_s)
    assert sum(d["shares"].values()) == pytest.approx(1.0)


def test_the_phases_are_averaged_over_the_same_steps():
    """Stalls in different phases of different steps: each phase's figure comes from the steps
    whose total is in the band, so the parts still sum to the IQM of the totals."""
    rng = np.random.default_rng(3)
    phases = {p: rng.exponential(0.001, 41) for p in PHASES}
    phases["forward"][::7] += 0.04
    phases["data"][3::9] += 0.02
    plain = sum(phases.values())  # the same distribution of whole steps, unmarked
    d = breakdown({"first_s": 0.1, "phases": phases, "plain": plain}, batch=8)
    assert sum(d["breakdown_ms"].values()) == pytest.approx(iqm(sum(phases.values())) * 1e3)
    assert d["sum_over_step"] == pytest.approx(1.0) and d["adds_up"] is True


def test_iqm_is_the_mean_between_the_quartiles():
    assert iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert iqm([5.0]) == 5.0 and np.isnan(iqm([]))


@pytest.mark.planted
def test_a_planted_mismatch_is_reported_not_passed():
    """Marks that cost 0.2 ms each: the instrumented step reads 13 ms against a 12 ms step."""
    d = breakdown(timed_run(steps=100, marked_extra=0.0002), batch=32, name="fp32 b32")
    assert d["sum_over_step"] == pytest.approx(13.0 / 12.0) and d["adds_up"] is False
    (w,) = d["warnings"]
    assert w.startswith("fp32 b32: phases add up to 13.00 ms, 108% of the 12.00 ms step")
    assert "the steps are steady, so timing the phases changed what they take" in w
    doc = {
        "notes": [],
        "warnings": d["warnings"],
        "step_ms_mean": d["step_ms_mean"],
        "samples_per_s_overall": d["samples_per_s_overall"],
        "steps": d["steps"],
        "statistic": d["statistic"],
        "train_vs_inference": {"ratio_per_sample": None},
        "time_to_accuracy": None,
        "stream": None,
        "energy": {"joules": 1.0, "method": "estimated"},
        "projection": None,
        "ddp": None,
    }
    lines = summary_lines(doc)
    assert any(line.startswith("stalls included: mean step 12.00 ms") for line in lines)
    # the result's invariant check carries it, with the cause, and the terminal prints it from there
    from nnspeed.commands.results import TrainResult

    variant = {k: d[k] for k in ("statistic", "step_ms", "breakdown_ms", "sum_over_step", "mismatch_cause")}
    (v,) = TrainResult(
        {"variants": [dict(variant, name="fp32 b32", batch=32, samples_per_s=d["samples_per_s"])]}
    ).violations
    assert v["kind"] == "measured" and v["where"] == "variants[0]"
    assert v["message"].startswith("fp32 b32: the training phases add up to 13, 8.33% over the step 12")
    assert v["message"].endswith("the steps are steady, so timing the phases changed what they take")


def test_breakdown_check_against_the_plain_step():
    phases = {p: np.full(10, 0.001) for p in PHASES}  # 1 ms each, 6 phases
    d = breakdown({"first_s": 0.5, "phases": phases, "plain": np.full(10, 0.0062)}, batch=32)
    assert d["sum_over_step"] == pytest.approx(6.0 / 6.2) and d["adds_up"] is True
    d = breakdown({"first_s": 0.5, "phases": phases, "plain": np.full(10, 0.004)}, batch=32)
    assert d["adds_up"] is False and "150% of the 4.00 ms step" in d["warnings"][0]
    busy = np.array([0.002, 0.003, 0.004, 0.004, 0.005, 0.005, 0.03, 0.2])  # a machine shared with another process
    (w,) = breakdown({"first_s": 0.5, "phases": phases, "plain": busy}, batch=32)["warnings"]
    assert "the plain steps spread from 3.75 to 11.25 ms between their quartiles, so the machine was busy" in w


def test_stream_drift_changes_the_second_half_only():
    x = np.random.default_rng(0).random((50, 1, 8, 8)).astype(np.float32)
    y = np.arange(50) % 10
    _xs, ys, at = stream_arrays(x, y, passes=2, drift="label", classes=10)
    assert at == 50 and len(ys) == 100
    xs0, ys0, _ = stream_arrays(x, y, passes=2, drift="none", classes=10)
    np.testing.assert_array_equal(ys[:50], ys0[:50])
    np.testing.assert_array_equal(ys[50:], (ys0[50:] + 1) % 10)
    xi, _, _ = stream_arrays(x, y, passes=2, drift="input", classes=10)
    np.testing.assert_allclose(xi[50:], 1 - xs0[50:])


def test_windowed_accuracy_and_recovery():
    correct = np.array([1] * 300 + [0] * 100 + [1] * 200, dtype=bool)
    acc = windowed(correct, window=100)
    assert acc[299] == 1.0 and acc[399] == 0.0 and acc[499] == 1.0
    curve = [[i + 1, float(acc[i])] for i in range(len(acc))]
    r = drift_figures(curve, drift_at=300)
    assert r["before"] == 1.0 and r["lowest_after"] == 0.0
    # back to ≥ 90% of 1.0 once 90 of the last 100 are right: sample 490 (190 after the drift)
    assert r["recovered_after"] == 190


def test_energy_is_labelled_measured_or_estimated():
    m = EnergyMeter("cpu")
    m.start()
    e = m.stop(seconds=10.0, threads=2)
    assert isinstance(e["measured"], bool) and e["method"].startswith("measured" if e["measured"] else "estimated")
    if not e["measured"]:
        assert e["joules"] == pytest.approx(4.0 * 2 * 10.0) and "4 W per thread" in e["method"]
    assert with_carbon(e, 400)["gco2"] == pytest.approx(e["kwh"] * 400)


def test_rapl_counters_are_read_as_measured_and_wraps_are_undone(tmp_path, monkeypatch):
    """Two RAPL packages laid out as in /sys/class/powercap; the second wraps during the run."""
    from nnspeed.training import energy

    files = []
    for i, (start, rng) in enumerate([(1_000_000, 10**9), (9_500_000, 10_000_000)]):
        d = tmp_path / f"intel-rapl:{i}"
        d.mkdir()
        (d / "energy_uj").write_text(str(start))
        (d / "max_energy_range_uj").write_text(str(rng))
        files.append(d / "energy_uj")
    monkeypatch.setattr(energy, "_rapl_files", lambda: files)
    m = EnergyMeter("cpu")
    m.start()
    files[0].write_text("4000000")  # +3 J
    files[1].write_text("500000")  # wrapped at 10 J: +1 J
    e = m.stop(seconds=1.0, threads=2)
    assert e["measured"] and e["method"] == "measured: RAPL package counters"
    assert e["joules"] == pytest.approx(4.0) and e["kwh"] == pytest.approx(4.0 / 3.6e6)


def test_country_grid_intensity_comes_from_codecarbons_table():
    from nnspeed.errors import InputError
    from nnspeed.training.energy import grid_intensity

    fra, how = grid_intensity("fra")
    deu, _ = grid_intensity("DEU")
    assert 0 < fra < deu < 1000 and "France" in how  # nuclear France is cleaner than Germany
    with pytest.raises(InputError, match="ISO 3166"):
        grid_intensity("XYZ")


def test_fp16_recipe_scales_the_loss_and_still_learns():
    """The fp16 + GradScaler path (the GPU recipe) on the CPU's fp16 autocast: the scaler is in
    the loop, its scale stays finite, and the loss falls on a learnable toy problem."""
    import torch

    from nnspeed.training.step import Recipe, Trainer

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    trainer = Trainer(model, Recipe("fp16", 64, "fp16"), "cpu")
    assert trainer.scaler is not None and trainer.autocast == ("cpu", torch.float16)
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    losses = [trainer.step((x, y)) for _ in range(60)]
    assert np.isfinite(losses).all() and losses[-1] < 0.8 * losses[0]
    assert 0 < trainer.scaler.get_scale() < float("inf")
