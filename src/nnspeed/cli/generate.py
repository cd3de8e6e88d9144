"""``nnspeed generate``: time to first token, time per output token, tokens/s and words/s."""

from __future__ import annotations

import json
import math

import typer
from rich.table import Table

from .app import app, command_line, err, out
from .options import JsonOut, StoreUrl

KV_MODES = ("both", "on", "off")


@app.command()
def generate(
    source: str = typer.Argument(..., help="zoo:gpt2, zoo:gpt2-tiny or hf:PATH (a local causal LM directory)"),
    prompt_len: int = typer.Option(64, help="prompt tokens per sequence"),
    new_tokens: int = typer.Option(64, help="output tokens per sequence (greedy, never stopped early)"),
    batch: int = typer.Option(1, help="sequences generated together"),
    threads: int = typer.Option(None, help="threads (default: torch's)"),
    requests: int = typer.Option(5, help="requests timed per configuration (without the KV cache: a third, ≥1)"),
    kv_cache: str = typer.Option("both", help="both, on or off: generate with the KV cache, without, or both"),
    int8: bool = typer.Option(True, "--int8/--no-int8", help="also time int8 dynamic quantization (KV cache on)"),
    qps: float = typer.Option(None, help="also serve Poisson arrivals at this mean rate (requests/s), one at a time"),
    load_requests: int = typer.Option(20, help="requests in the --qps run"),
    ttft_slo_ms: float = typer.Option(None, help="--qps: TTFT target in ms, for goodput"),
    tpot_slo_ms: float = typer.Option(None, help="--qps: TPOT target in ms, for goodput"),
    seed: int = typer.Option(0, help="--qps: seed of the arrival times"),
    max_time: float = typer.Option(300.0, help="stop a configuration after this many seconds"),
    store: StoreUrl = None,
    json_out: JsonOut = False,
):
    """Greedy generation timed token by token: TTFT, TPOT, ITL, e2e, tokens/s, words/s, KV cache, int8."""
    from ..api import load
    from ..errors import InputError
    from ..measure.stoprule import StopRule
    from ..scenarios.generate import causal_lm
    from ..scenarios.generate import generate as run_generate
    from ..scenarios.llm import DEFINITIONS, HfSteps, check_generation, metrics, run_load, slo_result
    from ..scenarios.server import Load, check_slo
    from ..store.store import Store
    from ..workloads.text import tokens_per_word

    check_generation(prompt_len, new_tokens, batch, requests)
    if kv_cache not in KV_MODES:
        raise InputError(f"--kv-cache must be one of {', '.join(KV_MODES)}, got '{kv_cache}'")
    check_slo(ttft_slo_ms)
    check_slo(tpot_slo_ms)
    load_spec = Load(qps, 1.0, seed=seed) if qps is not None else None
    if load_requests < 1:
        raise InputError(f"--load-requests must be a whole number ≥ 1, got {load_requests}")
    db = Store(store)
    w = load(source)
    lm = causal_lm(w)
    tpw, tpw_how = tokens_per_word(w.meta.get("tokenizer"), "the model's own tokenizer")

    def stop(n: int) -> StopRule:
        return StopRule(min_time=0.0, max_time=max_time, min_iters=n, max_iters=n)

    plan = []
    if kv_cache in ("both", "on"):
        plan.append(("kv on", dict(kv_cache=True), requests))
    if kv_cache in ("both", "off"):
        plan.append(("kv off", dict(kv_cache=False), max(1, math.ceil(requests / 3))))
    if int8:
        plan.append(("int8 kv on", dict(kv_cache=True, int8=True), requests))
    results = {}
    with err.status("generating", spinner="dots") as status:
        for name, kw, n in plan:
            status.update(f"{w.source}: {name}, {n} requests of {new_tokens} tokens")
            results[name] = run_generate(w, prompt_len, new_tokens, batch, threads, stop(n), tokens_per_word=tpw, **kw)
        load_doc = None
        if load_spec is not None:
            status.update(f"{w.source}: {load_requests} requests at {qps:g}/s")
            from ..backends.base import torch_threads
            from ..measure.clock import PerfCounterClock

            with torch_threads(threads):
                steps = HfSteps(lm, batch, prompt_len, kv_cache != "off")
                reqs, span = run_load(steps, PerfCounterClock(), load_spec.arrivals(load_requests), new_tokens)
            load_doc = {"qps": qps, "seed": seed, "span_s": span, **metrics(reqs, batch, tpw, span),
                        **slo_result(reqs, span, ttft_slo_ms, tpot_slo_ms)}  # fmt: skip
    main_name = plan[0][0]
    gen = {k: m.extra["generate"] for k, m in results.items()}
    main = gen[main_name]
    doc = {
        "source": w.source,
        "prompt_len": prompt_len,
        "new_tokens": new_tokens,
        "batch": batch,
        "configuration": main_name,
        **{k: main[k] for k in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "tokens_per_s", "tokens_per_s_total",
                                "words_per_s", "prefill_ms", "decode_ms_per_token", "prefill_share")},  # fmt: skip
        "tokens_per_word": {"value": tpw, "method": tpw_how},
        "kv_cache": {"on": gen.get("kv on"), "off": gen.get("kv off"),
                     "speedup": _ratio(gen.get("kv on"), gen.get("kv off"))},  # fmt: skip
        "int8": None if "int8 kv on" not in gen else {**gen["int8 kv on"],
                                                      "speedup": _ratio(gen["int8 kv on"], gen.get("kv on"))},
        "load": load_doc,
        "definitions": DEFINITIONS,
        "threads": results[main_name].threads,
    }  # fmt: skip
    doc["run_id"] = db.save_run("generate", command_line(), list(results.values()))
    if json_out:
        out.print_json(json.dumps(doc))
        return
    _print(doc, gen, db)


