"""Greedy text generation with the KV cache: whole ``generate`` calls timed by the harness."""

from __future__ import annotations

from ..backends.base import Settings, torch_threads
from ..errors import UnsupportedError
from ..measure.harness import run_timed
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from .record import to_measurement

BACKEND = "torch-generate"


def generate(workload, prompt_len: int, new_tokens: int, batch: int, threads: int | None, stop: StopRule) -> Measurement:
    """Each sample is one call producing exactly ``new_tokens`` tokens per sequence."""
    import numpy as np
    import torch

    lm = getattr(workload.model, "model", None)
    if lm is None or not hasattr(lm, "generate"):
        raise UnsupportedError(f"{workload.source} is not a causal language model; use zoo:gpt2 or zoo:gpt2-tiny")
    with torch_threads(threads) as used:
        vocab = lm.config.vocab_size
        prompts = [
            torch.from_numpy(np.random.default_rng(i).integers(0, vocab, (batch, prompt_len))) for i in range(4)
        ]

        def call(i: int) -> None:
            ids = prompts[i % len(prompts)]
            with torch.inference_mode():
                lm.generate(
                    ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                    do_sample=False, use_cache=True, pad_token_id=lm.config.eos_token_id,
                )  # fmt: skip

        timing = run_timed(call, stop)
    effective = {"precision": "fp32", "threads": used, "device": "cpu", "kv_cache": True}
    extra = {"prompt_len": prompt_len, "new_tokens": new_tokens}
    return to_measurement(workload, Settings(BACKEND, "fp32", batch, threads), stop, timing, effective, extra=extra)
