"""How a command reports its progress: one protocol for every command.

A command calls, as it goes:

- ``progress(what, done, total)``: the step now running, in words (``done`` of ``total`` steps
  where they are known);
- ``finished(line, ok)``: a step's outcome in one line, worth keeping on screen (a sweep's
  cell, a variant tried);
- ``begun(run_id)``: the id its run is stored under, known before its first step (a sweep
  resumes from it).

``Events`` does nothing with them: a caller subclasses it and overrides what it watches (the
CLI turns them into its progress bar and lines)."""

from __future__ import annotations


class Events:
    def progress(self, what: str, done: int | None = None, total: int | None = None) -> None:
        """The step now running."""

    def finished(self, line: str, ok: bool = True) -> None:
        """A step's outcome, in one line."""

    def begun(self, run_id: str) -> None:
        """The id the run is stored under, before its first step."""


QUIET = Events()
