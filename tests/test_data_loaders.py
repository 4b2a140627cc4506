"""Loaders and validators of the data layer: every rule with a bad input, every file format, time
zones, event identity and type normalisation, quarantine mode."""

from __future__ import annotations

import copy
import random
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from data_tables import raw_tables, typed, write_all, write_csv, write_jsonl
from polars.testing import assert_frame_equal

from janus_core.data.events import derive_event_id
from janus_core.data.manifest import content_hash
from janus_core.data.rows import (
    TABLE_SCHEMAS,
    DataValidationError,
    Problem,
    table_columns,
)
from janus_core.data.tables import load_table, load_tables

TZ = "Asia/Shanghai"


def problems_of(exc: pytest.ExceptionInfo[DataValidationError]) -> set[tuple[str, int | None, str | None, str]]:
    return {(Path(p.file).name, p.row, p.column, p.rule) for p in exc.value.problems}


def load_csvs(tables, tmp_path: Path, timezone: str | None = TZ, **kw):
    return load_tables(write_all(tables, tmp_path / "csv", "csv"), timezone=timezone, **kw)


def test_valid_tables_load_to_canonical_dtypes(tmp_path):
    loaded = load_csvs(raw_tables(), tmp_path)
    assert loaded.problems.height == 0
    for table, f in loaded.frames().items():
        for spec in table_columns(table):
            assert f.schema[spec.name] == spec.dtype, (table, spec.name)
        assert f.columns[: len(table_columns(table))] == [s.name for s in table_columns(table)]
        assert f.equals(f.sort(list(TABLE_SCHEMAS[table].sort_by), nulls_last=True))
    exposures = loaded.frames()["exposures"]
    assert exposures.schema["size"] == pl.Float64 and exposures.schema["value"] == pl.Float64
    prices = loaded.frames()["prices"]
    assert prices.filter(~pl.col("tradable")).select("symbol", "date").rows() == [
        ("000002.SZ", datetime(2024, 1, 3).date())
    ]


# (table, row index in raw_tables, column, bad value, rule); the problem's row is the CSV line
# number: header is line 1, so the row at index i is on line i + 2 (no multi-line values before it)
BAD_CELLS = [
    ("prices", 1, "open", "abc", "wrong_type"),
    ("prices", 2, "date", "2024/01/04", "wrong_type"),
    ("prices", 3, "tradable", "maybe", "wrong_type"),
    ("prices", 4, "volume", "1,000", "wrong_type"),
    ("prices", 0, "close", "0", "non_positive_price"),
    ("prices", 5, "open", "-3.5", "non_positive_price"),
    ("prices", 2, "close", "inf", "non_finite"),
    ("prices", 1, "open", "NaN", "non_finite"),
    ("prices", 0, "symbol", "", "missing_value"),
    ("benchmarks", 4, "close", "-1", "non_positive_price"),
    ("benchmarks", 1, "date", "yesterday", "wrong_type"),
    ("exposures", 3, "size", "nan", "non_finite"),
    ("exposures", 2, "value", "high", "wrong_type"),
    ("securities", 1, "benchmark", "CSI1000", "unknown_benchmark"),
    ("events", 1, "sentiment", "bullish", "invalid_enum"),
    ("events", 0, "published_at", "2nd of January", "wrong_type"),
    ("events", 0, "seq", "1.5", "wrong_type"),
    ("events", 0, "headline", "  ", "missing_value"),
    ("events", 0, "symbol", None, "missing_value"),
]


@pytest.mark.parametrize(("table", "index", "column", "value", "rule"), BAD_CELLS)
def test_each_rule_names_file_row_column_and_rule(tmp_path, table, index, column, value, rule):
    tables = raw_tables()
    tables[table][index][column] = value
    with pytest.raises(DataValidationError) as exc:
        load_csvs(tables, tmp_path)
    expected_line = index + 2 + sum("\n" in (r.get("body") or "") for r in tables[table][:index])
    assert (f"{table}.csv", expected_line, column, rule) in problems_of(exc)
    text = str(exc.value)
    assert f"{table}.csv:{expected_line}: {column}: {rule}: " in text


def test_missing_required_column_is_a_column_problem(tmp_path):
    tables = raw_tables()
    for r in tables["prices"]:
        del r["close"]
    with pytest.raises(DataValidationError) as exc:
        load_csvs(tables, tmp_path)
    assert problems_of(exc) == {("prices.csv", None, "close", "missing_column")}
    assert "prices.csv:-: close: missing_column: " in str(exc.value)


