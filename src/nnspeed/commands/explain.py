"""``nnspeed.explain``: where a model's time goes, layer by layer, against what this machine can do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..backends.base import Settings
from ..errors import UnsupportedError
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from ..workloads.sources import load
from .results import ExplainResult

EXPLAINED = ("torch-eager", "tensorflow")
STOP = StopRule(min_time=0.5, max_time=3)


def explain(
    source: str,
    backend: str | None = None,
    batch: int = 1,
    threads: int | None = None,
    input_shape: str | None = None,
    input_dtype: str | None = None,
    report: str | Path | None = None,
    command: str = "nnspeed explain",
    on_phase: Callable[[str], None] | None = None,
) -> ExplainResult:
    """Per-layer time (torch.profiler), FLOPs and bytes of a torch model on torch-eager, each
    layer set against the machine's measured GEMM and bandwidth peaks (a roofline), the framework
    overhead outside any layer and advice; for a Keras model on tensorflow, the measured call
    against the sum of its layers' roofline bounds.  ``report`` also writes the HTML report with
    the roofline plot.  ``on_phase(text)`` hears what is being measured."""
    from ..backends.registry import before_load_for_any

    if backend not in (None, *EXPLAINED):
        raise UnsupportedError(
            f"per-layer explain supports torch-eager (and tensorflow for Keras models), not {backend}; "
            "use --backend torch-eager"
        )
    before_load_for_any([threads])  # TensorFlow takes its thread count before a Keras model is built
    w = load(source, **{k: v for k, v in dict(input_shape=input_shape, input_dtype=input_dtype).items() if v})
    if w.keras_model is not None:
        if backend not in (None, "tensorflow"):
            raise UnsupportedError(f"{source} is a Keras model; explain runs it on --backend tensorflow")
        doc, m = _keras(w, batch, threads, on_phase)
    else:
        if backend not in (None, "torch-eager"):
            raise UnsupportedError(f"explain runs {source} on torch-eager, not {backend}; use --backend torch-eager")
        if w.model is None:
            raise UnsupportedError(f"{source} is an ONNX file; explain needs a torch model (zoo: or py:)")
        doc, m = _torch(w, batch, threads, on_phase)
    if report is not None:
        from .._files import write_text
        from ..report.html import render

        run = {"id": "explain", "kind": "explain", "created_at": "", "command": command, "env": m.env}
        html = render(run, [m], explain=doc) if doc["backend"] == "torch-eager" else render(run, [m])
        doc["report"] = str(write_text(Path(report), html))
    return ExplainResult(doc, [m])


def _measured(w, backend: str, batch: int, threads: int | None) -> Measurement:
    """The whole call, measured as ``bench`` measures it (the figure the layers are set against)."""
    from ..scenarios.single_stream import single_stream

    return single_stream(w, Settings(backend, "fp32", batch, threads), STOP)


def _peaks_row(peaks_doc: dict, threads: int) -> dict:
    """The measured peaks at the thread count nearest the one the model ran at."""
    return min(peaks_doc["rows"], key=lambda r: abs(r["threads"] - threads))


def _peaks(row: dict) -> dict:
    return {"fp32_gflops": row["gemm"]["fp32"], "bandwidth_gbs": row["triad_gbs"], "threads": row["threads"]}


def _torch(w, batch: int, threads: int | None, on_phase) -> tuple[dict, Measurement]:
    import torch

    from ..backends.base import torch_threads
    from ..explanation.advice import advise
    from ..explanation.layers import layer_stats, roofline
    from ..explanation.peaks import profile

    if on_phase:
        on_phase("machine peaks, rigorous latency, per-layer profile")
    peaks_doc, _ = profile()
    m = _measured(w, "torch-eager", batch, threads)
    t_used = m.threads or torch.get_num_threads()
    row = _peaks_row(peaks_doc, t_used)
    with torch_threads(t_used):
        times, flops, nbytes, recording = layer_stats(w.model, w.torch_args(batch))
    ops = {n: type(mod).__name__ for n, mod in w.model.named_modules()}
    layers = roofline(times, flops, nbytes, row["gemm"]["fp32"], row["triad_gbs"], ops)
    latency = m.latency_ms.p50
    overhead = max(0.0, latency - sum(times.values()))
    doc = {
        "source": w.source,
        "backend": "torch-eager",
        "batch": batch,
        "threads": t_used,
        "latency_ms": latency,
        "overhead_ms": overhead,
        "profiler_cost_ms": recording,
        "total_flops": int(sum(flops.values())),
        "params": w.params(),
        "roofline_bound_ms": sum(layer.bound_ms for layer in layers),
        "peaks": _peaks(row),
        "layers": [layer.to_dict() for layer in layers],
        "advice": advise(layers, latency, overhead, [(n, ops[n]) for n in ops if n in times], batch, row["gemm"]),
    }
    return doc, m


def _keras(w, batch: int, threads: int | None, on_phase) -> tuple[dict, Measurement]:
    from ..explanation.keras import NOT_BROKEN_DOWN, keras_roofline
    from ..explanation.peaks import profile

    if on_phase:
        on_phase("machine peaks, rigorous latency")
    peaks_doc, _ = profile()
    m = _measured(w, "tensorflow", batch, threads)
    t_used = m.threads or 1
    row = _peaks_row(peaks_doc, t_used)
    layers = keras_roofline(w.keras_model, batch, row["gemm"]["fp32"], row["triad_gbs"])
    latency, bound = m.latency_ms.p50, sum(layer.bound_ms for layer in layers)
    doc = {
        "source": w.source,
        "backend": "tensorflow",
        "batch": batch,
        "threads": t_used,
        "latency_ms": latency,
        "total_flops": int(sum(layer.flops for layer in layers)),
        "params": w.params(),
        "roofline_bound_ms": bound,
        "efficiency": bound / latency if latency > 0 else 0.0,
        "peaks": _peaks(row),
        "layers": [layer.to_dict() for layer in layers],
        "not_broken_down": NOT_BROKEN_DOWN,
    }
    return doc, m
