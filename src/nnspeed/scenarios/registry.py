"""Scenarios by name: how a configuration is called while it is timed.

A scenario declares which ``ScenarioOptions`` it reads, checks their values before anything
runs, and gives a ``run(workload, settings) -> Measurement``.  The built-in ones are registered
here; another package adds its own through the ``nnspeed.scenarios`` entry point group (the
entry point names a ``Scenario`` instance, or a class that makes one with no arguments).  Its
figures go in the measurement's ``extra`` under the scenario's name, and ``bench --json``,
``show --json`` and the report carry them as they are."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import ClassVar, Protocol

from ..backends.base import Settings
from ..errors import InputError
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule

ENGINES = ("nnspeed", "loadgen")
ENTRY_POINTS = "nnspeed.scenarios"


@dataclass(frozen=True, kw_only=True)
class ScenarioOptions:
    """How configurations are called while timed; each scenario reads the fields it declares."""

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

    # How each option is named on the command line, for the messages.
    FLAGS: ClassVar[dict[str, str]] = {
        "fps": "--fps",
        "budget_ms": "--budget",
        "drop_late": "--drop-late",
        "qps": "--qps",
        "slo_p99_ms": "--slo-p99",
        "max_batch": "--max-batch",
        "max_wait_ms": "--max-wait-ms",
        "burstiness": "--burstiness",
        "seed": "--seed",
        "streams": "--streams",
    }

    def given(self) -> list[str]:
        """The options set away from their defaults (``scenario`` and ``engine`` aside)."""
        return [
            f.name for f in fields(self) if f.name not in ("scenario", "engine") and getattr(self, f.name) != f.default
        ]


Run = Callable[[object, Settings], Measurement]


class Scenario(Protocol):
    """A way of calling a configuration while it is timed."""

    name: str
    summary: str  # one line for --help and listings
    reads: frozenset[str]  # the ScenarioOptions fields it uses; any other one given is refused
    hints: Mapping[str, str]  # option -> what to use instead here, added to the refusal

    def runner(self, options: ScenarioOptions, stop: StopRule) -> Run:
        """Check the options' values (without side effects) and return the scenario's run."""
        ...


class SingleStream:
    name = "single-stream"
    summary = "one call after another, each waited for (--budget or --fps: a latency budget)"
    reads = frozenset({"budget_ms", "fps"})
    hints: Mapping[str, str] = MappingProxyType({})

    def runner(self, options: ScenarioOptions, stop: StopRule) -> Run:
        from .single_stream import budget_or_fps, single_stream

        budget = budget_or_fps(options.budget_ms, options.fps)
        return lambda w, settings: single_stream(w, settings, stop, budget_ms=budget)


class Realtime:
    name = "realtime"
    summary = "frames arrive at --fps; misses, drops and the largest rate held"
    reads = frozenset({"fps", "drop_late"})
    hints: Mapping[str, str] = MappingProxyType({"budget_ms": "(a frame's deadline is 1000/fps ms)"})

    def runner(self, options: ScenarioOptions, stop: StopRule) -> Run:
        from .realtime import check_fps, realtime

        if options.fps is None:
            raise InputError("--scenario realtime needs --fps N: the rate at which frames arrive")
        fps = check_fps(options.fps)
        return lambda w, settings: realtime(w, settings, fps, stop, drop_late=options.drop_late)


class Server:
    name = "server"
    summary = "requests arrive at --qps (Poisson or burstier), with a dynamic batcher"
    reads = frozenset({"qps", "slo_p99_ms", "max_batch", "max_wait_ms", "burstiness", "seed"})
    hints: Mapping[str, str] = MappingProxyType({"budget_ms": "(use --slo-p99 MS)", "fps": "(use --slo-p99 MS)"})

    def runner(self, options: ScenarioOptions, stop: StopRule) -> Run:
        from .server import Batcher, Load, check_slo, server

        if options.qps is None:
            raise InputError("--scenario server needs --qps N: the mean rate at which requests arrive")
        check_slo(options.slo_p99_ms)
        wait = options.max_wait_ms if options.max_wait_ms is not None else (1.0 if options.max_batch > 1 else 0.0)
        batcher = Batcher(options.max_batch, wait)
        load = Load(options.qps, stop.max_time, options.burstiness, options.seed)
        return lambda w, settings: server(w, settings, load, batcher, options.slo_p99_ms, stop)


class Offline:
    name = "offline"
    summary = "all the work at once: throughput over batch sizes and --streams"
    reads = frozenset({"streams"})
    hints: Mapping[str, str] = MappingProxyType({})

    def runner(self, options: ScenarioOptions, stop: StopRule) -> Run:
        from .offline import offline

        return lambda w, settings: offline(w, settings, stop, streams=options.streams)


BUILT_IN: dict[str, Scenario] = {s.name: s for s in (SingleStream(), Realtime(), Server(), Offline())}


def refuse(option: str, scenario: Scenario, known: dict[str, Scenario]) -> None:
    """An option given to a scenario that does not read it."""
    flag = ScenarioOptions.FLAGS.get(option, option)
    users = [s.name for s in known.values() if option in s.reads]
    where = f"--scenario {' or '.join(users)}" if users else "no scenario"
    hint = scenario.hints.get(option, "")
    raise InputError(
        f"{flag} applies to {where}{' ' + hint if hint else ''}, not --scenario {scenario.name}; "
        "drop it or change --scenario"
    )


def scenarios() -> dict[str, Scenario]:
    """Every scenario that loads: the built-in ones, then those other packages register (a
    built-in name is not replaced; one that cannot be loaded is left out, and naming it says why)."""
    return loaded()[0]


def loaded() -> tuple[dict[str, Scenario], dict[str, str]]:
    """The scenarios that load, and why each registered one that does not cannot."""
    found: dict[str, Scenario] = dict(BUILT_IN)
    broken: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINTS):
        if ep.name in found:
            continue
        try:
            obj = ep.load()
            found[ep.name] = obj() if isinstance(obj, type) else obj
        except Exception as e:  # a broken extension must not stop the other scenarios
            broken[ep.name] = f"the scenario '{ep.name}' registered by {ep.value} cannot be loaded: {e}"
    return found, broken


def get_scenario(name: str) -> Scenario:
    return pick(name, *loaded())


def pick(name: str, found: dict[str, Scenario], broken: dict[str, str]) -> Scenario:
    """The scenario ``name`` among those ``loaded`` found, or why it cannot be had."""
    if name in broken:
        raise InputError(broken[name])
    if name not in found:
        raise InputError(f"unknown scenario '{name}'; choose from {', '.join(found)}")
    return found[name]


def scenario_runner(options: ScenarioOptions, stop: StopRule) -> Run:
    """A ``run(workload, settings)`` for the options' scenario, after checking them all."""
    if options.engine not in ENGINES:
        raise InputError(f"unknown engine '{options.engine}'; choose from {', '.join(ENGINES)}")
    known, broken = loaded()  # the entry points, read once
    scenario = pick(options.scenario, known, broken)
    for option in options.given():
        if option not in scenario.reads and option != "seed":  # a seed of no use harms nothing
            refuse(option, scenario, known)
    if options.engine == "loadgen":
        from .loadgen import loadgen_runner

        return loadgen_runner(options, stop)
    return scenario.runner(options, stop)
