import os
import signal

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def interruptible():
    """Popen keyword arguments for a child that Ctrl-C reaches: a shell that runs the tests in
    the background hands its children SIGINT ignored, and Python then never raises
    KeyboardInterrupt."""
    return {"preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)}


@pytest.fixture
def store_url(tmp_path):
    return f"sqlite:///{tmp_path / 'nnspeed.db'}"


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """Each test runs in its own directory: the default store never touches the repo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNSPEED_STORE", raising=False)
    monkeypatch.setenv("NNSPEED_CACHE", str(tmp_path / "cache"))


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
