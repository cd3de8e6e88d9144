"""Built-in Keras models: the tutorial MLP, Dense(units, act) on 100 inputs, ``depth`` hidden
layers and a 10-way softmax.  Its weights are those of its torch twin ``zoo:mlp`` (random,
seeded), so the two compute the same function and framework against framework is a fair
comparison.  Importing this module registers the models; Keras is imported only when one is
loaded."""

from __future__ import annotations

from .registry import Key, entry
from .workload import InputSpec
from .zoo import ACTS

INPUTS = 100
CLASSES = 10


@entry(
    "keras-mlp",
    "Keras Sequential MLP: Dense(units, act) x depth on 100 inputs, Dense(10, softmax)",
    needs="tensorflow",
    framework="keras",
    depth=Key(4, "hidden layers", hi=256),
    units=Key(128, "units per hidden layer"),
    act=Key("relu", "activation", choices=ACTS),
)
def _keras_mlp(v):
    import keras

    layers = [keras.Input((INPUTS,), name="x")]
    layers += [keras.layers.Dense(v["units"], activation=v["act"]) for _ in range(v["depth"])]
    layers.append(keras.layers.Dense(CLASSES, activation="softmax"))
    model = keras.Sequential(layers, name="keras_mlp")
    twin = torch_twin(v)
    copy_torch_mlp_weights(twin.model, model)
    return model, [InputSpec("x", (INPUTS,), "float32")], None, {"meta": {"torch_twin": twin.source}}


def torch_twin(v: dict):
    """The torch ``zoo:mlp`` with the same layers as ``zoo:keras-mlp`` with keys ``v``."""
    from .registry import load_zoo

    return load_zoo(f"mlp?depth={v['depth']}&width={v['units']}&act={v['act']}&in={INPUTS}&out={CLASSES}")


def copy_torch_mlp_weights(torch_mlp, keras_mlp) -> None:
    """Give ``keras_mlp`` the weights of a torch ``zoo:mlp`` of the same shape (a Linear's
    weight is the transpose of a Dense kernel), so the two compute the same function."""
    import torch

    linears = [m for m in torch_mlp.modules() if isinstance(m, torch.nn.Linear)]
    dense = [layer for layer in keras_mlp.layers if layer.weights]
    if len(linears) != len(dense):
        raise ValueError(f"the torch model has {len(linears)} Linear layers and the Keras one {len(dense)} Dense")
    for lin, d in zip(linears, dense):
        d.set_weights([lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy()])
