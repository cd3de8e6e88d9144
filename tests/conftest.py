import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests import contracts

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Ray keeps to 127.0.0.1 (on Linux it would advertise the machine's outward address); it reads
# this when first imported, so it is set before any test imports it.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture
def interruptible():
    """Popen keyword arguments for a child that Ctrl-C reaches: a shell that runs the tests in
    the background hands its children SIGINT ignored, and Python then never raises
    KeyboardInterrupt."""
    return {"preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)}


@pytest.fixture
def store_url(tmp_path):
    return f"sqlite:///{tmp_path / 'nnspeed.db'}"


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A PostgreSQL server's URL: NNSPEED_TEST_POSTGRES when set (CI starts one), else a
    throwaway server on 127.0.0.1 started here from Debian's binaries.  Skips without them,
    unless NNSPEED_REQUIRE_POSTGRES=1 (CI), where a missing server fails the run."""
    url = os.environ.get("NNSPEED_TEST_POSTGRES")
    if url:
        yield url
        return
    script = Path(__file__).resolve().parents[1] / ".ci" / "postgres"
    if not any(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        if os.environ.get("NNSPEED_REQUIRE_POSTGRES") == "1":
            pytest.fail("NNSPEED_REQUIRE_POSTGRES=1 but PostgreSQL is not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # the cluster runs as the postgres user when we are root: a folder it may enter
    d = Path(tempfile.mkdtemp(prefix="nnspeed-pg-", dir="/tmp"))
    os.chmod(d, 0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run([str(script), "start", str(d), str(port)], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        pytest.fail(f"could not start PostgreSQL: {out.stderr.strip()[-300:]}")
    try:
        yield out.stdout.strip()
    finally:
        subprocess.run([str(script), "stop", str(d)], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test server, dropped afterwards."""
    import sqlalchemy as sa

    name = "t_" + secrets.token_hex(6)
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.engine.make_url(postgres_server).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_url(request, tmp_path):
    """The store tests run on both databases the store is promised for."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nnspeed.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def cache_with_trained_weights(tmp_path_factory):
    """Makes a cache folder of a test's own whose trained zoo weights are the run's shared ones:
    training is deterministic (seeded, keyed by recipe and framework version), and the digits
    CNN alone takes ~18 s to train."""
    trained = tmp_path_factory.mktemp("trained")

    def make(root):
        root.mkdir(parents=True, exist_ok=True)
        link = root / "trained"
        if not link.exists():
            link.symlink_to(trained, target_is_directory=True)
        return root

    return make


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch, cache_with_trained_weights):
    """Each test runs in its own directory with its own cache (only trained weights are shared):
    the default store never touches the repo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNSPEED_STORE", raising=False)
    monkeypatch.setenv("NNSPEED_CACHE", str(cache_with_trained_weights(tmp_path / "cache")))


@pytest.fixture
def cli_json(capsys):
    """Run the CLI in-process and parse its JSON output; fails on a non-zero exit."""
    import json

    from nnspeed.cli.app import main

    def run(argv: list[str]) -> dict:
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return json.loads(captured.out)

    return run


def assert_same_document(a, b, path="doc"):
    """Same keys all the way down, same kinds of value; None stands for a figure one run had
    and the other did not (an empty interval, a mode not reached)."""
    if a is None or b is None:
        return
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (
            f"{path}: {sorted(a)} vs {sorted(b) if isinstance(b, dict) else b}"
        )
        for k in a:
            assert_same_document(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list), path
        if a and b:
            assert_same_document(a[0], b[0], f"{path}[0]")
    elif isinstance(a, bool) or isinstance(b, bool):
        assert isinstance(a, bool) and isinstance(b, bool), path
    elif isinstance(a, (int, float)):
        assert isinstance(b, (int, float)), path
    else:
        assert type(a) is type(b), path


@pytest.fixture
def same_document():
    """Asserts two documents have the same structure: a command's --json and its function's
    to_dict() (the figures differ between two runs; keys and kinds of value do not)."""
    return assert_same_document


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the whole session, started when a test first asks for it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: .ci/run installs chromium and playwright")
        pytest.skip("playwright is not installed")
    from tests.browser.pages import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def report_page(request, tmp_path):
    """``report_page(run_id, store_url, name)``: ``nnspeed report RUN_ID`` of a stored run, opened
    in the browser; fails on a console error, a request off the machine or a plot not drawn, and
    returns what the page showed (plots, sections).  Where no browser is installed (never in CI)
    the report is still written and read as HTML, and the browser's part is left out."""
    from nnspeed.cli.app import main
    from tests.browser.pages import open_report, read_report

    try:
        browser = request.getfixturevalue("browser")
    except pytest.skip.Exception:
        browser = None

    def show(run_id: str, store_url: str, name: str) -> dict:
        path = tmp_path / f"{name}-report.html"
        assert main(["report", run_id, "-o", str(path), "--store", store_url]) == 0
        if browser is None:
            return read_report(path)
        seen = open_report(browser, path, f"{name}-report.png")
        assert seen["errors"] == [] and seen["remote"] == [], seen
        assert all(k > 0 for k in seen["drawn"]), seen["drawn"]
        return seen

    return show


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory):
    """The quick study, run once for every test that reads its outputs."""
    from nnspeed.cli.app import main

    root = tmp_path_factory.mktemp("study")
    url = f"sqlite:///{root / 'nnspeed.db'}"
    # claims 13-15 (the Keras tutorial section) need TensorFlow: test_tensorflow.py runs them
    code = main(
        ["study", "--quick", "--claims", ",".join(map(str, range(1, 13))), "--out", str(root / "out"), "--store", url]
    )
    assert code == 0
    return root / "out", url


@pytest.fixture
def one_core():
    """The test's process, and every thread it starts, on one core.  Where another process
    keeps a core busy, two single-threaded timers taking turns otherwise meet it unevenly,
    when the scheduler moves one's turn onto that core.  (Not for a runtime with helper
    threads: LoadGen's then share the model's core and read slow even on an idle machine.)"""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    yield
    os.sched_setaffinity(0, before)


# --- every result the tests produce passes through the invariant checker -------------------
# Each CommandResult checks itself when made (and a CheckResult when written out); the checks
# are observed here, counted per result type for the integration tests, and a figure that
# contradicts another by definition (an ``exact`` violation) fails the test that produced it.
# Tests that plant an inconsistency on purpose carry ``@pytest.mark.planted``.
INVARIANTS_SEEN: dict[str, list[int]] = {}  # result type -> [documents, measured violations]
_checked: list[tuple[str, list]] = []


def pytest_addoption(parser):
    parser.addoption(
        "--record-contracts",
        action="store_true",
        help="record the keys of the documents each test makes in tests/contracts.json",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "planted: plants an inconsistency; the invariant fixture lets it pass")
    from nnspeed.commands.history import History
    from nnspeed.commands.results import CommandResult
    from nnspeed.gate.check import CheckResult
    from nnspeed.measure.invariants import Violation

    recheck = CommandResult.recheck

    def observed_recheck(self):
        found = recheck(self)
        kind = type(self).__name__.removesuffix("Result").lower()
        _checked.append((kind, found))
        contracts.seen(kind, self.document)
        return found

    def observed(kind, to_dict):
        def observed_to_dict(self):
            doc = to_dict(self)
            _checked.append((kind, [Violation(**v) for v in doc["invariants"]["violations"]]))
            contracts.seen(kind, doc)
            return doc

        return observed_to_dict

    CommandResult.recheck = observed_recheck
    CheckResult.to_dict = observed("check", CheckResult.to_dict)
    History.to_dict = observed("history", History.to_dict)
    contracts.observe(config)


@pytest.fixture(autouse=True)
def invariants_hold(request):
    yield
    from nnspeed.measure.invariants import EXACT

    seen, _checked[:] = list(_checked), []
    if "integration" in request.node.nodeid:
        for kind, found in seen:
            row = INVARIANTS_SEEN.setdefault(kind, [0, 0])
            row[0] += 1
            row[1] += sum(v.kind != EXACT for v in found)
    broken = [f"{kind}: {v}" for kind, found in seen for v in found if v.kind == EXACT]
    if broken and request.node.get_closest_marker("planted") is None:
        pytest.fail("a result contradicts itself:\n" + "\n".join(broken), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if INVARIANTS_SEEN:
        rows = ", ".join(
            f"{k} {n}" + (f" ({m} measured warnings)" if m else "") for k, (n, m) in sorted(INVARIANTS_SEEN.items())
        )
        terminalreporter.write_line(
            f"invariants checked on {sum(n for n, _ in INVARIANTS_SEEN.values())} results: {rows}"
        )
