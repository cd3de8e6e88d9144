"""The tutorial's way of timing a Keras or LiteRT model: a fresh Python process, one warm-up
call, then one call between two ``time.time()`` readings.  Repeating that in fresh processes
shows how far apart its answers fall, beside nnspeed's interval for the same comparison.

Each repeat runs ``oneshot_child.py`` (by path: it imports TensorFlow or LiteRT and nothing of
nnspeed, as a tutorial script does) on every arm in order and prints one time per arm.
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


@dataclass
class OneShotArm:
    label: str
    kind: str  # "keras": a .keras file called eagerly; "tflite": a LiteRT Interpreter's invoke()
    path: str
    batch: int = 1


def arm_for(label: str, workload, batch: int, folder: Path) -> OneShotArm:
    """A one-shot arm for a Keras workload (saved to ``folder`` once) or a .tflite one."""
    if workload.keras_model is not None:
        path = folder / f"{workload.name}.keras"
        if not path.exists():
            workload.keras_model.save(str(path))
        return OneShotArm(label, "keras", str(path), batch)
    if workload.kind == "tflite":
        return OneShotArm(label, "tflite", str(workload.model_file), batch)
    raise SourceError(f"{workload.source} is neither a Keras model nor a .tflite file; one-shot timing runs those")


def one_shot_times(arms: list[OneShotArm], repeats: int) -> dict[str, list[float]]:
    """Milliseconds per arm, one figure per repeat, each repeat a fresh process."""
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
