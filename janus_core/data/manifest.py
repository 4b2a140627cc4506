"""Dataset manifests: save a canonical dataset as Parquet with a hashed manifest, load it back, and
verify that nothing changed since (data-contract.md, "Manifest").

Layout: ``data_dir/NAME/<table>.parquet`` (and ``data_dir/NAME/rejected/<table>.parquet`` for rows
rejected by a quarantine import), manifest ``manifest_dir/NAME.json``.

Hashes recorded per table:

- ``sha256``: SHA-256 of the file bytes (Parquet written deterministically: rows in canonical order,
  canonical column order, zstd level 3, statistics on, fixed row-group size).
- ``content_hash``: SHA-256 over the column names and types and the canonical bytes of every
  column (fixed-width little-endian numbers, UTF-8 text with lengths, null masks), rows in canonical
  order (by the table's key); see :func:`content_hash`. It does not depend on the file format, the
  row order or the column order.

Per dataset: ``snapshot_hash = H({table: content_hash})`` and ``manifest_hash = H(manifest without
manifest_hash)``, so an edited manifest is detected too.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.dataset import Dataset, DatasetMeta, as_of_problem, check_dataset
from janus_core.data.hashes import content_hash, hash_order, snapshot_hash, table_schema
from janus_core.data.rows import TABLE_NAMES, Provenance
from janus_core.data.tables import canonical_order
from janus_core.data.versions import (
    _NAME,
    SIGNATURE_SUFFIX,
    VERSION_MANIFEST,
    _install_signature,
    _keep_current_manifest,
    _raw_manifest,
    _raw_version_manifest,
    check_new_version,
    dataset_attestation,
    dataset_versions,
    install_version,
    read_signature,
    signature_path,
    signature_problems,
    version_dir,
)
from janus_core.hashing import H, dumps, sha256_bytes, sha256_file
from janus_core.outdir import clean_stale_temp_folders, temp_sibling
from janus_core.paths import WorkbenchPaths
from janus_core.signing import DATASET_PREDICATE, Ed25519PrivateKey, Ed25519PublicKey, check_attestation

MANIFEST_VERSION = "janus-dataset-manifest-v1"
#: Parquet writer settings: fixed so that the same frame always gives the same bytes.
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
PARQUET_ROW_GROUP_SIZE = 1_000_000


class TableEntry(BaseModel):
    """A table as recorded in the manifest; ``path`` is relative to the data dir."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    path: str
    format: str = "parquet"
    rows: int
    sha256: str
    content_hash: str
    schema_: list[dict[str, str]] = Field(alias="schema")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class DatasetManifest(BaseModel):
    """The manifest of one dataset (``manifest_dir/NAME.json``)."""

    model_config = ConfigDict(frozen=True)

    manifest_version: str = MANIFEST_VERSION
    name: str
    version: str
    provenance: Provenance
    source: str
    licence: str
    exchange_timezone: str
    news_cutoff: str
    as_of: str
    production: dict[str, Any]
    tables: dict[str, TableEntry]
    rejected: dict[str, TableEntry] = {}
    snapshot_hash: str
    manifest_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        """The manifest as written (``manifest_hash`` = H of everything else)."""
        body = self.model_dump(exclude={"tables", "rejected", "manifest_hash"})
        body["tables"] = {k: v.to_json() for k, v in sorted(self.tables.items())}
        body["rejected"] = {k: v.to_json() for k, v in sorted(self.rejected.items())}
        body["manifest_hash"] = H(body)
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetManifest:
        def entry(d: dict[str, Any]) -> TableEntry:
            return TableEntry.model_validate(d)

        fields = {k: v for k, v in data.items() if k not in ("tables", "rejected")}
        return cls(
            **fields,
            tables={k: entry(v) for k, v in data["tables"].items()},
            rejected={k: entry(v) for k, v in data.get("rejected", {}).items()},
        )

    def meta(self) -> DatasetMeta:
        return DatasetMeta(
            name=self.name,
            version=self.version,
            provenance=self.provenance,
            exchange_timezone=self.exchange_timezone,
            news_cutoff=self.news_cutoff,
            as_of=self.as_of,
            snapshot_hash=self.snapshot_hash,
        )


