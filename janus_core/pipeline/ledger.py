"""What an export records in the research store: the trial behind the candidate's Deflated Sharpe
Ratio (``analysis/overfitting``) and the ``runs`` row with the local gate verdicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from janus_core.backtest.overfitting import deflated_sharpe_of_returns, return_moments
from janus_core.data import store
from janus_core.data.dataset import Dataset
from janus_core.data.store import (
    RunRecord,
    TrialRecord,
    record_trial,
    trial_count,
    trial_sharpe_variance,
)
from janus_core.evidence.gate import TARGETS, evaluate_gate
from janus_core.evidence.records import (
    EvidenceDocs,
)
from janus_core.evidence.schema import (
    RUN_MANIFEST_REF,
    iso_utc,
)
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import H
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline.config import ExportConfig
from janus_core.pipeline.results import ResearchRun


def candidate_returns(run: ResearchRun) -> pl.Series | None:
    """The candidate's daily returns in the backtest window (from the ``nav`` research table), or
    None when the backtest was skipped."""
    nav = run.research.get("nav")
    if nav is None:
        return None
    navs = nav.filter((pl.col("kind") == "candidate") & (pl.col("series") == run.candidate_id)).sort("date")["nav"]
    return (navs / navs.shift(1) - 1.0).drop_nulls() if navs.len() >= 3 else None


def trials_table(run: ResearchRun, cfg: ExportConfig, paths: WorkbenchPaths) -> pl.DataFrame | None:
    """``analysis/overfitting``: the trials behind the candidate and its Deflated Sharpe Ratio.

    The export's configuration is one trial of the candidate on the dataset: it is recorded in the
    research store's trials ledger (``store.record_trial``, kind ``export``; with ``cfg.record_run``),
    and the DSR (Bailey and Lopez de Prado 2014, ``metrics.deflated_sharpe_of_returns``) deflates
    the candidate's Sharpe ratio by the number of distinct configurations in the ledger (at least
    this one) and the variance of their Sharpe ratios. The count is an input of the evidence: the
    same export after other configurations were tried says so. Columns: ``n_trials``,
    ``trial_sharpe_variance``, ``sharpe``, ``sharpe0`` (the best skill-less trial's expected
    Sharpe), ``deflated_sharpe``. None when the backtest was skipped."""
    returns = candidate_returns(run)
    if returns is None:
        return None
    moments = return_moments(returns)
    ds = run.dataset
    if cfg.record_run:
        record_trial(
            TrialRecord(
                created_at=iso_utc(datetime.now(timezone.utc)),
                dataset=ds.name,
                dataset_snapshot_hash=ds.meta.snapshot_hash,
                candidate_id=run.candidate_id,
                config_hash=H({"configs": run.resolved_configs(cfg), "decisions": run.decisions_ref}),
                kind="export",
                sharpe=float(moments["sharpe"]) * 252**0.5,
                n_returns=int(moments["n_returns"]),
                skew=float(moments["skew"]),
                kurtosis=float(moments["kurtosis"]),
            ),
            paths,
        )
    n_trials = max(1, trial_count(ds.name, run.candidate_id, paths))
    variance = trial_sharpe_variance(ds.name, run.candidate_id, paths)
    deflated = deflated_sharpe_of_returns(returns, n_trials, variance)
    sweep_id, pbo = latest_sweep_pbo(ds, run.candidate_id, paths)
    return pl.DataFrame(
        {
            "n_trials": [n_trials],
            "trial_sharpe_variance": [variance],
            "sharpe": [deflated["sharpe"]],
            "sharpe0": [deflated["sharpe0"]],
            "deflated_sharpe": [deflated["dsr"]],
            "sweep_id": [sweep_id],
            "pbo": [pbo],
        },
        schema={
            "n_trials": pl.Int64,
            "trial_sharpe_variance": pl.Float64,
            "sharpe": pl.Float64,
            "sharpe0": pl.Float64,
            "deflated_sharpe": pl.Float64,
            "sweep_id": pl.String,
            "pbo": pl.Float64,
        },
    )


def latest_sweep_pbo(ds: Dataset, candidate_id: str, paths: WorkbenchPaths) -> tuple[str | None, float | None]:
    """The newest recorded sweep of ``candidate_id`` on this dataset snapshot (``store.sweeps``) and its
    probability of backtest overfitting (CSCV, ``janus sweep``'s ``overfitting.json``); ``(None, None)``
    when there is none or it computed no PBO. A candidate exported from a sweep thus carries the
    sweep's PBO next to its trial count and DSR."""
    rows = store.sweeps(paths, ds.name)
    rows = rows.filter(
        (pl.col("candidate_id") == candidate_id) & (pl.col("dataset_snapshot_hash") == ds.meta.snapshot_hash)
    ).sort("created_at", "sweep_id")
    if rows.is_empty():
        return None, None
    last = rows.row(-1, named=True)
    try:
        pbo = json.loads(last["overfitting"] or "{}").get("pbo", {}).get("pbo")
    except (ValueError, AttributeError):
        pbo = None
    return last["sweep_id"], float(pbo) if isinstance(pbo, (int, float)) else None


def run_record(
    run_manifest: Mapping[str, Any], docs: EvidenceDocs, out_dir: Path, verdicts: Mapping[str, Any], created_at: str
) -> RunRecord:
    """The research store's ``runs`` row of one export (``store.RunRecord``): run id, dataset and
    config hashes, the artifact hashes, headline numbers and the local gate verdict per target
    (canonical JSON ``{target: {promotable, codes}}``). ``created_at`` is when the export ran (wall
    clock, UTC), not the evidence's reproducible ``generated_at``: a re-run replaces its row, now
    stamped with the re-run's time and folder."""

    ev, rw = docs.event_car["summary"], docs.hgrm_reward["summary"]
    return RunRecord(
        run_id=run_manifest["run_id"],
        created_at=created_at,
        dataset=run_manifest["dataset"]["name"],
        dataset_snapshot_hash=run_manifest["dataset"]["snapshot_hash"] or None,
        config_hash=run_manifest["config_hash"],
        artifact_hashes={**run_manifest["files"], RUN_MANIFEST_REF: H(run_manifest)},
        headline_metrics={
            "event_count": ev["event_count"],
            "excluded_event_count": ev["excluded_event_count"],
            "mean_abs_car": ev["mean_abs_car"],
            "reward_count": rw["reward_count"],
            "event_mapped_count": rw["event_mapped_count"],
            "direction_gate_pass_ratio": rw["direction_gate_pass_ratio"],
            "mean_final_reward": rw["mean_final_reward"],
            "evidence_complete": docs.evidence["evidence_complete"],
            "candidate_id": docs.hgrm_reward["candidate_id"],
        },
        gate_verdict=json.dumps(dict(verdicts), sort_keys=True, separators=(",", ":")),
        out_dir=str(out_dir),
    )


def record_run(
    paths: WorkbenchPaths,
    out_dir: Path,
    run_manifest: Mapping[str, Any],
    docs: EvidenceDocs,
    created_at: str,
    files: EvidenceFiles | None = None,
) -> None:
    """Evaluate the local gate on the written folder for every target and append the run, made at
    ``created_at``, to the store's ``runs`` table. ``files``: the folder's bytes when already held."""

    verdicts = {}
    for target in TARGETS:
        verdict = evaluate_gate(out_dir, target, files=files)
        verdicts[target] = {"promotable": verdict.promotable, "codes": [r.code for r in verdict.reasons]}
    store.append_run(run_record(run_manifest, docs, out_dir, verdicts, created_at), paths)
