"""Training pieces: the breakdown arithmetic, the stream's accounting and drift, energy labels."""

import numpy as np
import pytest

from nnspeed.training.energy import EnergyMeter, with_carbon
from nnspeed.training.step import PHASES, breakdown
from nnspeed.training.stream import drift_figures, stream_arrays, windowed


def test_breakdown_shares_and_the_check_against_the_plain_step():
    phases = {p: np.full(10, 0.001) for p in PHASES}  # 1 ms each, 6 phases
    d = breakdown({"first_s": 0.5, "phases": phases, "plain": np.full(10, 0.0062)}, batch=32)
    assert d["breakdown_ms"]["forward"] == pytest.approx(1.0)
    assert sum(d["shares"].values()) == pytest.approx(1.0)
    assert d["sum_over_step"] == pytest.approx(6.0 / 6.2) and d["adds_up"] is True
    assert d["samples_per_s"] == pytest.approx(32 / 0.0062)
    d = breakdown({"first_s": 0.5, "phases": phases, "plain": np.full(10, 0.004)}, batch=32)
    assert d["adds_up"] is False  # the phases say 6 ms, the plain step 4 ms: off by 50%


def test_stream_drift_changes_the_second_half_only():
    x = np.random.default_rng(0).random((50, 1, 8, 8)).astype(np.float32)
    y = np.arange(50) % 10
    xs, ys, at = stream_arrays(x, y, passes=2, drift="label", classes=10)
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
