"""The typed results of the pipeline: :class:`ResearchRun` (the research steps' output),
:class:`EvidenceInputs` (what an export renders) and :class:`ExportResult` (what it wrote)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.dataset import Dataset
from janus_core.data.manifest import DatasetSnapshot, input_digests
from janus_core.decide import reward
from janus_core.decide.dspy_record import DspyProgramRecord
from janus_core.decide.latency import (
    DecisionLatency,
    not_measured,
)
from janus_core.decide.policies import PolicyConfig
from janus_core.decide.reward import HgrmConfig
from janus_core.evidence.schema import (
    config_json,
)
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline.config import NO_DECISION_SEED, ExportConfig, methodology
from janus_core.research import AnalysisConfig
from janus_core.study.car import CarConfig
from janus_core.study.exclusion import excluded, included
from janus_core.study.labels import LabelConfig, SplitConfig


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

    def without_market_tables(self) -> ResearchRun:
        """This run with its dataset's prices and exposures emptied (``Dataset.without_market_tables``,
        in ``dataset`` and ``snapshot`` alike): every table the run produced stays."""
        light = self.dataset.without_market_tables()
        return self.model_copy(update={"dataset": light, "snapshot": replace(self.snapshot, dataset=light)})

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
    research run it was computed from.

    ``run`` holds every table of the research, but its dataset's prices and exposures are emptied
    (:meth:`ResearchRun.without_market_tables`): the export frees them once the research is done, so
    reload the dataset to study it again."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    out_dir: Path
    run_id: str
    config_hash: str
    files: dict[str, str]
    evidence: dict[str, Any]
    summary: dict[str, Any]
    run: ResearchRun
    #: The bytes of every file written (relative path -> bytes; the report, rendered from them, aside):
    #: what a caller verifies or reads without reading the folder back.
    contents: dict[str, bytes] = Field(default_factory=dict)
    #: What was done about temp folders of killed earlier runs (one line each; usually empty).
    notes: list[str] = Field(default_factory=list)


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


def _statement(manifest: Mapping[str, Any] | None, key: str) -> str | None:
    """A dataset manifest's top-level text statement ``key`` (``source``, ``licence``), or None."""
    value = (manifest or {}).get(key)
    return None if value is None else str(value)
