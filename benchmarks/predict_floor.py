"""How closely this machine's operator table can price the GEMMs of a model it has not seen.

- interpolation: the leave-one-out error of the Linear and Conv2d latency models, each sample
  predicted by its Gaussian process refitted without it (closed form: nothing is timed), over
  the shapes the training architectures call (sampled first: the shapes models call) and over
  all samples (random and adaptive ones reach shapes far from any model's);
- movement: N of the table's samples per family timed again now, in two shuffled passes: how
  far each shape has moved since the table was measured (the common drift, which the
  reference models correct, taken out) and how far it moves between the two passes now.

A model whose time goes to a few such calls inherits their errors, so the predictor's ±10%
target needs parts priced within about 8%.  Passes when both families' leave-one-out RMS over
the models' shapes is within INTERPOLATION_TARGET.  Needs the table (``nnspeed machine --operators --threads T``).

    .venv/bin/python benchmarks/predict_floor.py [THREADS] [N]
"""

from __future__ import annotations

import sys

import numpy as np

FAMILIES = ("Linear", "Conv2d")
INTERPOLATION_TARGET = 0.08


def rms(log_ratio) -> float:
    return float(np.sqrt(np.mean(np.square(np.exp(log_ratio) - 1))))


def leave_one_out(models, family: str) -> np.ndarray:
    """log(leave-one-out prediction / sample) for each of the family's samples."""
    gp = models._surface(family).gp
    k_inv = np.linalg.inv(gp.kernel_(gp.X_train_))
    y = np.log([max(ms, 1e-6) for _, ms in models.samples[family]])
    return -(k_inv @ gp.y_train_) / np.diag(k_inv) * (np.std(y) or 1.0)  # normalize_y scales by the std


def model_shapes(models, family: str, shapes: dict) -> int:
    """How many of the family's samples, taken first, are ``shapes`` (``compose.training_shapes``)."""
    from nnspeed.prediction.sampling import prior_shapes

    priors = prior_shapes(models.fams[family], shapes)
    assert [p for p, _ in models.samples[family][: len(priors)]] == priors, (
        "the table's samples do not start with its priors"
    )
    return len(priors)


def main(threads: str = "2", n: str = "100") -> int:
    import torch

    from nnspeed.prediction.calibration import train_count, training_architectures, training_shapes
    from nnspeed.prediction.models import Models
    from nnspeed.prediction.profile import cached_tables
    from nnspeed.prediction.sampling import measure_sample

    table = cached_tables().get(threads)
    if table is None:
        print(
            f"no operator table for {threads} threads on this machine: run nnspeed machine --operators --threads {threads}"
        )
        return 2
    torch.set_num_threads(int(threads))
    models, rng = Models.from_table(table), np.random.default_rng(0)
    shapes = training_shapes(training_architectures(train_count(table.get("scale", 1.0))), table["threads"])
    doc = {
        "benchmark": "predict_floor",
        "threads": int(threads),
        "target_loo_rms": INTERPOLATION_TARGET,
        "families": {},
    }
    for family in FAMILIES:
        loo, k = leave_one_out(models, family), model_shapes(models, family, shapes)
        samples = models.samples[family]
        pick = rng.choice(len(samples), min(int(n), len(samples)), replace=False)
        now = np.zeros((len(pick), 2))
        for p in range(2):
            for j in rng.permutation(len(pick)):
                now[j, p] = measure_sample(models.fams[family], samples[pick[j]][0])
        since = np.log(now.mean(axis=1) / [samples[i][1] for i in pick])
        doc["families"][family] = {
            "samples": len(samples),
            "model_shapes": k,
            "loo_rms": rms(loo[:k]),
            "loo_rms_all": rms(loo),
            "timed_again": len(pick),
            "common_drift": float(np.exp(np.median(since))),
            "moved_since_table_rms": rms(since - np.median(since)),
            "between_passes_rms": rms(np.log(now[:, 1] / now[:, 0])),
        }
        f = doc["families"][family]
        print(
            f"{family}: leave-one-out {100 * f['loo_rms']:.1f}% rms over {k} models' shapes "
            f"({100 * f['loo_rms_all']:.1f}% over all {len(samples)} samples); "
            f"{len(pick)} timed again: {100 * f['moved_since_table_rms']:.1f}% rms since the table "
            f"(common drift {f['common_drift']:.3f}x), {100 * f['between_passes_rms']:.1f}% between two passes now"
        )
    doc["passed"] = all(f["loo_rms"] <= INTERPOLATION_TARGET for f in doc["families"].values())
    from record import write_result  # benchmarks/, beside this script

    out = write_result(f"predict_floor-t{threads}", doc)
    print(
        f"target: leave-one-out ≤ {100 * INTERPOLATION_TARGET:g}% rms: {'PASS' if doc['passed'] else 'FAIL'}  ({out})"
    )
    return 0 if doc["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
