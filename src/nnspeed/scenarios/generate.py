"""One generation configuration measured: requests of greedy decoding under the stop rule."""

from __future__ import annotations

import copy

import numpy as np

from ..backends.base import Settings, torch_threads
from ..errors import UnsupportedError
from ..measure.clock import Clock, PerfCounterClock
from ..measure.contention import window_end, window_start
from ..measure.harness import Timing
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from .llm import HfSteps, Request, generate_once, metrics
from .record import to_measurement

BACKEND = "torch-generate"


def causal_lm(workload):
    """The transformers causal LM inside a workload (zoo:gpt2, zoo:gpt2-tiny, hf:PATH)."""
    lm = getattr(workload.model, "model", None)
    task = workload.meta.get("task")
    can = lm is not None and hasattr(lm, "generate") and (not hasattr(lm, "can_generate") or lm.can_generate())
    if not can or task not in (None, "causal-lm"):
        what = f"a {task} model ({workload.meta.get('model_class')})" if task else "not a causal language model"
        raise UnsupportedError(
            f"{workload.source} is {what}, which generate cannot time token by token; give a causal language "
            "model: zoo:gpt2, zoo:gpt2-tiny or hf:DIR of a …ForCausalLM"
        )
    return lm


def check_context(lm, prompt_len: int, new_tokens: int) -> None:
    """Refuse a prompt and output longer than the model's position embeddings reach."""
    from ..errors import InputError
    from ..workloads.hf_dir import context_length

    limit = context_length(getattr(lm, "config", None))
    if limit is not None and prompt_len + new_tokens > limit:
        raise InputError(
            f"--prompt-len {prompt_len} plus --new-tokens {new_tokens} is {prompt_len + new_tokens} tokens, past the "
            f"model's context of {limit}; make them add up to {limit} or less"
        )


def generate(
    workload,
    prompt_len: int,
    new_tokens: int,
    batch: int,
    threads: int | None,
    stop: StopRule,
    kv_cache: bool = True,
    int8: bool = False,
    tokens_per_word: float = 1.0,
    clock: Clock | None = None,
    steps=None,
) -> Measurement:
    """Requests (each ``new_tokens`` tokens per sequence) until the stop rule ends; the samples are
    the requests' end-to-end latencies and ``extra["generate"]`` holds every token metric.

    ``steps``: the generation steps to time (default: the workload's LM, greedy)."""
    with torch_threads(threads) as used:
        if steps is None:
            lm = causal_lm(workload)
            if int8:
                from ..transforms.quantize import quantize_dynamic_int8

                lm = quantize_dynamic_int8(copy.deepcopy(lm))
            steps = HfSteps(lm, batch, prompt_len, kv_cache)
        clock = clock or PerfCounterClock()
        overhead_ns = clock.overhead_ns()
        first = generate_once(steps, clock, 0, new_tokens)  # one-off costs: reported apart
        requests: list[Request] = []
        cpu0 = window_start(clock.name)
        t0 = clock.now()
        while True:
            requests.append(Request(0.0, generate_once(steps, clock, len(requests) + 1, new_tokens)))
            e2e = [r.e2e for r in requests]
            reason = stop.decide(len(requests), clock.now() - t0, e2e)
            if reason:
                break
        elapsed = clock.now() - t0
        cpu = window_end(cpu0)
    figures = metrics(requests, batch, tokens_per_word)
    timing = Timing(
        samples_s=np.array(e2e),
        block_size=1,
        first_call_s=float(first[-1]),
        warmup_calls=0,
        warmup_s=0.0,
        steady=True,
        overhead_ns=overhead_ns,
        stop_reason=reason,
        elapsed_s=elapsed,
        clock=clock.name,
        cpu=cpu,
    )
    effective = {
        "precision": "int8-dynamic" if int8 else "fp32",
        "threads": used,
        "device": "cpu",
        "kv_cache": kv_cache,
        "decoding": "greedy",
    }
    # Every step (prefill, then each decode step) is a sample too: a rate's interval needs them.
    steps_ms = np.concatenate([np.diff(np.r_[0.0, r.token_s]) for r in requests]) * 1e3
    extra = {
        "scenario": "generate",
        "prompt_len": prompt_len,
        "new_tokens": new_tokens,
        "generate": figures,
        "step_ms": [float(x) for x in steps_ms],
    }
    precision = "int8" if int8 else "fp32"
    backend = BACKEND if kv_cache else f"{BACKEND}-nokv"
    return to_measurement(
        workload,
        Settings(backend, precision, batch, threads, options={"kv_cache": kv_cache}),
        stop,
        timing,
        effective,
        extra=extra,
    )
