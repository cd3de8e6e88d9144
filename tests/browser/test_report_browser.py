"""The HTML report in a real browser: loads offline with no console errors, every plot renders.

Uses Debian's chromium driven by Playwright (never a downloaded browser), the session's
``browser`` fixture.  The screenshots go to build/screenshots/ for a person to look at.  The
reports of the other stored kinds are opened by the tests that store them (``report_page``)."""

import json

from nnspeed.cli.app import main
from tests.browser.pages import open_report


def test_study_report_in_browser(browser, quick_study, report_page):
    out, url = quick_study
    seen = open_report(browser, out / "report.html", "study-report.png")
    assert seen["errors"] == [] and seen["remote"] == []
    assert seen["plots"] == 4
    assert all(k > 0 for k in seen["drawn"]), seen["drawn"]
    run_id = json.loads((out / "claims.json").read_text())["run_id"]
    later = report_page(run_id, url, "study-later")  # the stored study, reported again
    assert later["plots"] == 4 and later["sections"] == seen["sections"]


def test_bench_report_in_browser(browser, tmp_path, store_url, cli_json):
    doc = cli_json(
        [
            "bench",
            "zoo:mlp?depth=2",
            "--backend",
            "torch-eager,onnxruntime",
            "--batch",
            "1,8",
            "--min-time",
            "0.1",
            "--max-time",
            "0.4",
            "--store",
            store_url,
            "--json",
        ]
    )
    path = tmp_path / "bench.html"
    assert main(["report", doc["run_id"], "-o", str(path), "--store", store_url]) == 0
    seen = open_report(browser, path, "bench-report.png")
    assert seen["errors"] == [] and seen["remote"] == []
    assert seen["plots"] == 4 and all(k > 0 for k in seen["drawn"])


def test_optimize_report_in_browser(browser, tmp_path, store_url, report_page):
    out = tmp_path / "opt"
    code = main(
        [
            "optimize",
            "zoo:digits-cnn",
            "--data",
            "digits",
            "--variants",
            "onnxruntime,pruned 50% unstructured",
            "--min-time",
            "0.1",
            "--max-time",
            "0.4",
            "--out",
            str(out),
            "--store",
            store_url,
        ]
    )
    assert code == 0
    seen = open_report(browser, out / "report.html", "optimize-report.png")
    assert seen["errors"] == [] and seen["remote"] == []
    assert seen["plots"] == 4 and all(k > 0 for k in seen["drawn"])
    run_id = json.loads((out / "result.json").read_text())["run_id"]
    assert report_page(run_id, store_url, "optimize-later")["sections"] == seen["sections"]


def test_explain_report_roofline_in_browser(browser, tmp_path):
    path = tmp_path / "explain.html"
    assert main(["explain", "zoo:cnn", "--report", str(path)]) == 0
    seen = open_report(browser, path, "explain-report.png")
    assert seen["errors"] == [] and seen["remote"] == []
    assert seen["plots"] >= 2 and all(k > 0 for k in seen["drawn"])
