"""One training step split into its phases, each timed by nnspeed's clock.

Phases: ``data`` (the next batch from the loader), ``h2d`` (to the device, channels-last
conversion), ``forward`` (model and loss), ``backward``, ``allreduce`` (gradients averaged
over processes, DDP only; 0 otherwise) and ``optimizer`` (step and zeroing the gradients).
On a GPU each phase ends with a synchronisation so its time is its own.

The phase marks (and, on a GPU, the syncs) change what they measure, so the step time is
measured apart: instrumented steps alternate with plain steps timed as a whole, each pair in
a random order, so that neither kind always comes first and both see the same machine: on a
shared machine the load changes from one second to the next, and blocks of one kind would
each catch a different share of it.

Phases and step are reported on one statistic, the interquartile mean (IQM): the mean of the
steps between the 25th and 75th percentile.  For the phases the band is taken on each
instrumented step's total, and every phase is averaged over exactly those steps, so the
phases add up to the IQM of the instrumented step; the step is the IQM of the plain steps.
A stall on a shared machine falls outside the band instead of inflating a mean, and the
check that the phases add up to the step compares the figures that are displayed.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..measure.clock import PerfCounterClock
from ..measure.stats import NOISY_IQR_RATIO

PHASES = ("data", "h2d", "forward", "backward", "allreduce", "optimizer")
LR = 3e-3
# The phases (summed) and the plain step must agree within this share.
ADDS_UP = 0.05
STATISTIC = "interquartile mean of steps after warm-up"
QUARTILES = (25, 75)


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


def measure_steps(
    trainer: Trainer, batches, steps: int, clock=None, warmup: int | None = None, seed: int | None = None
) -> dict:
    """Time ``steps`` steps: half instrumented (per phase), half plain (whole step), after
    ``warmup`` untimed steps (the first one reported apart).  The two kinds alternate, each
    pair in an order drawn from ``seed`` (fresh when None), so whatever the machine does
    early, late or in between falls on both kinds alike."""
    if not isinstance(steps, int) or steps < 2:
        raise InputError(f"--steps must be a whole number ≥ 2, got {steps}")
    clock = clock or PerfCounterClock()
    rng = np.random.default_rng(seed)
    it = iter(batches)
    a = clock.mark()
    trainer.step(next(it))
    first_s = clock.elapsed(a, clock.mark())
    warmup = warmup if warmup is not None else min(10, max(1, steps // 10))
    for _ in range(warmup):
        trainer.step(next(it))
    phases: dict[str, list[float]] = {p: [] for p in PHASES}
    plain: list[float] = []
    order: list[str] = []

    def instrumented_step() -> None:
        marks = [clock.mark()]
        b = next(it)
        marks.append(clock.mark())
        trainer.step(b, lambda: marks.append(clock.mark()))
        for p, (s, e) in zip(PHASES, itertools.pairwise(marks)):
            phases[p].append(clock.elapsed(s, e))

    def plain_step() -> None:
        a = clock.mark()
        trainer.step(next(it))
        plain.append(clock.elapsed(a, clock.mark()))

    kinds = {"instrumented": instrumented_step, "plain": plain_step}
    while len(order) < steps:
        pair = ["instrumented", "plain"] if rng.random() < 0.5 else ["plain", "instrumented"]
        for kind in pair[: steps - len(order)]:
            order.append(kind)
            kinds[kind]()
    return {
        "first_s": first_s,
        "phases": {p: np.asarray(v) for p, v in phases.items()},
        "plain": np.asarray(plain),
        "run": 1 + warmup + len(phases["data"]) + len(plain),
        "warmup": warmup,
        "order": order,
    }


def iqm_band(x) -> np.ndarray:
    """Which of ``x`` lie between its 25th and 75th percentile (bounds included, linear
    interpolation): the samples an interquartile mean averages."""
    x = np.asarray(x, dtype=float)
    if not x.size:
        return np.zeros(0, dtype=bool)
    lo, hi = np.percentile(x, QUARTILES)
    return (x >= lo) & (x <= hi)


def iqm(x) -> float:
    """The interquartile mean of ``x``: the mean of the samples ``iqm_band`` selects."""
    x = np.asarray(x, dtype=float)
    return float(x[iqm_band(x)].mean()) if x.size else float("nan")


def mismatch_cause(step_ms: float, quartiles_ms: tuple[float, float]) -> str:
    """Why phases and step may disagree: steps that spread widely (another process on the
    cores) or steady steps (the marks themselves change what the phases take)."""
    q1, q3 = quartiles_ms
    if step_ms and (q3 - q1) / step_ms > NOISY_IQR_RATIO:
        return (
            f"the plain steps spread from {q1:.2f} to {q3:.2f} ms between their quartiles, so the machine "
            "was busy and the figures are noise; rerun on a quiet machine, with fewer --threads or more --steps"
        )
    return "the steps are steady, so timing the phases changed what they take"


def mismatch_line(name: str, parts_ms: float, step_ms: float, quartiles_ms: tuple[float, float]) -> str:
    """The warning for phases that do not add up to their step, with the figures and the
    likelier cause: steps that spread widely (another process on the cores) or the marks."""
    share = parts_ms / step_ms if step_ms else float("nan")
    cause = mismatch_cause(step_ms, quartiles_ms)
    return (
        f"{name}: phases add up to {parts_ms:.2f} ms, {100 * share:.0f}% of the "
        f"{step_ms:.2f} ms step ({STATISTIC}), outside ±{100 * ADDS_UP:.0f}%: {cause}"
    )


def breakdown(timed: dict, batch: int, name: str = "step") -> dict:
    """Phases and step on one statistic (``STATISTIC``), in ms, with shares, samples/s and
    whether the displayed phases add up to the displayed step; the stall-inclusive mean step
    and samples/s over the plain steps' whole time are kept apart (``step_ms_mean``,
    ``samples_per_s_overall``).  ``name`` labels the warning when they do not add up."""
    per_step = sum(timed["phases"].values())  # each instrumented step's total
    band = iqm_band(per_step)
    parts = {p: float(v[band].mean()) * 1e3 if v.size else 0.0 for p, v in timed["phases"].items()}
    total = sum(parts.values())
    plain = timed["plain"] if timed["plain"].size else np.asarray(per_step)
    step_ms = iqm(plain) * 1e3
    ratio = total / step_ms if step_ms else float("nan")
    adds_up = bool(abs(ratio - 1) <= ADDS_UP)
    q1, q3 = np.percentile(plain, QUARTILES) * 1e3
    return {
        "statistic": STATISTIC,
        "step_ms": step_ms,
        "step_ms_mean": float(plain.mean()) * 1e3,
        "step_ms_p50": float(np.median(plain)) * 1e3,
        "step_ms_p99": float(np.percentile(plain, 99)) * 1e3,
        "breakdown_ms": parts,
        "shares": {p: v / total if total else 0.0 for p, v in parts.items()},
        "sum_over_step": ratio,
        "adds_up": adds_up,
        "warnings": [] if adds_up else [mismatch_line(name, total, step_ms, (float(q1), float(q3)))],
        "mismatch_cause": None if adds_up else mismatch_cause(step_ms, (float(q1), float(q3))),
        "samples_per_s": batch * 1e3 / step_ms if step_ms else float("nan"),
        "samples_per_s_overall": batch * plain.size / float(plain.sum()) if plain.sum() else float("nan"),
        "first_step_ms": timed["first_s"] * 1e3,
        "steps": {
            "warmup": int(timed.get("warmup", 0)),
            "instrumented": int(per_step.size),
            "plain": int(plain.size),
            "in_band": {"instrumented": int(band.sum()), "plain": int(iqm_band(plain).sum())},
            "first_kind": (timed.get("order") or [None])[0],
        },
    }
