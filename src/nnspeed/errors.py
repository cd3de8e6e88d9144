"""The one exception hierarchy of nnspeed.

Every error a user can cause is a :class:`NnspeedError`: its message is one sentence that
names the problem and the fix, and the command line turns it into exit code 2 with no
traceback.  Anything else that escapes is a bug in nnspeed and exits with code 1.
"""

from __future__ import annotations

import re

__all__ = [
    "BackendError",
    "InputError",
    "MissingPackageError",
    "ModelError",
    "NnspeedError",
    "NotFoundError",
    "SourceError",
    "StoreError",
    "UnsavedError",
    "UnsupportedError",
    "reason",
    "root_cause",
]


class NnspeedError(Exception):
    """Base of every error caused by the user's input or environment (exit code 2)."""

    exit_code = 2


class SourceError(NnspeedError):
    """A model source that cannot be resolved: unknown name, bad key, missing or corrupt file."""


class InputError(NnspeedError):
    """Inputs that do not fit the model: wrong shape, dtype or count."""


class BackendError(NnspeedError):
    """An unknown backend or one that cannot run the given workload."""


class UnsupportedError(BackendError):
    """A combination (precision, device, …) the backend or hardware cannot run."""


class MissingPackageError(NnspeedError):
    """An optional package the request needs is not installed."""

    def __init__(self, package: str, extra: str, purpose: str):
        self.package = package
        super().__init__(
            f"{purpose} needs the optional package '{package}', which is not installed; "
            f"install it with: pip install 'nnspeed[{extra}]'"
        )


class ModelError(NnspeedError):
    """The model raised, or returned NaN/inf, when called."""


class StoreError(NnspeedError):
    """The result store cannot be opened or written."""


class UnsavedError(StoreError):
    """Results were measured but could not be stored; ``result`` holds them, so they are still
    shown (and can be saved elsewhere) instead of lost."""

    def __init__(self, message: str, result):
        super().__init__(message)
        self.result = result


class NotFoundError(NnspeedError):
    """A run id or record that is not in the store."""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def reason(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when empty), for one-line errors.

    Database errors wrap the driver's own exception in ``orig``; its text is the useful one.
    Terminal colour codes some libraries put in their messages are removed.
    """
    text = _ANSI.sub("", str(getattr(exc, "orig", None) or exc)).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception a chain of wrappers (``raise … from e``) was raised from."""
    seen = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return exc
