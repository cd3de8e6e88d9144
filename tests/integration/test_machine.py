"""Machine peaks: measured through the framework, cached per machine, exportable."""

import json

from nnspeed.explain.peaks import cache_path, theoretical_fp32


def test_machine_profile_measured_cached_and_exported(cli_json, tmp_path):
    path = tmp_path / "profile.json"
    doc = cli_json(["machine", "--refresh", "--threads", "1", "--export", str(path), "--json"])
    (row,) = doc["rows"]
    assert row["threads"] == 1
    assert row["gemm"]["fp32"] > 1 and row["triad_gbs"] > 0.5  # GFLOP/s and GB/s, wide bounds
    assert doc["machine_id"] == doc["machine"]["machine_id"]
    assert json.loads(path.read_text()) == doc
    assert cache_path(doc["machine_id"]).exists()
    again = cli_json(["machine", "--json"])  # served from the cache: the same numbers
    assert again["rows"] == doc["rows"]


def test_theoretical_peak_names_its_basis():
    theo = theoretical_fp32(2)
    if theo is not None:  # the kernel reports a clock on this machine
        assert theo["gflops"] == 2 * theo["clock_mhz"] * 1e-3 * theo["flops_per_cycle"]
        assert "cores" in theo["basis"]
