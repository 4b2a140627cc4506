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

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.dataset import Dataset, DatasetMeta, check_dataset
from janus_core.data.rows import TABLE_NAMES, TABLE_SCHEMAS, Provenance
from janus_core.data.tables import canonical_order
from janus_core.hashing import H, canonical_json, sha256_bytes, sha256_file
from janus_core.paths import WorkbenchPaths

MANIFEST_VERSION = "janus-dataset-manifest-v1"
#: Parquet writer settings: fixed so that the same frame always gives the same bytes.
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
PARQUET_ROW_GROUP_SIZE = 1_000_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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


def type_name(dtype: pl.DataType) -> str:
    """Stable type name used in schemas and content hashes."""
    if isinstance(dtype, pl.Datetime):
        return f"datetime[{dtype.time_unit},{dtype.time_zone or 'naive'}]"
    return str(dtype).lower()


def table_schema(frame: pl.DataFrame) -> list[dict[str, str]]:
    """Column names and type names, in the frame's column order."""
    return [{"name": c, "type": type_name(t)} for c, t in frame.schema.items()]


def _order_codes(s: pl.Series) -> list[np.ndarray]:
    """numpy sort keys for one column (primary key first): a null flag (nulls last), then the value,
    with text replaced by its rank among the column's distinct values (sorting a few thousand
    distinct strings is much faster than sorting millions of rows of them)."""
    nulls = s.is_null().to_numpy().astype(np.int8)
    is_text = s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum)
    if is_text or not (s.dtype.is_numeric() or s.dtype.is_temporal() or s.dtype == pl.Boolean):
        text = s.cast(pl.String) if is_text else _rows_as_json(s)
        distinct = text.drop_nulls().unique().sort()
        values = text.replace_strict(
            distinct, pl.Series(np.arange(distinct.len(), dtype=np.int64)), default=-1, return_dtype=pl.Int64
        ).to_numpy()
    else:
        values = s.to_physical().cast(pl.Float64 if s.dtype.is_float() else pl.Int64).fill_null(0).to_numpy()
    return [nulls, values]


def _rows_as_json(s: pl.Series) -> pl.Series:
    return pl.DataFrame([s]).select(pl.struct(pl.all()).struct.json_encode()).to_series().fill_null("")


def _column_bytes(s: pl.Series) -> list[bytes]:
    """The canonical bytes of one column: its null mask, then its values (little-endian fixed
    width numbers; dates as days, times as integers of their unit since the epoch in UTC; text as
    UTF-8 lengths and bytes; any other type as per-row JSON text)."""
    pieces = [s.is_null().to_numpy().astype(np.uint8).tobytes()]
    dtype = s.dtype
    is_text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if is_text or not (dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean):
        text = s.cast(pl.String).fill_null("") if is_text else _rows_as_json(s)
        pieces.append(text.str.len_bytes().to_numpy().astype("<u8").tobytes())
        pieces.append(text.str.join("").item().encode("utf-8") if text.len() else b"")
    elif dtype == pl.Boolean:
        pieces.append(s.fill_null(False).cast(pl.UInt8).to_numpy().astype("u1").tobytes())
    elif dtype.is_float():
        values = s.cast(pl.Float64).fill_null(0.0).to_numpy() + 0.0  # -0.0 and 0.0 alike
        pieces.append(np.where(np.isnan(values), np.nan, values).astype("<f8").tobytes())
    elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        pieces.append(s.dt.convert_time_zone("UTC").to_physical().fill_null(0).to_numpy().astype("<i8").tobytes())
    elif dtype == pl.UInt64:
        pieces.append(s.fill_null(0).to_numpy().astype("<u8").tobytes())
    else:
        pieces.append(s.to_physical().cast(pl.Int64).fill_null(0).to_numpy().astype("<i8").tobytes())
    return pieces