def test_missing_column_still_fails_in_quarantine_mode(tmp_path):
    tables = raw_tables()
    for r in tables["events"]:
        del r["headline"]
    with pytest.raises(DataValidationError) as exc:
        load_csvs(tables, tmp_path, on_invalid="quarantine")
    assert ("events.csv", None, "headline", "missing_column") in problems_of(exc)


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("prices", ("symbol", "date")),
        ("benchmarks", ("benchmark", "date")),
        ("securities", ("symbol",)),
        ("exposures", ("symbol", "date")),
    ],
)
def test_duplicate_keys_flag_every_copy(tmp_path, table, key):
    tables = raw_tables()
    tables[table].append(dict(tables[table][0]))
    with pytest.raises(DataValidationError) as exc:
        load_csvs(tables, tmp_path)
    n = len(tables[table])
    dup = {p for p in problems_of(exc) if p[3] == "duplicate_key"}
    assert dup == {
        (f"{table}.csv", 2, ",".join(key), "duplicate_key"),
        (f"{table}.csv", n + 1, ",".join(key), "duplicate_key"),
    }


def test_duplicate_event_ids_given_or_derived(tmp_path):
    tables = raw_tables()
    tables["events"][3]["event_id"] = "given-id-1"  # clashes with row index 1
    tables["events"].append(dict(tables["events"][0]))  # identical content -> identical derived id
    with pytest.raises(DataValidationError) as exc:
        load_csvs(tables, tmp_path)
    dup = sorted(p[1] for p in problems_of(exc) if p[3] == "duplicate_key")
    # body of event index 2 spans two lines, so event index 3 is on line 6 and the appended one on 7
    assert dup == [2, 3, 6, 7]


def test_unknown_symbol_in_prices_and_exposures(tmp_path):
    tables = raw_tables()
    tables["prices"][2]["symbol"] = "999999.SH"
    tables["exposures"][0]["symbol"] = "999999.SH"
    with pytest.raises(DataValidationError) as exc:
        load_csvs(tables, tmp_path)
    assert problems_of(exc) == {
        ("prices.csv", 4, "symbol", "unknown_symbol"),
        ("exposures.csv", 2, "symbol", "unknown_symbol"),
    }


def test_decisions_enums(tmp_path):
    rows = [
        {
            "event_id": "e1",
            "strategy_id": "s",
            "action": "LONG",
            "predicted_strength": "strong",
            "predicted_car": "0.01",
        },
        {"event_id": "e2", "strategy_id": "s", "action": "buy", "predicted_strength": "huge", "predicted_car": "x"},
    ]
    path = write_csv(rows, tmp_path / "decisions.csv")
    with pytest.raises(DataValidationError) as exc:
        load_table("decisions", path, timezone=None)
    assert problems_of(exc) == {
        ("decisions.csv", 3, "action", "invalid_enum"),
        ("decisions.csv", 3, "predicted_strength", "invalid_enum"),
        ("decisions.csv", 3, "predicted_car", "wrong_type"),
    }
    good = load_table("decisions", path, timezone=None, on_invalid="quarantine")
    assert good.frame["action"].to_list() == ["long"] and good.rejected["row"].to_list() == [3]


def test_unreadable_file(tmp_path):
    bad = tmp_path / "prices.parquet"
    bad.write_bytes(b"not a parquet file")
    with pytest.raises(DataValidationError) as exc:
        load_table("prices", bad, timezone=TZ)
    assert problems_of(exc) == {("prices.parquet", None, None, "unreadable_file")}


def test_wrong_parquet_column_type_is_a_column_problem(tmp_path):
    f = typed("securities", raw_tables()["securities"]).with_columns(pl.Series("symbol", [600001, 2]))
    f.write_parquet(tmp_path / "securities.parquet")
    with pytest.raises(DataValidationError) as exc:
        load_table("securities", tmp_path / "securities.parquet", timezone=TZ)
    assert problems_of(exc) == {("securities.parquet", None, "symbol", "wrong_type")}


# ---- time zones ------------------------------------------------------------------------------


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2024-01-02 10:00", "Asia/Shanghai", utc(2024, 1, 2, 2, 0)),
        ("2024-01-02T10:00:00", "Asia/Shanghai", utc(2024, 1, 2, 2, 0)),
        ("2024-01-02 10:00", "America/New_York", utc(2024, 1, 2, 15, 0)),
        ("2024-07-02 10:00", "America/New_York", utc(2024, 7, 2, 14, 0)),  # daylight saving
        ("2024-01-02T10:00:00+08:00", "America/New_York", utc(2024, 1, 2, 2, 0)),  # offset wins
        ("2024-01-02T02:00:00Z", "Asia/Shanghai", utc(2024, 1, 2, 2, 0)),
        ("2024-01-02T10:00:00.5-0130", None, utc(2024, 1, 2, 11, 30, 0, 500000)),
        ("2024-01-02 10:00+05", None, utc(2024, 1, 2, 5, 0)),
    ],
)
def test_times_with_and_without_offset(tmp_path, text, zone, expected):
    rows = [dict(raw_tables()["events"][0], published_at=text)]
    loaded = load_table("events", write_csv(rows, tmp_path / "events.csv"), timezone=zone)
    assert loaded.frame["published_at"].to_list() == [expected]


