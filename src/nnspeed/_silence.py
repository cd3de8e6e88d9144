"""Keep third-party chatter (exporters, quantizers) off the user's terminal."""

from __future__ import annotations

import os


def quiet(fn):
    """Run ``fn`` with the exporters' chatter kept off the terminal.

    The TorchScript exporter prints graphs from C++ and torch.export logs through handlers
    bound to the original streams, so the file descriptors themselves are redirected.
    """
    import contextlib
    import io
    import logging
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    previous = logging.root.manager.disable
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        logging.disable(logging.WARNING)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return fn()
    finally:
        logging.disable(previous)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def quiet_transformers():
    """transformers, imported offline (nothing is downloaded at run time) with its logging and
    progress bars off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers
