"""``verify_evidence`` and ``janus verify``: a clean export verifies, with or without its review
report; any edit of any byte of any hashed file is caught and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_evidence_helpers import run_cli, write_folder

from janus_core import hashing
from janus_core.evidence import schema
from janus_core.evidence.verify import verify_evidence
from janus_core.hashing import H, sha256_file
from janus_core.paths import WorkbenchPaths


@pytest.fixture(params=[False, True], ids=["bare", "with-report"])
def folder(tmp_path, request) -> Path:
    out = write_folder(tmp_path / "out", dspy=True)
    if request.param:
        from janus_core.report.render import render_report

        render_report(out)
    return out


def _files(out: Path) -> list[str]:
    """Every file of the folder except the review report, a derived view nothing is hashed over."""
    return sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.relative_to(out).as_posix() != schema.REPORT_REF
    )


def test_clean_export_verifies(folder):
    assert verify_evidence(folder) == []


def test_every_file_is_covered(folder):
    files = _files(folder)
    assert {
        "run-manifest.json",
        schema.EVENT_CAR_REF,
        schema.HGRM_REWARD_REF,
        schema.EVIDENCE_REF,
        "dspy/dspy-compile-result.json",
        "dspy/dspy-bundle.json",
        "analysis/labelled_car.csv",
    } <= set(files)
    for rel in files:
        data = (folder / rel).read_bytes()
        for pos in (0, len(data) // 2, len(data) - 2):
            edited = bytearray(data)
            edited[pos] = (edited[pos] + 1) % 128 or 65
            (folder / rel).write_bytes(bytes(edited))
            problems = verify_evidence(folder)
            assert problems, f"edit of byte {pos} of {rel} went unnoticed"
            assert any(p.file == rel for p in problems), (rel, [str(p) for p in problems])
            (folder / rel).write_bytes(data)
    assert verify_evidence(folder) == []


def test_whitespace_edit_of_the_run_manifest_is_caught(folder):
    path = folder / "run-manifest.json"
    path.write_bytes(path.read_bytes().replace(b'{\n  "config"', b'{\n   "config"', 1))
    problems = verify_evidence(folder)
    assert [(p.file, p.location) for p in problems] == [("run-manifest.json", "bytes")]


def test_consistent_record_edit_is_still_caught_by_the_summary(folder):
    """Change a CAR and re-seal every hash an editor could: the recomputed summary still differs."""
    path = folder / schema.EVENT_CAR_REF
    doc = json.loads(path.read_text())
    doc["records"][0]["car"] = "0.5"
    doc["manifest_hash"] = H(doc["records"])
    path.write_bytes(hashing.dumps(doc))
    manifest = json.loads((folder / "run-manifest.json").read_text())
    manifest["files"][schema.EVENT_CAR_REF] = sha256_file(path)
    manifest["self_hash"] = H({k: v for k, v in manifest.items() if k != "self_hash"})
    (folder / "run-manifest.json").write_bytes(hashing.dumps(manifest))
    locations = {(p.file, p.location) for p in verify_evidence(folder)}
    assert (schema.EVENT_CAR_REF, "summary.mean_abs_car") in locations
    assert (schema.EVIDENCE_REF, "event_car") in locations
    assert ("dspy/dspy-compile-result.json", "datasetHash") in locations


def test_missing_and_unlisted_files(folder):
    (folder / "analysis" / "rewards.csv").unlink()
    (folder / "notes.txt").write_text("extra")
    problems = {(p.file, p.rule) for p in verify_evidence(folder)}
    assert ("analysis/rewards.csv", "listed in run-manifest.json but missing") in problems
    assert ("notes.txt", "not listed in run-manifest.json files") in problems


def test_authority_upgrade_is_caught(folder):
    """Marking synthetic evidence authoritative (and re-sealing the hashes) is named."""
    for ref in (schema.EVENT_CAR_REF, schema.HGRM_REWARD_REF):
        path = folder / ref
        doc = json.loads(path.read_text())
        doc["artifact_authority"]["authoritative"] = True
        path.write_bytes(hashing.dumps(doc))
    problems = {(p.file, p.location) for p in verify_evidence(folder)}
    assert (schema.EVENT_CAR_REF, "artifact_authority") in problems
    assert (schema.HGRM_REWARD_REF, "artifact_authority") in problems


def test_input_digests_against_the_dataset_manifest(folder, tmp_path):
    paths = WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "manifests", store=tmp_path / "s.duckdb")
    problems = verify_evidence(folder, paths)
    assert [p.rule for p in problems] == ["dataset manifest (version 1) not found: input digests cannot be checked"]
    paths.manifest_dir.mkdir()
    manifest = {
        "name": "handbuilt",
        "version": "1",
        "tables": {"events": {"sha256": "a" * 64, "content_hash": "c" * 64, "rows": 6}},
    }
    paths.manifest_path("handbuilt").write_text(json.dumps(manifest))
    locations = [p.location for p in verify_evidence(folder, paths)]
    assert "dataset.tables.events" in locations


def test_cli_verify_exit_codes(folder, capsys):
    assert run_cli(["verify", str(folder), "--no-dataset"]) == 0
    path = folder / schema.HGRM_REWARD_REF
    path.write_bytes(path.read_bytes().replace(b'"reward_count": 7', b'"reward_count": 8'))
    capsys.readouterr()
    assert run_cli(["verify", str(folder), "--no-dataset"]) == 1
    out = capsys.readouterr().out
    assert f"{schema.HGRM_REWARD_REF}: summary.reward_count: recorded 8 but recomputed 7" in out
    assert f"{schema.HGRM_REWARD_REF}: sha256" in out


def test_the_review_report_is_a_derived_view_not_evidence(folder):
    """The report cannot be listed in the run manifest it shows; verify accepts it, and still names a
    leftover temp file beside it."""
    from janus_core.report.render import render_report

    render_report(folder)
    assert (folder / schema.REPORT_REF).is_file()
    assert schema.REPORT_REF not in json.loads((folder / "run-manifest.json").read_text())["files"]
    assert verify_evidence(folder) == []
    (folder / ".report.html.tmp").write_text("partial")
    assert [(p.file, p.rule) for p in verify_evidence(folder)] == [
        (".report.html.tmp", "not listed in run-manifest.json files")
    ]
