"""``nnspeed zoo``: the built-in models, their keys, parameters and FLOPs."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from .app import app, err, out
from .options import JsonOut


@app.command("zoo")
def zoo_command(
    flops: bool = typer.Option(True, help="build each model to count its parameters and FLOPs"),
    json_out: JsonOut = False,
):
    """List the built-in models (zoo:NAME?key=value) with parameters and FLOPs at batch 1."""
    from .._optional import PACKAGES, available
    from ..workloads.registry import ZOO, load_zoo

    rows = []
    with err.status("building models to count parameters and FLOPs", spinner="dots") if flops else _null():
        for name, e in ZOO.items():
            row = {
                "name": name,
                "description": e.description,
                "keys": {k: key.default for k, key in e.keys.items()},
                "params": None,
                "flops": None,
            }
            needs = [m for m in (e.needs, "tensorflow" if e.framework == "keras" else None) if m]
            missing = [m for m in needs if not available(m)]
            if flops and not missing:
                w = load_zoo(name)
                row["params"], row["flops"] = w.params(), w.flops(1)
            elif missing:
                row["note"] = f"needs pip install 'nnspeed[{PACKAGES.get(missing[0], (missing[0], missing[0]))[1]}]'"
            rows.append(row)
    if json_out:
        out.print_json(json.dumps({"models": rows}))
        return
    t = Table(header_style="bold")
    for c in ("source", "keys (defaults)", "params", "GFLOPs", "description"):
        t.add_column(c, justify="right" if c in ("params", "GFLOPs") else "left")
    for r in rows:
        t.add_row(
            f"zoo:{r['name']}",
            " ".join(f"{k}={v}" for k, v in r["keys"].items()) or "–",
            f"{r['params'] / 1e6:.2f}M" if r["params"] is not None else "–",
            f"{r['flops'] / 1e9:.3f}" if r["flops"] is not None else "–",
            r["description"] + (f" ({r['note']})" if r.get("note") else ""),
        )
    out.print(t)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
