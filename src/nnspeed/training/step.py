"""One training step split into its phases, each timed by nnspeed's clock.

Phases: ``data`` (the next batch from the loader), ``h2d`` (to the device, channels-last
conversion), ``forward`` (model and loss), ``backward``, ``allreduce`` (gradients averaged
over processes, DDP only; 0 otherwise) and ``optimizer`` (step and zeroing the gradients).
On a GPU each phase ends with a synchronisation so its time is its own.

The phase marks (and, on a GPU, the syncs) change what they measure, so the step time is
measured apart: blocks of instrumented steps alternate with blocks of plain steps timed as a
whole, and the sum of the phase means is checked against the plain steps' mean.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..measure.clock import PerfCounterClock

PHASES = ("data", "h2d", "forward", "backward", "allreduce", "optimizer")
BLOCK = 10
LR = 3e-3
# The sum of the phase means and the plain step's mean must agree within this share.
ADDS_UP = 0.05


@dataclass(frozen=True)
class Recipe:
    """One training configuration (a variant)."""

    name: str
    batch: int
    precision: str = "fp32"
    compile: bool = False
    channels_last: bool = False
    workers: int = 0
    extra: dict = field(default_factory=dict)


def fresh_model(model, seed: int = 0):
    """A copy of ``model`` with every layer's parameters re-initialised from ``seed``."""
    import torch

    m = copy.deepcopy(model)
    torch.manual_seed(seed)
    for mod in m.modules():
        if hasattr(mod, "reset_parameters"):
            mod.reset_parameters()
    return m


def loss_for(out, y):
    """Cross-entropy for integer class labels, mean squared error for anything else."""
    import torch

    if y is None:
        return out.float().pow(2).mean()  # no labels: the same backward pass as any loss on out
    if not y.dtype.is_floating_point:
        return torch.nn.functional.cross_entropy(out.float(), y)
    return torch.nn.functional.mse_loss(out.float(), y.float())


class Trainer:
    """Model, optimizer, precision and device of one recipe; ``step`` runs one step."""

    def __init__(self, model, recipe: Recipe, device: str = "cpu", allreduce: Callable | None = None, lr: float = LR):
        import torch

        self.torch, self.recipe, self.allreduce = torch, recipe, allreduce
        self.device = torch.device(device)
        self.model = model.to(self.device).train()
        if recipe.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.forward = torch.compile(self.model) if recipe.compile else self.model
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(recipe.precision)
        if recipe.precision not in ("fp32", "bf16", "fp16"):
            raise InputError(f"unknown training precision '{recipe.precision}'; use fp32, bf16 or fp16")
        self.autocast = (self.device.type, dtype) if dtype else None
        self.scaler = torch.amp.GradScaler(self.device.type) if recipe.precision == "fp16" else None

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def step(self, batch, mark: Callable[[], None] = lambda: None) -> float:
        """One step on ``batch`` = (x, y) or (x,); ``mark()`` is called at the end of each phase
        after ``data`` (h2d, forward, backward, allreduce, optimizer).  Returns the loss."""
        torch = self.torch
        x, y = batch[0], (batch[1] if len(batch) > 1 else None)
        x = x.to(self.device, non_blocking=True)
        if self.recipe.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        y = y.to(self.device, non_blocking=True) if y is not None else None
        self.sync()
        mark()
        ctx = torch.autocast(*self.autocast) if self.autocast else contextlib.nullcontext()
        with ctx:
            loss = loss_for(self.forward(x), y)
        self.sync()
        mark()
        (self.scaler.scale(loss) if self.scaler else loss).backward()
        self.sync()
        mark()
        if self.allreduce is not None:
            self.allreduce(self.model)
            self.sync()
        mark()
        if self.scaler:
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.sync()
        mark()
        return float(loss.detach())


def measure_steps(trainer: Trainer, batches, steps: int, clock=None, warmup: int | None = None) -> dict:
    """Time ``steps`` steps: half instrumented (per phase), half plain (whole step), in
    alternating blocks after ``warmup`` untimed steps (the first one reported apart)."""
    if not isinstance(steps, int) or steps < 2:
        raise InputError(f"--steps must be a whole number ≥ 2, got {steps}")
    clock = clock or PerfCounterClock()
    it = iter(batches)
    a = clock.mark()
    trainer.step(next(it))
    first_s = clock.elapsed(a, clock.mark())
    warmup = warmup if warmup is not None else min(10, max(1, steps // 10))
    for _ in range(warmup):
        trainer.step(next(it))
    phases = {p: [] for p in PHASES}
    plain: list[float] = []
    instrumented = 0
    block = min(BLOCK, steps // 2)  # both kinds get about half of the steps
    while instrumented + len(plain) < steps:
        for _ in range(min(block, steps - instrumented - len(plain))):
            marks = [clock.mark()]
            b = next(it)
            marks.append(clock.mark())
            trainer.step(b, lambda: marks.append(clock.mark()))  # noqa: B023 (called within the step)
            for p, (s, e) in zip(PHASES, zip(marks, marks[1:])):
                phases[p].append(clock.elapsed(s, e))
            instrumented += 1
        for _ in range(min(block, steps - instrumented - len(plain))):
            a = clock.mark()
            trainer.step(next(it))
            plain.append(clock.elapsed(a, clock.mark()))
    return {
        "first_s": first_s,
        "phases": {p: np.asarray(v) for p, v in phases.items()},
        "plain": np.asarray(plain),
        "run": 1 + warmup + instrumented + len(plain),
    }


def breakdown(timed: dict, batch: int) -> dict:
    """Phase means, shares, the plain step and whether the phases add up to it (ms).  The check
    compares medians (instrumented step total against plain step), so one stalled step on a
    shared machine does not decide it."""
    means = {p: float(v.mean()) * 1e3 if v.size else 0.0 for p, v in timed["phases"].items()}
    total = sum(means.values())
    per_step = sum(timed["phases"].values())
    plain = timed["plain"] if timed["plain"].size else np.concatenate([per_step])
    step_ms = float(plain.mean()) * 1e3
    ratio = float(np.median(per_step) / np.median(plain)) if plain.size and np.median(plain) else float("nan")
    return {
        "step_ms": step_ms,
        "step_ms_p50": float(np.median(plain)) * 1e3,
        "step_ms_p99": float(np.percentile(plain, 99)) * 1e3,
        "breakdown_ms": means,
        "shares": {p: v / total if total else 0.0 for p, v in means.items()},
        "sum_over_step": ratio,
        "adds_up": bool(abs(ratio - 1) <= ADDS_UP),
        "samples_per_s": batch * 1e3 / step_ms if step_ms else float("nan"),
        "first_step_ms": timed["first_s"] * 1e3,
        "steps": {"instrumented": int(next(iter(timed["phases"].values())).size), "plain": int(plain.size)},
    }
