"""The DSPy compile/eval bundle of an export: Janus reward metrics carried into prompt-program evaluation.

An export with ``dspy_bundle=True`` writes the lane's four files (:mod:`janus_core.dspy_contract`,
strict schemas, hash chain, canonical bytes) under ``dspy/``: ``dspy/dspy-compile-result.json``,
``dspy/dspy-eval-report.json``, ``dspy/dspy-promotion-record.json`` and ``dspy/dspy-bundle.json``,
and a ``dspy`` section in the run manifest (:class:`DspyRunRecord`: the seed, the decision-latency
record and the metrics policy with its hash), which a verifier needs to recompute the chain.

Compile result (:func:`compile_result_for`)
-------------------------------------------
- A decisions file written by ``janus decide --optimize dspy`` carries the compile record of its
  DSPy program (:class:`janus_core.decide.dspy_record.DspyProgramRecord`, the lineage's ``dspy``;
  the run manifest keeps it as ``dspy.program``). The compile result then names that program:
  ``programName``, ``signatureVersions``, ``optimizer``, ``datasetHash`` (H of the train examples
  it was compiled on) and ``compiledPromptHash`` (H of its compiled prompt) are the record's;
  ``compiledArtifactUri`` is the decisions ref (the file whose lineage holds the compiled prompt);
  the seed is the record's (the draw of its train examples); ``metricBundle`` adds
  ``janus_dspy_compile`` (``DspyProgramRecord.bundle_entry``: optimizer settings, metric, train and
  demo event ids, the decide run's own evaluation, the LM and the DSPy version).
- Any other decision source (a baseline policy or another decisions file) is not compiled by DSPy
  here: ``optimizer`` ``"none"``, ``programName`` the candidate id, ``signatureVersions``
  ``{"janus_event_decision": "v1"}``, compiled prompt ``{candidate_id, decisions: decisions_ref}``,
  ``compiledArtifactUri`` the decisions ref (``policy:NAME`` or ``decisions:sha256:HEX``), and the
  dataset is the event-car records, so ``datasetHash`` equals the event-car ``manifest_hash``. The
  seed (``reproducibilityHash`` input, run manifest ``dspy.seed``) is the seed of the step that
  made the decisions: the baseline policies' ``PolicyConfig.seed`` as a decimal string (only
  ``random`` draws from it), ``"none"`` for a decisions file (``evidence.NO_DECISION_SEED``).
- ``metricBundle``: the Janus metrics under ``janus_*`` keys (both manifest hashes, the event count,
  the reward summary and version, ``janus_evidence_complete`` and ``janus_evidence_reasons`` from
  the companion summary, ``janus_decision_latency`` the :class:`janus_core.latency.DecisionLatency`
  record) and the observed metrics under the lane's keys, each only when it was observed:

  - ``schemaValidRate`` = decisions whose output parsed (``format_ok``) / decisions (all decisions of
    the strategy; absent when the decisions carry no ``format_ok``);
  - ``vetoAlignmentRate``: a veto is a ``hold``; the share of mapped decisions that hold a weak event
    or trade a strong one; ``falseVetoRate``: the share of mapped decisions that hold a strong event
    (both absent with no mapped decision);
  - ``latencyP95Ms`` = ``DecisionLatency.whole_ms()``, only when the latency was measured.

  Rates are JSON floats (integer ratios in floating point, correctly rounded).

Eval report and promotion record
--------------------------------
:func:`janus_core.dspy_contract.evaluate_metrics` applies the export's metrics policy (the gate
policy's ``dspy_metrics``: the lane's thresholds, documented in
:class:`janus_core.dspy_contract.DspyMetricsPolicy`) to the compile result. The eval report carries
its rates, latency, ``gateCompatibility`` and ``promotionRecommendation``; its ``metricBundle`` is
the compile bundle's ``janus_*`` keys, the evaluator's ``observed`` / ``thresholds`` /
``gateChecks`` / ``gateFailures`` / ``deterministicCompatibility``, and the policy itself
(``janus_metrics_policy``, ``janus_metrics_policy_hash``). An unmeasured latency therefore gives
``latencyP95Ms`` = 2**31 - 1 (the lane's own value for a missing latency), ``gateCompatibility``
``fail``, recommendation ``hold`` and ``janus_decision_latency.reason``. The promotion record names
the policy's ``promotion_target`` and is never approved by the workbench (``approved`` false, no
token, ``promotedBy`` ``janus-workbench-export``). Every ``createdAt`` is the export's
``generated_at``.

Verification (:func:`bundle_problems`) parses each file with the strict models, requires its
canonical bytes, recomputes every hash from the parsed values (the seed from the run manifest), and
rebuilds the compile result from the gate files, ``analysis/decision_mapping.csv`` and the run
manifest (with a compile record: its ``compiledPromptHash`` recomputed from the recorded compiled
prompt, and its seed the manifest's), and the eval and promotion records from the parsed compile
result and the recorded policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from janus_core.decide.dspy_record import DspyProgramRecord
from janus_core.decide.latency import DecisionLatency
from janus_core.evidence.dspy_contract import (
    BUNDLE_FILE,
    COMPILE_RESULT_FILE,
    EVAL_REPORT_FILE,
    PROMOTION_RECORD_FILE,
    DspyArtifactBundle,
    DspyCompileResult,
    DspyEvalReport,
    DspyMetricsPolicy,
    DspyPromotionRecord,
    artifact_hash,
    build_bundle,
    build_compile_result,
    build_eval_report,
    build_promotion_record,
    bundle_artifact_hashes,
    compile_result_from_hashes,
    eval_hash,
    evaluate_metrics,
    promotion_hash,
    reproducibility_hash,
)
from janus_core.evidence.jsonio import parse_json_object
from janus_core.evidence.mismatch import Mismatch
from janus_core.evidence.schema import RUN_MANIFEST_REF
from janus_core.hashing import H

DSPY_DIR = "dspy"
COMPILE_REF = f"{DSPY_DIR}/{COMPILE_RESULT_FILE}"
EVAL_REF = f"{DSPY_DIR}/{EVAL_REPORT_FILE}"
PROMOTION_REF = f"{DSPY_DIR}/{PROMOTION_RECORD_FILE}"
BUNDLE_REF = f"{DSPY_DIR}/{BUNDLE_FILE}"
DSPY_REFS: tuple[str, ...] = (COMPILE_REF, EVAL_REF, PROMOTION_REF, BUNDLE_REF)
#: The run manifest's section of the bundle, and the file a verifier rebuilds ``schemaValidRate`` from.
MANIFEST_KEY = "dspy"
DECISION_MAPPING_REF = "analysis/decision_mapping.csv"

PROGRAM_SIGNATURES: dict[str, str] = {"janus_event_decision": "v1"}
OPTIMIZER = "none"
PROMOTED_BY = "janus-workbench-export"


class DspyRunRecord(BaseModel):
    """The run manifest's ``dspy`` section: what a verifier needs besides the files (``program``:
    the compile record of a compiled DSPy program, absent otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: str
    decision_latency: DecisionLatency
    metrics_policy: DspyMetricsPolicy
    metrics_policy_hash: str
    program: DspyProgramRecord | None = None

    def manifest_json(self) -> dict[str, Any]:
        """The section as JSON (no ``program`` key without a compile record)."""
        return self.model_dump(mode="json", exclude={"program"} if self.program is None else None)


