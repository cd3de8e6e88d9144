"""The quick study: every claim judged with numbers, files written, measurements stored."""

import json

import pytest

from nnspeed.store.store import Store

VERDICTS = {"supported", "refuted", "inconclusive"}


def test_quick_study_writes_claims_and_report(quick_study):
    out, url = quick_study
    doc = json.loads((out / "claims.json").read_text())
    assert {"machine", "claims", "run_id"} <= set(doc)
    assert doc["machine"]["cpu"] and doc["mode"] == "quick"
    assert [c["id"] for c in doc["claims"]] == list(range(1, 13))
    for c in doc["claims"]:
        assert {"id", "claim", "verdict", "evidence", "explanation"} <= set(c)
        assert c["verdict"] in VERDICTS
        assert "error" not in c["evidence"], c
        assert c["explanation"] and c["headline"]
    assert doc["seconds"] < 180, "the quick study must finish in under 3 minutes"
    html = (out / "report.html").read_text()
    assert "Claims checked on this machine" in html
    assert "<script src=" not in html and "<link " not in html  # self-contained: nothing fetched
    run, ms = Store(url).get_run(doc["run_id"])
    assert run["kind"] == "study" and len(ms) >= 30
    assert {m.extra["study"]["claim"] for m in ms} == set(range(1, 13))
    assert Store(url).document(doc["run_id"], "claims")["claims"] == doc["claims"]


def test_claims_cite_measured_numbers(quick_study):
    out, _ = quick_study
    claims = {c["id"]: c for c in json.loads((out / "claims.json").read_text())["claims"]}
    one = claims[1]["evidence"]
    assert one["depth 8"]["p50_ms"] > 0 and one["slowdown_ci95"][0] <= one["slowdown"] <= one["slowdown_ci95"][1]
    assert claims[5]["evidence"]["flattens_at_batch"] in (1, 4, 16, 64)
    twelve = claims[12]["evidence"]
    assert twelve["tokens_per_s"] > 0 and 1.0 < twelve["tokens_per_word"] < 2.0
    assert twelve["words_per_s"] == pytest.approx(twelve["tokens_per_s"] / twelve["tokens_per_word"])


def test_study_subset_and_bad_input(cli_json, capsys, tmp_path, store_url):
    from nnspeed.cli.app import main

    doc = cli_json(["study", "--quick", "--claims", "1", "--out", str(tmp_path / "o"), "--store", store_url, "--json"])
    assert [c["id"] for c in doc["claims"]] == [1]
    assert main(["study", "--claims", "16", "--store", store_url]) == 2
    assert "numbers from 1 to 15" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["study", "--out", str(tmp_path / "afile"), "--store", store_url]) == 2


def test_two_studies_compare_claim_by_claim(quick_study, cli_json):
    out, url = quick_study
    run_id = json.loads((out / "claims.json").read_text())["run_id"]
    doc = cli_json(["compare", run_id, run_id, "--store", url, "--json"])
    assert len(doc["comparisons"]) == len(Store(url).get_run(run_id)[1])
    assert all(c["verdict"] == "same" for c in doc["comparisons"])
