"""``--engine loadgen``: the same runner driven by MLPerf LoadGen, its summary read back.

LoadGen (the mlcommons-loadgen package) issues the queries and times them with its own clock;
nnspeed's runner answers them.  SingleStream issues one query after another; Offline issues
every sample at once and the runner works through them in batches of ``--batch``; Server
issues queries at Poisson times at ``--qps`` and a worker thread batches them like nnspeed's
own dynamic batcher.  The result keeps LoadGen's own figures under ``loadgen``; the per-call
samples of the Measurement are the runner's calls timed by nnspeed's clock, so the two can be
compared side by side.  Runs are short (``--max-time`` is LoadGen's minimum duration) and in
PerformanceOnly mode: they are cross-checks, not submissions.
"""

from __future__ import annotations

import json
import math
import queue
import tempfile
import threading
from pathlib import Path

import numpy as np

from .._optional import require
from ..backends.base import Settings
from ..backends.registry import opened
from ..errors import InputError, UnsupportedError
from ..measure.clock import PerfCounterClock
from ..measure.contention import window_end, window_start
from ..measure.harness import Timing
from ..measure.stoprule import StopRule
from .record import to_measurement
from .server import BatchCalls, warm_calls

SCENARIOS = {"single-stream": "SingleStream", "offline": "Offline", "server": "Server"}
# Samples LoadGen keeps "loaded"; the runner's inputs are prepared already, so any count works.
QSL_SIZE = 1024


def read_detail(outdir: Path) -> dict:
    """LoadGen's ``result_*`` figures from its detail log (one JSON record per ``:::MLLOG`` line)."""
    results = {}
    path = outdir / "mlperf_log_detail.txt"
    for line in path.read_text().splitlines():
        if not line.startswith(":::MLLOG "):
            continue
        rec = json.loads(line[len(":::MLLOG ") :])
        if rec.get("key", "").startswith("result_"):
            results[rec["key"][len("result_") :]] = rec["value"]
    return results


def figures(scenario: str, raw: dict) -> dict:
    """LoadGen's figures under stable names (latencies in ms)."""
    out = {"scenario": SCENARIOS[scenario], "valid": raw.get("validity") == "VALID"}
    for pct in ("50.00", "90.00", "99.00"):
        key = f"{pct}_percentile_latency_ns"
        if key in raw:
            out[f"p{pct.split('.')[0]}_ms"] = raw[key] / 1e6
    if "mean_latency_ns" in raw:
        out["mean_ms"] = raw["mean_latency_ns"] / 1e6
    for key in (
        "samples_per_second",
        "qps_with_loadgen_overhead",
        "qps_without_loadgen_overhead",
        "scheduled_samples_per_sec",
        "completed_samples_per_sec",
        "query_count",
    ):
        if key in raw:
            out[key] = raw[key]
    return out


class _Sut:
    """Answers LoadGen's queries with the runner; records each call on nnspeed's clock."""

    def __init__(self, lg, calls: BatchCalls, batch: int, scenario: str, max_wait_s: float = 0.0):
        self.lg, self.calls, self.batch, self.scenario = lg, calls, batch, scenario
        self.clock = PerfCounterClock()
        self.samples: list[float] = []
        self.max_wait_s = max_wait_s
        self.q: queue.Queue = queue.Queue()
        self.worker = None
        if scenario == "server":
            self.worker = threading.Thread(target=self._serve, daemon=True)
            self.worker.start()

    def _run(self, ids: list) -> None:
        b = len(ids)
        a = self.clock.mark()
        self.calls(b)
        self.samples.append(self.clock.elapsed(a, self.clock.mark()))
        self.lg.QuerySamplesComplete([self.lg.QuerySampleResponse(i, 0, 0) for i in ids])

    def issue(self, query_samples) -> None:
        ids = [q.id for q in query_samples]
        if self.scenario == "server":
            for i in ids:
                self.q.put(i)
            return
        for k in range(0, len(ids), self.batch):
            self._run(ids[k : k + self.batch])

    def _serve(self) -> None:
        while True:
            first = self.q.get()
            if first is None:
                return
            ids = [first]
            deadline = self.clock.now() + self.max_wait_s
            while len(ids) < self.calls.max_batch:
                left = deadline - self.clock.now()
                try:
                    nxt = self.q.get(timeout=left) if left > 0 else self.q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.q.put(None)
                    break
                ids.append(nxt)
            self._run(ids)

    def close(self) -> None:
        if self.worker is not None:
            self.q.put(None)
            self.worker.join()