def janus_metrics(
    event_doc: Mapping[str, Any], reward_doc: Mapping[str, Any], evidence: Mapping[str, Any], latency: DecisionLatency
) -> dict[str, Any]:
    """The ``janus_*`` keys of the metric bundles (module docstring)."""
    return {
        "janus_event_car_manifest_hash": event_doc["manifest_hash"],
        "janus_hgrm_reward_manifest_hash": reward_doc["manifest_hash"],
        "janus_event_count": event_doc["summary"]["event_count"],
        "janus_reward_summary": dict(reward_doc["summary"]),
        "janus_reward_version": reward_doc["reward_version"],
        "janus_evidence_complete": evidence["evidence_complete"] is True,
        "janus_evidence_reasons": list(evidence["reasons"]),
        "janus_decision_latency": latency.model_dump(mode="json"),
    }


def format_ok_of(mapped: pl.DataFrame) -> list[bool] | None:
    """Per decision, whether its output parsed (``format_ok``); None without that column."""
    return None if "format_ok" not in mapped.columns else [v is True for v in mapped["format_ok"].to_list()]


def decision_rates(
    event_doc: Mapping[str, Any], reward_doc: Mapping[str, Any], format_ok: Sequence[bool] | None
) -> dict[str, float]:
    """The observed rates under the lane's keys, each only when defined (module docstring)."""
    strength = {r["event_id"]: r["strength_label"] for r in event_doc["records"]}
    out: dict[str, float] = {}
    if format_ok is not None and len(format_ok) > 0:
        out["schemaValidRate"] = sum(bool(v) for v in format_ok) / len(format_ok)
    rows = [r for r in reward_doc["rewards"] if r["mapping_status"] == "mapped"]
    if rows:
        aligned = sum((r["action"] == "hold") == (strength[r["event_id"]] == "weak") for r in rows)
        false_veto = sum(r["action"] == "hold" and strength[r["event_id"]] == "strong" for r in rows)
        out["vetoAlignmentRate"] = aligned / len(rows)
        out["falseVetoRate"] = false_veto / len(rows)
    return out


