"""``nnspeed explain``: where the time goes, against what this machine can do."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

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
    from ..commands.explain import explain as run_explain

    with err.status("loading the model", spinner="dots") as status:
        doc = run_explain(
            source,
            backend=backend,
            batch=batch,
            threads=threads,
            input_shape=input_shape,
            input_dtype=input_dtype,
            report=report,
            command=command_line(),
            on_phase=status.update,
        ).to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    if doc["backend"] == "tensorflow":
        _print_keras(doc)
        return
    latency, overhead = doc["latency_ms"], doc["overhead_ms"]
    t = Table(
        title=f"{doc['source']}: {latency:.3f} ms per call, {overhead:.3f} ms outside any layer, roofline bound "
        f"{doc['roofline_bound_ms']:.3f} ms",
        title_justify="left",
        header_style="bold",
    )
    for c in ("layer", "op", "ms", "share", "MFLOP", "KB", "FLOP/B", "GFLOP/s", "bound ms", "eff.", "verdict"):
        t.add_column(c, justify="left" if c in ("layer", "op", "verdict") else "right")
    for layer in doc["layers"]:
        t.add_row(
            layer["name"],
            layer["op"],
            f"{layer['time_ms']:.4f}",
            f"{100 * layer['share']:.0f}%",
            f"{layer['flops'] / 1e6:.2f}",
            f"{layer['bytes'] / 1e3:.0f}",
            f"{layer['intensity']:.1f}",
            f"{layer['gflops']:.1f}",
            f"{layer['bound_ms']:.4f}",
            f"{100 * layer['efficiency']:.0f}%",
            layer["verdict"],
        )
    out.print(t)
    for i, a in enumerate(doc["advice"], 1):
        out.print(f"{i}. {a['text']} (estimated gain {a['estimated_gain']:.3f} ms)", highlight=False)


def _print_keras(doc: dict) -> None:
    """A Keras model: the measured call against the sum of its layers' roofline bounds."""
    t = Table(
        title=f"{doc['source']} on tensorflow: {doc['latency_ms']:.3f} ms per call, roofline bound "
        f"{doc['roofline_bound_ms']:.3f} ms ({100 * doc['efficiency']:.0f}% of the call)",
        title_justify="left",
        header_style="bold",
    )
    for c in ("layer", "op", "MFLOP", "KB", "FLOP/B", "bound ms", "verdict"):
        t.add_column(c, justify="left" if c in ("layer", "op", "verdict") else "right")
    for layer in doc["layers"]:
        t.add_row(
            layer["name"],
            layer["op"],
            f"{layer['flops'] / 1e6:.2f}",
            f"{layer['bytes'] / 1e3:.0f}",
            f"{layer['intensity']:.1f}",
            f"{layer['bound_ms']:.4f}",
            layer["verdict"],
        )
    out.print(t)
    out.print(f"Not broken down: {doc['not_broken_down']}.", highlight=False)
