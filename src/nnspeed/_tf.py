"""TensorFlow, Keras and LiteRT: imported only when a request needs them, quietly, with the
thread count fixed once per process (TensorFlow reads it when it first runs an op)."""

from __future__ import annotations

import os

from ._optional import require
from .errors import UnsupportedError

# The intra-op thread count TensorFlow runs with in this process, fixed when nnspeed first
# imports it (None inside: TensorFlow's default); and the count asked for before that.
fixed_threads: list[int | None] = []
preferred_threads: list[int | None] = []


def prefer_threads(threads: int | None) -> None:
    """Ask for ``threads`` before TensorFlow starts (before a Keras model is even built): a
    command that knows its --threads calls this before loading the model."""
    if not fixed_threads:
        preferred_threads[:] = [threads]


def import_tf(purpose: str = "this"):
    """``tensorflow``, with its C++ and Python logging kept to errors; the first import fixes
    the thread count (the preferred one, else TensorFlow's default)."""
    from ._silence import quiet

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf = quiet(lambda: require("tensorflow", "tf", purpose))
    tf.get_logger().setLevel("ERROR")
    if not fixed_threads:
        threads = preferred_threads[0] if preferred_threads else None
        try:
            if threads is not None:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            threads = None  # the program ran TensorFlow itself before: its defaults hold
        fixed_threads.append(threads)
    return tf


def import_keras(purpose: str = "this"):
    import_tf(purpose)
    return require("keras", "tf", purpose)


def interpreter_class(purpose: str = "this"):
    """LiteRT's Interpreter and its op-resolver enum."""
    require("ai_edge_litert", "tf", purpose)
    from ai_edge_litert import interpreter

    return interpreter.Interpreter, interpreter.OpResolverType


def set_tf_threads(threads: int | None) -> int:
    """The thread count TensorFlow runs with (checked against ``threads``, when given).  It
    cannot change once TensorFlow runs: another count is refused with what to do instead."""
    import_tf("the tensorflow backend")
    have = fixed_threads[0]
    if threads is not None and have != threads:
        raise UnsupportedError(
            f"TensorFlow already runs in this process with {have or 'its default number of'} threads and cannot "
            f"change to {threads}; measure each thread count in its own process (nnspeed sweep does, or run "
            "nnspeed bench once per --threads value), and load the model after asking for the count"
        )
    return have or len(os.sched_getaffinity(0))
