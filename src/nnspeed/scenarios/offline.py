"""All the data is there at once: samples per second at a batch size, over one or more streams.

One stream is the single-stream measurement at that batch (throughput = batch / mean call).
Several streams are independent runners called back to back from their own threads, each
with its share of the threads, over the same wall-clock window; throughput is every sample
they finished in the window divided by its length.  Only runtimes whose sessions keep their
own thread pools can run streams side by side: ONNX Runtime and OpenVINO.  torch's intra-op
pool is one per process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading

import numpy as np

from ..backends.base import Settings
from ..backends.registry import get_backend, opened, stream_backends
from ..errors import InputError, UnsupportedError
from ..measure.clock import PerfCounterClock
from ..measure.contention import window_end, window_start
from ..measure.harness import Timing, run_timed
from ..measure.measurement import Measurement
from ..measure.stoprule import StopRule
from .record import to_measurement
from .single_stream import runner_call, single_stream

DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32)


def offline_result(m: Measurement, streams: int, samples: int | None = None, window_s: float | None = None) -> dict:
    if streams == 1:
        sps = m.throughput_sps
    else:
        sps = samples / window_s
    return {"samples_per_s": sps, "streams": streams, "batch": m.batch}


def offline(workload, settings: Settings, stop: StopRule, streams: int = 1) -> Measurement:
    if not (isinstance(streams, int) and streams >= 1):
        raise InputError(f"--streams must be a whole number ≥ 1, got {streams}")
    if streams == 1:
        m = single_stream(workload, settings, stop)
        extra = {**m.extra, "scenario": "offline", "offline": offline_result(m, 1)}
        return dataclasses.replace(m, extra=extra)
    if not get_backend(settings.backend).streams:
        raise UnsupportedError(
            f"--streams {streams} needs a runtime with a thread pool per session ({', '.join(stream_backends())}); "
            f"{settings.backend} has one pool per process: use --streams 1"
        )
    return _streams(workload, settings, stop, streams)


def _streams(workload, settings: Settings, stop: StopRule, streams: int) -> Measurement:
    per = max(1, (settings.threads or 0) // streams) if settings.threads else None
    clock = PerfCounterClock()
    with contextlib.ExitStack() as stack:
        runners = [
            stack.enter_context(opened(workload, Settings(**{**settings.to_dict(), "threads": per})))
            for _ in range(streams)
        ]
        calls = [runner_call(r, workload, settings.batch)[0] for r in runners]
        # Each runner's first call and warm-up, alone; the window below runs them together.
        warm = [run_timed(c, StopRule(min_time=0.1, max_time=0.5, min_iters=3), clock) for c in calls]
        samples: list[list[float]] = [[] for _ in range(streams)]
        window = max(stop.min_time, min(stop.max_time, 10.0))
        go = threading.Event()
        t_end = [0.0]

        def work(k: int) -> None:
            go.wait()
            i = 0
            while clock.now() < t_end[0]:
                a = clock.mark()
                calls[k](i)
                samples[k].append(clock.elapsed(a, clock.mark()))
                i += 1

        threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(streams)]
        for t in threads:
            t.start()
        cpu0 = window_start(clock.name)
        t0 = clock.now()
        t_end[0] = t0 + window
        go.set()
        for t in threads:
            t.join()
        span = clock.now() - t0
        cpu = window_end(cpu0)
        effective = dict(runners[0].effective)
    all_s = np.concatenate([np.asarray(s) for s in samples])
    done = int(all_s.size) * settings.batch
    timing = Timing(
        samples_s=all_s,
        block_size=1,
        first_call_s=warm[0].first_call_s,
        warmup_calls=warm[0].warmup_calls,
        warmup_s=sum(w.warmup_s for w in warm),
        steady=all(w.steady for w in warm),
        overhead_ns=warm[0].overhead_ns,
        stop_reason="window",
        elapsed_s=span,
        clock=clock.name,
        cpu=cpu,
    )
    effective.update(streams=streams, threads_per_stream=per)
    m = to_measurement(workload, settings, stop, timing, effective)
    extra = {
        **m.extra,
        "scenario": "offline",
        "offline": {**offline_result(m, streams, done, span), "per_stream_calls": [len(s) for s in samples]},
    }
    return dataclasses.replace(m, extra=extra)
