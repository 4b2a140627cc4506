"""A disk cache of labelled CAR tables, shared by every notebook and process of a workspace.

The CAR study (``labels.car_study``) is the most expensive step the notebooks share; without a
cache the reward, backtest and evidence notebooks would each recompute it. A cached table is
stored as ``cache_dir/car/<key>.parquet`` with

    key = H({dataset, snapshot_hash, car, label, split, code, versions})

where ``snapshot_hash`` identifies the dataset's content (``load_dataset`` has checked every file
against it), ``car``/``label``/``split`` are the full configs, ``code`` is the SHA-256 of every source
file of ``janus_core.data`` and ``janus_core.study`` (and the core modules) and ``versions`` the
versions of polars and numpy. Anything that could change the table changes the key, so a cached
table is the table the study would compute (a test checks it frame for frame); a stale entry is
never read, only left behind (``rm -r data/.cache`` frees the space). A dataset without a snapshot
hash is never cached. Entries are written to a temporary file and renamed into place, so
concurrent notebooks never read a half-written table.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from importlib import metadata
from pathlib import Path

import polars as pl

from janus_core.data.dataset import Dataset
from janus_core.hashing import H
from janus_core.study.car import CarConfig
from janus_core.study.labels import LabelConfig, SplitConfig, car_study

_PACKAGE = Path(__file__).resolve().parent.parent
#: Sources the labelled CAR table depends on (relative to the ``janus_core`` folder).
_SOURCES: tuple[str, ...] = ("data", "study", "hashing.py", "paths.py")
#: Distributions whose version is part of the key.
_VERSIONED: tuple[str, ...] = ("polars", "numpy")


@functools.cache
def code_digest() -> str:
    """SHA-256 over the path and bytes of every source file in :data:`_SOURCES` (sorted)."""
    digest = hashlib.sha256()
    for entry in _SOURCES:
        path = _PACKAGE / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(_PACKAGE).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(ds: Dataset, cfg: CarConfig, label_cfg: LabelConfig, split_cfg: SplitConfig) -> str | None:
    """The key of the module docstring, or None for a dataset without a snapshot hash."""
    if not ds.meta.snapshot_hash:
        return None
    return H(
        {
            "dataset": ds.name,
            "snapshot_hash": ds.meta.snapshot_hash,
            "car": cfg.model_dump(mode="json"),
            "label": label_cfg.model_dump(mode="json"),
            "split": split_cfg.model_dump(mode="json"),
            "code": code_digest(),
            "versions": {name: metadata.version(name) for name in _VERSIONED},
        }
    )


def cached_car_study(
    ds: Dataset,
    cfg: CarConfig,
    label_cfg: LabelConfig | None = None,
    split_cfg: SplitConfig | None = None,
    *,
    cache_dir: Path | None,
) -> pl.DataFrame:
    """``labels.car_study(ds, cfg, label_cfg, split_cfg)``, read from ``cache_dir/car/`` when this
    exact study was computed before and written there otherwise (module docstring). ``cache_dir``
    None computes without a cache. An unreadable entry is recomputed and replaced; a cache that
    cannot be written is skipped (the table is returned all the same)."""
    label_cfg, split_cfg = label_cfg or LabelConfig(), split_cfg or SplitConfig()
    key = None if cache_dir is None else cache_key(ds, cfg, label_cfg, split_cfg)
    if key is None or cache_dir is None:
        return car_study(ds, cfg, label_cfg, split_cfg)
    path = Path(cache_dir) / "car" / f"{key}.parquet"
    if path.is_file():
        try:
            return pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError):
            pass
    table = car_study(ds, cfg, label_cfg, split_cfg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            table.write_parquet(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass
    return table
