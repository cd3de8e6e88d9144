"""``nnspeed explain``: where the time goes, against what this machine can do."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..errors import UnsupportedError
from .app import app, command_line, err, out
from .options import InputDtype, InputShape, JsonOut


@app.command()
def explain(
    source: str = typer.Argument(..., help="zoo:NAME?k=v, py:module:function (a torch model) or keras:PATH"),
    backend: str = typer.Option(
        None, help="runtime to explain: torch-eager (per-layer profiles) or, for a Keras model, tensorflow"
    ),
    batch: int = typer.Option(1, help="batch size"),
    threads: int = typer.Option(None, help="threads (default: the runtime's)"),
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    report: Path = typer.Option(None, help="also write an HTML report with the roofline plot to this file"),
    json_out: JsonOut = False,
):
    """Per-layer time, FLOPs, bytes and roofline verdicts, the framework overhead, and advice."""
    import torch

    from ..api import bench, load
    from ..backends.base import torch_threads
    from ..backends.registry import before_load_for_any
    from ..explain.advice import advise
    from ..explain.layers import layer_stats, roofline
    from ..explain.peaks import profile

    if backend not in (None, "torch-eager", "tensorflow"):
        raise UnsupportedError(
            f"per-layer explain supports torch-eager (and tensorflow for Keras models), not {backend}; "
            "use --backend torch-eager"
        )
    before_load_for_any([threads])  # TensorFlow takes its thread count before a Keras model is built
    w = load(source, **{k: v for k, v in dict(input_shape=input_shape, input_dtype=input_dtype).items() if v})
    if w.keras_model is not None:
        if backend not in (None, "tensorflow"):
            raise UnsupportedError(f"{source} is a Keras model; explain runs it on --backend tensorflow")
        _explain_keras(w, batch, threads, report, json_out)
        return
    if backend not in (None, "torch-eager"):
        raise UnsupportedError(f"explain runs {source} on torch-eager, not {backend}; use --backend torch-eager")
    if w.model is None:
        raise UnsupportedError(f"{source} is an ONNX file; explain needs a torch model (zoo: or py:)")
    with err.status("machine peaks, rigorous latency, per-layer profile", spinner="dots"):
        peaks_doc, _ = profile()
        m = bench(w, backend="torch-eager", batch=batch, threads=threads, min_time=0.5, max_time=3)
        t_used = m.threads or torch.get_num_threads()
        row = min(peaks_doc["rows"], key=lambda r: abs(r["threads"] - t_used))
        with torch_threads(t_used):
            times, flops, nbytes, recording = layer_stats(w.model, w.torch_args(batch))
    ops = {n: type(mod).__name__ for n, mod in w.model.named_modules()}
    layers = roofline(times, flops, nbytes, row["gemm"]["fp32"], row["triad_gbs"], ops)
    latency = m.latency_ms.p50
    overhead = max(0.0, latency - sum(times.values()))
    doc = {
        "source": w.source,
        "batch": batch,
        "threads": t_used,
        "latency_ms": latency,
        "overhead_ms": overhead,
        "profiler_cost_ms": recording,
        "total_flops": int(sum(flops.values())),
        "params": w.params(),
        "roofline_bound_ms": sum(layer.bound_ms for layer in layers),
        "peaks": {"fp32_gflops": row["gemm"]["fp32"], "bandwidth_gbs": row["triad_gbs"], "threads": row["threads"]},
        "layers": [layer.to_dict() for layer in layers],
        "advice": advise(layers, latency, overhead, [(n, ops[n]) for n in ops if n in times], batch, row["gemm"]),
    }
    if report is not None:
        from .._files import write_text as write
        from ..report.html import render

        run = {"id": "explain", "kind": "explain", "created_at": "", "command": command_line(), "env": m.env}
        doc["report"] = str(write(report, render(run, [m], explain=doc)))
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(
        title=f"{w.source}: {latency:.3f} ms per call, {overhead:.3f} ms outside any layer, roofline bound "
        f"{doc['roofline_bound_ms']:.3f} ms",
        title_justify="left",
        header_style="bold",
    )
    for c in ("layer", "op", "ms", "share", "MFLOP", "KB", "FLOP/B", "GFLOP/s", "bound ms", "eff.", "verdict"):
        t.add_column(c, justify="left" if c in ("layer", "op", "verdict") else "right")
    for layer in layers:
        t.add_row(
            layer.name,
            layer.op,
            f"{layer.time_ms:.4f}",
            f"{100 * layer.share:.0f}%",
            f"{layer.flops / 1e6:.2f}",
            f"{layer.bytes / 1e3:.0f}",
            f"{layer.intensity:.1f}",
            f"{layer.gflops:.1f}",
            f"{layer.bound_ms:.4f}",
            f"{100 * layer.efficiency:.0f}%",
            layer.verdict,
        )
    out.print(t)
    for i, a in enumerate(doc["advice"], 1):
        out.print(f"{i}. {a['text']} (estimated gain {a['estimated_gain']:.3f} ms)", highlight=False)


def _explain_keras(w, batch: int, threads: int | None, report: Path | None, json_out: bool) -> None:
    """A Keras model: the measured call against the sum of its layers' roofline bounds."""
    from ..api import bench
    from ..explain.keras import NOT_BROKEN_DOWN, keras_roofline
    from ..explain.peaks import profile

    with err.status("machine peaks, rigorous latency", spinner="dots"):
        peaks_doc, _ = profile()
        m = bench(w, backend="tensorflow", batch=batch, threads=threads, min_time=0.5, max_time=3)
    t_used = m.threads or 1
    row = min(peaks_doc["rows"], key=lambda r: abs(r["threads"] - t_used))
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
        "peaks": {"fp32_gflops": row["gemm"]["fp32"], "bandwidth_gbs": row["triad_gbs"], "threads": row["threads"]},
        "layers": [layer.to_dict() for layer in layers],
        "not_broken_down": NOT_BROKEN_DOWN,
    }
    if report is not None:
        from .._files import write_text as write
        from ..report.html import render

        run = {"id": "explain", "kind": "explain", "created_at": "", "command": command_line(), "env": m.env}
        doc["report"] = str(write(report, render(run, [m])))
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(
        title=f"{w.source} on tensorflow: {latency:.3f} ms per call, roofline bound {bound:.3f} ms "
        f"({100 * doc['efficiency']:.0f}% of the call)",
        title_justify="left",
        header_style="bold",
    )
    for c in ("layer", "op", "MFLOP", "KB", "FLOP/B", "bound ms", "verdict"):
        t.add_column(c, justify="left" if c in ("layer", "op", "verdict") else "right")
    for layer in layers:
        t.add_row(
            layer.name,
            layer.op,
            f"{layer.flops / 1e6:.2f}",
            f"{layer.bytes / 1e3:.0f}",
            f"{layer.intensity:.1f}",
            f"{layer.bound_ms:.4f}",
            layer.verdict,
        )
    out.print(t)
    out.print(f"Not broken down: {NOT_BROKEN_DOWN}.", highlight=False)