def compile_result_for(
    event_doc: Mapping[str, Any],
    reward_doc: Mapping[str, Any],
    evidence: Mapping[str, Any],
    format_ok: Sequence[bool] | None,
    *,
    decisions_ref: str,
    seed: str,
    latency: DecisionLatency,
    created_at: datetime | str,
    program: DspyProgramRecord | None = None,
) -> DspyCompileResult:
    """The compile result of an export (module docstring); ``program`` is the compile record of
    a compiled DSPy program, whose seed it uses (``seed`` is then ignored)."""
    bundle: dict[str, Any] = {
        **janus_metrics(event_doc, reward_doc, evidence, latency),
        **decision_rates(event_doc, reward_doc, format_ok),
    }
    if latency.measured:
        bundle["latencyP95Ms"] = latency.whole_ms()
    if program is not None:
        bundle["janus_dspy_compile"] = program.bundle_entry()
        return compile_result_from_hashes(
            program_name=program.program_name,
            signature_versions=program.signature_versions,
            optimizer=program.optimizer,
            dataset_hash=program.dataset_hash,
            compiled_prompt_hash=H(program.compiled_prompt),
            compiled_artifact_uri=decisions_ref,
            seed=program.seed,
            metric_bundle=bundle,
            created_at=created_at,
        )
    candidate_id = reward_doc["candidate_id"]
    return build_compile_result(
        program_name=candidate_id,
        signature_versions=PROGRAM_SIGNATURES,
        optimizer=OPTIMIZER,
        dataset=event_doc["records"],
        compiled_prompt={"candidate_id": candidate_id, "decisions": decisions_ref},
        compiled_artifact_uri=decisions_ref,
        seed=seed,
        metric_bundle=bundle,
        created_at=created_at,
    )


def eval_report_for(
    compile_result: DspyCompileResult, policy: DspyMetricsPolicy, created_at: datetime | str
) -> DspyEvalReport:
    """The eval report of ``compile_result`` under ``policy`` (module docstring)."""
    outcome = evaluate_metrics(compile_result, policy)
    bundle = {
        **{k: v for k, v in compile_result.metric_bundle.items() if k.startswith("janus_")},
        **outcome.bundle,
        "janus_metrics_policy": policy.to_json(),
        "janus_metrics_policy_hash": policy.policy_hash(),
    }
    return build_eval_report(
        compile_result=compile_result,
        schema_valid_rate=outcome.schema_valid_rate,
        veto_alignment_rate=outcome.veto_alignment_rate,
        false_veto_rate=outcome.false_veto_rate,
        latency_p95_ms=outcome.latency_p95_ms,
        gate_compatibility=outcome.gate_compatibility,
        promotion_recommendation=outcome.promotion_recommendation,
        metric_bundle=bundle,
        created_at=created_at,
    )


def promotion_record_for(
    eval_report: DspyEvalReport, policy: DspyMetricsPolicy, created_at: datetime | str
) -> DspyPromotionRecord:
    """The workbench's promotion record: the policy's target, never approved."""
    return build_promotion_record(
        eval_report=eval_report,
        promotion_target=policy.promotion_target,
        approved=False,
        approval_token_ref=None,
        promoted_by=PROMOTED_BY,
        created_at=created_at,
    )


