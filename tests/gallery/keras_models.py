"""A Keras functional model with two inputs, written as a .keras file."""

from __future__ import annotations

from pathlib import Path


def save_two_input_keras(path: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((16, 16, 3), name="image")
    meta = keras.Input((4,), name="meta")
    h = keras.layers.Conv2D(8, 3, activation="relu")(image)
    h = keras.layers.GlobalAveragePooling2D()(h)
    m = keras.layers.Dense(8, activation="relu")(meta)
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()([h, m]))
    keras.Model([image, meta], out).save(path)
    return path
