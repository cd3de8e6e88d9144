"""Why the study's one-shot re-enactment of the Keras tutorial once read the deep model as
faster than the shallow one: the tutorial's timing and its variants, each in fresh processes.

The tutorial: in one process, build the shallow model (Dense 128 relu x2, Dense 10 softmax,
``input_shape=(100,)``), call it once on ``tf.random.normal((1, 100))``, time one eager call with
``time.time()``; then the same for the deep model (Dense 128 relu x8).  Variants change one
thing each:

- earlier child: what the study's child did; both arms load the shallow model's ``.keras`` file
  (the two depths were saved under one file name) and the deep arm reuses the loaded object;
- distinct files: each model loaded from its own ``.keras`` file (``keras.saving.load_model``);
- deep first: the tutorial's steps with the deep model built and timed first;
- keras.Input: ``keras.Input((100,))`` in place of ``input_shape=(100,)``;
- normal inside: ``tf.random.normal`` made inside the timed region;
- calls: the shallow and the deep model's first 8 calls in a fresh process, each timed alone;
- invoke calls: LiteRT's first 8 ``invoke()`` of the deep model converted in the process, float
  and dynamic-range int8 (the tutorial's claim 14 times the 2nd).

Passes when the earlier child reads the deep model as faster by the median and every other
variant reads it as slower in at least 90% of the processes.

    .venv/bin/python benchmarks/tutorial_oneshot.py [PROCESSES]   # ~6 minutes at 10; needs the tf extra
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

PROCESSES = 10
SLOWER_SHARE = 0.9
VARIANTS = ("tutorial", "earlier child", "distinct files", "deep first", "keras.Input", "normal inside")
PROFILES = ("calls", "invoke calls")


# The child: only TensorFlow, Keras and LiteRT, as a tutorial script.


def _build(depth: int, use_input: bool = False):
    import keras

    if use_input:
        layers = [keras.Input((100,))] + [keras.layers.Dense(128, activation="relu") for _ in range(depth)]
    else:
        layers = [keras.layers.Dense(128, activation="relu", input_shape=(100,))]
        layers += [keras.layers.Dense(128, activation="relu") for _ in range(depth - 1)]
    return keras.Sequential([*layers, keras.layers.Dense(10, activation="softmax")])


def _one(model, inside: bool = False) -> float:
    import tensorflow as tf

    x = tf.random.normal((1, 100))
    model(x)  # the warm-up call
    start = time.time()
    model(tf.random.normal((1, 100)) if inside else x)
    return (time.time() - start) * 1e3


def _calls(call, n: int = 8) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def _invoke_calls(model, optimize: bool) -> list[float]:
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with contextlib.redirect_stdout(sys.stderr):
        it = Interpreter(model_content=converter.convert())
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], tf.random.normal((1, 100)).numpy())
    return _calls(it.invoke)


def child(variant: str, folder: str) -> dict:
    warnings.simplefilter("ignore")
    import keras
    import tensorflow as tf

    shallow_file, deep_file = os.path.join(folder, "shallow.keras"), os.path.join(folder, "deep.keras")
    if variant == "save":
        _build(2).save(shallow_file)
        _build(8).save(deep_file)
        return {}
    if variant == "tutorial":
        return {"shallow": _one(_build(2)), "deep": _one(_build(8))}
    if variant == "earlier child":
        model = keras.saving.load_model(shallow_file)
        return {"shallow": _one(model), "deep": _one(model)}
    if variant == "distinct files":
        shallow = _one(keras.saving.load_model(shallow_file))
        return {"shallow": shallow, "deep": _one(keras.saving.load_model(deep_file))}
    if variant == "deep first":
        deep = _one(_build(8))
        return {"shallow": _one(_build(2)), "deep": deep}
    if variant == "keras.Input":
        return {"shallow": _one(_build(2, True)), "deep": _one(_build(8, True))}
    if variant == "normal inside":
        return {"shallow": _one(_build(2), True), "deep": _one(_build(8), True)}
    if variant == "calls":
        x = tf.random.normal((1, 100))
        shallow, deep = _build(2), _build(8)
        return {"shallow": _calls(lambda: shallow(x)), "deep": _calls(lambda: deep(x))}
    if variant == "invoke calls":
        deep = _build(8)
        deep(tf.random.normal((1, 100)))
        return {"float": _invoke_calls(deep, False), "int8": _invoke_calls(deep, True)}
    raise SystemExit(f"unknown variant {variant}")


# The driver.


def _run(variant: str, folder: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant, folder], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(xs) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def main(processes: int = PROCESSES) -> int:
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="nnspeed-tutorial-") as folder:
        _run("save", folder)
        for variant in VARIANTS:
            runs = [_run(variant, folder) for _ in range(processes)]
            ratios = [r["deep"] / r["shallow"] for r in runs]
            results[variant] = {
                "runs": runs,
                "ratios": ratios,
                "median_ratio": _median(ratios),
                "deep_slower": sum(r > 1 for r in ratios),
                "shallow_ms": _median([r["shallow"] for r in runs]),
                "deep_ms": _median([r["deep"] for r in runs]),
            }
            v = results[variant]
            print(
                f"{variant:15s} deep over shallow {min(ratios):.2f}-{max(ratios):.2f}x (median {v['median_ratio']:.2f}x), "
                f"deep slower in {v['deep_slower']}/{processes}; shallow {v['shallow_ms']:.2f} ms, deep {v['deep_ms']:.2f} ms"
            )
        for variant in PROFILES:
            runs = [_run(variant, folder) for _ in range(processes)]
            profile = {k: [_median(c) for c in zip(*[r[k] for r in runs])] for k in runs[0]}
            second_over_fourth = {k: _median([r[k][1] / r[k][3] for r in runs]) for k in runs[0]}
            results[variant] = {"runs": runs, "median_ms_by_call": profile, "second_over_fourth": second_over_fourth}
            for k, p in profile.items():
                print(
                    f"{variant} {k}: median ms by call {', '.join(f'{x:.4g}' for x in p)}; "
                    f"2nd over 4th call {second_over_fourth[k]:.2f}x (median)"
                )
    earlier = results["earlier child"]["median_ratio"] < 1
    faithful = all(results[v]["deep_slower"] >= SLOWER_SHARE * processes for v in VARIANTS if v != "earlier child")
    passed = earlier and faithful
    doc = {"benchmark": "tutorial_oneshot", "processes": processes, "variants": results, "passed": passed}
    from record import write_result  # benchmarks/, beside this script

    out = write_result("tutorial_oneshot", doc)
    print(f"earlier child reversed, every other variant deep-slower: {'PASS' if passed else 'FAIL'}  ({out})")
    return 0 if passed else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        sys.exit(main(*map(int, sys.argv[1:])))