def run_record(
    seed: str, latency: DecisionLatency, policy: DspyMetricsPolicy, program: DspyProgramRecord | None = None
) -> DspyRunRecord:
    """The run manifest's ``dspy`` section (the seed is the compile record's when there is one)."""
    return DspyRunRecord(
        seed=program.seed if program is not None else seed,
        decision_latency=latency,
        metrics_policy=policy,
        metrics_policy_hash=policy.policy_hash(),
        program=program,
    )


def export_bundle(
    event_doc: Mapping[str, Any],
    reward_doc: Mapping[str, Any],
    evidence: Mapping[str, Any],
    mapped: pl.DataFrame,
    *,
    decisions_ref: str,
    seed: str,
    latency: DecisionLatency,
    policy: DspyMetricsPolicy,
    created_at: datetime | str,
    program: DspyProgramRecord | None = None,
) -> DspyArtifactBundle:
    """The bundle of an export: compile result, eval report, promotion record and their hashes
    (``program``: the compile record of the decisions' DSPy program, if they have one)."""
    compiled = compile_result_for(
        event_doc,
        reward_doc,
        evidence,
        format_ok_of(mapped),
        decisions_ref=decisions_ref,
        seed=seed,
        latency=latency,
        created_at=created_at,
        program=program,
    )
    report = eval_report_for(compiled, policy, created_at)
    return build_bundle(compiled, report, promotion_record_for(report, policy, created_at))


def bundle_files(bundle: DspyArtifactBundle) -> dict[str, bytes]:
    """The bundle's files in the lane's canonical bytes, keyed by path relative to the output folder
    (no promotion record file for a bundle without one, as the lane writes it)."""
    files = {
        COMPILE_REF: bundle.compile_result.file_bytes(),
        EVAL_REF: bundle.eval_report.file_bytes(),
        BUNDLE_REF: bundle.file_bytes(),
    }
    if bundle.promotion_record is not None:
        files[PROMOTION_REF] = bundle.promotion_record.file_bytes()
    return files


# --------------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------------
def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def _validation_problems(ref: str, exc: ValidationError, prefix: str = "") -> list[Mismatch]:
    return [
        Mismatch(
            ref,
            prefix + (".".join(str(p) for p in err["loc"]) or "file"),
            f"{err['msg']} (found {_short(err.get('input'))})",
        )
        for err in exc.errors()
    ]


def _alias(model: type[BaseModel], field: str) -> str:
    return model.model_fields[field].alias or field


def _compare_models(
    ref: str, recorded: BaseModel, expected: BaseModel, skip: tuple[str, ...], problems: list[Mismatch], what: str
) -> None:
    """Name every field (metric bundle: every key) where ``recorded`` differs from ``expected``."""
    for field in type(recorded).model_fields:
        if field in skip:
            continue
        a, b = getattr(recorded, field), getattr(expected, field)
        name = _alias(type(recorded), field)
        if field == "metric_bundle":
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    problems.append(
                        Mismatch(ref, f"{name}.{key}", f"recorded {_short(a.get(key))}, {what} {_short(b.get(key))}")
                    )
        elif a != b:
            problems.append(Mismatch(ref, name, f"recorded {_short(a)}, {what} {_short(b)}"))


def _format_ok_from_csv(path: Path) -> tuple[list[bool] | None, str | None]:
    """``format_ok`` per decision from the decision mapping table, or why it cannot be read."""
    if not path.is_file():
        return None, "missing"
    try:
        frame = pl.read_csv(path, infer_schema=False)
        if "format_ok" not in frame.columns:
            return None, None
        values = frame.sort(pl.col("decision_index").cast(pl.Int64))["format_ok"].to_list()
    except pl.exceptions.PolarsError as exc:
        return None, f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if any(v not in ("true", "false") for v in values):
        return None, "column format_ok holds a value other than true/false"
    return [v == "true" for v in values], None


