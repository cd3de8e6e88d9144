"""``nnspeed generate``: time to first token, time per output token, tokens/s and words/s."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from .app import StatusEvents, app, command_line, err, out, print_disagreements
from .options import JsonOut, StoreUrl


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
    from ..commands.generate import GenerateRequest, run
    from ..store.store import Store

    request = GenerateRequest(
        source=source,
        prompt_len=prompt_len,
        new_tokens=new_tokens,
        batch=batch,
        threads=threads,
        requests=requests,
        kv_cache=kv_cache,
        int8=int8,
        qps=qps,
        load_requests=load_requests,
        ttft_slo_ms=ttft_slo_ms,
        tpot_slo_ms=tpot_slo_ms,
        seed=seed,
        max_time=max_time,
        command=command_line(),
    )
    db = Store(store, writable=True)
    with err.status("generating", spinner="dots") as status:
        result = run(request, store=db, events=StatusEvents(status))
    doc = result.to_dict()
    if json_out:
        out.print_json(json.dumps(doc))
        return
    _print(doc, result.configurations, db)


def _print(doc: dict, gen: dict, db) -> None:
    t = Table(
        title=f"{doc['source']}: {doc['prompt_len']} prompt + {doc['new_tokens']} new tokens, batch "
        f"{doc['batch']} (ms; {doc['tokens_per_word']['value']:.2f} tokens per word)",
        title_justify="left",
        header_style="bold",
    )
    for c in (
        "configuration",
        "requests",
        "TTFT p50",
        "TPOT p50",
        "ITL p50",
        "ITL p99",
        "e2e p50",
        "tokens/s",
        "words/s",
        "prefill share",
    ):
        t.add_column(c, justify="left" if c == "configuration" else "right")
    for name, g in gen.items():
        t.add_row(
            name,
            str(g["requests"]),
            f"{g['ttft_ms']['p50']:.1f}",
            f"{g['tpot_ms']['p50']:.2f}",
            f"{g['itl_ms']['p50']:.2f}",
            f"{g['itl_ms']['p99']:.2f}",
            f"{g['e2e_ms']['p50']:.0f}",
            f"{g['tokens_per_s']:.1f}",
            f"{g['words_per_s']:.1f}",
            f"{100 * g['prefill_share']:.0f}%",
        )
    out.print(t)
    print_disagreements(doc)
    if doc["kv_cache"]["speedup"]:
        out.print(f"the KV cache gives {doc['kv_cache']['speedup']:.2f}× the tokens/s", highlight=False)
    if doc["int8"]:
        out.print(f"int8 dynamic quantization gives {doc['int8']['speedup']:.2f}× the tokens/s", highlight=False)
    if doc["load"]:
        ld = doc["load"]
        out.print(
            f"{ld['requests']} requests at {ld['qps']:g}/s: TTFT p50 {ld['ttft_ms']['p50']:.0f} ms, p99 "
            f"{ld['ttft_ms']['p99']:.0f} ms; TPOT p99 {ld['tpot_ms']['p99']:.1f} ms; goodput "
            f"{ld['goodput']:.2f} requests/s ({100 * ld['attainment']:.0f}% within the SLOs)",
            highlight=False,
        )
    err.print(f"stored as run {doc['run_id']} in {db.display_url}", highlight=False)
