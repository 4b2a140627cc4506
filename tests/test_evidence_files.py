"""``EvidenceFiles``: verify, the gate and the report share one read of an evidence folder; the export
hands over the bytes it wrote. Checked against reading the folder from disk, file by file."""

from __future__ import annotations

import json

from test_evidence_helpers import make_inputs, write_folder

from janus_core import hashing, pipeline
from janus_core.evidence import schema
from janus_core.evidence.gate import TARGETS, evaluate_gate
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.evidence.verify import verify_evidence
from janus_core.hashing import sha256_file
from janus_core.report.render import report_html


def test_read_holds_every_file_and_parses_and_hashes_each_once(tmp_path):
    out = write_folder(tmp_path / "out", dspy=True)
    files = EvidenceFiles.read(out)
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files.names() == on_disk
    for rel in on_disk:
        assert files.bytes(rel) == (out / rel).read_bytes()
        assert files.sha256(rel) == sha256_file(out / rel)
    doc, why = files.json(schema.EVENT_CAR_REF)
    assert why is None and doc == json.loads((out / schema.EVENT_CAR_REF).read_bytes())
    assert files.json(schema.EVENT_CAR_REF)[0] is doc  # parsed once, shared
    assert files.json("no/such.json") == (None, "missing")
    assert files.bytes("no/such.json") is None and files.sha256("no/such.json") is None
    calls = []
    assert files.memo(("k",), lambda: calls.append(1) or 7) == 7
    assert files.memo(("k",), lambda: calls.append(1) or 8) == 7 and calls == [1]
    assert EvidenceFiles.read(tmp_path / "absent").names() == []


def test_canonical_form_is_checked_on_disk_and_holds_for_the_exports_own_bytes(tmp_path):
    out = write_folder(tmp_path / "out")
    ref = schema.RUN_MANIFEST_REF
    assert EvidenceFiles.read(out).canonical(ref)
    (out / ref).write_bytes((out / ref).read_bytes().replace(b'{\n  "config"', b'{\n   "config"', 1))
    assert not EvidenceFiles.read(out).canonical(ref)  # a whitespace edit read from disk is caught
    files, _, _ = pipeline.render_export(
        make_inputs("synthetic_generated"), generated="2024-11-20T23:59:59Z", dspy=False
    )
    written = EvidenceFiles.written(files)
    assert all(written.canonical(rel) for rel in files if rel.endswith(".json"))
    assert all(hashing.dumps(json.loads(files[rel])) == files[rel] for rel in files if rel.endswith(".json"))
    assert not written.canonical("no/such.json")


def test_verify_gate_and_report_from_shared_bytes_equal_reading_the_disk(tmp_path):
    """On a clean folder and on a tampered one, the findings from one shared read (and from the bytes
    the export wrote) are those of reading each file from disk."""
    files, _, _ = pipeline.render_export(
        make_inputs("synthetic_generated"), generated="2024-11-20T23:59:59Z", dspy=True
    )
    out = write_folder(tmp_path / "out", dspy=True)
    assert verify_evidence(out, files=EvidenceFiles.written(files)) == verify_evidence(out) == []
    path = out / schema.HGRM_REWARD_REF
    doc = json.loads(path.read_bytes())
    doc["rewards"][0]["final_reward"] = "0.9"
    path.write_bytes(hashing.dumps(doc))
    (out / "notes.txt").write_text("extra")
    shared = EvidenceFiles.read(out)
    found = verify_evidence(out, files=shared)
    assert found == verify_evidence(out) and found
    for target in TARGETS:
        assert evaluate_gate(out, target, files=shared) == evaluate_gate(out, target)
    assert report_html(out, "paper", files=shared) == report_html(out, "paper")
