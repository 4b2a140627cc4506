"""Ed25519 attestations of evidence and datasets, in-toto / DSSE style.

An *attestation* is a DSSE v1 envelope (the signing format of in-toto and Sigstore) whose payload is
an in-toto Statement v1 naming one file by its SHA-256::

    {"payloadType": "application/vnd.in-toto+json",
     "payload": base64(canonical JSON of the statement),
     "signatures": [{"keyid": sha256(raw public key), "public_key": base64(raw public key),
                     "sig": base64(Ed25519 signature of PAE(payloadType, payload))}]}

    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": FILE, "digest": {"sha256": HEX}}],
                 "predicateType": EVIDENCE_PREDICATE | DATASET_PREDICATE,
                 "predicate": {...}}     # the run id / dataset name, version, provenance, snapshot

``PAE`` is DSSE's pre-authentication encoding, ``"DSSEv1" SP len(type) SP type SP len(body) SP body``
(lengths as ASCII decimals), so the signature covers the payload type too. Signing the statement (a
digest) rather than the file lets anyone check the signature from the digest alone: an export carries
its dataset's attestation, which names the dataset manifest's SHA-256 that the run manifest records.

What the workbench signs: an export's ``run-manifest.json`` (:data:`EVIDENCE_PREDICATE`; the run
manifest lists the SHA-256 of every other file, so the signature covers the whole folder except the
review report, which is re-rendered and compared instead, and the signature file itself), and a
dataset's manifest (:data:`DATASET_PREDICATE`; the manifest holds every table's hashes).

Keys: :func:`generate_keypair` writes a PKCS#8 PEM private key (mode 0600) and a SubjectPublicKeyInfo
PEM public key ``KEY.pub``, never over an existing file. A key is *trusted* only when the verifier
passes its public key; the public key inside an envelope only says which key claims to have signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from janus_core.hashing import canonical_json

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: The predicate of an evidence export's attestation (subject: ``run-manifest.json``).
EVIDENCE_PREDICATE = "https://janus-q.invalid/attestations/evidence-export/v1"
#: The predicate of a dataset's attestation (subject: the dataset manifest ``NAME.json``).
DATASET_PREDICATE = "https://janus-q.invalid/attestations/dataset-manifest/v1"


class SignatureError(ValueError):
    """A key or an attestation cannot be read or does not verify (one-line message)."""


# --------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------
def generate_keypair(path: str | Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: the private key at ``path`` (PKCS#8 PEM, unencrypted, mode 0600)
    and the public key at ``path.pub``. Refuses (:class:`SignatureError`) if either file exists."""
    private_path = Path(path)
    public_path = private_path.with_name(private_path.name + ".pub")
    for p in (private_path, public_path):
        if os.path.lexists(p):
            raise SignatureError(
                f"{p}: exists; rule: keygen never overwrites a file (a lost private key cannot be recovered)"
            )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    with open(public_path, "xb") as fh:
        fh.write(public_pem)
    return private_path, public_path


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (:class:`SignatureError` otherwise)."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise SignatureError(f"{path}: cannot read the signing key ({exc.strerror or exc})") from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureError(f"{path}: not an unencrypted PEM private key ({str(exc).splitlines()[0]})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{path}: not an Ed25519 key (janus keygen makes one)")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (:class:`SignatureError` otherwise)."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except OSError as exc:
        raise SignatureError(f"{path}: cannot read the trusted key ({exc.strerror or exc})") from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureError(f"{path}: not a PEM public key ({str(exc).splitlines()[0]})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"{path}: not an Ed25519 public key (janus keygen makes one)")
    return key


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 hex of the raw 32-byte public key."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()


# --------------------------------------------------------------------------------------------------
# Attestations
# --------------------------------------------------------------------------------------------------
def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def attest(
    subject_name: str, subject_sha256: str, predicate_type: str, predicate: Mapping[str, Any], key: Ed25519PrivateKey
) -> dict[str, Any]:
    """The envelope attesting that ``subject_name`` has SHA-256 ``subject_sha256`` (module docstring)."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {"sha256": subject_sha256}}],
        "predicateType": predicate_type,
        "predicate": dict(predicate),
    }
    payload = canonical_json(statement).encode("utf-8")
    public = key.public_key()
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {
                "keyid": key_id(public),
                "public_key": base64.b64encode(raw_public_key(public)).decode("ascii"),
                "sig": base64.b64encode(key.sign(pae(PAYLOAD_TYPE, payload))).decode("ascii"),
            }
        ],
    }


def statement_of(envelope: Any) -> dict[str, Any] | None:
    """The in-toto statement inside an envelope, or None when it cannot be decoded."""
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
        statement = json.loads(payload)
    except (TypeError, KeyError, ValueError, binascii.Error, RecursionError):
        return None
    return statement if isinstance(statement, dict) else None


def check_attestation(
    envelope: Any,
    subject_name: str | None,
    subject_sha256: str | None,
    predicate_type: str,
    trusted: Sequence[Ed25519PublicKey] | None = None,
) -> tuple[list[str], str | None]:
    """``(problems, keyid)`` for an envelope: its statement must be an in-toto Statement v1 of
    ``predicate_type`` whose only subject has SHA-256 ``subject_sha256`` (and name ``subject_name``,
    when given), and one signature must verify under the public key it names; with ``trusted`` (a list,
    possibly empty), that key must be one of them. ``keyid`` is the verifying key's id."""
    if not isinstance(envelope, Mapping) or envelope.get("payloadType") != PAYLOAD_TYPE:
        return [f"not a DSSE envelope of {PAYLOAD_TYPE}"], None
    statement = statement_of(envelope)
    if statement is None:
        return ["payload is not base64 of a JSON statement"], None
    problems: list[str] = []
    subjects = statement.get("subject")
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != predicate_type:
        problems.append(f"statement is not an {STATEMENT_TYPE} of {predicate_type}")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], Mapping):
        problems.append("statement must name exactly one subject")
    else:
        digest = (
            (subjects[0].get("digest") or {}).get("sha256") if isinstance(subjects[0].get("digest"), Mapping) else None
        )
        if subject_sha256 is not None and digest != subject_sha256:
            problems.append(f"signs SHA-256 {digest} but the file is {subject_sha256}")
        if subject_name is not None and subjects[0].get("name") != subject_name:
            problems.append(f"names {subjects[0].get('name')!r}, not {subject_name!r}")
    payload = base64.b64decode(envelope["payload"])
    verified: str | None = None
    claimed: list[str] = []
    for sig in envelope.get("signatures") if isinstance(envelope.get("signatures"), list) else []:
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["public_key"], validate=True))
            public.verify(base64.b64decode(sig["sig"], validate=True), pae(PAYLOAD_TYPE, payload))
        except (TypeError, KeyError, ValueError, binascii.Error, InvalidSignature):
            continue
        kid = key_id(public)
        claimed.append(kid)
        if trusted is None or any(raw_public_key(t) == raw_public_key(public) for t in trusted):
            verified = kid
            break
    if verified is None:
        if not claimed:
            problems.append("no signature verifies (tampered, or signed over other bytes)")
        else:
            problems.append(f"signed by key {claimed[0][:16]}..., which is not a trusted key")
    return problems, verified
