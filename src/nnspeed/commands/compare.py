"""``nnspeed.compare_runs``: two stored runs matched configuration by configuration, with the
speedup of each and its confidence interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..measure.compare import compare_samples
from ..store.store import Store
from .events import QUIET, Events
from .results import CompareResult

KEY_FIELDS = ("source", "backend", "precision", "batch", "threads", "device")
APART_NOTE = (
    "these runs were measured apart: each interval sees only the noise inside its own run, not the drift of the "
    "machine between the runs (several percent on a shared machine), so a small speedup here may be the machine; "
    "measure them side by side instead: nnspeed check A B, or nnspeed bench … --interleave"
)


def _key(m, fields: tuple[str, ...]) -> str:
    """What must match between runs: the settings, plus backend options and, in a study, the
    claim and label (one configuration can serve several claims)."""
    parts = [f"{f}={getattr(m, f)}" for f in fields]
    options = m.requested.get("options") or {}
    parts += [f"{k}={v}" for k, v in sorted(options.items())]
    study = m.extra.get("study")
    if study:
        parts.append(f"claim={study['claim']}:{study['label']}")
    return " ".join(parts)


def _unique_keys(run_id: str, ms, fields: tuple[str, ...]) -> dict:
    out = {}
    for m in ms:
        k = _key(m, fields)
        if k in out:
            raise InputError(
                f"run {run_id} has more than one result for {k}; ignore fewer settings so each result is matched once"
            )
        out[k] = m
    return out


@dataclass(frozen=True, kw_only=True)
class CompareRequest:
    """The speedup of ``run_b`` over ``run_a`` (run ids, or unique prefixes) for every
    configuration both hold, with a bootstrap 95% CI from each side's per-call samples.
    ``ignore`` names settings that may differ between matched results (e.g. "backend")."""

    run_a: str
    run_b: str
    ignore: str | Sequence[str] = ""

    def validate(self) -> tuple[str, ...]:
        """The settings that must match between the two runs' results."""
        names = self.ignore.split(",") if isinstance(self.ignore, str) else list(self.ignore)
        ignored = {f.strip() for f in names if f.strip()}
        unknown = ignored - set(KEY_FIELDS)
        if unknown:
            raise InputError(
                f"--ignore takes {', '.join(KEY_FIELDS)}; '{', '.join(sorted(unknown))}' is not one of them"
            )
        return tuple(f for f in KEY_FIELDS if f not in ignored)


def compare_runs(
    run_a: str, run_b: str, ignore: str | Sequence[str] = "", store: Store | str | None = None
) -> CompareResult:
    """``nnspeed.compare_runs``: ``run`` on a ``CompareRequest``."""
    return run(CompareRequest(run_a=run_a, run_b=run_b, ignore=ignore), store=store)


def run(request: CompareRequest, *, store: Store | str | None = None, events: Events = QUIET) -> CompareResult:
    """Compare two stored runs (read only: nothing is measured or stored)."""
    fields = request.validate()
    run_a, run_b = request.run_a, request.run_b
    db = Store.of(store, writable=False)
    (ra, ma), (rb, mb) = db.get_run(run_a), db.get_run(run_b)
    by_key_a, by_key_b = _unique_keys(ra["id"], ma, fields), _unique_keys(rb["id"], mb, fields)
    pairs = [(k, by_key_a[k], m) for k, m in by_key_b.items() if k in by_key_a]
    if not pairs:
        raise InputError(
            f"runs {ra['id']} and {rb['id']} share no configuration; pass --ignore with the settings that differ "
            "(e.g. --ignore backend)"
        )
    cs = [compare_samples(k, a.samples, b.samples) for k, a, b in pairs]
    doc = {"baseline": ra["id"], "candidate": rb["id"], "note": APART_NOTE, "comparisons": [c.to_dict() for c in cs]}
    return CompareResult(doc, [m for _, a, b in pairs for m in (a, b)], comparisons=cs)
