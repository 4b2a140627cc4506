"""The sweep cache: content-hash keys of CAR tables, labelled tables and result rows, written
atomically (package docstring, "Reuse")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

import janus_core
from janus_core.evidence.schema import config_json
from janus_core.hashing import H, sha256_file
from janus_core.paths import WorkbenchPaths
from janus_core.sweep.evaluate import METRIC_SCHEMA, Outcome
from janus_core.sweep.grid import SweepPoint, car_json


# --------------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------------
def cache_dir(paths: WorkbenchPaths) -> Path:
    """The sweep cache: ``JANUS_SWEEP_CACHE``, else ``.janus-cache/sweep`` next to the research store."""
    env = os.environ.get("JANUS_SWEEP_CACHE", "").strip()
    return Path(env) if env else paths.store.parent / ".janus-cache" / "sweep"


#: The ``janus_core`` modules a sweep's numbers are computed by (the steps below this module, and it).
CODE_PARTS: tuple[str, ...] = ("data", "study", "decide", "backtest", "evidence", "hashing.py", "paths.py", "sweep")


def code_key() -> str:
    """``H`` of the (path, SHA-256) of every ``janus_core`` module in :data:`CODE_PARTS`: the library
    a cached result was computed with (an edit of the CLI, the report or a notebook keeps the cache)."""
    root = Path(janus_core.__file__).resolve().parent
    files = sorted(
        p
        for part in CODE_PARTS
        for p in ([root / part] if part.endswith(".py") else (root / part).rglob("*.py"))
        if "__pycache__" not in p.parts
    )
    return H({p.relative_to(root).as_posix(): sha256_file(p) for p in files})


@dataclass(frozen=True)
class Keys:
    """Cache keys of one configuration (package docstring, "Reuse") and its config hash."""

    car: str
    labelled: str
    row: str
    config_hash: str


def point_keys(point: SweepPoint, dataset_key: str, code: str, fixed: Mapping[str, Any]) -> Keys:
    """The cache keys and config hash of ``point`` (package docstring)."""
    car = H({"kind": "car", "code": code, "dataset": dataset_key, "car": car_json(point.car)})
    labelled = H({"kind": "labelled", "car": car, "label": config_json(point.label), "split": config_json(point.split)})
    config_hash = H({"configs": point.resolved(), **fixed})
    return Keys(
        car=car,
        labelled=labelled,
        row=H({"kind": "row", "labelled": labelled, "config": config_hash}),
        config_hash=config_hash,
    )


def atomic_write(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, path)


def cache_path(root: Path, kind: str, key: str) -> Path:
    return root / kind / f"{key}.parquet"


def write_row(path: Path, outcome: Outcome) -> None:
    row, returns = outcome
    frame = pl.DataFrame([{k: row.get(k) for k in METRIC_SCHEMA}], schema=METRIC_SCHEMA)
    dates = returns["date"].to_list() if returns is not None else None
    values = returns["daily_return"].to_list() if returns is not None else None
    frame = frame.with_columns(
        pl.Series("returns_date", [dates], dtype=pl.List(pl.Date)),
        pl.Series("returns_value", [values], dtype=pl.List(pl.Float64)),
    )
    atomic_write(path, frame)


def read_row(path: Path) -> Outcome:
    frame = pl.read_parquet(path)
    row = {k: frame[k][0] for k in METRIC_SCHEMA}
    dates, values = frame["returns_date"][0], frame["returns_value"][0]
    if dates is None:
        return row, None
    return row, pl.DataFrame(
        {"date": dates, "daily_return": values}, schema={"date": pl.Date, "daily_return": pl.Float64}
    )
