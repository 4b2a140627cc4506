"""The DuckDB research store (``paths.store``, default ``janus.duckdb``).

Each registered dataset appears as one view per table over its Parquet file, named
``<dataset with non-alphanumerics as underscores>__<table>`` (e.g. ``synthetic_ashare__events``;
rejected rows of a quarantine import as ``<dataset>__rejected_<table>``), so notebooks and users
query them with SQL (``mo.sql(..., engine=connect(paths, read_only=True))``). The ``datasets``
table lists what is registered; the ``runs`` table holds one row per export
(:func:`append_run`).

The store is a derived index, not a source of truth: views point at the Parquet files by absolute
path, and re-registering a dataset (``janus data register NAME``) rebuilds its views.
"""

from __future__ import annotations

import json
import re
from typing import Any

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.paths import WorkbenchPaths

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS datasets (
        name VARCHAR PRIMARY KEY, version VARCHAR, provenance VARCHAR, snapshot_hash VARCHAR,
        manifest_path VARCHAR, views VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, created_at VARCHAR, dataset VARCHAR, dataset_snapshot_hash VARCHAR,
        config_hash VARCHAR, artifact_hashes VARCHAR, headline_metrics VARCHAR, gate_verdict VARCHAR,
        out_dir VARCHAR)""",
)
RUNS_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "created_at": pl.String(),
    "dataset": pl.String(),
    "dataset_snapshot_hash": pl.String(),
    "config_hash": pl.String(),
    "artifact_hashes": pl.String(),
    "headline_metrics": pl.String(),
    "gate_verdict": pl.String(),
    "out_dir": pl.String(),
}


class StoreError(RuntimeError):
    """The store could not be opened or written (e.g. another process holds its write lock)."""


class RunRecord(BaseModel):
    """One export run. ``artifact_hashes`` (file -> SHA-256) and ``headline_metrics`` are stored as
    canonical JSON text (query with DuckDB's JSON functions, e.g. ``headline_metrics->>'$.sharpe'``)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    created_at: str
    dataset: str
    dataset_snapshot_hash: str | None
    config_hash: str
    artifact_hashes: dict[str, str]
    headline_metrics: dict[str, Any]
    gate_verdict: str
    out_dir: str


def view_name(dataset: str, table: str) -> str:
    """SQL view name of ``table`` of ``dataset``: ``synthetic-ashare``, ``events`` ->
    ``synthetic_ashare__events``."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", dataset).lower() + "__" + table


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def connect(paths: WorkbenchPaths | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the store, creating the file and its ``datasets`` and ``runs`` tables if
    missing. Use ``read_only=True`` in notebooks so several readers can share the file.

    Open it for one operation and close it (``with connect(paths) as conn: ...`` closes on exit, as
    every function of this module does): a connection still alive when the interpreter exits holds
    the file's lock until then and makes DuckDB's bindings print "nanobind: leaked ..." lines."""
    paths = paths or WorkbenchPaths.from_env()
    try:
        if read_only and not paths.store.exists():
            connect(paths, read_only=False).close()
        if not read_only:
            paths.store.parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(str(paths.store), read_only=read_only)
        try:
            if not read_only:
                for ddl in _SCHEMA:
                    conn.execute(ddl)
        except BaseException:
            conn.close()
            raise
        return conn
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot open the store {paths.store} ({'read-only' if read_only else 'read-write'}): {exc}"
        ) from exc


def register_dataset(name: str, paths: WorkbenchPaths | None = None) -> list[str]:
    """Create or replace the views of dataset ``name`` (from its manifest) and its ``datasets`` row;
    views of tables no longer in the manifest are dropped. Returns the view names."""
    from janus_core.manifest import read_manifest

    paths = paths or WorkbenchPaths.from_env()
    manifest = read_manifest(name, paths)
    wanted = {view_name(name, t): e.path for t, e in manifest.tables.items()}
    wanted |= {view_name(name, f"rejected_{t}"): e.path for t, e in manifest.rejected.items()}
    prefix = view_name(name, "")
    with connect(paths) as conn:
        existing = [
            r[0]
            for r in conn.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal AND starts_with(view_name, ?)", [prefix]
            ).fetchall()
        ]
        conn.execute("BEGIN TRANSACTION")
        for view in sorted(set(existing) - set(wanted)):
            conn.execute(f"DROP VIEW {_quote_ident(view)}")
        for view, rel in sorted(wanted.items()):
            target = (paths.data_dir / rel).resolve()
            conn.execute(
                f"CREATE OR REPLACE VIEW {_quote_ident(view)} AS SELECT * FROM read_parquet({_quote_str(str(target))})"
            )
        conn.execute("DELETE FROM datasets WHERE name = ?", [name])
        conn.execute(
            "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?)",
            [
                name,
                manifest.version,
                manifest.provenance,
                manifest.snapshot_hash,
                str(paths.manifest_path(name).resolve()),
                json.dumps(sorted(wanted)),
            ],
        )
        conn.execute("COMMIT")
    return sorted(wanted)


def append_run(row: RunRecord, paths: WorkbenchPaths | None = None) -> None:
    """Add one export run to ``runs``; a run with the same ``run_id`` (a deterministic re-run)
    replaces the earlier row."""
    paths = paths or WorkbenchPaths.from_env()
    record = row.model_dump()
    record["artifact_hashes"] = json.dumps(record["artifact_hashes"], sort_keys=True)
    record["headline_metrics"] = json.dumps(record["headline_metrics"], sort_keys=True)
    with connect(paths) as conn:
        conn.execute(
            f"INSERT OR REPLACE INTO runs ({', '.join(RUNS_SCHEMA)}) VALUES ({', '.join('?' for _ in RUNS_SCHEMA)})",
            [record[c] for c in RUNS_SCHEMA],
        )


def runs(paths: WorkbenchPaths | None = None) -> pl.DataFrame:
    """Every recorded run, ordered by (created_at, run_id); empty (with the columns) when none."""
    paths = paths or WorkbenchPaths.from_env()
    if not paths.store.exists():
        return pl.DataFrame(schema=RUNS_SCHEMA)
    with connect(paths, read_only=True) as conn:
        frame = conn.sql(f"SELECT {', '.join(RUNS_SCHEMA)} FROM runs ORDER BY created_at, run_id").pl()
    return frame.cast(RUNS_SCHEMA) if frame.height else pl.DataFrame(schema=RUNS_SCHEMA)


def registered_datasets(paths: WorkbenchPaths | None = None) -> pl.DataFrame:
    """The ``datasets`` table, ordered by name."""
    paths = paths or WorkbenchPaths.from_env()
    with connect(paths, read_only=True) as conn:
        return conn.sql("SELECT * FROM datasets ORDER BY name").pl()
