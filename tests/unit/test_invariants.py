"""Every kind of inconsistency a result can carry is caught, with its figures, and shown."""

import json

import pytest

from nnspeed.commands import results
from nnspeed.measure import invariants as inv

pytestmark = pytest.mark.planted


def rules_hit(found):
    return {v.rule for v in found}


def test_percentiles_out_of_order_bare_and_suffixed():
    assert inv.ordered({"p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 3.0}) == []
    (v,) = inv.ordered({"min": 0.5, "p50": 2.0, "p99": 1.5})
    assert v.rule == "ordered" and "p50 2 is above p99 1.5" in v.message and v.figures == {"p50": 2.0, "p99": 1.5}
    (v,) = inv.scan({"server": {"p50_ms": 9.0, "p90_ms": 8.0, "p99_ms": 10.0}})
    assert v.where == "server" and "p50_ms" in v.message
    # different units are different distributions; NaN and None are not figures
    assert inv.ordered({"p50_ms": 5.0, "p99_s": 0.01, "p90": None, "p999": float("nan")}) == []


def test_a_ci_must_contain_its_own_point():
    assert inv.scan({"latency_ms": {"p50": 2.0, "ci95": [1.9, 2.1]}}) == []
    (v,) = inv.scan({"latency_ms": {"p50": 2.0, "ci95": [2.1, 2.3]}})
    assert v.rule == "ci-contains" and v.where == "latency_ms" and "[2.1, 2.3]" in v.message
    (v,) = inv.scan({"claims": [{"slowdown": 1.2, "slowdown_ci95": [1.3, 1.4]}]})
    assert v.where == "claims[0]" and "slowdown 1.2" in v.message
    assert rules_hit(inv.scan({"speedup": 1.5, "ci95": [1.6, 1.4]})) == {"ci-contains"}  # reversed interval
    (v,) = inv.scan({"depth 8": {"p50_ms": 3.0, "ci95_ms": [3.1, 3.2], "p99_ms": 4.0}})
    assert v.where == "depth 8" and "p50_ms 3" in v.message
    assert rules_hit(inv.scan({"latency_ms": 2.0, "latency_ci95_ms": [1.0, 1.5]})) == {"ci-contains"}


def test_shares_sum_to_one():
    assert inv.scan({"shares": {"a": 0.25, "b": 0.75}}) == []
    assert inv.scan({"shares": {"a": 0.0, "b": 0.0}}) == []  # nothing served: nothing to share
    (v,) = inv.scan({"runs": [{"shares": {"int8": 0.5, "fp32": 0.3}}]})
    assert v.rule == "shares-sum" and v.where == "runs[0].shares" and "0.8" in v.message


def test_counts_and_goodput():
    ok = {"frames": 100, "ran": 90, "late": 5, "dropped": 6, "unserved": 4}
    assert inv.scan({"realtime": ok}) == []
    (v,) = inv.scan({"realtime": dict(ok, dropped=7)})
    assert v.rule == "counts" and "= 101, not the frames offered 100" in v.message
    assert rules_hit(inv.scan(dict(ok, late=92, ran=91, dropped=5))) == {"at-most"}
    (v,) = inv.scan({"curve": [{"achieved_qps": 100.0, "goodput": 120.0}]})
    assert v.rule == "at-most" and "goodput 120" in v.message


def test_generation_ttft_plus_tpot_is_e2e():
    doc = {
        "new_tokens": 11,
        "requests": 4,
        "ttft_ms": {"mean": 20.0},
        "tpot_ms": {"mean": 5.0},
        "e2e_ms": {"mean": 70.0, "n": 4},
        "tokens_per_s": 11 * 1e3 / 70.0,
    }
    assert inv.scan(doc) == []
    (v,) = inv.scan(dict(doc, e2e_ms={"mean": 80.0, "n": 4}, tokens_per_s=11 * 1e3 / 80.0))
    assert v.rule == "adds-up" and v.kind == inv.EXACT and "TTFT + 10 × TPOT" in v.message
    assert rules_hit(inv.scan(dict(doc, tokens_per_s=200.0))) == {"throughput"}


def test_train_phases_against_the_step_on_the_displayed_figures():
    phases = {"data": 1.0, "forward": 4.0, "backward": 5.0}
    good = {"statistic": "interquartile mean", "step_ms": 10.2, "breakdown_ms": phases, "sum_over_step": 10 / 10.2}
    assert results.TrainResult(dict(good)).violations == []
    bad = results.TrainResult(dict(good, step_ms=6.3, sum_over_step=1.03))  # the 1.59x of the issue
    rules = {(v["rule"], v["kind"]) for v in bad.violations}
    assert rules == {("adds-up", inv.MEASURED), ("adds-up", inv.EXACT)}
    text = " ".join(v["message"] for v in bad.violations)
    assert "58.7% over the step 6.3 (statistic: interquartile mean)" in text and "sum_over_step says 1.03" in text
    variant = {"name": "fp32 b64", "batch": 64, "step_ms": 10.0, "samples_per_s": 999.0, "breakdown_ms": phases}
    found = results.TrainResult(dict(good, variants=[variant])).violations
    assert [(v["rule"], v["where"]) for v in found] == [("throughput", "variants[0]")]
    ddp = {"step_ms": 12.0, "breakdown_ms": phases, "split": {"step_ms": 10.1, "breakdown_ms": phases}}
    found = results.TrainResult(dict(good, ddp=ddp)).violations
    assert [(v["rule"], v["where"]) for v in found] == [("adds-up", "ddp")]  # 10 of a 12 ms step


def test_explain_parts_and_efficiency_bound():
    row = {"name": "conv", "time_ms": 0.8, "efficiency": 0.5, "verdict": "compute-bound"}
    doc = {"latency_ms": 1.0, "overhead_ms": 0.2, "layers": [row], "outside": []}
    assert results.ExplainResult(dict(doc)).violations == []
    over = results.ExplainResult(dict(doc, layers=[dict(row, efficiency=1.3)], latency_ms=2.0)).violations
    assert {v["rule"] for v in over} == {"at-most", "adds-up"}
    assert any("up to 130%" in v["message"] for v in over)
    keras = results.ExplainResult({"layers": [], "latency_ms": 1.0, "efficiency": 1.2}).violations
    assert [v["rule"] for v in keras] == ["at-most"]


def test_prediction_is_its_priced_parts():
    doc = {"predicted_ms": 1.0, "per_call_ms": 0.1, "by_op": {"Linear": {"count": 2, "ms": 0.9}}}
    assert results.PredictResult(dict(doc)).violations == []
    (v,) = results.PredictResult(dict(doc, per_call_ms=0.0)).violations
    assert v["rule"] == "adds-up" and v["kind"] == inv.EXACT


def test_bench_throughput_agrees_with_latency_and_batch():
    r = {"batch": 8, "latency_ms": {"mean": 4.0, "p50": 4.0}, "throughput_sps": 2000.0}
    assert results.BenchResult({"results": [r]}).violations == []
    (v,) = results.BenchResult({"results": [dict(r, throughput_sps=250.0)]}).violations
    assert v["rule"] == "throughput" and v["where"] == "results[0]"
    assert inv.throughput(4000.0, 8, 4.0, streams=2) == []
    two = {"batch": 8, "scenario": "offline", "latency_ms": {"mean": 4.0}, "throughput_sps": 2000.0}
    two["offline"] = {"samples_per_s": 3800.0}
    two["offline"].update(streams=2, batch=8)
    assert results.BenchResult({"results": [two]}).violations == []  # 5% under: calls cut off at the window's ends
    two["offline"]["samples_per_s"] = 2000.0  # as if one stream had stood still
    (v,) = results.BenchResult({"results": [two]}).violations
    assert v["rule"] == "throughput" and v["kind"] == inv.MEASURED and "2 stream(s)" in v["message"]


def test_a_rule_that_cannot_read_its_result_says_so():
    (v,) = results.TrainResult({"variants": [None]}).violations
    assert v["rule"] == "unreadable" and "train_breakdown" in v["message"]


def test_a_measurement_flags_its_own_inconsistency():
    from nnspeed.measure.measurement import Measurement

    m = Measurement("zoo:mlp", "torch-eager", "fp32", "fp32", 1, 1, "cpu", tuple([1.0] * 30), 1.0, 50.0)
    assert m.inconsistencies == []
    broken = type(m.latency_ms)(**{**m.latency_ms.__dict__, "ci95": (2.0, 3.0)})
    object.__setattr__(m, "latency_ms", broken)  # as if the statistics had a bug
    assert m.inconsistencies and "inconsistent: latency" in m.warnings[-1]


def test_the_terminal_shows_each_disagreement_with_its_figures(capsys):
    from nnspeed.cli.app import print_disagreements

    r = results.PredictResult({"predicted_ms": 1.0, "per_call_ms": 0.0, "by_op": {"Linear": {"ms": 0.5}}})
    print_disagreements(json.loads(json.dumps(r.to_dict())))
    shown = capsys.readouterr().err
    assert "warning" in shown and "figures disagree" in shown and "0.5, 50% under the prediction 1" in shown


def test_a_stored_document_carries_its_check(tmp_path):
    from nnspeed.store.store import Store

    db = Store(f"sqlite:///{tmp_path / 's.db'}", writable=True)
    body = {"claims": [{"speedup": 1.5, "ci95": [1.6, 1.7]}]}
    run_id = db.save_run("study", "nnspeed study", [], {"claims": body})
    stored = db.document(run_id, "claims")
    assert stored["claims"] == body["claims"] and "invariants" not in body  # the caller's dict is left alone
    (v,) = stored["invariants"]["violations"]
    assert v["rule"] == "ci-contains" and v["where"] == "claims[0]"


def test_limits_are_not_percentiles_and_findings_are_not_rescanned():
    import numpy as np

    assert inv.scan({"min_time": 5.0, "max_time": 1.0, "min_rounds": 9, "max_rounds": 3}) == []
    assert rules_hit(inv.scan({"within_5pct": 0.4, "within_5pct_ci": [0.5, 0.7]})) == {"ci-contains"}
    doc = {"latency_ms": {"p50": np.float32(3.0), "p99": np.float64(2.0)}}
    (v,) = inv.attach(doc)  # numpy figures are checked as JSON would carry them
    assert v.rule == "ordered" and len(inv.attach(doc)) == 1  # a second check does not read the first's findings


def test_optimize_rows_and_the_machine_peak():
    row = {"name": "int8", "batch": 4, "mean_ms": 2.0, "throughput_sps": 2000.0}
    assert inv.scan({"variants": [row]}) == []
    assert rules_hit(inv.scan({"variants": [dict(row, throughput_sps=1000.0)]})) == {"throughput"}
    peak = {"theoretical": {"fp32": {"gflops": 100.0, "measured_over_theoretical": 1.4}}}
    (v,) = results.MachineResult(peak).violations
    assert v["rule"] == "at-most" and v["kind"] == inv.MEASURED and "1.4" in v["message"]


def test_llm_load_slo_counts():
    load = {"requests": 20, "good": 15, "attainment": 0.75, "span_s": 4.0, "goodput": 3.75}
    assert inv.scan({"load": load}) == []
    assert rules_hit(inv.scan({"load": dict(load, good=21)})) == {"at-most", "counts"}
    assert rules_hit(inv.scan({"load": dict(load, goodput=6.0)})) == {"at-most"}
