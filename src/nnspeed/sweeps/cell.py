"""One sweep cell in a process of its own: ``python -m nnspeed.sweeps.cell SPEC OUT``.

A fresh process per cell keeps thread settings, allocator state and compiled caches of one
cell from leaking into the next.  The result (or the one-line error) is written to OUT
atomically; the parent stores it.
"""

from __future__ import annotations

import json
import sys

from .._files import write_text


def _write(path: str, doc: dict) -> None:
    write_text(path, json.dumps(doc))


def main(spec_path: str, out_path: str) -> int:
    from ..errors import NnspeedError

    with open(spec_path) as f:
        spec = json.load(f)
    try:
        from ..backends.base import Settings
        from ..backends.registry import before_load
        from ..measure.stoprule import StopRule
        from ..scenarios.single_stream import single_stream
        from ..workloads.sources import load

        c = spec["cell"]
        settings = Settings(c["backend"], c["precision"], c["batch"], c["threads"], c["device"])
        before_load([settings])  # a runtime that fixes its threads at start (TensorFlow) takes this count
        workload = load(c["source"], **spec.get("load_options", {}))
        m = single_stream(workload, settings, StopRule(**spec["stop"]), budget_ms=spec.get("budget_ms"))
    except NnspeedError as e:
        _write(out_path, {"error": str(e)})
        return e.exit_code
    except MemoryError:
        _write(out_path, {"error": "out of memory"})
        return 1
    except Exception as e:
        _write(out_path, {"error": f"internal error: {type(e).__name__}: {e}"})
        return 1
    _write(out_path, {"record": m.to_record()})
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