def bundle_problems(
    out_dir: Path,
    manifest: Mapping[str, Any],
    event_doc: Mapping[str, Any] | None,
    reward_doc: Mapping[str, Any] | None,
    evidence: Mapping[str, Any] | None,
) -> list[Mismatch]:
    """Every way the bundle in ``out_dir`` breaks the contract, as ``(file, location, rule)``;
    empty when it conforms (module docstring). ``manifest`` is the parsed run manifest; the three
    gate documents, when given, are the source the compile result is rebuilt from."""
    problems: list[Mismatch] = []
    parsed = _parsed_files(out_dir, problems)
    run = _run_record(manifest, problems)
    if len(parsed) < len(DSPY_REFS):
        return problems
    c: DspyCompileResult = parsed[COMPILE_REF]
    r: DspyEvalReport = parsed[EVAL_REF]
    p: DspyPromotionRecord = parsed[PROMOTION_REF]
    b: DspyArtifactBundle = parsed[BUNDLE_REF]
    _hash_problems(c, r, p, b, run, problems)
    if run is not None and event_doc is not None and reward_doc is not None and evidence is not None:
        _rebuilt_problems(out_dir, manifest, event_doc, reward_doc, evidence, run, c, problems)
    if run is not None:
        expected_r = eval_report_for(c, run.metrics_policy, r.created_at)
        _compare_models(EVAL_REF, r, expected_r, HASH_FIELDS, problems, "re-evaluated under the recorded policy")
        expected_p = promotion_record_for(r, run.metrics_policy, p.created_at)
        _compare_models(PROMOTION_REF, p, expected_p, HASH_FIELDS, problems, "expected")
    generated = _utc(manifest.get("generated_at"))
    for ref, model in ((COMPILE_REF, c), (EVAL_REF, r), (PROMOTION_REF, p)):
        if model.created_at != generated:
            text = (
                f"recorded {model.file_object()['createdAt']!r}, the run's "
                f"generated_at is {manifest.get('generated_at')!r}"
            )
            problems.append(Mismatch(ref, "createdAt", text))
    return problems


#: The hash fields a rebuilt file is compared without (each hash is checked on its own).
HASH_FIELDS = ("artifact_hash", "reproducibility_hash", "eval_hash", "promotion_hash")


def _parsed_files(out_dir: Path, problems: list[Mismatch]) -> dict[str, Any]:
    """The bundle's four files parsed by their models; a missing, unparseable, invalid or
    non-canonical file is a problem (and absent from the result when it could not be parsed)."""
    parsed: dict[str, Any] = {}
    for ref, model in (
        (COMPILE_REF, DspyCompileResult),
        (EVAL_REF, DspyEvalReport),
        (PROMOTION_REF, DspyPromotionRecord),
        (BUNDLE_REF, DspyArtifactBundle),
    ):
        path = out_dir / ref
        if not path.is_file():
            problems.append(Mismatch(ref, "file", "missing"))
            continue
        data = path.read_bytes()
        obj, why = parse_json_object(data)
        if obj is None:
            problems.append(Mismatch(ref, "file", why or "not a JSON object"))
            continue
        try:
            parsed[ref] = model.parse(obj)
        except ValidationError as exc:
            problems += _validation_problems(ref, exc)
            continue
        if parsed[ref].file_bytes() != data:
            text = (
                "not the lane's canonical form of the parsed values: json.dumps("
                "sort_keys=True, separators=(',', ':'), ensure_ascii=True) + newline"
            )
            problems.append(Mismatch(ref, "bytes", text))
    return parsed


def _run_record(manifest: Mapping[str, Any], problems: list[Mismatch]) -> DspyRunRecord | None:
    """The run manifest's ``dspy`` section (None when missing or invalid), its policy hash
    recomputed and its seed the compile record's."""
    if MANIFEST_KEY not in manifest:
        problems.append(
            Mismatch(RUN_MANIFEST_REF, MANIFEST_KEY, "missing: the seed and metrics policy of the DSPy bundle")
        )
        return None
    try:
        run = DspyRunRecord.model_validate(manifest[MANIFEST_KEY])
    except ValidationError as exc:
        problems += _validation_problems(RUN_MANIFEST_REF, exc, f"{MANIFEST_KEY}.")
        return None
    if run.metrics_policy_hash != run.metrics_policy.policy_hash():
        text = f"recorded {run.metrics_policy_hash}, recomputed {run.metrics_policy.policy_hash()}"
        problems.append(Mismatch(RUN_MANIFEST_REF, f"{MANIFEST_KEY}.metrics_policy_hash", text))
    if run.program is not None and run.seed != run.program.seed:
        text = f"recorded {run.seed!r}, the compile record's seed is {run.program.seed!r}"
        problems.append(Mismatch(RUN_MANIFEST_REF, f"{MANIFEST_KEY}.seed", text))
    return run


