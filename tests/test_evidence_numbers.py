"""The column-at-once writers of the evidence (``evidence.numbers``, ``hashing.dumps``, ``text_hashes``,
``records.reward_ids``, ``jsonio.json_depth_ok``) against the per-value reference functions they
replace."""

from __future__ import annotations

import json
import math
import random
import re
from datetime import date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from test_evidence_helpers import labelled_table

from janus_core import hashing
from janus_core.evidence import records
from janus_core.evidence.jsonio import json_depth_ok, parse_json_object
from janus_core.evidence.numbers import decimal_strs, iso_utc_strs, record_numbers
from janus_core.evidence.records import _iso_days, reward_ids
from janus_core.evidence.schema import _num, iso_utc
from janus_core.hashing import H, decimal_str, text_hashes


def _floats() -> np.ndarray:
    rng = np.random.default_rng(13)
    return np.concatenate(
        [
            rng.normal(0, 0.02, 20_000),
            rng.lognormal(3, 2, 10_000),
            -rng.lognormal(0, 5, 10_000),
            # ties of the shortest repr at the 11th decimal, and values near them
            np.round(rng.normal(0, 1, 10_000), 10) + 5e-11,
            np.round(rng.normal(0, 1, 10_000), 11),
            rng.integers(-(10**6), 10**6, 5_000) * 5e-11,
            rng.uniform(-1e5, 1e5, 10_000),
            rng.uniform(-1e9, 1e9, 2_000),
            rng.normal(0, 1e-9, 10_000),
            [0.0, -0.0, 5e-11, -5e-11, 1.5e-10, 2.5e-10, -2.5e-10, 1e-300, -1e-300, 5e-324],
            [1e15, 1.23456789012345e14, 99999.99999999995, 0.12345678905, -0.12345678905, 1e5 + 5e-11, 1e17],
        ]
    )


def test_decimal_strs_equal_decimal_str_on_many_values():
    x = _floats()
    assert decimal_strs(pl.Series("x", x)).to_list() == [decimal_str(float(v)) for v in x]


