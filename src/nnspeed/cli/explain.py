"""``nnspeed explain``: where the time goes, against what this machine can do."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import StatusEvents, app, command_line, err, out, print_disagreements
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
    from ..commands.explain import ExplainRequest, run

    request = ExplainRequest(
        source=source,
        backend=backend,
        batch=batch,
        threads=threads,
        input_shape=input_shape,
        input_dtype=input_dtype,
        report=report,
        command=command_line(),
    )
    with err.status("loading the model", spinner="dots") as status:
        doc = run(request, events=StatusEvents(status)).to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    if doc["backend"] == "tensorflow":
        _print_keras(doc)
        return
    out.print(_torch_table(doc))
    print_disagreements(doc)
    for i, a in enumerate(doc["advice"], 1):
        out.print(f"{i}. {a['text']} (estimated gain {a['estimated_gain']:.3f} ms)", highlight=False)
    for line in doc["warnings"]:
        err.print(f"[yellow]warning:[/] {line}", highlight=False)


def _torch_table(doc: dict) -> Table:
    """Layers, then the functions outside every layer; the title adds them up to the latency."""
    parts = doc["layers_ms"] + doc["outside_ms"] + doc["overhead_ms"]
    t = Table(
        title=f"{doc['source']}: {doc['latency_ms']:.3f} ms per call ({doc['statistic']}); profiled: layers "
        f"{doc['layers_ms']:.3f} + functions outside any layer {doc['outside_ms']:.3f} + in no operator "
        f"{doc['overhead_ms']:.3f} = {parts:.3f} ms ({100 * doc['accounted_ratio']:.0f}% of the "
        f"{doc['between_profiles_ms']:.3f} ms calls timed between the profiled ones, ±"
        f"{100 * doc['accounting_tolerance']:.0f}% allowed); roofline "
        f"bound {doc['roofline_bound_ms']:.3f} ms",
        title_justify="left",
        header_style="bold",
    )
    columns = ("layer", "op", "runs", "ms", "share", "MFLOP", "KB", "FLOP/B", "GFLOP/s", "GB/s roof", "bound ms")
    for c in (*columns, "eff.", "verdict"):
        t.add_column(c, justify="left" if c in ("layer", "op", "verdict") else "right")
    for i, row in enumerate(doc["layers"] + doc["outside"]):
        unknown = row["efficiency"] is None
        t.add_row(
            row["name"],
            row["op"],
            str(row["calls"]),
            f"{row['time_ms']:.4f}",
            f"{100 * row['share']:.0f}%",
            f"{row['flops'] / 1e6:.2f}",
            f"{row['bytes'] / 1e3:.0f}",
            f"{row['intensity']:.1f}",
            f"{row['gflops']:.1f}",
            f"{row['bandwidth_gbs']:.0f}",
            "unknown" if row["bound_ms"] is None else f"{row['bound_ms']:.4f}",
            "—" if unknown else f"{100 * row['efficiency']:.0f}%",
            row["verdict"],
            end_section=i == len(doc["layers"]) - 1,
        )
    return t


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
    print_disagreements(doc)
    out.print(f"Not broken down: {doc['not_broken_down']}.", highlight=False)