def loadgen_runner(o, stop: StopRule):
    """``run(workload, settings)`` driving the runner through LoadGen's scenario."""
    if o.scenario not in SCENARIOS:
        raise UnsupportedError(
            f"--engine loadgen runs {', '.join(SCENARIOS)}; --scenario {o.scenario} is nnspeed's own"
        )
    if o.scenario == "server" and o.qps is None:
        raise InputError("--scenario server needs --qps N: the mean rate at which requests arrive")
    require("mlperf_loadgen", "loadgen", "--engine loadgen")

    def run(workload, settings: Settings):
        return run_loadgen(workload, settings, o, stop)

    return run


def run_loadgen(workload, settings: Settings, o, stop: StopRule):
    import mlperf_loadgen as lg

    scenario = o.scenario
    batch = settings.batch
    if scenario != "offline" and batch != 1:
        raise InputError(
            f"LoadGen's {SCENARIOS[scenario]} sends one sample per query; use --batch 1 (the server batches "
            "with --max-batch)"
        )
    max_batch = batch if scenario != "server" else o.max_batch
    clock = PerfCounterClock()
    with opened(workload, settings) as runner:
        calls = BatchCalls(runner, workload, max_batch)
        warm = warm_calls(calls, clock, stop, batch=batch)
        typical_s = warm["typical_s"]

        ts = lg.TestSettings()
        ts.scenario = getattr(lg.TestScenario, SCENARIOS[scenario])
        ts.mode = lg.TestMode.PerformanceOnly
        ts.min_duration_ms = int(stop.max_time * 1000)
        ts.min_query_count = max(1, stop.min_iters)
        typical_s = max(typical_s, 1e-7)
        if scenario == "single-stream":
            ts.single_stream_expected_latency_ns = int(typical_s * 1e9)
        elif scenario == "offline":
            ts.offline_expected_qps = batch / typical_s
        else:
            ts.server_target_qps = float(o.qps)
            slo = o.slo_p99_ms if o.slo_p99_ms is not None else 1000.0
            ts.server_target_latency_ns = int(slo * 1e6)
            ts.server_target_latency_percentile = 0.99
        wait_ms = o.max_wait_ms if o.max_wait_ms is not None else (1.0 if max_batch > 1 else 0.0)
        sut_obj = _Sut(lg, calls, batch, scenario, wait_ms * 1e-3)
        sut = lg.ConstructSUT(sut_obj.issue, lambda: None)
        qsl = lg.ConstructQSL(QSL_SIZE, QSL_SIZE, lambda ids: None, lambda ids: None)
        with tempfile.TemporaryDirectory(prefix="nnspeed-loadgen-") as tmp:
            log_settings = lg.LogSettings()
            log_settings.log_output.outdir = tmp
            log_settings.log_output.copy_summary_to_stdout = False
            log_settings.enable_trace = False
            cpu0 = window_start(clock.name)
            t0 = clock.now()
            try:
                lg.StartTestWithLogSettings(sut, qsl, ts, log_settings)
            finally:
                sut_obj.close()
                lg.DestroyQSL(qsl)
                lg.DestroySUT(sut)
            elapsed = clock.now() - t0
            cpu = window_end(cpu0)
            raw = read_detail(Path(tmp))
        memory = runner.memory()
        effective = dict(runner.effective)
    result = figures(scenario, raw)
    notes = (
        []
        if result["valid"]
        else [
            f"LoadGen judged the run {raw.get('validity', 'INVALID')} (short cross-check runs "
            "may miss its minimum duration or query count)"
        ]
    )
    samples = np.asarray(sut_obj.samples) if sut_obj.samples else np.array([math.nan])
    timing = Timing(
        samples_s=samples,
        block_size=1,
        first_call_s=warm["first_s"],
        warmup_calls=warm["calls"],
        warmup_s=warm["seconds"],
        steady=warm["steady"],
        overhead_ns=warm["overhead_ns"],
        stop_reason="loadgen",
        cpu=cpu,
        elapsed_s=elapsed,
        clock=clock.name,
        notes=notes,
    )
    effective["loadgen"] = lg.__version__ if hasattr(lg, "__version__") else "mlcommons-loadgen"
    extra = {"scenario": scenario, "engine": "loadgen", "loadgen": result}
    return to_measurement(workload, settings, stop, timing, effective, memory, None, extra=extra)
