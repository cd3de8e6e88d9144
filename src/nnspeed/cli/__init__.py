"""The ``nnspeed`` command: one module per command group."""
