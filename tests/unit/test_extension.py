"""A backend and a scenario defined outside nnspeed (tests/extension, registered through entry
points as an installed package's would be) run through ``nnspeed bench``, are stored, shown
and reported, with no file of nnspeed edited."""

import json
import os
import subprocess
import sys
from pathlib import Path

EXTENSION = Path(__file__).resolve().parents[1] / "extension"


def nnspeed(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXTENSION), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "nnspeed", *args], capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_a_backend_and_a_scenario_from_another_package(store_url, tmp_path):
    ran = nnspeed(
        "bench", "zoo:mlp", "--backend", "torch-nograd", "--scenario", "burst", "--threads", "1",
        "--min-time", "0.1", "--max-time", "0.3", "--store", store_url, "--json",
    )  # fmt: skip
    doc = json.loads(ran.stdout)
    (r,) = doc["results"]
    assert r["backend"] == "torch-nograd" and r["effective"]["grad"] == "no_grad"
    assert r["scenario"] == "burst"
    burst = r["burst"]
    assert burst["bursts"] == 5 and burst["calls"] == 4
    assert burst["first_ms"] > 0 and burst["rest_ms"] > 0
    assert burst["first_over_rest"] == burst["first_ms"] / burst["rest_ms"]
    assert r["n"] >= 10 and r["latency_ms"]["p50"] > 0

    shown = json.loads(nnspeed("show", doc["run_id"], "--json", "--store", store_url).stdout)
    assert shown["results"][0]["burst"] == burst
    assert shown["results"][0]["backend"] == "torch-nograd"

    page = tmp_path / "report.html"
    nnspeed("report", doc["run_id"], "--output", str(page), "--store", store_url)
    html = page.read_text()
    assert "torch-nograd" in html and "What each scenario measured" in html
    assert "first_over_rest" in html and "burst" in html


def test_the_registered_names_are_offered_and_checked():
    bad = nnspeed("bench", "zoo:mlp", "--scenario", "bursty", "--min-time", "0.05", "--max-time", "0.1", check=False)
    assert bad.returncode != 0 and "burst" in bad.stderr and "single-stream" in bad.stderr
    assert "'broken'" not in bad.stderr  # left out of the list: it cannot be loaded
    bad = nnspeed(
        "bench", "zoo:mlp", "--backend", "torch-nograd,nope", "--min-time", "0.05", "--max-time", "0.1", check=False
    )
    assert bad.returncode != 0 and "torch-nograd" in bad.stderr and "'nope'" in bad.stderr
    bad = nnspeed(
        "bench", "zoo:mlp", "--scenario", "burst", "--qps", "5", "--min-time", "0.05", "--max-time", "0.1", check=False
    )
    assert bad.returncode != 0 and "--qps applies to --scenario server, not --scenario burst" in bad.stderr


def test_a_broken_extension_is_named_and_stops_nothing_else():
    """The package also registers a scenario and a backend that do not exist: the others run."""
    bad = nnspeed("bench", "zoo:mlp", "--scenario", "broken", "--min-time", "0.05", "--max-time", "0.1", check=False)
    assert bad.returncode != 0 and "the scenario 'broken' registered by nnspeed_ext_demo:Missing" in bad.stderr
    bad = nnspeed(
        "bench", "zoo:mlp", "--backend", "broken-backend", "--max-time", "0.1", "--min-time", "0.05", check=False
    )
    assert bad.returncode != 0 and "the backend 'broken-backend' registered as nnspeed_ext_demo:Missing" in bad.stderr
