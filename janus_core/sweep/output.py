"""The sweep folder (results, returns, overfitting report, manifest) and its record in the research
store (:func:`publish_sweep`), and the reader of a written folder (:func:`load_sweep`)."""

from __future__ import annotations

import io
import json
import math
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

import janus_core
from janus_core.backtest.metrics import (
    NAV_METRIC_KEYS,
)
from janus_core.data import store
from janus_core.data.manifest import load_dataset
from janus_core.evidence.output import write_tree_atomically
from janus_core.hashing import canonical_json, dumps, sha256_bytes
from janus_core.paths import WorkbenchPaths
from janus_core.sweep.cache import code_key
from janus_core.sweep.overfitting import overfitting_report
from janus_core.sweep.run import SweepRun

# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------
#: ``kind`` of ``sweep-manifest.json`` and the files of a sweep folder.
SWEEP_KIND = "janus-sweep"
OUTPUT_FILES: frozenset[str] = frozenset(
    {"results.parquet", "returns.parquet", "overfitting.json", "sweep-manifest.json"}
)
#: Distributions whose versions the sweep manifest records.
SWEEP_PACKAGES: tuple[str, ...] = ("polars", "numpy", "scipy", "pydantic", "pyarrow", "duckdb", "arch", "ray")


def _jsonable(value: Any) -> Any:
    """Plain JSON values: non-finite floats become null, dates ISO text, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _versions(names: Sequence[str]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not-installed"
    return out


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def sweep_files(run: SweepRun, overfitting: Mapping[str, Any]) -> dict[str, bytes]:
    """The files of a sweep folder (package docstring) as bytes: results, returns, overfitting and the
    manifest (every other file's SHA-256 in ``files``, the results' in ``results_sha256``)."""
    files = {
        "results.parquet": _parquet(run.results),
        "returns.parquet": _parquet(run.returns),
        "overfitting.json": dumps(_jsonable(overfitting)),
    }
    manifest = {
        "kind": SWEEP_KIND,
        "sweep_id": run.sweep_id,
        "grid": run.grid.to_json(),
        "settings": _jsonable(run.settings.model_dump(mode="json")),
        "dataset": {"name": run.dataset, "snapshot_hash": run.dataset_snapshot_hash, "key": run.dataset_key},
        "decisions_ref": run.decisions_ref,
        "candidate_id": run.candidate_id,
        "engine": run.engine,
        "n_configurations": run.results.height,
        "n_failed": int((run.results["status"] != "ok").sum()),
        "packages": _versions(SWEEP_PACKAGES),
        "python": platform.python_version(),
        "janus_core_version": janus_core.__version__,
        "code_key": code_key(),
        "files": {rel: sha256_bytes(data) for rel, data in sorted(files.items())},
        "results_sha256": sha256_bytes(files["results.parquet"]),
    }
    files["sweep-manifest.json"] = dumps(manifest)
    return files


def record_sweep(
    run: SweepRun,
    overfitting: Mapping[str, Any],
    files: Mapping[str, bytes],
    out_dir: Path,
    paths: WorkbenchPaths,
    created_at: str,
) -> None:
    """The research store's ``sweeps`` row of ``run`` and every ``ok`` configuration in the trials
    ledger (kind ``sweep``, the annualised Sharpe ratio and the per-day moments of its returns)."""
    ok = run.results.filter(pl.col("status") == "ok")
    trials = [
        store.TrialRecord(
            created_at=created_at,
            dataset=run.dataset,
            dataset_snapshot_hash=run.dataset_snapshot_hash,
            candidate_id=run.candidate_id,
            config_hash=r["config_hash"],
            kind="sweep",
            sharpe=float(r["sharpe"]),
            n_returns=int(r["n_returns"]),
            skew=float(r["skew"] if r["skew"] is not None else 0.0),
            kurtosis=float(r["kurtosis"] if r["kurtosis"] is not None else 3.0),
            metrics=_jsonable(
                {k: r[k] for k in (*NAV_METRIC_KEYS, "mean_reward", "da", "n_trades")} | {"sweep_id": run.sweep_id}
            ),
        )
        for r in ok.iter_rows(named=True)
        if r["n_returns"] is not None and r["n_returns"] >= 2
    ]
    store.record_trials(trials, paths)
    best = overfitting.get("best") or {}
    store.record_sweep(
        {
            "sweep_id": run.sweep_id,
            "created_at": created_at,
            "dataset": run.dataset,
            "dataset_snapshot_hash": run.dataset_snapshot_hash,
            "candidate_id": run.candidate_id,
            "decisions_ref": run.decisions_ref,
            "engine": run.engine,
            "n_configurations": run.results.height,
            "n_ok": ok.height,
            "n_failed": run.results.height - ok.height,
            "grid": canonical_json(run.grid.to_json()),
            "results_sha256": sha256_bytes(files["results.parquet"]),
            "best_config_hash": best.get("config_hash"),
            "overfitting": canonical_json(_jsonable(overfitting)),
            "out_dir": str(Path(out_dir).resolve()),
        },
        paths,
    )


def load_sweep(out_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any], dict[str, Any]]:
    """A sweep folder's results, returns, overfitting report and manifest (the notebook's reader)."""
    out_dir = Path(out_dir)
    manifest = json_load(out_dir / "sweep-manifest.json")
    if manifest.get("kind") != SWEEP_KIND:
        raise ValueError(f"{out_dir}: sweep-manifest.json is not of kind {SWEEP_KIND!r}")
    return (
        pl.read_parquet(out_dir / "results.parquet"),
        pl.read_parquet(out_dir / "returns.parquet"),
        json_load(out_dir / "overfitting.json"),
        manifest,
    )


def json_load(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``."""
    value = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(value, dict):
        return value
    raise ValueError(f"{path}: not a JSON object")


def check_out_dir(out: Path) -> None:
    """``out`` may be written: absent, an empty folder, or an earlier sweep folder (only the sweep's
    files, ``sweep-manifest.json`` of kind ``janus-sweep``); anything else is refused so that no
    folder the sweep did not write is ever replaced."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    names = {p.name for p in out.iterdir()}
    if not names:
        return
    kind = None
    if names <= OUTPUT_FILES and "sweep-manifest.json" in names:
        try:
            kind = json_load(out / "sweep-manifest.json").get("kind")
        except (OSError, ValueError):
            kind = None
    if kind != SWEEP_KIND:
        extra = sorted(names - OUTPUT_FILES)[:3]
        raise ValueError(
            f"--out {out}: exists and is not a sweep output folder"
            + (f" (it holds {', '.join(extra)})" if extra else "")
            + "; choose another folder or empty it yourself"
        )


def publish_sweep(
    run: SweepRun, out_dir: Path, paths: WorkbenchPaths, *, record: bool = True, created_at: str | None = None
) -> dict[str, Any]:
    """Compute the overfitting report, write the sweep folder ``out_dir`` atomically
    (:func:`sweep_files`, ``evidence.output.write_tree_atomically``) and, with ``record``, the
    store's ``sweeps`` row and trials (:func:`record_sweep`; ``created_at`` defaults to now, UTC).
    Returns the overfitting report."""
    ds = load_dataset(run.dataset, paths)
    overfitting = overfitting_report(run, ds)
    files = sweep_files(run, overfitting)
    write_tree_atomically(Path(out_dir), files, check_target=check_out_dir)
    if record:
        stamp = created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record_sweep(run, overfitting, files, Path(out_dir), paths, stamp)
    return overfitting
