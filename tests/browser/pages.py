"""A report opened in headless Chromium: console errors, requests off the machine, plots drawn."""

import os
import re
import shutil
from pathlib import Path

import pytest

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


def launch(playwright):
    """Debian's chromium (never a downloaded browser); skips where it is missing, but not in CI."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: .ci/run installs chromium and playwright")
        pytest.skip("chromium is not installed")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


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
    sections = page.eval_on_selector_all("main section h2", "els => els.map(e => e.textContent)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    page.close()
    return {
        "plots": n,
        "drawn": drawn,
        "sections": sections,
        "errors": errors,
        "remote": [u for u in requests if not u.startswith("file:")],
    }


def read_report(path: Path) -> dict:
    """What ``open_report`` returns, read from the HTML alone (no browser here): the plots and
    the sections' titles; nothing drawn is known."""
    html = path.read_text()
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    sections = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<section[^>]*>\s*<h2>(.*?)</h2>", main, re.S)]
    return {
        "plots": len(re.findall(r'<div[^>]*\sdata-plot="', html)),
        "drawn": [],
        "sections": sections,
        "errors": [],
        "remote": [],
    }
