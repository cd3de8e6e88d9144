"""``nnspeed.study``: the usual claims about what makes networks fast or slow, judged here."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from .._files import write_text
from ..axes import int_values, split
from ..claims.run import CHECKS, run_study
from ..claims.verdicts import ClaimResult
from ..errors import InputError
from ..store.store import Store
from .results import StudyResult


def study(
    quick: bool = False,
    out_dir: str | Path = "nnspeed-study",
    claims: str | Iterable[int] | None = None,
    store: Store | str | None = None,
    command: str = "nnspeed study",
    on_claim: Callable[[int, str], None] | None = None,
    on_result: Callable[[ClaimResult], None] | None = None,
    on_measure: Callable[[str], None] | None = None,
) -> StudyResult:
    """Measure each claim (all, or the numbers in ``claims``: "1,5,12" or [1, 5, 12]) on this
    machine and judge it supported, refuted or inconclusive from 95% confidence intervals.
    Stores every measurement and writes ``claims.json`` and ``report.html`` to ``out_dir``."""
    from ..measure import invariants
    from ..report.html import render

    if isinstance(claims, str):
        only = set(int_values(split(claims, "--claims"), "--claims")) if claims else None
    else:
        only = set(claims) if claims else None
    if only and not only <= set(range(1, len(CHECKS) + 1)):
        raise InputError(f"--claims takes numbers from 1 to {len(CHECKS)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a directory")
    db = Store.of(store)
    doc, s = run_study(quick, only, on_claim, on_result, on_measure)
    run_id = db.save_run("study", command, s.measurements, documents={"claims": doc})
    doc = {"run_id": run_id, **doc}
    invariants.attach(doc)  # the file carries the check, as the result will
    run, ms = db.get_run(run_id)
    claims_path = write_text(out_dir / "claims.json", json.dumps(doc, indent=2, default=str) + "\n")
    report_path = write_text(out_dir / "report.html", render(run, ms, claims=doc))
    return StudyResult(doc, ms, paths={"claims": str(claims_path), "report": str(report_path)})
