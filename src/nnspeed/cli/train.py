"""``nnspeed train``: where a training step's time goes, variants, time to accuracy, streaming,
energy and data-parallel scaling."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import StatusEvents, app, command_line, err, out, print_disagreements
from .options import JsonOut, StoreUrl


@app.command()
def train(
    source: str = typer.Argument(..., help="zoo:NAME?k=v or py:module:function (a torch model)"),
    data: str = typer.Option(
        None,
        help="digits, or py:module:function returning (train_loader, test_loader); "
        "default: the model's own random inputs and a synthetic loss",
    ),
    batch: str = typer.Option("64", help="comma list of batch sizes (variants)"),
    steps: int = typer.Option(200, help="timed steps per variant (half split into phases, half whole)"),
    precision: str = typer.Option("fp32,bf16", help="comma list: fp32, bf16 (autocast), fp16 (GPU, grad scaling)"),
    compile: bool = typer.Option(False, "--compile", help="also time torch.compile"),
    channels_last: bool = typer.Option(False, "--channels-last", help="also time channels-last memory format"),
    workers: str = typer.Option("0", help="comma list of DataLoader worker counts (variants)"),
    threads: int = typer.Option(None, help="threads (default: torch's)"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    target_accuracy: float = typer.Option(None, help="train until the held-out accuracy reaches this (0–1)"),
    max_epochs: int = typer.Option(50, help="--target-accuracy: give up after this many epochs"),
    stream: bool = typer.Option(False, "--stream", help="online training on a replayed stream (prequential)"),
    rate: float = typer.Option(500.0, help="--stream: samples arriving per second"),
    drift: str = typer.Option("none", help="--stream: none, label or input drift from the middle of the stream"),
    passes: int = typer.Option(2, help="--stream: passes over the training split"),
    nproc: int = typer.Option(None, help="also run data-parallel over this many processes (loopback)"),
    epochs: int = typer.Option(10, help="projection: epochs"),
    dataset_size: int = typer.Option(None, help="projection: samples per epoch (default: the training split)"),
    gco2_per_kwh: float = typer.Option(None, help="grid carbon intensity for the CO2 figure (g per kWh)"),
    country: str = typer.Option(
        None, help="or the grid of this country (ISO alpha-3, e.g. FRA), from codecarbon's table"
    ),
    report: Path = typer.Option(None, help="also write an HTML report (accuracy curves, every variant) to this file"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Measure training: per-phase step breakdown, samples/s, variants, time to accuracy, energy."""
    from ..commands.train import TrainRequest, run
    from ..training.run import TrainOptions

    options = TrainOptions(
        data=data,
        batch=batch,
        steps=steps,
        precision=precision,
        compile=compile,
        channels_last=channels_last,
        workers=workers,
        threads=threads,
        device=device,
        target_accuracy=target_accuracy,
        max_epochs=max_epochs,
        stream=stream,
        rate=rate,
        drift=drift,
        passes=passes,
        nproc=nproc,
        epochs=epochs,
        dataset_size=dataset_size,
        gco2_per_kwh=gco2_per_kwh,
        country=country,
    )
    request = TrainRequest(source=source, options=options, report=report, command=command_line())
    with err.status("training", spinner="dots") as status:
        result = run(request, store=store, events=StatusEvents(status))
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(
        title=f"{doc['source']}: {doc['step_ms']:.3f} ms per step, {doc['samples_per_s']:,.0f} samples/s "
        f"(phases add up to {100 * doc['sum_over_step']:.0f}% of the step)",
        caption=f"every figure: {doc['statistic']}; phase columns: share of the phases' sum",
        title_justify="left",
        caption_justify="left",
        header_style="bold",
    )
    for c in ("variant", "step ms", "samples/s", "phases ms", *doc["breakdown_ms"]):
        t.add_column(c, justify="left" if c == "variant" else "right")
    for v in doc["variants"]:
        parts = sum(v["breakdown_ms"].values())
        t.add_row(
            v["name"],
            f"{v['step_ms']:.3f}",
            f"{v['samples_per_s']:,.0f}",
            f"{parts:.3f}" + ("" if v["adds_up"] else " ⚠"),
            *(f"{100 * v['shares'][p]:.0f}%" for p in doc["breakdown_ms"]),
        )
    out.print(t)
    print_disagreements(doc)
    for line in doc["lines"]:
        out.print(line, highlight=False)
    err.print(f"stored as run {doc['run_id']} in {doc['store']}", highlight=False)
