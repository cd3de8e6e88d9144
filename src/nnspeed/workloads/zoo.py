"""The built-in torch models: MLP, CNN, recurrent nets and a transformer encoder, with random
weights.  Importing this module registers them (``registry.entry``)."""

from __future__ import annotations

from ..errors import SourceError
from .registry import Key, entry
from .workload import InputSpec

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
        *block(3, w),
        *block(w, w),
        nn.MaxPool2d(2),
        *block(w, 2 * w),
        *block(2 * w, 2 * w),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * w, v["out"]),
    )
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
