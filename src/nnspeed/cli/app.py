"""Entry point: the typer app and the one place errors become exit codes."""

from __future__ import annotations

import sys
import traceback

import typer
from rich.console import Console
from rich.markup import escape

from ..commands.events import Events
from ..errors import NnspeedError

app = typer.Typer(
    name="nnspeed",
    help="How fast is your neural network, why, and how to make it faster without breaking it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped or captured output is not a terminal: rich would wrap it at 80 columns.
err = Console(stderr=True, width=None if sys.stderr.isatty() else 180)
out = Console(width=None if sys.stdout.isatty() else 180)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show the full traceback of an error (anywhere on the line)"),
):
    """How fast is your neural network, why, and how to make it faster without breaking it."""


_argv: list[str] = []
# What Ctrl-C leaves behind; a command that stores as it goes says so.
interrupt_note = ["interrupted: nothing was stored"]


def progress_bar():
    """A bar of cells done on a terminal; nothing where stderr is a pipe or a CI log."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


class BarEvents(Events):
    """A command's progress shown on a ``progress_bar``; finished steps printed above it."""

    def __init__(self, bar, task) -> None:
        self.bar, self.task = bar, task

    def progress(self, what: str, done: int | None = None, total: int | None = None) -> None:
        self.bar.update(self.task, description=what, completed=done, total=total)

    def finished(self, line: str, ok: bool = True) -> None:
        mark = "[green]ok[/]    " if ok else "[red]failed[/]"
        self.bar.console.print(f"{mark} {escape(line)}", highlight=False, soft_wrap=True)


class StatusEvents(Events):
    """A command's progress shown on a status line (``err.status``); finished steps printed."""

    def __init__(self, status) -> None:
        self.status = status

    def progress(self, what: str, done: int | None = None, total: int | None = None) -> None:
        self.status.update(what if total is None else f"{what} ({done or 0}/{total})")

    def finished(self, line: str, ok: bool = True) -> None:
        err.print(("" if ok else "[red]failed[/] ") + escape(line), highlight=False, soft_wrap=True)


def print_disagreements(doc: dict) -> None:
    """The result's figures that disagree with each other, each with its numbers, under its table."""
    from rich.markup import escape

    for v in doc.get("invariants", {}).get("violations", []):
        where = f"{v['where']}: " if v["where"] else ""
        err.print(f"[yellow]warning[/yellow]: figures disagree: {escape(where + v['message'])}", highlight=False)


def command_line() -> str:
    """The command as the user typed it, for the stored record."""
    import shlex

    return "nnspeed " + shlex.join(_argv)


def _register() -> None:
    from . import (  # noqa: F401  (each module adds its commands to `app`)
        bench,
        capacity,
        check,
        explain,
        fleet,
        generate,
        history,
        machine,
        optimize,
        predict,
        study,
        sweep,
        train,
        zoo,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors exit 2 with one sentence, internal errors exit 1."""
    from rich.markup import escape

    # typer ≥ 0.16 carries its own copy of click, and Exit/Abort are typer's own classes.
    try:
        from typer._click.exceptions import ClickException
    except ImportError:
        from click.exceptions import ClickException

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    _argv[:] = argv
    interrupt_note[:] = ["interrupted: nothing was stored"]
    _register()
    command = typer.main.get_command(app)
    try:
        rc = command.main(argv, prog_name="nnspeed", standalone_mode=False)
        code = rc if isinstance(rc, int) else 0
        if code == 130:  # typer turns Ctrl-C into Exit(130), which click returns here
            err.print(interrupt_note[0])
    except NnspeedError as e:
        if debug:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        code = e.exit_code
    except ClickException as e:
        e.show()
        code = 2
    except typer.Exit as e:
        code = e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print(interrupt_note[0])
        code = 130
    except Exception as e:
        if debug:
            traceback.print_exc()
        err.print(
            f"[bold red]internal error:[/] {type(e).__name__}: {escape(str(e))} — this is a bug in nnspeed; "
            "rerun with --debug for the traceback",
            highlight=False,
            soft_wrap=True,
        )
        code = 1
    return code


def run() -> None:
    sys.exit(main())
