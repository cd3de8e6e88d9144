"""``bench --scenario NAME``: the options each scenario needs, checked before anything runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..backends.base import Settings
from ..errors import InputError
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule

SCENARIOS = ("single-stream", "realtime", "server", "offline")
ENGINES = ("nnspeed", "loadgen")


@dataclass(frozen=True)
class ScenarioOptions:
    scenario: str = "single-stream"
    engine: str = "nnspeed"
    fps: float | None = None
    budget_ms: float | None = None
    drop_late: bool = False
    qps: float | None = None
    slo_p99_ms: float | None = None
    max_batch: int = 1
    max_wait_ms: float | None = None
    burstiness: float = 1.0
    seed: int = 0
    streams: int = 1


def _refuse(flag: str, scenario: str, allowed: str) -> None:
    raise InputError(f"{flag} applies to {allowed}, not --scenario {scenario}; drop it or change --scenario")


def scenario_runner(o: ScenarioOptions, stop: StopRule) -> Callable[[object, Settings], Measurement]:  # noqa: C901 (to be split)
    """A ``run(workload, settings)`` for the scenario, after checking its options."""
    from .single_stream import budget_or_fps

    if o.scenario not in SCENARIOS:
        raise InputError(f"unknown scenario '{o.scenario}'; choose from {', '.join(SCENARIOS)}")
    if o.engine not in ENGINES:
        raise InputError(f"unknown engine '{o.engine}'; choose from {', '.join(ENGINES)}")
    s = o.scenario
    if o.drop_late and s != "realtime":
        _refuse("--drop-late", s, "--scenario realtime")
    if s != "server":
        for flag, value, default in (
            ("--qps", o.qps, None),
            ("--slo-p99", o.slo_p99_ms, None),
            ("--max-batch", o.max_batch, 1),
            ("--max-wait-ms", o.max_wait_ms, None),
            ("--burstiness", o.burstiness, 1.0),
        ):
            if value != default:
                _refuse(flag, s, "--scenario server")
    if o.streams != 1 and s != "offline":
        _refuse("--streams", s, "--scenario offline")
    if o.engine == "loadgen":
        from .loadgen import loadgen_runner

        return loadgen_runner(o, stop)

    if s == "single-stream":
        from .single_stream import single_stream

        budget = budget_or_fps(o.budget_ms, o.fps)
        return lambda w, settings: single_stream(w, settings, stop, budget_ms=budget)
    if s == "realtime":
        from .realtime import check_fps, realtime

        if o.fps is None:
            raise InputError("--scenario realtime needs --fps N: the rate at which frames arrive")
        if o.budget_ms is not None:
            _refuse("--budget", s, "--scenario single-stream (a frame's deadline is 1000/fps ms)")
        fps = check_fps(o.fps)
        return lambda w, settings: realtime(w, settings, fps, stop, drop_late=o.drop_late)
    if s == "server":
        from .server import Batcher, Load, check_slo, server

        if o.qps is None:
            raise InputError("--scenario server needs --qps N: the mean rate at which requests arrive")
        if o.budget_ms is not None or o.fps is not None:
            _refuse("--budget/--fps", s, "--scenario single-stream or realtime (use --slo-p99 MS)")
        check_slo(o.slo_p99_ms)
        wait = o.max_wait_ms if o.max_wait_ms is not None else (1.0 if o.max_batch > 1 else 0.0)
        batcher = Batcher(o.max_batch, wait)
        load = Load(o.qps, stop.max_time, o.burstiness, o.seed)
        return lambda w, settings: server(w, settings, load, batcher, o.slo_p99_ms, stop)
    from .offline import offline

    if o.budget_ms is not None or o.fps is not None:
        _refuse("--budget/--fps", s, "--scenario single-stream or realtime")
    return lambda w, settings: offline(w, settings, stop, streams=o.streams)
