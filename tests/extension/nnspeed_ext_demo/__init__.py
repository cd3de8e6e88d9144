"""A backend and a scenario for nnspeed, defined outside it (registered by entry points).

``torch-nograd``: a torch model called under ``torch.no_grad`` (not inference mode), one thread
count per runner.  ``burst``: the configuration timed as single-stream, then called in bursts of
``CALLS`` after a pause, the first call of each burst reported against the rest (a model woken
from idle)."""

from __future__ import annotations

import time
from types import MappingProxyType

import torch

from nnspeed.backends.registry import opened
from nnspeed.errors import UnsupportedError
from nnspeed.measure.harness import run_timed
from nnspeed.scenarios.record import to_measurement
from nnspeed.scenarios.single_stream import default_clock, runner_call

BURSTS = 5
CALLS = 4
PAUSE_S = 0.02


class NoGradRunner:
    def __init__(self, model, settings):
        self.model = model.eval()
        self._before = torch.get_num_threads()
        if settings.threads:
            torch.set_num_threads(settings.threads)
        self.effective = {"precision": "fp32", "threads": torch.get_num_threads(), "grad": "no_grad"}

    def prepare(self, inputs):
        return tuple(torch.from_numpy(a) for a in inputs.values())

    def run(self, args):
        with torch.no_grad():
            return self.model(*args)

    def sync(self):
        pass

    def outputs(self, result):
        results = result if isinstance(result, (tuple, list)) else [result]
        return [r.numpy() for r in results]

    def memory(self):
        return {}

    def close(self):
        torch.set_num_threads(self._before)


class NoGrad:
    name = "torch-nograd"
    accepts = frozenset({"torch"})
    streams = False

    def prepare(self, workload, settings):
        if settings.precision != "fp32" or settings.device != "cpu":
            raise UnsupportedError("torch-nograd runs fp32 on the CPU only")
        return NoGradRunner(workload.model, settings)


class Burst:
    name = "burst"
    summary = f"single-stream, then {BURSTS} bursts of {CALLS} calls after a pause"
    reads = frozenset()
    hints = MappingProxyType({})

    def runner(self, options, stop):
        def run(workload, settings):
            with opened(workload, settings) as runner:
                call, n = runner_call(runner, workload, settings.batch)
                timing = run_timed(call, stop, default_clock(settings))
                first, rest = [], []
                for b in range(BURSTS):
                    time.sleep(PAUSE_S)
                    for i in range(CALLS):
                        t0 = time.perf_counter()
                        call(b * CALLS + i)
                        (first if i == 0 else rest).append((time.perf_counter() - t0) * 1e3)
                effective = {**runner.effective, "input_pool": n}
            figures = {
                "bursts": BURSTS,
                "calls": CALLS,
                "pause_s": PAUSE_S,
                "first_ms": sum(first) / len(first),
                "rest_ms": sum(rest) / len(rest),
            }
            figures["first_over_rest"] = figures["first_ms"] / figures["rest_ms"]
            extra = {"scenario": self.name, self.name: figures}
            return to_measurement(workload, settings, stop, timing, effective, runner.memory(), extra=extra)

        return run