def test_naive_time_without_declared_zone_is_rejected(tmp_path):
    rows = raw_tables()["events"]
    with pytest.raises(DataValidationError) as exc:
        load_table("events", write_csv(rows, tmp_path / "events.csv"), timezone=None)
    # rows 0 and 3 have no offset; row 3 is on line 6 (row 2's body spans two lines)
    assert {p for p in problems_of(exc)} == {
        ("events.csv", 2, "published_at", "naive_time"),
        ("events.csv", 6, "published_at", "naive_time"),
    }


def test_nonexistent_local_time(tmp_path):
    rows = [dict(raw_tables()["events"][0], published_at="2024-03-10 02:30")]  # New York springs forward
    with pytest.raises(DataValidationError) as exc:
        load_table("events", write_csv(rows, tmp_path / "events.csv"), timezone="America/New_York")
    assert problems_of(exc) == {("events.csv", 2, "published_at", "nonexistent_local_time")}


def test_parquet_naive_datetime_is_read_in_the_declared_zone(tmp_path):
    f = typed("events", raw_tables()["events"]).with_columns(
        pl.col("published_at").dt.convert_time_zone("Asia/Shanghai").dt.replace_time_zone(None)
    )
    f.write_parquet(tmp_path / "events.parquet")
    from_naive = load_table("events", tmp_path / "events.parquet", timezone="Asia/Shanghai").frame
    from_csv = load_table("events", write_csv(raw_tables()["events"], tmp_path / "events.csv"), timezone=TZ).frame
    assert_frame_equal(from_naive, from_csv)


# ---- formats and content hashes --------------------------------------------------------------


def test_same_content_same_hash_across_formats_and_row_order(tmp_path):
    tables = raw_tables()
    hashes = {}
    for fmt in ("csv", "jsonl", "parquet"):
        loaded = load_tables(write_all(tables, tmp_path / fmt, fmt), timezone=TZ)
        hashes[fmt] = {t: content_hash(f) for t, f in loaded.frames().items()}
    shuffled = copy.deepcopy(tables)
    rng = random.Random(7)
    for rows in shuffled.values():
        rng.shuffle(rows)
    loaded = load_tables(write_all(shuffled, tmp_path / "shuffled", "csv"), timezone=TZ)
    hashes["shuffled"] = {t: content_hash(f) for t, f in loaded.frames().items()}
    assert hashes["csv"] == hashes["jsonl"] == hashes["parquet"] == hashes["shuffled"]
    changed = copy.deepcopy(tables)
    changed["prices"][0]["close"] = "11.26"
    loaded = load_tables(write_all(changed, tmp_path / "changed", "csv"), timezone=TZ)
    assert content_hash(loaded.frames()["prices"]) != hashes["csv"]["prices"]
    assert content_hash(loaded.frames()["events"]) == hashes["csv"]["events"]


def test_explicit_format_overrides_extension(tmp_path):
    path = write_csv(raw_tables()["benchmarks"], tmp_path / "benchmarks.txt")
    assert load_table("benchmarks", path, timezone=TZ, fmt="csv").frame.height == 6
    with pytest.raises(ValueError, match="extension"):
        load_table("benchmarks", path, timezone=TZ)


def test_jsonl_rows_are_file_line_numbers(tmp_path):
    rows = raw_tables()["prices"]
    rows[2]["open"] = "-1"
    path = write_jsonl(rows, tmp_path / "prices.jsonl", blank_lines=True)
    with pytest.raises(DataValidationError) as exc:
        load_table("prices", path, timezone=TZ)
    assert problems_of(exc) == {("prices.jsonl", 5, "open", "non_positive_price")}  # lines 1, 3, 5, ...


# ---- events: identity and types --------------------------------------------------------------


def test_event_ids_are_derived_from_content_and_given_ids_kept(tmp_path):
    events = load_table("events", write_csv(raw_tables()["events"], tmp_path / "events.csv"), timezone=TZ).frame
    by_headline = {r["headline"]: r["event_id"] for r in events.iter_rows(named=True)}
    assert by_headline["Beta fined"] == "given-id-1"
    assert by_headline["Alpha raises dividend"] == derive_event_id(
        "2024-01-02T02:00:00Z", "600001.SH", 1, "wire", "Alpha raises dividend\nCash dividend up 10%"
    )
    assert by_headline["Beta rumour"] == derive_event_id(
        "2024-01-03T01:30:00Z", "000002.SZ", None, "blog", "Beta rumour\nline one\nline two"
    )
    assert by_headline["Alpha upgraded"] == derive_event_id(
        "2024-01-04T07:05:30.250Z", "600001.SH", 2, "wire", "Alpha upgraded\n"
    )


