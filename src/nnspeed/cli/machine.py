"""``nnspeed machine``: what this machine can do, measured, and what it could do on paper."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..axes import int_values, split
from .app import app, err, out
from .options import JsonOut


@app.command()
def machine(
    refresh: bool = typer.Option(False, help="measure again instead of using the cached profile"),
    threads: str = typer.Option("", help="thread counts to measure, e.g. 1,2 (default: 1 and all cores)"),
    export: Path = typer.Option(None, help="also write the profile to this JSON file"),
    json_out: JsonOut = False,
):
    """Measure (and cache per machine) peak GEMM rates per precision and thread count, memory bandwidth."""
    from ..explain.peaks import profile
    from .._files import write_text as write

    counts = int_values(split(threads), "--threads") if threads else None
    with err.status("measuring peak rates (GEMM fp32/bf16/int8, triad bandwidth)", spinner="dots"):
        doc, cached = profile(refresh, counts)
    if export is not None:
        write(export, json.dumps(doc, indent=2) + "\n")
    if json_out:
        out.print_json(json.dumps(doc))
        return
    t = Table(title=f"peak rates of this machine ({'cached' if cached else 'measured now'})",
              title_justify="left", header_style="bold")  # fmt: skip
    for c in ("threads", "fp32 GFLOP/s", "bf16 GFLOP/s", "int8 GOP/s", "triad GB/s"):
        t.add_column(c, justify="right")
    for r in doc["rows"]:
        g = r["gemm"]
        t.add_row(str(r["threads"]), *[f"{g[p]:,.0f}" if g.get(p) else "–" for p in ("fp32", "bf16", "int8")],
                  f"{r['triad_gbs']:.1f}")  # fmt: skip
    out.print(t)
    theo = doc.get("theoretical_fp32")
    if theo:
        best = max(r["gemm"]["fp32"] or 0 for r in doc["rows"])
        ratio = best / theo["gflops"]
        out.print(f"theoretical fp32 peak: {theo['gflops']:,.0f} GFLOP/s ({theo['basis']}); "
                  f"measured {best:,.0f} = {100 * ratio:.0f}% of it", highlight=False)  # fmt: skip
        if ratio > 1:
            out.print("above 100%: the cores run faster than the clock the kernel reports (turbo), "
                      "so the paper peak is a floor here, not a ceiling", highlight=False)  # fmt: skip
    for p in [export] if export else []:
        err.print(f"wrote {p}", highlight=False)
