"""``nnspeed report``: one self-contained HTML report of a stored run, whatever its kind."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..store.store import Store

# The documents a stored run may carry that have a section of the report, each filling the
# ``report.html.render`` keyword of its name.  A run of any other kind is reported from its results.
SECTIONS = ("claims", "optimize", "fleet", "adaptive", "capacity", "train")
# Documents shown as a table of their figures, for want of a section of their own.
FIGURES_ONLY = ("generate", "check", "predict_eval", "adaptive-capacity")


def report(run_id: str, output: str | Path = "report.html", store: Store | str | None = None) -> Path:
    """Write the report of the stored run ``run_id`` (or a unique prefix of one) to ``output``;
    returns the file written."""
    from .._files import write_text
    from ..report.html import render

    output = Path(output)
    if output.is_dir():
        raise InputError(f"output {output} is a directory; give a file name such as report.html")
    db = Store.of(store, writable=False)
    run, ms = db.get_run(run_id)
    failed = [c for c in db.cells(run["id"]) if c["status"] == "failed"]
    docs = db.documents(run["id"])
    sections = {name: docs[name] for name in SECTIONS if name in docs}
    plain = next(((name, docs[name]) for name in FIGURES_ONLY if name in docs), None)
    return write_text(output, render(run, ms, failed_cells=failed, document=plain, **sections))
