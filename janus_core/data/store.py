"""The DuckDB research store (``paths.store``, default ``janus.duckdb``).

Each registered dataset appears as one view per table over its Parquet file, named
``<dataset identifier>__<table>`` (e.g. ``synthetic_ashare__events``; rejected rows of a quarantine
import as ``<dataset identifier>__rejected_<table>``; :func:`dataset_identifier` is an injective
mapping, so two datasets never share a view), so notebooks and users query them with SQL (``mo.sql(..., engine=connect(paths, read_only=True))``). The ``datasets``
table lists what is registered; the ``runs`` table holds one row per export
(:func:`append_run`); the ``completions`` table caches model completions for ``janus decide``
(:func:`cached_completions`, :func:`put_completions`); the ``trials`` table is the trials ledger: one row
per evaluated configuration of a candidate on a dataset (:func:`record_trial`), from which the number of
trials behind a candidate and the variance of their Sharpe ratios, the inputs of the Deflated Sharpe
Ratio (``metrics.deflated_sharpe_ratio``), are read (:func:`trial_count`, :func:`trial_sharpe_variance`); the ``sweeps`` table holds one row per robustness
sweep (:func:`record_sweep`, :func:`sweeps`; its configurations go to the trials ledger with
:func:`record_trials`). Every function opens the store for one operation and closes it.

The store is a derived index, not a source of truth: views point at the Parquet files of the
dataset's current version by absolute path, and re-registering a dataset (``janus data register NAME``)
rebuilds its views, dropping only the views recorded for that same dataset in ``datasets``.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.data.manifest import read_manifest
from janus_core.hashing import H
from janus_core.paths import WorkbenchPaths

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS datasets (
        name VARCHAR PRIMARY KEY, version VARCHAR, provenance VARCHAR, snapshot_hash VARCHAR,
        manifest_path VARCHAR, views VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, created_at VARCHAR, dataset VARCHAR, dataset_snapshot_hash VARCHAR,
        config_hash VARCHAR, artifact_hashes VARCHAR, headline_metrics VARCHAR, gate_verdict VARCHAR,
        out_dir VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS completions (
        model_id VARCHAR, fingerprint VARCHAR, prompt_hash VARCHAR, params_hash VARCHAR, params VARCHAR,
        messages VARCHAR, completion VARCHAR, response_model VARCHAR, finish_reason VARCHAR, created_at VARCHAR,
        PRIMARY KEY (model_id, fingerprint, prompt_hash, params_hash))""",
    """CREATE TABLE IF NOT EXISTS trials (
        trial_id VARCHAR PRIMARY KEY, created_at VARCHAR, dataset VARCHAR, dataset_snapshot_hash VARCHAR,
        candidate_id VARCHAR, config_hash VARCHAR, kind VARCHAR, sharpe DOUBLE, n_returns BIGINT,
        skew DOUBLE, kurtosis DOUBLE, metrics VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS sweeps (
        sweep_id VARCHAR PRIMARY KEY, created_at VARCHAR, dataset VARCHAR, dataset_snapshot_hash VARCHAR,
        candidate_id VARCHAR, decisions_ref VARCHAR, engine VARCHAR, n_configurations BIGINT, n_ok BIGINT,
        n_failed BIGINT, grid VARCHAR, results_sha256 VARCHAR, best_config_hash VARCHAR, overfitting VARCHAR,
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

#: Columns of the ``completions`` cache. ``fingerprint`` is the endpoint-reported model fingerprint
#: (``""`` when the endpoint reports none); ``params`` the sampling parameters as canonical JSON and
#: ``params_hash`` their ``H``; ``messages`` the prompt as canonical JSON; ``created_at`` UTC ISO-8601.
COMPLETIONS_SCHEMA: dict[str, pl.DataType] = {
    "model_id": pl.String(),
    "fingerprint": pl.String(),
    "prompt_hash": pl.String(),
    "params_hash": pl.String(),
    "params": pl.String(),
    "messages": pl.String(),
    "completion": pl.String(),
    "response_model": pl.String(),
    "finish_reason": pl.String(),
    "created_at": pl.String(),
}


TRIALS_SCHEMA: dict[str, pl.DataType] = {
    "trial_id": pl.String(),
    "created_at": pl.String(),
    "dataset": pl.String(),
    "dataset_snapshot_hash": pl.String(),
    "candidate_id": pl.String(),
    "config_hash": pl.String(),
    "kind": pl.String(),
    "sharpe": pl.Float64(),
    "n_returns": pl.Int64(),
    "skew": pl.Float64(),
    "kurtosis": pl.Float64(),
    "metrics": pl.String(),
}
TrialKind = Literal["export", "backtest", "sweep"]

#: Columns of the ``sweeps`` table: one row per sweep (``janus sweep``), keyed by its deterministic
#: ``sweep_id`` (a re-run of the same sweep replaces its row); ``grid`` and ``overfitting`` are
#: canonical JSON text, ``results_sha256`` the SHA-256 of its ``results.parquet``.
SWEEPS_SCHEMA: dict[str, pl.DataType] = {
    "sweep_id": pl.String(),
    "created_at": pl.String(),
    "dataset": pl.String(),
    "dataset_snapshot_hash": pl.String(),
    "candidate_id": pl.String(),
    "decisions_ref": pl.String(),
    "engine": pl.String(),
    "n_configurations": pl.Int64(),
    "n_ok": pl.Int64(),
    "n_failed": pl.Int64(),
    "grid": pl.String(),
    "results_sha256": pl.String(),
    "best_config_hash": pl.String(),
    "overfitting": pl.String(),
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


#: How long an operation waits for another process's hold on the store (DuckDB locks the file per
#: process: a notebook reading the runs table while an export records its run) before it fails.
LOCK_WAIT_SECONDS = 10.0


def _open(paths: WorkbenchPaths, read_only: bool) -> duckdb.DuckDBPyConnection:
    if read_only and not paths.store.exists():
        _open(paths, read_only=False).close()
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


def connect(paths: WorkbenchPaths | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the store, creating the file and its tables if missing. Use ``read_only=True``
    where reading, so several readers can share the file.

    Open it for one operation and close it (``with connect(paths) as conn: ...`` closes on exit, as
    every function of this module does): a connection still alive when the interpreter exits holds
    the file's lock until then and makes DuckDB's bindings print "nanobind: leaked ..." lines. When
    another process holds the file (DuckDB's ``Conflicting lock``), the open is retried with a short
    backoff for up to :data:`LOCK_WAIT_SECONDS`, then fails with a :class:`StoreError` that says so."""
    paths = paths or WorkbenchPaths.from_env()
    deadline, delay = time.monotonic() + LOCK_WAIT_SECONDS, 0.02
    while True:
        try:
            return _open(paths, read_only)
        except duckdb.Error as exc:
            locked = "lock" in str(exc).lower()
            if locked and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            why = (
                f"another process held it for more than {LOCK_WAIT_SECONDS:g} s (close the other notebook or "
                f"command and retry)"
                if locked
                else str(exc)
            )
            raise StoreError(
                f"cannot open the store {paths.store} ({'read-only' if read_only else 'read-write'}): {why}"
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


def cached_completions(
    model_id: str,
    params_hash: str,
    prompt_hashes: list[str],
    fingerprint: str | None = None,
    paths: WorkbenchPaths | None = None,
) -> dict[str, dict[str, Any]]:
    """Cached completions of ``model_id`` under the sampling parameters ``params_hash`` for the
    given prompt hashes, as ``{prompt_hash: row}`` (rows of ``COMPLETIONS_SCHEMA``). With
    ``fingerprint`` only completions the endpoint reported under that fingerprint count; without,
    a prompt cached under several fingerprints gives its latest (``created_at``, then the greatest
    fingerprint)."""
    paths = paths or WorkbenchPaths.from_env()
    if not prompt_hashes:
        return {}
    pin = "" if fingerprint is None else " AND fingerprint = ?"
    args: list[Any] = [model_id, params_hash, sorted(set(prompt_hashes))] + (
        [] if fingerprint is None else [fingerprint]
    )
    with connect(paths) as conn:
        rows = conn.execute(
            f"SELECT {', '.join(COMPLETIONS_SCHEMA)} FROM completions "
            f"WHERE model_id = ? AND params_hash = ? AND list_contains(?, prompt_hash){pin} "
            "QUALIFY row_number() OVER (PARTITION BY prompt_hash ORDER BY created_at DESC, fingerprint DESC) = 1",
            args,
        ).fetchall()
    return {r[2]: dict(zip(COMPLETIONS_SCHEMA, r)) for r in rows}


def put_completions(rows: list[dict[str, Any]], paths: WorkbenchPaths | None = None) -> None:
    """Insert completions (dicts with the ``COMPLETIONS_SCHEMA`` keys) in one transaction; a row
    with the key of an existing one (model, fingerprint, prompt, parameters) replaces it."""
    paths = paths or WorkbenchPaths.from_env()
    if not rows:
        return
    one = f"({', '.join('?' for _ in COMPLETIONS_SCHEMA)})"
    with connect(paths) as conn:
        conn.execute("BEGIN TRANSACTION")
        for start in range(0, len(rows), 500):  # multi-row VALUES: far faster than executemany in DuckDB
            chunk = rows[start : start + 500]
            conn.execute(
                f"INSERT OR REPLACE INTO completions ({', '.join(COMPLETIONS_SCHEMA)}) VALUES "
                + ", ".join(one for _ in chunk),
                [r[c] for r in chunk for c in COMPLETIONS_SCHEMA],
            )
        conn.execute("COMMIT")


class TrialRecord(BaseModel):
    """One evaluated configuration of a candidate on a dataset.

    ``config_hash`` identifies the configuration (every constant that shaped the result, the
    decisions included); ``kind`` says which command evaluated it (``export``, ``backtest`` or
    ``sweep``). ``sharpe`` is the annualised Sharpe ratio of the daily returns (``metrics``
    convention), ``skew`` and ``kurtosis`` (not in excess) their per-day moments, ``n_returns``
    their count; ``metrics`` any further numbers (stored as canonical JSON text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    created_at: str
    dataset: str
    dataset_snapshot_hash: str | None
    candidate_id: str
    config_hash: str
    kind: TrialKind
    sharpe: float
    n_returns: int
    skew: float
    kurtosis: float
    metrics: dict[str, Any] = {}

    @property
    def trial_id(self) -> str:
        """``H`` of (dataset, snapshot hash, candidate, config hash, kind): the same configuration
        evaluated again by the same command is the same trial."""
        return H(
            {
                "dataset": self.dataset,
                "dataset_snapshot_hash": self.dataset_snapshot_hash,
                "candidate_id": self.candidate_id,
                "config_hash": self.config_hash,
                "kind": self.kind,
            }
        )


def record_trial(trial: TrialRecord, paths: WorkbenchPaths | None = None) -> str:
    """Add ``trial`` to the ``trials`` table and return its ``trial_id``; a re-run of the same
    trial (same id) replaces its row, so repeating a command does not inflate the count."""
    paths = paths or WorkbenchPaths.from_env()
    row = {"trial_id": trial.trial_id, **trial.model_dump()}
    row["metrics"] = json.dumps(row["metrics"], sort_keys=True)
    with connect(paths) as conn:
        conn.execute(
            f"INSERT OR REPLACE INTO trials ({', '.join(TRIALS_SCHEMA)}) "
            f"VALUES ({', '.join('?' for _ in TRIALS_SCHEMA)})",
            [row[c] for c in TRIALS_SCHEMA],
        )
    return trial.trial_id


def record_trials(records: list[TrialRecord], paths: WorkbenchPaths | None = None) -> list[str]:
    """:func:`record_trial` for many trials in one transaction (a sweep's configurations)."""
    paths = paths or WorkbenchPaths.from_env()
    rows = []
    for trial in records:
        row = {"trial_id": trial.trial_id, **trial.model_dump()}
        row["metrics"] = json.dumps(row["metrics"], sort_keys=True)
        rows.append(row)
    if rows:
        one = f"({', '.join('?' for _ in TRIALS_SCHEMA)})"
        with connect(paths) as conn:
            conn.execute("BEGIN TRANSACTION")
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                conn.execute(
                    f"INSERT OR REPLACE INTO trials ({', '.join(TRIALS_SCHEMA)}) VALUES "
                    + ", ".join(one for _ in chunk),
                    [r[c] for r in chunk for c in TRIALS_SCHEMA],
                )
            conn.execute("COMMIT")
    return [r["trial_id"] for r in rows]


def record_sweep(row: dict[str, Any], paths: WorkbenchPaths | None = None) -> None:
    """Add one sweep (a dict with the ``SWEEPS_SCHEMA`` keys) to ``sweeps``; the same ``sweep_id``
    replaces its earlier row."""
    paths = paths or WorkbenchPaths.from_env()
    with connect(paths) as conn:
        conn.execute(
            f"INSERT OR REPLACE INTO sweeps ({', '.join(SWEEPS_SCHEMA)}) "
            f"VALUES ({', '.join('?' for _ in SWEEPS_SCHEMA)})",
            [row[c] for c in SWEEPS_SCHEMA],
        )


def sweeps(paths: WorkbenchPaths | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The recorded sweeps (all, or of one ``dataset``), ordered by (created_at, sweep_id); empty
    (with the columns) when none."""
    paths = paths or WorkbenchPaths.from_env()
    if not paths.store.exists():
        return pl.DataFrame(schema=SWEEPS_SCHEMA)
    with connect(paths, read_only=True) as conn:
        if not conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'sweeps'").fetchall()[0][0]:
            return pl.DataFrame(schema=SWEEPS_SCHEMA)
        sql = f"SELECT {', '.join(SWEEPS_SCHEMA)} FROM sweeps" + (" WHERE dataset = ?" if dataset else "")
        frame = conn.sql(sql + " ORDER BY created_at, sweep_id", params=[dataset] if dataset else []).pl()
    return frame.cast(SWEEPS_SCHEMA) if frame.height else pl.DataFrame(schema=SWEEPS_SCHEMA)


def trials(
    paths: WorkbenchPaths | None = None, dataset: str | None = None, candidate_id: str | None = None
) -> pl.DataFrame:
    """The recorded trials (all, or of one ``dataset`` and/or ``candidate_id``), ordered by
    (created_at, trial_id); empty (with the columns) when none."""
    paths = paths or WorkbenchPaths.from_env()
    if not paths.store.exists():
        return pl.DataFrame(schema=TRIALS_SCHEMA)
    where, args = [], []
    for column, value in (("dataset", dataset), ("candidate_id", candidate_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = f"SELECT {', '.join(TRIALS_SCHEMA)} FROM trials"
    if where:
        sql += " WHERE " + " AND ".join(where)
    with connect(paths, read_only=True) as conn:
        if not conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'trials'").fetchall()[0][0]:
            return pl.DataFrame(schema=TRIALS_SCHEMA)  # a store written before the ledger existed
        frame = conn.sql(sql + " ORDER BY created_at, trial_id", params=args).pl()
    return frame.cast(TRIALS_SCHEMA) if frame.height else pl.DataFrame(schema=TRIALS_SCHEMA)


def _configurations(paths: WorkbenchPaths | None, dataset: str, candidate_id: str) -> pl.DataFrame:
    """One row per distinct configuration (``config_hash``) of the candidate on the dataset, with
    the Sharpe ratio of its latest record (by created_at, then trial_id)."""
    return (
        trials(paths, dataset, candidate_id)
        .sort("created_at", "trial_id")
        .group_by("config_hash", maintain_order=True)
        .agg(pl.col("sharpe").last())
        .sort("config_hash")
    )


def trial_count(dataset: str, candidate_id: str, paths: WorkbenchPaths | None = None) -> int:
    """Number of distinct configurations (``config_hash``) of ``candidate_id`` evaluated on
    ``dataset``, whatever the command (one configuration exported and backtested counts once when
    both record the same hash)."""
    return _configurations(paths, dataset, candidate_id).height


def trial_sharpe_variance(dataset: str, candidate_id: str, paths: WorkbenchPaths | None = None) -> float | None:
    """Sample variance (ddof 1) of the annualised Sharpe ratios of the candidate's distinct
    configurations on the dataset (the latest record of each); None with fewer than two. Divide
    by 252 for the per-day variance the DSR takes."""
    sharpe = _configurations(paths, dataset, candidate_id).get_column("sharpe")
    return float(sharpe.var(ddof=1)) if sharpe.len() >= 2 else None
