"""``nnspeed.check``: everything the command does, callable from Python and CI scripts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..axes import int_values, split
from ..backends.base import Settings
from ..backends.registry import before_load, check_backend
from ..errors import InputError
from ..gate.check import (
    CHECK_RULE,
    CheckResult,
    check_against,
    check_machine,
    check_pair,
    measure_in_rounds,
    pick_baseline,
    require_round_values,
)
from ..gate.conditions import Condition, check_statistic, parse_threshold
from ..measure.interleave import RoundRule
from ..store.store import Store
from ..workloads.sources import load
from .events import QUIET, Events

AXES = ("backend", "precision", "batch", "threads", "device")


def _axis_values(axes: dict[str, str | int]) -> dict[str, list]:
    values: dict[str, list] = {name: split(str(text), f"--{name}") for name, text in axes.items()}
    values["batch"] = int_values(values["batch"], "--batch")
    values["threads"] = int_values(values["threads"], "--threads", allow_auto=True)
    for b in values["backend"]:
        check_backend(b)
    return values


def _plan(sources: Sequence[str], values: dict[str, list], one: bool) -> list[tuple[str, Settings, str]]:
    """The arms: (source, settings, label).  Two sources share settings; one source with one
    setting given two values is that model under two settings."""
    varied = [a for a in AXES if len(values[a]) > 1]
    if any(len(values[a]) > 2 for a in AXES) or len(varied) > 1 or (varied and (one or len(sources) > 1)):
        raise InputError(
            "check compares two things: two sources with the same settings, or one source with one setting given "
            "two values (e.g. --backend torch-eager,onnxruntime)"
            + ("; against a baseline give one value per setting" if one else "")
        )
    first = {a: values[a][0] for a in AXES}
    if one:
        return [(sources[0], Settings(**first), sources[0])]
    if len(sources) == 2:
        labels = list(sources) if sources[0] != sources[1] else [f"A={sources[0]}", f"B={sources[1]}"]
        return [(src, Settings(**first), label) for src, label in zip(sources, labels)]
    if not varied:
        raise InputError(
            "check needs two things to compare: two sources (A B), one source under two settings "
            "(e.g. --precision fp32,bf16), or --baseline NAME"
        )
    axis = varied[0]
    return [
        (sources[0], Settings(**{**first, axis: v}), f"{sources[0]} {axis}={v if v is not None else 'auto'}")
        for v in values[axis]
    ]


@dataclass(frozen=True, kw_only=True)
class CheckRequest:
    """Is B slower than A by more than ``max_slowdown`` ("5%")?  ``sources`` is [A, B], or
    [A] under two values of one setting, or [SOURCE] with ``baseline`` (a stored name).

    Everything is validated, the baseline looked up and the machine checked before anything
    is measured, so bad input costs nothing and stores nothing.  The run is stored as kind
    ``check``; ``save_baseline`` names it for later checks."""

    sources: Sequence[str]
    max_slowdown: str | float = "5%"
    stat: str = "p50"
    backend: str = "torch-eager"
    precision: str = "fp32"
    batch: str | int = "1"
    threads: str | int = "auto"
    device: str = "cpu"
    baseline: str | None = None
    save_baseline: str | None = None
    any_machine: bool = False
    rule: RoundRule = CHECK_RULE
    command: str = "nnspeed check"
    load_options: dict | None = None
    seed: int = 0

    def validate(self) -> tuple[Condition, list[tuple[str, Settings, str]]]:
        """The condition and what is measured under which settings; nothing loaded or stored."""
        threshold = (
            self.max_slowdown if isinstance(self.max_slowdown, float) else parse_threshold(str(self.max_slowdown))
        )
        if threshold < 0:
            raise InputError(f"--max-slowdown must be 0% or more, got {100 * threshold:g}%")
        condition = Condition(check_statistic(self.stat), threshold)
        if not self.sources or len(self.sources) > 2:
            raise InputError(
                "check takes one or two sources: A B, or SOURCE with --baseline NAME or --save-baseline NAME"
            )
        alone = self.baseline is not None or (self.save_baseline is not None and len(self.sources) == 1)
        if self.baseline is not None and len(self.sources) != 1:
            raise InputError("--baseline compares one source with a stored run; give one source")
        values = _axis_values(
            dict(
                backend=self.backend,
                precision=self.precision,
                batch=self.batch,
                threads=self.threads,
                device=self.device,
            )
        )
        plan = _plan(self.sources, values, alone)
        return condition, plan


def run(request: CheckRequest, *, store: Store | str | None = None, events: Events = QUIET) -> CheckResult:
    """Measure, compare and store the check (``events``: not told of anything yet)."""
    r = request
    condition, plan = r.validate()
    db = Store.of(store)
    base_run = base_m = None
    if r.baseline is not None:
        base_run, stored = db.get_run(db.tagged(r.baseline))
        check_machine(base_run, r.any_machine)
        base_m = pick_baseline(base_run, stored, plan[0][1], plan[0][0])
        require_round_values(base_m, condition.statistic, r.baseline)
    options = {k: v for k, v in (r.load_options or {}).items() if v}
    before_load([settings for _, settings, _ in plan])  # TensorFlow takes its thread count when it starts
    workloads = {src: load(src, **options) for src in dict.fromkeys(src for src, _, _ in plan)}

    if len(plan) == 1:
        src, settings, _ = plan[0]
        current = measure_in_rounds(workloads[src], settings, condition.statistic, r.rule)
        if base_m is None or base_run is None or r.baseline is None:
            result = CheckResult(
                src,
                src,
                condition,
                "within",
                1.0,
                (1.0, 1.0),
                "saved as a baseline",
                None,
                [current, current],
                ["measured in rounds and saved; nothing compared"],
            )
        else:
            result = check_against(base_m, base_run, current, condition, r.baseline)
        measured = [current]
    else:
        (sa, xa, la), (sb, xb, lb) = plan
        result = check_pair(workloads[sa], workloads[sb], xa, xb, condition, r.rule, labels=(la, lb), seed=r.seed)
        measured = result.measurements
    doc = result.to_dict()
    doc.pop("results")
    result.run_id = db.save_run("check", r.command, measured, documents={"check": doc})
    if r.save_baseline is not None:
        db.tag(result.run_id, r.save_baseline)
        result.notes.append(f"saved as baseline '{r.save_baseline}' (run {result.run_id})")
    return result


def check(
    sources: Sequence[str], *, store: Store | str | None = None, events: Events = QUIET, **options
) -> CheckResult:
    """``nnspeed.check``: ``run`` on a ``CheckRequest`` of ``sources`` and ``options``."""
    return run(CheckRequest(sources=sources, **options), store=store, events=events)
