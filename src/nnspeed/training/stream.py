"""Streaming (online) training: samples arrive at a rate, the model is tested on each one and
then trained on it (prequential evaluation), in micro-batches as they arrive.

- arrivals: the training split replayed (shuffled, ``passes`` times) at ``rate`` samples/s;
- drift (optional) from the middle of the stream on: ``label`` maps class c to (c + 1) mod k,
  ``input`` inverts the inputs (x → 1 − x);
- update latency: from a sample's arrival to the end of the optimizer step that used it;
- backlog: samples arrived but not yet used, after each update;
- keeps up: the final backlog is at most one micro-batch, and the update rate is at least 95%
  of the arrival rate;
- recovery: samples after the drift until the windowed prequential accuracy is back to 90%
  of its level just before the drift.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..measure.clock import PerfCounterClock

DRIFTS = ("none", "label", "input")
WINDOW = 100
RECOVERED = 0.9
OVERRUN = 3.0


def stream_arrays(split_x, split_y, passes: int, drift: str, classes: int, seed: int = 0):
    """The stream's inputs and labels, and the index where the drift starts (None without)."""
    if drift not in DRIFTS:
        raise InputError(f"--drift must be one of {', '.join(DRIFTS)}, got '{drift}'")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(split_x)) for _ in range(passes)])
    x, y = split_x[order].copy(), split_y[order].copy()
    at = None
    if drift != "none":
        at = len(order) // 2
        if drift == "label":
            y[at:] = (y[at:] + 1) % classes
        else:
            x[at:] = 1.0 - x[at:]
    return x, y, at


def run_stream(trainer, x: np.ndarray, y: np.ndarray, rate: float, micro_batch: int, clock=None) -> dict:
    """Replay (x, y) at ``rate``/s; test-then-train in micro-batches of what has arrived."""
    import torch

    if not (rate > 0 and math.isfinite(rate)):
        raise InputError(f"--rate must be a positive number of samples per second, got {rate}")
    if not isinstance(micro_batch, int) or micro_batch < 1:
        raise InputError(f"--batch must be a whole number ≥ 1, got {micro_batch}")
    clock = clock or PerfCounterClock()
    n = len(x)
    t0 = clock.now() + 0.05
    arrival = t0 + np.arange(n) / rate
    stop_at = t0 + OVERRUN * n / rate + 5.0
    correct = np.zeros(n, dtype=bool)
    done_at = np.full(n, np.nan)
    backlog: list[list[float]] = []
    used = 0
    while used < n and clock.now() <= stop_at:
        clock.sleep_until(arrival[used])
        now = clock.now()
        arrived = int(np.searchsorted(arrival, now, side="right"))
        take = min(micro_batch, arrived - used)
        xb, yb = torch.from_numpy(x[used : used + take]), torch.from_numpy(y[used : used + take])
        model = trainer.model
        model.eval()
        with torch.inference_mode():
            correct[used : used + take] = (model(xb.to(trainer.device)).argmax(-1).cpu() == yb).numpy()
        model.train()
        trainer.step((xb, yb))
        end = clock.now()
        done_at[used : used + take] = end
        used += take
        backlog.append([end - t0, int(np.searchsorted(arrival, end, side="right")) - used])
    return summarize_stream(arrival, done_at, correct, backlog, rate, micro_batch)


def windowed(correct: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Prequential accuracy over the last ``window`` samples, at each sample."""
    c = np.cumsum(np.concatenate([[0], correct.astype(float)]))
    idx = np.arange(1, len(correct) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def summarize_stream(arrival, done_at, correct, backlog, rate, micro_batch) -> dict:
    used = ~np.isnan(done_at)
    n_used = int(used.sum())
    latency = (done_at - arrival)[used] * 1e3
    span = float(np.nanmax(done_at) - arrival[0]) if n_used else math.nan
    update_rate = n_used / span if n_used and span > 0 else 0.0
    final_backlog = backlog[-1][1] if backlog else len(arrival)
    acc = windowed(correct[used]) if n_used else np.array([])
    step = max(1, n_used // 200)
    return {
        "rate": rate,
        "micro_batch": micro_batch,
        "samples": len(arrival),
        "used": n_used,
        "update_rate": update_rate,
        "keeps_up": bool(final_backlog <= micro_batch and n_used == len(arrival) and update_rate >= 0.95 * rate),
        "final_backlog": final_backlog,
        "max_backlog": max((b[1] for b in backlog), default=0),
        "backlog": backlog[:: max(1, len(backlog) // 200)],
        "update_latency_ms": {k: float(v) for k, v in zip(("p50", "p90", "p99"), np.percentile(latency, [50, 90, 99]))}
        if n_used
        else None,
        "prequential_accuracy": float(correct[used].mean()) if n_used else None,
        "accuracy_curve": [[int(i + 1), float(acc[i])] for i in range(0, n_used, step)],
    }


def drift_figures(correct_curve: list, drift_at: int | None) -> dict:
    """Accuracy just before the drift, its low after it, and the samples it took to recover."""
    if drift_at is None or not correct_curve:
        return {"before": None, "lowest_after": None, "recovered_after": None}
    idx = np.array([c[0] for c in correct_curve])
    acc = np.array([c[1] for c in correct_curve])
    before_mask = idx <= drift_at
    before = float(acc[before_mask][-1]) if before_mask.any() else None
    after = idx > drift_at + WINDOW // 2
    lowest = float(acc[idx > drift_at].min()) if (idx > drift_at).any() else None
    recovered = None
    if before is not None and after.any():
        low_at = int(np.argmin(np.where(idx > drift_at, acc, np.inf)))
        back = np.nonzero((np.arange(len(idx)) > low_at) & (acc >= RECOVERED * before))[0]
        recovered = int(idx[back[0]] - drift_at) if back.size else None
    return {"before": before, "lowest_after": lowest, "recovered_after": recovered}
