"""Tables.  Raw samples are kept; every record carries the schema version it was written with."""

from __future__ import annotations

import sqlalchemy as sa

# 2: sweep cells (nnspeed_cells).  3: documents (a study's claims).  4: named baselines
# (nnspeed_tags).  5: precision and device columns 64 wide ("dynamic-range int8" did not fit
# 16 where the database enforces lengths; store.WIDENED lists them).  Older stores gain the new
# tables, and the wider columns, when next opened.
SCHEMA_VERSION = 5
# Enough for any precision or device name ("dynamic-range int8", "cuda:0", ...).
NAME_LENGTH = 64

metadata = sa.MetaData()

meta = sa.Table(
    "nnspeed_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "nnspeed_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("machine_id", sa.String(32), nullable=False),
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("n_results", sa.Integer, nullable=False),
)

results = sa.Table(
    "nnspeed_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("nnspeed_runs.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("backend", sa.String(64), nullable=False),
    sa.Column("precision", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("effective_precision", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("threads", sa.Integer),
    sa.Column("device", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("p50_ms", sa.Float, nullable=False),
    sa.Column("record", sa.Text, nullable=False),  # JSON: the Measurement without its samples
    sa.Column("samples", sa.LargeBinary, nullable=False),  # zlib-compressed little-endian float64 ms
)

# Columns widened in schema 5, as (table, column): stores whose database enforces lengths are
# altered when opened.
WIDENED = (("nnspeed_results", "precision"), ("nnspeed_results", "effective_precision"), ("nnspeed_results", "device"))

# One row per finished sweep cell.  The primary key makes "each cell exactly once" a
# property of the database, whoever writes and however often a sweep is restarted.
cells = sa.Table(
    "nnspeed_cells",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("nnspeed_runs.id"), primary_key=True),
    sa.Column("cell_key", sa.String(512), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # ok | failed
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("finished_at", sa.String(32), nullable=False),
)

# JSON documents that belong to a run (a study's claims), written with the run.
documents = sa.Table(
    "nnspeed_documents",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("nnspeed_runs.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)

# Named baselines: a name points at one run (``nnspeed tag RUN NAME``); naming again moves it.
tags = sa.Table(
    "nnspeed_tags",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("nnspeed_runs.id"), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
