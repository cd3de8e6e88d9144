"""The Keras tutorial's way of timing a model: in a fresh Python process, build the model from
code, call it once to warm up, then time one call between two ``time.time()`` readings.
Repeating that in fresh processes shows how far apart its answers fall, beside nnspeed's
interval for the same comparison on the same call path.

Each repeat runs ``oneshot_child.py`` (by path: it imports TensorFlow, Keras and LiteRT and
nothing of nnspeed, as a tutorial script does) on every arm in order and prints one time per
arm.  The models are built in the child, not loaded from files: what the tutorial times is a
model its own code made, with random weights, in that process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import SourceError, reason

CHILD = Path(__file__).with_name("oneshot_child.py")
REPEAT_TIMEOUT_S = 300


@dataclass(frozen=True)
class DenseStack:
    """A model as the tutorial's code builds it: ``depth`` Dense(units, act) layers, the first
    with ``input_shape=(inputs,)``, then Dense(classes, softmax).  ``name`` tells the models of
    one script apart: arms naming the same model time the same object."""

    name: str
    depth: int
    units: int = 128
    act: str = "relu"
    inputs: int = 100
    classes: int = 10


@dataclass
class OneShotArm:
    """One timed step of the script: an eager Keras call ("keras") or LiteRT's ``invoke()`` on
    the model converted in the process ("tflite", ``quantization`` float or dynamic-int8)."""

    label: str
    kind: str
    model: DenseStack
    batch: int = 1
    quantization: str = "float"

    def __post_init__(self):
        if self.kind not in ("keras", "tflite") or self.quantization not in ("float", "dynamic-int8"):
            raise SourceError(f"a one-shot arm is a keras or tflite call (float or dynamic-int8), not {self}")


def check_arms(arms: list[OneShotArm]) -> None:
    """Labels name one arm each, and a model's name one model: two models under one name
    would time the first twice (as when two models were saved to one file name)."""
    labels = [a.label for a in arms]
    if len(set(labels)) != len(labels):
        raise SourceError(f"one-shot arms need distinct labels, got {labels}")
    models: dict[str, DenseStack] = {}
    for a in arms:
        if models.setdefault(a.model.name, a.model) != a.model:
            raise SourceError(f"two one-shot models are both named '{a.model.name}'; name each model apart")


def one_shot_times(arms: list[OneShotArm], repeats: int) -> dict[str, list[float]]:
    """Milliseconds per arm, one figure per repeat, each repeat a fresh process."""
    check_arms(arms)
    out: dict[str, list[float]] = {a.label: [] for a in arms}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory(prefix="nnspeed-oneshot-") as tmp:
        spec = Path(tmp) / "arms.json"
        spec.write_text(json.dumps([asdict(a) for a in arms]))
        for _ in range(repeats):
            try:
                done = subprocess.run(
                    [sys.executable, str(CHILD), str(spec)],
                    capture_output=True,
                    text=True,
                    timeout=REPEAT_TIMEOUT_S,
                    env=env,
                )
            except subprocess.TimeoutExpired:
                raise SourceError(
                    f"a one-shot timing process ran past {REPEAT_TIMEOUT_S} s (a starved or overloaded machine); "
                    "run the study again when the machine is less busy"
                ) from None
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines:
                raise SourceError(
                    f"a one-shot timing process failed: {reason(done.stderr.strip() or 'no output', 200)}"
                )
            for label, ms in json.loads(lines[-1]).items():
                out[label].append(float(ms))
    return out


@dataclass
class Spread:
    """What repeats of a one-shot ratio say: every value, their range and median, and how many
    point the other way from the claim (ratio below 1 where the claim expects above)."""

    values: list[float]
    median: float
    low: float
    high: float
    against: int

    def to_dict(self) -> dict:
        return asdict(self)


def spread(values: list[float]) -> Spread:
    x = np.asarray(values, dtype=float)
    return Spread(list(map(float, x)), float(np.median(x)), float(x.min()), float(x.max()), int((x < 1.0).sum()))
