"""``nnspeed optimize``: search variants, keep the fastest that stays accurate and in budget."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..axes import int_values, split
from ..errors import InputError
from .app import app, command_line, err, out
from .options import Budget, InputDtype, InputShape, JsonOut, MaxTime, MinTime, StoreUrl


@app.command()
def optimize(
    source: str = typer.Argument(..., help="zoo:NAME?k=v, py:module:function or onnx:PATH"),
    data: str = typer.Option(None, help="labelled data to score accuracy on (built-in: digits); default: fidelity to fp32"),
    eval_fn: str = typer.Option(None, "--eval", help="module:function(predict) -> score (higher is better)"),
    max_drop: float = typer.Option(1.0, help="largest accepted drop in the score, in points"),
    budget: Budget = None,
    batch: str = typer.Option("1", help="batch sizes to try, e.g. 1,8 (several: the highest throughput within budget wins)"),
    threads: str = typer.Option("auto", help="thread counts to try every variant at, e.g. 1,2 (auto: the runtime's default)"),
    time_limit: float = typer.Option(None, help="stop trying new variants after this many seconds"),
    export: Path = typer.Option(None, help="write the chosen variant (ONNX or TorchScript) and a README here"),
    out_dir: Path = typer.Option(Path("nnspeed-optimize"), "--out", help="where result.json and report.html go"),
    variants: str = typer.Option("", help="only variants whose name contains one of these words, e.g. onnxruntime,int8"),
    min_time: MinTime = 0.5,
    max_time: MaxTime = 3.0,
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Try precisions, quantization, pruning, fusion and runtimes; choose the fastest accurate one."""
    from .._files import write_text as write_file
    from ..api import load
    from ..measure.stoprule import StopRule
    from ..optimize.export import export as write_export
    from ..optimize.search import search
    from ..optimize.setup import scorer_for
    from ..optimize.variants import CANDIDATES
    from ..report.html import render
    from ..report.terminal import optimize_table
    from ..store.store import Store

    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a directory")
    if max_drop < 0:
        raise InputError(f"--max-drop must be ≥ 0 points, got {max_drop:g}")
    stop = StopRule(min_time=min_time, max_time=max_time, ci_rel=0.01)
    thread_counts = int_values(split(threads), "--threads", allow_auto=True)
    batches = int_values(split(batch), "--batch")
    db = Store(store)
    w = load(source, **{k: v for k, v in dict(input_shape=input_shape, input_dtype=input_dtype).items() if v})
    words = [v.strip() for v in variants.split(",") if v.strip()]
    candidates = [c for c in CANDIDATES if not words or any(word in c.name for word in words)]
    if not candidates:
        raise InputError(f"--variants {variants} matches no variant; names are: {', '.join(c.name for c in CANDIDATES)}")
    if eval_fn and data:
        raise InputError("give --eval or --data, not both: each decides how variants are scored")
    scorer, ctx = scorer_for(w, data, eval_fn)
    with err.status("baseline", spinner="dots") as status:
        baseline, outcomes, chosen = search(
            w, scorer, ctx, stop, batch=batches, threads=thread_counts, max_drop=max_drop, budget_ms=budget,
            time_limit_s=time_limit, on_variant=lambda name: status.update(f"measuring and scoring: {name}"),
            candidates=candidates,
        )  # fmt: skip
    doc = {
        "source": w.source,
        "metric": scorer.metric,
        "max_drop": max_drop,
        "budget_ms": budget,
        "baseline": {"latency_ms": baseline.measurement.latency_ms.p50, "accuracy": baseline.score.value,
                     "per_class": baseline.score.per_class},  # fmt: skip
        "variants": [o.to_dict() for o in outcomes],
        "chosen": None if chosen is None else chosen.name,
    }
    measured = [baseline.measurement] + [o.measurement for o in outcomes if o.measurement is not None]
    doc["run_id"] = db.save_run("optimize", command_line(), measured, documents={"optimize": doc})
    if export is not None and chosen is not None:
        doc["exported"] = [str(p) for p in write_export(chosen, baseline, w.source, export, scorer.metric)]
    run, ms = db.get_run(doc["run_id"])
    write_file(out_dir / "result.json", json.dumps(doc, indent=2, default=float) + "\n")
    doc["report"] = str(write_file(out_dir / "report.html", render(run, ms, optimize=doc)))
    if json_out:
        out.print_json(json.dumps(doc, default=float))
        return
    out.print(optimize_table(baseline, outcomes, chosen, scorer.metric))
    out.file.flush()
    if chosen is None:
        close = sorted((o for o in outcomes if o.score is not None), key=lambda o: o.accuracy_drop)[:3]
        err.print(
            f"[yellow]no variant stays within --max-drop {max_drop:g}"
            + (f" and --budget {budget:g} ms" if budget else "") + "[/]; closest: "
            + ", ".join(f"{o.name} (drop {o.accuracy_drop:.2f}, {o.speedup:.2f}x)" for o in close),
            highlight=False,
        )  # fmt: skip
    else:
        lo, hi = chosen.speedup_ci95
        err.print(
            f"chosen: [bold]{chosen.name}[/] — {chosen.speedup:.2f}x faster than eager fp32 (95% CI {lo:.2f}–{hi:.2f}), "
            f"score {chosen.score.value:.2f} ({0.0 - chosen.accuracy_drop + 0.0:+.2f} points); stored as run {doc['run_id']}",
            highlight=False,
        )
    for p in [*doc.get("exported", []), doc["report"]]:
        err.print(f"wrote {p}", highlight=False)
