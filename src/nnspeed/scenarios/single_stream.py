"""One call after another, each waited for: the latency a single user sees."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import InputError, ModelError, NnspeedError, reason
from ..measure.clock import Clock, CudaEventClock, PerfCounterClock
from ..measure.harness import run_timed
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from .record import to_measurement


def _model_error(e: Exception, workload) -> ModelError:
    hint = "check --input-shape / --input-dtype" if workload.source.startswith(("py:", "onnx:")) else "check the model"
    return ModelError(f"the model raised {type(e).__name__} when called ({reason(e)}); {hint}")


def check_outputs(arrays: list[np.ndarray]) -> None:
    for a in arrays:
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).sum())
            raise ModelError(
                f"the model returned {bad} NaN/inf values out of {a.size}; fix the model or its inputs "
                "(a reduced precision can overflow: try --precision fp32)"
            )


def runner_call(runner, workload, batch: int, pool: int | None = None) -> tuple[Callable[[int], None], int]:
    """``call(i)``: run the i-th prepared input batch (of a small pool) and wait for it.

    Inputs are prepared before any timing (at most ``pool`` of them, or the runner's own
    ``input_pool``); the first call's outputs
    are checked for NaN/inf, and a model's own exception becomes one clear ModelError.
    """
    pool = getattr(runner, "input_pool", None) or pool  # a runtime with one input buffer: see LiteRT
    raw = workload.batches(batch) if pool is None else [workload.make_inputs(batch, i) for i in range(pool)]
    batches = [runner.prepare(b) for b in raw]
    n = len(batches)
    checked = []
    run, sync = runner.run, runner.sync  # bound once: a lookup per call shows on µs models
    go = None
    invoker = getattr(runner, "invoker", None) if n == 1 else None
    if invoker is not None:  # one input, set once: each call is the runtime's own, no wrapper of ours
        try:
            go = invoker(batches[0])
        except Exception as e:
            raise _model_error(e, workload) from None

    def call(i: int) -> None:
        try:
            if go is None:
                out = run(batches[i % n])
                sync()
            else:
                out = go()
        except NnspeedError:
            raise
        except Exception as e:
            raise _model_error(e, workload) from None
        if not checked:
            check_outputs(runner.outputs(out))
            checked.append(True)

    return call, n


def default_clock(settings: Settings) -> Clock:
    return CudaEventClock() if settings.device == "cuda" else PerfCounterClock()


def single_stream(
    workload,
    settings: Settings,
    stop: StopRule,
    clock: Clock | None = None,
    budget_ms: float | None = None,
    on_sample: Callable[[int, float], None] | None = None,
) -> Measurement:
    """Measure one configuration: prepare the runner, time it, and return the record."""
    with opened(workload, settings) as runner:
        call, n = runner_call(runner, workload, settings.batch)
        clock = clock or default_clock(settings)
        timing = run_timed(call, stop, clock, on_sample=on_sample)
        memory = runner.memory()
        effective = dict(runner.effective)

    effective["input_pool"] = n
    return to_measurement(workload, settings, stop, timing, effective, memory, budget_ms)


def fps_to_budget(fps: float | None) -> float | None:
    if fps is None:
        return None
    if not fps > 0 or math.isinf(fps):
        raise InputError(f"--fps must be a positive number of frames per second, got {fps}")
    return 1000.0 / fps


def budget_or_fps(budget_ms: float | None, fps: float | None) -> float | None:
    """A latency budget in ms, given as one (``--budget``) or as a frame rate (``--fps``)."""
    if budget_ms is not None and fps is not None:
        raise InputError("give either a budget in ms or a frame rate, not both")
    if budget_ms is not None and not budget_ms > 0:
        raise InputError(f"--budget must be a positive number of milliseconds, got {budget_ms}")
    return budget_ms if budget_ms is not None else fps_to_budget(fps)
