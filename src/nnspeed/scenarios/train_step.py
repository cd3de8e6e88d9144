"""One training step (forward, loss, backward, optimizer) timed like an inference call."""

from __future__ import annotations

import copy

from ..backends.base import Settings, torch_threads
from ..errors import UnsupportedError
from ..measure.harness import run_timed
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from .record import to_measurement

BACKEND = "torch-train"


def train_step(workload, batch: int, threads: int | None, stop: StopRule, lr: float = 0.01) -> Measurement:
    """SGD steps on a copy of the model; the loss is the mean square of the output, which
    exercises the same backward pass as any loss on that output."""
    import torch

    if workload.model is None:
        raise UnsupportedError("training needs a torch model; an ONNX file cannot be trained")
    with torch_threads(threads) as used:
        model = copy.deepcopy(workload.model).train()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        batches = [workload.torch_args(batch, i) for i in range(workload.pool_size)]

        def call(i: int) -> None:
            opt.zero_grad(set_to_none=True)
            loss = model(*batches[i % len(batches)]).float().pow(2).mean()
            loss.backward()
            opt.step()

        timing = run_timed(call, stop)
    effective = {"precision": "fp32", "threads": used, "device": "cpu", "optimizer": "SGD"}
    return to_measurement(workload, Settings(BACKEND, "fp32", batch, threads), stop, timing, effective)
