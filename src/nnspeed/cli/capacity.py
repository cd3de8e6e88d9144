"""``nnspeed capacity``: the highest request rate that holds a p99 SLO, with and without batching."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import app, command_line, err, out
from .options import InputDtype, InputShape, JsonOut, StoreUrl


@app.command()
def capacity(
    source: str = typer.Argument(..., help="zoo:NAME?k=v, py:module:function or onnx:PATH"),
    slo_p99: float = typer.Option(..., "--slo-p99", help="p99 latency target in ms"),
    dynamic_batching: bool = typer.Option(True, "--dynamic-batching/--no-dynamic-batching",
                                          help="also search with the dynamic batcher"),  # fmt: skip
    max_batch: int = typer.Option(32, help="largest batch the dynamic batcher forms"),
    max_wait_ms: float = typer.Option(None, help="longest a request waits for a batch to fill (default: SLO/10)"),
    backend: str = typer.Option("torch-eager", help="torch-eager, torch-compile, onnxruntime, openvino"),
    precision: str = typer.Option("fp32", help="fp32, bf16, fp16"),
    threads: int = typer.Option(None, help="threads (default: the runtime's)"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    trial_time: float = typer.Option(2.0, help="seconds of arrivals per trial rate"),
    burstiness: float = typer.Option(1.0, help="squared CV of arrival gaps (1 Poisson, >1 burstier)"),
    seed: int = typer.Option(0, help="seed of the arrival times"),
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    report: Path = typer.Option(None, help="also write an HTML report with the latency-vs-load plot to this file"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Search the highest offered load whose p99 latency holds the SLO (Poisson arrivals)."""
    from ..api import load
    from ..backends.base import Settings
    from ..backends.registry import get_backend
    from ..measure.stoprule import StopRule
    from ..scenarios.capacity import MODES, default_wait_ms
    from ..scenarios.capacity import capacity as search_capacity
    from ..scenarios.server import Batcher, check_slo
    from ..store.store import Store

    check_slo(slo_p99)
    get_backend(backend)  # an unknown backend fails before anything loads
    wait = max_wait_ms if max_wait_ms is not None else default_wait_ms(slo_p99)
    batcher = Batcher(max_batch, wait)
    modes = MODES if dynamic_batching else MODES[:1]
    w = load(source, **{k: v for k, v in dict(input_shape=input_shape, input_dtype=input_dtype).items() if v})
    settings = Settings(backend, precision, 1, threads, device)
    db = Store(store)

    def on_trial(mode, r):
        verdict = "held" if r["passed"] else "missed"
        status.update(f"{mode.replace('_', ' ')}: {r['qps']:,.0f} QPS → p99 {r['p99_ms']:.3g} ms ({verdict})")

    with err.status("warming up", spinner="dots") as status:
        doc, measurements = search_capacity(w, settings, slo_p99, batcher, trial_time, StopRule(max_time=4), modes, burstiness, seed,
                              on_trial=on_trial)  # fmt: skip
    doc["run_id"] = db.save_run("capacity", command_line(), measurements) if measurements else None
    if report is not None:
        from .._files import write_text
        from ..report.html import render

        run = {"id": "capacity", "kind": "capacity", "created_at": "", "command": command_line(), "env": {}}
        doc["report"] = str(write_text(report, render(run, [], capacity=doc)))
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(title=f"{w.source}: highest load holding p99 ≤ {slo_p99:g} ms", title_justify="left", header_style="bold")
    for c in ("batching", "offered QPS", "achieved QPS", "p50 ms", "p99 ms", "mean batch", "SLO"):
        t.add_column(c, justify="left" if c in ("batching", "SLO") else "right")
    for p in doc["curve"]:
        t.add_row(p["batching"].replace("_", " "), f"{p['offered_qps']:,.0f}", f"{p['achieved_qps']:,.0f}",
                  f"{p['p50_ms']:.3f}", f"{p['p99_ms']:.3f}", f"{p['mean_batch']:.1f}",
                  "held" if p["passed"] else "missed")  # fmt: skip
    out.print(t)
    for mode, q in doc["max_qps"].items():
        if q:
            out.print(f"max QPS {mode.replace('_', ' ')}: {q:,.0f}", highlight=False)
        elif q is not None:
            low = min(p["offered_qps"] for p in doc["curve"] if p["batching"] == mode)
            out.print(f"{mode.replace('_', ' ')}: no rate tried held the SLO, down to {low:,.0f} QPS; raise --slo-p99 "
                      "or use a faster configuration", highlight=False)  # fmt: skip
