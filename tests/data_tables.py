"""Small hand-made input tables for the data-layer tests, and writers for each file format.

Values are the strings a CSV would hold, so the same content can be written as CSV, JSON Lines or
(typed) Parquet and must load to the same canonical frames.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import polars as pl

from janus_core.cli import data as cli_data
from janus_core.data.dataset import Dataset, DatasetMeta
from janus_core.data.rows import TABLE_NAMES
from janus_core.data.tables import load_tables
from janus_core.paths import WorkbenchPaths

DATES = ("2024-01-02", "2024-01-03", "2024-01-04")


def raw_tables() -> dict[str, list[dict[str, str | None]]]:
    """A valid five-table dataset: two stocks on two benchmarks, three days, four events."""
    benchmarks = [
        {"benchmark": b, "date": d, "close": str(100 + i + (50 if b == "IDX500" else 0))}
        for b in ("IDX300", "IDX500")
        for i, d in enumerate(DATES)
    ]
    securities = [
        {"symbol": "600001.SH", "benchmark": "IDX300", "name": "Alpha", "industry": "banks", "size_tier": "large"},
        {"symbol": "000002.SZ", "benchmark": "IDX500", "name": "Beta", "industry": "tech", "size_tier": "mid"},
    ]
    prices = [
        {
            "symbol": s,
            "date": d,
            "open": f"{10 + i}.5",
            "close": f"{11 + i}.25",
            "volume": "1000",
            "tradable": "false" if (s, i) == ("000002.SZ", 1) else "true",
        }
        for s in ("600001.SH", "000002.SZ")
        for i, d in enumerate(DATES)
    ]
    exposures = [
        {"symbol": s, "date": d, "size": f"0.{i + 1}", "value": f"-0.{i + 2}"}
        for s in ("600001.SH", "000002.SZ")
        for i, d in enumerate(DATES)
    ]
    events = [
        {
            "event_id": None,
            "symbol": "600001.SH",
            "published_at": "2024-01-02 10:00",
            "event_type": "Dividend",
            "headline": "Alpha raises dividend",
            "seq": "1",
            "body": "Cash dividend up 10%",
            "sentiment": "positive",
            "source": "wire",
        },
        {
            "event_id": "given-id-1",
            "symbol": "000002.SZ",
            "published_at": "2024-01-03T09:00:00+08:00",
            "event_type": "violation",
            "headline": "Beta fined",
            "seq": None,
            "body": None,
            "sentiment": "Negative",
            "source": None,
        },
        {
            "event_id": None,
            "symbol": "000002.SZ",
            "published_at": "2024-01-03T01:30:00Z",
            "event_type": "gossip",
            "headline": "Beta rumour",
            "seq": None,
            "body": "line one\nline two",
            "sentiment": None,
            "source": "blog",
        },
        {
            "event_id": None,
            "symbol": "600001.SH",
            "published_at": "2024-01-04 15:05:30.250",
            "event_type": "评级调整",
            "headline": "Alpha upgraded",
            "seq": "2",
            "body": "",
            "sentiment": "neutral",
            "source": "wire",
        },
    ]
    return {
        "events": events,
        "prices": prices,
        "benchmarks": benchmarks,
        "securities": securities,
        "exposures": exposures,
    }


def frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    columns = list(rows[0])
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in columns}, schema={c: pl.String for c in columns})


def write_csv(rows: list[dict[str, str | None]], path: Path) -> Path:
    frame(rows).write_csv(path)
    return path


def write_jsonl(rows: list[dict[str, str | None]], path: Path, blank_lines: bool = False) -> Path:
    """One object a line; ``None`` values are left out; numbers and booleans are written as JSON
    numbers and booleans (as a real exporter would)."""

    def native(v: str | None) -> object:
        if v in ("true", "false"):
            return v == "true"
        if v is not None and re.fullmatch(r"-?\d+", v):
            return int(v)
        if v is not None and re.fullmatch(r"-?\d+\.\d+", v):
            return float(v)
        return v

    lines = [json.dumps({k: native(v) for k, v in r.items() if v is not None}, ensure_ascii=False) for r in rows]
    text = ("\n\n" if blank_lines else "\n").join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def typed(table: str, rows: list[dict[str, str | None]]) -> pl.DataFrame:
    """The rows with native Parquet types (numbers, dates, tz-aware times)."""
    f = frame(rows)
    casts = {
        "date": pl.col("date").str.to_date(),
        "open": pl.col("open").cast(pl.Float64),
        "close": pl.col("close").cast(pl.Float64),
        "volume": pl.col("volume").cast(pl.Float64),
        "tradable": pl.col("tradable") == "true",
        "size": pl.col("size").cast(pl.Float64),
        "value": pl.col("value").cast(pl.Float64),
        "seq": pl.col("seq").cast(pl.Int32),
    }
    f = f.with_columns([e for c, e in casts.items() if c in f.columns])
    if table == "events":
        f = f.with_columns(
            pl.Series(
                "published_at",
                [
                    pl.select(pl.lit(v).str.to_datetime(time_zone="UTC")).item()
                    for v in (
                        "2024-01-02T02:00:00Z",
                        "2024-01-03T01:00:00Z",
                        "2024-01-03T01:30:00Z",
                        "2024-01-04T07:05:30.250Z",
                    )
                ],
            ).dt.convert_time_zone("Asia/Tokyo")
        )
    return f


def write_all(tables: dict[str, list[dict[str, str | None]]], folder: Path, fmt: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for table, rows in tables.items():
        path = folder / f"{table}.{fmt}"
        if fmt == "csv":
            write_csv(rows, path)
        elif fmt == "jsonl":
            write_jsonl(rows, path)
        else:
            typed(table, rows).write_parquet(path)
        out[table] = path
    return out


def workspace(root: Path) -> WorkbenchPaths:
    return WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")


def isolated_workspace(root: Path, monkeypatch) -> WorkbenchPaths:
    """A fresh workspace under ``root`` that the CLI sees through its JANUS_* environment variables."""
    ws = workspace(root)
    monkeypatch.setenv("JANUS_DATA_DIR", str(ws.data_dir))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", str(ws.manifest_dir))
    monkeypatch.setenv("JANUS_STORE", str(ws.store))
    return ws


def janus_data(*argv: str) -> int:
    """Run ``janus data ARGV...`` in process and return its exit code."""
    parser = argparse.ArgumentParser(prog="janus")
    cli_data.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    return args.handler(args)


def small_dataset(tmp: Path, name: str = "tiny") -> Dataset:
    """The tables of :func:`raw_tables`, loaded from CSV, as a Dataset."""
    files = write_all(raw_tables(), tmp / "in", "csv")
    frames = load_tables(files, timezone="Asia/Shanghai").frames()
    meta = DatasetMeta(
        name=name,
        version="1",
        provenance="historical_market_replay",
        exchange_timezone="Asia/Shanghai",
        as_of="2024-01-04T23:59:59Z",
    )
    return Dataset(meta=meta, **{t: frames[t] for t in TABLE_NAMES})