class DatasetIntegrityError(RuntimeError):
    """A saved dataset does not match its manifest."""


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` with the fixed writer settings (same frame, same bytes)."""
    frame.rechunk().write_parquet(
        path,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_COMPRESSION_LEVEL,
        statistics=True,
        row_group_size=PARQUET_ROW_GROUP_SIZE,
    )


def write_json(data: Any, path: Path) -> None:
    """The canonical JSON file form (``hashing.dumps``: sorted keys, indent 2, ASCII, trailing newline)."""
    path.write_bytes(dumps(data))


def _sorted_rejected(frame: pl.DataFrame) -> pl.DataFrame:
    columns = ["row", "reason"] if {"row", "reason"} <= set(frame.columns) else []
    ordered = frame.select(*columns, *sorted(c for c in frame.columns if c not in columns))
    return ordered.sort(ordered.columns, nulls_last=True, maintain_order=True)


def _entry(table: str, frame: pl.DataFrame, path: Path, rel: str, rejected: bool = False) -> TableEntry:
    return TableEntry(
        path=rel,
        rows=frame.height,
        sha256=sha256_file(path),
        content_hash=content_hash(frame, hash_order(table, frame, rejected)),
        schema_=table_schema(frame),
    )


#: ``production.generator`` / ``source`` naming the bundled generator: such data is synthetic.
BUNDLED_GENERATOR = re.compile(r"janus_core(\.data)?\.synthetic")


def generator_provenance_problems(manifest: Mapping[str, Any]) -> list[str]:
    """A dataset made by the bundled generator (``production.generator`` or ``source`` naming
    ``janus_core.data.synthetic``) is synthetic, whatever else its manifest says: any provenance other
    than ``synthetic_generated`` is a problem (a forged authority)."""
    production = manifest.get("production")
    generator = production.get("generator") if isinstance(production, Mapping) else None
    source = manifest.get("source")
    named = [
        f"{field} {value!r}"
        for field, value in (("production.generator", generator), ("source", source))
        if isinstance(value, str) and BUNDLED_GENERATOR.search(value)
    ]
    if named and manifest.get("provenance") != "synthetic_generated":
        return [
            f"provenance {manifest.get('provenance')!r} but {' and '.join(named)} names the bundled generator; "
            f"rule: generated data is synthetic_generated"
        ]
    return []


def _write_tables(
    ds: Dataset, rejected: Mapping[str, pl.DataFrame], tmp_dir: Path, rel_dir: str
) -> tuple[dict[str, TableEntry], dict[str, TableEntry]]:
    """Write every table (canonical order) and every non-empty set of rejected rows into ``tmp_dir``
    (``rejected/`` for the latter) and return their manifest entries, paths relative to ``rel_dir``."""
    (tmp_dir / "rejected").mkdir(parents=True)
    tables: dict[str, TableEntry] = {}
    for table, frame in ds.tables().items():
        canonical = canonical_order(table, frame)
        write_parquet(canonical, tmp_dir / f"{table}.parquet")
        tables[table] = _entry(table, canonical, tmp_dir / f"{table}.parquet", f"{rel_dir}/{table}.parquet")
    rejected_entries: dict[str, TableEntry] = {}
    for table, frame in sorted(rejected.items()):
        if frame.height == 0:
            continue
        ordered = _sorted_rejected(frame)
        write_parquet(ordered, tmp_dir / "rejected" / f"{table}.parquet")
        rejected_entries[table] = _entry(
            table,
            ordered,
            tmp_dir / "rejected" / f"{table}.parquet",
            f"{rel_dir}/rejected/{table}.parquet",
            rejected=True,
        )
    if not rejected_entries:
        (tmp_dir / "rejected").rmdir()
    return tables, rejected_entries


def _manifest_body(
    ds: Dataset,
    source: str,
    licence: str,
    production: dict[str, Any],
    tables: dict[str, TableEntry],
    rejected: dict[str, TableEntry],
) -> dict[str, Any]:
    """The manifest of a new version as written (with its ``snapshot_hash`` and ``manifest_hash``);
    ValueError when it names the bundled generator but another provenance."""
    manifest = DatasetManifest(
        name=ds.name,
        version=ds.meta.version,
        provenance=ds.meta.provenance,
        source=source,
        licence=licence,
        exchange_timezone=ds.meta.exchange_timezone,
        news_cutoff=ds.meta.news_cutoff,
        as_of=ds.meta.as_of,
        production=production,
        tables=tables,
        rejected=rejected,
        snapshot_hash=snapshot_hash({t: e.content_hash for t, e in tables.items()}),
    )
    body = manifest.to_json()
    forged = generator_provenance_problems(body)
    if forged:
        raise ValueError(f"dataset {ds.name!r}: {forged[0]}")
    return body


def save_dataset(
    ds: Dataset,
    paths: WorkbenchPaths,
    *,
    source: str,
    licence: str,
    production: dict[str, Any],
    rejected: dict[str, pl.DataFrame] | None = None,
    replace: bool = False,
    sign_key: Ed25519PrivateKey | None = None,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Write ``ds`` as version ``ds.meta.version`` of dataset ``ds.name``:
    ``data_dir/NAME/VERSION/<table>.parquet`` (rejected rows of a quarantine import in
    ``.../rejected/``) with a copy of its manifest in ``data_dir/NAME/VERSION/manifest.json``, and make
    it the current version: the manifest ``manifest_dir/NAME.json``. Returns the manifest path
    (``store.register_dataset`` then registers it in the research store).

    Nothing is ever overwritten: saving the same content and facts again is a no-op (the files are
    rewritten only when missing or changed); a dataset of that name with other content or facts is
    refused with :class:`DatasetExistsError` unless ``replace`` is given, and then the new content must
    come as a new version (a version id is never reused for other content; :func:`next_version`). Every
    earlier version stays on disk with its manifest, recoverable with :func:`restore_version`.

    The dataset is validated first (:func:`janus_core.data.dataset.check_dataset`, fail closed), and a
    dataset made by the bundled generator must be ``synthetic_generated``
    (:func:`generator_provenance_problems`). Files are written into a hidden temp folder that becomes
    the version folder only once complete, and the manifest is replaced last (one rename), so a failure
    or a kill leaves the previous state; temp folders of killed runs are removed at the next save.
    ``production`` says how the data was made (generator and seed, or source packages, versions
    and digests); ``rejected`` holds a quarantine import's rejected rows per table. With ``sign_key``
    the manifest is attested (:func:`dataset_attestation`, ``NAME.json.sig`` beside the manifest and in
    the version folder); an unsigned save leaves no current signature behind. ``check`` is
    called with the new manifest (as written) once every file is written and before anything is
    replaced; if it raises, the previous dataset and manifest stay as they were.
    """
    name, version = ds.name, ds.meta.version
    if not _NAME.match(name):
        raise ValueError(f"dataset name {name!r} must match {_NAME.pattern}")
    if not _NAME.match(version) or version in ("rejected",):
        raise ValueError(f"dataset version {version!r} must match {_NAME.pattern} (and not be 'rejected')")
    check_dataset(ds)
    late = as_of_problem(ds.meta.as_of, ds.tables())
    if late is not None:
        raise ValueError(f"dataset {name!r}: {late}")
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.manifest_dir.mkdir(parents=True, exist_ok=True)
    final_dir = version_dir(paths, name, version)
    for left in (paths.dataset_dir(name), final_dir, paths.manifest_path(name)):
        clean_stale_temp_folders(left)  # killed earlier saves (and the pre-version layout's temp folders)
    paths.dataset_dir(name).mkdir(parents=True, exist_ok=True)
    tmp_dir = temp_sibling(final_dir, "tmp")
    tmp_manifest = paths.manifest_dir / f".{name}.json.tmp-{os.getpid()}"
    try:
        tables, rejected_entries = _write_tables(ds, rejected or {}, tmp_dir, f"{name}/{version}")
        body = _manifest_body(ds, source, licence, production, tables, rejected_entries)
        if check is not None:
            check(body)
        write_json(body, tmp_dir / VERSION_MANIFEST)
        envelope = None
        if sign_key is not None:
            envelope = dataset_attestation(body, sha256_file(tmp_dir / VERSION_MANIFEST), sign_key)
            write_json(envelope, tmp_dir / (VERSION_MANIFEST + SIGNATURE_SUFFIX))
        current = _raw_manifest(name, paths)
        same = current == body
        check_new_version(name, version, body, current, replace, paths)
        install_version(final_dir, tmp_dir, body, signed=envelope is not None)
        write_json(body, tmp_manifest)
        os.replace(tmp_manifest, paths.manifest_path(name))
        _install_signature(paths, name, final_dir / (VERSION_MANIFEST + SIGNATURE_SUFFIX), replace_stale=not same)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        tmp_manifest.unlink(missing_ok=True)
    return paths.manifest_path(name)


def restore_version(name: str, version: str, paths: WorkbenchPaths | None = None) -> Path:
    """Make the kept version ``version`` of ``name`` current again (its manifest copy becomes
    ``manifest_dir/NAME.json``) after checking the copy and its files; the version being replaced is
    kept too. Returns the manifest path. :class:`DatasetIntegrityError` when the copy does not verify."""
    paths = paths or WorkbenchPaths.from_env()
    folder = version_dir(paths, name, version)
    if not _NAME.match(version) or not (folder / VERSION_MANIFEST).is_file():
        known = ", ".join(dataset_versions(name, paths)) or "none"
        raise FileNotFoundError(f"dataset {name!r} has no kept version {version!r} (kept versions: {known})")
    raw = _raw_version_manifest(folder)
    if raw is None:
        raise DatasetIntegrityError(f"{folder / VERSION_MANIFEST}: not a JSON manifest")
    problems = _manifest_problems(raw, DatasetManifest.from_json(raw))
    if raw.get("name") != name or raw.get("version") != version:
        problems.append(f"manifest names {raw.get('name')!r} version {raw.get('version')!r}")
    for entry in (raw.get("tables") or {}).values():
        path = paths.data_dir / entry["path"]
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            problems.append(f"file {path} missing or changed")
    if problems:
        raise DatasetIntegrityError(f"version {version!r} of dataset {name!r} does not verify: " + "; ".join(problems))
    current = _raw_manifest(name, paths)
    if current is not None and current != raw:
        _keep_current_manifest(name, paths, current)
    tmp_manifest = paths.manifest_dir / f".{name}.json.tmp-{os.getpid()}"
    try:
        shutil.copyfile(folder / VERSION_MANIFEST, tmp_manifest)
        os.replace(tmp_manifest, paths.manifest_path(name))
        _install_signature(paths, name, folder / (VERSION_MANIFEST + SIGNATURE_SUFFIX))
    finally:
        tmp_manifest.unlink(missing_ok=True)
    return paths.manifest_path(name)


def list_datasets(paths: WorkbenchPaths | None = None) -> list[str]:
    """Names of the datasets with a manifest in ``manifest_dir``, sorted."""
    paths = paths or WorkbenchPaths.from_env()
    if not paths.manifest_dir.is_dir():
        return []
    return sorted(p.stem for p in paths.manifest_dir.glob("*.json") if not p.name.startswith("."))


def _parse_manifest(data: bytes, path: Path) -> tuple[dict[str, Any], DatasetManifest]:
    """The manifest JSON and model from its bytes; :class:`DatasetIntegrityError` (one line) when they
    are not a dataset manifest."""
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        return raw, DatasetManifest.from_json(raw)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if hasattr(exc, "errors"):
            err = exc.errors()[0]
            first = f"{'.'.join(str(x) for x in err.get('loc', ()))}: {err.get('msg')}"
        raise DatasetIntegrityError(f"{path}: not a valid dataset manifest ({first})") from None


def read_manifest(name: str, paths: WorkbenchPaths | None = None) -> DatasetManifest:
    """The manifest of ``name``; FileNotFoundError naming the known datasets when absent,
    :class:`DatasetIntegrityError` when it is not a valid manifest."""
    paths = paths or WorkbenchPaths.from_env()
    path = paths.manifest_path(name)
    if not path.is_file():
        known = ", ".join(list_datasets(paths)) or "none"
        raise FileNotFoundError(f"no manifest {path} for dataset {name!r} (known datasets: {known})")
    return _parse_manifest(path.read_bytes(), path)[1]


@dataclass(frozen=True)
class DatasetSnapshot:
    """One consistent read of a saved dataset: the frames parsed from exactly the bytes whose
    SHA-256 was checked, and the manifest as read (JSON and the SHA-256 of its bytes). Everything an
    export records about its input comes from here, so a concurrent re-import cannot mix versions."""

    dataset: Dataset
    manifest: dict[str, Any]
    manifest_sha256: str
    #: Rows a quarantine import rejected, per table (their values as read, ``row`` and ``reason``).
    rejected: dict[str, pl.DataFrame] = field(default_factory=dict)
    #: The dataset's attestation when it names exactly the manifest bytes read (else None).
    signature: dict[str, Any] | None = None


def load_snapshot(name: str, paths: WorkbenchPaths | None = None, *, verify_files: bool = True) -> DatasetSnapshot:
    """Read the saved dataset ``name`` once: the manifest's bytes, then each table file's bytes (and
    each file of rows a quarantine import rejected), each hashed and parsed from the same bytes in
    memory (never re-opened). With ``verify_files`` (default)
    the manifest's own hash and every table's SHA-256 are checked and a :class:`DatasetIntegrityError`
    names what differs (``verify_dataset`` also recomputes content hashes). A manifest that names the
    bundled generator must say ``synthetic_generated`` (always checked,
    :func:`generator_provenance_problems`)."""
    paths = paths or WorkbenchPaths.from_env()
    path = paths.manifest_path(name)
    if not path.is_file():
        known = ", ".join(list_datasets(paths)) or "none"
        raise FileNotFoundError(f"no manifest {path} for dataset {name!r} (known datasets: {known})")
    data = path.read_bytes()
    raw, manifest = _parse_manifest(data, path)
    problems = generator_provenance_problems(raw)
    if verify_files:
        problems += _manifest_problems(raw, manifest)
    frames: dict[str, pl.DataFrame] = {}
    rejected: dict[str, pl.DataFrame] = {}
    hasher = ThreadPoolExecutor(max_workers=1)  # a file's SHA-256 runs while its bytes are parsed
    for kind, entries, into in (("", manifest.tables, frames), ("rejected ", manifest.rejected, rejected)):
        for table, entry in sorted(entries.items()):
            file = paths.data_dir / entry.path
            try:
                content = file.read_bytes()
            except OSError as exc:
                problems.append(f"{kind}{table}: file missing or unreadable ({file}: {exc.strerror or exc})")
                continue
            digest = hasher.submit(sha256_bytes, content) if verify_files else None
            try:
                frame, failure = pl.read_parquet(io.BytesIO(content)), None
            except (OSError, pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:  # bytes may be changed
                frame, failure = None, str(exc).splitlines()[0] if str(exc) else exc
            if digest is not None and digest.result() != entry.sha256:
                problems.append(f"{kind}{table}: file bytes changed ({file})")
            elif frame is None:
                problems.append(f"{kind}{table}: not readable Parquet ({file}: {failure})")
            else:
                into[table] = frame
    hasher.shutdown()
    if problems:
        raise DatasetIntegrityError(f"dataset {name!r} does not match its manifest: " + "; ".join(problems))
    missing = [t for t in ("events", "prices", "benchmarks", "securities") if t not in frames]
    if missing:
        raise DatasetIntegrityError(f"dataset {name!r} has no table(s) {missing}")
    if "exposures" in frames:
        frames["exposures"] = share_price_keys(frames["exposures"], frames["prices"])
    try:
        meta = manifest.meta()
    except ValueError as exc:
        raise DatasetIntegrityError(f"{path}: {str(exc).splitlines()[0]}") from None
    ds = Dataset(meta=meta, **{t: frames[t] for t in TABLE_NAMES if t in frames})
    digest = sha256_bytes(data)
    envelope = read_signature(signature_path(paths, name))
    if envelope is not None and check_attestation(envelope, f"{name}.json", digest, DATASET_PREDICATE)[0]:
        envelope = None  # not a valid attestation of the manifest that was read (e.g. a concurrent re-import)
    return DatasetSnapshot(dataset=ds, manifest=raw, manifest_sha256=digest, rejected=rejected, signature=envelope)


def share_price_keys(exposures: pl.DataFrame, prices: pl.DataFrame) -> pl.DataFrame:
    """``exposures`` with the very ``symbol`` and ``date`` columns of ``prices`` when its keys are
    the price rows' keys, row for row (the usual layout: one exposure row per price row), so the
    loaded dataset holds them once (at paper scale 2.8M symbols, ~45 MB); else ``exposures`` as it is.
    The values are the same either way."""
    if exposures.height != prices.height or not {"symbol", "date"} <= set(exposures.columns):
        return exposures
    if not (exposures["symbol"].equals(prices["symbol"]) and exposures["date"].equals(prices["date"])):
        return exposures
    return exposures.with_columns(prices["symbol"], prices["date"])


def load_dataset(name: str, paths: WorkbenchPaths | None = None, *, verify_files: bool = True) -> Dataset:
    """Read the saved dataset ``name`` into canonical frames, with its manifest facts (including
    ``snapshot_hash``) in ``meta`` (:func:`load_snapshot`, which says what is checked)."""
    return load_snapshot(name, paths, verify_files=verify_files).dataset


def _manifest_problems(raw: dict[str, Any], manifest: DatasetManifest) -> list[str]:
    out: list[str] = []
    body = {k: v for k, v in raw.items() if k != "manifest_hash"}
    if H(body) != raw.get("manifest_hash"):
        out.append("manifest: edited since it was written (manifest_hash mismatch)")
    if snapshot_hash({t: e.content_hash for t, e in manifest.tables.items()}) != manifest.snapshot_hash:
        out.append("manifest: snapshot_hash does not match the tables' content hashes")
    return out


def verify_dataset(
    name: str, paths: WorkbenchPaths | None = None, trusted: Sequence[Ed25519PublicKey] | None = None
) -> list[str]:
    """Recompute every hash of dataset ``name`` and say what changed, one line per finding naming
    the table and whether its file bytes, its content, its row count or schema changed, or the
    manifest itself was edited (its own hash, the copy kept with its version, a provenance that
    contradicts the bundled generator it names), or its attestation does not verify (with ``trusted``
    public keys: is missing or signed by another key). An empty list means the dataset is intact."""
    paths = paths or WorkbenchPaths.from_env()
    try:
        path = paths.manifest_path(name)
        if not path.is_file():
            read_manifest(name, paths)
        data = path.read_bytes()
        raw, manifest = _parse_manifest(data, path)
    except (FileNotFoundError, DatasetIntegrityError, OSError) as exc:
        return [f"manifest: unreadable or missing ({exc})"]
    findings = _manifest_problems(raw, manifest)
    findings += [f"manifest: {p}" for p in generator_provenance_problems(raw)]
    findings += signature_problems(name, paths, trusted)
    copy = version_dir(paths, name, manifest.version) / VERSION_MANIFEST if _NAME.match(manifest.version) else None
    if copy is not None and copy.is_file() and copy.read_bytes() != data:
        findings.append(f"manifest: differs from the copy kept with version {manifest.version} ({copy})")
    expected_files = set()
    folders: set[Path] = set()
    for kind, entries in (("", manifest.tables), ("rejected ", manifest.rejected)):
        is_rejected = kind != ""
        for table, entry in sorted(entries.items()):
            label = f"{kind}{table}"
            path = paths.data_dir / entry.path
            expected_files.add(path.resolve())
            if not is_rejected:
                folders.add(path.parent)
            if not path.is_file():
                findings.append(f"{label}: file missing ({path})")
                continue
            bytes_changed = sha256_file(path) != entry.sha256
            try:
                frame = pl.read_parquet(path, glob=False)
            except (OSError, pl.exceptions.PolarsError) as exc:
                findings.append(f"{label}: file bytes changed and the file is no longer readable Parquet ({exc})")
                continue
            content_changed = content_hash(frame, hash_order(table, frame, is_rejected)) != entry.content_hash
            if bytes_changed and content_changed:
                findings.append(f"{label}: file bytes and content changed ({path})")
            elif bytes_changed:
                findings.append(f"{label}: file bytes changed, content unchanged ({path})")
            elif content_changed:
                findings.append(f"{label}: content changed, file bytes unchanged ({path})")
            if frame.height != entry.rows:
                findings.append(f"{label}: row count {frame.height}, manifest says {entry.rows}")
            if table_schema(frame) != entry.schema_:
                findings.append(f"{label}: schema changed")
    for folder in sorted(folders):
        for path in sorted([*folder.glob("*.parquet"), *folder.glob("rejected/*.parquet")]):
            if path.resolve() not in expected_files:
                findings.append(f"{path.stem}: file not in the manifest ({path})")
    return findings


def input_digests(manifest: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-table ``sha256``, ``content_hash`` and ``rows`` from a dataset manifest (empty without one)."""
    if manifest is None:
        return {}
    tables = manifest.get("tables", {})
    items = tables.items() if isinstance(tables, Mapping) else ((t["name"], t) for t in tables)
    return {name: {k: info.get(k) for k in ("sha256", "content_hash", "rows")} for name, info in sorted(items)}


def read_dataset_manifest(
    name: str, paths: WorkbenchPaths, version: str | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """The dataset manifest JSON and the SHA-256 of its bytes, or ``(None, None)`` when absent. With
    ``version``, the manifest of that version: the current one when it is that version, else the copy
    kept in ``data_dir/NAME/VERSION/``. :class:`DatasetIntegrityError` when the file is not a JSON object."""
    path = Path(paths.manifest_path(name))
    data = path.read_bytes() if path.is_file() else None
    if version is not None and _NAME.match(version):
        current = _raw_manifest(name, paths)
        if current is None or current.get("version") != version:
            kept = version_dir(paths, name, version) / VERSION_MANIFEST
            path, data = kept, (kept.read_bytes() if kept.is_file() else None)
    if data is None:
        return None, None
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise DatasetIntegrityError(f"{path}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise DatasetIntegrityError(f"{path}: not a JSON object")
    return obj, sha256_bytes(data)
