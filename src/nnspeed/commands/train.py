"""``nnspeed.train``: where a training step's time goes, variants, time to accuracy, streaming,
energy and data-parallel scaling."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..store.store import Store
from ..training.run import TrainOptions, train_run
from .events import QUIET, Events
from .results import TrainResult


@dataclass(frozen=True, kw_only=True)
class TrainRequest:
    """Time training steps of ``source`` (a torch model), phase by phase, for every variant the
    options ask for (precisions, batch sizes, torch.compile, channels-last, data-loader
    workers), with samples/s, energy, and optionally time to accuracy, a streaming run and
    data-parallel scaling.  ``report``: also write the HTML report there."""

    source: str
    options: TrainOptions = field(default_factory=TrainOptions)
    report: str | Path | None = None
    command: str = "nnspeed train"

    def validate(self) -> None:
        self.options.plan()


def run(request: TrainRequest, *, store: Store | str | None = None, events: Events = QUIET) -> TrainResult:
    """Time the request's training, store the run; ``events`` hears each variant as it starts."""
    r = request
    r.validate()
    db = Store.of(store)
    doc = train_run(r.source, r.options, db, r.command, events.progress)
    run, stored = db.get_run(doc["run_id"])
    if r.report is not None:
        from .._files import write_text
        from ..report.html import render

        doc["report"] = str(write_text(Path(r.report), render(run, stored, train=doc)))
    return TrainResult(doc, stored)


def train(
    source: str,
    options: TrainOptions | None = None,
    *,
    report: str | Path | None = None,
    store: Store | str | None = None,
    events: Events = QUIET,
    command: str = "nnspeed train",
    **settings,
) -> TrainResult:
    """``nnspeed.train``: ``run`` on a ``TrainRequest``.  Options come as a ``TrainOptions`` or as
    its fields by keyword (``nnspeed.train("zoo:digits-cnn", data="digits", steps=50)``)."""
    if options is not None and settings:
        raise TypeError("give a TrainOptions or its fields as keywords, not both")
    return run(
        TrainRequest(source=source, options=options or TrainOptions(**settings), report=report, command=command),
        store=store,
        events=events,
    )
