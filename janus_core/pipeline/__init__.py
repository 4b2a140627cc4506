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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

import janus_core
from janus_core.backtest.memo import release_memos
from janus_core.data.manifest import load_snapshot
from janus_core.decide import reward
from janus_core.decide.decisions import load_decisions_checked
from janus_core.decide.dspy_record import decisions_program_record
from janus_core.decide.lineage import decisions_model_refs
from janus_core.decide.policies import POLICIES, make_decisions
from janus_core.evidence import dspy_bundle
from janus_core.evidence.dspy_contract import DspyMetricsPolicy
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
)
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import H, dumps, sha256_bytes
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline.config import (
    NO_DECISION_SEED,
    ExportConfig,
    _select_strategy,
    decision_latency,
    methodology,
    wall_clock,
)
from janus_core.pipeline.ledger import record_run, run_record, trials_table
from janus_core.pipeline.results import EvidenceInputs, ExportResult, ResearchRun, evidence_inputs
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
from janus_core.report.renderer import start_renderer
from janus_core.research import research_tables
from janus_core.signing import (
    EVIDENCE_PREDICATE,
    Ed25519PrivateKey,
    attest,
    load_private_key,
)
from janus_core.study.labels import car_study
from janus_core.study.panel import release_snapshot

__all__ = [
    "NO_DECISION_SEED",
    "EvidenceInputs",
    "ExportConfig",
    "ExportResult",
    "ResearchRun",
    "_select_strategy",
    "compute_inputs",
    "decision_latency",
    "evidence_inputs",
    "export",
    "methodology",
    "record_run",
    "render_export",
    "run_record",
    "run_research",
    "score_mapped",
    "wall_clock",
    "written_files",
]


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
    release_snapshot(ds)  # the research tables were the panel's last use: free it before the evidence is built
    release_memos()  # and the backtests' last use of the stock days they remembered
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


def compute_inputs(cfg: ExportConfig, paths: WorkbenchPaths) -> EvidenceInputs:
    """:func:`run_research`, then :func:`evidence_inputs`."""
    return evidence_inputs(run_research(cfg, paths), cfg, paths)


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


class RunIdentity(BaseModel):
    """Who a run is: ``config_hash = H(resolved configs)``, ``input_digest_hash = H({dataset, tables,
    snapshot_hash, decisions})``, ``run_id = H({config_hash, input_digest_hash})[:24]`` and the
    dataset snapshot reference ``name@version#snapshot_hash`` (empty without a snapshot hash)."""

    model_config = ConfigDict(frozen=True)

    config_hash: str
    input_digest_hash: str
    run_id: str
    snapshot_ref: str


def run_identity(inputs: EvidenceInputs) -> RunIdentity:
    """The :class:`RunIdentity` of an export's inputs."""
    config_hash = H(inputs.resolved)
    input_digest_hash = H(
        {
            "dataset": inputs.dataset_name,
            "tables": inputs.tables,
            "snapshot_hash": inputs.snapshot_hash,
            "decisions": inputs.decisions_ref,
        }
    )
    return RunIdentity(
        config_hash=config_hash,
        input_digest_hash=input_digest_hash,
        run_id=H({"config_hash": config_hash, "input_digest_hash": input_digest_hash})[:24],
        snapshot_ref=f"{inputs.dataset_name}@{inputs.dataset_version}#{inputs.snapshot_hash}"
        if inputs.snapshot_hash
        else "",
    )


