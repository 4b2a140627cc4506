"""The DuckDB research store: dataset views queryable with SQL, the datasets and runs tables."""

from __future__ import annotations

import polars as pl
import pytest
from data_tables import small_dataset, workspace

from janus_core.data import manifest as mf
from janus_core.data import store
from janus_core.paths import WorkbenchPaths

SAVE_ARGS = {"source": "hand-made test tables", "licence": "CC0", "production": {"generator": "tests"}}


@pytest.fixture
def registered(tmp_path):
    paths = workspace(tmp_path / "ws")
    ds = small_dataset(tmp_path, name="tiny-set")
    mf.save_dataset(ds, paths, **SAVE_ARGS)
    store.register_dataset(ds.name, paths)
    return ds, paths


def test_view_name():
    assert store.view_name("synthetic-ashare", "events") == "synthetic_ashare__events"
    assert store.view_name("us-megacap", "prices") == "us_megacap__prices"
    assert store.view_name("Mini", "events") == "_mini___events"
    assert store.view_name("mini", "events") == "mini__events"
    assert store.view_name("CON", "events") == "_c_o_n___events"
    assert store.view_name("CON-", "events") == "_c_o_n_0___events"
    assert store.view_name("US Megacap.v2", "prices") == "_u_s_9000020_megacap_1v2___prices"