def content_hash(frame: pl.DataFrame, order_by: Sequence[str] | None = None) -> str:
    """Hash of a table's content, independent of file format, row order and column order.

    Rows are first put in canonical order: by ``order_by`` (the table's key, unique in valid data),
    else by every column (columns by name; text by its order, nulls last). Then
    ``sha256(header + for each column by name: name, and each piece of its canonical bytes, each
    preceded by its length as 8-byte little-endian)`` where header is the canonical JSON of
    ``[[name, type name], ...]`` (see :func:`_column_bytes` for the bytes of a column).
    """
    columns = sorted(frame.columns)
    header = canonical_json([[c, type_name(frame.schema[c])] for c in columns])
    digest = hashlib.sha256(header.encode("utf-8"))
    if frame.height:
        keys = [k for c in (list(order_by) if order_by else columns) for k in _order_codes(frame[c])]
        order = np.lexsort(keys[::-1])
        frame = frame.select(pl.all().gather(order))
    for c in columns:
        for piece in [c.encode("utf-8"), *_column_bytes(frame[c])]:
            digest.update(len(piece).to_bytes(8, "little"))
            digest.update(piece)
    return digest.hexdigest()


def snapshot_hash(content_hashes: dict[str, str]) -> str:
    """``H({table: content_hash})``: one hash for the dataset's content."""
    return H(dict(sorted(content_hashes.items())))


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
    """JSON with sorted keys, indent 2, ASCII only, trailing newline."""
    path.write_text(json.dumps(data, sort_keys=True, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")


def _sorted_rejected(frame: pl.DataFrame) -> pl.DataFrame:
    columns = ["row", "reason"] if {"row", "reason"} <= set(frame.columns) else []
    ordered = frame.select(*columns, *sorted(c for c in frame.columns if c not in columns))
    return ordered.sort(ordered.columns, nulls_last=True, maintain_order=True)


def hash_order(table: str, frame: pl.DataFrame, rejected: bool = False) -> tuple[str, ...] | None:
    """Row order used for a table's content hash: its key (``row`` for rejected rows), when present."""
    key = ("row",) if rejected else TABLE_SCHEMAS[table].key
    return key if key and set(key) <= set(frame.columns) else None


def _entry(table: str, frame: pl.DataFrame, path: Path, rel: str, rejected: bool = False) -> TableEntry:
    return TableEntry(
        path=rel,
        rows=frame.height,
        sha256=sha256_file(path),
        content_hash=content_hash(frame, hash_order(table, frame, rejected)),
        schema_=table_schema(frame),
    )


def derive_as_of(ds_tables: dict[str, pl.DataFrame]) -> str:
    """The latest time the data speaks of, as ISO-8601 UTC: the later of the last event's
    publication time and the end (23:59:59 UTC) of the last price date."""
    candidates: list[str] = []
    events = ds_tables.get("events")
    if events is not None and events.height:
        candidates.append(events.select(pl.col("published_at").max().dt.strftime("%Y-%m-%dT%H:%M:%SZ")).item())
    prices = ds_tables.get("prices")
    if prices is not None and prices.height:
        candidates.append(prices.select(pl.col("date").max().dt.strftime("%Y-%m-%dT23:59:59Z")).item())
    if not candidates:
        raise ValueError("cannot derive as_of: no events and no prices")
    return max(candidates)


def save_dataset(
    ds: Dataset,
    paths: WorkbenchPaths,
    *,
    source: str,
    licence: str,
    production: dict[str, Any],
    rejected: dict[str, pl.DataFrame] | None = None,
) -> Path:
    """Write ``ds`` as ``data_dir/NAME/<table>.parquet`` plus the manifest ``manifest_dir/NAME.json``.
    Returns the manifest path (``store.register_dataset`` then registers it in the research store).

    The dataset is validated first (:func:`janus_core.data.dataset.check_dataset`, fail closed). Files are
    written into a temporary folder that replaces any previous version only once everything is
    written, so a failure leaves the old dataset (or none) and no half-written one.
    ``production`` says how the data was made (generator and seed, or source packages, versions
    and digests); ``rejected`` holds a quarantine import's rejected rows per table.
    """
    name = ds.name
    if not _NAME.match(name):
        raise ValueError(f"dataset name {name!r} must match {_NAME.pattern}")
    check_dataset(ds)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.manifest_dir.mkdir(parents=True, exist_ok=True)
    final_dir = paths.dataset_dir(name)
    tmp_dir = paths.data_dir / f".{name}.tmp-{os.getpid()}"
    tmp_manifest = paths.manifest_dir / f".{name}.json.tmp-{os.getpid()}"
    old_dir = paths.data_dir / f".{name}.old-{os.getpid()}"
    try:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        (tmp_dir / "rejected").mkdir(parents=True)
        tables: dict[str, TableEntry] = {}
        for table, frame in ds.tables().items():
            canonical = canonical_order(table, frame)
            write_parquet(canonical, tmp_dir / f"{table}.parquet")
            tables[table] = _entry(table, canonical, tmp_dir / f"{table}.parquet", f"{name}/{table}.parquet")
        rejected_entries: dict[str, TableEntry] = {}
        for table, frame in sorted((rejected or {}).items()):
            if frame.height == 0:
                continue
            ordered = _sorted_rejected(frame)
            write_parquet(ordered, tmp_dir / "rejected" / f"{table}.parquet")
            rejected_entries[table] = _entry(
                table,
                ordered,
                tmp_dir / "rejected" / f"{table}.parquet",
                f"{name}/rejected/{table}.parquet",
                rejected=True,
            )
        if not rejected_entries:
            (tmp_dir / "rejected").rmdir()
        manifest = DatasetManifest(
            name=name,
            version=ds.meta.version,
            provenance=ds.meta.provenance,
            source=source,
            licence=licence,
            exchange_timezone=ds.meta.exchange_timezone,
            news_cutoff=ds.meta.news_cutoff,
            as_of=ds.meta.as_of,
            production=production,
            tables=tables,
            rejected=rejected_entries,
            snapshot_hash=snapshot_hash({t: e.content_hash for t, e in tables.items()}),
        )
        write_json(manifest.to_json(), tmp_manifest)
        if final_dir.exists():
            final_dir.rename(old_dir)
        try:
            tmp_dir.rename(final_dir)
        except OSError:
            if old_dir.exists():
                old_dir.rename(final_dir)
            raise
        os.replace(tmp_manifest, paths.manifest_path(name))
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        shutil.rmtree(old_dir, ignore_errors=True)
        tmp_manifest.unlink(missing_ok=True)
    return paths.manifest_path(name)


def list_datasets(paths: WorkbenchPaths | None = None) -> list[str]:
    """Names of the datasets with a manifest in ``manifest_dir``, sorted."""
    paths = paths or WorkbenchPaths.from_env()
    if not paths.manifest_dir.is_dir():
        return []
    return sorted(p.stem for p in paths.manifest_dir.glob("*.json") if not p.name.startswith("."))


def read_manifest(name: str, paths: WorkbenchPaths | None = None) -> DatasetManifest:
    """The manifest of ``name``; FileNotFoundError naming the known datasets when absent."""
    paths = paths or WorkbenchPaths.from_env()
    path = paths.manifest_path(name)
    if not path.is_file():
        known = ", ".join(list_datasets(paths)) or "none"
        raise FileNotFoundError(f"no manifest {path} for dataset {name!r} (known datasets: {known})")
    return DatasetManifest.from_json(json.loads(path.read_text(encoding="utf-8")))


def load_dataset(name: str, paths: WorkbenchPaths | None = None, *, verify_files: bool = True) -> Dataset:
    """Read the saved dataset ``name`` into canonical frames, with its manifest facts (including
    ``snapshot_hash``) in ``meta``. With ``verify_files`` (default) the manifest's own hash and every
    table file's SHA-256 are checked first and a :class:`DatasetIntegrityError` names what differs
    (``verify_dataset`` also recomputes content hashes)."""
    paths = paths or WorkbenchPaths.from_env()
    manifest = read_manifest(name, paths)
    raw = json.loads(paths.manifest_path(name).read_text(encoding="utf-8"))
    if verify_files:
        problems = _manifest_problems(raw, manifest)
        for table, entry in sorted(manifest.tables.items()):
            path = paths.data_dir / entry.path
            if not path.is_file():
                problems.append(f"{table}: file missing ({path})")
            elif sha256_file(path) != entry.sha256:
                problems.append(f"{table}: file bytes changed ({path})")
        if problems:
            raise DatasetIntegrityError(f"dataset {name!r} does not match its manifest: " + "; ".join(problems))
    frames = {t: pl.read_parquet(paths.data_dir / e.path) for t, e in manifest.tables.items()}
    missing = [t for t in ("events", "prices", "benchmarks", "securities") if t not in frames]
    if missing:
        raise DatasetIntegrityError(f"dataset {name!r} has no table(s) {missing}")
    return Dataset(meta=manifest.meta(), **{t: frames[t] for t in TABLE_NAMES if t in frames})


def _manifest_problems(raw: dict[str, Any], manifest: DatasetManifest) -> list[str]:
    out: list[str] = []
    body = {k: v for k, v in raw.items() if k != "manifest_hash"}
    if H(body) != raw.get("manifest_hash"):
        out.append("manifest: edited since it was written (manifest_hash mismatch)")
    if snapshot_hash({t: e.content_hash for t, e in manifest.tables.items()}) != manifest.snapshot_hash:
        out.append("manifest: snapshot_hash does not match the tables' content hashes")
    return out


def verify_dataset(name: str, paths: WorkbenchPaths | None = None) -> list[str]:
    """Recompute every hash of dataset ``name`` and say what changed, one line per finding naming
    the table and whether its file bytes, its content, its row count or schema changed, or the
    manifest itself was edited. An empty list means the dataset is intact."""
    paths = paths or WorkbenchPaths.from_env()
    try:
        manifest = read_manifest(name, paths)
        raw = json.loads(paths.manifest_path(name).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, KeyError, TypeError) as exc:
        return [f"manifest: unreadable or missing ({exc})"]
    findings = _manifest_problems(raw, manifest)
    expected_files = set()
    for kind, entries in (("", manifest.tables), ("rejected ", manifest.rejected)):
        is_rejected = kind != ""
        for table, entry in sorted(entries.items()):
            label = f"{kind}{table}"
            path = paths.data_dir / entry.path
            expected_files.add(path.resolve())
            if not path.is_file():
                findings.append(f"{label}: file missing ({path})")
                continue
            bytes_changed = sha256_file(path) != entry.sha256
            try:
                frame = pl.read_parquet(path)
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
    folder = paths.dataset_dir(name)
    if folder.is_dir():
        for path in sorted(folder.rglob("*.parquet")):
            if path.resolve() not in expected_files:
                findings.append(f"{path.stem}: file not in the manifest ({path})")
    return findings


def input_digests(manifest: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-table ``sha256``, ``content_hash`` and ``rows`` from a dataset manifest (empty without one)."""
    if manifest is None:
        return {}
    tables = manifest.get("tables", {})
    items = tables.items() if isinstance(tables, Mapping) else ((t["name"], t) for t in tables)
    return {
        name: {k: info.get(k) for k in ("sha256", "content_hash", "rows")}
        for name, info in sorted(items)
    }


def read_dataset_manifest(name: str, paths: WorkbenchPaths) -> tuple[dict[str, Any] | None, str | None]:
    """The dataset manifest JSON and the SHA-256 of its bytes, or ``(None, None)`` when absent."""
    path = Path(paths.manifest_path(name))
    if not path.is_file():
        return None, None
    data = path.read_bytes()
    return json.loads(data), sha256_bytes(data)
