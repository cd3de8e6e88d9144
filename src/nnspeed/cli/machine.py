"""``nnspeed machine``: what this machine can do, measured, and what it could do on paper."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import app, err, out, print_disagreements
from .options import JsonOut


@app.command()
def machine(
    refresh: bool = typer.Option(False, help="measure again instead of using the cached profile"),
    threads: str = typer.Option("", help="thread counts to measure, e.g. 1,2 (default: 1 and all cores)"),
    export: Path = typer.Option(None, help="also write the profile (and any operator tables) to this JSON file"),
    operators: bool = typer.Option(False, "--operators", help="also measure the operator tables nnspeed predict uses"),
    json_out: JsonOut = False,
):
    """Measure (and cache per machine) peak GEMM rates per precision and thread count, memory bandwidth."""
    from ..commands.machine import MachineRequest, run
    from .predict import PhaseEvents, phases_shown

    request = MachineRequest(refresh=refresh, threads=threads or None, operators=operators, export=export)
    with phases_shown() as on_progress:
        result = run(request, events=PhaseEvents(on_progress))
    doc = result.document["profile"]
    if json_out:
        out.print_json(json.dumps(result.to_dict()))
        return
    cached, tables = result.cached, result.tables
    t = Table(
        title=f"peak rates of this machine ({'cached' if cached else 'measured now'})",
        title_justify="left",
        header_style="bold",
    )
    for c in ("threads", "fp32 GFLOP/s", "bf16 GFLOP/s", "bf16/fp32", "int8 GOP/s", "triad GB/s"):
        t.add_column(c, justify="right")
    for r in doc["rows"]:
        g = r["gemm"]
        ratio = f"{g['bf16'] / g['fp32']:.1f}x" if g.get("bf16") and g.get("fp32") else "–"
        t.add_row(
            str(r["threads"]),
            *[f"{g[p]:,.0f}" if g.get(p) else "–" for p in ("fp32", "bf16")],
            ratio,
            f"{g['int8']:,.0f}" if g.get("int8") else "–",
            f"{r['triad_gbs']:.1f}",
        )
    out.print(t)
    print_disagreements(result.to_dict())
    if tables:
        out.print(f"operator tables for nnspeed predict: threads {', '.join(sorted(tables))}", highlight=False)
    theo = doc.get("theoretical_fp32")
    if theo:
        best = max(r["gemm"]["fp32"] or 0 for r in doc["rows"])
        ratio = best / theo["gflops"]
        out.print(
            f"theoretical fp32 peak: {theo['gflops']:,.0f} GFLOP/s ({theo['basis']}); "
            f"measured {best:,.0f} = {100 * ratio:.0f}% of it",
            highlight=False,
        )
        if ratio > 1:
            out.print(
                "above 100%: the cores run faster than the clock the kernel reports (turbo), "
                "so the paper peak is a floor here, not a ceiling",
                highlight=False,
            )
    if result.exported:
        err.print(f"wrote {result.exported}", highlight=False)
