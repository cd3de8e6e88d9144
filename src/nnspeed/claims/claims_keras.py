"""Claims 13–15: the Keras/LiteRT tutorial experiments, each measured twice.

The tutorial's way (``scenarios.oneshot``: a fresh process, one warm-up call, one
``time.time()`` difference), repeated to show how far apart its answers fall; and nnspeed's
way, the same arms in interleaved rounds with a paired interval.  The verdict is nnspeed's;
the evidence holds both, so the report can set the one-shot spread beside the interval.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..scenarios.oneshot import arm_for, one_shot_times, spread
from .context import Study
from .verdicts import CLAIMS, ClaimResult, ev, expect, fmt_ci, judge_batching, ratio_ev, slowdown

SHALLOW, DEEP = "zoo:keras-mlp?depth=2", "zoo:keras-mlp?depth=8"
BATCHES = (1, 32, 1024)
QUICK_REPEATS, FULL_REPEATS = 5, 20


def _models(s: Study) -> dict:
    """The tutorial's models: shallow and deep Keras MLPs, the deep one as float and
    dynamic-range int8 .tflite files."""
    if "keras-tutorial" not in s.cache:
        from ..transforms.tflite import to_tflite_all

        deep = s.load(DEEP)
        files = to_tflite_all(deep, ("float", "dynamic-int8"))
        for made in files.values():
            if isinstance(made, Exception):
                raise made
        s.cache["keras-tutorial"] = {
            "shallow": s.load(SHALLOW),
            "deep": deep,
            "float": files["float"],
            "int8": files["dynamic-int8"],
        }
    return s.cache["keras-tutorial"]


def _one_shot(s: Study) -> dict[str, list[float]]:
    """The tutorial script, run in fresh processes: every arm of the three experiments, in order."""
    if "keras-one-shot" not in s.cache:
        m = _models(s)
        repeats = QUICK_REPEATS if s.quick else FULL_REPEATS
        s.note(f"claims 13-15: the tutorial's one-shot timing, {repeats} fresh processes")
        with tempfile.TemporaryDirectory(prefix="nnspeed-tutorial-") as tmp:
            folder = Path(tmp)
            arms = [arm_for("depth 2", m["shallow"], 1, folder), arm_for("depth 8", m["deep"], 1, folder)]
            arms += [arm_for("tflite float", m["float"], 1, folder), arm_for("tflite int8", m["int8"], 1, folder)]
            arms += [arm_for(f"batch {b}", m["deep"], b, folder) for b in BATCHES]
            s.cache["keras-one-shot"] = one_shot_times(arms, repeats)
    return s.cache["keras-one-shot"]


def _one_shot_ev(
    times: dict[str, list[float]], labels: tuple[str, ...], ratios: list[float], what: str, value: float, ci
) -> dict:
    """Both methods' answer to one ratio: nnspeed's with its paired CI, and every one-shot repeat."""
    return {
        "ratio": what,
        "nnspeed": {"value": value, "ci95": list(ci), "method": "interleaved rounds, paired CI"},
        "method": "fresh process, one warm-up call, one time.time() difference",
        "repeats": len(ratios),
        "ms": {label: times[label] for label in labels},
        "spread": spread(ratios).to_dict(),
    }


def _headline(one_shot: dict) -> str:
    n, r = one_shot["nnspeed"], one_shot["spread"]
    return (
        f"nnspeed: {one_shot['ratio']} {n['value']:.2f}x {fmt_ci(n['ci95'])}; the tutorial's way over "
        f"{one_shot['repeats']} fresh processes: {r['low']:.2f}x to {r['high']:.2f}x (median {r['median']:.2f}x)"
    )


def _two_arms(s: Study, number: int, backend: str, first: tuple[str, str], second: tuple[str, str]):
    """Two of the study's models (label, key) on one backend, interleaved; and the tutorial's
    one-shot times: (measurement A, measurement B, B against A, one-shot times)."""
    m = _models(s)
    sbs = s.side_by_side(number, [(label, m[key], {"backend": backend}) for label, key in (first, second)])
    a, b = sbs.measurements
    return a, b, sbs.comparisons[0], _one_shot(s)


def keras_deeper_is_slower(s: Study) -> ClaimResult:
    a, b, c, times = _two_arms(s, 13, "tensorflow", ("depth 2", "shallow"), ("depth 8", "deep"))
    slow, ci = slowdown(c)
    ratios = [d / sh for sh, d in zip(times["depth 2"], times["depth 8"])]
    one = _one_shot_ev(times, ("depth 2", "depth 8"), ratios, "depth 8 over depth 2", slow, ci)
    return ClaimResult(
        13,
        CLAIMS[13],
        expect(c, "slower"),
        {"depth 2": ev(a), "depth 8": ev(b), "slowdown": slow, "slowdown_ci95": ci, "one_shot": one},
        "Six more Dense layers are six more kernel calls through Keras's eager dispatch; one call timed once "
        "in a fresh process sees that plus whatever the machine and the allocator did in that instant.",
        _headline(one),
        {"backend": "tensorflow", "batch": 1, "models": [SHALLOW, DEEP]},
    )


def tflite_quantization_is_faster(s: Study) -> ClaimResult:
    a, b, c, times = _two_arms(s, 14, "litert", ("tflite float", "float"), ("tflite int8", "int8"))
    ratios = [f / q for f, q in zip(times["tflite float"], times["tflite int8"])]
    one = _one_shot_ev(times, ("tflite float", "tflite int8"), ratios, "int8 speedup", c.speedup, c.ci95)
    return ClaimResult(
        14,
        CLAIMS[14],
        expect(c, "faster"),
        {
            "tflite float": ev(a),
            "tflite int8": ev(b),
            "file_quantization": b.effective.get("precision"),
            "speedup": ratio_ev(c),
            "one_shot": one,
        },
        "Optimize.DEFAULT stores the weights as int8 and quantizes activations on the fly per call: a quarter "
        "of the weight bytes, but extra work per call, so small layers at batch 1 may gain little.",
        _headline(one),
        {"backend": "litert", "batch": 1, "model": DEEP, "conversion": "TFLiteConverter, Optimize.DEFAULT"},
    )


def keras_batching_raises_throughput(s: Study) -> ClaimResult:
    m = _models(s)
    arms = [(f"batch {b}", m["deep"], {"backend": "tensorflow", "batch": b}) for b in BATCHES]
    sbs = s.side_by_side(15, arms)
    last = len(BATCHES) - 1
    gain = sbs.compare(0, last, per_item=True)
    times = _one_shot(s)
    big = BATCHES[-1]
    ratios = [big * t1 / tb for t1, tb in zip(times["batch 1"], times[f"batch {big}"])]
    labels = tuple(f"batch {b}" for b in BATCHES)
    one = _one_shot_ev(times, labels, ratios, f"throughput gain, batch 1 to {big}", gain.speedup, gain.ci95)
    evidence = {f"batch {b}": ev(x) for b, x in zip(BATCHES, sbs.measurements)}
    evidence.update({f"throughput_gain_1_to_{big}": ratio_ev(gain), "one_shot": one})
    return ClaimResult(
        15,
        CLAIMS[15],
        judge_batching(gain, sbs.compare(0, last)),
        evidence,
        "One call on a batch shares Keras's per-call overhead over every sample and gives the matrix kernels "
        "enough rows to use the cores; the call itself takes longer.",
        _headline(one),
        {"backend": "tensorflow", "model": DEEP, "batches": list(BATCHES)},
    )
