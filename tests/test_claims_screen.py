"""The fast paths of verify against the formulas they replace: the column-at-once claims screens
(``evidence.claims_screen``, used by ``evidence.claims``) against the per-record rules kept in
tests/claims_reference.py, on randomly tampered folders; the level-by-level JSON walk
(``hashing.json_value_kinds``) against the former stack walk; the orjson-first reader
(``jsonio.parse_json_object``) against ``json`` itself; batched reward ids against ``H``; the schema
check's C-level completeness test against the per-row loop."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import claims_reference as reference
import polars as pl
import pytest
from test_evidence_helpers import write_folder

from janus_core import hashing
from janus_core.evidence import claims, claims_screen, claims_tables
from janus_core.evidence.gate import child_schema_problems
from janus_core.evidence.jsonio import _parse_with_json, parse_json_object
from janus_core.evidence.records import reward_ids
from janus_core.evidence.schema import EVENT_CAR_REF, EVENT_CAR_SCHEMA, HGRM_REWARD_REF, HGRM_REWARD_SCHEMA
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import H

LABELLED, MAPPING = "analysis/labelled_car.csv", "analysis/decision_mapping.csv"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("screen") / "out", complete=True)


#: Values a tampered field may take: wrong types, near-threshold and out-of-range decimals, labels.
_POOL = [
    None,
    0,
    1,
    True,
    False,
    1.5,
    "x",
    "",
    "0",
    "-0",
    "0.01",
    "-0.01",
    "0.0100000001",
    "0.00999999999",
    "1e-3",
    " 0.5",
    "3",
    "-3.0000000001",
    "2.9999999999",
    "1000.5",
    "99999",
    "NaN",
    "long",
    "short",
    "neutral",
    "hold",
    "strong",
    "weak",
    "match",
    "mismatch",
    "unknown",
    "mapped",
    "unmapped",
    "earnings",
    "2024-11-12T01:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-11-12T01:00:00.5Z",
    [1],
    {"a": 1},
]


def _findings(files: EvidenceFiles, folder: Path, ev: dict, rw: dict, manifest: dict, tables: dict) -> tuple:
    """Every claims finding, by the screened rules (new) and the reference (old)."""
    cfg = claims.reward_config(rw)
    cars = claims.predicted_cars(tables[MAPPING])
    label_cfg = claims.label_config(manifest)
    new = (
        claims.order_problems(ev["records"], rw["rewards"]),
        claims.label_problems(ev, label_cfg),
        claims.reward_reference_problems(ev, rw, cfg, cars),
        claims.analysis_problems(files, ev, rw, cfg, tables[LABELLED], tables[MAPPING]),
    )
    columns = claims_screen.record_columns(ev, rw)  # one set of columns for every claim, as verify shares them
    shared = (
        claims.order_problems(ev["records"], rw["rewards"], columns),
        claims.label_problems(ev, label_cfg, columns),
        claims.reward_reference_problems(ev, rw, cfg, cars, columns),
        claims.analysis_problems(files, ev, rw, cfg, tables[LABELLED], tables[MAPPING], columns),
    )
    assert shared == new
    old = (
        reference.order_problems(ev["records"], rw["rewards"]),
        reference.label_problems(ev, label_cfg),
        reference.reward_reference_problems(ev, rw, cfg, cars),
        reference.analysis_problems(folder, ev, rw, cfg, tables[LABELLED], tables[MAPPING]),
    )
    return new, old


def _tamper_table(frame: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    col = rng.choice(frame.columns)
    row = rng.randrange(frame.height)
    value = rng.choice([None, "x", "0.5", "long", "positive", "strong", "mapped", "1", frame[col][max(row - 1, 0)]])
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value, pl.String)).otherwise(pl.col(col)).alias(col)
    )


def test_screened_claims_equal_the_per_record_rules_on_tampered_folders(folder):
    files = EvidenceFiles.read(folder)
    ev0, rw0 = files.json(EVENT_CAR_REF)[0], files.json(HGRM_REWARD_REF)[0]
    manifest = files.json("run-manifest.json")[0]
    tables0 = {rel: claims_tables.read_csv_table(files, rel, []) for rel in (LABELLED, MAPPING)}
    new, old = _findings(files, folder, ev0, rw0, manifest, tables0)
    assert new == old and not any(new)  # the untouched folder: nothing found either way
    rng = random.Random(23)
    found_any = raised = 0
    for _ in range(400):
        ev, rw, tables = copy.deepcopy(ev0), copy.deepcopy(rw0), dict(tables0)
        for _ in range(rng.randrange(1, 4)):
            kind = rng.randrange(6)
            if kind <= 1:
                rows = [r for r in (ev["records"] if kind == 0 else rw["rewards"]) if isinstance(r, dict)]
                row = rng.choice(rows)
                row[rng.choice(sorted(row))] = copy.deepcopy(rng.choice(_POOL))
            elif kind == 2:
                rows = rng.choice([ev["records"], rw["rewards"]])
                i = rng.randrange(1, len(rows))
                rows[i - 1], rows[i] = rows[i], rows[i - 1]
            elif kind == 3:
                row = rng.choice([r for r in rw["rewards"] if isinstance(r, dict)])
                row.pop(rng.choice(["action", "clipped", "final_reward", "event_ts"]), None)
            elif kind == 4:
                rel = rng.choice([LABELLED, MAPPING])
                tables[rel] = _tamper_table(tables[rel], rng)
            else:
                rw["rewards"][rng.randrange(len(rw["rewards"]))] = rng.choice([7, "r", None])
        try:
            new, old = _findings(files, folder, ev, rw, manifest, tables)
        except Exception as exc:  # noqa: BLE001 - then the reference must fail the same way
            raised += 1
            with pytest.raises(type(exc)):
                _findings_reference_only(folder, ev, rw, manifest, tables)
            continue
        assert new == old
        found_any += any(new)
    assert found_any > 300 and raised < 40


def _findings_reference_only(folder: Path, ev: dict, rw: dict, manifest: dict, tables: dict) -> None:
    cfg = claims.reward_config(rw)
    cars = claims.predicted_cars(tables[MAPPING])
    reference.order_problems(ev["records"], rw["rewards"])
    reference.label_problems(ev, claims.label_config(manifest))
    reference.reward_reference_problems(ev, rw, cfg, cars)
    reference.analysis_problems(folder, ev, rw, cfg, tables[LABELLED], tables[MAPPING])


def _reference_json_native(obj) -> bool:
    """The former stack walk of ``hashing._json_native``."""
    stack = [obj]
    scalars, containers = {str, int, bool, type(None)}, {dict, list, tuple}
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            values = item.values()
        elif kind is list or kind is tuple:
            values = item
        else:
            return kind in scalars
        kinds = set(map(type, values))
        if kinds <= scalars:
            continue
        if not kinds <= scalars | containers:
            return False
        stack.extend(v for v in values if type(v) in containers)
    return True


class _Str(str):
    pass


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 6 else 5)
    if kind == 0:
        return rng.choice(["a", "", "é", 0, -5, 2**70, True, None])
    if kind == 1:
        return rng.choice([1.5, float("nan"), _Str("s")])
    if kind in (2, 3, 4):
        return rng.choice(["b", 3, False])
    if kind in (5, 6):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return tuple(_random_value(rng, depth + 1) for _ in range(rng.randrange(3)))
    return {f"k{i}": _random_value(rng, depth + 1) for i in range(rng.randrange(4))}


def _depth(obj) -> int:
    if type(obj) in (dict, list, tuple):
        items = obj.values() if type(obj) is dict else obj
        return 1 + max((_depth(v) for v in items), default=0)
    return 0


def test_json_value_kinds_equals_the_stack_walk_and_the_nesting():
    rng = random.Random(29)
    for _ in range(3000):
        value = _random_value(rng)
        assert hashing._json_native(value) == _reference_json_native(value)
        kinds, depth = hashing.json_value_kinds(value)
        assert depth == _depth(value)
        assert type(value) in kinds
    records = [{"a": "x", "b": i, "c": None} for i in range(100)]
    assert hashing.json_value_kinds({"records": records, "meta": {"l": [1, (2,)]}}) == (
        {dict, list, tuple, str, int, type(None)},
        4,
    )


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 18446744073709551616}',
        b'{"a": -9223372036854775809}',
        b'{"a": 1.5}',
        b'{"a": 1e400}',
        b'{"a": NaN}',
        b'{"a": "\\ud800"}',
        b'\xef\xbb\xbf{"a": 1}',
        b'{"a": 1, "a": 2}',
        b"\xff",
        b"[]",
        b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}",
        b'{"a": [1.5, ' + b"[" * 70 + b"]" * 70 + b"]}",
        b'{"a": "' + b"[" * 70 + b'"}',
        '{"é": "\U0001d11e"}',
        b'{"a": {"b": [true, false, null, -0, 12]}}',
        b"",
    ],
)
def test_parse_json_object_gives_what_json_gives(text):
    got, expected = parse_json_object(text), _parse_with_json(text)
    assert got[1] == expected[1]
    assert json.dumps(got[0], sort_keys=False) == json.dumps(expected[0], sort_keys=False)
    if got[0] is not None:
        assert list(got[0]) == list(expected[0])


def test_reward_ids_of_any_json_values_equal_h():
    strategies = ["s", None, 3, 1.5, True, ["l"]]
    indices = [0, "1", None, 2.0, False, {"k": 1}]
    events = [None, "e", 7, float("nan"), "é", [None]]
    for cid in ("c", None, 5):
        expected = [
            H({"candidate_id": cid, "strategy_id": s, "decision_index": i, "event_id": e})[:24]
            for s, i, e in zip(strategies, indices, events, strict=True)
        ]
        assert reward_ids(cid, strategies, indices, events) == expected


def test_schema_check_names_the_first_incomplete_row(folder):
    ev = json.loads((folder / EVENT_CAR_REF).read_text())
    rw = json.loads((folder / HGRM_REWARD_REF).read_text())
    assert child_schema_problems(ev, EVENT_CAR_SCHEMA) == []
    ev["records"][1].pop("car")
    ev["records"][2] = "x"
    assert "records[1] lacks ['car']" in child_schema_problems(ev, EVENT_CAR_SCHEMA)
    rw["rewards"][0] = 5
    assert any(p.startswith("rewards[0] lacks") for p in child_schema_problems(rw, HGRM_REWARD_SCHEMA))


def test_written_files_take_the_digests_given_and_hash_the_rest():
    files = EvidenceFiles.written({"a.json": b"{}", "b.csv": b"x\n"}, {"a.json": "given", "gone": "x"})
    assert files.sha256("a.json") == "given"
    assert files.sha256("b.csv") == hashing.sha256_bytes(b"x\n")
    assert files.sha256("gone") is None


def test_json_round_trip_is_the_parsed_text_or_none():
    rng = random.Random(31)
    for _ in range(2000):
        value = {"v": _random_value(rng), "records": [{"b": 1, "a": "x"}, {"b": None, "a": "é"}]}
        twin = hashing.json_round_trip(value)
        if twin is None:
            continue
        parsed = json.loads(hashing.dumps(value))
        assert twin == parsed and json.dumps(twin) == json.dumps(parsed)  # same values, same key order
    assert hashing.json_round_trip({"a": (1,)}) is None  # a tuple comes back a list
    assert hashing.json_round_trip({"a": 1.5}) is None
    assert hashing.json_round_trip({1: "a"}) is None
    assert hashing.json_round_trip({"a": [[[]]]}, max_depth=3) is None
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
    assert hashing.json_round_trip({"r": rows})["r"] is rows  # flat sorted records are shared


def test_written_documents_are_taken_as_their_parse(folder):
    files = EvidenceFiles.read(folder)
    ev = files.json(EVENT_CAR_REF)[0]
    data = {rel: files.bytes(rel) for rel in files.names()}
    written = EvidenceFiles.written(data, documents={EVENT_CAR_REF: ev, HGRM_REWARD_REF: {"a": 1.5}})
    assert written.json(EVENT_CAR_REF)[0]["records"] is ev["records"]
    assert written.json(HGRM_REWARD_REF) == files.json(HGRM_REWARD_REF)  # not shown: parsed from the bytes


@pytest.mark.parametrize(
    "data",
    [
        None,
        b"event_id,headline,car,direction,strength,excluded_reason,event_type,body\ne1,h,0.1,positive,strong,,x,b\n",
        b"car,event_id\n0.1,e1\n",  # lacks columns: named by the checks, as before
        b"event_id,car\ne1,0.1,extra\n",  # ragged: not readable, though the kept columns parse
        b"event_id\n\xff\n",
        b"",
    ],
)
def test_claims_text_tables_keep_the_columns_read_of_the_whole_file(data):
    """``csv_text_table`` parses the whole file (an unreadable one is named as before) and keeps, of a
    table in ``CLAIM_COLUMNS``, the columns the checks read: the whole file's parse, selected."""
    for rel in (LABELLED, "analysis/exclusions.csv", MAPPING):
        files = EvidenceFiles({} if data is None else {rel: data})
        frame, why = claims_tables.csv_text_table(files, rel)
        if data is None:
            assert (frame, why) == (None, None)
            continue
        try:
            whole = pl.read_csv(data, infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            assert frame is None and why == str(exc).strip().splitlines()[0]
            continue
        keep = claims_tables.CLAIM_COLUMNS.get(rel)
        assert why is None and frame.equals(
            whole if keep is None else whole.select(c for c in whole.columns if c in keep)
        )
