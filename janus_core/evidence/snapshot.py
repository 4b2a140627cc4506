"""The bytes of an evidence folder, read once and shared by verify, the gate and the report.

Verifying a folder, asking the gate about it and rendering its report all read the same files: the
two gate documents alone are about 90 MB at paper scale. :class:`EvidenceFiles` holds every file's
bytes (relative path -> bytes), parses each JSON file at most once (through the depth-limited reader
:func:`janus_core.evidence.jsonio.parse_json_object`) and hashes each file at most once, so the three
steps share one read and one parse (and, through :meth:`EvidenceFiles.memo`, anything else derived
from the bytes, such as the analysis tables verify reads).

Two ways to fill it: :meth:`EvidenceFiles.read` reads a folder from disk (what ``janus verify DIR``
and ``janus gate DIR`` do); :meth:`EvidenceFiles.written` takes the bytes the export has just written
(so the export verifies, judges and reports on what is already in memory). The export writes every
JSON file that verify holds to the canonical form with :func:`janus_core.hashing.dumps` (all but the
DSPy bundle's, which has the lane's compact form and its own checks), so for those bytes the check
``dumps(json.loads(bytes)) == bytes`` holds by construction and is not recomputed; a folder read from
disk is always checked. Likewise the gate documents the export hands over (:meth:`EvidenceFiles.own`):
their ``manifest_hash`` is ``H`` of these very records, computed by the export that built them
(``records.build_evidence_docs``), so it is not recomputed either; from disk it always is.

The parsed objects are shared: callers read them and never change them. Verify and the report may
read one :class:`EvidenceFiles` from two threads at once: each parse, hash and memo is computed once
per key, the second caller waiting for the first. Standard library and orjson only, so the gate
stays light.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from janus_core.evidence.jsonio import MAX_JSON_DEPTH, parse_json_object
from janus_core.hashing import dumps, json_round_trip, sha256_bytes

T = TypeVar("T")


class EvidenceFiles:
    """Every file of an evidence folder as bytes, keyed by its path relative to the folder (POSIX
    separators), with each JSON file parsed and each file hashed at most once (module docstring)."""

    def __init__(
        self, data: Mapping[str, bytes], *, written_canonical: bool = False, digests: Mapping[str, str] | None = None
    ) -> None:
        self._data = dict(sorted(data.items()))
        self._written_canonical = written_canonical
        self._json: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        self._sha: dict[str, str] = {rel: digest for rel, digest in (digests or {}).items() if rel in self._data}
        self._canonical: dict[str, bool] = {}
        self._memo: dict[tuple, Any] = {}
        self._own: frozenset[str] = frozenset()
        self._guard = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}

    @classmethod
    def read(cls, out_dir: str | Path) -> EvidenceFiles:
        """Every regular file under ``out_dir`` (symlinks followed, as ``Path.is_file`` does)."""
        root = Path(out_dir)
        paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        return cls({p.relative_to(root).as_posix(): p.read_bytes() for p in paths})

    @classmethod
    def written(
        cls,
        data: Mapping[str, bytes],
        digests: Mapping[str, str] | None = None,
        documents: Mapping[str, Any] | None = None,
    ) -> EvidenceFiles:
        """The files an export has just written (relative path -> bytes): its JSON files outside the
        DSPy bundle were written by :func:`janus_core.hashing.dumps`, so their canonical form is not
        re-checked (module docstring). ``digests``: the SHA-256 the export has already computed of
        some of these very bytes objects (the run manifest's ``files``), so no file is hashed twice.
        ``documents``: objects whose ``dumps`` are the bytes of their path; each is taken as that
        file's parse when :func:`janus_core.hashing.json_round_trip` shows what parsing would give
        (and it nests within the reader's limit), so the large gate files are not parsed back."""
        files = cls(data, written_canonical=True, digests=digests)
        for rel, obj in (documents or {}).items():
            twin = json_round_trip(obj, MAX_JSON_DEPTH) if rel in files._data else None
            if type(twin) is dict:
                files._json[rel] = (twin, None)
        files._own = frozenset(files._json)
        return files

    def own(self, rel: str) -> bool:
        """Whether the parse of ``rel`` is a document the export handed over (:meth:`written`): its
        ``manifest_hash`` was computed from these very records by the export that built it, so
        :func:`janus_core.evidence.gate.child_schema_problems` need not hash them again."""
        return rel in self._own

    def _once(self, cache: dict, key: Any, compute: Callable[[], T]) -> T:
        """``cache[key]``, computed by ``compute()`` the first time, once even when two threads ask
        at the same time (the second waits for the first's result)."""
        if key in cache:
            return cache[key]
        with self._guard:
            lock = self._locks.setdefault((id(cache), key), threading.Lock())
        with lock:
            if key not in cache:
                cache[key] = compute()
        return cache[key]

    def names(self) -> list[str]:
        """Every file's relative path, sorted."""
        return list(self._data)

    def has(self, rel: str) -> bool:
        return rel in self._data

    def bytes(self, rel: str) -> bytes | None:
        """The bytes of ``rel``, None when the folder has no such file."""
        return self._data.get(rel)

    def sha256(self, rel: str) -> str | None:
        """SHA-256 of the bytes of ``rel`` (None when absent)."""
        if rel not in self._data:
            return None
        return self._once(self._sha, rel, lambda: sha256_bytes(self._data[rel]))

    def json(self, rel: str) -> tuple[dict[str, Any] | None, str | None]:
        """``(object, None)`` for a JSON-object file, else ``(None, why)`` ("missing" when absent):
        :func:`parse_json_object`, once per file."""
        if rel not in self._data:
            return None, "missing"
        return self._once(self._json, rel, lambda: parse_json_object(self._data[rel]))

    def canonical(self, rel: str) -> bool:
        """Whether the bytes of the JSON file ``rel`` are its canonical form ``dumps(json.loads(bytes))``
        (true by construction for the export's own JSON files, :meth:`written`)."""
        obj, _ = self.json(rel)
        if obj is None:
            return False
        return self._once(self._canonical, rel, lambda: self._written_canonical or dumps(obj) == self._data[rel])

    def memo(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` for this set of files (e.g. a schema check of a parsed
        document that both verify and the gate make)."""
        return self._once(self._memo, key, compute)
