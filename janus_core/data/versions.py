"""The versions of a saved dataset and their attestations: every import or build is kept as
``data_dir/NAME/VERSION/`` with a copy of its manifest (``manifest.json``) and, when signed, its
attestation (``manifest.json.sig``; the current one is ``manifest_dir/NAME.json.sig``). A version id
is never reused for other content. :mod:`janus_core.data.manifest` saves, restores and verifies them."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from janus_core.hashing import sha256_bytes, sha256_file
from janus_core.outdir import temp_sibling
from janus_core.paths import WorkbenchPaths
from janus_core.signing import (
    DATASET_PREDICATE,
    Ed25519PrivateKey,
    Ed25519PublicKey,
    attest,
    check_attestation,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class DatasetExistsError(ValueError):
    """Saving would replace a dataset (or a version of one) that exists: refused unless asked to add a
    new version (``replace``), and a version id is never reused for other content."""


#: The copy of a version's manifest kept in its own data folder (``data_dir/NAME/VERSION/``).
VERSION_MANIFEST = "manifest.json"


#: A signed dataset's attestation (:mod:`janus_core.signing`), next to its manifest:
#: ``manifest_dir/NAME.json.sig`` and ``data_dir/NAME/VERSION/manifest.json.sig``.
SIGNATURE_SUFFIX = ".sig"


def version_dir(paths: WorkbenchPaths, name: str, version: str) -> Path:
    """The folder of one version of a dataset: ``data_dir/NAME/VERSION``."""
    return paths.dataset_dir(name) / version


def _version_key(version: str) -> tuple[int, int, str]:
    return (0, int(version), version) if version.isdigit() else (1, 0, version)


def dataset_versions(name: str, paths: WorkbenchPaths | None = None) -> list[str]:
    """The versions of dataset ``name`` kept on disk (a folder ``data_dir/NAME/VERSION`` holding its
    manifest), numeric versions first in numeric order."""
    paths = paths or WorkbenchPaths.from_env()
    folder = paths.dataset_dir(name)
    if not folder.is_dir():
        return []
    found = [p.name for p in folder.iterdir() if p.is_dir() and (p / VERSION_MANIFEST).is_file()]
    return sorted(found, key=_version_key)


def next_version(name: str, paths: WorkbenchPaths | None = None) -> str:
    """The next free numeric version of ``name``: one more than the largest numeric version on disk or
    in its current manifest, ``"1"`` for a new dataset."""
    paths = paths or WorkbenchPaths.from_env()
    used = set(dataset_versions(name, paths))
    current = _raw_manifest(name, paths)
    if current is not None and isinstance(current.get("version"), str):
        used.add(current["version"])
    numbers = [int(v) for v in used if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def _raw_manifest(name: str, paths: WorkbenchPaths) -> dict[str, Any] | None:
    path = paths.manifest_path(name)
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def signature_path(paths: WorkbenchPaths, name: str) -> Path:
    """The current manifest's attestation: ``manifest_dir/NAME.json.sig``."""
    return paths.manifest_dir / f"{name}.json{SIGNATURE_SUFFIX}"


def _install_signature(paths: WorkbenchPaths, name: str, kept: Path, replace_stale: bool = True) -> None:
    """Make the version's attestation (``kept``) the current one; without one, remove a current
    attestation of another manifest (``replace_stale``) so no stale signature sits beside it."""
    current = signature_path(paths, name)
    if kept.is_file():
        tmp = current.with_name(f".{current.name}.tmp-{os.getpid()}")
        try:
            shutil.copyfile(kept, tmp)
            os.replace(tmp, current)
        finally:
            tmp.unlink(missing_ok=True)
    elif replace_stale:
        current.unlink(missing_ok=True)


def dataset_attestation(manifest: Mapping[str, Any], manifest_sha256: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The attestation of a dataset manifest (:mod:`janus_core.signing`): subject ``NAME.json`` with the
    SHA-256 of its bytes; predicate its name, version, provenance and snapshot hash."""
    predicate = {k: manifest.get(k) for k in ("name", "version", "provenance", "snapshot_hash")}
    return attest(f"{manifest.get('name')}.json", manifest_sha256, DATASET_PREDICATE, predicate, key)


def read_signature(path: Path) -> dict[str, Any] | None:
    """An attestation file as JSON, None when absent or unreadable."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def signature_problems(
    name: str, paths: WorkbenchPaths, trusted: Sequence[Ed25519PublicKey] | None = None
) -> list[str]:
    """The current manifest's attestation checked against the manifest's bytes (any present one must
    verify); with ``trusted`` keys, one must be present and signed by one of them."""
    envelope = read_signature(signature_path(paths, name))
    if envelope is None:
        return ["signature: none (the dataset is not signed)"] if trusted is not None else []
    data = paths.manifest_path(name).read_bytes() if paths.manifest_path(name).is_file() else b""
    found, _ = check_attestation(envelope, f"{name}.json", sha256_bytes(data), DATASET_PREDICATE, trusted)
    return [f"signature: {p}" for p in found]


