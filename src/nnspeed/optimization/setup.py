"""How a search judges outputs: labelled data when there is some, fidelity to fp32 otherwise."""

from __future__ import annotations

from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import InputError
from ..workloads import datasets
from .fidelity import FidelityScorer, checks_for
from .metrics import parse_fidelity
from .outputs import EMBEDDING_TASKS, classify_all
from .scorers import AccuracyScorer, UserScorer, run_outputs
from .variants import Context, baseline_for

CALIBRATION_SAMPLES = 256
CALIBRATION_BATCH = 32
# Fidelity inputs: (inputs per call, calls).  64 inputs put one flipped top-1 inside the
# interval of a 99% threshold (Wilson upper bound 99.7%); embeddings want enough sentences
# for neighbours.
FIDELITY_EMBEDDING = (32, 4)
FIDELITY_DEFAULT = (16, 4)


def scorer_for(
    workload, data: str | None, eval_ref: str | None = None, fidelity: str | None = None, max_drop: float = 1.0
):
    """(scorer, context): a user's ``--eval`` function, accuracy on ``data``, or fidelity to
    fp32 (``fidelity``: ``METRIC[:THRESHOLD]`` for every output instead of each kind's own)."""
    if fidelity is not None and (data or eval_ref):
        raise InputError(
            "--fidelity compares outputs with fp32 when there are no labels; with --data or --eval the score "
            "comes from those, so give one or the other"
        )
    metric, threshold = parse_fidelity(fidelity) if fidelity is not None else (None, None)
    if eval_ref:
        from ..workloads.sources import import_function

        _, fn = import_function(eval_ref, "--eval")
        calibration = [workload.make_inputs(CALIBRATION_BATCH // 4, i) for i in range(8)]
        return UserScorer(fn, eval_ref, [s.name for s in workload.inputs]), Context(None, calibration)
    data = data or (workload.meta.get("data") if fidelity is None else None)
    if data:
        split = datasets.get(data)
        want = split.x_test.shape[1:]
        have = tuple(workload.inputs[0].shape) if len(workload.inputs) == 1 else None
        if have != want:
            raise InputError(
                f"{workload.source} takes inputs of shape {have or [s.shape for s in workload.inputs]} per sample, "
                f"but --data {data} gives {want}; use a model made for {data} (e.g. zoo:digits-cnn)"
            )
        name = workload.inputs[0].name
        calibration = [
            {name: split.x_train[i : i + CALIBRATION_BATCH]} for i in range(0, CALIBRATION_SAMPLES, CALIBRATION_BATCH)
        ]
        return AccuracyScorer(split, name), Context(split, calibration)
    task = workload.meta.get("task")
    size, calls = FIDELITY_EMBEDDING if task in EMBEDDING_TASKS else FIDELITY_DEFAULT
    # Evaluation inputs come from later in the input pool than the calibration inputs.
    chunks = [(workload.make_inputs(size, 100 + i), size) for i in range(calls)]
    with opened(workload, Settings(baseline_for(workload).backend, "fp32", size)) as runner:
        reference = run_outputs(runner, chunks)
    names = [o["name"] for o in (workload.meta.get("signature") or {}).get("outputs", [])]
    checks = checks_for(classify_all(reference, task, names), metric, threshold, max_drop)
    calibration = [workload.make_inputs(CALIBRATION_BATCH // 4, i) for i in range(8)]
    return FidelityScorer(chunks, reference, checks), Context(None, calibration)
