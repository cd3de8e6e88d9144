"""``nnspeed.study``: the usual claims about what makes networks fast or slow, judged here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .._files import write_text
from ..axes import int_values, split
from ..claims.run import CHECKS, run_study
from ..claims.verdicts import ClaimResult
from ..errors import InputError
from ..store.store import Store
from .events import QUIET, Events
from .results import StudyResult


@dataclass(frozen=True, kw_only=True)
class StudyRequest:
    """Measure each claim (all, or the numbers in ``claims``: "1,5,12" or [1, 5, 12]) on this
    machine and judge it supported, refuted or inconclusive from 95% confidence intervals.
    Stores every measurement and writes ``claims.json`` and ``report.html`` to ``out_dir``."""

    quick: bool = False
    out_dir: str | Path = "nnspeed-study"
    claims: str | Iterable[int] | None = None
    command: str = "nnspeed study"

    def validate(self) -> tuple[set[int] | None, Path]:
        """The claims to check (None: all) and the output folder."""
        if isinstance(self.claims, str):
            only = set(int_values(split(self.claims, "--claims"), "--claims")) if self.claims else None
        else:
            only = set(self.claims) if self.claims else None
        if only and not only <= set(range(1, len(CHECKS) + 1)):
            raise InputError(f"--claims takes numbers from 1 to {len(CHECKS)}")
        out_dir = Path(self.out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise InputError(f"--out {out_dir} is a file; give a directory")
        return only, out_dir


def run(request: StudyRequest, *, store: Store | str | None = None, events: Events = QUIET) -> StudyResult:
    """Check the claims, store every measurement and write the files; ``events`` hears each
    claim as it starts, each measurement and each verdict."""
    r = request
    from ..measure import invariants
    from ..report.html import render

    only, out_dir = r.validate()
    db = Store.of(store)
    doc, s = run_study(
        r.quick,
        only,
        lambda cid, text: events.progress(f"claim {cid}/{len(CHECKS)}: {text}"),
        lambda c: events.finished(verdict_line(c), ok=c.verdict != "refuted"),
        events.progress,
    )
    run_id = db.save_run("study", r.command, s.measurements, documents={"claims": doc})
    doc = {"run_id": run_id, **doc}
    invariants.attach(doc)  # the file carries the check, as the result will
    run, ms = db.get_run(run_id)
    claims_path = write_text(out_dir / "claims.json", json.dumps(doc, indent=2, default=str) + "\n")
    report_path = write_text(out_dir / "report.html", render(run, ms, claims=doc))
    return StudyResult(doc, ms, paths={"claims": str(claims_path), "report": str(report_path)})


def verdict_line(c: ClaimResult) -> str:
    """A claim's verdict in one line, the verdict first."""
    return f"{c.verdict:>12}  {c.id:>2}. {c.claim}"


def study(*, store: Store | str | None = None, events: Events = QUIET, **options) -> StudyResult:
    """``nnspeed.study``: ``run`` on a ``StudyRequest`` of ``options``."""
    return run(StudyRequest(**options), store=store, events=events)
