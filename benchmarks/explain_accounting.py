"""explain's accounting, each run with the real command: per-layer times plus the functions
outside every layer (``torch.cat``, adds, reshapes in ``forward()``) against the measured
end-to-end latency, on the same statistic (medians), with the time in no operator (Python in
``forward()``, module calls) measured in the profile too: the three within 5% of the latency
measured without the profiler; total FLOPs against torch.utils.flop_counter (target: within 1%); and no efficiency
above 100% of the roofline.

    .venv/bin/python benchmarks/explain_accounting.py [SOURCE] [RUNS] [THREADS]   # zoo:resnet50, 3, default
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TOLERANCE = 0.05


def explain(source: str, threads: str | None) -> dict:
    cmd = [str(Path(sys.executable).with_name("nnspeed")), "explain", source, "--json"]
    cmd += ["--threads", threads] if threads else []
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def reference_flops(source: str) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    import nnspeed

    w = nnspeed.load(source)
    with FlopCounterMode(display=False) as counter:
        w.model(*w.torch_args(1))
    return int(counter.get_total_flops())


def main(source: str = "zoo:resnet50", runs: str = "3", threads: str | None = None) -> int:
    ref = reference_flops(source)
    rows = []
    for r in range(int(runs)):
        d = explain(source, threads)
        layers_ms = sum(layer["time_ms"] for layer in d["layers"])
        outside_ms = sum(f["time_ms"] for f in d["outside"])
        ratio = (layers_ms + outside_ms + d["overhead_ms"]) / d.get("between_profiles_ms", d["latency_ms"])
        top_eff = max((x["efficiency"] or 0.0 for x in d["layers"] + d["outside"]), default=0.0)
        rows.append(
            {
                "latency_ms": d["latency_ms"],
                "between_profiles_ms": d.get("between_profiles_ms"),
                "layers_ms": layers_ms,
                "outside_ms": outside_ms,
                "outside": {f["name"]: f["time_ms"] for f in d["outside"]},
                "overhead_ms": d["overhead_ms"],
                "profiler_cost_ms": d["profiler_cost_ms"],
                "attributed_share": (layers_ms + outside_ms) / d["latency_ms"],
                "accounted_ratio": ratio,
                "max_efficiency": top_eff,
                "unknown_bounds": sum(x["bound_ms"] is None for x in d["layers"] + d["outside"]),
                "total_flops": d["total_flops"],
                "flops_ratio": d["total_flops"] / ref,
                "warnings": d["warnings"],
            }
        )
        print(
            f"run {r + 1}: layers {layers_ms:.3f} + outside {outside_ms:.3f} + in no operator "
            f"{d['overhead_ms']:.3f} ms = ×{ratio:.3f} of the latency {d['latency_ms']:.3f} ms; top efficiency {100 * top_eff:.0f}%, {rows[-1]['unknown_bounds']} bounds unknown; "
            f"FLOPs ×{d['total_flops'] / ref:.4f}"
        )
    # all three parts are measured in the profile; the latency is measured without it
    passed = all(
        abs(x["accounted_ratio"] - 1) <= TOLERANCE and abs(x["flops_ratio"] - 1) <= 0.01 and x["max_efficiency"] <= 1
        for x in rows
    )
    doc = {
        "benchmark": "explain_accounting",
        "source": source,
        "threads": threads,
        "tolerance": TOLERANCE,
        "reference_flops": ref,
        "runs": rows,
        "passed": passed,
    }
    from record import write_result  # benchmarks/, beside this script

    slug = source.replace("py:", "").split(":")[-1].split("?")[0]  # zoo:resnet18 → resnet18
    out = write_result(f"explain_accounting-{slug}" + (f"-t{threads}" if threads else ""), doc)
    print(
        f"layers + outside + in no operator within ±{100 * TOLERANCE:.0f}% of the latency, FLOPs within 1% and "
        f"no efficiency above 100% in every run: "
        f"{'PASS' if passed else 'FAIL'}  ({out})"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
