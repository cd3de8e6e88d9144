"""``nnspeed report``: one self-contained HTML report of a stored run, whatever its kind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..store.store import Store
from .events import QUIET, Events

# The documents a stored run may carry that have a section of the report, each filling the
# ``report.html.render`` keyword of its name.  A run of any other kind is reported from its results.
SECTIONS = ("claims", "optimize", "fleet", "adaptive", "capacity", "train")
# Documents shown as a table of their figures, for want of a section of their own.
FIGURES_ONLY = ("generate", "check", "predict_eval", "adaptive-capacity")


@dataclass(frozen=True, kw_only=True)
class ReportRequest:
    """The report of the stored run ``run_id`` (or a unique prefix of one), written to ``output``."""

    run_id: str
    output: str | Path = "report.html"

    def validate(self) -> Path:
        output = Path(self.output)
        if output.is_dir():
            raise InputError(f"output {output} is a directory; give a file name such as report.html")
        return output


def run(request: ReportRequest, *, store: Store | str | None = None, events: Events = QUIET) -> Path:
    """Write the report; returns the file written."""
    from .._files import write_text
    from ..report.html import render

    output = request.validate()
    db = Store.of(store, writable=False)
    found, ms = db.get_run(request.run_id)
    failed = [c for c in db.cells(found["id"]) if c["status"] == "failed"]
    docs = db.documents(found["id"])
    sections = {name: docs[name] for name in SECTIONS if name in docs}
    plain = next(((name, docs[name]) for name in FIGURES_ONLY if name in docs), None)
    return write_text(output, render(found, ms, failed_cells=failed, document=plain, **sections))


def report(run_id: str, output: str | Path = "report.html", store: Store | str | None = None) -> Path:
    """``run`` on a ``ReportRequest``."""
    return run(ReportRequest(run_id=run_id, output=output), store=store)
