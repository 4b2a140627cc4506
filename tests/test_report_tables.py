"""The report's analysis tables, parsed when a section asks for them (``report.folder.AnalysisTables``),
against reading every table up front (tests/report_reference.py): the same frame for every stem, the
same errors in the same order, whatever order the stems are asked for in and whatever was released;
and the sections drawn while verify runs give the report the old order gave."""

from __future__ import annotations

import io
import json
import random

import polars as pl
import pytest
from report_reference import read_analysis_tables

from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.report.folder import AnalysisTables

_CSV = b"a,b\n1,x\n2,y\n"
_PARQUET = io.BytesIO()
pl.DataFrame({"a": [1, 2], "b": ["x", None]}).write_parquet(_PARQUET)

#: Table files of every kind: readable, unreadable, several per stem, ignored names.
_VARIANTS = {
    "ok.csv": _CSV,
    "ragged.csv": b"a,b\n1,2,3\n",
    "empty.csv": b"",
    "bad_utf8.csv": b"a\n\xff\n",
    "twice.csv": b"a\n\xff\n",  # unreadable first file of a stem, readable second
    "twice.json": json.dumps({"a": [1, 2]}).encode(),
    "both.csv": _CSV,  # two readable files: the first in path order wins
    "both.jsonl": b'{"a": 9}\n',
    "bad.json": b"{",
    "list.json": b"[1, 2]",
    "lines.jsonl": b'{"a": 1}\n{"a": "x"}\n',
    "table.parquet": _PARQUET.getvalue(),
    "broken.parquet": b"PAR1",
    "UPPER.CSV": _CSV,
    "notes.txt": b"not a table",
    "nested/inner.csv": _CSV,
}


def _files(names: list[str]) -> EvidenceFiles:
    data = {f"analysis/{n}": _VARIANTS[n] for n in names}
    data["run-manifest.json"] = b"{}"
    data["analysisX/ok.csv"] = _CSV
    return EvidenceFiles(data)


def _same(a: pl.DataFrame | None, b: pl.DataFrame | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.equals(b) and a.schema == b.schema)


def test_lazy_tables_equal_reading_every_table_up_front():
    rng = random.Random(7)
    names = sorted(_VARIANTS)
    stems = sorted({n.rsplit("/", 1)[-1].split(".")[0] for n in names}) + ["absent"]
    for _ in range(200):
        chosen = rng.sample(names, rng.randrange(0, len(names) + 1))
        files = _files(chosen)
        frames, errors = read_analysis_tables(files)
        tables = AnalysisTables(files)
        ahead = rng.sample(stems, rng.randrange(0, len(stems) + 1)) if rng.random() < 0.5 else []
        tables.read_ahead(ahead)  # the same frames and errors, whatever is read ahead and in what order
        asked = [s for s in rng.sample(stems, len(stems)) if rng.random() < 0.8]
        for stem in asked:  # any order, some twice, some never, with releases between
            for _ in range(rng.randrange(1, 3)):
                assert _same(tables.get(stem), frames.get(stem)), (chosen, stem)
            if rng.random() < 0.3:
                tables.release()
        assert tables.errors() == errors, (chosen, ahead, asked)
        assert tables.errors() == errors  # asked again: the same, nothing read twice
        tables.close()


def test_errors_read_the_tables_no_section_asked_for():
    tables = AnalysisTables(_files(["ok.csv", "ragged.csv", "twice.csv", "twice.json"]))
    assert tables.get("twice").equals(pl.DataFrame({"a": [1, 2]}))
    errors = tables.errors()
    assert [e.split(":")[0] for e in errors] == ["analysis/ragged.csv", "analysis/twice.csv"]
    assert all("cannot be read as a table" in e for e in errors)


@pytest.mark.parametrize("stem", ["ok", "table", "lines"])
def test_a_released_table_is_parsed_again_to_the_same_frame(stem):
    tables = AnalysisTables(_files(["ok.csv", "table.parquet", "lines.jsonl"]))
    first = tables.get(stem)
    tables.release()
    again = tables.get(stem)
    assert again is not first and again.equals(first)
