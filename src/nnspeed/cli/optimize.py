"""``nnspeed optimize``: search variants, keep the fastest that stays accurate and in budget."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import StatusEvents, app, command_line, err, out, print_disagreements
from .options import Budget, InputDtype, InputShape, JsonOut, MaxTime, MinTime, StoreUrl


@app.command()
def optimize(
    source: str = typer.Argument(..., help="zoo:NAME?k=v, py:module:function or onnx:PATH"),
    data: str = typer.Option(
        None, help="labelled data to score accuracy on (built-in: digits); default: fidelity to fp32"
    ),
    eval_fn: str = typer.Option(None, "--eval", help="module:function(predict) -> score (higher is better)"),
    fidelity: str = typer.Option(
        None,
        help="without labels: METRIC:THRESHOLD for every output, METRIC one of agreement (argmax, %), iou (%), "
        "cosine, retrieval (%), snr (dB), e.g. agreement:99 or snr:30 (default: each output's own, "
        "guessed from its shape)",
    ),
    max_drop: float = typer.Option(1.0, help="largest accepted drop in the score, in points"),
    budget: Budget = None,
    batch: str = typer.Option(
        "1", help="batch sizes to try, e.g. 1,8 (several: the highest throughput within budget wins)"
    ),
    threads: str = typer.Option(
        "auto", help="thread counts to try every variant at, e.g. 1,2 (auto: the runtime's default)"
    ),
    time_limit: float = typer.Option(None, help="stop trying new variants after this many seconds"),
    export: Path = typer.Option(
        None, help="write the chosen variant in its runtime's format (ONNX, OpenVINO IR, TorchScript) and a README here"
    ),
    out_dir: Path = typer.Option(Path("nnspeed-optimize"), "--out", help="where result.json and report.html go"),
    variants: str = typer.Option(
        "", help="only variants whose name contains one of these words, e.g. onnxruntime,int8"
    ),
    early_exit: bool = typer.Option(False, help="add early-exit variants of a classifier (needs --data)"),
    exits: str = typer.Option("auto", help="with --early-exit: where the exits go: auto or module names, e.g. 2,6"),
    exit_rule: str = typer.Option("max-prob", help="with --early-exit: max-prob (max softmax ≥ τ) or entropy (≤ τ)"),
    exit_taus: str = typer.Option(None, help="with --early-exit: thresholds to try, e.g. 0.9,0.99,0.999"),
    min_time: MinTime = 0.5,
    max_time: MaxTime = 3.0,
    input_shape: InputShape = None,
    input_dtype: InputDtype = None,
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Try precisions, quantization, pruning, fusion and runtimes; choose the fastest accurate one."""
    from ..commands.optimize import OptimizeRequest, run
    from ..report.terminal import optimize_table

    request = OptimizeRequest(
        source=source,
        data=data,
        eval_fn=eval_fn,
        fidelity=fidelity,
        max_drop=max_drop,
        budget_ms=budget,
        batch=batch,
        threads=threads,
        time_limit=time_limit,
        export=export,
        out_dir=out_dir,
        variants=variants,
        early_exit=early_exit,
        exits=exits,
        exit_rule=exit_rule,
        exit_taus=exit_taus,
        min_time=min_time,
        max_time=max_time,
        input_shape=input_shape,
        input_dtype=input_dtype,
        command=command_line(),
    )
    with err.status("baseline", spinner="dots") as status:
        result = run(request, store=store, events=StatusEvents(status))
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    baseline, outcomes, chosen = result.baseline, result.outcomes, result.chosen
    out.print(optimize_table(baseline, outcomes, chosen, result.metric))
    print_disagreements(doc)
    scoring = doc.get("scoring", {})
    if "rule" in scoring:
        checks = "; ".join(
            f"output {o['index']} ({o['kind']}): {o['label']} ≥ {o['threshold']:g}" for o in scoring["outputs"]
        )
        err.print(f"scored on {scoring['n']} inputs against fp32: {checks}", highlight=False)
        err.print(f"output kinds: a {scoring['rule']}", style="dim", highlight=False)
        for o in scoring["outputs"]:
            if "guard" in o:
                err.print(f"[yellow]output {o['index']}: {o['guard']}[/]", highlight=False)
    out.file.flush()
    if chosen is None:
        close = sorted((o for o in outcomes if o.score is not None), key=lambda o: o.accuracy_drop)[:3]
        err.print(
            f"[yellow]no variant stays within --max-drop {max_drop:g}"
            + (f" and --budget {budget:g} ms" if budget else "")
            + "[/]; closest: "
            + ", ".join(f"{o.name} (drop {o.accuracy_drop:.2f}, {o.speedup:.2f}x)" for o in close),
            highlight=False,
        )
    else:
        lo, hi = chosen.speedup_ci95
        err.print(
            f"chosen: [bold]{chosen.name}[/] — {chosen.speedup:.2f}x faster than {baseline.name} (95% CI {lo:.2f}–{hi:.2f}), "
            f"score {chosen.score.value:.4g} ({chosen.score.metric}); stored as run {doc['run_id']}"
            + (f"\n  {chosen.choice_note}" if chosen.choice_note else ""),
            highlight=False,
        )
    for p in [*doc.get("exported", []), doc["report"]]:
        err.print(f"wrote {p}", highlight=False)
