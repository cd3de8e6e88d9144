"""nnspeed's own engine against MLPerf LoadGen on the same runner (``zoo:cnn``, one thread).

Single-stream p90 (target: within 5%) and offline throughput at batch 8 (target: within
10%).  The engines take turns (A B A B ...) so that a drift of the machine's speed falls on
both; the median of the per-round ratios is compared (a round's two figures are measured
minutes apart at most, so a machine that changes speed between rounds does not decide it).
Needs the ``loadgen`` extra.

    .venv/bin/python benchmarks/loadgen_agreement.py [ROUNDS]    # ~1 minute at 5 rounds
"""

from __future__ import annotations

import sys

import numpy as np

SOURCE = "zoo:cnn"
TARGETS = {"single-stream": 0.05, "offline": 0.10}


def p90_ms(d: dict) -> float:
    return d["loadgen"]["p90_ms"] if d.get("engine") == "loadgen" else d["latency_ms"]["p90"]


def samples_per_s(d: dict) -> float:
    return d["loadgen"]["samples_per_second"] if d.get("engine") == "loadgen" else d["offline"]["samples_per_s"]


FIGURES = {"single-stream": (1, p90_ms, "p90_ms"), "offline": (8, samples_per_s, "samples_per_s")}


def rounds(scenario: str, n: int) -> dict[str, list[float]]:
    """``n`` interleaved rounds of both engines: each engine's figure per round."""
    from nnspeed.api import load
    from nnspeed.backends.base import Settings
    from nnspeed.measure.stoprule import StopRule
    from nnspeed.scenarios.registry import ScenarioOptions, scenario_runner

    batch, figure, _ = FIGURES[scenario]
    w = load(SOURCE)
    stop = StopRule(min_time=1.0, max_time=1.5)
    settings = Settings("torch-eager", batch=batch, threads=1)
    out = {"nnspeed": [], "loadgen": []}
    for _ in range(n):
        for engine in out:
            m = scenario_runner(ScenarioOptions(scenario=scenario, engine=engine), stop)(w, settings)
            out[engine].append(figure(m.to_dict()))
    return out


def round_ratio(every: dict[str, list[float]]) -> float:
    """The median over rounds of LoadGen's figure over nnspeed's in the same round."""
    return float(np.median(np.asarray(every["loadgen"]) / np.asarray(every["nnspeed"])))


def main(n: str = "5") -> int:
    doc = {"benchmark": "loadgen_agreement", "source": SOURCE, "threads": 1, "rounds": int(n), "scenarios": {}}
    for scenario, tol in TARGETS.items():
        every = rounds(scenario, int(n))
        r = round_ratio(every)
        ok = abs(r - 1) <= tol
        name = FIGURES[scenario][2]
        doc["scenarios"][scenario] = {
            "figure": name,
            "tolerance": tol,
            "batch": FIGURES[scenario][0],
            "nnspeed": every["nnspeed"],
            "loadgen": every["loadgen"],
            "ratio": r,
            "passed": ok,
        }
        print(
            f"{scenario} {name}: nnspeed {np.median(every['nnspeed']):.4g}, LoadGen "
            f"{np.median(every['loadgen']):.4g} (×{r:.3f}, target ±{100 * tol:.0f}%): {'PASS' if ok else 'FAIL'}"
        )
    doc["passed"] = all(s["passed"] for s in doc["scenarios"].values())
    from record import write_result  # benchmarks/, beside this script

    out = write_result("loadgen_agreement", doc)
    print(f"{'PASS' if doc['passed'] else 'FAIL'}  ({out})")
    return 0 if doc["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
