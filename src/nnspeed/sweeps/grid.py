"""``--grid 'backend=a,b;batch=1,8;depth=2,4'`` → the cells of a sweep.

Axes named after a setting (backend, precision, batch, threads, device) vary the backend
settings; any other axis is a key of the zoo model (``depth``, ``width``, ``act``, …) and
makes a model variant.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass

from ..axes import int_values, split
from ..errors import InputError, SourceError

SETTING_AXES = ("backend", "precision", "batch", "threads", "device")
DEFAULTS = {"backend": "auto", "precision": "fp32", "batch": 1, "threads": None, "device": "cpu"}


@dataclass(frozen=True)
class Cell:
    index: int
    source: str
    backend: str
    precision: str
    batch: int
    threads: int | None
    device: str

    @property
    def key(self) -> str:
        """Identity of the cell within its sweep: what resuming matches on."""
        return f"{self.source}|{self.backend}|{self.precision}|b{self.batch}|t{self.threads or 'auto'}|{self.device}"

    def to_dict(self) -> dict:
        return asdict(self)


def parse_axes(text: str) -> dict[str, list[str]]:
    axes: dict[str, list[str]] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, eq, values = part.partition("=")
        name = name.strip()
        vals = split(values, f"--grid axis '{name}'")
        if not eq or not name or not vals:
            raise InputError(f"--grid part '{part}' is not of the form axis=v1,v2 (axes separated by ';')")
        if name in axes:
            raise InputError(f"--grid names the axis '{name}' twice; give all its values in one place")
        axes[name] = vals
    if not axes:
        raise InputError("--grid is empty; give axes like 'backend=torch-eager,onnxruntime;batch=1,8'")
    return axes


def _setting_values(name: str, vals: list[str]) -> list:
    if name in ("batch", "threads"):
        return int_values(vals, f"--grid axis '{name}'", allow_auto=name == "threads")
    return vals


def build_cells(source: str, grid_text: str) -> list[Cell]:
    """Every combination, model variants outermost, in a stable order."""
    from ..backends.registry import resolve_backend
    from ..workloads.registry import canonical, parse_zoo

    axes = parse_axes(grid_text)
    model_axes = {k: v for k, v in axes.items() if k not in SETTING_AXES}
    sources = [source]
    if model_axes:
        if not source.startswith("zoo:"):
            raise InputError(
                f"--grid axes {', '.join(model_axes)} are zoo keys, but {source} is not a zoo model; "
                f"vary only {', '.join(SETTING_AXES)}"
            )
        base, _, query = source[4:].partition("?")
        sources = []
        for combo in itertools.product(*model_axes.values()):
            extra = "&".join(f"{k}={v}" for k, v in zip(model_axes, combo))
            spec = f"{base}?{query + '&' if query else ''}{extra}"
            try:
                entry, values = parse_zoo(spec)
            except SourceError as e:
                raise InputError(f"--grid: {e}") from None
            sources.append(canonical(entry, values))
    settings = {k: _setting_values(k, axes[k]) if k in axes else [DEFAULTS[k]] for k in SETTING_AXES}
    cells = []
    for src in sources:
        for backend, *rest in itertools.product(*settings.values()):
            cells.append(Cell(len(cells), src, resolve_backend(backend, src), *rest))
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise InputError("--grid repeats a value on some axis; give each value once")
    return cells


def sweep_id(source: str, grid_text: str, fixed: dict) -> str:
    """Same arguments, same id: starting a sweep again resumes it."""
    axes = parse_axes(grid_text)
    doc = json.dumps({"source": source, "axes": axes, "fixed": fixed}, sort_keys=True)
    return "sweep-" + hashlib.sha256(doc.encode()).hexdigest()[:12]
