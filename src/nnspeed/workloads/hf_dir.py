"""``hf:DIR``: a Hugging Face model directory (what ``save_pretrained`` wrote), loaded offline
with the class its task needs, and called with the inputs that task takes.

The task comes from ``hf:DIR?task=NAME`` when given, else from the config's ``architectures``
(``BertModel`` → an encoder, ``…ForSequenceClassification``, ``…ForCausalLM``, …). Text inputs
come from the directory's own tokenizer on real English sentences (padded to ``seq_len`` tokens,
with their attention mask), or, without a tokenizer, from seeded token ids with a full mask;
images are seeded pixel values at the model's own size.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np

from .._silence import quiet_transformers
from ..errors import SourceError, reason
from .signature import Example, adapt
from .text import row_batches, tokenized_sentences
from .workload import InputSpec, Workload, default_fill, random_inputs

# Tokens per sequence when the source does not say (hf:DIR?seq_len=N).
DEFAULT_SEQ_LEN = 128
MAX_SEQ_LEN = 8192


@dataclass(frozen=True)
class Task:
    name: str
    auto_class: str  # the transformers Auto class that loads it
    suffixes: tuple[str, ...]  # architecture name endings that mean this task


TASKS = {
    t.name: t
    for t in (
        Task("causal-lm", "AutoModelForCausalLM", ("ForCausalLM", "LMHeadModel")),
        Task("seq2seq-lm", "AutoModelForSeq2SeqLM", ("ForConditionalGeneration",)),
        Task("masked-lm", "AutoModelForMaskedLM", ("ForMaskedLM",)),
        Task("sequence-classification", "AutoModelForSequenceClassification", ("ForSequenceClassification",)),
        Task("token-classification", "AutoModelForTokenClassification", ("ForTokenClassification",)),
        Task("question-answering", "AutoModelForQuestionAnswering", ("ForQuestionAnswering",)),
        Task("image-classification", "AutoModelForImageClassification", ("ForImageClassification",)),
        Task("feature-extraction", "AutoModel", ("Model",)),
    )
}
KEYS = ("task", "seq_len")


def parse_hf(spec: str) -> tuple[Path, dict]:
    """``DIR?task=…&seq_len=…`` → the directory and its keys (validated)."""
    path_text, _, query = spec.partition("?")
    keys: dict = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k not in KEYS:
            raise SourceError(f"hf: has no key '{k}'; its keys are task and seq_len")
        keys[k] = v
    if "task" in keys and keys["task"] not in TASKS:
        raise SourceError(f"hf: task '{keys['task']}' is not one of {', '.join(TASKS)}")
    if "seq_len" in keys:
        try:
            keys["seq_len"] = int(keys["seq_len"])
        except ValueError:
            raise SourceError(f"hf: seq_len must be a whole number, got '{keys['seq_len']}'") from None
        if not 1 <= keys["seq_len"] <= MAX_SEQ_LEN:
            raise SourceError(f"hf: seq_len must be between 1 and {MAX_SEQ_LEN}, got {keys['seq_len']}")
    return Path(path_text).expanduser(), keys


def with_keys(source: str, task: str | None = None, seq_len: int | None = None) -> str:
    """An hf: source with ``task`` and ``seq_len`` set (what ``--task`` / ``--seq-len`` give);
    other sources are returned as they are."""
    if not source.startswith("hf:") or (task is None and seq_len is None):
        return source
    path, keys = parse_hf(source[3:])
    keys.update({k: v for k, v in (("task", task), ("seq_len", seq_len)) if v is not None})
    source = _source(path, keys)
    parse_hf(source[3:])  # the same checks as keys given in the source
    return source


def _source(path: Path, keys: dict) -> str:
    return f"hf:{path}" + ("?" + "&".join(f"{k}={v}" for k, v in sorted(keys.items())) if keys else "")


def model_class(t, config, given: str | None) -> tuple[object, str, str]:
    """The class to load, the task's name and where it came from: the source's key; else the
    config's first architecture, by its name's ending, or the class of that name itself when
    the ending is none of the tasks' (…ForPreTraining, …ForMultipleChoice); else the bare model."""
    if given:
        return getattr(t, TASKS[given].auto_class), given, "given"
    for arch in getattr(config, "architectures", None) or []:
        for task in TASKS.values():
            if any(arch.endswith(s) for s in task.suffixes):
                return getattr(t, task.auto_class), task.name, f"config.architectures ({arch})"
        if hasattr(t, arch):
            return getattr(t, arch), arch, f"config.architectures ({arch})"
    return t.AutoModel, "feature-extraction", "default (the config names no architecture)"


