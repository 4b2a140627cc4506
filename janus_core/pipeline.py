"""The pipeline: the one place that runs the research steps in order and writes the gate evidence.

One export turns a dataset, a strategy's decisions and the CAR / label / reward configs into the files
the promotion lane reads (lane-contract.md; every field name and string value exact):

``OUT/`` layout
---------------
- ``gates/janus-event-car-v1.json``: one record per *included* event (CAR, direction, strength).
- ``gates/janus-hgrm-reward-v1.json``: one record per decision with its HGRM reward; decisions that map
  to no included event are records too (``mapping_status`` != ``mapped``, reward numbers ``null``),
  so ``event_mapped_count < reward_count`` and the summary reports
  ``janus_reward_event_mapping_incomplete``.
- ``gates/janus-q-evidence-v1.json``: the companion summary tying the two together.
- ``analysis/labelled_car.csv``: every input event once, with its CAR and labels or its
  ``excluded_reason``.
- ``analysis/exclusions.csv``: the excluded events and why (also counted in the event-car summary as
  the extra fields ``input_event_count`` and ``excluded_event_count``).
- ``analysis/caar_by_type.csv``: mean CAR (CAAR), mean |CAR|, cross-sectional t statistic and count
  per event type over the included events.
- ``analysis/decision_mapping.csv``: every decision, the event it maps to and how.
- ``analysis/rewards.csv``: the reward rows with every component the reward module reports.
- ``analysis/caar_path.csv``, ``significance_by_type.csv``, ``tau_sweep.csv``, ``ablations.csv``,
  ``constant_policy_check.csv``, ``nav.csv``, ``holding_period_sweep.csv``, ``metrics.csv`` and
  ``skipped.csv``: the research tables of :mod:`janus_core.research` (CAAR through the
  event window and the event-study test statistics, strength threshold, reward ablations and
  hacking check, backtest NAVs of the candidate, baselines and benchmarks, holding-period sweep,
  Sharpe and DA with bootstrap intervals; ``skipped`` names any that could not be computed and why).
- ``evidence-summary.json``: counts, reasons and a few rounded headline numbers
  (:func:`export_summary`; the notebook's ``<name>-summary.json``).
- ``dspy/`` (only with ``dspy_bundle=True``): the lane's DSPy compile/eval/promotion files and
  ``dspy-bundle.json``, in the lane's compact canonical JSON (:mod:`janus_core.evidence.dspy_bundle`); the
  run manifest then has a ``dspy`` section (seed, decision latency, metrics policy and its hash).
- ``run-manifest.json``: input table digests, the dataset's provenance, as-of time, source and
  licence (from its manifest, so the evidence stands without the data folder), the full config and
  its hash, package versions, git commit, SHA-256 of every ``janus_core`` module and notebook, the
  SHA-256 of every other file of the export, and ``self_hash = H(manifest without self_hash)``. Every JSON file is written in one
  canonical byte form (:func:`dumps`), so :func:`janus_core.evidence.verify.verify_evidence` catches any edit
  of any byte.
- ``analysis/rejected_decisions.csv`` (only when a decisions file was read with
  ``decisions_on_invalid="quarantine"`` and rows were rejected): each rejected row with its line and reason.
- ``run-manifest.sig.json`` (only with ``sign_key``): the attestation of ``run-manifest.json``
  (:mod:`janus_core.signing`); not listed in the run manifest it signs.
- ``report.html`` (unless ``report=False``): the reviewer's self-contained report
  (:func:`janus_core.report.render.render_report` for ``report_target``), a view derived from the files
  above; it is rendered last and cannot be listed in the run manifest it shows, so verification
  leaves it out.

Hashing and numbers: ``H`` is the lane's canonical hash (:mod:`janus_core.hashing`); numbers inside
records are decimal strings (``hashing.decimal_str``), counts are integers, ``seq`` stays an integer
identifier (or ``null``); ``manifest_hash = H(records)`` (or ``H(rewards)``). Summaries are computed
from the written strings with exact decimal arithmetic, so a verifier recomputes them bit for bit.

Authority follows the dataset's provenance: ``synthetic_generated`` evidence is never authoritative;
``historical_market_replay`` evidence with complete lineage is ``empirically_validated`` and eligible.

Determinism: ``run_id`` is derived from the config hash and the input digests; ``generated_at`` from
``SOURCE_DATE_EPOCH`` (config field, else environment), else the dataset's as-of time; records are
sorted explicitly. Atomicity: every file is rendered in memory, written to a hidden sibling folder,
the report is rendered from that complete folder, and only then is it renamed into place; an old
``OUT`` is replaced only once the new one is complete, and only when it is an earlier export (or empty):
anything else at ``OUT`` is refused before any computation (:func:`janus_core.evidence.output.check_export_target`).
The run manifest also records the dataset's attestation when it is signed (``dataset.signature``) and
what quarantine left out (``quarantine``, :mod:`janus_core.evidence.quarantine`).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

import janus_core
from janus_core.backtest.overfitting import deflated_sharpe_of_returns, return_moments
from janus_core.data import store
from janus_core.data.dataset import Dataset
from janus_core.data.manifest import DatasetSnapshot, input_digests, load_snapshot
from janus_core.data.store import (
    RunRecord,
    TrialRecord,
    record_trial,
    trial_count,
    trial_sharpe_variance,
)
from janus_core.decide import reward
from janus_core.decide.decisions import load_decisions_checked
from janus_core.decide.dspy_record import DspyProgramRecord, decisions_program_record
from janus_core.decide.latency import (
    LATENCY_COLUMN,
    DecisionLatency,
    latency_from_column,
    not_measured,
    policy_latency,
)
from janus_core.decide.lineage import decisions_model_refs
from janus_core.decide.policies import POLICIES, PolicyConfig, make_decisions
from janus_core.decide.reward import HgrmConfig
from janus_core.evidence import dspy_bundle
from janus_core.evidence.dspy_contract import DspyMetricsPolicy
from janus_core.evidence.gate import TARGETS, evaluate_gate
from janus_core.evidence.output import (
    check_export_target,
    point_latest,
    write_tree_atomically,
)
from janus_core.evidence.quarantine import (
    QUARANTINE_KEY,
    REJECTED_DECISIONS_REF,
    quarantine_record,
    universe_rows_rejected,
)
from janus_core.evidence.records import (
    EvidenceContext,
    EvidenceDocs,
    _csv,
    analysis_tables,
    build_evidence_docs,
    export_summary,
    map_decisions,
)
from janus_core.evidence.schema import (
    EVENT_CAR_REF,
    EVIDENCE_REF,
    HGRM_REWARD_REF,
    RUN_MANIFEST_REF,
    RUN_MANIFEST_SCHEMA,
    SIGNATURE_REF,
    SUMMARY_REF,
    config_json,
    iso_utc,
    stringify_constants,
)
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import H, decimal_str, dumps, sha256_bytes
from janus_core.paths import WorkbenchPaths
from janus_core.provenance import (
    MANIFEST_PACKAGES,
    RUNTIME_PACKAGES,
    generated_at,
    git_commit,
    package_versions,
    repo_root,
    runtime_version_refs,
    source_digests,
)
from janus_core.report.render import render_report
from janus_core.research import AnalysisConfig, research_tables
from janus_core.signing import (
    EVIDENCE_PREDICATE,
    Ed25519PrivateKey,
    attest,
    load_private_key,
)
from janus_core.study.car import CarConfig
from janus_core.study.exclusion import excluded, included
from janus_core.study.labels import LabelConfig, SplitConfig, car_study

# --------------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------------


class ExportConfig(BaseModel):
    """One evidence export. ``car``, ``label``, ``split`` and ``policy`` are the step configs (a mapping
    of overrides is validated into one, unknown fields refused); ``reward`` holds overrides of the
    reward profile's ``HgrmConfig``. The fully resolved configs are written to the run manifest and hashed.
    The evidence covers every event of the dataset (all four chronological splits); the split is
    computed because the ``type_prior`` policy estimates its prior on the historical split.

    ``decisions`` is a baseline policy name (``policies.POLICIES``) or else the path of a decisions
    file (Parquet, CSV or JSON Lines, ``decisions.load_decisions``).
    ``source_date_epoch`` pins ``generated_at`` (else the ``SOURCE_DATE_EPOCH`` environment variable,
    else the dataset's as-of time). ``report`` renders ``report.html`` for the promotion target
    ``report_target``; neither changes the evidence, so neither enters the config hash.
    ``run_folders`` writes the export to ``out_dir/<run_id>/`` and points ``out_dir/latest`` at it
    (``evidence.output.point_latest``), so successive runs sit side by side; without it the export
    is ``out_dir`` itself.
    ``dspy_bundle`` adds the DSPy bundle, evaluated under ``dspy_metrics`` (the gate policy's DSPy
    metrics policy); ``measure_latency`` times a baseline policy's decisions for it
    (:func:`janus_core.decide.latency.policy_latency`: the timings vary run to run, so the bundle, the run
    manifest and the report then do too; the gate files never carry them). These change only the
    bundle, which records them itself (and the run manifest's ``dspy`` section), so they stay out of
    the config hash and the gate files.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = "synthetic-ashare"
    decisions: str = "type_prior"
    #: A decisions file's invalid rows: ``fail`` (the default: any problem stops the export) or
    #: ``quarantine`` (kept out, listed in ``analysis/rejected_decisions.csv``, counted in the run
    #: manifest, and the summary gets ``workbench_universe_rows_quarantined``).
    decisions_on_invalid: Literal["fail", "quarantine"] = "fail"
    candidate_id: str = "janus-q-candidate"
    strategy_id: str | None = None
    reward_profile: Literal["hgrm", "lane_scaffold"] = "hgrm"
    car: CarConfig = Field(default_factory=CarConfig)
    label: LabelConfig = Field(default_factory=LabelConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    #: Overrides of the reward profile's ``HgrmConfig`` (the profile decides the defaults).
    reward: dict[str, float | int | bool | str | None] = Field(default_factory=dict)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    out_dir: Path = Path("out/evidence")
    run_folders: bool = False
    dspy_bundle: bool = False
    dspy_metrics: DspyMetricsPolicy = Field(default_factory=DspyMetricsPolicy)
    measure_latency: bool = False
    source_date_epoch: int | None = None
    #: An Ed25519 private key file (``janus keygen``): the run manifest is attested as
    #: ``run-manifest.sig.json`` (:mod:`janus_core.signing`). Who signs is not part of the config hash.
    sign_key: Path | None = None
    record_run: bool = True
    report: bool = True
    report_target: Literal["shadow", "paper", "live"] = "paper"

    @model_validator(mode="after")
    def _one_trading_cost(self) -> ExportConfig:
        cost = self.label.round_trip_cost_bps
        for where, given in (
            ("reward", self.reward.get("round_trip_cost_bps")),
            ("analysis.backtest", self.analysis.backtest.get("round_trip_cost_bps")),
        ):
            if given is not None and float(given) != cost:
                raise ValueError(
                    f"{where}.round_trip_cost_bps {given} differs from label.round_trip_cost_bps {cost}; "
                    f"rule: one trading cost for labels, reward and backtest (set label's)"
                )
        return self

    @model_validator(mode="after")
    def _latency_needs_a_policy_and_a_bundle(self) -> ExportConfig:
        if self.measure_latency and not self.dspy_bundle:
            raise ValueError("measure_latency: the timings feed only the DSPy bundle; rule: set dspy_bundle too")
        if self.measure_latency and self.decisions not in POLICIES:
            raise ValueError(
                f"measure_latency: decisions {self.decisions!r} come from a file the workbench did not "
                f"compute, so it cannot time them; rule: bring the time per decision as a "
                f"latency_ms column of the decisions file"
            )
        return self


def wall_clock() -> str:
    """The current time, UTC, as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (fixed width, so text order is time
    order): when a run was made, kept out of the evidence, whose ``generated_at`` is reproducible."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _select_strategy(decisions: pl.DataFrame, strategy_id: str | None, source: str) -> pl.DataFrame:
    """The decisions of one strategy: ``strategy_id`` if given, else the only one present (an empty
    table stays empty: its evidence then says ``janus_reward_count_missing``)."""
    present = sorted(decisions["strategy_id"].drop_nulls().unique().to_list())
    if decisions.height == 0:
        return decisions  # no decision at all (e.g. a policy on a study whose every event was excluded)
    if strategy_id is None:
        if len(present) != 1:
            raise ValueError(
                f"{source}: column strategy_id has {len(present)} strategies {present[:10]}; "
                f"rule: exactly one, or pass strategy_id to pick one"
            )
        return decisions
    if strategy_id not in present:
        raise ValueError(f"{source}: column strategy_id has no rows for {strategy_id!r} (present: {present[:10]})")
    return decisions.filter(pl.col("strategy_id") == strategy_id)


def methodology(car_cfg: CarConfig, label_cfg: LabelConfig) -> dict[str, Any]:
    """The event-car ``methodology`` object: the CAR and label configs (every constant as a string)
    under the contract's headings, with the paper references they follow."""
    car_c = stringify_constants(car_cfg.model_dump(mode="json"))
    label_c = stringify_constants(label_cfg.model_dump(mode="json"))
    neutralize = car_c.get("risk_neutralize") == "true"
    return {
        "abnormal_return_model": f"{car_c.get('model')}_model_ols"
        if car_c.get("model") == "market"
        else str(car_c.get("model")),
        "risk_neutralization_model": "cross_sectional_style_industry_regression" if neutralize else "none",
        "estimation_window": car_c.get("estimation_window"),
        "gap": car_c.get("gap"),
        "event_window": car_c.get("event_window"),
        "strength_threshold": decimal_str(label_cfg.effective_tau),
        "neutral_band": label_c.get("neutral_band"),
        "car_config": car_c,
        "label_config": label_c,
        "paper_alignment": [
            "arXiv:2602.19919 Stage I.1: market model OLS over an estimation window ending a gap before the event",
            "arXiv:2602.19919 Stage I.2: risk neutralisation of AR_MM against style-factor exposures",
            "arXiv:2602.19919 Stage I.3: CAR = sum of AR_RM over the event window",
            "arXiv:2602.19919 Stage I.4: labels direction = sign(CAR), strength strong when |CAR| >= tau",
            "arXiv:2602.19919 Stage I.5: point-in-time news cut-off in exchange local time",
        ],
    }


#: The decision seed of a decisions file: the workbench did not run the step that made them.
NO_DECISION_SEED = "none"


class EvidenceInputs(BaseModel):
    """Everything an export renders: the computed tables, the dataset facts and the resolved configs.

    ``resolved`` holds the full configs as JSON (hashed into ``config_hash``); ``tables`` the input
    table digests from the dataset manifest and ``source`` / ``licence`` its statements of where the
    data came from and under which terms (None when it states none); ``decisions_ref`` names the
    decision source (``policy:NAME`` or ``decisions:sha256:HEX``) and ``model_refs`` the model behind a
    decisions file from its lineage (``lineage.decisions_model_refs``; empty without one). ``decision_seed`` and
    ``decision_latency`` describe the step that made the decisions, for the DSPy bundle only, as does
    ``dspy_program``, the compile record of a decisions file written by ``janus decide --optimize dspy``.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    labelled: pl.DataFrame
    mapped: pl.DataFrame
    scored: pl.DataFrame
    dataset_name: str
    dataset_version: str
    provenance: str
    as_of: str
    snapshot_hash: str
    manifest_sha256: str | None
    source: str | None
    licence: str | None
    tables: dict[str, dict[str, Any]]
    resolved: dict[str, Any]
    decisions_ref: str
    model_refs: list[str] = Field(default_factory=list)
    candidate_id: str
    reward_profile: str
    reward_config: dict[str, Any]
    methodology: dict[str, Any]
    research: dict[str, pl.DataFrame] = Field(default_factory=dict)
    #: The run manifest's ``quarantine`` section (:mod:`janus_core.evidence.quarantine`; empty: none).
    quarantine: dict[str, Any] = Field(default_factory=dict)
    #: Rows of a decisions file rejected in quarantine mode (``analysis/rejected_decisions.csv``).
    rejected_decisions: pl.DataFrame | None = None
    #: The dataset's attestation of the manifest that was read (carried into the run manifest).
    dataset_signature: dict[str, Any] | None = None
    decision_seed: str = NO_DECISION_SEED
    decision_latency: DecisionLatency = Field(
        default_factory=lambda: not_measured("no time per decision was recorded for these decisions")
    )
    dspy_program: DspyProgramRecord | None = None


class ResearchRun(BaseModel):
    """One run of the research steps, in order, with everything they produced: the typed result that
    the export, the notebooks and the report consume (in the manner of linearmodels' results).

    - ``dataset``: the loaded snapshot (``dataset.meta.snapshot_hash`` names it);
    - the resolved step configs: ``car``, ``label``, ``split``, ``policy``, ``reward``, ``analysis``;
    - ``labelled``: every input event once, with its CAR, labels and split, or its exclusion reason;
    - ``decisions``: the candidate's decisions (one strategy), from ``decisions_ref``
      (``policy:NAME`` or ``decisions:sha256:HEX``) with ``decision_seed`` / ``decision_latency`` and, for a
      model's decisions file, ``model_refs`` from its lineage (model id, fingerprint, template and fit hashes)
      and ``dspy_program``, the compile record of a compiled DSPy program (its seed is the decision seed);
    - ``mapped``: every decision once, with the event it maps to and how (``mapping_status``);
    - ``scored``: the HGRM reward rows of the mapped decisions;
    - ``research``: the research tables of :mod:`janus_core.research`, keyed by file stem;
    - ``snapshot``, ``quarantine``, ``rejected_decisions``: the one snapshot the dataset was read
      through (so a concurrent re-import cannot mix versions) and what quarantine kept out.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    dataset: Dataset
    car: CarConfig
    label: LabelConfig
    split: SplitConfig
    policy: PolicyConfig
    reward: HgrmConfig
    analysis: AnalysisConfig
    candidate_id: str
    reward_profile: str
    decisions_ref: str
    model_refs: list[str]
    decision_seed: str
    decision_latency: DecisionLatency
    dspy_program: DspyProgramRecord | None = None
    labelled: pl.DataFrame
    decisions: pl.DataFrame
    mapped: pl.DataFrame
    scored: pl.DataFrame
    research: dict[str, pl.DataFrame]
    #: How the dataset was read (one snapshot: the manifest, the bytes hashed and parsed, rejected rows,
    #: its attestation) and what quarantine kept out of this run.
    snapshot: DatasetSnapshot
    quarantine: dict[str, Any] = {}
    rejected_decisions: pl.DataFrame | None = None

    def summary(self) -> dict[str, Any]:
        """Counts and headline numbers of the run, for a notebook's headline or a quick check:
        events in, included and excluded (by reason), decisions mapped, mean reward, and the
        research tables present and skipped."""
        inc = included(self.labelled)
        reasons = excluded(self.labelled).group_by("excluded_reason").len().sort("excluded_reason").rows()
        skipped = self.research.get("skipped")
        return {
            "dataset": self.dataset.name,
            "snapshot_hash": self.dataset.meta.snapshot_hash,
            "provenance": self.dataset.meta.provenance,
            "candidate_id": self.candidate_id,
            "decisions": self.decisions_ref,
            "input_event_count": self.labelled.height,
            "included_event_count": inc.height,
            "excluded_by_reason": {str(k): int(v) for k, v in reasons},
            "decision_count": self.mapped.height,
            "mapped_decision_count": self.scored.height,
            "mean_final_reward": float(self.scored["final_reward"].mean()) if self.scored.height else None,
            "research_tables": sorted(k for k in self.research if k != "skipped"),
            "skipped_tables": dict(skipped.iter_rows()) if skipped is not None else {},
        }

    def resolved_configs(self, cfg: ExportConfig) -> dict[str, Any]:
        """Every config of the run as JSON, the object hashed into ``config_hash``."""
        return {
            "export": config_json(
                cfg.model_dump(
                    exclude={
                        "out_dir",
                        "run_folders",
                        "dspy_bundle",
                        "dspy_metrics",
                        "measure_latency",
                        "source_date_epoch",
                        "sign_key",
                        "record_run",
                        "report",
                        "report_target",
                        "car",
                        "label",
                        "split",
                        "policy",
                    }
                )
            ),
            "car": config_json(self.car),
            "label": config_json(self.label),
            "split": config_json(self.split),
            "reward": config_json(self.reward),
            "policy": config_json(self.policy),
        }


class ExportResult(BaseModel):
    """What an export wrote (the folder, under which run id, the file digests, the evidence
    document and ``summary``, the headline summary written as ``evidence-summary.json``) and the
    research run it was computed from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    out_dir: Path
    run_id: str
    config_hash: str
    files: dict[str, str]
    evidence: dict[str, Any]
    summary: dict[str, Any]
    run: ResearchRun
    #: What was done about temp folders of killed earlier runs (one line each; usually empty).
    notes: list[str] = Field(default_factory=list)


def run_research(cfg: ExportConfig, paths: WorkbenchPaths) -> ResearchRun:
    """Run the research steps of ``cfg`` in order: load the dataset, the event study and labels
    (``labels.car_study``), the candidate's decisions (a baseline policy or a decisions file), their
    mapping to events, the HGRM reward and the research tables."""
    snapshot = load_snapshot(cfg.dataset, paths)
    ds = snapshot.dataset
    base_reward = reward.reward_profile(cfg.reward_profile)
    reward_cfg = type(base_reward).model_validate(
        {**base_reward.model_dump(), "round_trip_cost_bps": cfg.label.round_trip_cost_bps, **cfg.reward}
    )
    labelled = car_study(ds, cfg.car, cfg.label, cfg.split)
    counts: dict[str, int] | None = None
    rejected_decisions: pl.DataFrame | None = None
    if cfg.decisions in POLICIES:
        decisions = make_decisions(cfg.decisions, labelled, cfg.policy)
        decisions_ref, seed, model_refs = f"policy:{cfg.decisions}", str(cfg.policy.seed), []
        program = None
    else:
        check, digest = load_decisions_checked(cfg.decisions, cfg.decisions_on_invalid)
        decisions = check.frame
        counts = {"read": check.rows_read, "accepted": check.frame.height, "rejected": check.rejected.height}
        rejected_decisions = check.rejected if check.rejected.height else None
        decisions_ref = f"decisions:sha256:{digest}"  # the bytes parsed, read once
        program = decisions_program_record(cfg.decisions)
        seed = NO_DECISION_SEED if program is None else program.seed
        model_refs = decisions_model_refs(cfg.decisions, decisions)
    decisions = _select_strategy(decisions, cfg.strategy_id, decisions_ref)
    mapped = map_decisions(decisions, labelled)
    scored = score_mapped(mapped, labelled, lambda d: reward.score(d, labelled, reward_cfg))
    candidate_decisions = mapped.filter(pl.col("mapping_status") == "mapped").drop("decision_index", "mapping_status")
    research = research_tables(
        ds, labelled, candidate_decisions, cfg.candidate_id, reward_cfg, cfg.label, cfg.policy, cfg.car, cfg.analysis
    )
    universe = set(ds.events["symbol"].drop_nulls().to_list())
    if "symbol" in decisions.columns:
        universe |= set(decisions["symbol"].cast(pl.String, strict=False).drop_nulls().to_list())
    run = ResearchRun(
        dataset=ds,
        car=cfg.car,
        label=cfg.label,
        split=cfg.split,
        policy=cfg.policy,
        reward=reward_cfg,
        analysis=cfg.analysis,
        candidate_id=cfg.candidate_id,
        reward_profile=cfg.reward_profile,
        decisions_ref=decisions_ref,
        model_refs=model_refs,
        decision_seed=seed,
        decision_latency=decision_latency(cfg, decisions, labelled, cfg.policy),
        dspy_program=program,
        labelled=labelled,
        decisions=decisions,
        mapped=mapped,
        scored=scored,
        research=research,
        snapshot=snapshot,
        quarantine=quarantine_record(snapshot.manifest, snapshot.rejected, universe, counts),
        rejected_decisions=rejected_decisions,
    )
    overfitting = trials_table(run, cfg, paths)
    return run if overfitting is None else run.model_copy(update={"research": {**research, "overfitting": overfitting}})


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


def evidence_inputs(run: ResearchRun, cfg: ExportConfig, paths: WorkbenchPaths) -> EvidenceInputs:
    """What an export renders from a research run: its tables, the dataset's manifest facts (input
    digests, source, licence) and the resolved configs. A dataset without a snapshot hash gets an
    empty ``dataset_snapshot_ref`` (so its evidence is never eligible)."""
    meta = run.dataset.meta
    manifest, manifest_sha = run.snapshot.manifest, run.snapshot.manifest_sha256
    return EvidenceInputs(
        labelled=run.labelled,
        mapped=run.mapped,
        scored=run.scored,
        dataset_name=meta.name,
        dataset_version=meta.version,
        provenance=meta.provenance,
        as_of=meta.as_of,
        snapshot_hash=meta.snapshot_hash or "",
        manifest_sha256=manifest_sha,
        tables=input_digests(manifest),
        source=_statement(manifest, "source"),
        licence=_statement(manifest, "licence"),
        resolved=run.resolved_configs(cfg),
        decisions_ref=run.decisions_ref,
        model_refs=run.model_refs,
        candidate_id=run.candidate_id,
        reward_profile=run.reward_profile,
        reward_config=reward.reward_config_payload(run.reward),
        methodology=methodology(run.car, run.label),
        research=run.research,
        decision_seed=run.decision_seed,
        decision_latency=run.decision_latency,
        quarantine=run.quarantine,
        dspy_program=run.dspy_program,
        rejected_decisions=run.rejected_decisions,
        dataset_signature=run.snapshot.signature,
    )


def compute_inputs(cfg: ExportConfig, paths: WorkbenchPaths) -> EvidenceInputs:
    """:func:`run_research`, then :func:`evidence_inputs`."""
    return evidence_inputs(run_research(cfg, paths), cfg, paths)


def decision_latency(
    cfg: ExportConfig, decisions: pl.DataFrame, labelled: pl.DataFrame, policy_cfg: PolicyConfig
) -> DecisionLatency:
    """The time per decision for the DSPy bundle (:mod:`janus_core.decide.latency`): a decisions file's
    ``latency_ms`` column, else a policy timed on request (``cfg.measure_latency``), else not
    measured, with the reason. Nothing is read or timed without ``cfg.dspy_bundle``."""
    if not cfg.dspy_bundle:
        return not_measured("no DSPy bundle was requested")
    if LATENCY_COLUMN in decisions.columns:
        return latency_from_column(decisions, cfg.decisions)
    if cfg.measure_latency:
        return policy_latency(cfg.decisions, labelled, policy_cfg)
    if cfg.decisions in POLICIES:
        return not_measured(
            f"policy {cfg.decisions}'s compute time per decision was not measured; export with "
            f"measure_latency (janus export --measure-latency) to time it"
        )
    return not_measured(
        f"the decisions file has no {LATENCY_COLUMN} column: the time per decision was not "
        f"recorded where the decisions were made"
    )


def _statement(manifest: Mapping[str, Any] | None, key: str) -> str | None:
    """A dataset manifest's top-level text statement ``key`` (``source``, ``licence``), or None."""
    value = (manifest or {}).get(key)
    return None if value is None else str(value)


def score_mapped(
    mapped: pl.DataFrame, labelled: pl.DataFrame, scorer: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """Reward rows of the mapped decisions, carrying their ``decision_index``. ``scorer(decisions)``
    returns one row per decision in order (``reward.score``); a row it reports as not mapped is an
    error (the two mappings must agree)."""
    to_score = mapped.filter(pl.col("mapping_status") == "mapped")
    scored = scorer(to_score.drop("decision_index", "mapping_status"))
    if scored.height != to_score.height:
        raise ValueError(
            f"reward rows: {scored.height} rows for {to_score.height} decisions; "
            f"rule: one reward row per decision, in order"
        )
    if "mapped" in scored.columns and not scored["mapped"].all():
        bad = scored.filter(~pl.col("mapped")).row(0, named=True)
        raise ValueError(
            f"reward rows: decision on event {bad['event_id']} mapped here but not by the reward "
            f"({bad.get('unmapped_reason')}); rule: both mappings agree"
        )
    return scored.with_columns(to_score["decision_index"])


def render_export(
    inputs: EvidenceInputs,
    *,
    generated: str,
    dspy: bool,
    dspy_policy: DspyMetricsPolicy | None = None,
    sign_key: Ed25519PrivateKey | None = None,
) -> tuple[dict[str, bytes], dict[str, Any], EvidenceDocs]:
    """All files of an export as bytes (relative path -> bytes, the run manifest last), the run
    manifest object and the three lane documents. With ``dspy`` the DSPy bundle is evaluated under
    ``dspy_policy`` (default: the lane's shipped metrics policy). With ``sign_key`` the run manifest's
    attestation is added as ``run-manifest.sig.json`` (:mod:`janus_core.signing`); a signed dataset's
    attestation is carried in the run manifest as ``dataset.signature``."""
    config_hash = H(inputs.resolved)
    input_digest_hash = H(
        {
            "dataset": inputs.dataset_name,
            "tables": inputs.tables,
            "snapshot_hash": inputs.snapshot_hash,
            "decisions": inputs.decisions_ref,
        }
    )
    run_id = H({"config_hash": config_hash, "input_digest_hash": input_digest_hash})[:24]
    snapshot_ref = (
        f"{inputs.dataset_name}@{inputs.dataset_version}#{inputs.snapshot_hash}" if inputs.snapshot_hash else ""
    )
    ctx = EvidenceContext(
        run_id=run_id,
        generated_at=generated,
        candidate_id=inputs.candidate_id,
        provenance=inputs.provenance,
        dataset_snapshot_ref=snapshot_ref,
        dataset_snapshot_hash=inputs.snapshot_hash,
        config_hash=config_hash,
        input_digest_hash=input_digest_hash,
        runtime_version_refs=runtime_version_refs(),
        model_refs=[
            inputs.decisions_ref,
            *inputs.model_refs,
            f"car:{H(inputs.resolved.get('car'))[:16]}",
            f"reward:{inputs.reward_profile}:{H(inputs.reward_config)[:16]}",
        ],
        methodology=inputs.methodology,
        reward_version=f"{inputs.reward_profile}-v1",
        reward_config=inputs.reward_config,
        quarantined_rows=universe_rows_rejected(inputs.quarantine),
    )
    docs = build_evidence_docs(inputs.labelled, inputs.mapped, inputs.scored, ctx)
    files: dict[str, bytes] = {
        EVENT_CAR_REF: dumps(docs.event_car),
        HGRM_REWARD_REF: dumps(docs.hgrm_reward),
        EVIDENCE_REF: dumps(docs.evidence),
        **analysis_tables(inputs.labelled, inputs.mapped, inputs.scored),
        **{f"analysis/{stem}.csv": _csv(frame) for stem, frame in sorted(inputs.research.items())},
    }
    if inputs.rejected_decisions is not None:
        files[REJECTED_DECISIONS_REF] = _csv(inputs.rejected_decisions)
    files[SUMMARY_REF] = dumps(export_summary(docs, inputs.dataset_name, inputs.decisions_ref, inputs.reward_profile))
    dspy_record: dict[str, Any] | None = None
    if dspy:
        policy = dspy_policy or DspyMetricsPolicy()
        bundle = dspy_bundle.export_bundle(
            docs.event_car,
            docs.hgrm_reward,
            docs.evidence,
            inputs.mapped,
            decisions_ref=inputs.decisions_ref,
            seed=inputs.decision_seed,
            latency=inputs.decision_latency,
            policy=policy,
            created_at=generated,
            program=inputs.dspy_program,
        )
        files.update(dspy_bundle.bundle_files(bundle))
        dspy_record = dspy_bundle.run_record(
            inputs.decision_seed, inputs.decision_latency, policy, inputs.dspy_program
        ).manifest_json()
    root = repo_root()
    run_manifest: dict[str, Any] = {
        "schema_version": RUN_MANIFEST_SCHEMA,
        "run_id": run_id,
        "generated_at": generated,
        "config": inputs.resolved,
        "config_hash": config_hash,
        "dataset": {
            "name": inputs.dataset_name,
            "version": inputs.dataset_version,
            "provenance": inputs.provenance,
            "as_of": inputs.as_of,
            "snapshot_hash": inputs.snapshot_hash,
            "snapshot_ref": snapshot_ref,
            "manifest_sha256": inputs.manifest_sha256,
            "tables": inputs.tables,
            "source": inputs.source,
            "licence": inputs.licence,
            **({"signature": inputs.dataset_signature} if inputs.dataset_signature is not None else {}),
        },
        "decisions_ref": inputs.decisions_ref,
        "input_digest_hash": input_digest_hash,
        "packages": package_versions((*RUNTIME_PACKAGES, *MANIFEST_PACKAGES)),
        "python": platform.python_version(),
        "janus_core_version": janus_core.__version__,
        "git_commit": git_commit(root),
        "sources": source_digests(root),
        "files": {rel: sha256_bytes(data) for rel, data in sorted(files.items())},
    }
    if inputs.quarantine:
        run_manifest[QUARANTINE_KEY] = inputs.quarantine
    if dspy_record is not None:
        run_manifest["dspy"] = dspy_record
    run_manifest["self_hash"] = H(run_manifest)
    files[RUN_MANIFEST_REF] = dumps(run_manifest)
    if sign_key is not None:
        files[SIGNATURE_REF] = dumps(
            attest(
                RUN_MANIFEST_REF,
                sha256_bytes(files[RUN_MANIFEST_REF]),
                EVIDENCE_PREDICATE,
                {
                    "run_id": run_id,
                    "config_hash": config_hash,
                    "dataset_snapshot_ref": snapshot_ref,
                    "candidate_id": inputs.candidate_id,
                },
                sign_key,
            )
        )
    return files, run_manifest, docs


def export(cfg: ExportConfig, paths: WorkbenchPaths) -> ExportResult:
    """Run the research (:func:`run_research`), render (:func:`render_export`) and write the evidence
    folder (``cfg.out_dir``, or ``cfg.out_dir/<run_id>`` with ``cfg.run_folders``) atomically, with its
    review report (``cfg.report``: rendered from the complete temp folder before it is published, the
    input digests checked against the dataset manifest under ``paths``), then append a row to the
    research store's ``runs`` table stamped with the wall-clock time of the export (``cfg.record_run``).
    The result carries the :class:`ResearchRun` it was computed from.

    ``cfg.out_dir`` must be absent, empty or an earlier export (checked before anything is computed and
    again before it is replaced; :func:`janus_core.evidence.output.check_export_target`); with
    ``cfg.run_folders`` that holds for the run's own folder."""
    if not cfg.run_folders:
        check_export_target(cfg.out_dir)
    key = load_private_key(cfg.sign_key) if cfg.sign_key is not None else None
    run = run_research(cfg, paths)
    inputs = evidence_inputs(run, cfg, paths)
    files, run_manifest, docs = render_export(
        inputs,
        generated=generated_at(inputs.as_of, cfg.source_date_epoch),
        dspy=cfg.dspy_bundle,
        dspy_policy=cfg.dspy_metrics,
        sign_key=key,
    )

    written = EvidenceFiles.written(files)  # verify, the gate and the report read these bytes, not the disk

    def render_review_report(folder: Path) -> None:
        render_report(folder, cfg.report_target, paths=paths, publishing=True, files=written)

    out_dir = Path(cfg.out_dir) / run_manifest["run_id"] if cfg.run_folders else Path(cfg.out_dir)
    notes = write_tree_atomically(out_dir, files, render_review_report if cfg.report else None)
    if cfg.run_folders:
        point_latest(Path(cfg.out_dir), run_manifest["run_id"])
    if cfg.record_run:
        record_run(paths, out_dir, run_manifest, docs, created_at=wall_clock(), files=written)
    return ExportResult(
        out_dir=out_dir,
        run_id=run_manifest["run_id"],
        config_hash=run_manifest["config_hash"],
        files={rel: sha256_bytes(data) for rel, data in sorted(files.items())},
        evidence=docs.evidence,
        summary=json.loads(files[SUMMARY_REF]),
        run=run,
        notes=notes,
    )


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
