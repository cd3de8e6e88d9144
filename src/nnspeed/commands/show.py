"""``nnspeed show``: one stored run as a document: its results, its own documents, its machine."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.store import Store
from .events import QUIET, Events


@dataclass(frozen=True)
class ShowResult:
    """A stored run as ``show --json`` prints it (``to_dict()``), with its id at hand."""

    document: dict

    @property
    def run_id(self) -> str:
        return self.document["run_id"]

    def to_dict(self) -> dict:
        return dict(self.document)


@dataclass(frozen=True, kw_only=True)
class ShowRequest:
    """The stored run ``run_id`` (or a unique prefix), with every per-call sample if ``samples``."""

    run_id: str
    samples: bool = False

    def validate(self) -> None:
        """Nothing to check before the store is read: the store says whether the run exists."""


def run(request: ShowRequest, *, store: Store | str | None = None, events: Events = QUIET) -> ShowResult:
    """The ``show --json`` document: each result as ``bench --json`` gives it (with its samples
    when asked), and every document the command stored with it (a study's claims, an optimize
    or capacity result, ...)."""
    request.validate()
    db = Store.of(store, writable=False)
    found, ms = db.get_run(request.run_id)
    return ShowResult(
        {
            "run_id": found["id"],
            "created_at": found["created_at"],
            "command": found["command"],
            "env": found["env"],
            "results": [m.to_dict(samples=request.samples) for m in ms],
            "documents": db.documents(found["id"]),
        }
    )


def show(run_id: str, store: Store | str | None = None, samples: bool = False) -> dict:
    """The ``show --json`` document of ``run`` on a ``ShowRequest``."""
    return run(ShowRequest(run_id=run_id, samples=samples), store=store).to_dict()
