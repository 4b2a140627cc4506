"""Evidence whose claims are checked, not trusted (issue 14): an edited folder whose every hash and
summary an editor re-sealed still fails ``verify``, and ``gate`` fails closed on it with
``workbench_evidence_integrity_failed``; a forged dataset provenance is refused at the door."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import workspace_env
from test_evidence_helpers import run_cli, write_folder

from janus_core import hashing
from janus_core.data import manifest as mf
from janus_core.evidence import schema
from janus_core.evidence.gate import REASON_INTEGRITY_FAILED, evaluate_gate
from janus_core.evidence.records import (
    EvidenceDocs,
    event_car_summary,
    evidence_summary,
    export_summary,
    reward_summary,
)
from janus_core.evidence.verify import verify_evidence
from janus_core.hashing import H, sha256_file
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline import ExportConfig, export
from janus_core.report.render import report_problems

EC, RW, EV = schema.EVENT_CAR_REF, schema.HGRM_REWARD_REF, schema.EVIDENCE_REF


def _copy_workspace(src: WorkbenchPaths, root: Path) -> WorkbenchPaths:
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")
    shutil.copytree(src.data_dir, paths.data_dir)
    shutil.copytree(src.manifest_dir, paths.manifest_dir)
    return paths


@pytest.fixture(scope="module")
def megacap(tmp_path_factory):
    """A private us-megacap workspace and its paper-promotable export (recorded in the runs registry)."""
    from janus_core.data.samples import build_sample

    root = tmp_path_factory.mktemp("claims")
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")
    build_sample("us-megacap", paths, progress=False)
    out = root / "evidence"
    export(ExportConfig(dataset="us-megacap", decisions="type_prior", out_dir=out), paths)
    return paths, out


@pytest.fixture
def folder(megacap, tmp_path):
    paths, out = megacap
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    return copy


@pytest.fixture
def env(megacap, monkeypatch):
    for key, value in workspace_env(megacap[0]).items():
        if key.startswith("JANUS_"):
            monkeypatch.setenv(key, value)
    return megacap[0]


def _load(folder: Path, rel: str) -> dict:
    return json.loads((folder / rel).read_text())


def reseal(folder: Path, drop_report: bool = True) -> None:
    """Recompute every hash and summary an editor could: record manifest hashes, lineage, summaries,
    the companion and short summaries, every file digest and the run manifest's self hash."""
    ev, rw, manifest = _load(folder, EC), _load(folder, RW), _load(folder, "run-manifest.json")
    ev["summary"] = {
        **event_car_summary(ev["records"]),
        "input_event_count": ev["summary"]["input_event_count"],
        "excluded_event_count": ev["summary"]["excluded_event_count"],
    }
    ev["manifest_hash"] = H(ev["records"])
    rw["summary"] = reward_summary(rw["rewards"])
    rw["manifest_hash"] = H(rw["rewards"])
    summary = evidence_summary(ev, rw)
    short = export_summary(
        EvidenceDocs(event_car=ev, hgrm_reward=rw, evidence=summary),
        manifest["dataset"]["name"],
        manifest["decisions_ref"],
        manifest["config"]["export"]["reward_profile"],
    )
    for rel, doc in ((EC, ev), (RW, rw), (EV, summary), (schema.SUMMARY_REF, short)):
        (folder / rel).write_bytes(hashing.dumps(doc))
    if drop_report:
        (folder / schema.REPORT_REF).unlink(missing_ok=True)
    manifest["files"] = {rel: sha256_file(folder / rel) for rel in manifest["files"]}
    manifest.pop("self_hash")
    manifest["self_hash"] = H(manifest)
    (folder / "run-manifest.json").write_bytes(hashing.dumps(manifest))


def _edit(folder: Path, rel: str, change) -> None:
    doc = _load(folder, rel)
    change(doc)
    (folder / rel).write_bytes(hashing.dumps(doc))


def _where(problems) -> set[tuple[str, str]]:
    return {(p.file, p.location.split(".")[0].split("[")[0]) for p in problems}


