"""Greedy LLM generation, token by token, each step timed by nnspeed's clock.

The metrics are defined once, in ``DEFINITIONS`` (``generate --json`` carries them), and
computed from per-token times by pure functions tested on a scripted clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..measure.clock import Clock

DEFINITIONS = {
    "ttft_ms": "time to first token: from the request's arrival (its start when there is no load) to the end of "
    "the step that produced the first output token (prefill of the prompt + choosing the token)",
    "itl_ms": "inter-token latency: the time between two consecutive output tokens of one request; a request of "
    "n_out tokens has n_out − 1 of them, and TTFT is not one of them",
    "tpot_ms": "time per output token after the first: (e2e − TTFT) / (n_out − 1), the mean ITL of a request",
    "e2e_ms": "end-to-end latency: from the request's arrival to its last output token",
    "tokens_per_s": "output tokens per second per sequence: n_out / e2e",
    "tokens_per_s_total": "output tokens per second over all sequences of a batch: batch × n_out / e2e "
    "(under load: every output token / the run's span)",
    "words_per_s": "tokens_per_s / tokens_per_word (subword tokens per English word, measured)",
    "token": "one generated token id per sequence per step (no chunks)",
    "percentiles": "TTFT, TPOT and e2e over requests; ITL over every gap of every request",
}


class Steps:
    """What a generation loop calls: ``prefill()`` makes the first token, ``decode()`` each next one."""

    def start(self, request: int) -> None: ...

    def prefill(self) -> None: ...

    def decode(self) -> None: ...


class HfSteps(Steps):
    """Greedy steps of a transformers causal LM, with or without its KV cache.

    Without the cache each step runs the whole sequence so far, as a model without one must.
    """

    def __init__(self, lm, batch: int, prompt_len: int, kv_cache: bool, pool: int = 4):
        import torch

        self.torch, self.lm, self.kv = torch, lm, kv_cache
        vocab = lm.config.vocab_size
        gen = torch.Generator().manual_seed(0)
        self.prompts = [torch.randint(0, vocab, (batch, prompt_len), generator=gen) for _ in range(pool)]

    def start(self, request: int) -> None:
        self.ids = self.prompts[request % len(self.prompts)]
        self.past = None

    def _forward(self, ids, past=None):
        with self.torch.inference_mode():
            out = self.lm(input_ids=ids, past_key_values=past, use_cache=self.kv)
        self.past = out.past_key_values if self.kv else None
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        self.ids = self.torch.cat([self.ids, nxt], dim=1)
        return nxt

    def prefill(self) -> None:
        self.next = self._forward(self.ids)

    def decode(self) -> None:
        self.next = self._forward(self.next, self.past) if self.kv else self._forward(self.ids)


def generate_once(steps: Steps, clock: Clock, request: int, new_tokens: int) -> np.ndarray:
    """Seconds from the request's start to each output token (one mark pair per step)."""
    steps.start(request)
    times = np.empty(new_tokens)
    t = 0.0
    for k in range(new_tokens):
        a = clock.mark()
        steps.prefill() if k == 0 else steps.decode()
        t += clock.elapsed(a, clock.mark())
        times[k] = t
    return times


@dataclass(frozen=True)
class Request:
    """One request: its queueing delay and its token times (seconds from its start)."""

    queue_s: float
    token_s: np.ndarray

    @property
    def ttft(self) -> float:
        return self.queue_s + float(self.token_s[0])

    @property
    def e2e(self) -> float:
        return self.queue_s + float(self.token_s[-1])

    @property
    def itl(self) -> np.ndarray:
        return np.diff(self.token_s)

    @property
    def tpot(self) -> float:
        n = len(self.token_s)
        return (self.e2e - self.ttft) / (n - 1) if n > 1 else math.nan


def _pcts(x_s) -> dict:
    x = np.asarray(x_s, dtype=float) * 1e3
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"p50": None, "p90": None, "p99": None, "mean": None, "n": 0}
    p50, p90, p99 = (float(v) for v in np.percentile(x, [50, 90, 99]))
    return {"p50": p50, "p90": p90, "p99": p99, "mean": float(x.mean()), "n": int(x.size)}


def metrics(requests: list[Request], batch: int, tokens_per_word: float, span_s: float | None = None) -> dict:
    """Every figure of a set of requests, by the definitions above."""
    n_out = len(requests[0].token_s)
    e2e = np.array([r.e2e for r in requests])
    tps = float(n_out * len(requests) / e2e.sum())
    total = batch * n_out * len(requests) / span_s if span_s else batch * tps
    prefill = np.array([r.token_s[0] for r in requests])
    tpot = _pcts([r.tpot for r in requests])
    return {
        "ttft_ms": _pcts([r.ttft for r in requests]),
        "tpot_ms": tpot,
        "itl_ms": _pcts(np.concatenate([r.itl for r in requests])),
        "e2e_ms": _pcts(e2e),
        "tokens_per_s": tps,
        "tokens_per_s_total": total,
        "words_per_s": tps / tokens_per_word,
        "prefill_ms": float(np.median(prefill) * 1e3),
        "decode_ms_per_token": tpot["p50"],
        "prefill_share": float(np.median(prefill / np.array([r.token_s[-1] for r in requests]))),
        "requests": len(requests),
        "new_tokens": n_out,
        "batch": batch,
    }


def run_requests(
    steps: Steps, clock: Clock, n: int, new_tokens: int, on_request: Callable[[int], None] | None = None
) -> list[Request]:
    """``n`` requests one after another (no load: no queueing)."""
    out = []
    for i in range(n):
        out.append(Request(0.0, generate_once(steps, clock, i, new_tokens)))
        if on_request:
            on_request(i)
    return out


def run_load(steps: Steps, clock: Clock, arrivals: np.ndarray, new_tokens: int) -> tuple[list[Request], float]:
    """Requests arriving at ``arrivals`` (s from now), served one at a time in arrival order.

    Returns the requests (queueing included) and the run's span (first arrival to last token).
    """
    t0 = clock.now() + 0.01
    arrival = t0 + np.asarray(arrivals, dtype=float)
    out, free_at = [], -math.inf
    for i, a in enumerate(arrival):
        clock.sleep_until(a)
        start = clock.now()
        times = generate_once(steps, clock, i, new_tokens)
        out.append(Request(start - a, times))
        free_at = start + times[-1]
    return out, free_at - arrival[0]


def slo_result(requests: list[Request], span_s: float, ttft_slo_ms: float | None, tpot_slo_ms: float | None) -> dict:
    """Goodput: requests meeting both SLOs (each one given) per second of the run."""

    def ok(r: Request) -> bool:
        return (ttft_slo_ms is None or r.ttft * 1e3 <= ttft_slo_ms) and (
            tpot_slo_ms is None or r.tpot * 1e3 <= tpot_slo_ms or math.isnan(r.tpot)
        )

    good = int(sum(bool(ok(r)) for r in requests))
    return {
        "ttft_slo_ms": ttft_slo_ms,
        "tpot_slo_ms": tpot_slo_ms,
        "good": good,
        "goodput": good / span_s,
        "attainment": good / len(requests),
    }


def check_generation(prompt_len: int, new_tokens: int, batch: int, requests: int) -> None:
    for flag, v, lo in (
        ("--prompt-len", prompt_len, 1),
        ("--new-tokens", new_tokens, 1),
        ("--batch", batch, 1),
        ("--requests", requests, 1),
    ):
        if not isinstance(v, int) or v < lo:
            raise InputError(f"{flag} must be a whole number ≥ {lo}, got {v}")