def test_decimal_strs_nulls_integers_and_empty():
    values = [0.1, None, -0.0, 2.5e-10, None]
    assert decimal_strs(pl.Series("x", values)).to_list() == [None if v is None else decimal_str(v) for v in values]
    ints = [0, -7, 123456789, None, 10**17, -(10**17) - 1]
    assert decimal_strs(pl.Series("i", ints, dtype=pl.Int64)).to_list() == [
        None if v is None else decimal_str(v) for v in ints
    ]
    assert decimal_strs(pl.Series("e", [], dtype=pl.Float64)).to_list() == []
    assert decimal_strs(pl.Series("n", [None, None])).to_list() == [None, None]
    assert decimal_strs(pl.Series("f", [1.25], dtype=pl.Float32)).to_list() == ["1.25"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_decimal_strs_refuse_non_finite_like_decimal_str(bad):
    with pytest.raises(ValueError, match="non-finite"):
        decimal_str(bad)
    with pytest.raises(ValueError, match="non-finite"):
        decimal_strs(pl.Series("x", [1.0, bad]))


def test_decimal_strs_refuse_too_large_like_decimal_str():
    with pytest.raises(ValueError, match="too large"):
        decimal_str(1e30)
    with pytest.raises(ValueError, match="too large"):
        decimal_strs(pl.Series("x", [1.0, 1e30]))
    with pytest.raises(ValueError, match="too large"):
        decimal_strs(pl.Series("i", [1, -(10**18)], dtype=pl.Int64))


def test_record_numbers_are_num_of_each_value():
    values = [0.5, None, math.nan, -1e-12, 3.0, 12.345678901249]
    assert record_numbers(pl.Series("x", values)) == [_num(v) for v in values]
    with pytest.raises(ValueError):
        record_numbers(pl.Series("x", [math.inf]))


def test_iso_utc_strs_equal_iso_utc():
    rng = random.Random(5)
    base = datetime(2019, 1, 1, tzinfo=timezone.utc)
    times = [base + timedelta(seconds=rng.randrange(10**8)) for _ in range(300)]
    times += [t.replace(microsecond=rng.randrange(1000) * 1000) for t in times[:100]]
    times += [t.replace(microsecond=rng.randrange(10**6)) for t in times[:100]]
    times += [base.replace(microsecond=1000), base.replace(microsecond=1), base.replace(microsecond=999000)]
    for tz in ("UTC", "Asia/Shanghai"):
        series = pl.Series("t", [*times, None], dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone(tz)
        assert iso_utc_strs(series) == [iso_utc(t) for t in series.to_list()[:-1]] + [None]
    naive = pl.Series("t", [t.replace(tzinfo=None) for t in times], dtype=pl.Datetime("ms"))
    assert iso_utc_strs(naive) == [iso_utc(t) for t in naive.to_list()]
    assert iso_utc_strs(pl.Series("t", [], dtype=pl.Datetime("us", "UTC"))) == []


def test_iso_days_equal_isoformat():
    days = [date(2020, 1, 2), None, date(1999, 12, 31)]
    assert _iso_days(pl.Series("d", days, dtype=pl.Date)) == ["2020-01-02", None, "1999-12-31"]


def test_text_hashes_and_reward_ids_equal_h():
    texts = ["", "a\nb", 'quote " and \\ back', "é€𝄞", "\x00\x7f"]
    assert text_hashes(texts) == [H(t) for t in texts]
    strategies = ["s", None, "é", "x\ny"]
    indices = [0, 1, 2**40, 7]
    events = ["e1", None, "ü", "e4"]
    for cid in ("janus-q-candidate", "c\u00e9"):
        expected = [
            H({"candidate_id": cid, "strategy_id": s, "decision_index": i, "event_id": e})[:24]
            for s, i, e in zip(strategies, indices, events, strict=True)
        ]
        assert reward_ids(cid, strategies, indices, events) == expected


def _reference_dumps(obj) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode("utf-8")


def test_dumps_equal_json_on_nested_unicode_data():
    rng = random.Random(11)
    alphabet = ["a", "Z", "0", " ", '"', "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "é", "€", "𝄞", "\u2028", "/"]

    def text(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(n)))

    def value(depth: int):
        kind = rng.randrange(7 if depth < 5 else 4)
        if kind == 0:
            return text(8)
        if kind == 1:
            return rng.choice([0, -1, 2**63 - 1, -(2**63), 2**64 - 1, rng.randrange(-(10**12), 10**12)])
        if kind == 2:
            return rng.choice([True, False, None])
        if kind == 3:
            return rng.choice([[], {}, (), ""])
        if kind == 4:
            return [value(depth + 1) for _ in range(rng.randrange(5))]
        if kind == 5:
            return tuple(value(depth + 1) for _ in range(rng.randrange(3)))
        return {text(5): value(depth + 1) for _ in range(rng.randrange(6))}

    for _ in range(2000):
        obj = value(0)
        assert hashing.dumps(obj) == _reference_dumps(obj)
        assert hashing.canonical_bytes(obj) == hashing.canonical_json(obj).encode("utf-8")


@pytest.mark.parametrize(
    "odd",
    [
        {"x": 1.5},
        {"x": [float("nan")]},
        {2: "y", 1: None},
        [2**70],
        {"s": "\ud800"},
        {"nested": {"deep": [0.1, "a"]}},
        [True, 1.0],
    ],
)
def test_dumps_falls_back_to_json_outside_native_values(odd):
    assert hashing.dumps(odd) == _reference_dumps(odd)
    if not isinstance(odd, dict) or all(isinstance(k, str) for k in odd):
        assert hashing.canonical_bytes(odd) == hashing.canonical_json(odd).encode("utf-8")


def test_dumps_subclasses_go_through_json():
    class Text(str):
        pass

    class Table(dict):
        pass

    for obj in (Text("é"), Table(b=1, a=Text("x")), [Table()], {"a": [{"b": Text("c")}]}, {Text("k"): 1}):
        assert hashing.dumps(obj) == _reference_dumps(obj)
        assert hashing.canonical_bytes(obj) == hashing.canonical_json(obj).encode("utf-8")


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _reference_depth_ok(data: bytes | str, limit: int) -> bool:
    """The former regular-expression walk over the decoded text."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    depth = 0
    for ch in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        if depth > limit:
            return False
    return True


def test_json_depth_ok_equals_the_text_walk_on_valid_json():
    rng = random.Random(17)
    pieces = ["a", '"', "\\", "[", "{", "}", "]", "é", "\\\\", '\\"']

    def value(depth: int):
        kind = rng.randrange(4)
        if depth > 9 or kind == 0:
            return "".join(rng.choice(pieces) for _ in range(rng.randrange(5)))
        if kind == 1:
            return [value(depth + 1) for _ in range(rng.randrange(3))]
        if kind == 2:
            return rng.choice([None, 1, [], {}])
        return {value(99): value(depth + 1) for _ in range(rng.randrange(3))}

    for _ in range(3000):
        text = json.dumps(value(0), ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))
        for limit in range(0, 11):
            expected = _reference_depth_ok(text, limit)
            assert json_depth_ok(text, limit) == expected
            assert json_depth_ok(text.encode("utf-8"), limit) == expected
    deep = "[" * 100 + "]" * 100
    assert not json_depth_ok(deep) and json_depth_ok(deep, 100)
    assert json_depth_ok('["' + "[" * 100 + '"]')


def test_parse_json_object_refuses_invalid_text_either_way():
    # on text that is not JSON the two walks may disagree on the depth (a backslash outside a
    # string), but the object is refused all the same
    rng = random.Random(19)
    alphabet = ["[", "]", "{", "}", '"', "\\", "a", "é", ":", ","]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(80)))
        try:
            obj = json.loads(text)
        except ValueError:
            assert parse_json_object(text)[0] is None
        else:
            assert (parse_json_object(text)[0] is None) == (not isinstance(obj, dict))


def test_map_decisions_on_a_mixed_table_equals_one_decision_at_a_time():
    # the join for decisions with an event id and the (event_ts, symbol, seq) walk for the others
    # give each row what mapping it alone gives (test_evidence's rule cases)
    labelled = labelled_table()
    ids = labelled["event_id"].to_list()
    excluded_id = labelled.filter(pl.col("excluded_reason").is_not_null())["event_id"][0]
    rows = [
        {"event_id": ids[0]},
        {"event_ts": "2024-11-12T01:00:00Z", "symbol": "600001.SH", "seq": 2},
        {"event_ts": "2024-11-12T09:00:00+08:00", "symbol": "600001.SH"},
        {"event_ts": "2024-11-13T02:30:00.120Z", "symbol": "600002.SH"},
        {"event_ts": "2024-11-13T02:30:00Z", "symbol": "600002.SH"},
        {"event_ts": "2024-11-15T08:00:00Z", "symbol": "600005.SH"},
        {"event_id": "nope"},
        {"event_id": excluded_id},
        {"event_id": ids[1], "event_ts": "2024-11-12T01:00:00Z", "symbol": "600001.SH", "seq": 2},
        {},
    ]
    schema_ = {
        "event_id": pl.String,
        "strategy_id": pl.String,
        "action": pl.String,
        "event_ts": pl.String,
        "symbol": pl.String,
        "seq": pl.Int64,
    }
    frames = [pl.DataFrame([{"strategy_id": "s", "action": "long", **r}], schema=schema_) for r in rows]
    one_by_one = [records.map_decisions(f, labelled).row(0, named=True) for f in frames]
    together = records.map_decisions(pl.concat(frames), labelled)
    for i, (alone, row) in enumerate(zip(one_by_one, together.iter_rows(named=True), strict=True)):
        assert row == {**alone, "decision_index": i}
    assert {r["mapping_status"] for r in one_by_one} == {"mapped", "ambiguous", "unmapped", "event_excluded"}
    # without an event_id column, or with one of another type, every decision goes by key
    no_ids = pl.concat(frames).drop("event_id")
    assert records.map_decisions(no_ids, labelled)["mapping_status"].to_list() == [
        records.map_decisions(f.drop("event_id"), labelled)["mapping_status"][0] for f in frames
    ]
    int_ids = pl.concat(frames).with_columns(pl.lit(7, pl.Int64).alias("event_id"))
    assert set(records.map_decisions(int_ids, labelled)["mapping_status"]) == {"unmapped"}
    empty = records.map_decisions(pl.concat(frames).head(0), labelled)
    assert empty.height == 0 and empty["mapping_status"].dtype == pl.String
