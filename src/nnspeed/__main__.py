"""``python -m nnspeed``: the same as the ``nnspeed`` command."""

from nnspeed.cli.app import run

run()
