"""The store on SQLite and on PostgreSQL (``any_store_url``): same guarantees on both."""

import multiprocessing as mp
import os
import signal
import time

import pytest
import sqlalchemy as sa

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


def test_round_trip_keeps_samples_and_settings(any_store_url):
    db = Store(any_store_url)
    m = fake()
    run_id = db.save_run("bench", "nnspeed bench zoo:mlp", [m, fake(2.0, "onnxruntime")])
    run, ms = db.get_run(run_id[:17])  # a unique prefix is enough
    assert run["id"] == run_id and run["env"]["machine_id"] == "abc"
    assert ms[0].samples_ms == m.samples_ms
    assert ms[0].to_dict() == m.to_dict()
    assert [x.backend for x in ms] == ["torch-eager", "onnxruntime"]
    assert db.list_runs()[0]["n_results"] == 2


def test_long_precision_and_device_names_fit(any_store_url):
    """PostgreSQL enforces column widths where SQLite does not."""
    from dataclasses import replace

    db = Store(any_store_url)
    m = replace(fake(), precision="int8", effective_precision="dynamic-range int8", device="cuda:0")
    _, (back,) = db.get_run(db.save_run("bench", "litert int8", [m]))
    assert back.effective_precision == "dynamic-range int8"


def test_a_schema_4_postgresql_store_gets_its_columns_widened(postgres_url):
    from dataclasses import replace

    Store(postgres_url).save_run("bench", "old", [fake()])
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE nnspeed_results ALTER COLUMN effective_precision TYPE VARCHAR(16)")
    engine.dispose()
    _set_schema_version(postgres_url, 4)
    db = Store(postgres_url)
    db.save_run("bench", "new", [replace(fake(), effective_precision="dynamic-range int8")])
    assert db.count_results() == 2


def test_unknown_run(any_store_url):
    with pytest.raises(NotFoundError):
        Store(any_store_url).get_run("nope")


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


def test_failed_write_leaves_nothing(any_store_url):
    db = Store(any_store_url)
    bad = fake()
    object.__setattr__(bad, "backend", None)  # violates NOT NULL on the second row
    with pytest.raises(StoreError, match="nothing was saved"):
        db.save_run("bench", "x", [fake(), bad])
    assert db.list_runs() == [] and db.count_results() == 0


def _writer(url, k):
    db = Store(url)
    for _ in range(k):
        db.save_run("bench", "concurrent", [fake(), fake()])


def _run_all(procs, timeout=120):
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
        assert p.exitcode == 0


def test_two_processes_writing_at_once_lose_nothing(any_store_url):
    Store(any_store_url)
    ctx = mp.get_context("spawn")
    _run_all([ctx.Process(target=_writer, args=(any_store_url, 15)) for _ in range(2)])
    db = Store(any_store_url)
    assert len(db.list_runs(limit=100)) == 30
    assert db.count_results() == 60


def _cell_writer(url, keys, wins, together):
    together.wait(30)  # both open the new store at once, and then the sweep
    db = Store(url)
    together.wait(30)
    db.open_sweep("sweep-race", "nnspeed sweep", {"machine_id": "abc"})
    wins.put(sum(db.save_cell("sweep-race", i, k, "ok", "", 0.1, fake()) for i, k in enumerate(keys)))


def test_two_writers_of_the_same_cells_store_each_once(any_store_url):
    """Two drivers resuming one sweep at once: every cell is stored by exactly one of them."""
    keys = [f"zoo:mlp|torch-eager|fp32|b{b}|tauto|cpu" for b in range(20)]
    ctx = mp.get_context("spawn")
    wins, together = ctx.Queue(), ctx.Barrier(2)
    _run_all([ctx.Process(target=_cell_writer, args=(any_store_url, keys, wins, together)) for _ in range(2)])
    assert wins.get(timeout=10) + wins.get(timeout=10) == len(keys)
    db = Store(any_store_url)
    assert [c["cell_key"] for c in db.cells("sweep-race")] == keys
    run, by_position = db.get_run_positions("sweep-race")
    assert run["n_results"] == len(keys) and sorted(by_position) == list(range(len(keys)))


def _stalled_writer(url, marker):
    """Writes a run and stops for good between its run row and its results."""
    db = Store(url)

    @sa.event.listens_for(db.engine, "before_cursor_execute")
    def _stall(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO NNSPEED_RESULTS"):
            open(marker, "w").close()
            time.sleep(600)

    db.save_run("bench", "killed", [fake(), fake()])


def test_a_killed_writer_leaves_no_half_record(any_store_url, tmp_path):
    Store(any_store_url).save_run("bench", "before", [fake()])
    marker = tmp_path / "inside-the-transaction"
    p = mp.get_context("spawn").Process(target=_stalled_writer, args=(any_store_url, str(marker)))
    p.start()
    deadline = time.monotonic() + 120
    while not marker.exists() and p.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the writer never reached its results"
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    db = Store(any_store_url)
    assert [r["command"] for r in db.list_runs()] == ["before"]
    assert db.count_results() == 1
    db.save_run("bench", "after", [fake()])  # and the store still takes writes
    assert db.count_results() == 2


def _set_schema_version(url, version):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE nnspeed_meta SET value = '{version}' WHERE key = 'schema_version'")
    engine.dispose()


def test_a_store_from_a_newer_nnspeed_is_refused_untouched(any_store_url):
    from nnspeed.store import schema

    Store(any_store_url).save_run("bench", "kept", [fake()])
    _set_schema_version(any_store_url, schema.SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="newer nnspeed"):
        Store(any_store_url)
    engine = sa.create_engine(any_store_url)  # the tests' URLs name their driver
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM nnspeed_runs").scalar_one() == 1
        assert conn.exec_driver_sql("SELECT value FROM nnspeed_meta").scalar_one() == str(schema.SCHEMA_VERSION + 1)
    engine.dispose()


def test_an_older_store_gains_the_new_tables(any_store_url):
    from nnspeed.store import schema

    db = Store(any_store_url)
    run_id = db.save_run("bench", "old", [fake()])
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE nnspeed_tags")
    _set_schema_version(any_store_url, 3)
    db = Store(any_store_url)
    assert db.tag(run_id, "main") is None and db.tagged("main") == run_id
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM nnspeed_meta").scalar_one() == str(schema.SCHEMA_VERSION)


def test_postgresql_refusals_are_one_sentence(postgres_url):
    url = sa.engine.make_url(postgres_url)
    for bad, said in [
        (url.set(password="not-the-password"), "refused the user name or password"),
        (url.set(port=1), "nothing accepted the connection"),
    ]:
        with pytest.raises(StoreError, match=said) as e:
            Store(bad.render_as_string(hide_password=False))
        assert "not-the-password" not in str(e.value) and "\n" not in str(e.value)


def test_old_records_still_load(store_url):
    """A record missing fields added later gets their defaults."""
    old = {k: v for k, v in fake().to_record().items() if k not in ("extra", "notes", "warmup")}
    m = Measurement.from_record(old)
    assert m.extra == {} and m.notes == ()
