"""Operator tables (microbenchmark samples) per machine and thread count: measured once, cached
by machine fingerprint, and carried to other machines inside ``nnspeed machine --export`` files.
"""

from __future__ import annotations

import json
from pathlib import Path

from .._files import cache_dir, write_text
from ..errors import InputError
from ..measure.environment import fingerprint
from .calibration import TRAIN_ROUNDS, measure_training, train_count, training_architectures, training_shapes
from .gp import require_gp
from .kernels import families
from .models import Models
from .sampling import measure_kernels, total_samples

OPERATORS_VERSION = 9


def cache_path(machine_id: str, threads: int) -> Path:
    return cache_dir("machines") / f"{machine_id}-operators-t{threads}.json"


def _valid(doc: dict) -> bool:
    return (
        doc.get("version") == OPERATORS_VERSION and set(families()) <= set(doc.get("samples", {})) and "training" in doc
    )


def operator_table(
    threads: int, refresh: bool = False, scale: float = 1.0, progress=lambda: None, on_total=lambda steps: None
) -> tuple[dict, bool]:
    """This machine's table at this thread count from the cache, or measured now: (doc, cached).
    ``on_total`` hears how many ``progress`` steps a measurement will take."""
    require_gp()
    env = fingerprint()
    path = cache_path(env["machine_id"], threads)
    if path.exists() and not refresh:
        doc = json.loads(path.read_text())
        if _valid(doc) and doc.get("scale", 1.0) >= scale:
            return doc, True
    archs = training_architectures(train_count(scale))
    priors = training_shapes(archs, threads)
    on_total(total_samples(scale, priors) + len(archs) * TRAIN_ROUNDS)
    samples = measure_kernels(threads, scale, progress=progress, priors=priors)
    parts = Models(samples)
    training = measure_training(parts, archs, threads, progress=progress)
    fitted = Models(samples, training, parts.fitted).fit_all()
    doc = {
        "version": OPERATORS_VERSION,
        "machine_id": env["machine_id"],
        "threads": threads,
        "scale": scale,
        "cpu": env.get("cpu"),
        "torch": env.get("torch"),
        "samples": samples,
        "training": training,
        "fitted": fitted,
    }
    write_text(path, json.dumps(doc))
    return doc, False


def cached_tables() -> dict[str, dict]:
    """Every table cached for this machine, keyed by thread count (as text, as JSON keys are)."""
    mid = fingerprint()["machine_id"]
    out = {}
    for p in sorted(cache_dir("machines").glob(f"{mid}-operators-t*.json")):
        doc = json.loads(p.read_text())
        if _valid(doc):
            out[str(doc["threads"])] = doc
    return out


def from_file(path: Path, threads: int) -> dict:
    """The table for ``threads`` from an exported machine profile."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise InputError(
            f"cannot read the machine profile {path} ({e}); give a file written by nnspeed machine --export"
        ) from None
    tables = doc.get("operators") if isinstance(doc, dict) else None
    if not tables:
        raise InputError(
            f"{path} holds no operator tables; on that machine run nnspeed machine --operators --export FILE"
        )
    table = tables.get(str(threads))
    if table is None or not _valid(table):
        have = ", ".join(sorted(tables)) or "none"
        raise InputError(
            f"{path} has operator tables for threads {have}, not {threads}; "
            f"run nnspeed machine --operators --threads {threads} --export FILE on that machine"
        )
    return table
