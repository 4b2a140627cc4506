"""``janus data build``: a sample is checked against its pinned manifest, fails naming the tables that
differ without replacing anything, and ``--update-manifest`` changes the manifest on purpose."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from janus_core.data.samples import (
    ManifestMismatchError,
    build_sample,
    manifest_differences,
)
from janus_core.hashing import sha256_file
from janus_core.paths import WorkbenchPaths


@pytest.fixture
def paths(tmp_path):
    return WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")


def _tamper(path, table: str) -> None:
    doc = json.loads(path.read_text())
    doc["tables"][table]["content_hash"] = "0" * 64
    path.write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n")


def test_rebuild_matches_then_a_changed_table_is_named_and_nothing_replaced(paths, capsys):
    manifest = build_sample("synthetic-ashare", paths, progress=False)
    assert "new manifest" in capsys.readouterr().out
    first = manifest.read_bytes()
    prices = paths.data_dir / json.loads(first)["tables"]["prices"]["path"]
    prices_digest = sha256_file(prices)

    build_sample("synthetic-ashare", paths, progress=False)
    assert " matches " in capsys.readouterr().out and manifest.read_bytes() == first

    _tamper(manifest, "prices")
    tampered = manifest.read_bytes()
    with pytest.raises(ManifestMismatchError) as err:
        build_sample("synthetic-ashare", paths, progress=False)
    message = str(err.value)
    assert "prices: content differs" in message and "--update-manifest" in message
    assert "events:" not in message and "\n" not in message
    assert manifest.read_bytes() == tampered and sha256_file(prices) == prices_digest

    build_sample("synthetic-ashare", paths, progress=False, update_manifest=True)
    assert "updated (prices: content differs" in capsys.readouterr().out
    # the update saves the build as a new version of the dataset (the earlier one stays recoverable)
    updated, original = json.loads(manifest.read_bytes()), json.loads(first)
    assert {t: e["content_hash"] for t, e in updated["tables"].items()} == {
        t: e["content_hash"] for t, e in original["tables"].items()
    }


def test_differences_name_tables_fields_and_file_bytes():
    table = {"content_hash": "a" * 64, "sha256": "b" * 64, "rows": 3, "schema": [{"name": "x", "type": "f64"}]}
    pinned = {
        "tables": {"prices": table, "events": table},
        "production": {"seed": 1, "config": {"t_dof": 4}},
        "as_of": "2024-01-25",
        "snapshot_hash": "s",
        "manifest_hash": "m",
    }
    assert manifest_differences(pinned, pinned) == []
    built = json.loads(json.dumps(pinned))
    built["tables"]["prices"] |= {"content_hash": "c" * 64, "rows": 4}
    built["tables"]["events"]["sha256"] = "d" * 64
    built["tables"]["exposures"] = table
    built["production"]["config"]["t_dof"] = 5
    built["snapshot_hash"] = built["manifest_hash"] = "other"
    assert manifest_differences(built, pinned) == [
        "events: file bytes differ, content identical (a different Parquet writer?)",
        "exposures: built but not in the manifest",
        "prices: content differs (content hash cccccccccccc built vs aaaaaaaaaaaa, 4 rows built vs 3)",
        "production.config.t_dof: 5 built vs 4",
    ]


def test_cli_build_fails_in_one_line_then_update_manifest(paths):
    env = dict(
        os.environ,
        JANUS_DATA_DIR=str(paths.data_dir),
        JANUS_MANIFEST_DIR=str(paths.manifest_dir),
        JANUS_STORE=str(paths.store),
    )

    def janus(*argv):
        return subprocess.run([sys.executable, "-m", "janus_core.cli", *argv], env=env, capture_output=True, text=True)

    first = janus("data", "build", "synthetic-ashare", "--quiet")
    assert first.returncode == 0 and first.stderr == ""  # registered in the store, no DuckDB leak noise at exit
    pinned = paths.manifest_path("synthetic-ashare").read_bytes()
    bad = janus("data", "build", "synthetic-ashare", "--seed", "7", "--quiet")
    assert bad.returncode != 0 and bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1, bad.stderr
    for table in ("events", "prices", "benchmarks", "securities", "exposures"):
        assert f"{table}: content differs" in bad.stderr
    assert "production.seed: 7 built vs 20260221" in bad.stderr
    assert paths.manifest_path("synthetic-ashare").read_bytes() == pinned
    good = janus("data", "build", "synthetic-ashare", "--seed", "7", "--quiet", "--update-manifest")
    assert good.returncode == 0 and good.stderr == "", good.stderr
    assert json.loads(paths.manifest_path("synthetic-ashare").read_text())["production"]["seed"] == 7
    assert janus("data", "verify", "synthetic-ashare").stdout == "OK\n"
