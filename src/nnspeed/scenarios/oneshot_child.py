"""One repeat of the Keras tutorial's timing, in its own process, step by step as the tutorial
does it: build each model from code (random weights, ``input_shape`` on the first layer) when
it is first used, make ``tf.random.normal((batch, inputs))``, call the model once, then time
one eager ``model(x)`` between two ``time.time()`` readings.  A LiteRT arm converts its model
in the process with ``TFLiteConverter.from_keras_model`` (``Optimize.DEFAULT`` for
dynamic-range int8), opens an Interpreter on the bytes, sets the input, invokes once, then
times one ``invoke()``.  Arms run in the order given; later arms reuse the models built
before them, as one script would.  Prints {label: ms} as JSON on the last line.

Run by path (``python oneshot_child.py ARMS.json``), so it imports only TensorFlow, Keras and
LiteRT, nothing of nnspeed, as a tutorial script does.
"""

import contextlib
import json
import sys
import time
import warnings


def build(spec: dict):
    """The tutorial's Dense stack: ``depth`` hidden layers, the first given ``input_shape``."""
    import keras

    layers = [keras.layers.Dense(spec["units"], activation=spec["act"], input_shape=(spec["inputs"],))]
    layers += [keras.layers.Dense(spec["units"], activation=spec["act"]) for _ in range(spec["depth"] - 1)]
    layers.append(keras.layers.Dense(spec["classes"], activation="softmax"))
    return keras.Sequential(layers)


def keras_ms(model, batch: int, inputs: int) -> float:
    import tensorflow as tf

    x = tf.random.normal((batch, inputs))
    model(x)  # the warm-up call
    start = time.time()
    model(x)
    return (time.time() - start) * 1e3


def tflite_ms(model, quantization: str, batch: int, inputs: int) -> float:
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantization == "dynamic-int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints what it saved
        content = converter.convert()
    interpreter = Interpreter(model_content=content)
    d = interpreter.get_input_details()[0]
    if batch != d["shape"][0]:
        interpreter.resize_tensor_input(d["index"], [batch, inputs])
    interpreter.allocate_tensors()
    interpreter.set_tensor(d["index"], tf.random.normal((batch, inputs)).numpy())
    interpreter.invoke()  # the warm-up call
    start = time.time()
    interpreter.invoke()
    return (time.time() - start) * 1e3


def main() -> None:
    warnings.simplefilter("ignore")  # Keras 3 advises keras.Input over input_shape
    with open(sys.argv[1]) as f:
        arms = json.load(f)
    models: dict = {}
    out = {}
    for a in arms:
        spec = a["model"]
        if spec["name"] not in models:
            models[spec["name"]] = build(spec)
        model = models[spec["name"]]
        if a["kind"] == "keras":
            out[a["label"]] = keras_ms(model, a["batch"], spec["inputs"])
        else:
            out[a["label"]] = tflite_ms(model, a["quantization"], a["batch"], spec["inputs"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
