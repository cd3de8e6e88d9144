"""How a search judges outputs: labelled data when there is some, fidelity to fp32 otherwise."""

from __future__ import annotations

from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import InputError
from ..workloads import datasets
from .scorers import AccuracyScorer, FidelityScorer, UserScorer, run_outputs
from .variants import Context, baseline_for

CALIBRATION_SAMPLES = 256
CALIBRATION_BATCH = 32
# Fidelity inputs: (inputs per call, calls). Embeddings want enough sentences for neighbours.
FIDELITY_EMBEDDING = (32, 4)
FIDELITY_LOGITS = (8, 2)


def scorer_for(workload, data: str | None, eval_ref: str | None = None):
    """(scorer, context): a user's ``--eval`` function, accuracy on ``data``, or fidelity to fp32."""
    if eval_ref:
        from ..workloads.sources import import_function

        _, fn = import_function(eval_ref, "--eval")
        calibration = [workload.make_inputs(CALIBRATION_BATCH // 4, i) for i in range(8)]
        return UserScorer(fn, eval_ref, [s.name for s in workload.inputs]), Context(None, calibration)
    data = data or workload.meta.get("data")
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
    size, calls = FIDELITY_EMBEDDING if workload.meta.get("task") == "embedding" else FIDELITY_LOGITS
    # Evaluation inputs come from later in the input pool than the calibration inputs.
    chunks = [(workload.make_inputs(size, 100 + i), size) for i in range(calls)]
    with opened(workload, Settings(baseline_for(workload).backend, "fp32", size)) as runner:
        reference = run_outputs(runner, chunks)
    kind = "embedding" if workload.meta.get("task") == "embedding" else "logits"
    calibration = [workload.make_inputs(CALIBRATION_BATCH // 4, i) for i in range(8)]
    return FidelityScorer(chunks, reference, kind), Context(None, calibration)
