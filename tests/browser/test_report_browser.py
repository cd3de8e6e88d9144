"""The HTML report in a real browser: loads offline with no console errors, every plot renders.

Uses Debian's chromium driven by Playwright (never a downloaded browser).  The screenshots go
to build/screenshots/ for a person to look at.
"""

import os
import shutil
from pathlib import Path

import pytest

from nnspeed.cli.app import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: .ci/run installs chromium and playwright")
        pytest.skip("chromium or playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_report(browser, path: Path, shot: str) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    plots = page.locator("div[data-plot]")
    n = plots.count()
    for i in range(n):
        plots.nth(i).locator(".main-svg").first.wait_for(timeout=30_000)
    drawn = page.eval_on_selector_all(
        "div[data-plot]", "els => els.map(e => e.querySelectorAll('.main-svg .trace, .main-svg .boxlayer path').length)"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    page.close()
    return {"plots": n, "drawn": drawn, "errors": errors, "remote": [u for u in requests if not u.startswith("file:")]}


def test_study_report_in_browser(browser, quick_study):
    out, _ = quick_study
    seen = open_report(browser, out / "report.html", "study-report.png")
    assert seen["errors"] == [] and seen["remote"] == []
    assert seen["plots"] == 4
    assert all(k > 0 for k in seen["drawn"]), seen["drawn"]


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


def test_optimize_report_in_browser(browser, tmp_path, store_url):
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


def test_explain_report_roofline_in_browser(browser, tmp_path):
    path = tmp_path / "explain.html"
    assert main(["explain", "zoo:cnn", "--report", str(path)]) == 0
    seen = open_report(browser, path, "explain-report.png")
    assert seen["errors"] == [] and seen["remote"] == []
    assert seen["plots"] >= 2 and all(k > 0 for k in seen["drawn"])
