"""Atomic output: an evidence folder is written whole or not at all, and only where it destroys
nothing that is not an earlier evidence folder (:mod:`janus_core.outdir`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from janus_core.evidence.jsonio import parse_json_object
from janus_core.evidence.schema import RUN_MANIFEST_REF, RUN_MANIFEST_SCHEMA
from janus_core.hashing import H
from janus_core.outdir import (
    check_output_target,
    clean_stale_temp_folders,
    temp_sibling,
)


def is_export_folder(path: Path) -> bool:
    """An earlier evidence export: ``run-manifest.json`` present, a JSON object of the run-manifest
    schema whose ``self_hash`` equals ``H`` of the rest."""
    try:
        obj, _ = parse_json_object((path / RUN_MANIFEST_REF).read_bytes())
    except OSError:
        return False
    if obj is None or obj.get("schema_version") != RUN_MANIFEST_SCHEMA:
        return False
    return obj.get("self_hash") == H({k: v for k, v in obj.items() if k != "self_hash"})


def check_export_target(out_dir: str | Path) -> None:
    """Raise :class:`janus_core.outdir.OutputRefused` unless ``out_dir`` is absent, empty or an earlier
    evidence export (:func:`is_export_folder`)."""
    check_output_target(out_dir, "export", is_export_folder)


# --------------------------------------------------------------------------------------------------
# Atomic output
# --------------------------------------------------------------------------------------------------
def _write_file(path: Path, data: bytes) -> None:
    """Write bytes (the single file writer of an export; :func:`_fsync_files` makes them durable)."""
    with open(path, "wb") as fh:
        fh.write(data)


def _fsync_files(paths: list[Path]) -> None:
    """fsync every file of ``paths`` (each reopened for update, which any platform's fsync accepts)."""
    for path in paths:
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())


def write_tree_atomically(
    out_dir: str | Path,
    files: Mapping[str, bytes],
    finish: Callable[[Path], None] | None = None,
    check_target: Callable[[Path], None] = check_export_target,
) -> list[str]:
    """Write ``files`` (relative path -> bytes) as the folder ``out_dir``, all or nothing, and return
    what was done about temp folders left by killed runs (:func:`janus_core.outdir.clean_stale_temp_folders`).

    ``out_dir`` must be absent, empty or an earlier output of the same kind (``check_target``, by default
    an earlier export, :func:`check_export_target`; checked again just before it is replaced). The files go to a hidden sibling temp folder ``.NAME.tmp-PID-*``;
    ``finish(temp_folder)``, when given, then adds what is derived from the complete folder (the
    report), while a worker thread fsyncs the files (their disk writes overlap the report); once both
    are done the temp folder is renamed to ``out_dir``. An existing ``out_dir`` is first renamed
    aside (``.NAME.old-PID-*``) and deleted only after the new folder is in place. Any exception
    removes the temp folder and leaves the old ``out_dir`` (or none) as it was.
    """
    out_dir = Path(os.path.abspath(out_dir))
    check_target(out_dir)
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    notes = clean_stale_temp_folders(out_dir)
    tmp = temp_sibling(out_dir, "tmp")
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would make the published folder private
    old: Path | None = None
    try:
        targets = [tmp / rel for rel in sorted(files)]
        for rel, target in zip(sorted(files), targets, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_file(target, files[rel])
        with ThreadPoolExecutor(max_workers=1) as pool:  # the disk syncs while the report renders
            synced = pool.submit(_fsync_files, targets)
            if finish is not None:
                finish(tmp)
            synced.result()
        check_target(out_dir)
        if out_dir.exists():
            old = temp_sibling(out_dir, "old")
            os.rename(out_dir, old / "previous")
            try:
                os.rename(tmp, out_dir)
            except BaseException:
                os.rename(old / "previous", out_dir)
                raise
        else:
            os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return notes


#: The entry of a runs folder that points at its newest run.
LATEST = "latest"


def point_latest(root: Path, name: str) -> Path:
    """Point ``root/latest`` at the run folder ``root/name``: a relative symbolic link, replaced
    atomically (a new link is renamed over the old one, so a reader sees the old or the new run,
    never none). Where symbolic links cannot be made (e.g. Windows without the privilege),
    ``root/latest`` is a small text file holding ``name`` instead. Returns the ``latest`` path."""
    root = Path(os.path.abspath(root))
    latest = root / LATEST
    tmp = root / f".{LATEST}.tmp-{os.getpid()}"
    try:
        os.symlink(name, tmp, target_is_directory=True)
    except OSError:
        tmp.write_text(name + "\n", encoding="utf-8")
    try:
        os.replace(tmp, latest)
    except OSError:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        raise
    return latest
