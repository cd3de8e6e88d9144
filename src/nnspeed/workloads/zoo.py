"""Built-in models: ``zoo:NAME?key=value&…``, random weights unless said otherwise.

Every key is declared with its default and its allowed values, so an unknown key or a bad
value is an error that names the allowed ones, never silently ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ..errors import SourceError
from .workload import InputSpec, Workload, random_inputs

SEED = 0


@dataclass(frozen=True)
class Key:
    default: int | str
    help: str
    choices: tuple[str, ...] | None = None
    lo: int = 1
    hi: int = 65536

    def parse(self, model: str, name: str, raw: str) -> int | str:
        if self.choices is not None:
            if raw not in self.choices:
                raise SourceError(
                    f"zoo:{model} key '{name}' must be one of {', '.join(self.choices)}, got '{raw}'"
                )
            return raw
        try:
            value = int(raw)
        except ValueError:
            raise SourceError(f"zoo:{model} key '{name}' must be a whole number, got '{raw}'") from None
        if not self.lo <= value <= self.hi:
            raise SourceError(f"zoo:{model} key '{name}' must be between {self.lo} and {self.hi}, got {value}")
        return value


@dataclass(frozen=True)
class ZooEntry:
    name: str
    description: str
    keys: dict[str, Key]
    build: Callable[[dict], tuple]  # returns (model, inputs, make_inputs or None, extra fields)
    needs: str | None = None  # optional package, and the extra that installs it


ZOO: dict[str, ZooEntry] = {}


def entry(name: str, description: str, needs: str | None = None, **keys: Key):
    def register(fn):
        ZOO[name] = ZooEntry(name, description, keys, fn, needs)
        return fn

    return register


def parse_zoo(spec: str) -> tuple[ZooEntry, dict]:
    """``mlp?depth=2`` → (entry, all keys with defaults filled in)."""
    name, _, query = spec.partition("?")
    if name not in ZOO:
        raise SourceError(f"unknown zoo model '{name}'; choose one of {', '.join(ZOO)} (see: nnspeed zoo)")
    e = ZOO[name]
    values = {k: key.default for k, key in e.keys.items()}
    for k, raw in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if k not in e.keys:
            allowed = ", ".join(e.keys) or "none"
            raise SourceError(f"zoo:{name} has no key '{k}'; its keys are: {allowed}")
        values[k] = e.keys[k].parse(name, k, raw)
    if query and not parse_qsl(query, keep_blank_values=True):
        raise SourceError(f"zoo:{name}?{query} is not of the form key=value&key=value")
    return e, values


def canonical(e: ZooEntry, values: dict) -> str:
    """The source string with only non-default keys, sorted: equal models, equal strings."""
    changed = [(k, v) for k, v in sorted(values.items()) if v != e.keys[k].default]
    return f"zoo:{e.name}" + ("?" + "&".join(f"{k}={v}" for k, v in changed) if changed else "")


def load_zoo(spec: str) -> Workload:
    e, values = parse_zoo(spec)
    if e.needs:
        from .._optional import require

        require(e.needs, e.needs, f"zoo:{e.name}")
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model, inputs, make, extra = e.build(values)
    model.eval()
    source = canonical(e, values)
    make = make or functools.partial(random_inputs, inputs)
    meta = {"keys": values, **extra.pop("meta", {})}
    return Workload(
        source=source,
        name=e.name,
        inputs=inputs,
        make_inputs=make,
        model=model,
        description=e.description,
        meta=meta,
        **extra,
    )


ACTS = ("relu", "gelu", "sigmoid", "tanh")


def _act(name: str):
    import torch.nn as nn

    return {"relu": nn.ReLU, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[name]()


@entry(
    "mlp",
    "multi-layer perceptron with a softmax head",
    depth=Key(4, "hidden layers", hi=256),
    width=Key(128, "units per hidden layer"),
    act=Key("relu", "activation", choices=ACTS),
    **{"in": Key(100, "input features"), "out": Key(10, "output classes")},
)
def _mlp(v):
    import torch.nn as nn

    layers, width_in = [], v["in"]
    for _ in range(v["depth"]):
        layers += [nn.Linear(width_in, v["width"]), _act(v["act"])]
        width_in = v["width"]
    layers += [nn.Linear(width_in, v["out"]), nn.Softmax(dim=-1)]
    return nn.Sequential(*layers), [InputSpec("x", (v["in"],), "float32")], None, {}


@entry(
    "cnn",
    "small conv net: 4 conv+bn+relu, 2 max-pools, global pool, linear head",
    width=Key(32, "channels of the first conv"),
    size=Key(32, "image side in pixels", lo=8, hi=1024),
    out=Key(10, "output classes"),
)
def _cnn(v):
    import torch.nn as nn

    w = v["width"]

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    model = nn.Sequential(
        *block(3, w), *block(w, w), nn.MaxPool2d(2),
        *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * w, v["out"]),
    )  # fmt: skip
    return model, [InputSpec("x", (3, v["size"], v["size"]), "float32")], None, {}


def _rnn(cell: str):
    def build(v):
        import torch.nn as nn

        class RNNClassifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(nn, cell)(v["in"], v["hidden"], v["layers"], batch_first=True)
                self.head = nn.Linear(v["hidden"], 10)

            def forward(self, x):
                # Initial states made from the input's shape keep the batch axis dynamic in ONNX.
                h0 = x.new_zeros(v["layers"], x.shape[0], v["hidden"])
                state = (h0, h0) if cell == "LSTM" else h0
                y, _ = self.rnn(x, state)
                return self.head(y[:, -1])

        return RNNClassifier(), [InputSpec("x", (v["seq"], v["in"]), "float32")], None, {}

    return build


_RNN_KEYS = dict(
    hidden=Key(128, "hidden units"),
    layers=Key(1, "stacked layers", hi=64),
    seq=Key(32, "time steps"),
    **{"in": Key(64, "input features per step")},
)
entry("lstm", "LSTM over a sequence, linear head on the last step", **_RNN_KEYS)(_rnn("LSTM"))
entry("gru", "GRU over a sequence, linear head on the last step", **_RNN_KEYS)(_rnn("GRU"))


@entry(
    "transformer",
    "transformer encoder (self-attention + MLP blocks), mean-pooled linear head",
    layers=Key(2, "encoder blocks", hi=256),
    dim=Key(128, "model width"),
    heads=Key(4, "attention heads", hi=256),
    seq=Key(64, "tokens"),
)
def _transformer(v):
    import torch.nn as nn

    if v["dim"] % v["heads"]:
        raise SourceError(f"zoo:transformer needs dim divisible by heads; {v['dim']} is not divisible by {v['heads']}")

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(v["dim"], v["heads"], 4 * v["dim"], dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, v["layers"], enable_nested_tensor=False)
            self.head = nn.Linear(v["dim"], 10)

        def forward(self, x):
            return self.head(self.encoder(x).mean(dim=1))

    return Encoder(), [InputSpec("x", (v["seq"], v["dim"]), "float32")], None, {}


# Models built from transformers' configurations live in zoo_hf; importing it registers them.
from . import zoo_hf, zoo_trained  # noqa: E402,F401
