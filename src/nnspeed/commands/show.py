"""``nnspeed show``: one stored run as a document: its results, its own documents, its machine."""

from __future__ import annotations

from ..store.store import Store


def show(run_id: str, store: Store | str | None = None, samples: bool = False) -> dict:
    """The ``show --json`` document of the stored run ``run_id`` (or a unique prefix): each
    result as ``bench --json`` gives it (with its samples when asked), and every document the
    command stored with it (a study's claims, an optimize or capacity result, ...)."""
    db = Store.of(store, writable=False)
    run, ms = db.get_run(run_id)
    return {
        "run_id": run["id"],
        "created_at": run["created_at"],
        "command": run["command"],
        "env": run["env"],
        "results": [m.to_dict(samples=samples) for m in ms],
        "documents": db.documents(run["id"]),
    }
