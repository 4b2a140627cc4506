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
    for col in ("event_id", "symbol", "event_day", "model", "alpha", "beta", "sigma", "estimation_days", "ar", "car",
                "direction", "strength", "event_type", "excluded_reason", "split"):
        assert col in table.columns
    assert summary["config"]["car"]["estimation_window"] == 100 and summary["config"]["car"]["gap"] == 5
    assert main([*args, "--event-window", "0,1", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "car.parquet").read_bytes() == (tmp_path / "b" / "car.parquet").read_bytes()


def test_car_command_rejects_bad_settings(env, tmp_path, capsys):
    assert main(["car", "--dataset", "synthetic-ashare", "--out", str(tmp_path), "--event-window", "2,0"]) == 2
    assert "event_window" in capsys.readouterr().err
    assert main(["car", "--dataset", "no-such-dataset", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["car", "--dataset", "synthetic-ashare", "--out", str(tmp_path), "--event-window", "zero"])
