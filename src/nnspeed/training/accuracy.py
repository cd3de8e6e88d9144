"""Time to accuracy (the DAWNBench rule): training wall time until the held-out accuracy first
reaches the target.  Evaluation runs after every epoch on nnspeed's clock, and its time is
kept apart: it is not part of the time to accuracy."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..measure.clock import PerfCounterClock


def evaluate(model, loader, device) -> float:
    """Top-1 accuracy of ``model`` on ``loader`` (0–1)."""
    import torch

    was = model.training
    model.eval()
    right = total = 0
    with torch.inference_mode():
        for x, y in loader:
            pred = model(x.to(device)).argmax(-1).cpu()
            right += int((pred == y).sum())
            total += int(y.numel())
    model.train(was)
    return right / total if total else float("nan")


def time_to_accuracy(trainer, data, target: float, max_epochs: int, clock=None, on_epoch=None) -> dict:
    """Train epoch by epoch until the test accuracy reaches ``target`` (or ``max_epochs``)."""
    if not (0 < target <= 1):
        raise InputError(f"--target-accuracy must be a fraction in (0, 1], got {target}")
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise InputError(f"--max-epochs must be a whole number ≥ 1, got {max_epochs}")
    clock = clock or PerfCounterClock()
    train_s = eval_s = 0.0
    curve, reached, steps = [], None, 0
    for epoch in range(1, max_epochs + 1):
        a = clock.mark()
        for batch in data.train:
            trainer.step(batch)
            steps += 1
        trainer.sync()
        train_s += clock.elapsed(a, clock.mark())
        a = clock.mark()
        acc = evaluate(trainer.model, data.test, trainer.device)
        eval_s += clock.elapsed(a, clock.mark())
        curve.append([train_s, acc])
        if on_epoch:
            on_epoch(epoch, train_s, acc)
        if acc >= target:
            reached = epoch
            break
    return {
        "target": target,
        "seconds": train_s if reached else None,
        "eval_seconds": eval_s,
        "epochs": reached,
        "steps": steps,
        "best_accuracy": float(np.max([c[1] for c in curve])),
        "curve": curve,
        "reached": reached is not None,
    }
