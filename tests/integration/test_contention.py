"""A bench that shares its cores with a busy process says so, with the figure.

Only the presence of the warning under made contention is asserted: on a shared machine an
idle-looking run may warn too, from load this test does not control.
"""

import os
import subprocess
import sys

import pytest

import nnspeed

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs two CPUs and CPU affinity (Linux)",
)


@pytest.fixture
def two_cpus_busy():
    """This process on two CPUs, and a process spinning on each of them: the scheduler shares
    each CPU between a spinner and a bench thread, so other processes hold about one core in
    all, well past the warning's half a core (one spinner alone would hold about half)."""
    before = os.sched_getaffinity(0)
    cpus = sorted(before)[:2]
    os.sched_setaffinity(0, set(cpus))
    spins = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in cpus]
    for spin, cpu in zip(spins, cpus):
        os.sched_setaffinity(spin.pid, {cpu})
    try:
        yield
    finally:
        for spin in spins:
            spin.kill()
            spin.wait()
        os.sched_setaffinity(0, before)


def test_bench_at_two_threads_beside_busy_cores_warns(two_cpus_busy):
    m = nnspeed.bench("zoo:mlp", threads=2, min_time=0.5, max_time=1)
    c = m.extra["contention"]
    assert c["cores"] == 2 and c["threads"] == 2
    assert c["other_cores"] > 0.5  # the spinning process held most of a core
    warning = [w for w in m.warnings if w.startswith("other processes used")]
    assert warning, m.warnings
    assert f"{c['other_cores']:.2f}" in warning[0] and "try --threads 1" in warning[0]
    assert m.to_dict()["contention"] == c  # and in --json
