"""Backends by name; each module is imported only when asked for.

Another package adds a backend through the ``nnspeed.backends`` entry point group: the entry
point names a class whose instances have ``name``, ``accepts`` (the source kinds it runs),
``streams`` and ``prepare(workload, settings) -> Runner`` (see ``base.Runner``)."""

from __future__ import annotations

import contextlib
import functools
import importlib
from importlib.metadata import entry_points
from typing import Any

from ..errors import BackendError

ENTRY_POINTS = "nnspeed.backends"

BUILT_IN = {
    "torch-eager": "nnspeed.backends.torch_backend:TorchEager",
    "torch-compile": "nnspeed.backends.torch_backend:TorchCompile",
    "torch-train": "nnspeed.backends.torch_backend:TorchTrain",
    "onnxruntime": "nnspeed.backends.onnxruntime_backend:OnnxRuntime",
    "openvino": "nnspeed.backends.openvino_backend:OpenVino",
    "tensorflow": "nnspeed.backends.tensorflow_backend:TensorFlow",
    "litert": "nnspeed.backends.litert_backend:LiteRT",
}


# The backend name that means "the source's own runtime": the first backend that accepts its
# kind (torch-eager, onnxruntime, openvino, tensorflow or litert).
AUTO = "auto"


def resolve_backend(name: str, source: str) -> str:
    """``name``, or for AUTO the first registered backend that runs ``source``'s kind."""
    if name != AUTO:
        return name
    from ..workloads.sources import source_kind

    kind = source_kind(source)
    return next(n for n, b in loaded() if kind in b.accepts)


@functools.cache
def backends() -> dict[str, str]:
    """Every backend's name and ``module:class``: the built-in ones, then those other packages
    register (a name already taken is not replaced)."""
    found = dict(BUILT_IN)
    for ep in entry_points(group=ENTRY_POINTS):
        found.setdefault(ep.name, ep.value)
    return found


def check_backend(name: str, where: str = "") -> None:
    """Refuse a backend name that is not registered, before anything is measured."""
    if name not in backends():
        raise BackendError(f"unknown backend '{name}'{where}; choose from {', '.join(backends())}")


def get_backend(name: str):
    check_backend(name)
    path = backends()[name]
    module, _, attr = path.partition(":")
    try:
        cls: Any = functools.reduce(getattr, attr.split("."), importlib.import_module(module))
        return cls()
    except Exception as e:
        if name in BUILT_IN:
            raise
        raise BackendError(f"the backend '{name}' registered as {path} cannot be loaded: {e}") from None


def loaded():
    """Each backend that loads, with its name: another package's backend that cannot be
    imported here is left out of the lists (naming it still says why)."""
    for name in backends():
        try:
            yield name, get_backend(name)
        except BackendError:
            if name in BUILT_IN:
                raise


def backends_that_accept(kind: str) -> list[str]:
    """The backends that can run a workload of this kind ("torch", "onnx", "openvino-ir")."""
    return [n for n, b in loaded() if kind in b.accepts]


def before_load(settings, strict: bool = True) -> None:
    """Let each backend of these settings prepare the process before any model is loaded (a
    runtime that fixes its threads when it starts: TensorFlow).  ``strict``: a backend refuses
    thread counts one process cannot hold now, rather than when a cell is prepared."""
    threads: dict[str, list] = {}
    for s in settings:
        threads.setdefault(s.backend, []).append(s.threads)
    _hooks(threads, strict)


def before_load_for_any(threads: list[int | None]) -> None:
    """Before loading a source whose runtimes are not chosen yet (optimize tries them all)."""
    _hooks({name: list(threads) for name, _ in loaded()}, strict=False)


def _hooks(threads: dict[str, list], strict: bool) -> None:
    for name, counts in threads.items():
        hook = getattr(get_backend(name), "before_load", None)
        if hook is not None:
            hook(counts, strict)


def stream_backends() -> list[str]:
    """The backends whose runners can run side by side, each with its own thread pool."""
    return [n for n, b in loaded() if b.streams]


def calling(runner) -> contextlib.AbstractContextManager:
    """Enter ``runner``'s call state once for a stretch of calls in this thread, so that each
    timed call does not pay for entering it (torch's inference mode costs ~4 µs a call, 5% of a
    0.08 ms model); a runner without such state needs nothing.  Calls outside it stay correct."""
    method = getattr(runner, "calling", None)
    return method() if method is not None else contextlib.nullcontext()


@contextlib.contextmanager
def opened(workload, settings):
    """A runner for ``workload`` under ``settings``, closed when the block ends.  The block runs
    in the runner's call state (``calling``): calls made from this thread skip entering it."""
    runner = get_backend(settings.backend).prepare(workload, settings)
    try:
        with calling(runner):
            yield runner
    finally:
        runner.close()