def evidence_context(inputs: EvidenceInputs, ident: RunIdentity, generated: str) -> EvidenceContext:
    """What the lane documents state about the run besides its tables: identity, lineage references
    (the decisions, their model, the CAR config and the reward config), methodology and reward."""
    return EvidenceContext(
        run_id=ident.run_id,
        generated_at=generated,
        candidate_id=inputs.candidate_id,
        provenance=inputs.provenance,
        dataset_snapshot_ref=ident.snapshot_ref,
        dataset_snapshot_hash=inputs.snapshot_hash,
        config_hash=ident.config_hash,
        input_digest_hash=ident.input_digest_hash,
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


def analysis_files(inputs: EvidenceInputs) -> dict[str, bytes]:
    """The analysis and research tables and the rejected decisions (when any), as CSV bytes by
    relative path."""
    files = {
        **analysis_tables(inputs.labelled, inputs.mapped, inputs.scored),
        **{f"analysis/{stem}.csv": _csv(frame) for stem, frame in sorted(inputs.research.items())},
    }
    if inputs.rejected_decisions is not None:
        files[REJECTED_DECISIONS_REF] = _csv(inputs.rejected_decisions)
    return files


def evidence_files(inputs: EvidenceInputs, docs: EvidenceDocs, tables: Mapping[str, bytes]) -> dict[str, bytes]:
    """The gate files, the tables (:func:`analysis_files`) and the headline summary, as bytes by
    relative path."""
    files: dict[str, bytes] = {
        EVENT_CAR_REF: dumps(docs.event_car),
        HGRM_REWARD_REF: dumps(docs.hgrm_reward),
        EVIDENCE_REF: dumps(docs.evidence),
        **tables,
    }
    files[SUMMARY_REF] = dumps(export_summary(docs, inputs.dataset_name, inputs.decisions_ref, inputs.reward_profile))
    return files


def dspy_files(
    inputs: EvidenceInputs, docs: EvidenceDocs, generated: str, policy: DspyMetricsPolicy
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The DSPy bundle's files (evaluated under ``policy``) and the run manifest's ``dspy`` section."""
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
    record = dspy_bundle.run_record(inputs.decision_seed, inputs.decision_latency, policy, inputs.dspy_program)
    return dspy_bundle.bundle_files(bundle), record.manifest_json()


def run_manifest(
    inputs: EvidenceInputs,
    ident: RunIdentity,
    generated: str,
    files: Mapping[str, bytes],
    dspy_record: dict[str, Any] | None,
) -> dict[str, Any]:
    """``run-manifest.json`` (module docstring) over ``files``, sealed with its ``self_hash``."""
    root = repo_root()
    manifest: dict[str, Any] = {
        "schema_version": RUN_MANIFEST_SCHEMA,
        "run_id": ident.run_id,
        "generated_at": generated,
        "config": inputs.resolved,
        "config_hash": ident.config_hash,
        "dataset": {
            "name": inputs.dataset_name,
            "version": inputs.dataset_version,
            "provenance": inputs.provenance,
            "as_of": inputs.as_of,
            "snapshot_hash": inputs.snapshot_hash,
            "snapshot_ref": ident.snapshot_ref,
            "manifest_sha256": inputs.manifest_sha256,
            "tables": inputs.tables,
            "source": inputs.source,
            "licence": inputs.licence,
            **({"signature": inputs.dataset_signature} if inputs.dataset_signature is not None else {}),
        },
        "decisions_ref": inputs.decisions_ref,
        "input_digest_hash": ident.input_digest_hash,
        "packages": package_versions((*RUNTIME_PACKAGES, *MANIFEST_PACKAGES)),
        "python": platform.python_version(),
        "janus_core_version": janus_core.__version__,
        "git_commit": git_commit(root),
        "sources": source_digests(root),
        "files": {rel: sha256_bytes(data) for rel, data in sorted(files.items())},
    }
    if inputs.quarantine:
        manifest[QUARANTINE_KEY] = inputs.quarantine
    if dspy_record is not None:
        manifest["dspy"] = dspy_record
    manifest["self_hash"] = H(manifest)
    return manifest


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
    ident = run_identity(inputs)
    with ThreadPoolExecutor(max_workers=1) as pool:  # polars writes the CSVs while the documents are built
        tables = pool.submit(analysis_files, inputs)
        docs = build_evidence_docs(
            inputs.labelled, inputs.mapped, inputs.scored, evidence_context(inputs, ident, generated)
        )
        files = evidence_files(inputs, docs, tables.result())
    dspy_record: dict[str, Any] | None = None
    if dspy:
        bundle_files, dspy_record = dspy_files(inputs, docs, generated, dspy_policy or DspyMetricsPolicy())
        files.update(bundle_files)
    manifest = run_manifest(inputs, ident, generated, files, dspy_record)
    files[RUN_MANIFEST_REF] = dumps(manifest)
    if sign_key is not None:
        files[SIGNATURE_REF] = dumps(
            attest(
                RUN_MANIFEST_REF,
                sha256_bytes(files[RUN_MANIFEST_REF]),
                EVIDENCE_PREDICATE,
                {
                    "run_id": ident.run_id,
                    "config_hash": ident.config_hash,
                    "dataset_snapshot_ref": ident.snapshot_ref,
                    "candidate_id": inputs.candidate_id,
                },
                sign_key,
            )
        )
    return files, manifest, docs


def written_files(files: dict[str, bytes], manifest: dict[str, Any], docs: EvidenceDocs) -> EvidenceFiles:
    """The files :func:`render_export` returned, as the :class:`EvidenceFiles` verify, the gate and the
    report share: the run manifest's digests were computed from these very bytes objects and the gate
    files are ``dumps`` of ``docs``, so no file is hashed twice and the lane documents are not parsed
    back (:meth:`EvidenceFiles.written`)."""
    documents = {EVENT_CAR_REF: docs.event_car, HGRM_REWARD_REF: docs.hgrm_reward, EVIDENCE_REF: docs.evidence}
    return EvidenceFiles.written(files, manifest["files"], documents)


def export(cfg: ExportConfig, paths: WorkbenchPaths) -> ExportResult:
    """Run the research (:func:`run_research`), render (:func:`render_export`) and write the evidence
    folder (``cfg.out_dir``, or ``cfg.out_dir/<run_id>`` with ``cfg.run_folders``) atomically, with its
    review report (``cfg.report``: rendered from the complete temp folder before it is published, the
    input digests checked against the dataset manifest under ``paths``), then append a row to the
    research store's ``runs`` table stamped with the wall-clock time of the export (``cfg.record_run``).
    The result carries the :class:`ResearchRun` it was computed from, its dataset's prices and
    exposures emptied once the research is done (:meth:`ResearchRun.without_market_tables`).

    ``cfg.out_dir`` must be absent, empty or an earlier export (checked before anything is computed and
    again before it is replaced; :func:`janus_core.evidence.output.check_export_target`); with
    ``cfg.run_folders`` that holds for the run's own folder."""
    if not cfg.run_folders:
        check_export_target(cfg.out_dir)
    key = load_private_key(cfg.sign_key) if cfg.sign_key is not None else None
    if cfg.report:
        start_renderer()  # the report's chart renderer starts on the core the first research steps leave idle
    run = run_research(cfg, paths)
    inputs = evidence_inputs(run, cfg, paths)
    run = run.without_market_tables()  # the research was their last use: freed before the evidence is rendered
    files, run_manifest, docs = render_export(
        inputs,
        generated=generated_at(inputs.as_of, cfg.source_date_epoch),
        dspy=cfg.dspy_bundle,
        dspy_policy=cfg.dspy_metrics,
        sign_key=key,
    )

    written = written_files(files, run_manifest, docs)  # verify, the gate and the report read these, not the disk

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
        files={rel: written.sha256(rel) or "" for rel in sorted(files)},
        evidence=docs.evidence,
        summary=json.loads(files[SUMMARY_REF]),
        run=run,
        contents=files,
        notes=notes,
    )