def test_the_untouched_export_verifies_and_the_lane_passes_it(megacap, env, capsys):
    paths, out = megacap
    assert verify_evidence(out, paths) == [] and report_problems(out, paths) == []
    assert run_cli(["verify", str(out)]) == 0
    capsys.readouterr()
    # the lane's checks pass; the research verdict on this short, losing replay does not
    assert run_cli(["gate", str(out), "--target", "paper"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["lane"] == {"promotable": True, "reasons": []} and verdict["research"]["pass"] is False


def test_resealing_alone_changes_nothing(folder, megacap):
    reseal(folder)
    assert verify_evidence(folder, megacap[0]) == []


def _swap(doc):
    doc["records"][0], doc["records"][1] = doc["records"][1], doc["records"][0]


def _boost(doc):
    for r in doc["rewards"]:
        if r["mapping_status"] == "mapped":
            r["final_reward"] = r["final_reward_unclipped"] = "2.5"


def _car_digit(doc):
    car = doc["records"][3]["car"]
    doc["records"][3]["car"] = car[:-1] + ("1" if car[-1] != "1" else "2")


def _orphan(doc):
    doc["rewards"][0]["event_id"] = "0" * 24


def _gate_flip(doc):
    r = next(r for r in doc["rewards"] if r["direction_gate"] == "mismatch")
    r["direction_gate"] = "match"


def _expected_flip(doc):
    r = next(r for r in doc["rewards"] if r["expected_direction"] == "short")
    r["expected_direction"] = "long"


def _label_flip(doc):
    r = next(r for r in doc["records"] if r["strength_label"] == "weak")
    r["strength_label"] = "strong"


EDITS = [
    # (id, file, change, a (file, location) the verifier must name)
    ("swap-records", EC, _swap, (EC, "records")),
    ("car-digit", EC, _car_digit, (EC, "records")),
    ("label-not-from-car", EC, _label_flip, (EC, "records")),
    ("boost-rewards", RW, _boost, (RW, "rewards")),
    ("reward-on-no-event", RW, _orphan, (RW, "rewards")),
    ("gate-not-from-action", RW, _gate_flip, (RW, "rewards")),
    ("direction-not-the-events", RW, _expected_flip, (RW, "rewards")),
]


@pytest.mark.parametrize("rel, change, named", [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_resealed_edits_are_caught_and_the_gate_fails_closed(folder, env, rel, change, named, capsys):
    """The issue's repro: edit, recompute every hash, and ``verify`` used to pass and the gate say
    promotable. Now the claim is recomputed (without the registry too), and the gate refuses."""
    _edit(folder, rel, change)
    reseal(folder)
    assert child_schema_ok(folder)  # the edit is well-formed: only the claims give it away
    problems = verify_evidence(folder)  # the folder alone, no dataset, no registry
    assert named in _where(problems), [str(p) for p in problems]
    capsys.readouterr()
    assert run_cli(["gate", str(folder), "--target", "paper"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["promotable"] is False and verdict["lane"]["reasons"][0]["code"] == REASON_INTEGRITY_FAILED


def child_schema_ok(folder: Path) -> bool:
    return evaluate_gate(folder, "paper").promotable


def test_an_edit_only_the_registry_can_see(folder, megacap):
    """A field no other record repeats (an event's source), re-sealed: the folder alone verifies, but
    the runs registry recorded the original bytes for this run id."""
    paths, _ = megacap
    _edit(folder, EC, lambda d: d["records"][0].update(source="edited_wire"))
    reseal(folder)
    assert verify_evidence(folder) == []
    problems = verify_evidence(folder, paths)
    assert (EC, "registry") in {(p.file, p.location) for p in problems}, [str(p) for p in problems]


def test_snapshot_hash_must_be_the_hash_of_the_tables(folder):
    _edit(folder, "run-manifest.json", lambda m: m["dataset"]["tables"]["events"].update(content_hash="0" * 64))
    reseal(folder)
    locations = {p.location for p in verify_evidence(folder)}
    assert "dataset.snapshot_hash" in locations


def test_every_dataset_field_against_the_dataset_manifest(folder, megacap):
    paths, _ = megacap
    _edit(folder, "run-manifest.json", lambda m: m["dataset"].update(as_of="2099-01-01T00:00:00Z"))
    reseal(folder)
    assert "dataset.as_of" in {p.location for p in verify_evidence(folder, paths)}


def test_an_edited_report_is_named(folder, env, capsys):
    report = folder / schema.REPORT_REF
    html = report.read_text()
    report.write_text(html.replace("</body>", "<script>fetch('https://example.org/x')</script></body>"))
    assert verify_evidence(folder) == []  # the evidence layer leaves the derived report to report_problems
    assert report_problems(folder, env) and report_problems(folder, None)
    assert run_cli(["verify", str(folder)]) == 1
    assert "report.html: bytes: not what this evidence renders to" in capsys.readouterr().out
    assert run_cli(["gate", str(folder), "--target", "paper"]) == 1
    fake = '<h1>Janus-Q review report</h1><p class="good">Approved by the risk committee</p>'
    report.write_text(html.replace("<h1>Janus-Q review report</h1>", fake))
    assert report_problems(folder, env)
    report.write_text(html)
    assert report_problems(folder, env) == []


def test_gate_fails_closed_without_a_run_manifest(folder, env, capsys):
    (folder / "run-manifest.json").unlink()
    assert evaluate_gate(folder, "paper").promotable  # the lane's own checks never read it
    assert run_cli(["gate", str(folder), "--target", "paper"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert (
        verdict["lane"]["reasons"][0]["code"] == REASON_INTEGRITY_FAILED
        and "run-manifest.json" in verdict["lane"]["reasons"][0]["detail"]
    )


@pytest.mark.parametrize("rel", [EC, "run-manifest.json", schema.SUMMARY_REF])
def test_deeply_nested_json_is_refused_not_a_crash(folder, env, rel, capsys):
    (folder / rel).write_text("[" * 100_000 + "]" * 100_000)
    problems = verify_evidence(folder)
    assert any(p.file == rel and "nested deeper" in p.rule for p in problems), [str(p) for p in problems]
    assert run_cli(["gate", str(folder), "--target", "paper"]) == 1
    assert json.loads(capsys.readouterr().out)["promotable"] is False


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(files=[]),
        lambda m: m.update(dataset="x"),
        lambda m: m.update(config=5),
        lambda m: m["files"].update({"../../etc/passwd": "0" * 64}),
    ],
    ids=["files-list", "dataset-text", "config-number", "file-outside"],
)
def test_a_malformed_run_manifest_is_reported_not_raised(folder, change):
    _edit(folder, "run-manifest.json", change)
    problems = verify_evidence(folder)
    assert problems and all(isinstance(p.rule, str) for p in problems)


def test_a_malformed_analysis_table_is_reported_not_raised(folder):
    (folder / "analysis" / "labelled_car.csv").write_bytes(b'event_id,car\n"unterminated,1\n\x00\xff')
    problems = verify_evidence(folder)
    assert any(p.file.startswith("analysis/labelled_car.csv") for p in problems), [str(p) for p in problems]


# --------------------------------------------------------------------------------------------------
# Synthetic data is synthetic, whatever its manifest says
# --------------------------------------------------------------------------------------------------
def _forge_provenance(paths: WorkbenchPaths, name: str) -> None:
    path = paths.manifest_path(name)
    data = json.loads(path.read_text())
    data["provenance"] = "historical_market_replay"
    data["manifest_hash"] = H({k: v for k, v in data.items() if k != "manifest_hash"})
    mf.write_json(data, path)


def test_a_generated_dataset_with_a_forged_provenance_is_refused(sample_workspace, tmp_path, capsys):
    """The issue's repro: flip provenance in data_manifests/synthetic-ashare.json and recompute its
    manifest_hash; data verify said OK and the export wrote authoritative evidence."""
    paths = _copy_workspace(sample_workspace, tmp_path / "ws")
    _forge_provenance(paths, "synthetic-ashare")
    findings = mf.verify_dataset("synthetic-ashare", paths)
    assert any("names the bundled generator" in f for f in findings), findings
    with pytest.raises(mf.DatasetIntegrityError, match="bundled generator"):
        mf.load_dataset("synthetic-ashare", paths)
    with pytest.raises(mf.DatasetIntegrityError):
        export(
            ExportConfig(
                dataset="synthetic-ashare", decisions="always_long", out_dir=tmp_path / "out", record_run=False
            ),
            paths,
        )
    assert not (tmp_path / "out").exists()


def test_synthetic_evidence_relabelled_historical_is_caught(sample_workspace, tmp_path):
    """Flip provenance in the exported folder (authority recomputed for it, every hash re-sealed):
    the run manifest still names the generator as the source."""
    out = tmp_path / "syn"
    export(
        ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=out, record_run=False, report=False),
        sample_workspace,
    )
    from janus_core.evidence.schema import artifact_authority

    def relabel(doc):
        doc["artifact_authority"], doc["promotion_authority_eligible"] = artifact_authority(
            "historical_market_replay", doc["lineage"]
        )

    _edit(out, "run-manifest.json", lambda m: m["dataset"].update(provenance="historical_market_replay"))
    _edit(out, EC, relabel)
    _edit(out, RW, relabel)
    reseal(out)
    assert evaluate_gate(out, "paper").promotable  # the lane alone would be fooled
    alone = {p.location for p in verify_evidence(out)}
    assert "dataset.provenance" in alone
    against = {p.location for p in verify_evidence(out, sample_workspace)}
    assert {"dataset.provenance", "dataset.manifest_sha256"} & against


def test_hand_built_evidence_verifies(tmp_path):
    assert verify_evidence(write_folder(tmp_path / "hb", dspy=True)) == []
