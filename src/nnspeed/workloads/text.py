"""Real English text shipped with the operating system or Python, split into sentences."""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

TEXT_DIRS = (Path("/usr/share/common-licenses"),)
MIN_WORDS, MAX_WORDS = 5, 60


def _files() -> list[Path]:
    files = []
    for d in TEXT_DIRS:
        if d.is_dir():
            files += sorted(p for p in d.iterdir() if p.is_file() and not p.is_symlink())
    # Python's own licence text is always there, wherever nnspeed runs.
    for p in (Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "LICENSE.txt",):
        if p.is_file():
            files.append(p)
    return files


@functools.cache
def sentences() -> tuple[str, ...]:
    """Distinct sentences of 5–60 words, in a fixed order."""
    seen, out = set(), []
    for path in _files():
        text = " ".join(path.read_text(errors="ignore").split())
        for s in re.split(r"(?<=[.!?])\s+", text):
            words = s.split()
            if MIN_WORDS <= len(words) <= MAX_WORDS and s not in seen and re.search(r"[a-z]", s):
                seen.add(s)
                out.append(s)
    return tuple(out)
