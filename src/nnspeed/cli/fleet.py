"""``nnspeed fleet``: the same benchmark on every node of a Ray cluster, machine against machine."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import StatusEvents, app, command_line, err, out, print_disagreements
from .options import Ci, ClusterAddress, InputDtype, InputShape, JsonOut, MaxTime, MinTime, StoreUrl


def _cost(v) -> str:
    return "–" if v is None else f"{v:.4g}"


@app.command()
def fleet(
    source: str = typer.Argument(..., help="zoo:NAME?k=v, py:module:function, onnx:PATH, …"),
    cluster: ClusterAddress = ...,
    backend: str = typer.Option("auto", help="the backend every node runs (default: the source's own runtime)"),
    precision: str = typer.Option("fp32", help="fp32, bf16, fp16, int8"),
    batch: int = typer.Option(1, help="batch size"),
    threads: int = typer.Option(None, help="threads (default: all of each node's CPUs)"),
    price: str = typer.Option(
        None,
        help="USD per hour: 'NODE_OR_LABEL=USD,…' (a node id prefix, address, hostname or label) for cost per million",
    ),
    min_time: MinTime = 1.0,
    max_time: MaxTime = 10.0,
    ci: Ci = 0.01,
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    report: Path = typer.Option(None, help="also write an HTML report of the nodes and machines to this file"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Benchmark one model on every alive node of a Ray cluster: the fastest and cheapest machine."""
    from ..commands.fleet import FleetRequest, run

    request = FleetRequest(
        source=source,
        cluster=cluster,
        backend=backend,
        precision=precision,
        batch=batch,
        threads=threads,
        price=price,
        min_time=min_time,
        max_time=max_time,
        ci=ci,
        input_shape=input_shape,
        input_dtype=input_dtype,
        report=report,
        command=command_line(),
    )
    with err.status("connecting to the cluster", spinner="dots") as status:
        result = run(request, store=store, events=StatusEvents(status))
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(title=f"{source} on every node ({doc['backend']} {precision}, batch {batch})", title_justify="left")
    for name in ("node", "address", "machine", "CPUs", "p50 ms", "95% CI", "p99", "samples/s", "USD/h", "USD/M"):
        t.add_column(name, justify="left" if name in ("node", "address", "machine") else "right")
    for r in doc["nodes"]:
        if r["status"] != "ok":
            t.add_row(r["node_id"][:8], r["address"], "–", str(r["cpus"]), "failed", r["reason"] or "", *[""] * 4)
            continue
        t.add_row(
            r["node_id"][:8],
            r["address"],
            r["machine_id"][:8],
            str(r["cpus"]),
            f"{r['p50_ms']:.4g}",
            f"{r['ci95_ms'][0]:.4g}–{r['ci95_ms'][1]:.4g}",
            f"{r['p99_ms']:.4g}",
            f"{r['throughput_sps']:,.0f}",
            _cost(r["usd_per_hour"]),
            _cost(r["usd_per_million"]),
        )
    out.print(t)
    print_disagreements(doc)
    m = Table(title="pooled by machine fingerprint", title_justify="left")
    for name in ("machine", "CPU", "nodes", "median p50 ms", "pooled 95% CI", "spread", "USD/M"):
        m.add_column(name, justify="left" if name in ("machine", "CPU") else "right")
    for g in doc["machines"]:
        m.add_row(
            g["machine_id"][:8],
            str(g["cpu"]),
            str(g["n_nodes"]),
            f"{g['p50_ms']:.4g}",
            f"{g['pooled_ci95_ms'][0]:.4g}–{g['pooled_ci95_ms'][1]:.4g}",
            f"{100 * g['node_spread']:.1f}%",
            _cost(g["usd_per_million"]),
        )
    out.print(m)
    lines = []
    if doc["fastest"]:
        f = doc["fastest"]
        lines.append(f"fastest machine: {f['machine_id'][:8]} ({f['cpu']}), p50 {f['p50_ms']:.4g} ms")
    if doc["cheapest"]:
        c = doc["cheapest"]
        lines.append(f"cheapest: {c['machine_id'][:8]} at ${c['usd_per_million']:.4g} per million inferences")
    if doc.get("report"):
        lines.append(f"wrote {doc['report']}")
    if doc["run_id"]:
        lines.append(f"stored as run {doc['run_id']}")
    for line in lines:
        err.print(line, highlight=False)
