"""The sweep: every configuration of a grid, cached rows read and the rest computed on an engine
(:func:`run_sweep`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from janus_core.data.manifest import input_digests, load_dataset, read_dataset_manifest
from janus_core.decide.decisions import load_decisions
from janus_core.decide.policies import POLICIES
from janus_core.evidence.schema import config_json
from janus_core.hashing import H, canonical_json, sha256_file
from janus_core.paths import WorkbenchPaths
from janus_core.sweep.cache import Keys, cache_dir, code_key, point_keys
from janus_core.sweep.engines import (
    Engine,
    LocalEngine,
    RayEngine,
    init_local_worker,
)
from janus_core.sweep.evaluate import METRIC_SCHEMA, Outcome
from janus_core.sweep.grid import Grid, SweepPoint, SweepSettings, expand_grid
from janus_core.sweep.phases import Phases, Progress, SweepRows


# --------------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepRun:
    """A finished sweep: the result rows (ordered by config hash), the daily returns of the ``ok``
    configurations, and what was reused: ``computed`` configurations, ``car_computed`` CAR tables and
    ``labelled_computed`` labelled tables computed by this run (0 when everything came from the
    cache)."""

    settings: SweepSettings
    grid: Grid
    dataset: str
    dataset_snapshot_hash: str | None
    dataset_key: str
    decisions_ref: str
    candidate_id: str
    engine: str
    results: pl.DataFrame
    returns: pl.DataFrame
    computed: int
    car_computed: int
    labelled_computed: int

    @property
    def sweep_id(self) -> str:
        """``H`` of (dataset identity, grid, shared settings): the same sweep has the same id whatever
        the engine."""
        return H(
            {
                "dataset": self.dataset_key,
                "grid": self.grid.to_json(),
                "settings": config_json(self.settings.model_dump(mode="json")),
                "decisions": self.decisions_ref,
            }
        )


def _param_column(name: str, values: list[Any]) -> pl.Series:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pl.Series(name, values, dtype=pl.Boolean)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pl.Series(name, values, dtype=pl.Int64)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pl.Series(name, [None if v is None else float(v) for v in values], dtype=pl.Float64)
    if present and all(isinstance(v, str) for v in present):
        return pl.Series(name, values, dtype=pl.String)
    return pl.Series(name, [None if v is None else canonical_json(config_json(v)) for v in values], dtype=pl.String)


def results_frame(
    grid: Grid, points: Sequence[SweepPoint], keys: Sequence[Keys], rows: Sequence[dict[str, Any]]
) -> pl.DataFrame:
    """The result rows (:data:`METRIC_SCHEMA` after ``config_hash``, the parameters and ``config``),
    ordered by config hash."""
    base = pl.DataFrame({"config_hash": [k.config_hash for k in keys]}, schema={"config_hash": pl.String})
    params = [_param_column(name, [p.params[name] for p in points]) for name in grid.parameters]
    configs = pl.Series("config", [canonical_json(p.resolved()) for p in points], dtype=pl.String)
    metrics = pl.DataFrame([{k: r.get(k) for k in METRIC_SCHEMA} for r in rows], schema=METRIC_SCHEMA)
    return pl.concat([base.with_columns(*params, configs), metrics], how="horizontal").sort("config_hash")


def dataset_identity(name: str, paths: WorkbenchPaths) -> tuple[str, str | None]:
    """``(key, snapshot hash)``: the key is ``H`` of the snapshot hash and the manifest's table digests."""
    manifest, _ = read_dataset_manifest(name, paths)
    snapshot = (manifest or {}).get("snapshot_hash")
    return H({"name": name, "snapshot_hash": snapshot, "tables": input_digests(manifest)}), snapshot


