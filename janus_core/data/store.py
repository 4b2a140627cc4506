"""The DuckDB research store (``paths.store``, default ``janus.duckdb``).

Each registered dataset appears as one view per table over its Parquet file, named
``<dataset identifier>__<table>`` (e.g. ``synthetic_ashare__events``; rejected rows of a quarantine
import as ``<dataset identifier>__rejected_<table>``; :func:`dataset_identifier` is an injective
mapping, so two datasets never share a view), so notebooks and users query them with SQL (``mo.sql(..., engine=connect(paths, read_only=True))``). The ``datasets``
table lists what is registered; the ``runs`` table holds one row per export
(:func:`append_run`).

The store is a derived index, not a source of truth: views point at the Parquet files of the
dataset's current version by absolute path, and re-registering a dataset (``janus data register NAME``)
rebuilds its views, dropping only the views recorded for that same dataset in ``datasets``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.data.manifest import read_manifest
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


_SIMPLE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: The escapes of :func:`dataset_identifier` for characters other than lowercase letters and digits.
_ESCAPES: dict[str, str] = {"-": "_0", ".": "_1", "_": "_2"}


def dataset_identifier(dataset: str) -> str:
    """The SQL identifier part of a dataset name, an injective mapping onto ``[a-z0-9_]`` with no
    ``__`` in it (DuckDB identifiers ignore case, so case must be spelled out):

    - a *simple* name (lowercase letters and digits in groups joined by single hyphens) maps to itself
      with each hyphen as ``_``: ``synthetic-ashare`` -> ``synthetic_ashare``;
    - any other name maps character by character (lowercase letters and digits as themselves, an
      uppercase letter as ``_`` + its lowercase, ``-`` as ``_0``, ``.`` as ``_1``, ``_`` as ``_2``, any
      other character as ``_9`` + its code point in 6 hex digits), followed by one ``_``:
      ``Mini`` -> ``_mini_``, ``CON-`` -> ``_c_o_n_0_``, ``con-`` -> ``con_0_``.

    Simple images never end in ``_`` and the others always do, and within each family the encoding
    is prefix-free, so two names never share an identifier; since no identifier contains ``__``,
    ``<identifier>__<table>`` never collides either."""
    if _SIMPLE_NAME.match(dataset):
        return dataset.replace("-", "_")
    out = []
    for ch in dataset:
        if "a" <= ch <= "z" or "0" <= ch <= "9":
            out.append(ch)
        elif "A" <= ch <= "Z":
            out.append("_" + ch.lower())
        else:
            out.append(_ESCAPES.get(ch) or f"_9{ord(ch):06x}")
    return "".join(out) + "_"


def view_name(dataset: str, table: str) -> str:
    """SQL view name of ``table`` of ``dataset``: ``dataset_identifier(dataset) + "__" + table``
    (``synthetic-ashare``, ``events`` -> ``synthetic_ashare__events``)."""
    return dataset_identifier(dataset) + "__" + table


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def connect(paths: WorkbenchPaths | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the store, creating the file and its ``datasets`` and ``runs`` tables if
    missing. Use ``read_only=True`` in notebooks so several readers can share the file."""
    paths = paths or WorkbenchPaths.from_env()
    try:
        if read_only and not paths.store.exists():
            connect(paths, read_only=False).close()
        if not read_only:
            paths.store.parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(str(paths.store), read_only=read_only)
        if not read_only:
            for ddl in _SCHEMA:
                conn.execute(ddl)
        return conn
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot open the store {paths.store} ({'read-only' if read_only else 'read-write'}): {exc}"
        ) from exc


def register_dataset(name: str, paths: WorkbenchPaths | None = None) -> list[str]:
    """Create or replace the views of dataset ``name`` (from its manifest) and its ``datasets`` row;
    views this dataset registered before for tables no longer in the manifest are dropped (only those:
    the ``datasets`` row records each dataset's views). Returns the view names."""
    paths = paths or WorkbenchPaths.from_env()
    manifest = read_manifest(name, paths)
    wanted = {view_name(name, t): e.path for t, e in manifest.tables.items()}
    wanted |= {view_name(name, f"rejected_{t}"): e.path for t, e in manifest.rejected.items()}
    with connect(paths) as conn:
        recorded: dict[str, set[str]] = {}
        for owner, views in conn.execute("SELECT name, views FROM datasets").fetchall():
            try:
                recorded[owner] = {v for v in json.loads(views or "[]") if isinstance(v, str)}
            except ValueError:
                recorded[owner] = set()
        others = set().union(*(v for owner, v in recorded.items() if owner != name))
        present = {r[0] for r in conn.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        conn.execute("BEGIN TRANSACTION")
        # a store written before the injective names may record a view under two datasets: keep those
        for view in sorted((recorded.get(name, set()) & present) - set(wanted) - others):
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


def recorded_run(run_id: str, paths: WorkbenchPaths | None = None) -> dict[str, Any] | None:
    """The ``runs`` row of ``run_id`` as a dict, or None when the store does not exist, cannot be opened
    read-only (another process holds its write lock) or has no such row. Never creates the store."""
    paths = paths or WorkbenchPaths.from_env()
    if not paths.store.is_file():
        return None
    try:
        with connect(paths, read_only=True) as conn:
            row = conn.execute(f"SELECT {', '.join(RUNS_SCHEMA)} FROM runs WHERE run_id = ?", [run_id]).fetchone()
    except (StoreError, duckdb.Error):
        return None
    return dict(zip(RUNS_SCHEMA, row, strict=True)) if row is not None else None


def registered_datasets(paths: WorkbenchPaths | None = None) -> pl.DataFrame:
    """The ``datasets`` table, ordered by name."""
    paths = paths or WorkbenchPaths.from_env()
    with connect(paths, read_only=True) as conn:
        return conn.sql("SELECT * FROM datasets ORDER BY name").pl()
