"""``nnspeed.explain``: where a model's time goes, layer by layer, against what this machine can do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..backends.base import KIND_NAMES, Settings
from ..errors import UnsupportedError
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from ..store.store import Store
from ..workloads.sources import load
from .events import QUIET, Events
from .results import ExplainResult

EXPLAINED = ("torch-eager", "tensorflow")
STOP = StopRule(min_time=0.5, max_time=3)


@dataclass(frozen=True, kw_only=True)
class ExplainRequest:
    """Per-layer time (torch.profiler), FLOPs and bytes of a torch model on torch-eager, each
    layer set against the machine's measured GEMM and bandwidth peaks (a roofline), the framework
    overhead outside any layer and advice; for a Keras model on tensorflow, the measured call
    against the sum of its layers' roofline bounds.  ``report`` also writes the HTML report with
    the roofline plot."""

    source: str
    backend: str | None = None
    batch: int = 1
    threads: int | None = None
    input_shape: str | None = None
    input_dtype: str | None = None
    report: str | Path | None = None
    command: str = "nnspeed explain"

    def validate(self) -> None:
        if self.backend not in (None, *EXPLAINED):
            raise UnsupportedError(
                f"per-layer explain supports torch-eager (and tensorflow for Keras models), not {self.backend}; "
                "use --backend torch-eager"
            )


def run(request: ExplainRequest, *, store: Store | str | None = None, events: Events = QUIET) -> ExplainResult:
    """Profile and explain the request's model (nothing is stored); ``events`` hears each phase."""
    r = request
    from ..backends.registry import before_load_for_any

    r.validate()
    before_load_for_any([r.threads])  # TensorFlow takes its thread count before a Keras model is built
    w = load(r.source, **{k: v for k, v in dict(input_shape=r.input_shape, input_dtype=r.input_dtype).items() if v})
    if w.keras_model is not None:
        if r.backend not in (None, "tensorflow"):
            raise UnsupportedError(f"{r.source} is a Keras model; explain runs it on --backend tensorflow")
        doc, m = _keras(w, r.batch, r.threads, events.progress)
    else:
        if r.backend not in (None, "torch-eager"):
            raise UnsupportedError(
                f"explain runs {r.source} on torch-eager, not {r.backend}; use --backend torch-eager"
            )
        if w.model is None:
            raise UnsupportedError(
                f"{w.source} is {KIND_NAMES[w.kind]}, which explain cannot break into layers; explain the torch "
                "(zoo:, py:, hf:) or Keras model it was made from"
            )
        doc, m = _torch(w, r.batch, r.threads, events.progress)
    if r.report is not None:
        from .._files import write_text
        from ..report.html import render

        run = {"id": "explain", "kind": "explain", "created_at": "", "command": r.command, "env": m.env}
        html = render(run, [m], explain=doc) if doc["backend"] == "torch-eager" else render(run, [m])
        doc["report"] = str(write_text(Path(r.report), html))
    return ExplainResult(doc, [m])


def explain(source: str, *, store: Store | str | None = None, events: Events = QUIET, **options) -> ExplainResult:
    """``nnspeed.explain``: ``run`` on a ``ExplainRequest`` of ``source`` and ``options``."""
    return run(ExplainRequest(source=source, **options), store=store, events=events)


def _measured(w, backend: str, batch: int, threads: int | None) -> Measurement:
    """The whole call, measured as ``bench`` measures it (the figure the layers are set against)."""
    from ..scenarios.single_stream import single_stream

    return single_stream(w, Settings(backend, "fp32", batch, threads), STOP)


def _peaks_row(peaks_doc: dict, threads: int) -> dict:
    """The measured peaks at the thread count nearest the one the model ran at."""
    return min(peaks_doc["rows"], key=lambda r: abs(r["threads"] - threads))


def _peaks(row: dict) -> dict:
    """The roofs: fp32 GEMM, main-memory triad, and the triad by working set (cache levels)."""
    return {
        "fp32_gflops": row["gemm"]["fp32"],
        "bandwidth_gbs": row["triad_gbs"],
        "bandwidth_by_working_set": row.get("ladder", []),
        "threads": row["threads"],
    }


def _torch(w, batch: int, threads: int | None, on_phase) -> tuple[dict, Measurement]:
    import torch

    from ..backends.base import torch_threads
    from ..explanation.advice import advise
    from ..explanation.checks import accounting_tolerance, warnings
    from ..explanation.layers import layer_stats
    from ..explanation.peaks import profile
    from ..explanation.roofline import Row, roofline

    if on_phase:
        on_phase("machine peaks, rigorous latency, per-layer profile")
    peaks_doc, _ = profile()
    m = _measured(w, "torch-eager", batch, threads)
    t_used = m.threads or torch.get_num_threads()
    row = _peaks_row(peaks_doc, t_used)
    with torch_threads(t_used):
        prof = layer_stats(w.model, w.torch_args(batch))
    ops = {n: type(mod).__name__ for n, mod in w.model.named_modules()}
    work, latency = prof.work, m.latency_ms.p50
    rows = [Row(n, ops.get(n, ""), prof.runs[n], t, work.flops(n), work.bytes(n)) for n, t in prof.times.items()]
    outside_rows = [
        Row(n, "outside any layer", prof.outside_runs[n], t, work.flops(n, True), work.bytes(n, True))
        for n, t in prof.outside.items()
    ]
    layers = roofline(rows, latency, row["gemm"]["fp32"], row)
    outside = roofline(outside_rows, latency, row["gemm"]["fp32"], row)
    layers_ms, outside_ms, overhead = sum(prof.times.values()), sum(prof.outside.values()), prof.between_ms
    shown = [r.to_dict() for r in layers + outside]
    doc = {
        "source": w.source,
        "backend": "torch-eager",
        "batch": batch,
        "threads": t_used,
        "latency_ms": latency,
        # the latency, and every time below, is a median over calls
        "statistic": "median",
        "layers_ms": layers_ms,
        "outside_ms": outside_ms,
        "overhead_ms": overhead,  # in no operator: Python in forward(), module calls
        # the plain calls timed between the profiled ones: the whole the three parts are set against
        "between_profiles_ms": prof.plain_ms,
        # the three parts, measured in the profile, against those plain calls
        "accounted_ratio": (layers_ms + outside_ms + overhead) / prof.plain_ms if prof.plain_ms > 0 else 0.0,
        "profiler_cost_ms": prof.recording_ms,
        # how far the parts may miss the whole: 5%, and half the profiler's cost as a share of the call
        "accounting_tolerance": accounting_tolerance(prof.recording_ms, prof.plain_ms),
        "total_flops": work.total_flops,
        "total_bytes": sum(r.bytes for r in layers + outside),
        "params": w.params(),
        "roofline_bound_ms": sum(r.bound_ms or 0.0 for r in layers + outside),
        "peaks": _peaks(row),
        "layers": [r.to_dict() for r in layers],
        "outside": [r.to_dict() for r in outside],
        "advice": advise(
            layers, outside, latency, overhead, [(n, ops[n]) for n in ops if n in prof.times], batch, row["gemm"]
        ),
        # the latency's own (a busy machine, a noisy run), then rows whose bound had to be dropped
        "warnings": [f"latency: {text}" for text in m.warnings] + warnings(shown, prof.recording_ms, prof.plain_ms),
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
