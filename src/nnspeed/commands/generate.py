"""``nnspeed.generate``: time to first token, time per output token, tokens/s and words/s."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError
from ..measure.stoprule import StopRule
from ..scenarios.generate import causal_lm, check_context
from ..scenarios.generate import generate as run_generate
from ..scenarios.llm import DEFINITIONS, HfSteps, check_generation, metrics, run_load, slo_result
from ..scenarios.server import Load, check_slo
from ..store.store import Store
from ..workloads.sources import load
from ..workloads.text import tokens_per_word
from .events import QUIET, Events
from .results import GenerateResult

KV_MODES = ("both", "on", "off")
HEADLINE = (
    "ttft_ms",
    "tpot_ms",
    "itl_ms",
    "e2e_ms",
    "tokens_per_s",
    "tokens_per_s_total",
    "words_per_s",
    "prefill_ms",
    "decode_ms_per_token",
    "prefill_share",
)


@dataclass(frozen=True, kw_only=True)
class GenerateRequest:
    """Greedy generation of ``new_tokens`` after a ``prompt_len`` prompt, timed token by token:
    with the KV cache, without it (``kv_cache``: both, on, off; a third of the requests) and
    with int8 dynamic quantization (``int8``).  ``qps`` also serves ``load_requests`` Poisson
    arrivals one at a time, with goodput against ``ttft_slo_ms`` / ``tpot_slo_ms``."""

    source: str
    prompt_len: int = 64
    new_tokens: int = 64
    batch: int = 1
    threads: int | None = None
    requests: int = 5
    kv_cache: str = "both"
    int8: bool = True
    qps: float | None = None
    load_requests: int = 20
    ttft_slo_ms: float | None = None
    tpot_slo_ms: float | None = None
    seed: int = 0
    max_time: float = 300.0
    command: str = "nnspeed generate"

    def validate(self) -> Load | None:
        """Check every option before anything loads; the arrivals when ``qps`` is given."""
        check_generation(self.prompt_len, self.new_tokens, self.batch, self.requests)
        if self.kv_cache not in KV_MODES:
            raise InputError(f"--kv-cache must be one of {', '.join(KV_MODES)}, got '{self.kv_cache}'")
        check_slo(self.ttft_slo_ms)
        check_slo(self.tpot_slo_ms)
        load_spec = Load(self.qps, 1.0, seed=self.seed) if self.qps is not None else None
        if self.load_requests < 1:
            raise InputError(f"--load-requests must be a whole number ≥ 1, got {self.load_requests}")
        return load_spec


def run(request: GenerateRequest, *, store: Store | str | None = None, events: Events = QUIET) -> GenerateResult:
    """Generate, time and store; ``events`` hears each configuration as it starts."""
    r = request
    load_spec = r.validate()
    say = events.progress
    db = Store.of(store)
    w = load(r.source)
    lm = causal_lm(w)
    check_context(lm, r.prompt_len, r.new_tokens)
    tpw, tpw_how = tokens_per_word(w.meta.get("tokenizer"), "the model's own tokenizer")

    def stop(n: int) -> StopRule:
        return StopRule(min_time=0.0, max_time=r.max_time, min_iters=n, max_iters=n)

    plan: list[tuple[str, bool, bool, int]] = []  # name, KV cache, int8, requests
    if r.kv_cache in ("both", "on"):
        plan.append(("kv on", True, False, r.requests))
    if r.kv_cache in ("both", "off"):
        plan.append(("kv off", False, False, max(1, math.ceil(r.requests / 3))))
    if r.int8:
        plan.append(("int8 kv on", True, True, r.requests))
    results = {}
    for name, kv, q8, n in plan:
        say(f"{w.source}: {name}, {n} requests of {r.new_tokens} tokens")
        results[name] = run_generate(
            w, r.prompt_len, r.new_tokens, r.batch, r.threads, stop(n), kv_cache=kv, int8=q8, tokens_per_word=tpw
        )
    load_doc = None
    if load_spec is not None:
        say(f"{w.source}: {r.load_requests} requests at {r.qps:g}/s")
        from ..backends.base import torch_threads
        from ..measure.clock import PerfCounterClock

        with torch_threads(r.threads):
            steps = HfSteps(lm, r.batch, r.prompt_len, r.kv_cache != "off")
            reqs, span = run_load(steps, PerfCounterClock(), load_spec.arrivals(r.load_requests), r.new_tokens)
        load_doc = {
            "qps": r.qps,
            "seed": r.seed,
            "span_s": span,
            **metrics(reqs, r.batch, tpw, span),
            **slo_result(reqs, span, r.ttft_slo_ms, r.tpot_slo_ms),
        }
    main_name = plan[0][0]
    gen = {k: m.extra["generate"] for k, m in results.items()}
    main = gen[main_name]
    doc = {
        "source": w.source,
        "prompt_len": r.prompt_len,
        "new_tokens": r.new_tokens,
        "batch": r.batch,
        "configuration": main_name,
        **{k: main[k] for k in HEADLINE},
        "tokens_per_word": {"value": tpw, "method": tpw_how},
        "kv_cache": {
            "on": gen.get("kv on"),
            "off": gen.get("kv off"),
            "speedup": _ratio(gen.get("kv on"), gen.get("kv off")),
        },
        "int8": None
        if "int8 kv on" not in gen
        else {**gen["int8 kv on"], "speedup": _ratio(gen["int8 kv on"], gen.get("kv on"))},
        "load": load_doc,
        "definitions": DEFINITIONS,
        "threads": results[main_name].threads,
    }
    measured = list(results.values())
    doc["run_id"] = db.save_run("generate", r.command, measured, documents={"generate": doc})
    return GenerateResult(doc, measured, configurations=gen)


def generate(source: str, *, store: Store | str | None = None, events: Events = QUIET, **options) -> GenerateResult:
    """``nnspeed.generate``: ``run`` on a ``GenerateRequest`` of ``source`` and ``options``."""
    return run(GenerateRequest(source=source, **options), store=store, events=events)


def _ratio(a: dict | None, b: dict | None) -> float | None:
    """How many times more tokens/s ``a`` gives than ``b``."""
    return a["tokens_per_s"] / b["tokens_per_s"] if a and b else None
