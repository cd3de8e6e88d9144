"""nnspeed's pytest plugin: speed tests in a project's own suite, gated like pytest-benchmark.

    def test_model_speed(nnspeed_bench):
        m = nnspeed_bench("py:mypkg.models:make_model", threads=1)

    pytest --nnspeed-save main                           # store this session's measurements as 'main'
    pytest --nnspeed-compare main --nnspeed-fail p50:5%  # fail a test whose model got slower

Each call measures with nnspeed's harness, in rounds, and the session's results are stored in
the nnspeed store (``--nnspeed-store`` or NNSPEED_STORE) as one run.  A test fails when its
figure is slower than the baseline's same test beyond a condition with the whole 95% interval
past the threshold.  The baseline was measured apart: its interval sees drift within each
session, not a shift between sessions; for a ratio that cancels drift use ``nnspeed check A B``.
"""

from __future__ import annotations

import pytest

# The statistic a session measures its rounds for: the most demanding condition's.
DEMAND = ("p50", "mean", "p90", "p99")


def pytest_addoption(parser):
    group = parser.getgroup("nnspeed", "nnspeed speed tests")
    group.addoption("--nnspeed-save", metavar="NAME", help="store this session's nnspeed_bench results under NAME")
    group.addoption("--nnspeed-compare", metavar="NAME", help="compare each nnspeed_bench result with baseline NAME")
    group.addoption(
        "--nnspeed-fail",
        metavar="STAT:N%",
        help="with --nnspeed-compare: fail on these slowdowns, e.g. p50:5%,p99:10% (default p50:5%)",
    )
    group.addoption("--nnspeed-store", metavar="URL", help="SQLAlchemy URL of the store (default NNSPEED_STORE)")
    group.addoption("--nnspeed-max-time", metavar="S", type=float, default=10.0, help="seconds of rounds per call")
    group.addoption("--nnspeed-any-machine", action="store_true", help="accept a baseline from another machine")


class Session:
    """What one pytest session measured, and the baseline it compares with."""

    def __init__(self, config):
        from .errors import NnspeedError
        from .gate.conditions import parse_conditions

        opt = config.getoption
        self.save, self.compare = opt("--nnspeed-save"), opt("--nnspeed-compare")
        self.url, self.max_time = opt("--nnspeed-store"), opt("--nnspeed-max-time")
        fail = opt("--nnspeed-fail")
        self.results: list = []
        self.baseline = None
        try:
            if fail and not self.compare:
                raise NnspeedError("--nnspeed-fail needs --nnspeed-compare NAME: a slowdown is against a baseline")
            self.conditions = parse_conditions(fail or "p50:5%")
            if self.compare:
                self.baseline = self._load_baseline(opt("--nnspeed-any-machine"))
        except NnspeedError as e:
            raise pytest.UsageError(f"nnspeed: {e}") from None
        self.statistic = max((c.statistic for c in self.conditions), key=DEMAND.index)

    def _load_baseline(self, any_machine: bool):
        from .gate.check import check_machine
        from .store.store import Store

        db = Store(self.url)
        run, ms = db.get_run(db.tagged(self.compare))
        check_machine(run, any_machine)
        return run, {m.extra.get("pytest", {}).get("id"): m for m in ms}

    def measure(self, test_id: str, model_or_source, inputs, settings: dict):
        from .backends.base import Settings
        from .gate.check import CHECK_RULE, measure_in_rounds
        from .measure.interleave import RoundRule
        from .workloads.sources import as_workload

        rule = RoundRule(**{**CHECK_RULE.to_dict(), "max_time": self.max_time})
        workload = as_workload(model_or_source, inputs)
        m = measure_in_rounds(workload, Settings(**{"backend": "torch-eager", **settings}), self.statistic, rule)
        m.extra["pytest"] = {"id": test_id}
        self.results.append(m)
        return m

    def judge(self, test_id: str, m) -> list:
        """Each condition's CheckResult against the baseline's same test (none without one)."""
        from .gate.check import check_against

        if self.baseline is None:
            return []
        run, by_id = self.baseline
        base = by_id.get(test_id)
        if base is None:
            return []
        return [check_against(base, run, m, c, self.compare) for c in self.conditions]


def pytest_configure(config):
    config.addinivalue_line("markers", "nnspeed: a speed test measured with nnspeed_bench")
    if any(config.getoption(o) for o in ("--nnspeed-save", "--nnspeed-compare", "--nnspeed-fail")):
        config._nnspeed = Session(config)


def _session(config) -> Session:
    s = getattr(config, "_nnspeed", None)
    if s is None:
        s = config._nnspeed = Session(config)
    return s


@pytest.fixture
def nnspeed_bench(request):
    """``nnspeed_bench(model_or_source, inputs=None, **settings)`` → Measurement.

    ``model_or_source``: a source string (``zoo:mlp``, ``py:pkg.mod:fn``, ``onnx:PATH``), a
    torch module (with ``inputs``) or a Workload; ``settings``: backend, precision, batch,
    threads, device, options.  With --nnspeed-compare the test fails on a proven regression."""
    session = _session(request.config)
    calls = []

    def bench(model_or_source, inputs=None, **settings):
        test_id = request.node.nodeid + (f"#{len(calls)}" if calls else "")
        calls.append(test_id)
        m = session.measure(test_id, model_or_source, inputs, settings)
        results = session.judge(test_id, m)
        for r in results:
            m.extra.setdefault("pytest", {}).setdefault("checks", []).append(
                {"condition": r.condition.describe(), "verdict": r.verdict, "ratio": r.ratio, "ci95": list(r.ci95)}
            )
        failed = [r for r in results if r.regression]
        if failed:
            pytest.fail("nnspeed: " + "; ".join(r.explanation() for r in failed), pytrace=False)
        return m

    return bench


def pytest_sessionfinish(session, exitstatus):
    s = getattr(session.config, "_nnspeed", None)
    if s is None or not s.results or not s.save:
        return
    from .store.store import Store

    db = Store(s.url, writable=True)
    run_id = db.save_run("pytest", "pytest " + " ".join(session.config.invocation_params.args), s.results)
    db.tag(run_id, s.save)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"nnspeed: stored {len(s.results)} results as run {run_id}, named '{s.save}'")