def test_event_types_normalised_raw_kept_unknown_counted(tmp_path):
    loaded = load_csvs(raw_tables(), tmp_path)
    events = loaded.frames()["events"].sort("headline")
    assert events.select("event_type", "event_type_raw").rows() == [
        ("dividend", "Dividend"),
        ("rating_adjustment", "评级调整"),
        ("violation", "violation"),
        ("unknown", "gossip"),
    ]
    assert loaded.counts()["events"] == {"read": 4, "accepted": 4, "rejected": 0, "unknown_event_type": 1}
    assert events.filter(pl.col("headline") == "Beta fined")["sentiment"].item() == "negative"


def test_extra_columns_are_kept(tmp_path):
    tables = raw_tables()
    for i, r in enumerate(tables["events"]):
        r["url"] = f"https://example.org/{i}"
    events = load_csvs(tables, tmp_path).frames()["events"]
    assert events.columns[-1] == "url" and events["url"].sort().to_list() == [
        f"https://example.org/{i}" for i in range(4)
    ]


def test_reloading_canonical_frames_is_idempotent(tmp_path):
    first = load_csvs(raw_tables(), tmp_path).frames()
    again = load_tables(first, timezone=None).frames()  # in-memory frames, already in UTC
    for table in first:
        assert_frame_equal(again[table], first[table])


# ---- quarantine ------------------------------------------------------------------------------


def test_quarantine_keeps_good_rows_and_counts_rejected(tmp_path):
    tables = raw_tables()
    tables["prices"][1]["close"] = "-2"
    tables["prices"][1]["open"] = "x"
    tables["events"][0]["sentiment"] = "great"
    tables["securities"][1]["benchmark"] = "NOPE"  # cascades: its prices and exposures name an unknown symbol
    loaded = load_csvs(tables, tmp_path, on_invalid="quarantine")
    counts = loaded.counts()
    assert counts["securities"] == {"read": 2, "accepted": 1, "rejected": 1}
    assert counts["prices"] == {"read": 6, "accepted": 2, "rejected": 4}
    assert counts["exposures"] == {"read": 6, "accepted": 3, "rejected": 3}
    assert counts["events"]["rejected"] == 1 and counts["events"]["accepted"] == 3
    rejected = loaded.rejected()["prices"]
    assert rejected["row"].to_list() == [3, 5, 6, 7]
    reason = rejected.filter(pl.col("row") == 3)["reason"].item()
    assert "close: non_positive_price" in reason and "open: wrong_type" in reason
    assert rejected.filter(pl.col("row") == 3)["open"].item() == "x"  # raw value kept
    total = {t: c["accepted"] + c["rejected"] for t, c in counts.items()}
    assert total == {t: len(rows) for t, rows in tables.items()}  # nothing dropped silently
    assert loaded.problems.filter(pl.col("rule") == "unknown_symbol").height == 6


def test_strict_mode_lists_all_problems_of_all_tables(tmp_path):
    tables = raw_tables()
    tables["prices"][0]["open"] = "0"
    tables["benchmarks"][0]["close"] = "nan"
    with pytest.raises(DataValidationError) as exc:
        load_csvs(tables, tmp_path)
    assert problems_of(exc) == {
        ("prices.csv", 2, "open", "non_positive_price"),
        ("benchmarks.csv", 2, "close", "non_finite"),
    }
    assert all(isinstance(p, Problem) for p in exc.value.problems)
    assert str(exc.value).startswith("2 data problem(s):")


@pytest.mark.parametrize(
    ("field", "value"), [("exchange_timezone", "Asia/Beijing"), ("news_cutoff", "9:30"), ("news_cutoff", "24:00")]
)
def test_dataset_meta_checks_zone_and_cutoff(field, value):
    from pydantic import ValidationError

    from janus_core.data.dataset import DatasetMeta

    good = {
        "name": "x",
        "version": "1",
        "provenance": "synthetic_generated",
        "exchange_timezone": "Asia/Shanghai",
        "news_cutoff": "09:30",
        "as_of": "2024-01-01T00:00:00Z",
    }
    DatasetMeta(**good)
    with pytest.raises(ValidationError, match=field):
        DatasetMeta(**{**good, field: value})