def _decode(identifier: str) -> str:
    """An independent inverse of ``dataset_identifier`` as documented (proves it injective)."""
    if not identifier.endswith("_"):
        return identifier.replace("_", "-")
    body, out, i = identifier[:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "_":
            out.append(ch)
            i += 1
        elif body[i + 1] == "9":
            out.append(chr(int(body[i + 2 : i + 8], 16)))
            i += 8
        else:
            out.append({"0": "-", "1": ".", "2": "_"}.get(body[i + 1], body[i + 1].upper()))
            i += 2
    return "".join(out)


def test_dataset_identifiers_are_injective():
    """Every dataset name of up to 3 characters over letters of both cases, a digit and the three
    punctuation marks a name may hold: all identifiers distinct, decodable, free of '__'."""
    import itertools

    alphabet = "aZ0-._"
    names = ["".join(t) for n in range(1, 4) for t in itertools.product(alphabet, repeat=n)]
    seen: dict[str, str] = {}
    for name in names:
        ident = store.dataset_identifier(name)
        assert "__" not in ident and set(ident) <= set("abcdefghijklmnopqrstuvwxyz0123456789_"), (name, ident)
        assert _decode(ident) == name, (name, ident)
        assert ident not in seen, (name, seen.get(ident))
        seen[ident] = name
    views = {store.view_name(n, t) for n in names for t in ("events", "rejected_events", "prices")}
    assert len(views) == 3 * len(names)


def test_names_differing_in_case_or_a_trailing_hyphen_keep_their_own_views(tmp_path):
    """The issue's repro: importing ``Mini`` must not repoint ``mini``'s views, and registering ``CON``
    must not drop the views of ``CON-``."""
    paths = workspace(tmp_path / "ws")
    for name in ("mini", "Mini", "CON-", "CON"):
        ds = small_dataset(tmp_path / name, name=name)
        if name in ("Mini", "CON"):  # different data, so a view pointing at the wrong files shows
            ds = type(ds)(
                meta=ds.meta,
                events=ds.events.head(2),
                prices=ds.prices,
                benchmarks=ds.benchmarks,
                securities=ds.securities,
                exposures=ds.exposures,
            )
        mf.save_dataset(ds, paths, **SAVE_ARGS)
        store.register_dataset(name, paths)
    store.register_dataset("CON", paths)
    with store.connect(paths, read_only=True) as conn:
        counts = {
            n: conn.execute(f"SELECT count(*) FROM {store.view_name(n, 'events')}").fetchall()[0][0]
            for n in ("mini", "Mini", "CON-", "CON")
        }
        views = {r[0] for r in conn.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert counts == {"mini": 4, "Mini": 2, "CON-": 4, "CON": 2}
    assert {
        store.view_name(n, t)
        for n in ("mini", "Mini", "CON-", "CON")
        for t in ("events", "prices", "benchmarks", "securities", "exposures")
    } == views


def test_views_are_queryable_with_sql(registered):
    ds, paths = registered
    with store.connect(paths, read_only=True) as conn:
        for table, frame in ds.tables().items():
            assert (
                conn.execute(f"SELECT count(*) FROM {store.view_name('tiny-set', table)}").fetchall()[0][0]
                == frame.height
            )
        joined = conn.sql(
            "SELECT p.symbol, p.date, p.close / b.close AS rel FROM tiny_set__prices p "
            "JOIN tiny_set__securities s USING (symbol) JOIN tiny_set__benchmarks b ON b.benchmark = s.benchmark "
            "AND b.date = p.date ORDER BY p.symbol, p.date"
        ).pl()
        datasets = conn.sql("SELECT name, provenance, snapshot_hash FROM datasets").fetchall()
    expected = (
        ds.prices.join(ds.securities, on="symbol")
        .join(ds.benchmarks, on=["benchmark", "date"], suffix="_b")
        .select("symbol", "date", (pl.col("close") / pl.col("close_b")).alias("rel"))
        .sort("symbol", "date")
    )
    assert joined.rows() == expected.rows()
    assert datasets == [("tiny-set", "historical_market_replay", mf.read_manifest("tiny-set", paths).snapshot_hash)]


def test_reregistering_drops_views_of_removed_tables(registered, tmp_path):
    ds, paths = registered
    smaller = type(ds)(
        meta=ds.meta.model_copy(update={"version": "2"}),
        events=ds.events,
        prices=ds.prices,
        benchmarks=ds.benchmarks,
        securities=ds.securities,
    )
    mf.save_dataset(smaller, paths, **SAVE_ARGS, replace=True)
    store.register_dataset(smaller.name, paths)
    with store.connect(paths, read_only=True) as conn:
        views = sorted(r[0] for r in conn.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall())
    assert views == ["tiny_set__benchmarks", "tiny_set__events", "tiny_set__prices", "tiny_set__securities"]


def test_runs_append_and_replace(tmp_path):
    paths = workspace(tmp_path / "ws")
    assert store.runs(paths).height == 0 and store.runs(paths).columns == list(store.RUNS_SCHEMA)
    record = store.RunRecord(
        run_id="run-b",
        created_at="2024-02-01T00:00:00Z",
        dataset="tiny",
        dataset_snapshot_hash="abc",
        config_hash="cfg",
        artifact_hashes={"gates/x.json": "00"},
        headline_metrics={"sharpe": 1.25, "n": 3},
        gate_verdict="pass",
        out_dir="out/b",
    )
    store.append_run(record, paths)
    store.append_run(record.model_copy(update={"run_id": "run-a", "created_at": "2024-01-01T00:00:00Z"}), paths)
    store.append_run(record.model_copy(update={"gate_verdict": "fail"}), paths)  # same run_id: replaced
    runs = store.runs(paths)
    assert runs["run_id"].to_list() == ["run-a", "run-b"]
    assert runs.filter(pl.col("run_id") == "run-b")["gate_verdict"].item() == "fail"
    with store.connect(paths, read_only=True) as conn:
        assert (
            conn.execute("SELECT headline_metrics->>'$.sharpe' FROM runs WHERE run_id = 'run-a'").fetchall()[0][0]
            == "1.25"
        )


def test_read_only_connect_creates_a_missing_store(tmp_path):
    paths = workspace(tmp_path / "fresh")
    with store.connect(paths, read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchall()[0][0] == 0
    assert paths.store.exists()


def _trial(
    config: str,
    sharpe: float,
    kind: str = "backtest",
    candidate: str = "cand",
    dataset: str = "ds",
    created: str = "2026-01-01T00:00:00Z",
) -> store.TrialRecord:
    return store.TrialRecord(
        created_at=created,
        dataset=dataset,
        dataset_snapshot_hash="snap",
        candidate_id=candidate,
        config_hash=config,
        kind=kind,
        sharpe=sharpe,
        n_returns=54,
        skew=0.1,
        kurtosis=3.5,
        metrics={"total_return": 0.02},
    )


def test_trials_ledger_counts_configurations_and_their_sharpe_variance(tmp_path):
    import numpy as np

    paths = workspace(tmp_path / "ws")
    assert store.trial_count("ds", "cand", paths) == 0 and store.trial_sharpe_variance("ds", "cand", paths) is None
    first = store.record_trial(_trial("c1", 1.0), paths)
    assert store.trial_count("ds", "cand", paths) == 1 and store.trial_sharpe_variance("ds", "cand", paths) is None
    assert store.record_trial(_trial("c1", 1.0, created="2026-01-02T00:00:00Z"), paths) == first  # a re-run
    store.record_trial(_trial("c2", 2.0), paths)
    store.record_trial(_trial("c3", -0.5, kind="sweep"), paths)
    store.record_trial(_trial("c2", 2.5, kind="export", created="2026-01-03T00:00:00Z"), paths)  # same config, later
    store.record_trial(_trial("c9", 9.0, candidate="other"), paths)
    store.record_trial(_trial("c8", 8.0, dataset="elsewhere"), paths)
    rows = store.trials(paths, "ds", "cand")
    assert rows.height == 4 and rows.columns == list(store.TRIALS_SCHEMA)
    assert rows.filter(pl.col("config_hash") == "c1")["created_at"].to_list() == ["2026-01-02T00:00:00Z"]
    assert store.trial_count("ds", "cand", paths) == 3  # c1, c2, c3: kinds do not multiply a configuration
    expected = float(np.var([1.0, 2.5, -0.5], ddof=1))  # c2's latest record
    assert store.trial_sharpe_variance("ds", "cand", paths) == pytest.approx(expected, rel=1e-12)
    assert store.trials(paths).height == 6
    assert rows["metrics"][0] == '{"total_return": 0.02}'
    with pytest.raises(ValueError):
        _trial("c1", 1.0, kind="guess")


def test_trials_read_an_old_store_without_the_table(tmp_path):
    import duckdb

    paths = workspace(tmp_path / "ws")
    paths.store.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(paths.store)).close()  # a store file from before the ledger
    assert store.trials(paths).height == 0 and store.trial_count("ds", "cand", paths) == 0


def test_two_processes_share_the_store(tmp_path):
    """A notebook reading the runs table while another process (an export) records runs: DuckDB locks
    the file per process, so each side waits briefly for the other and both finish without an error."""
    import subprocess
    import sys

    paths = WorkbenchPaths(data_dir=tmp_path / "d", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    store.connect(paths).close()
    env_code = (
        "import sys; from pathlib import Path; from janus_core.paths import WorkbenchPaths; "
        "from janus_core.data import store; "
        f"p = WorkbenchPaths(data_dir=Path({str(paths.data_dir)!r}), manifest_dir=Path({str(paths.manifest_dir)!r}), "
        f"store=Path({str(paths.store)!r})); "
    )
    writer = env_code + (
        "[store.append_run(store.RunRecord(run_id=f'r{i}', created_at='2026-01-01T00:00:00Z', dataset='d', "
        "dataset_snapshot_hash=None, config_hash='c', artifact_hashes={}, headline_metrics={}, gate_verdict='{}', "
        "out_dir='o'), p) for i in range(40)]; print('written')"
    )
    reader = env_code + "[store.runs(p) for _ in range(80)]; print('read')"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for code in (writer, reader, reader)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1][-500:] for o in outs]
    assert [o[0].strip() for o in outs] == ["written", "read", "read"]
    assert store.runs(paths).height == 40
