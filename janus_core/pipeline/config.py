"""The export's configuration (:class:`ExportConfig`) and what an export derives from it before any
computation: the candidate's strategy, the event-car ``methodology`` object, the time per decision."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.decide.latency import (
    LATENCY_COLUMN,
    DecisionLatency,
    latency_from_column,
    not_measured,
    policy_latency,
)
from janus_core.decide.policies import POLICIES, PolicyConfig
from janus_core.evidence.dspy_contract import DspyMetricsPolicy
from janus_core.evidence.schema import (
    stringify_constants,
)
from janus_core.hashing import decimal_str
from janus_core.research import AnalysisConfig
from janus_core.study.car import CarConfig
from janus_core.study.labels import LabelConfig, SplitConfig


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
