"""Dataset manifests: save/load round trip, deterministic bytes, content hash definition,
tampering detected by verify, atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from data_tables import small_dataset, workspace
from polars.testing import assert_frame_equal

from janus_core.data import manifest as mf
from janus_core.data.dataset import Dataset
from janus_core.data.manifest import load_dataset
from janus_core.data.rows import DataValidationError
from janus_core.hashing import H, sha256_file

SAVE_ARGS = {"source": "hand-made test tables", "licence": "CC0", "production": {"generator": "tests", "seed": 0}}


@pytest.fixture
def saved(tmp_path):
    paths = workspace(tmp_path / "ws")
    ds = small_dataset(tmp_path)
    mf.save_dataset(ds, paths, **SAVE_ARGS)
    return ds, paths


def test_round_trip_and_manifest_fields(saved):
    ds, paths = saved
    back = load_dataset("tiny", paths)
    for table, frame in ds.tables().items():
        assert_frame_equal(back.tables()[table], frame)
    data = json.loads(paths.manifest_path("tiny").read_text())
    assert {
        k: data[k]
        for k in ("name", "version", "provenance", "source", "licence", "exchange_timezone", "news_cutoff", "as_of")
    } == {
        "name": "tiny",
        "version": "1",
        "provenance": "historical_market_replay",
        "source": "hand-made test tables",
        "licence": "CC0",
        "exchange_timezone": "Asia/Shanghai",
        "news_cutoff": "09:30",
        "as_of": "2024-01-04T23:59:59Z",
    }
    assert data["production"] == {"generator": "tests", "seed": 0}
    events = data["tables"]["events"]
    assert events["path"] == "tiny/1/events.parquet" and events["format"] == "parquet" and events["rows"] == 4
    assert events["sha256"] == hashlib.sha256((paths.data_dir / "tiny/1/events.parquet").read_bytes()).hexdigest()
    assert events["schema"][:3] == [
        {"name": "event_id", "type": "string"},
        {"name": "symbol", "type": "string"},
        {"name": "published_at", "type": "datetime[us,UTC]"},
    ]
    assert data["snapshot_hash"] == H({t: e["content_hash"] for t, e in data["tables"].items()})
    assert back.meta.snapshot_hash == data["snapshot_hash"]
    assert data["manifest_hash"] == H({k: v for k, v in data.items() if k != "manifest_hash"})
    text = paths.manifest_path("tiny").read_text()
    assert text.endswith("}\n") and text == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert mf.verify_dataset("tiny", paths) == []
    assert mf.list_datasets(paths) == ["tiny"]


def _reference_hash(columns: dict[str, tuple[str, list]]) -> str:
    """The documented encoding, written out with struct: columns by name, each as its name, null
    mask and values, every piece preceded by its 8-byte little-endian length."""
    header = json.dumps([[c, t] for c, (t, _) in sorted(columns.items())], separators=(",", ":"))
    digest = hashlib.sha256(header.encode())
    for name, (kind, values) in sorted(columns.items()):
        pieces = [name.encode(), bytes(v is None for v in values)]
        if kind == "string":
            encoded = [(v or "").encode() for v in values]
            pieces += [b"".join(struct.pack("<Q", len(e)) for e in encoded), b"".join(encoded)]
        elif kind == "float64":
            pieces.append(b"".join(struct.pack("<d", 0.0 if v is None else v) for v in values))
        else:  # int64 and date (days since 1970-01-01)
            pieces.append(b"".join(struct.pack("<q", 0 if v is None else v) for v in values))
        for piece in pieces:
            digest.update(struct.pack("<Q", len(piece)) + piece)
    return digest.hexdigest()


def test_content_hash_matches_an_independent_encoding():
    frame = pl.DataFrame({"b": ["é\n", "x", None], "a": [100.0, 1.5, None], "d": [3, None, 7]}).with_columns(
        pl.Series("day", ["2024-01-03", "2024-01-02", "1970-01-05"]).str.to_date()
    )
    # canonical row order (no key given): by every column in name order, i.e. by a: 1.5, 100.0, null
    expected = _reference_hash(
        {
            "a": ("float64", [1.5, 100.0, None]),
            "b": ("string", ["x", "é\n", None]),
            "d": ("int64", [None, 3, 7]),
            "day": ("date", [19724, 19725, 4]),
        }
    )
    assert mf.content_hash(frame) == expected
    assert mf.content_hash(frame.reverse().select(sorted(frame.columns, reverse=True))) == expected
    assert mf.content_hash(frame, order_by=["day"]) != expected  # the canonical order is part of the hash
    assert mf.content_hash(frame.with_columns(pl.col("d").cast(pl.Float64))) != expected  # types count
    assert mf.content_hash(frame.with_columns(pl.col("b").fill_null(""))) != expected  # null is not ""


def test_same_dataset_same_bytes(saved, tmp_path):
    ds, paths = saved
    other = workspace(tmp_path / "other")
    shuffled = Dataset(
        meta=ds.meta, **{t: f.sample(fraction=1.0, shuffle=True, seed=3) for t, f in ds.tables().items()}
    )
    mf.save_dataset(shuffled, other, **SAVE_ARGS)
    for table in ds.tables():
        assert sha256_file(paths.data_dir / f"tiny/1/{table}.parquet") == sha256_file(
            other.data_dir / f"tiny/1/{table}.parquet"
        )
    assert paths.manifest_path("tiny").read_bytes() == other.manifest_path("tiny").read_bytes()


def test_same_bytes_whatever_the_thread_count_and_hash_seed(saved, tmp_path):
    """Save the same dataset in fresh interpreters with 1 and 2 polars threads and different hash seeds."""
    _, paths = saved
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, 'tests');"
        "from data_tables import small_dataset, workspace; from janus_core.data import manifest as mf;"
        "root = Path(sys.argv[1]); mf.save_dataset(small_dataset(root), workspace(root / 'ws'), "
        "source='hand-made test tables', licence='CC0', production={'generator': 'tests', 'seed': 0})"
    )
    repo = Path(__file__).resolve().parents[1]
    for threads, seed in (("1", "1"), ("2", "12345")):
        root = tmp_path / f"t{threads}"
        env = dict(os.environ, POLARS_MAX_THREADS=threads, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-c", script, str(root)], cwd=repo, env=env, check=True)
        assert (root / "ws/data_manifests/tiny.json").read_bytes() == paths.manifest_path("tiny").read_bytes()


def test_verify_names_a_table_whose_content_changed(saved):
    _, paths = saved
    path = paths.data_dir / "tiny/1/prices.parquet"
    pl.read_parquet(path).with_columns(pl.col("close") * 1.01).write_parquet(path)
    findings = mf.verify_dataset("tiny", paths)
    assert findings == [f"prices: file bytes and content changed ({path})"]
    with pytest.raises(mf.DatasetIntegrityError, match="prices: file bytes changed"):
        load_dataset("tiny", paths)


def test_verify_tells_re_encoding_from_content_change(saved):
    _, paths = saved
    path = paths.data_dir / "tiny/1/events.parquet"
    pl.read_parquet(path).write_parquet(path, compression="snappy")
    assert mf.verify_dataset("tiny", paths) == [f"events: file bytes changed, content unchanged ({path})"]


def test_verify_detects_edited_manifest(saved):
    _, paths = saved
    path = paths.manifest_path("tiny")
    data = json.loads(path.read_text())
    data["provenance"] = "synthetic_generated"
    path.write_text(json.dumps(data, sort_keys=True, indent=2) + "\n")
    assert mf.verify_dataset("tiny", paths) == [
        "manifest: edited since it was written (manifest_hash mismatch)",
        f"manifest: differs from the copy kept with version 1 ({paths.dataset_dir('tiny') / '1' / 'manifest.json'})",
    ]
    with pytest.raises(mf.DatasetIntegrityError, match="manifest_hash"):
        load_dataset("tiny", paths)


def test_verify_detects_edited_table_hash_in_manifest(saved):
    _, paths = saved
    path = paths.manifest_path("tiny")
    data = json.loads(path.read_text())
    data["tables"]["benchmarks"]["content_hash"] = "0" * 64
    path.write_text(json.dumps(data, sort_keys=True, indent=2) + "\n")
    findings = mf.verify_dataset("tiny", paths)
    assert "manifest: edited since it was written (manifest_hash mismatch)" in findings
    assert "manifest: snapshot_hash does not match the tables' content hashes" in findings
    assert any(f.startswith("benchmarks: content changed, file bytes unchanged") for f in findings)


def test_verify_missing_and_unexpected_files(saved):
    _, paths = saved
    (paths.data_dir / "tiny/1/exposures.parquet").unlink()
    pl.DataFrame({"x": [1]}).write_parquet(paths.data_dir / "tiny/1/extra.parquet")
    findings = mf.verify_dataset("tiny", paths)
    assert findings == [
        f"exposures: file missing ({paths.data_dir / 'tiny/1/exposures.parquet'})",
        f"extra: file not in the manifest ({paths.data_dir / 'tiny/1/extra.parquet'})",
    ]
    assert mf.verify_dataset("nope", paths)[0].startswith("manifest: unreadable or missing")


def test_rejected_rows_are_written_and_recorded(tmp_path):
    paths = workspace(tmp_path / "ws")
    rejected = {"prices": pl.DataFrame({"row": [3, 2], "reason": ["b", "a"], "open": ["x", "y"]})}
    mf.save_dataset(small_dataset(tmp_path), paths, **SAVE_ARGS, rejected=rejected)
    data = json.loads(paths.manifest_path("tiny").read_text())
    assert data["rejected"]["prices"]["path"] == "tiny/1/rejected/prices.parquet"
    assert pl.read_parquet(paths.data_dir / "tiny/1/rejected/prices.parquet")["row"].to_list() == [2, 3]
    assert mf.verify_dataset("tiny", paths) == []
    assert set(data["tables"]) == {"events", "prices", "benchmarks", "securities", "exposures"}
    plain = workspace(tmp_path / "plain")  # the snapshot covers the dataset tables, not the rejected rows
    mf.save_dataset(small_dataset(tmp_path), plain, **SAVE_ARGS)
    assert json.loads(plain.manifest_path("tiny").read_text())["snapshot_hash"] == data["snapshot_hash"]


def test_invalid_dataset_writes_nothing(tmp_path):
    paths = workspace(tmp_path / "ws")
    ds = small_dataset(tmp_path)
    bad = Dataset(
        meta=ds.meta,
        events=ds.events,
        prices=ds.prices.with_columns(pl.col("date").cast(pl.String)),
        benchmarks=ds.benchmarks,
        securities=ds.securities,
    )
    with pytest.raises(DataValidationError, match="<tiny/prices>:-: date: wrong_type"):
        mf.save_dataset(bad, paths, **SAVE_ARGS)
    negative = Dataset(
        meta=ds.meta,
        events=ds.events,
        prices=ds.prices.with_columns(pl.col("open") * -1),
        benchmarks=ds.benchmarks,
        securities=ds.securities,
    )
    with pytest.raises(DataValidationError, match="<tiny/prices>:1: open: non_positive_price"):
        mf.save_dataset(negative, paths, **SAVE_ARGS)
    assert not paths.manifest_path("tiny").exists() and not paths.dataset_dir("tiny").exists()


def test_failure_mid_write_keeps_the_previous_version(saved, monkeypatch):
    ds, paths = saved
    before = {p.name: p.read_bytes() for p in (paths.dataset_dir("tiny") / "1").iterdir()}
    manifest_before = paths.manifest_path("tiny").read_bytes()
    calls = []

    def failing(frame, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        frame.write_parquet(path)

    monkeypatch.setattr(mf, "write_parquet", failing)
    changed = Dataset(
        meta=ds.meta,
        events=ds.events,
        prices=ds.prices.with_columns(pl.col("close") + 1),
        benchmarks=ds.benchmarks,
        securities=ds.securities,
    )
    with pytest.raises(OSError, match="disk full"):
        mf.save_dataset(changed, paths, **SAVE_ARGS)
    assert {p.name: p.read_bytes() for p in (paths.dataset_dir("tiny") / "1").iterdir()} == before
    assert sorted(p.name for p in paths.dataset_dir("tiny").iterdir()) == ["1"]  # no temp folder left
    assert paths.manifest_path("tiny").read_bytes() == manifest_before
    assert sorted(p.name for p in paths.data_dir.iterdir()) == ["tiny"]
    assert sorted(p.name for p in paths.manifest_dir.iterdir()) == ["tiny.json"]


def test_bad_dataset_name_is_refused(tmp_path):
    ds = small_dataset(tmp_path, name="../escape")
    with pytest.raises(ValueError, match="dataset name"):
        mf.save_dataset(ds, workspace(tmp_path / "ws"), **SAVE_ARGS)
