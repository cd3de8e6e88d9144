"""Run every claim, keep going when one cannot be measured, and write claims.json."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import NnspeedError, reason
from ..measure.environment import fingerprint
from . import claims_keras, claims_model, claims_runtime, claims_use
from .context import Study
from .verdicts import CLAIMS, INCONCLUSIVE, ClaimResult

CHECKS = [
    claims_model.deeper_is_slower,
    claims_model.wider_is_slower,
    claims_model.activation_matters_less,
    claims_model.recurrent_is_slower,
    claims_runtime.batching_raises_throughput,
    claims_runtime.lower_precision_is_faster,
    claims_runtime.optimized_runtimes_win,
    claims_runtime.more_threads_are_faster,
    claims_use.training_costs_more,
    claims_use.pruning_and_quantization,
    claims_use.realtime_video,
    claims_use.llm_words_per_second,
    claims_keras.keras_deeper_is_slower,
    claims_keras.tflite_quantization_is_faster,
    claims_keras.keras_batching_raises_throughput,
]


def run_study(
    quick: bool,
    only: set[int] | None = None,
    on_claim: Callable[[int, str], None] | None = None,
    on_result: Callable[[ClaimResult], None] | None = None,
    on_measure: Callable[[str], None] | None = None,
) -> tuple[dict, Study]:
    """All claims in order (or those in ``only``); returns the claims document and the study."""
    s = Study(quick, on_measure)
    t0 = time.perf_counter()
    for cid, check in enumerate(CHECKS, start=1):
        if only and cid not in only:
            continue
        if on_claim:
            on_claim(cid, CLAIMS[cid])
        try:
            r = check(s)
        except NnspeedError as e:
            r = ClaimResult(cid, CLAIMS[cid], INCONCLUSIVE, {"error": str(e)}, f"could not be measured here: {e}")
        except Exception as e:  # one broken claim must not lose the others' measurements
            r = ClaimResult(
                cid,
                CLAIMS[cid],
                INCONCLUSIVE,
                {"error": f"{type(e).__name__}: {reason(e)}"},
                f"failed with an internal error ({type(e).__name__}); the other claims are unaffected",
            )
        s.results[cid] = r
        if on_result:
            on_result(r)
    doc = {
        "machine": fingerprint(),
        "mode": "quick" if quick else "full",
        "seconds": time.perf_counter() - t0,
        "claims": [r.to_dict() for r in s.results.values()],
    }
    return doc, s
