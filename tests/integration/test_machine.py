"""Machine peaks: measured through the framework, cached per machine, exportable."""

import json

import nnspeed
from nnspeed.explanation import peaks
from nnspeed.explanation.peaks import cache_path, theoretical_fp32


def test_machine_profile_measured_cached_and_exported(cli_json, tmp_path, same_document):
    path = tmp_path / "profile.json"
    out = cli_json(["machine", "--refresh", "--threads", "1", "--export", str(path), "--json"])
    measured = out["measured"]
    assert measured["fp32_gflops"]["1"] > 1 and measured["mem_bw_gbs"]["1"] > 0.5  # GFLOP/s and GB/s, wide bounds
    if measured["bf16_gflops"]["1"]:
        assert measured["bf16_over_fp32"]["1"] == measured["bf16_gflops"]["1"] / measured["fp32_gflops"]["1"]
    assert out["fingerprint"]["machine_id"] and "theoretical" in out
    doc = out["profile"]
    (row,) = doc["rows"]
    assert row["threads"] == 1 and row["gemm"]["fp32"] == measured["fp32_gflops"]["1"]
    assert all(row["gemm_n"][p] in (256, 512, 1024) for p in row["gemm"] if row["gemm"][p])  # smaller if emulated
    exported = json.loads(path.read_text())
    assert exported["rows"] == doc["rows"] and "operators" in exported
    assert cache_path(doc["machine_id"]).exists()
    again = cli_json(["machine", "--json"])  # served from the cache: the same numbers
    assert again["profile"]["rows"] == doc["rows"]
    m = nnspeed.machine()  # the command as a function: the same document
    assert m.cached and m.to_dict() == again and m.fingerprint == out["fingerprint"] and m.exported is None


def test_theoretical_peak_names_its_basis():
    theo = theoretical_fp32(2)
    if theo is not None:  # the kernel reports a clock on this machine
        assert theo["gflops"] == 2 * theo["clock_mhz"] * 1e-3 * theo["flops_per_cycle"]
        assert "cores" in theo["basis"]


def test_a_gemm_too_slow_for_its_budget_is_measured_smaller(monkeypatch):
    assert peaks.gemm_size("fp32", 1, 1024) in (256, 512, 1024)
    monkeypatch.setattr(peaks, "CALL_BUDGET_S", 1e-12)  # every precision now "emulated"
    assert peaks.gemm_size("fp32", 1, 1024) == peaks.PROBE_N
    monkeypatch.setattr(peaks, "CALL_BUDGET_S", 1e12)
    assert peaks.gemm_size("fp32", 1, 1024) == 1024
    assert peaks.gemm_rate("fp32", 1, peaks.PROBE_N) > 0.1  # GFLOP/s from the side it was given
