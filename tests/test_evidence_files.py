"""``EvidenceFiles``: verify, the gate and the report share one read of an evidence folder; the export
hands over the bytes it wrote. Checked against reading the folder from disk, file by file."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from test_evidence_helpers import make_inputs, write_folder

from janus_core import hashing, pipeline
from janus_core.evidence import schema, snapshot
from janus_core.evidence.gate import TARGETS, child_schema_problems, evaluate_gate
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


def test_the_exports_own_documents_are_not_rehashed_and_a_folder_read_back_always_is(tmp_path):
    """``written`` with the export's documents: ``manifest_hash`` is the export's own ``H(records)``, not
    recomputed (the findings are those of recomputing it); read from disk, or handed bytes only, every
    document is rehashed, so an edit that re-seals the file but not the hash is caught."""
    files, _, docs = pipeline.render_export(
        make_inputs("synthetic_generated"), generated="2024-11-20T23:59:59Z", dspy=False
    )
    own = {schema.EVENT_CAR_REF: docs.event_car, schema.HGRM_REWARD_REF: docs.hgrm_reward}
    written = EvidenceFiles.written(files, documents=own)
    assert written.own(schema.EVENT_CAR_REF) and written.own(schema.HGRM_REWARD_REF)
    assert not written.own(schema.RUN_MANIFEST_REF) and not EvidenceFiles.written(files).own(schema.EVENT_CAR_REF)
    for rel, schema_version in (
        (schema.EVENT_CAR_REF, schema.EVENT_CAR_SCHEMA),
        (schema.HGRM_REWARD_REF, schema.HGRM_REWARD_SCHEMA),
    ):
        doc = written.json(rel)[0]
        assert (
            child_schema_problems(doc, schema_version, rehash=False) == child_schema_problems(doc, schema_version) == []
        )
        assert child_schema_problems({**doc, "manifest_hash": None}, schema_version, rehash=False)  # must be a string
    out = write_folder(tmp_path / "out")
    path = out / schema.EVENT_CAR_REF
    doc = json.loads(path.read_bytes())
    doc["records"][0]["car"] = "0.5"  # manifest_hash left as it was
    path.write_bytes(hashing.dumps(doc))
    assert any("manifest_hash does not equal H(records)" in str(p) for p in verify_evidence(out))
    data = {
        rel: p.read_bytes() for rel, p in ((p.relative_to(out).as_posix(), p) for p in out.rglob("*") if p.is_file())
    }
    found = verify_evidence(out, files=EvidenceFiles.written(data), publishing=True)
    assert any("manifest_hash does not equal H(records)" in str(p) for p in found)


def test_two_threads_asking_for_one_parse_or_memo_compute_it_once(monkeypatch, tmp_path):
    out = write_folder(tmp_path / "out")
    files = EvidenceFiles.read(out)
    calls: list[str] = []
    barrier = threading.Barrier(4)

    original = snapshot.parse_json_object

    def slow_parse(data: bytes):
        calls.append("parse")
        time.sleep(0.05)
        return original(data)

    monkeypatch.setattr(snapshot, "parse_json_object", slow_parse)

    def ask() -> tuple:
        barrier.wait()
        memo = files.memo(("slow",), lambda: calls.append("memo") or time.sleep(0.05) or object())
        return files.json(schema.EVENT_CAR_REF)[0], memo

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: ask(), range(4)))
    assert calls.count("parse") == 1 and calls.count("memo") == 1
    assert all(r[0] is results[0][0] and r[1] is results[0][1] for r in results)
