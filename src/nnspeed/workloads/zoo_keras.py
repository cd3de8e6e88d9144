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


def _digits_mlp(keras, v):
    return [
        keras.layers.Flatten(),
        keras.layers.Dense(v["width"], activation="relu"),
        keras.layers.Dense(v["width"], activation="relu"),
        keras.layers.Dense(CLASSES),
    ]


def _digits_cnn(keras, v):
    w = v["width"]

    def block(c):
        return [
            keras.layers.Conv2D(c, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
        ]

    return [
        keras.layers.Permute((2, 3, 1)),  # the torch models' N×1×8×8 images, channels last
        *block(w),
        *block(2 * w),
        keras.layers.MaxPooling2D(2),
        *block(2 * w),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(CLASSES),
    ]


def _trained_keras(name: str, layers, v: dict):
    """Trained once on the digits split the torch models use (same seed, epochs, batch and
    learning rate), cached by architecture, recipe and versions; later loads are instant."""
    import hashlib
    import warnings

    import keras
    import numpy as np

    from .._files import cache_dir, private_tmp
    from . import datasets
    from .zoo_trained import BATCH, EPOCHS, LR, digits_test_inputs

    split = datasets.digits()
    model = keras.Sequential([keras.Input((1, 8, 8), name="x"), *layers(keras, v)], name=name.replace("-", "_"))
    tag = hashlib.sha256(f"{name}|{sorted(v.items())}|{EPOCHS}|{BATCH}|{LR}|{keras.__version__}".encode()).hexdigest()
    path = cache_dir("trained") / f"{name}-{tag[:12]}.weights.h5"
    if path.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the optimizer's state saved beside the weights
            model.load_weights(str(path))
    else:
        model.compile(
            optimizer=keras.optimizers.Adam(LR),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(split.x_train, split.y_train, epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=0)
        tmp = private_tmp(path).with_suffix(".weights.h5")  # Keras insists on the suffix
        model.save_weights(str(tmp))
        tmp.replace(path)  # atomic: two processes training at once both end with a whole file
    logits = np.asarray(model(split.x_test, training=False))
    acc = float(np.mean(logits.argmax(-1) == split.y_test))
    return (model, *digits_test_inputs(split, acc))


entry(
    "keras-digits-mlp",
    "Keras MLP trained on scikit-learn's digits (the split of zoo:digits-mlp), cached once trained",
    "sklearn",
    framework="keras",
    width=Key(256, "hidden units"),
)(lambda v: _trained_keras("keras-digits-mlp", _digits_mlp, v))
entry(
    "keras-digits-cnn",
    "Keras conv net (conv+bn+relu x3) trained on scikit-learn's digits, cached once trained",
    "sklearn",
    framework="keras",
    width=Key(32, "channels of the first conv"),
)(lambda v: _trained_keras("keras-digits-cnn", _digits_cnn, v))
