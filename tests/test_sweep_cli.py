"""``janus sweep``: the files, the store rows, one-line user errors, an interrupted sweep resumes."""

from __future__ import annotations

import json

import polars as pl
import pytest

from janus_core import sweep
from janus_core.cli import main
from janus_core.data import store
from janus_core.hashing import sha256_file

GRID = """
[car]
event_window = [[0, 1], [0, 2]]
[backtest]
round_trip_cost_bps = [0, 10]
"""


@pytest.fixture()
def env(sample_workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("JANUS_DATA_DIR", str(sample_workspace.data_dir))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", str(sample_workspace.manifest_dir))
    monkeypatch.setenv("JANUS_STORE", str(tmp_path / "janus.duckdb"))
    monkeypatch.setenv("JANUS_SWEEP_CACHE", str(tmp_path / "cache"))
    (tmp_path / "grid.toml").write_text(GRID, encoding="utf-8")
    return sample_workspace.model_copy(update={"store": tmp_path / "janus.duckdb"})


def test_sweep_writes_results_manifest_overfitting_and_the_store(env, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert (
        main(
            [
                "sweep",
                "--grid",
                str(tmp_path / "grid.toml"),
                "--decisions",
                "type_prior",
                "--out",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out
    assert "4 configurations of type_prior on synthetic-ashare (local): 4 ok, 0 failed, 4 computed" in line
    assert sorted(p.name for p in out.iterdir()) == sorted(sweep.OUTPUT_FILES)
    results = pl.read_parquet(out / "results.parquet")
    assert results.height == 4 and results["config_hash"].is_sorted()
    assert results.columns[:4] == ["config_hash", "backtest.round_trip_cost_bps", "car.event_window", "config"]
    manifest = json.loads((out / "sweep-manifest.json").read_text())
    assert manifest["kind"] == "janus-sweep" and manifest["engine"] == "local"
    assert manifest["grid"] == {"backtest.round_trip_cost_bps": ["0", "10"], "car.event_window": [[0, 1], [0, 2]]}
    assert manifest["results_sha256"] == sha256_file(out / "results.parquet")
    assert manifest["files"]["overfitting.json"] == sha256_file(out / "overfitting.json")
    assert manifest["dataset"]["snapshot_hash"] and manifest["packages"]["ray"] != "not-installed"
    overfitting = json.loads((out / "overfitting.json").read_text())
    assert overfitting["dsr"]["n_trials"] == 4 and overfitting["best"]["config_hash"] in results["config_hash"]
    swept = store.sweeps(env)
    assert swept.height == 1 and swept["sweep_id"][0] == manifest["sweep_id"]
    assert swept["results_sha256"][0] == manifest["results_sha256"]
    trials = store.trials(env, "synthetic-ashare", "type_prior")
    assert sorted(trials["config_hash"]) == sorted(results["config_hash"]) and set(trials["kind"]) == {"sweep"}
    assert store.trial_count("synthetic-ashare", "type_prior", env) == 4
    # a re-run reads everything from the cache, writes the same bytes and does not inflate the ledger
    before = (out / "results.parquet").read_bytes()
    assert (
        main(
            [
                "sweep",
                "--grid",
                str(tmp_path / "grid.toml"),
                "--decisions",
                "type_prior",
                "--out",
                str(out),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    assert "0 computed, 4 from the cache" in capsys.readouterr().out
    assert (out / "results.parquet").read_bytes() == before
    assert store.trial_count("synthetic-ashare", "type_prior", env) == 4 and store.sweeps(env).height == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "missing.toml"], "janus sweep: missing.toml: cannot read the grid file"),
        (["--grid", "bad.toml"], "janus sweep: bad.toml: car.gapp: unknown parameter"),
        (["--decisions", "nope"], "janus sweep: decisions 'nope': neither a policy"),
        (["--address", "ray://x:1"], "janus sweep: --address ray://x:1: only the ray engine"),
        (["--workers", "0"], "janus sweep: --workers 0: must be at least 1"),
        (["--engine", "spark"], "invalid choice: 'spark'"),
    ],
)
def test_user_errors_are_one_line(env, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("[car]\ngapp = [1]\n", encoding="utf-8")
    base = {"--grid": "grid.toml", "--decisions": "type_prior", "--out": "out"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    try:
        code = main(["sweep", *(x for kv in base.items() for x in kv)])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_a_folder_it_did_not_write_is_never_replaced(env, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep", encoding="utf-8")
    code = main(["sweep", "--grid", str(tmp_path / "grid.toml"), "--decisions", "type_prior", "--out", str(out)])
    assert code == 2 and "is not a sweep output folder (it holds notes.txt)" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep"


def test_an_interrupted_sweep_keeps_what_finished_and_resumes(env, tmp_path):
    grid = sweep.parse_grid(GRID)
    calls = []

    def interrupt(p: sweep.Progress) -> None:
        calls.append(p)
        if p.done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(grid, sweep.SweepSettings(), env, workers=1, chunk_size=1, progress=interrupt)
    resumed = sweep.run_sweep(grid, sweep.SweepSettings(), env, workers=1)
    assert resumed.computed == 2 and resumed.results["status"].to_list() == ["ok"] * 4


def test_a_decisions_file_is_swept_like_the_policy_that_wrote_it(env, tmp_path, capsys):
    from janus_core.data.manifest import load_dataset
    from janus_core.decide.policies import make_decisions
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import car_study

    labelled = car_study(load_dataset("synthetic-ashare", env), CarConfig())
    one = make_decisions("sentiment", labelled)  # every column, predicted event types included
    two = pl.concat([one, one.with_columns(pl.lit("other").alias("strategy_id"))])
    path = tmp_path / "decisions.parquet"
    two.write_parquet(path)
    grid = str(tmp_path / "grid.toml")
    assert (
        main(["sweep", "--grid", grid, "--decisions", str(path), "--out", str(tmp_path / "x"), "--workers", "1"]) == 2
    )
    assert "pick one with strategy_id" in capsys.readouterr().err
    assert (
        main(
            [
                "sweep",
                "--grid",
                grid,
                "--decisions",
                str(path),
                "--strategy-id",
                "other",
                "--out",
                str(tmp_path / "x"),
                "--workers",
                "1",
                "--no-record",
            ]
        )
        == 0
    )
    manifest = json.loads((tmp_path / "x" / "sweep-manifest.json").read_text())
    assert manifest["candidate_id"] == "other" and manifest["decisions_ref"].startswith("decisions:sha256:")
    from_file = pl.read_parquet(tmp_path / "x" / "results.parquet")
    assert store.sweeps(env).height == 0  # --no-record
    assert (
        main(
            [
                "sweep",
                "--grid",
                grid,
                "--decisions",
                "sentiment",
                "--out",
                str(tmp_path / "y"),
                "--workers",
                "1",
                "--no-record",
            ]
        )
        == 0
    )
    from_policy = pl.read_parquet(tmp_path / "y" / "results.parquet")
    metrics = ["sharpe", "max_drawdown", "total_return", "mean_reward", "da", "n_trades", "status"]
    key = ["backtest.round_trip_cost_bps", "car.event_window"]
    assert from_file.sort(key).select(key + metrics).equals(from_policy.sort(key).select(key + metrics))