def _raw_version_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / VERSION_MANIFEST).read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _version_intact(folder: Path, body: Mapping[str, Any]) -> bool:
    """The version folder holds this manifest and every file it lists, byte for byte."""
    if _raw_version_manifest(folder) != body:
        return False
    data_dir = folder.parent.parent
    for entries in (body.get("tables") or {}, body.get("rejected") or {}):
        for entry in entries.values():
            path = data_dir / entry["path"]
            if not path.is_file() or sha256_file(path) != entry["sha256"]:
                return False
    return True


def _keep_current_manifest(name: str, paths: WorkbenchPaths, current: Mapping[str, Any]) -> None:
    """Before another version becomes current, make sure the current one's manifest is kept in its
    version folder (datasets written before versioned folders keep their tables where they are)."""
    version = current.get("version")
    if not isinstance(version, str) or not _NAME.match(version):
        raise DatasetExistsError(
            f"dataset {name!r}: current manifest has no usable version ({version!r}); rule: "
            f"it could not be kept recoverable, so it is not replaced"
        )
    folder = version_dir(paths, name, version)
    if (folder / VERSION_MANIFEST).is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(paths.manifest_path(name), folder / VERSION_MANIFEST)
    if signature_path(paths, name).is_file():
        shutil.copyfile(signature_path(paths, name), folder / (VERSION_MANIFEST + SIGNATURE_SUFFIX))


def check_new_version(
    name: str,
    version: str,
    body: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    replace: bool,
    paths: WorkbenchPaths,
) -> None:
    """Refuse (:class:`DatasetExistsError`) a save that would replace other content without ``replace``,
    or reuse a version id for other content; with ``replace``, keep the current version recoverable."""
    final_dir = version_dir(paths, name, version)
    if current is not None and current != body:
        current_version = current.get("version")
        if not replace:
            raise DatasetExistsError(
                f"dataset {name!r} exists (version {current_version}, snapshot "
                f"{str(current.get('snapshot_hash'))[:12]}) with other content or facts; rule: an import never "
                f"overwrites a dataset: pass --replace to add it as a new version (version {current_version} "
                f"stays recoverable), or choose another name"
            )
        if version == current_version or final_dir.exists():
            raise DatasetExistsError(
                f"dataset {name!r} already has a version {version!r}; rule: a version id is never reused for "
                f"other content: give a new version (next free: {next_version(name, paths)})"
            )
        _keep_current_manifest(name, paths, current)
    elif current is None and final_dir.exists():
        kept = _raw_version_manifest(final_dir)
        if kept != body:
            raise DatasetExistsError(
                f"{final_dir} holds an earlier version {version!r} of dataset {name!r} (no longer current); "
                f"rule: a version id is never reused for other content: give a new version (next free: "
                f"{next_version(name, paths)}) or restore it with janus data restore {name} {version}"
            )


def install_version(final_dir: Path, tmp_dir: Path, body: Mapping[str, Any], signed: bool) -> None:
    """Make the complete ``tmp_dir`` the version folder ``final_dir``: a new folder is renamed into
    place; an intact folder of the same version is kept (only a new attestation replaces its own); a
    damaged or incomplete one is swapped for the complete copy."""
    if not final_dir.exists():
        tmp_dir.rename(final_dir)
    elif _version_intact(final_dir, body):
        if signed:
            os.replace(
                tmp_dir / (VERSION_MANIFEST + SIGNATURE_SUFFIX),
                final_dir / (VERSION_MANIFEST + SIGNATURE_SUFFIX),
            )
        shutil.rmtree(tmp_dir, ignore_errors=True)
    else:  # same content, files missing or damaged: put the complete copy in place
        old_dir = temp_sibling(final_dir, "old")
        final_dir.rename(old_dir / "previous")
        tmp_dir.rename(final_dir)
        shutil.rmtree(old_dir, ignore_errors=True)
