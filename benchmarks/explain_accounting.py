"""explain's accounting: per-layer times plus the reported overhead against the measured
end-to-end latency (target: within 5%), and total FLOPs against torch.utils.flop_counter
(target: within 1%), each run with the real command.

    .venv/bin/python benchmarks/explain_accounting.py [SOURCE] [RUNS]   # default zoo:resnet50, 3
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TOLERANCE = 0.05


def explain(source: str) -> dict:
    cmd = [str(Path(sys.executable).with_name("nnspeed")), "explain", source, "--json"]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def reference_flops(source: str) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    import nnspeed

    w = nnspeed.load(source)
    with FlopCounterMode(display=False) as counter:
        w.model(*w.torch_args(1))
    return int(counter.get_total_flops())


def main(source: str = "zoo:resnet50", runs: str = "3") -> int:
    ref = reference_flops(source)
    rows = []
    for r in range(int(runs)):
        d = explain(source)
        layers_ms = sum(layer["time_ms"] for layer in d["layers"])
        ratio = (layers_ms + d["overhead_ms"]) / d["latency_ms"]
        rows.append(
            {
                "latency_ms": d["latency_ms"],
                "layers_ms": layers_ms,
                "overhead_ms": d["overhead_ms"],
                "profiler_cost_ms": d["profiler_cost_ms"],
                "accounted_ratio": ratio,
                "total_flops": d["total_flops"],
                "flops_ratio": d["total_flops"] / ref,
            }
        )
        print(
            f"run {r + 1}: latency {d['latency_ms']:.2f} ms, layers {layers_ms:.2f} ms + overhead "
            f"{d['overhead_ms']:.2f} ms = ×{ratio:.3f}; FLOPs ×{d['total_flops'] / ref:.4f}"
        )
    passed = all(abs(x["accounted_ratio"] - 1) <= TOLERANCE and abs(x["flops_ratio"] - 1) <= 0.01 for x in rows)
    doc = {
        "benchmark": "explain_accounting",
        "source": source,
        "tolerance": TOLERANCE,
        "reference_flops": ref,
        "runs": rows,
        "passed": passed,
    }
    from record import write_result  # benchmarks/, beside this script

    out = write_result("explain_accounting", doc)
    print(
        f"layers + overhead within ±{100 * TOLERANCE:.0f}% of the latency and FLOPs within 1% in every run: "
        f"{'PASS' if passed else 'FAIL'}  ({out})"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
