"""An interrupted bench (Ctrl-C or kill -9) leaves no half record in the store."""

import signal
import subprocess
import sys
import time

import pytest

from nnspeed.store.store import Store

# The CLI in a child process, telling the test on stderr when each configuration starts (the
# measurement's own start, so the signal lands inside it however slow the machine is).
CHILD = """
import sys
import nnspeed.commands.bench as bench

grid = bench.bench_grid

def traced(*args, on_start=None, **kwargs):
    def start(i, src, settings):
        print(f"starting configuration {i + 1}", file=sys.stderr, flush=True)
        if on_start:
            on_start(i, src, settings)
    return grid(*args, on_start=start, **kwargs)

bench.bench_grid = traced
from nnspeed.cli.app import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_bench_stores_nothing(sig, store_url, interruptible):
    Store(store_url)  # the store exists beforehand, as it would after earlier runs
    argv = ["bench", "zoo:mlp", "zoo:cnn", "--min-time", "5", "--max-time", "5", "--store", store_url]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **interruptible
    )
    # Inside the second model's measurement: the first is done, nothing stored yet.
    seen = []
    while not seen or (seen[-1] and not seen[-1].startswith("starting configuration 2")):
        seen.append(proc.stderr.readline())
    assert seen[-1].startswith("starting configuration 2"), "".join(seen)
    time.sleep(0.5)  # well inside its 5 s window
    proc.send_signal(sig)
    _, rest = proc.communicate(timeout=60)
    err = "".join(seen) + rest
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "nothing was stored" in err
    db = Store(store_url)
    assert db.list_runs() == [] and db.count_results() == 0
