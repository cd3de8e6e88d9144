"""An interrupted bench (Ctrl-C or kill -9) leaves no half record in the store."""

import signal
import subprocess
import sys
import time

import pytest

from nnspeed.store.store import Store


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_bench_stores_nothing(sig, store_url, interruptible):
    Store(store_url)  # the store exists beforehand, as it would after earlier runs
    cmd = [
        sys.executable,
        "-m",
        "nnspeed",
        "bench",
        "zoo:mlp",
        "zoo:cnn",
        "--min-time",
        "5",
        "--max-time",
        "5",
        "--store",
        store_url,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **interruptible)
    # Inside the second model's measurement: the first is done, nothing stored yet.
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if line.startswith("measuring 2/2") or not line:
            break
    assert seen[-1].startswith("measuring 2/2"), "".join(seen)
    time.sleep(0.5)  # well inside its 5 s window
    proc.send_signal(sig)
    _, rest = proc.communicate(timeout=60)
    err = "".join(seen) + rest
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "nothing was stored" in err
    db = Store(store_url)
    assert db.list_runs() == [] and db.count_results() == 0
