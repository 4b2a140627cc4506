"""The data layer's fast paths against their reference formulas, on random tables with the edge cases
(nulls, empty frames, ties, white space, quoted line breaks): duplicate keys by sorting against
``len().over(key)``, record line numbers by prefix sums against the csv module, and the unstripped
conversion of numbers, booleans and dates against the stripped one with its checks."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from janus_core.data import reading, tables
from janus_core.data.rows import _ROW, UTC_DATETIME, ColumnSpec, DataValidationError
from janus_core.data.rules import duplicate_keys


def _reference_duplicates(frame: pl.DataFrame, key: list[str]) -> list[bool]:
    if frame.height == 0:
        return []
    flagged = frame.select(
        (pl.all_horizontal(pl.col(k).is_not_null() for k in key) & (pl.len().over(key) > 1)).fill_null(False)
    )
    return flagged.to_series().to_list()


@pytest.mark.parametrize("seed", range(12))
def test_duplicate_keys_match_len_over_key(seed):
    rng = random.Random(seed)
    n = rng.choice([0, 1, 2, 7, 40, 300])
    frame = pl.DataFrame(
        {
            "symbol": [rng.choice(["A", "B", "C", None]) for _ in range(n)],
            "date": [rng.choice([1, 2, 3, None]) for _ in range(n)],
            "x": [rng.random() for _ in range(n)],
        },
        schema={"symbol": pl.String, "date": pl.Int64, "x": pl.Float64},
    )
    for key in (["symbol"], ["symbol", "date"], ["date", "symbol"]):
        assert duplicate_keys(frame, key).to_list() == _reference_duplicates(frame, key)


def test_duplicate_keys_all_ties_and_all_distinct():
    same = pl.DataFrame({"k": ["a"] * 5})
    assert duplicate_keys(same, ["k"]).to_list() == [True] * 5
    distinct = pl.DataFrame({"k": ["e", "d", "c", "b", "a"]})
    assert duplicate_keys(distinct, ["k"]).to_list() == [False] * 5


def _csv_cases() -> list[bytes]:
    rows = [
        b'a,b\n1,x\n2,"two\nlines"\n3,z\n',  # quoted line break
        b'a,b\n1,x\n2,"two\nlines"\n3,z',  # no final line break
        b'a,b\r\n1,"x\r\ny"\r\n2,z\r\n',  # CRLF, also inside a value
        b"a,b\n1,x\n\n2,y\n",  # blank line: the csv module decides
        b'a,b\r1,x\r2,"y"\r',  # bare CR line ends: the csv module decides
        b'a,b\n"1","x\n\n\ny"\n2,"q""uote"\n',  # several breaks in one value, escaped quote
        b"a,b\n",  # header only
        b"a,b\n1,x\n2,y\n3,z\n",  # no quote character at all
    ]
    rng = random.Random(7)
    for _ in range(20):
        lines = [b"h1,h2,h3"]
        for i in range(rng.randint(0, 12)):
            cells = []
            for _ in range(3):
                text = "".join(rng.choice(["a", " ", "\n", ",", '"', "b"]) for _ in range(rng.randint(0, 5)))
                cells.append(('"' + text.replace('"', '""') + '"') if rng.random() < 0.7 else str(i))
            lines.append(",".join(cells).encode())
        rows.append(b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b""))
    return rows


@pytest.mark.parametrize("data", _csv_cases())
def test_csv_line_numbers_match_the_csv_module(tmp_path, data):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    raw = reading.read_raw(path, "csv")
    indices = list(range(1, raw.frame.height + 1))
    assert raw.row_numbers(indices) == reading._csv_rows_by_reader(data)(indices)


@pytest.mark.parametrize(
    "data",
    [b'{"a": "1"}\n{"a": "2"}\n', b'{"a": "1"}\n\n{"a": "2"}', b'\n{"a": "1"}\n   \n{"a": "2"}\n\n', b'{"a": "1"}\r\n'],
)
def test_jsonl_line_numbers_match_the_line_scan(tmp_path, data):
    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    raw = reading.read_raw(path, "jsonl")
    indices = list(range(1, raw.frame.height + 1))
    lines = [n for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
    assert raw.row_numbers(indices) == [lines[i - 1] for i in indices]


def _reference_conversion(frame: pl.DataFrame, specs: list[ColumnSpec]) -> pl.DataFrame:
    """Every column the full way: stripped, with every check (the behaviour before the fast path)."""
    exprs = []
    for spec in specs:
        value, errs = tables._coerce_column(spec.name, spec.dtype, frame.schema[spec.name], "Asia/Shanghai")
        exprs.append(value.alias(spec.name))
        exprs += [cond.fill_null(False).alias(f"{rule}\x1f{spec.name}") for rule, (cond, _) in errs.items()]
    return frame.select(pl.col(_ROW), *exprs)


@pytest.mark.parametrize("seed", range(10))
def test_unstripped_fast_conversion_equals_the_stripped_one(seed):
    rng = random.Random(seed)
    n = rng.choice([0, 1, 5, 60])
    dirty = rng.random() < 0.5  # half the cases take the fast path for every column

    def pick(clean: list[str | None], bad: list[str | None]) -> list[str | None]:
        return [rng.choice(clean + (bad if dirty else [])) for _ in range(n)]

    frame = pl.DataFrame(
        {
            "f": pick(["1.5", "-2", "1e3", "inf", "nan", None], [" 3.25", "4 ", "", "  ", "x", "\t7\n"]),
            "i": pick(["1", "-20", None], [" 3", "1.0", "", "x"]),
            "b": pick(["true", "False", "1", "n", None], [" yes", "maybe", "", "T "]),
            "d": pick(["2024-01-02", "2023-12-31", None], [" 2024-01-02", "2024-01-02 ", "2024-13-01", ""]),
        },
        schema={c: pl.String for c in "fibd"},
    ).with_row_index(_ROW, offset=1)
    frame = frame.with_columns(pl.col(_ROW).cast(pl.Int64))
    specs = [
        ColumnSpec("f", pl.Float64(), False),
        ColumnSpec("i", pl.Int64(), False),
        ColumnSpec("b", pl.Boolean(), False),
        ColumnSpec("d", pl.Date(), False),
    ]
    out, checks, problems = tables._converted(frame, specs, "Asia/Shanghai", "t.csv")
    reference = _reference_conversion(frame, specs)
    assert not problems
    for spec in specs:
        assert out[spec.name].equals(reference[spec.name], check_names=False), spec.name
    for rule_column in reference.columns[1:]:
        if "\x1f" not in rule_column:
            continue
        flagged = out[rule_column] if rule_column in checks else pl.Series([False] * n)
        assert flagged.to_list() == reference[rule_column].to_list(), rule_column


def test_date_times_from_staged_parts():
    values = [
        "2024-01-02 10:00",
        "2024-01-02T10:00:00+08:00",
        " 2024-01-02 10:00:01.5Z ",
        "2024-03-10 02:30",
        None,
        "x",
    ]
    frame = pl.DataFrame({"t": values}).with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64))
    spec = ColumnSpec("t", UTC_DATETIME, True)
    out, checks, _ = tables._converted(frame, [spec], "America/New_York", "t.csv")
    s = pl.col("t").str.strip_chars()
    parts = s.str.extract_groups(tables._DATETIME_PATTERN)
    assert out["t"].dtype == UTC_DATETIME
    local = frame.select(
        pl.concat_str(
            parts.struct.field("d"), pl.lit(" "), parts.struct.field("hm"), parts.struct.field("s").fill_null(":00")
        ).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    ).to_series()
    assert out["t"].is_null().to_list() == [False, False, False, True, True, True]  # 02:30 does not exist in NY
    assert local.is_null().to_list() == [False, False, False, False, True, True]
    assert out["wrong_type\x1ft"].to_list() == [False, False, False, False, False, True]
    assert out["nonexistent_local_time\x1ft"].to_list() == [False, False, False, True, False, False]
    # 10:00 EST = 15:00Z; 10:00+08:00 = 02:00Z; 10:00:01.5Z
    assert out["t"].dt.epoch("ms").to_list()[:3] == [1704207600000, 1704160800000, 1704189601500]


@pytest.mark.parametrize("seed", range(8))
def test_canonical_order_equals_a_stable_sort(seed):
    rng = random.Random(seed)
    n = rng.choice([0, 1, 6, 50])
    frame = pl.DataFrame(
        {
            "symbol": [rng.choice(["A", "B", None]) for _ in range(n)],
            "date": [rng.choice([1, 2, None]) for _ in range(n)],
            "open": [float(i) for i in range(n)],  # tells ties apart: their input order must be kept
            "close": [1.0] * n,
        },
        schema={"symbol": pl.String, "date": pl.Int64, "open": pl.Float64, "close": pl.Float64},
    ).with_columns(pl.col("date").cast(pl.Date))
    reference = frame.sort(["symbol", "date"], nulls_last=True, maintain_order=True)
    assert tables.canonical_order("prices", frame).equals(reference)
    assert tables.canonical_order("prices", reference).equals(reference)  # already in order: unchanged


SPELLINGS = [
    "1.5", "-2", "1e3", "1E-3", "inf", "-inf", "Infinity", "nan", "NaN", "+1", "-0", "-0.0", ".5", "1.", "+.5",
    "00.1", "123456789.123456789", "1e308", "1e309", "-1e400", "4.9e-324", "1e-400", "1.0000000000000002",
    "9007199254740993", "0x10", "1_0", " 1.5", "1.5 ", "\t2", "", "  ", "1,5", "\uff11", "1.5e", "e5", "--1", "1..2",
]  # fmt: skip


@pytest.mark.parametrize("value", SPELLINGS)
def test_numbers_parsed_by_the_csv_reader_equal_the_text_conversion(value):
    quoted = '"' + value.replace('"', '""') + '"'
    data = f"symbol,open\nA,{quoted}\nB,2.5\n".encode()
    frame, typed = reading._read_csv(data, lambda header: ["open"])
    text = pl.read_csv(data, infer_schema=False).with_row_index(_ROW, offset=1)
    text = text.with_columns(pl.col(_ROW).cast(pl.Int64))
    out, checks, _ = tables._converted(text, [ColumnSpec("open", pl.Float64(), True)], None, "t.csv")
    if typed:  # only when the text conversion accepts every value, and to the same bits
        assert frame["open"].dtype == pl.Float64
        assert not any(out[flag].any() for flag in checks)
        assert str(frame["open"].to_list()) == str(out["open"].to_list())
        assert np.array_equal(
            frame["open"].to_numpy().view(np.int64)[~np.isnan(frame["open"].to_numpy())],
            out["open"].to_numpy().view(np.int64)[~np.isnan(out["open"].to_numpy())],
        )
    else:
        assert frame["open"].dtype == pl.String


def test_rejected_rows_keep_the_values_as_written(tmp_path):
    path = tmp_path / "benchmarks.csv"
    path.write_text("benchmark,date,close\nIDX,2024-01-02,100.50\nIDX,2024-01-03,-1.0e0\nIDX,2024-01-04,1e3\n")
    loaded = tables.load_table("benchmarks", path, timezone=None, on_invalid="quarantine")
    assert loaded.frame["close"].to_list() == [100.5, 1000.0]
    assert loaded.rejected.select("row", "close").rows() == [(3, "-1.0e0")]  # the text, not -1.0
    assert loaded.rejected.schema["close"] == pl.String


def test_a_file_changed_during_an_import_is_refused(tmp_path):
    path = tmp_path / "benchmarks.csv"
    path.write_text("benchmark,date,close\nIDX,2024-01-02,100\nIDX,2024-01-03,-1\n")
    raw = reading.read_raw(path, "csv", numbers=lambda header: ["close"])
    path.write_text("benchmark,date,close\nIDX,2024-01-02,100\nIDX,2024-01-03,-2\n")
    with pytest.raises(DataValidationError, match="changed while it was being imported"):
        raw.text()
