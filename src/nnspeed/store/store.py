"""Put, get and list runs.  A run is written in one transaction or not at all."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import sqlite3
import time
import zlib
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from ..errors import NotFoundError, StoreError, reason
from ..measure import invariants
from ..measure.measurement import Measurement
from . import schema

DEFAULT_PATH = Path(".nnspeed") / "nnspeed.db"
ENV_VAR = "NNSPEED_STORE"
# How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 60
# How long opening a server's store waits for the server to answer.
CONNECT_TIMEOUT_S = 10
# PostgreSQL advisory lock taken while the tables are created (any fixed number; "nnsp").
SCHEMA_LOCK_ID = 0x6E6E7370


def default_url() -> str:
    return os.environ.get(ENV_VAR) or f"sqlite:///{DEFAULT_PATH}"


def _encode_samples(samples) -> bytes:
    return zlib.compress(np.asarray(samples, dtype="<f8").tobytes())


def _decode_samples(blob: bytes) -> tuple[float, ...]:
    return tuple(np.frombuffer(zlib.decompress(blob), dtype="<f8").tolist())


def _json(obj) -> str:
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        return str(o)

    return json.dumps(obj, default=default, allow_nan=True)


class Store:
    """A handle on one store.  Opening it checks it can be reached and creates the tables."""

    @classmethod
    def of(cls, store: Store | str | None, writable: bool = True) -> Store:
        """``store`` itself when it is open already, else the store at that URL (None: the
        default), checked writable unless told otherwise: what a command that measures opens."""
        return store if isinstance(store, Store) else cls(store, writable=writable)

    def __init__(self, url: str | None = None, writable: bool = False):
        """Open the store; ``writable`` also checks that it can be written, so a read-only store
        fails before anything is measured rather than after (the commands that store runs ask
        for it)."""
        url = url or default_url()
        self.url = url
        try:
            parsed = sa.engine.make_url(url)
        except Exception:
            raise StoreError(f"'{url}' is not a database URL; use e.g. sqlite:///path/to/nnspeed.db") from None
        self.display_url = parsed.render_as_string(hide_password=True)
        parsed = _with_installed_driver(parsed)
        is_sqlite = parsed.get_backend_name() == "sqlite"
        if is_sqlite and url == f"sqlite:///{DEFAULT_PATH}":
            DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
        try:
            if is_sqlite:
                kwargs: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
            elif parsed.get_backend_name() == "postgresql":
                kwargs = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}, "pool_pre_ping": True}
            else:
                kwargs = {}
            self.engine = sa.create_engine(parsed, **kwargs)
            if is_sqlite:
                _sqlite_serialised_writes(self.engine)
            with self.engine.begin() as conn:
                if parsed.get_backend_name() == "postgresql":  # two processes creating the tables at once
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_ID})")
                schema.metadata.create_all(conn)
                row = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")).first()
                if row is None:
                    conn.execute(schema.meta.insert().values(key="schema_version", value=str(schema.SCHEMA_VERSION)))
                elif int(row[0]) > schema.SCHEMA_VERSION:
                    raise StoreError(
                        f"the store at {self.display_url} was written by a newer nnspeed (schema {row[0]}; this one "
                        f"reads up to {schema.SCHEMA_VERSION}); upgrade nnspeed or use another --store"
                    )
                elif int(row[0]) < schema.SCHEMA_VERSION:  # create_all has just added the newer tables
                    if int(row[0]) < 5 and parsed.get_backend_name() == "postgresql":
                        for table, column in schema.WIDENED:
                            conn.exec_driver_sql(
                                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR({schema.NAME_LENGTH})"
                            )
                    conn.execute(
                        schema.meta.update()
                        .where(schema.meta.c.key == "schema_version")
                        .values(value=str(schema.SCHEMA_VERSION))
                    )
        except StoreError:
            raise
        except Exception as e:
            raise StoreError(
                f"cannot open the store at {self.display_url} ({_connect_reason(e)}); check --store or {ENV_VAR}"
            ) from None
        if writable:
            self._check_writable()

    def _check_writable(self) -> None:
        """Write a row and take it back: a store that can be read but not written is found now."""
        try:
            with self.engine.connect() as conn:
                tx = conn.begin()
                conn.execute(schema.meta.insert().values(key=f"write-check-{secrets.token_hex(4)}", value=""))
                tx.rollback()
        except Exception as e:
            raise StoreError(
                f"the store at {self.display_url} cannot be written ({reason(e, 160)}); "
                f"give a writable --store or {ENV_VAR}"
            ) from None

    def save_run(
        self, kind: str, command: str, measurements: list[Measurement], documents: dict[str, dict] | None = None
    ) -> str:
        """Write a run, all its results and its documents in one transaction; returns the run id."""
        run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        env = measurements[0].env if measurements else {}
        rows = [_result_row(run_id, i, m) for i, m in enumerate(measurements)]
        try:
            with self.engine.begin() as conn:
                conn.execute(schema.runs.insert().values(_run_row(run_id, kind, command, env, len(rows))))
                if rows:
                    conn.execute(schema.results.insert(), rows)
                for name, body in (documents or {}).items():
                    checked = dict(body)
                    invariants.attach(checked)
                    conn.execute(schema.documents.insert().values(run_id=run_id, name=name, body=_json(checked)))
        except Exception as e:
            raise StoreError(
                f"could not write the run to {self.display_url} ({reason(e, 160)}); nothing was saved"
            ) from None
        return run_id

    def open_sweep(self, run_id: str, command: str, env: dict) -> dict[str, dict]:
        """Create the sweep's run row unless it exists; return the cells already finished."""

        def create_and_read():
            with self.engine.begin() as conn:
                exists = conn.execute(sa.select(schema.runs.c.id).where(schema.runs.c.id == run_id)).first()
                if exists is None:
                    conn.execute(schema.runs.insert().values(_run_row(run_id, "sweep", command, env, 0)))
                return conn.execute(sa.select(schema.cells).where(schema.cells.c.run_id == run_id)).all()

        try:
            try:
                rows = create_and_read()
            except sa.exc.IntegrityError:
                # Another driver inserted the row between our read and our insert (PostgreSQL reads without
                # locking); the row is there now, so a second try reads it.
                rows = create_and_read()
        except Exception as e:
            raise StoreError(f"could not open sweep {run_id} in {self.display_url} ({reason(e, 160)})") from None
        return {r.cell_key: dict(r._mapping) for r in rows}

    def save_cell(
        self, run_id: str, position: int, cell_key: str, status: str, why: str, seconds: float, m: Measurement | None
    ) -> bool:
        """Record one finished cell (and its result) atomically; False if it was already there."""
        cell = dict(
            run_id=run_id,
            position=position,
            cell_key=cell_key,
            status=status,
            reason=why,
            seconds=seconds,
            finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    sa.select(schema.cells.c.status).where(
                        (schema.cells.c.run_id == run_id) & (schema.cells.c.cell_key == cell_key)
                    )
                ).first()
                if done is not None:
                    return False
                conn.execute(schema.cells.insert().values(cell))  # a writer racing us fails here, below
                if m is not None:
                    conn.execute(schema.results.insert().values(_result_row(run_id, position, m)))
                    conn.execute(
                        schema.runs.update()
                        .where(schema.runs.c.id == run_id)
                        .values(n_results=schema.runs.c.n_results + 1)
                    )
        except sa.exc.IntegrityError:
            return False  # another writer stored this cell first; its transaction won, ours rolled back
        except Exception as e:
            raise StoreError(f"could not store a sweep cell in {self.display_url} ({reason(e, 160)})") from None
        return True

    def forget_failed_cells(self, run_id: str) -> int:
        """Drop the sweep's failed cells so they run again; returns how many."""
        with self.engine.begin() as conn:
            res = conn.execute(
                schema.cells.delete().where((schema.cells.c.run_id == run_id) & (schema.cells.c.status == "failed"))
            )
        return res.rowcount

    def cells(self, run_id: str) -> list[dict]:
        q = sa.select(schema.cells).where(schema.cells.c.run_id == run_id).order_by(schema.cells.c.position)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def document(self, run_id: str, name: str) -> dict | None:
        q = sa.select(schema.documents.c.body).where(
            (schema.documents.c.run_id == run_id) & (schema.documents.c.name == name)
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else json.loads(row[0])

    def documents(self, run_id: str) -> dict[str, dict]:
        """Every document stored with the run, by name."""
        q = sa.select(schema.documents.c.name, schema.documents.c.body).where(schema.documents.c.run_id == run_id)
        with self.engine.connect() as conn:
            return {name: json.loads(body) for name, body in conn.execute(q)}

    def tag(self, run_id: str, name: str) -> str | None:
        """Point ``name`` at a run (moving it if it named another); returns the run it named before."""
        name = name.strip()
        if not name or len(name) > 128:
            raise StoreError("a baseline name needs 1 to 128 characters, e.g. main or v1.2")
        run_id = self.resolve(run_id)
        row = dict(name=name, run_id=run_id, created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        try:
            with self.engine.begin() as conn:
                old = conn.execute(sa.select(schema.tags.c.run_id).where(schema.tags.c.name == name)).first()
                if old is not None:
                    conn.execute(schema.tags.update().where(schema.tags.c.name == name).values(row))
                else:
                    conn.execute(schema.tags.insert().values(row))
        except Exception as e:
            raise StoreError(f"could not write the name '{name}' to {self.display_url} ({reason(e, 160)})") from None
        return None if old is None else old[0]

    def tagged(self, name: str) -> str:
        """The run a baseline name points at."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.tags.c.run_id).where(schema.tags.c.name == name)).first()
        if row is None:
            known = ", ".join(t["name"] for t in self.list_tags()[:5])
            raise NotFoundError(
                f"no baseline named '{name}' in {self.display_url}"
                + (f" (names stored: {known})" if known else "")
                + "; save one with: nnspeed check SOURCE --save-baseline NAME, or nnspeed tag RUN_ID NAME"
            )
        return row[0]

    def list_tags(self) -> list[dict]:
        q = sa.select(schema.tags).order_by(schema.tags.c.created_at.desc(), schema.tags.c.name)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def history(self, source: str, **settings) -> list[tuple[dict, Measurement]]:
        """Every stored result of ``source`` under the given settings (backend=…, batch=…), oldest
        first, each with its run."""
        r, t = schema.results, schema.runs
        q = sa.select(t.c.id, t.c.created_at, t.c.kind, t.c.machine_id, r.c.record, r.c.samples).join(
            t, r.c.run_id == t.c.id
        )
        q = q.where(r.c.source == source)
        for name, value in settings.items():
            if value is not None:
                q = q.where(getattr(r.c, name) == value)
        q = q.order_by(t.c.created_at, t.c.id, r.c.position)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for run_id, created, kind, machine, record, blob in rows:
            data = json.loads(record)
            data["samples_ms"] = _decode_samples(blob)
            out.append(
                (
                    {"id": run_id, "created_at": created, "kind": kind, "machine_id": machine},
                    Measurement.from_record(data),
                )
            )
        return out

    def list_runs(self, limit: int = 20) -> list[dict]:
        q = sa.select(schema.runs).order_by(schema.runs.c.created_at.desc(), schema.runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def count_results(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(schema.results)).scalar_one()

    def resolve(self, run_id: str) -> str:
        """A full run id from a unique prefix of it."""
        like = run_id.replace("%", "").replace("_", r"\_") + "%"
        with self.engine.connect() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    sa.select(schema.runs.c.id).where(schema.runs.c.id.like(like, escape="\\")).limit(3)
                )
            ]
        if not ids:
            raise NotFoundError(f"no run '{run_id}' in {self.display_url}; list them with: nnspeed runs")
        if len(ids) > 1 and run_id not in ids:
            raise NotFoundError(f"run id '{run_id}' is ambiguous ({', '.join(ids[:2])}, …); give more of it")
        return run_id if run_id in ids else ids[0]

    def get_run(self, run_id: str) -> tuple[dict, list[Measurement]]:
        run, by_position = self.get_run_positions(run_id)
        return run, list(by_position.values())

    def get_run_positions(self, run_id: str) -> tuple[dict, dict[int, Measurement]]:
        """The run and its results keyed by position (a sweep cell's index)."""
        run_id = self.resolve(run_id)
        with self.engine.connect() as conn:
            run = dict(conn.execute(sa.select(schema.runs).where(schema.runs.c.id == run_id)).one()._mapping)
            rows = conn.execute(
                sa.select(schema.results.c.position, schema.results.c.record, schema.results.c.samples)
                .where(schema.results.c.run_id == run_id)
                .order_by(schema.results.c.position)
            ).all()
        run["env"] = json.loads(run["env"])
        out = {}
        for position, record, blob in rows:
            data = json.loads(record)
            data["samples_ms"] = _decode_samples(blob)
            out[position] = Measurement.from_record(data)
        return run, out


def _run_row(run_id: str, kind: str, command: str, env: dict, n_results: int) -> dict:
    return dict(
        id=run_id,
        created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        kind=kind,
        command=command,
        machine_id=env.get("machine_id", ""),
        env=_json(env),
        schema_version=schema.SCHEMA_VERSION,
        n_results=n_results,
    )


def _result_row(run_id: str, position: int, m: Measurement) -> dict:
    record = m.to_record()
    samples = record.pop("samples_ms")
    return dict(
        run_id=run_id,
        position=position,
        key=m.key,
        source=m.source,
        backend=m.backend,
        precision=m.precision,
        effective_precision=m.effective_precision,
        batch=m.batch,
        threads=m.threads,
        device=m.device,
        p50_ms=m.latency_ms.p50,
        record=_json(record),
        samples=_encode_samples(samples),
    )


def _sqlite_serialised_writes(engine) -> None:
    """WAL and BEGIN IMMEDIATE: concurrent writers queue on the lock instead of failing."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        _enable_wal(cur)
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _enable_wal(cur) -> None:
    """Switch to WAL, trying again while another process holds the lock.

    Two processes switching a new file at once deadlock on its lock, and SQLite then answers one of them
    "database is locked" at once instead of waiting out the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.05))


def _with_installed_driver(url):
    """``postgresql://`` means psycopg2 to SQLAlchemy; nnspeed's extra installs psycopg (3)."""
    import importlib.util

    if url.drivername == "postgresql":
        if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
            return url.set(drivername="postgresql+psycopg")
        if importlib.util.find_spec("psycopg2") is None:
            raise StoreError(
                f"the store at {url.render_as_string(hide_password=True)} is PostgreSQL, but no PostgreSQL "
                "driver is installed; install it with: pip install 'nnspeed[postgres]'"
            )
    return url


def _connect_reason(e: BaseException) -> str:
    """What a server said when it would not let us in, in a few words."""
    text = str(getattr(e, "orig", None) or e)
    if "password authentication failed" in text:
        return "the server refused the user name or password"
    if "Connection refused" in text:
        return "nothing accepted the connection at that host and port; is the server running?"
    if "timeout expired" in text:
        return f"the server did not answer within {CONNECT_TIMEOUT_S} s"
    if isinstance(e, ModuleNotFoundError):
        return f"its driver is not installed: {e.name}"
    return reason(e, 160)
