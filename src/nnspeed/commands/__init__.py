"""The commands whose work is more than one measurement, as library functions: ``capacity``,
``generate``, ``optimize``, ``sweep``, ``study`` and ``train``.

Each validates everything before it measures anything, stores its run, and returns a typed
result whose ``to_dict()`` is the document the command prints with ``--json``.  The CLI only
parses, calls one of these and prints.
"""
