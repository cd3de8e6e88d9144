"""One repeat of tutorial-style timing, in its own process: for every arm, load the model,
call it once to warm up, then time one call with time.time().  Prints {label: ms} as JSON.

Run by path (``python oneshot_child.py ARMS.json``), so it imports only TensorFlow or LiteRT.
"""

import json
import sys
import time

import numpy as np


def keras_ms(path: str, batch: int, models: dict) -> float:
    import keras
    import tensorflow as tf

    if path not in models:
        models[path] = keras.saving.load_model(path)
    model = models[path]
    x = tf.random.normal((batch, *model.input_shape[1:]))
    model(x)  # the warm-up call
    start = time.time()
    model(x)
    return (time.time() - start) * 1e3


def tflite_ms(path: str, batch: int) -> float:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=path)
    d = it.get_input_details()[0]
    it.resize_tensor_input(d["index"], [batch, *d["shape"][1:]])
    it.allocate_tensors()
    x = np.random.default_rng().standard_normal((batch, *d["shape"][1:])).astype(d["dtype"])
    it.set_tensor(d["index"], x)
    it.invoke()  # the warm-up call
    start = time.time()
    it.invoke()
    return (time.time() - start) * 1e3


def main() -> None:
    with open(sys.argv[1]) as f:
        arms = json.load(f)
    models: dict = {}
    out = {}
    for a in arms:
        if a["kind"] == "keras":
            out[a["label"]] = keras_ms(a["path"], a["batch"], models)
        else:
            out[a["label"]] = tflite_ms(a["path"], a["batch"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
