"""The TensorFlow side's sources: ``keras:PATH`` (.keras or legacy .h5), ``tf:PATH`` (a
SavedModel directory) and ``tflite:PATH`` (a LiteRT flatbuffer).  Input specs come from the
model's own signature; symbolic dimensions are filled from ``--input-shape``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .._silence import quiet
from .._tf import import_keras, import_tf, interpreter_class
from ..errors import SourceError, reason
from .specs import match_inputs, parse_inputs, spec_from_dims
from .workload import InputSpec, Workload


def _dtype(d) -> str:
    return np.dtype(getattr(d, "as_numpy_dtype", d)).name


def _specs(entries: list[tuple[str, list, str]], input_shape: str | None) -> list[InputSpec]:
    given = match_inputs(parse_inputs(input_shape), [n for n, _, _ in entries])
    return [spec_from_dims(n, dims, dt, g) for (n, dims, dt), g in zip(entries, given)]


def keras_specs(model, input_shape: str | None = None) -> list[InputSpec]:
    entries = []
    for k, t in enumerate(model.inputs):
        name = getattr(t, "name", None) or f"input{k}"
        entries.append((name.split(":")[0], list(t.shape), _dtype(t.dtype)))
    return _specs(entries, input_shape)


def load_keras(path_text: str, input_shape: str | None = None) -> Workload:
    keras = import_keras("a keras: source")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise SourceError(f"no Keras file at '{path_text}'; check the path (a .keras file, or a legacy .h5)")
    if path.suffix not in (".keras", ".h5", ".hdf5"):
        raise SourceError(f"'{path_text}' is not a .keras or .h5 file; save the model with model.save('model.keras')")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):  # Keras itself says "File not found"
        raise SourceError(
            f"'{path_text}' is not a Keras model (a .keras file is a zip archive; this one is not); "
            "save the model with model.save('model.keras')"
        )
    try:
        model = quiet(lambda: keras.saving.load_model(str(path), compile=False))
    except Exception as e:
        raise SourceError(
            f"'{path_text}' is not a Keras model Keras can load ({reason(e, 160)}); save it with model.save('model.keras')"
        ) from None
    if not isinstance(model, keras.Model) or not model.inputs:
        raise SourceError(f"'{path_text}' holds no Keras model with known inputs; build the model before saving it")
    specs = keras_specs(model, input_shape)
    return Workload.with_random_inputs(
        f"keras:{path_text}",
        path.stem,
        specs,
        keras_model=model,
        meta={"keras": keras.__version__},
    )


def serving_signature(path: Path, path_text: str):
    """The SavedModel's ``serving_default`` signature (loaded), or one clear SourceError."""
    tf = import_tf("a tf: source")
    try:
        loaded = quiet(lambda: tf.saved_model.load(str(path)))
    except Exception as e:
        raise SourceError(f"'{path_text}' is not a SavedModel TensorFlow can load ({reason(e, 160)})") from None
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    if signature is None:
        raise SourceError(
            f"the SavedModel at '{path_text}' has no serving signature ('serving_default'); export it with "
            "model.export(dir) or tf.saved_model.save(model, dir, signatures=...)"
        )
    return loaded, signature


def load_saved_model(path_text: str, input_shape: str | None = None) -> Workload:
    path = Path(path_text).expanduser()
    if not (path / "saved_model.pb").is_file():
        raise SourceError(f"no SavedModel at '{path_text}' (a directory with saved_model.pb); check the path")
    _, signature = serving_signature(path, path_text)
    _, named = signature.structured_input_signature
    entries = [(name, list(spec.shape), _dtype(spec.dtype)) for name, spec in sorted(named.items())]
    if not entries:
        raise SourceError(f"the serving signature of '{path_text}' takes no named inputs; nnspeed cannot feed it")
    specs = _specs(entries, input_shape)
    return Workload.with_random_inputs(
        f"tf:{path_text}",
        path.name,
        specs,
        model_file=path,
    )


def open_interpreter(path: Path, path_text: str, threads: int | None = None, xnnpack: bool = True):
    """A LiteRT Interpreter on ``path`` with its tensors allocated, or one clear SourceError
    (a file that is not a flatbuffer, an op this LiteRT cannot run)."""
    interpreter, resolver = interpreter_class("a tflite: source")
    kind = resolver.AUTO if xnnpack else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        it = quiet(lambda: interpreter(model_path=str(path), num_threads=threads, experimental_op_resolver_type=kind))
    except Exception as e:
        raise SourceError(f"'{path_text}' is not a .tflite model LiteRT can read ({reason(e, 160)})") from None
    try:
        quiet(it.allocate_tensors)  # XNNPACK announces itself on stderr
    except Exception as e:
        if "Select TensorFlow op" in str(e):
            raise SourceError(
                f"'{path_text}' uses TensorFlow ops (SELECT_TF_OPS, the Flex delegate) that this LiteRT cannot run; "
                "convert it with TFLite builtin ops only"
            ) from None
        raise SourceError(
            f"'{path_text}' uses an op this LiteRT cannot run ({reason(e, 160)}); convert it with builtin ops only"
        ) from None
    return it


def load_tflite(path_text: str, input_shape: str | None = None) -> Workload:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise SourceError(f"no .tflite file at '{path_text}'; check the path")
    it = open_interpreter(path, path_text)
    entries = [
        (d["name"], [int(x) for x in d.get("shape_signature", d["shape"])], np.dtype(d["dtype"]).name)
        for d in it.get_input_details()
    ]
    specs = _specs(entries, input_shape)
    return Workload.with_random_inputs(
        f"tflite:{path_text}",
        path.stem,
        specs,
        model_file=path,
    )


def load_tf_source(scheme: str, rest: str, input_shape: str | None) -> Workload:
    """``keras:``, ``tf:`` or ``tflite:`` ``rest``."""
    return {"keras": load_keras, "tf": load_saved_model, "tflite": load_tflite}[scheme](rest, input_shape)
