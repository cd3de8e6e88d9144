"""The zoo's registry: ``zoo:NAME?key=value&…``, random weights unless said otherwise.

Every key is declared with its default and its allowed values, so an unknown key or a bad
value is an error that names the allowed ones, never silently ignored.  Model modules
(``zoo``, ``zoo_hf``, ``zoo_trained``, ``zoo_keras``) register their entries here; the package imports them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..errors import SourceError
from .workload import Workload, random_inputs

SEED = 0


@dataclass(frozen=True)
class Key:
    default: int | str
    help: str
    choices: tuple[str, ...] | None = None
    lo: int = 1
    hi: int = 65536

    def parse(self, model: str, name: str, raw: str) -> int | str:
        if self.choices is not None:
            if raw not in self.choices:
                raise SourceError(f"zoo:{model} key '{name}' must be one of {', '.join(self.choices)}, got '{raw}'")
            return raw
        try:
            value = int(raw)
        except ValueError:
            raise SourceError(f"zoo:{model} key '{name}' must be a whole number, got '{raw}'") from None
        if not self.lo <= value <= self.hi:
            raise SourceError(f"zoo:{model} key '{name}' must be between {self.lo} and {self.hi}, got {value}")
        return value


@dataclass(frozen=True)
class ZooEntry:
    name: str
    description: str
    keys: dict[str, Key]
    build: Callable[[dict], tuple]  # returns (model, inputs, make_inputs or None, extra fields)
    needs: str | None = None  # optional package, and the extra that installs it
    framework: str = "torch"  # or "keras": the model is a keras.Model


ZOO: dict[str, ZooEntry] = {}


def entry(name: str, description: str, needs: str | None = None, framework: str = "torch", **keys: Key):
    def register(fn):
        ZOO[name] = ZooEntry(name, description, keys, fn, needs, framework)
        return fn

    return register


def parse_zoo(spec: str) -> tuple[ZooEntry, dict]:
    """``mlp?depth=2`` → (entry, all keys with defaults filled in)."""
    name, _, query = spec.partition("?")
    if name not in ZOO:
        raise SourceError(f"unknown zoo model '{name}'; choose one of {', '.join(ZOO)} (see: nnspeed zoo)")
    e = ZOO[name]
    values = {k: key.default for k, key in e.keys.items()}
    for k, raw in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if k not in e.keys:
            allowed = ", ".join(e.keys) or "none"
            raise SourceError(f"zoo:{name} has no key '{k}'; its keys are: {allowed}")
        values[k] = e.keys[k].parse(name, k, raw)
    if query and not parse_qsl(query, keep_blank_values=True):
        raise SourceError(f"zoo:{name}?{query} is not of the form key=value&key=value")
    return e, values


def canonical(e: ZooEntry, values: dict) -> str:
    """The source string with only non-default keys, sorted: equal models, equal strings."""
    changed = [(k, v) for k, v in sorted(values.items()) if v != e.keys[k].default]
    return f"zoo:{e.name}" + ("?" + "&".join(f"{k}={v}" for k, v in changed) if changed else "")


def load_zoo(spec: str) -> Workload:
    e, values = parse_zoo(spec)
    if e.needs:
        from .._optional import require

        require(e.needs, e.needs, f"zoo:{e.name}")
    if e.framework == "keras":
        from .._tf import import_keras

        keras = import_keras(f"zoo:{e.name}")
        keras.utils.set_random_seed(SEED)
        model, inputs, make, extra = e.build(values)
        extra["keras_model"] = model
    else:
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            model, inputs, make, extra = e.build(values)
        extra["model"] = model.eval()
    source = canonical(e, values)
    make = make or functools.partial(random_inputs, inputs)
    meta = {"keys": values, **extra.pop("meta", {})}
    return Workload(
        source=source,
        name=e.name,
        inputs=inputs,
        make_inputs=make,
        description=e.description,
        meta=meta,
        **extra,
    )