def _hash_problems(
    c: DspyCompileResult,
    r: DspyEvalReport,
    p: DspyPromotionRecord,
    b: DspyArtifactBundle,
    run: DspyRunRecord | None,
    problems: list[Mismatch],
) -> None:
    """Every recorded hash recomputed from the parsed values, and the bundle's embedded files the
    files themselves."""
    hashes: list[tuple[str, str, str, str | None]] = [
        (
            COMPILE_REF,
            "reproducibilityHash",
            c.reproducibility_hash,
            reproducibility_hash(c, run.seed) if run is not None else None,
        ),
        (COMPILE_REF, "artifactHash", c.artifact_hash, artifact_hash(c)),
        (EVAL_REF, "evalHash", r.eval_hash, eval_hash(r)),
        (EVAL_REF, "artifactHash", r.artifact_hash, c.artifact_hash),
        (PROMOTION_REF, "promotionHash", p.promotion_hash, promotion_hash(p)),
        (PROMOTION_REF, "artifactHash", p.artifact_hash, c.artifact_hash),
        (PROMOTION_REF, "evalHash", p.eval_hash, r.eval_hash),
        (BUNDLE_REF, "manifestHash", b.manifest_hash, H(b.artifact_hashes)),
    ]
    for ref, where, recorded, expected in hashes:
        if expected is not None and recorded != expected:
            problems.append(Mismatch(ref, where, f"recorded {recorded}, recomputed {expected} from the parsed values"))
    for key, expected in sorted(bundle_artifact_hashes(c, r, p).items()):
        if b.artifact_hashes.get(key) != expected:
            text = f"recorded {b.artifact_hashes.get(key)}, recomputed {expected} from the files"
            problems.append(Mismatch(BUNDLE_REF, f"artifactHashes.{key}", text))
    for key in sorted(set(b.artifact_hashes) - {"compile_result", "eval_report", "promotion_record"}):
        problems.append(Mismatch(BUNDLE_REF, f"artifactHashes.{key}", "not one of the bundle's files"))
    for where, embedded, file_model in (
        ("compileResult", b.compile_result, c),
        ("evalReport", b.eval_report, r),
        ("promotionRecord", b.promotion_record, p),
    ):
        if embedded != file_model:
            problems.append(Mismatch(BUNDLE_REF, where, "differs from the file it bundles"))


def _rebuilt_problems(
    out_dir: Path,
    manifest: Mapping[str, Any],
    event_doc: Mapping[str, Any],
    reward_doc: Mapping[str, Any],
    evidence: Mapping[str, Any],
    run: DspyRunRecord,
    c: DspyCompileResult,
    problems: list[Mismatch],
) -> None:
    """The compile result rebuilt from the gate files and the decision mapping's ``format_ok``, and
    the timed decisions the reward file's decisions."""
    format_ok, why = _format_ok_from_csv(out_dir / DECISION_MAPPING_REF)
    if why is not None:
        problems.append(Mismatch(DECISION_MAPPING_REF, "format_ok", f"cannot rebuild schemaValidRate: {why}"))
    else:
        try:
            expected_c = compile_result_for(
                event_doc,
                reward_doc,
                evidence,
                format_ok,
                decisions_ref=str(manifest.get("decisions_ref")),
                seed=run.seed,
                latency=run.decision_latency,
                created_at=c.created_at,
                program=run.program,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(Mismatch(COMPILE_REF, "file", f"cannot rebuild from the gate files: {exc!r}"))
        else:
            _compare_models(COMPILE_REF, c, expected_c, HASH_FIELDS, problems, "rebuilt from the gate files")
    summary = reward_doc.get("summary")
    decisions = summary.get("reward_count") if isinstance(summary, dict) else None
    if run.decision_latency.measured and run.decision_latency.samples != decisions:
        text = f"{run.decision_latency.samples} timed decisions, but the reward file has {decisions!r} decisions"
        problems.append(Mismatch(RUN_MANIFEST_REF, f"{MANIFEST_KEY}.decision_latency.samples", text))


def _utc(text: Any) -> datetime | None:
    """An ISO-8601 time (``Z`` or offset) as a datetime, None when it is not one."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
