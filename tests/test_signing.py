"""Signed evidence and datasets (issue 14): Ed25519 attestations in DSSE envelopes of in-toto
statements; ``verify`` / ``gate`` with ``--trusted-key`` refuse unsigned or wrongly signed evidence;
a signed dataset's attestation travels with the evidence built from it."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from conftest import workspace_env
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_evidence_helpers import run_cli, write_folder

from janus_core import hashing, pipeline, signing
from janus_core.data import manifest as mf
from janus_core.evidence import schema
from janus_core.evidence.gate import REASON_INTEGRITY_FAILED
from janus_core.evidence.verify import verify_evidence
from janus_core.hashing import H, sha256_bytes
from janus_core.paths import WorkbenchPaths


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("keys")
    return {who: signing.generate_keypair(root / who)[0] for who in ("lab", "vendor", "mallory")}


def pub(key: Path) -> Path:
    return key.with_name(key.name + ".pub")


def test_the_envelope_is_dsse_over_an_in_toto_statement(keys):
    key = signing.load_private_key(keys["lab"])
    env = signing.attest("x.json", "ab" * 32, signing.EVIDENCE_PREDICATE, {"run_id": "r"}, key)
    statement = json.loads(base64.b64decode(env["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "x.json", "digest": {"sha256": "ab" * 32}}]
    sig = env["signatures"][0]
    # an independent check of the DSSE pre-authentication encoding and the Ed25519 signature
    payload = base64.b64decode(env["payload"])
    pae = b"DSSEv1 %d %b %d %b" % (len(signing.PAYLOAD_TYPE), signing.PAYLOAD_TYPE.encode(), len(payload), payload)
    key.public_key().verify(base64.b64decode(sig["sig"]), pae)
    trusted = [signing.load_public_key(pub(keys["lab"]))]
    assert signing.check_attestation(env, "x.json", "ab" * 32, signing.EVIDENCE_PREDICATE, trusted) == (
        [],
        signing.key_id(key.public_key()),
    )
    assert signing.check_attestation(env, "x.json", "cd" * 32, signing.EVIDENCE_PREDICATE, trusted)[0]
    other = [signing.load_public_key(pub(keys["mallory"]))]
    assert (
        "not a trusted key"
        in signing.check_attestation(env, "x.json", "ab" * 32, signing.EVIDENCE_PREDICATE, other)[0][0]
    )
    forged = {
        **env,
        "signatures": [
            {
                **sig,
                "public_key": base64.b64encode(
                    signing.raw_public_key(Ed25519PrivateKey.generate().public_key())
                ).decode(),
            }
        ],
    }
    assert (
        "no signature verifies"
        in signing.check_attestation(forged, "x.json", "ab" * 32, signing.EVIDENCE_PREDICATE)[0][0]
    )


def test_keygen_never_overwrites(tmp_path, capsys):
    assert run_cli(["keygen", str(tmp_path / "k")]) == 0
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600 and (tmp_path / "k.pub").is_file()
    before = (tmp_path / "k").read_bytes()
    assert run_cli(["keygen", str(tmp_path / "k")]) == 2
    assert "never overwrites" in capsys.readouterr().err and (tmp_path / "k").read_bytes() == before


def test_signed_hand_built_evidence(tmp_path, keys, monkeypatch):
    files, _, _ = pipeline.render_export(
        _inputs(), generated="2024-11-20T23:59:59Z", dspy=False, sign_key=signing.load_private_key(keys["lab"])
    )
    from janus_core.evidence import output

    out = tmp_path / "signed"
    output.write_tree_atomically(out, files)
    lab, mallory = ([signing.load_public_key(pub(keys[k]))] for k in ("lab", "mallory"))
    assert verify_evidence(out) == [] and verify_evidence(out, trusted_keys=lab) == []
    assert [p.rule for p in verify_evidence(out, trusted_keys=mallory)][0].startswith("signed by key")
    unsigned = write_folder(tmp_path / "unsigned")
    assert "not signed" in verify_evidence(unsigned, trusted_keys=lab)[0].rule
    # re-seal an edited run manifest: every hash agrees again, but the signature names the old bytes
    manifest = json.loads((out / "run-manifest.json").read_text())
    manifest["candidate_id"] = "someone-else"
    manifest.pop("self_hash")
    manifest["self_hash"] = H(manifest)
    (out / "run-manifest.json").write_bytes(hashing.dumps(manifest))
    rules = [p.rule for p in verify_evidence(out, trusted_keys=lab) if p.file == schema.SIGNATURE_REF]
    assert rules and rules[0].startswith("signs SHA-256")


def _inputs():
    from test_evidence_helpers import make_inputs

    return make_inputs("historical_market_replay", complete=True)


@pytest.fixture(scope="module")
def megacap(tmp_path_factory, keys):
    """A us-megacap workspace whose dataset the vendor signed."""
    from janus_core.data.samples import build_sample

    root = tmp_path_factory.mktemp("signed")
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")
    build_sample("us-megacap", paths, progress=False)
    ds = mf.load_dataset("us-megacap", paths)
    manifest = json.loads(paths.manifest_path("us-megacap").read_text())
    before = paths.manifest_path("us-megacap").read_bytes()
    mf.save_dataset(
        ds,
        paths,
        source=manifest["source"],
        licence=manifest["licence"],
        production=manifest["production"],
        sign_key=signing.load_private_key(keys["vendor"]),
    )
    assert paths.manifest_path("us-megacap").read_bytes() == before  # signing changes no byte of the dataset
    return paths


@pytest.fixture
def env(megacap, monkeypatch):
    for key, value in workspace_env(megacap).items():
        if key.startswith("JANUS_"):
            monkeypatch.setenv(key, value)
    return megacap


def test_signed_export_from_a_signed_dataset(env, tmp_path, keys, capsys):
    out = tmp_path / "ev"
    assert (
        run_cli(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                "type_prior",
                "--out",
                str(out),
                "--no-record",
                "--sign-key",
                str(keys["lab"]),
            ]
        )
        == 0
    )
    dataset = json.loads((out / "run-manifest.json").read_text())["dataset"]
    statement = signing.statement_of(dataset["signature"])
    assert statement["subject"][0] == {"name": "us-megacap.json", "digest": {"sha256": dataset["manifest_sha256"]}}
    assert statement["predicate"]["provenance"] == "historical_market_replay"
    assert json.loads((out / schema.SIGNATURE_REF).read_text())["payloadType"] == signing.PAYLOAD_TYPE
    lab, vendor, mallory = (str(pub(keys[k])) for k in ("lab", "vendor", "mallory"))
    capsys.readouterr()
    assert run_cli(["verify", str(out), "--trusted-key", lab, "--trusted-dataset-key", vendor]) == 0
    capsys.readouterr()
    # signed by the trusted key: the lane's part passes (the research verdict on this replay does not)
    assert run_cli(["gate", str(out), "--target", "paper", "--trusted-key", lab]) == 1
    assert json.loads(capsys.readouterr().out)["lane"]["promotable"] is True
    capsys.readouterr()
    assert run_cli(["verify", str(out), "--trusted-key", mallory]) == 1
    assert "not a trusted key" in capsys.readouterr().out
    assert run_cli(["verify", str(out), "--trusted-key", lab, "--trusted-dataset-key", lab]) == 1
    capsys.readouterr()
    assert run_cli(["gate", str(out), "--target", "paper", "--trusted-key", mallory]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["lane"]["reasons"][0]["code"] == REASON_INTEGRITY_FAILED
    # unsigned evidence is refused when a trusted key is asked for
    bare = tmp_path / "bare"
    shutil.copytree(out, bare)
    (bare / schema.SIGNATURE_REF).unlink()
    (bare / schema.REPORT_REF).unlink()  # it lists the folder's files, the signature among them
    assert run_cli(["verify", str(bare)]) == 0
    assert run_cli(["verify", str(bare), "--trusted-key", lab]) == 1
    assert run_cli(["gate", str(bare), "--target", "paper", "--trusted-key", lab]) == 1
    assert run_cli(["verify", str(bare), "--trusted-key", str(tmp_path / "nope.pub")]) == 2


def test_dataset_signatures_follow_their_versions(env, tmp_path, keys):
    paths = WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    shutil.copytree(env.data_dir, paths.data_dir)
    shutil.copytree(env.manifest_dir, paths.manifest_dir)
    vendor = [signing.load_public_key(pub(keys["vendor"]))]
    mallory = [signing.load_public_key(pub(keys["mallory"]))]
    assert mf.verify_dataset("us-megacap", paths, vendor) == []
    assert "not a trusted key" in mf.verify_dataset("us-megacap", paths, mallory)[0]
    # a forged manifest re-sealed by hand: its hash holds, its attestation does not
    data = json.loads(paths.manifest_path("us-megacap").read_text())
    original = paths.manifest_path("us-megacap").read_bytes()
    data["licence"] = "mine now"
    data["manifest_hash"] = H({k: v for k, v in data.items() if k != "manifest_hash"})
    mf.write_json(data, paths.manifest_path("us-megacap"))
    findings = mf.verify_dataset("us-megacap", paths, vendor)
    assert any(f.startswith("signature: signs SHA-256") for f in findings), findings
    paths.manifest_path("us-megacap").write_bytes(original)
    # an unsigned new version: no stale signature beside it; the signed version stays recoverable
    ds = mf.load_dataset("us-megacap", paths)
    mf.save_dataset(
        type(ds)(
            meta=ds.meta.model_copy(update={"version": "2"}),
            events=ds.events.head(50),
            prices=ds.prices,
            benchmarks=ds.benchmarks,
            securities=ds.securities,
        ),
        paths,
        source="s",
        licence="l",
        production={},
        replace=True,
    )
    assert not mf.signature_path(paths, "us-megacap").exists()
    assert mf.verify_dataset("us-megacap", paths) == []
    assert mf.verify_dataset("us-megacap", paths, vendor) == ["signature: none (the dataset is not signed)"]
    mf.restore_version("us-megacap", "1", paths)
    assert mf.verify_dataset("us-megacap", paths, vendor) == []
    assert sha256_bytes(paths.manifest_path("us-megacap").read_bytes()) == sha256_bytes(original)
