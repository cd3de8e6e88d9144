"""Where nnspeed keeps files it can rebuild, and how it writes files others may be reading."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """A folder of rebuildable files (exports, trained weights, machine profiles)."""
    root = Path(os.environ.get("NNSPEED_CACHE", Path(tempfile.gettempdir()) / "nnspeed-cache"))
    d = root / kind
    d.mkdir(parents=True, exist_ok=True)
    return d


def private_tmp(path: Path) -> Path:
    """Where this process writes ``path`` before renaming it into place: its own file (two
    processes writing the same path at once each rename a whole one), and a name that globs
    for ``path``'s suffix do not match."""
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


def write_text(path: Path, text: str) -> Path:
    """Write atomically: a reader (or a process killed mid-write) never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = private_tmp(path)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
