import multiprocessing as mp

import pytest

from nnspeed.errors import NotFoundError, StoreError
from nnspeed.measure.measurement import Measurement
from nnspeed.store.store import Store


def fake(p50=1.0, backend="torch-eager", n=50) -> Measurement:
    return Measurement(
        source="zoo:mlp",
        backend=backend,
        precision="fp32",
        effective_precision="fp32",
        batch=1,
        threads=1,
        device="cpu",
        samples_ms=tuple(p50 + 0.001 * i for i in range(n)),
        first_call_ms=5.0,
        timer_overhead_ns=40.0,
        env={"machine_id": "abc", "cpu": "test"},
    )


def test_round_trip_keeps_samples_and_settings(store_url):
    db = Store(store_url)
    m = fake()
    run_id = db.save_run("bench", "nnspeed bench zoo:mlp", [m, fake(2.0, "onnxruntime")])
    run, ms = db.get_run(run_id[:17])  # a unique prefix is enough
    assert run["id"] == run_id and run["env"]["machine_id"] == "abc"
    assert ms[0].samples_ms == m.samples_ms
    assert ms[0].to_dict() == m.to_dict()
    assert [x.backend for x in ms] == ["torch-eager", "onnxruntime"]
    assert db.list_runs()[0]["n_results"] == 2


def test_unknown_run(store_url):
    with pytest.raises(NotFoundError):
        Store(store_url).get_run("nope")


@pytest.mark.parametrize(
    "url",
    ["sqlite:////nonexistent-dir/sub/x.db", "not a url", "postgresql+nosuchdriver://u:secret@127.0.0.1/db"],
)
def test_unreachable_store_is_a_clear_error(url):
    with pytest.raises(StoreError) as e:
        Store(url)
    assert "secret" not in str(e.value)


def test_corrupt_database_file(tmp_path):
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(f"sqlite:///{path}")


def test_failed_write_leaves_nothing(store_url, monkeypatch):
    db = Store(store_url)
    bad = fake()
    object.__setattr__(bad, "backend", None)  # violates NOT NULL on the second row
    with pytest.raises(StoreError, match="nothing was saved"):
        db.save_run("bench", "x", [fake(), bad])
    assert db.list_runs() == [] and db.count_results() == 0


def _writer(url, k):
    db = Store(url)
    for _ in range(k):
        db.save_run("bench", "concurrent", [fake(), fake()])


def test_two_processes_writing_at_once_lose_nothing(store_url):
    Store(store_url)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(store_url, 15)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    db = Store(store_url)
    assert len(db.list_runs(limit=100)) == 30
    assert db.count_results() == 60


def test_old_records_still_load(store_url):
    """A record missing fields added later gets their defaults."""
    old = {k: v for k, v in fake().to_record().items() if k not in ("extra", "notes", "warmup")}
    m = Measurement.from_record(old)
    assert m.extra == {} and m.notes == ()
