"""``janus data import / verify / list``: happy path, bad input (nothing written), quarantine."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from data_tables import isolated_workspace, janus_data, raw_tables, write_all

from janus_core.data.manifest import load_dataset, verify_dataset


@pytest.fixture
def paths(tmp_path, monkeypatch):
    return isolated_workspace(tmp_path / "ws", monkeypatch)


def import_args(files: dict[str, Path], *extra: str) -> list[str]:
    out = ["import", "mine"]
    for table, path in files.items():
        out += [f"--{table}", str(path)]
    return out + ["--timezone", "Asia/Shanghai", "--provenance", "historical_market_replay", *extra]


def test_import_happy_path_then_verify_and_list(paths, tmp_path, capsys):
    files = write_all(raw_tables(), tmp_path / "in", "csv")
    files["events"] = write_all({"events": raw_tables()["events"]}, tmp_path / "in_jsonl", "jsonl")["events"]
    assert janus_data(*import_args(files, "--source", "my vendor", "--licence", "internal")) == 0
    out = capsys.readouterr().out
    assert "imported mine version 1 (historical_market_replay" in out and "events 4, prices 6" in out
    assert "1 event(s) of unknown type" in out and str(paths.manifest_path("mine")) in out
    ds = load_dataset("mine", paths)
    assert ds.meta.exchange_timezone == "Asia/Shanghai" and ds.meta.as_of == "2024-01-04T23:59:59Z"
    assert ds.style_factors() == ["size", "value"]
    assert not (paths.dataset_dir("mine") / "1" / "rejected").exists()
    assert janus_data("verify", "mine") == 0 and capsys.readouterr().out == "OK\n"
    assert janus_data("list") == 0 and capsys.readouterr().out.startswith("mine\tversion 1\thistorical_market_replay")


def test_import_bad_input_prints_problems_and_writes_nothing(paths, tmp_path, capsys):
    tables = raw_tables()
    tables["prices"][1]["close"] = "-4"
    tables["events"][0]["published_at"] = "soon"
    files = write_all(tables, tmp_path / "in", "csv")
    assert janus_data(*import_args(files)) == 1
    err = capsys.readouterr().err
    assert f"{files['prices']}:3: close: non_positive_price: " in err
    assert f"{files['events']}:2: published_at: wrong_type: " in err
    assert not paths.data_dir.exists() or not any(paths.data_dir.iterdir())
    assert not paths.manifest_path("mine").exists() and not paths.store.exists()


def test_import_quarantine_writes_good_rows_and_rejected_file(paths, tmp_path, capsys):
    tables = raw_tables()
    tables["prices"][1]["close"] = "-4"
    files = write_all(tables, tmp_path / "in", "csv")
    assert janus_data(*import_args(files, "--on-invalid", "quarantine")) == 0
    captured = capsys.readouterr()
    assert "quarantined 1 rejected row(s) (prices 1)" in captured.out
    assert f"{files['prices']}:3: close: non_positive_price" in captured.err
    rejected = pl.read_parquet(paths.dataset_dir("mine") / "1" / "rejected/prices.parquet")
    assert rejected["row"].to_list() == [3] and rejected["close"].to_list() == ["-4"]
    assert load_dataset("mine", paths).prices.height == 5
    assert verify_dataset("mine", paths) == []


def test_verify_exit_code_names_changed_table(paths, tmp_path, capsys):
    files = write_all(raw_tables(), tmp_path / "in", "parquet")
    assert janus_data(*import_args(files)) == 0
    target = paths.dataset_dir("mine") / "1" / "securities.parquet"
    pl.read_parquet(target).with_columns(pl.lit("x").alias("name")).write_parquet(target)
    capsys.readouterr()
    assert janus_data("verify", "mine") == 1
    assert capsys.readouterr().out == f"mine: securities: file bytes and content changed ({target})\n"


def test_bad_timezone_is_refused(paths, tmp_path, capsys):
    files = write_all(raw_tables(), tmp_path / "in", "csv")
    args = import_args(files)
    args[args.index("Asia/Shanghai")] = "Mars/Olympus"
    assert janus_data(*args) == 2
    assert "not an IANA time zone" in capsys.readouterr().err
