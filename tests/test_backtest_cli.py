"""``janus backtest`` on the demo sample workspace: outputs, determinism, the trials ledger, the
output-folder guard and one-line errors."""

from __future__ import annotations

import json

import polars as pl
import pytest

from janus_core.backtest.metrics import nav_metrics
from janus_core.cli import main
from janus_core.data import store
from janus_core.hashing import canonical_json
from janus_core.paths import WorkbenchPaths

REQUIRED = (
    "event_id",
    "symbol",
    "action",
    "status",
    "entry_date",
    "exit_date",
    "entry_price",
    "exit_price",
    "holding_days",
    "gross_return",
    "net_return",
)


@pytest.fixture()
def env(sample_workspace, monkeypatch, tmp_path):
    """The shared demo data with a private research store (so trial counts are this test's)."""
    monkeypatch.setenv("JANUS_DATA_DIR", str(sample_workspace.data_dir))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", str(sample_workspace.manifest_dir))
    monkeypatch.setenv("JANUS_STORE", str(tmp_path / "store" / "janus.duckdb"))
    return WorkbenchPaths.from_env()


def _run(*args: str) -> int:
    return main(["backtest", "--dataset", "synthetic-ashare", *args])


def test_backtest_command_writes_trades_nav_and_metrics(env, tmp_path, capsys):
    out = tmp_path / "a"
    assert _run("--decisions", "type_prior", "--out", str(out)) == 0
    assert "type_prior on synthetic-ashare (test)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "nav.parquet", "trades.parquet"]
    trades = pl.read_parquet(out / "trades.parquet")
    nav = pl.read_parquet(out / "nav.parquet")
    text = (out / "metrics.json").read_text()
    doc = json.loads(text)
    assert text == canonical_json(doc) + "\n"
    assert all(c in trades.columns for c in REQUIRED) and nav.columns[:2] == ["date", "nav"]
    assert trades["event_id"].n_unique() == trades.height == doc["portfolio"]["n_decisions"]
    assert set(trades["status"].unique()) <= {"executed"} | {
        f"not_entered:{r}"
        for r in ("hold", "suspended_at_open", "limit_locked_open", "past_data", "outside_window", "no_type_weight")
    }
    executed = trades.filter(pl.col("status") == "executed")
    assert executed.height == doc["portfolio"]["n_executed"] > 0
    assert executed["holding_days"].min() >= 3  # [0, 2] label window -> HP 3, carried trades longer
    assert doc["portfolio"]["sharpe"] == pytest.approx(nav_metrics(nav["nav"])["sharpe"], rel=1e-12)
    assert doc["config"]["backtest"]["holding_period"] == 3 and doc["decisions_ref"] == "policy:type_prior"
    interval = doc["sharpe_interval"]
    assert interval["lo"] < doc["portfolio"]["sharpe"] < interval["hi"]
    assert {"da", "eta", "mae", "rmse"} <= set(doc["decision_metrics"])
    assert doc["trials"]["n_trials"] == 1 and 0.0 <= doc["trials"]["deflated"]["dsr"] <= 1.0

    # the same command again: byte-identical files, still one trial (a re-run is not a new trial)
    again = tmp_path / "b"
    assert _run("--decisions", "type_prior", "--out", str(again)) == 0
    for name in ("trades.parquet", "nav.parquet", "metrics.json"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    assert store.trial_count("synthetic-ashare", "type_prior", env) == 1

    # another configuration is another trial; the earlier output folder is replaced in place
    assert (
        _run("--decisions", "type_prior", "--out", str(out), "--holding-period", "2", "--round-trip-cost-bps", "20")
        == 0
    )
    doc2 = json.loads((out / "metrics.json").read_text())
    assert (
        doc2["config"]["backtest"]["holding_period"] == 2 and doc2["config"]["backtest"]["round_trip_cost_bps"] == 20.0
    )
    assert doc2["trials"]["n_trials"] == 2 and doc2["trials"]["sharpe_variance"] > 0
    assert store.trials(env)["kind"].to_list() == ["backtest", "backtest"]
    assert _run("--decisions", "type_prior", "--out", str(tmp_path / "c"), "--holding-period", "4", "--no-record") == 0
    assert json.loads((tmp_path / "c" / "metrics.json").read_text())["trials"] == {"recorded": False}
    assert store.trial_count("synthetic-ashare", "type_prior", env) == 2


def test_backtest_command_reads_a_decisions_file(env, tmp_path, capsys):
    from janus_core.data.manifest import load_dataset
    from janus_core.decide.policies import make_decisions
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import car_study

    labelled = car_study(load_dataset("synthetic-ashare", env), CarConfig())
    one = make_decisions("sentiment", labelled).select("event_id", "strategy_id", "action")
    two = pl.concat([one, one.with_columns(pl.lit("other").alias("strategy_id"))])
    path = tmp_path / "decisions.parquet"
    two.write_parquet(path)
    assert _run("--decisions", str(path), "--out", str(tmp_path / "x")) == 2
    assert "pick one with --strategy-id" in capsys.readouterr().err
    assert _run("--decisions", str(path), "--strategy-id", "other", "--out", str(tmp_path / "x")) == 0
    doc = json.loads((tmp_path / "x" / "metrics.json").read_text())
    assert doc["candidate_id"] == "other" and doc["decisions_ref"].startswith("decisions:sha256:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--decisions", "nonsense"], "neither a policy"),
        (["--decisions", "oracle", "--holding-period", "0"], "holding_period"),
        (["--decisions", "oracle", "--round-trip-cost-bps", "-1"], "round_trip_cost_bps"),
        (["--decisions", "oracle", "--splits", "nosuch"], "no included event in the splits"),
    ],
)
def test_backtest_command_user_errors_are_one_line(env, tmp_path, capsys, args, message):
    assert _run(*args, "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert err.startswith("janus backtest: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_backtest_command_never_replaces_a_folder_it_did_not_write(env, tmp_path, capsys):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("keep me")
    assert _run("--decisions", "oracle", "--out", str(mine)) == 2
    assert "not a janus backtest output folder" in capsys.readouterr().err
    assert (mine / "thesis.txt").read_text() == "keep me" and sorted(p.name for p in mine.iterdir()) == ["thesis.txt"]
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "metrics.json").write_text('{"kind": "something-else"}')
    assert _run("--decisions", "oracle", "--out", str(fake)) == 2
    assert (fake / "metrics.json").read_text() == '{"kind": "something-else"}'
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("--decisions", "oracle", "--out", str(empty), "--no-record") == 0
    assert (empty / "metrics.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folder left behind
