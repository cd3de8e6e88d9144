"""Short reprs and HTML reprs for notebooks: bounded, with the figures, escaped."""

import numpy as np

from nnspeed.commands.results import BenchResult, ExplainResult
from nnspeed.measure.measurement import Measurement


def measurement(n=100_000, source="zoo:mlp", notes=()):
    rng = np.random.default_rng(0)
    samples = tuple(float(x) for x in 0.25 + 0.01 * rng.standard_normal(n))
    return Measurement(
        source=source,
        backend="torch-eager",
        precision="fp32",
        effective_precision="fp32",
        batch=4,
        threads=2,
        device="cpu",
        samples_ms=samples,
        first_call_ms=3.0,
        timer_overhead_ns=40.0,
        notes=tuple(notes),
    )


def test_measurement_repr_is_short_and_has_the_headline():
    m = measurement()
    r = repr(m)
    assert len(r) < 500
    p50 = m.latency_ms.p50
    for part in ("zoo:mlp", "torch-eager", "fp32", "b4", "t2", "n=100000", f"{p50:.4g}"):
        assert part in r


def test_repr_counts_warnings_and_shortens_a_long_source():
    m = measurement(n=50, source="py:" + "/deep" * 100 + "/net.py:make", notes=("one", "two"))
    r = repr(m)
    assert len(r) < 300 and "net.py:make" in r
    assert f"{len(m.warnings)} warnings" in r


def test_measurement_html_is_a_table_with_the_figures_escaped():
    m = measurement(n=1000, source="py:<script>alert(1)</script>", notes=("a & b",))
    h = m._repr_html_()
    assert h.startswith("<table>") and "<script>" not in h
    assert "&lt;script&gt;" in h and "a &amp; b" in h
    lat = m.latency_ms
    assert f"{lat.p50:.4g}" in h and f"{lat.ci95[0]:.4g}" in h and ">1000<" in h


def test_result_repr_lists_a_few_measurements_and_counts_the_rest():
    ms = [measurement(n=20_000) for _ in range(5)]
    r = BenchResult(document={"run_id": "abc123", "results": []}, measurements=ms)
    text = repr(r)
    assert text.startswith("BenchResult(run abc123, 5 measurements") and "2 more" in text
    assert len(text) < 800
    h = r._repr_html_()
    assert h.count("<tr>") == 1 + 5 and "abc123" in h


def test_result_without_measurements_shows_its_scalar_figures():
    r = ExplainResult(document={"latency_ms": 1.5, "source": "<m>", "layers": [{"x": 1}] * 1000})
    assert repr(r) == "ExplainResult(0 measurements)"
    h = r._repr_html_()
    assert "latency_ms" in h and "1.5" in h and "&lt;m&gt;" in h and "layers" not in h
