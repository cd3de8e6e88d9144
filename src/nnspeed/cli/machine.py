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
    export: Path = typer.Option(None, help="also write the profile (and any operator tables) to this JSON file"),
    operators: bool = typer.Option(False, "--operators", help="also measure the operator tables nnspeed predict uses"),
    json_out: JsonOut = False,
):
    """Measure (and cache per machine) peak GEMM rates per precision and thread count, memory bandwidth."""
    from .._files import write_text as write
    from ..explain.peaks import profile
    from ..predict.profile import cached_tables

    counts = int_values(split(threads), "--threads") if threads else None
    with err.status("measuring peak rates (GEMM fp32/bf16/int8, triad bandwidth)", spinner="dots"):
        doc, cached = profile(refresh, counts)
    if operators:
        from .predict import operator_table_shown

        for t in [r["threads"] for r in doc["rows"]]:
            operator_table_shown(t)
    tables = cached_tables()
    if export is not None:
        write(export, json.dumps({**doc, "operators": tables}, indent=2) + "\n")
    if json_out:
        out.print_json(json.dumps(contract(doc)))
        return
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
    for p in [export] if export else []:
        err.print(f"wrote {p}", highlight=False)


def contract(doc: dict) -> dict:
    """The documented JSON: measured rates keyed by thread count, the paper peak, the raw profile."""
    rows = doc["rows"]

    def per(get):
        return {str(r["threads"]): get(r) for r in rows}

    measured = {
        "fp32_gflops": per(lambda r: r["gemm"].get("fp32")),
        "bf16_gflops": per(lambda r: r["gemm"].get("bf16")),
        "int8_gops": per(lambda r: r["gemm"].get("int8")),
        "mem_bw_gbs": per(lambda r: r["triad_gbs"]),
        "bf16_over_fp32": per(
            lambda r: r["gemm"]["bf16"] / r["gemm"]["fp32"] if r["gemm"].get("bf16") and r["gemm"].get("fp32") else None
        ),
    }
    theo = dict(doc.get("theoretical_fp32") or {})
    best = max((r["gemm"].get("fp32") or 0 for r in rows), default=0)
    if theo:
        theo["measured_over_theoretical"] = best / theo["gflops"]
    return {"fingerprint": doc["machine"], "measured": measured, "theoretical": {"fp32": theo or None}, "profile": doc}