def _decisions_source(settings: SweepSettings) -> tuple[pl.DataFrame | None, str, str]:
    """The decisions file's frame (None for a policy), the decisions reference and the candidate id."""
    if settings.decisions in POLICIES:
        return None, f"policy:{settings.decisions}", settings.candidate_id or settings.decisions
    path = Path(settings.decisions)
    if not path.is_file():
        raise ValueError(
            f"decisions {settings.decisions!r}: neither a policy ({', '.join(POLICIES)}) nor a decisions file"
        )
    frame = load_decisions(path)
    present = sorted(frame["strategy_id"].drop_nulls().unique().to_list())
    if settings.strategy_id is not None:
        if settings.strategy_id not in present:
            raise ValueError(
                f"{path}: column strategy_id has no rows for {settings.strategy_id!r} (present: {present[:10]})"
            )
        frame = frame.filter(pl.col("strategy_id") == settings.strategy_id)
    elif len(present) != 1:
        raise ValueError(
            f"{path}: column strategy_id has {len(present)} strategies {present[:10]}; "
            f"rule: exactly one, or pick one with strategy_id"
        )
    candidate = settings.candidate_id or settings.strategy_id or present[0]
    return frame, f"decisions:sha256:{sha256_file(path)}", candidate


def run_sweep(
    grid: Grid,
    settings: SweepSettings,
    paths: WorkbenchPaths,
    *,
    engine: Engine = "local",
    workers: int | None = None,
    address: str | None = None,
    chunk_size: int | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> SweepRun:
    """Evaluate every configuration of ``grid`` (package docstring): cached rows are read, the rest
    computed on ``engine`` with ``workers`` processes or CPUs (default: the machine's cores; the
    local engine with one worker runs in this process) and
    cached as they finish; ``progress`` is called with the counts after each one. A
    ``KeyboardInterrupt`` stops the workers and propagates, leaving the cache of every finished
    configuration. The grid is expanded and validated (:func:`expand_grid`) before anything runs."""
    points = expand_grid(grid)
    load_dataset(settings.dataset, paths)  # an unknown or changed dataset fails before any work
    ds_key, snapshot = dataset_identity(settings.dataset, paths)
    decisions, decisions_ref, candidate = _decisions_source(settings)
    fixed = settings.fixed(decisions_ref)
    code = code_key()
    keys = [point_keys(p, ds_key, code, fixed) for p in points]
    root = cache_dir(paths)
    workers = workers or os.cpu_count() or 1
    rows = SweepRows(keys, root, progress)
    counts = {"car": 0, "labelled": 0}
    if rows.todo:
        runner = _engine(engine, workers, address, settings, paths, root, decisions)
        chunk = chunk_size or max(1, min(25, math.ceil(len(rows.todo) / (4 * workers))))
        try:
            counts = Phases(runner, points, keys, rows, root, settings).run(decisions, paths, chunk)
        except BaseException:
            runner.close(cancel=True)
            raise
        runner.close()
    outcomes = [rows.rows[k.row] for k in keys]
    return SweepRun(
        settings=settings,
        grid=grid,
        dataset=settings.dataset,
        dataset_snapshot_hash=snapshot,
        dataset_key=ds_key,
        decisions_ref=decisions_ref,
        candidate_id=candidate,
        engine=engine,
        results=results_frame(grid, points, keys, [o[0] for o in outcomes]),
        returns=returns_frame(keys, outcomes),
        computed=len(rows.todo),
        car_computed=counts["car"],
        labelled_computed=counts["labelled"],
    )


def _engine(
    engine: Engine,
    workers: int,
    address: str | None,
    settings: SweepSettings,
    paths: WorkbenchPaths,
    root: Path,
    decisions: pl.DataFrame | None,
) -> LocalEngine | RayEngine:
    """The runner of ``engine``: a local pool (inline with one worker) or a Ray cluster."""
    if engine == "local":
        initargs = (settings.dataset, paths, root, decisions, settings)
        return LocalEngine(workers, init_local_worker, initargs, inline=workers == 1)
    return RayEngine(address, workers)


def returns_frame(keys: Sequence[Keys], outcomes: Sequence[Outcome]) -> pl.DataFrame:
    """``config_hash, date, daily_return`` of every configuration with returns (each config hash
    once), sorted by config hash and date."""
    seen: set[str] = set()
    frames = []
    for k, (_, ret) in zip(keys, outcomes, strict=True):
        if ret is not None and k.config_hash not in seen:
            seen.add(k.config_hash)
            frames.append(ret.select(pl.lit(k.config_hash).alias("config_hash"), "date", "daily_return"))
    if not frames:
        return pl.DataFrame(schema={"config_hash": pl.String, "date": pl.Date, "daily_return": pl.Float64})
    return pl.concat(frames, how="vertical").sort("config_hash", "date")
