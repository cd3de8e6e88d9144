"""``nnspeed.train``: where a training step's time goes, variants, time to accuracy, streaming,
energy and data-parallel scaling."""

from __future__ import annotations

from pathlib import Path

from ..store.store import Store
from ..training.run import TrainOptions, train_run
from .results import TrainResult


def train(
    source: str,
    options: TrainOptions | None = None,
    report: str | Path | None = None,
    store: Store | str | None = None,
    command: str = "nnspeed train",
    status=None,
    **settings,
) -> TrainResult:
    """Time training steps of ``source`` (a torch model), phase by phase, for every variant the
    options ask for (precisions, batch sizes, torch.compile, channels-last, data-loader
    workers), with samples/s, energy, and optionally time to accuracy, a streaming run and
    data-parallel scaling.  Options come as a ``TrainOptions`` or as its fields by keyword
    (``nnspeed.train("zoo:digits-cnn", data="digits", steps=50)``).  ``status`` is a context
    manager whose ``update(text)`` hears progress (a rich status, say)."""
    if options is not None and settings:
        raise TypeError("give a TrainOptions or its fields as keywords, not both")
    options = options or TrainOptions(**settings)
    db = Store.of(store)
    doc = train_run(source, options, db, command, status)
    run, stored = db.get_run(doc["run_id"])
    if report is not None:
        from .._files import write_text
        from ..report.html import render

        doc["report"] = str(write_text(Path(report), render(run, stored, train=doc)))
    return TrainResult(doc, stored)