def load_hf(spec: str) -> Workload:
    path, keys = parse_hf(spec)
    if not (path / "config.json").is_file():
        raise SourceError(
            f"hf:{path} is not a Hugging Face model directory (no config.json there); "
            "give the folder that save_pretrained wrote"
        )
    t = quiet_transformers()
    try:
        config = t.AutoConfig.from_pretrained(path, local_files_only=True)
    except Exception as e:
        raise SourceError(f"hf:{path} has a config.json transformers cannot read ({reason(e)})") from None
    cls, task, task_from = model_class(t, config, keys.get("task"))
    try:
        model, info = cls.from_pretrained(path, local_files_only=True, output_loading_info=True)
    except Exception as e:
        raise SourceError(
            f"hf:{path} could not be loaded for the task {task} ({reason(e)}); "
            f"give the task with hf:{path}?task=NAME (one of {', '.join(TASKS)})"
        ) from None
    model.eval()
    notes = []
    missing = list(info.get("missing_keys") or [])
    if missing:  # a head the directory does not hold: random weights, not the saved model
        notes.append(
            f"{len(missing)} weights of {type(model).__name__} are not in {path} and were freshly initialised "
            f"(e.g. {missing[0]}): the timed model is not quite the one saved; give the task the directory was "
            "saved for (hf:DIR?task=NAME)"
        )
    modality = _modality(model, config, path)
    tokenizer = _tokenizer(t, path) if modality != "image" else None
    limit = context_length(config)
    seq_len = keys.get("seq_len", min(DEFAULT_SEQ_LEN, limit or DEFAULT_SEQ_LEN))
    if modality != "image" and limit is not None and seq_len > limit:
        raise SourceError(f"hf:{path} takes at most {limit} tokens; give seq_len={limit} or less")
    if modality == "image":
        specs, make = _image_inputs(config)
        seq_len = None
    else:
        specs, make = _text_inputs(model, config, tokenizer, seq_len, modality == "seq2seq")
    constants = {"use_cache": False} if "use_cache" in inspect.signature(model.forward).parameters else {}
    first = make(1, 0)  # every input goes by keyword, as transformers' models take them
    example = Example(list(first), list(first.values()), [True] * len(first), constants)
    wrapped, signature = adapt(model, example, f"check hf:{path}?task=… and seq_len=…")
    meta = {
        "task": task,
        "task_from": task_from,
        "model_class": type(model).__name__,
        "seq_len": seq_len,
        "inputs_from": "the directory's tokenizer on English sentences"
        if tokenizer is not None
        else "seeded random values",
        "tokenizer": tokenizer,
        "signature": signature,
        "notes": notes,
    }
    return Workload(
        source=_source(path, keys),
        name=path.name,
        inputs=specs,
        make_inputs=make,
        model=wrapped,
        real_data=tokenizer is not None,
        pool_size=32 if tokenizer is not None else 8,
        description=f"{type(model).__name__} ({task}) from {path}",
        meta=meta,
    )


def context_length(config) -> int | None:
    """The most tokens the model's position embeddings cover (None: no fixed limit)."""
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _modality(model, config, path: Path) -> str:
    """What the model reads, from its own main input: text, text with a decoder (seq2seq) or
    images."""
    main = getattr(model, "main_input_name", "input_ids")
    if main == "pixel_values":
        return "image"
    if main == "input_ids":
        return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "text"
    raise SourceError(
        f"hf:{path} takes '{main}' as its main input, which hf: sources do not make yet; wrap the model in a "
        "py: function with example_inputs(batch) that returns its inputs"
    )


def _tokenizer(t, path: Path):
    try:
        tokenizer = t.AutoTokenizer.from_pretrained(path, local_files_only=True)
        if not tokenizer.tokenize("The quick brown fox"):
            return None  # an empty stand-in, not the model's vocabulary
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        return tokenizer if tokenizer.pad_token is not None else None
    except Exception:
        return None  # a directory without a tokenizer: seeded token ids


def _text_inputs(model, config, tokenizer, seq_len: int, decoder: bool):
    accepted = inspect.signature(model.forward).parameters
    vocab = int(getattr(config, "vocab_size", None) or 100)
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in accepted and getattr(config, "type_vocab_size", 0):
        names.append("token_type_ids")
    if decoder:
        names.append("decoder_input_ids")
    specs = [InputSpec(n, (seq_len,), "int64", high=vocab, fill=default_fill(n, "int64")) for n in names]
    if tokenizer is None:
        return specs, functools.partial(random_inputs, specs)
    columns = tokenized_sentences(tokenizer, seq_len)
    if "decoder_input_ids" in names:
        columns["decoder_input_ids"] = columns["input_ids"]  # teacher forcing on the same text
    rows = len(columns["input_ids"])
    return specs, row_batches({n: columns.get(n, np.zeros((rows, seq_len), dtype=np.int64)) for n in names})


def _image_inputs(config):
    size = getattr(config, "image_size", 224)
    side = size if isinstance(size, int) else int(max(size))
    channels = int(getattr(config, "num_channels", 3))
    specs = [InputSpec("pixel_values", (channels, side, side), "float32")]
    return specs, functools.partial(random_inputs, specs)
