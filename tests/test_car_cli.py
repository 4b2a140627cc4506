"""``janus car`` on the demo sample workspace: outputs, determinism, argument errors."""

from __future__ import annotations

import json

import polars as pl
import pytest

from janus_core.cli import main


@pytest.fixture()
def env(sample_workspace, monkeypatch):
    monkeypatch.setenv("JANUS_DATA_DIR", str(sample_workspace.data_dir))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", str(sample_workspace.manifest_dir))
    monkeypatch.setenv("JANUS_STORE", str(sample_workspace.store))
    return sample_workspace


def test_car_command_writes_table_and_summary(env, tmp_path):
    args = ["car", "--dataset", "synthetic-ashare", "--model", "market", "--estimation-window", "100", "--gap", "5"]
    assert main([*args, "--event-window", "0,1", "--out", str(tmp_path / "a")]) == 0
    table = pl.read_parquet(tmp_path / "a" / "car.parquet")
    summary = json.loads((tmp_path / "a" / "car-summary.json").read_text())
    assert table.height == summary["event_count"] == 3000
    assert table.filter(pl.col("excluded_reason").is_null())["ar"].list.len().unique().to_list() == [2]
    for col in (
        "event_id",
        "symbol",
        "event_day",
        "window_end_day",
        "model",
        "alpha",
        "beta",
        "sigma",
        "estimation_days",
        "ar",
        "car",
        "direction",
        "strength",
        "event_type",
        "excluded_reason",
        "split",
    ):
        assert col in table.columns
    assert summary["config"]["car"]["estimation_window"] == 100 and summary["config"]["car"]["gap"] == 5
    assert main([*args, "--event-window", "0,1", "--out", str(tmp_path / "b")]) == 0
    for name in ("car.parquet", "significance.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_car_command_writes_the_significance_table(env, tmp_path):
    """significance.parquet: every test per event type and pooled, long form, the same numbers as
    significance.significance_table on the written CAR table."""
    from janus_core.data.manifest import load_dataset
    from janus_core.study.car import CarConfig, estimation_abnormal_returns
    from janus_core.study.significance import TEST_COLUMNS, significance_table

    assert main(["car", "--dataset", "synthetic-ashare", "--out", str(tmp_path)]) == 0
    sig = pl.read_parquet(tmp_path / "significance.parquet")
    assert sig.columns == ["event_type", "test", "statistic", "p_value", "n_events"]
    table = pl.read_parquet(tmp_path / "car.parquet")
    types = sorted(table.filter(pl.col("excluded_reason").is_null())["event_type"].unique().to_list())
    assert sig["event_type"].unique(maintain_order=True).to_list() == [*types, "all"]
    assert sig.height == 6 * (len(types) + 1)
    wide = significance_table(
        table, estimation_abnormal_returns(load_dataset("synthetic-ashare", env), CarConfig(), table)
    )
    for row in wide.iter_rows(named=True):
        got = sig.filter(pl.col("event_type") == row["event_type"])
        assert got["test"].to_list() == [name for name, _, _ in TEST_COLUMNS]
        assert got["statistic"].to_list() == [row[stat] for _, stat, _ in TEST_COLUMNS]
        assert got["p_value"].to_list() == [row[p] for _, _, p in TEST_COLUMNS]
        assert got["n_events"].unique().to_list() == [row["n"]]
    pooled = sig.filter(pl.col("event_type") == "all")
    assert pooled["n_events"][0] == table["excluded_reason"].null_count()
    # dividend news is positive four times in five on the demo: every test sees it.
    assert (sig.filter(pl.col("event_type") == "dividend")["p_value"] < 0.01).all()


def test_car_command_rejects_bad_settings(env, tmp_path, capsys):
    assert main(["car", "--dataset", "synthetic-ashare", "--out", str(tmp_path), "--event-window", "2,0"]) == 2
    assert "event_window" in capsys.readouterr().err
    assert main(["car", "--dataset", "no-such-dataset", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["car", "--dataset", "synthetic-ashare", "--out", str(tmp_path), "--event-window", "zero"])