def _ratio(a: dict | None, b: dict | None) -> float | None:
    """How many times more tokens/s ``a`` gives than ``b``."""
    return a["tokens_per_s"] / b["tokens_per_s"] if a and b else None


def _print(doc: dict, gen: dict, db) -> None:
    t = Table(title=f"{doc['source']}: {doc['prompt_len']} prompt + {doc['new_tokens']} new tokens, batch "
                    f"{doc['batch']} (ms; {doc['tokens_per_word']['value']:.2f} tokens per word)",
              title_justify="left", header_style="bold")  # fmt: skip
    for c in ("configuration", "requests", "TTFT p50", "TPOT p50", "ITL p50", "ITL p99", "e2e p50", "tokens/s",
              "words/s", "prefill share"):  # fmt: skip
        t.add_column(c, justify="left" if c == "configuration" else "right")
    for name, g in gen.items():
        t.add_row(name, str(g["requests"]), f"{g['ttft_ms']['p50']:.1f}", f"{g['tpot_ms']['p50']:.2f}",
                  f"{g['itl_ms']['p50']:.2f}", f"{g['itl_ms']['p99']:.2f}", f"{g['e2e_ms']['p50']:.0f}",
                  f"{g['tokens_per_s']:.1f}", f"{g['words_per_s']:.1f}", f"{100 * g['prefill_share']:.0f}%")  # fmt: skip
    out.print(t)
    if doc["kv_cache"]["speedup"]:
        out.print(f"the KV cache gives {doc['kv_cache']['speedup']:.2f}× the tokens/s", highlight=False)
    if doc["int8"]:
        out.print(f"int8 dynamic quantization gives {doc['int8']['speedup']:.2f}× the tokens/s", highlight=False)
    if doc["load"]:
        ld = doc["load"]
        out.print(f"{ld['requests']} requests at {ld['qps']:g}/s: TTFT p50 {ld['ttft_ms']['p50']:.0f} ms, p99 "
                  f"{ld['ttft_ms']['p99']:.0f} ms; TPOT p99 {ld['tpot_ms']['p99']:.1f} ms; goodput "
                  f"{ld['goodput']:.2f} requests/s ({100 * ld['attainment']:.0f}% within the SLOs)",
                  highlight=False)  # fmt: skip
    err.print(f"stored as run {doc['run_id']} in {db.display_url}", highlight=False)
