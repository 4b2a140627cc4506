"""The local promotion gate: what the lane will decide about an export's Janus evidence.

``evaluate_gate(out_dir, target, policy)`` mirrors the lane's checks (lane-contract.md) with its
reason codes, each with a detail:

- *Gate 6* (profitability evidence), when the policy requires Janus evidence for the target: reads
  ``gates/janus-q-evidence-v1.json``: ``janus_q_evidence_schema_invalid`` (stops gate 6),
  ``janus_q_evidence_incomplete``, ``janus_event_car_schema_invalid``,
  ``janus_event_car_count_below_threshold``, ``janus_hgrm_reward_schema_invalid``,
  ``janus_hgrm_reward_count_below_threshold``.
- *Promotion prerequisites* (targets paper and live): reads the three files:
  ``required_artifacts_missing``, ``janus_q_evidence_missing``, ``janus_event_car_artifact_missing``,
  ``janus_event_car_schema_invalid``, ``janus_event_car_count_below_minimum``,
  ``janus_hgrm_reward_artifact_missing``, ``janus_hgrm_reward_schema_invalid``,
  ``janus_hgrm_reward_count_below_minimum``, ``janus_event_car_evidence_insufficient``,
  ``janus_hgrm_reward_evidence_insufficient`` (an artifact is not truthful, with the truthfulness
  codes below), ``janus_q_evidence_incomplete``.
- *Truthfulness* of each child artifact: ``artifact_authority_missing``,
  ``artifact_authority_provenance_invalid``, ``artifact_authority_maturity_invalid``,
  ``artifact_authority_not_authoritative``, ``artifact_authority_placeholder``,
  ``promotion_authority_ineligible``, ``lineage_dataset_snapshot_ref_missing``,
  ``lineage_job_run_id_missing``, ``lineage_runtime_version_refs_missing``,
  ``lineage_model_refs_missing``.
- *Live policy*: ``live_rollout_disabled_by_policy`` (``gate5_live_enabled`` false) and
  ``approval_token_missing`` (token required, none given).

The policy also holds the lane's DSPy metrics policy (:class:`janus_core.dspy_contract.DspyMetricsPolicy`:
the thresholds an export's DSPy eval report is judged by, written and hashed into that report and the
run manifest); the gate verdict itself does not read the DSPy bundle.

*Integrity* (the workbench's own fail-closed rule, not a lane code): ``evaluate_gate(...,
integrity_problems=...)`` with any verification problem adds ``workbench_evidence_integrity_failed``
listing them, for every target; ``janus gate`` always verifies first
(:func:`janus_core.evidence.verify.verify_evidence` and the report check) and passes the findings.

The shadow target needs no Janus evidence. A code reached by both gate 6 and the prerequisites is
reported once per stage (the detail names the stage). An artifact ref is resolved under ``out_dir``
only: absolute paths, ``..`` escapes and URLs other than ``file://`` count as missing. Fail closed:
unreadable or malformed files are reported, never skipped.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from janus_core.evidence.dspy_contract import DspyMetricsPolicy
from janus_core.evidence.jsonio import parse_json_object
from janus_core.evidence.schema import (
    EVENT_CAR_REF,
    EVENT_CAR_SCHEMA,
    EVENT_RECORD_FIELDS,
    EVENT_SUMMARY_FIELDS,
    EVIDENCE_REF,
    EVIDENCE_SCHEMA,
    HGRM_REWARD_REF,
    HGRM_REWARD_SCHEMA,
    REWARD_RECORD_FIELDS,
    REWARD_SUMMARY_FIELDS,
)
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import H

Target = Literal["shadow", "paper", "live"]
#: The workbench's own fail-closed reason: the folder did not verify (not a lane code).
REASON_INTEGRITY_FAILED = "workbench_evidence_integrity_failed"
TARGETS: tuple[str, ...] = ("shadow", "paper", "live")
TRUTHFUL_PROVENANCE: tuple[str, ...] = ("historical_market_replay", "paper_runtime_observed", "live_runtime_observed")
TRUTHFUL_MATURITY = "empirically_validated"


class GatePolicy(BaseModel):
    """The lane's promotion policy, defaults as the lane ships them; ``dspy_metrics`` is its DSPy
    metrics policy (judges an export's DSPy eval report, not the gate verdict)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    janus_evidence_required_targets: tuple[str, ...] = ("paper", "live")
    gate6_min_janus_event_count: int = 1
    gate6_min_janus_reward_count: int = 1
    promotion_min_janus_event_count: int = 1
    promotion_min_janus_reward_count: int = 1
    gate5_live_enabled: bool = False
    approval_token_required: bool = True
    dspy_metrics: DspyMetricsPolicy = Field(default_factory=DspyMetricsPolicy)

    @classmethod
    def from_file(cls, path: str | Path) -> "GatePolicy":
        """Load a policy from a JSON object of the fields above (unknown keys are an error)."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the gate policy: {exc.strerror or exc}") from None
        data, why = parse_json_object(raw)
        if data is None:
            raise ValueError(f"{path}: the gate policy must be a JSON object ({why})")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err.get("loc", ())) or "-"
            raise ValueError(
                f"{path}: {where}: {err.get('msg')} (rule: GatePolicy fields only, of their types)"
            ) from None


class GateReason(BaseModel):
    """One reason code of the lane and why it was raised."""

    model_config = ConfigDict(frozen=True)

    code: str
    detail: str


class GateVerdict(BaseModel):
    """The local gate's decision: promotable only when no reason was raised."""

    target: str
    promotable: bool
    reasons: list[GateReason]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "promotable": self.promotable,
            "reasons": [{"code": r.code, "detail": r.detail} for r in self.reasons],
        }


def resolve_artifact_ref(out_dir: Path, ref: Any) -> Path | None:
    """The file an ``artifact_ref`` names inside ``out_dir``; ``None`` for anything the lane rejects
    (not a string, absolute, a URL other than ``file://``, or resolving outside ``out_dir``)."""
    if not isinstance(ref, str) or not ref:
        return None
    parsed = urlparse(ref)
    if parsed.scheme and parsed.scheme != "file":
        return None
    rel = parsed.path if parsed.scheme == "file" else ref
    root = out_dir.resolve()
    candidate = Path(rel) if Path(rel).is_absolute() else root / rel
    try:
        resolved = candidate.resolve()
        resolved.relative_to(root)
    except (OSError, ValueError):
        return None
    return resolved


def _load(out_dir: Path, path: Path | None, files: EvidenceFiles | None) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON object from ``path`` (inside ``out_dir``; from ``files`` when given): ``(obj, None)``, or
    ``(None, why)`` when missing or unreadable."""
    if files is not None:
        return files.json(path.relative_to(out_dir.resolve()).as_posix()) if path is not None else (None, "missing")
    if path is None or not path.is_file():
        return None, "missing"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"not readable ({exc.strerror or exc})"
    return parse_json_object(data)


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def child_schema_problems(doc: dict[str, Any], schema: str, rehash: bool = True) -> list[str]:
    """Why a child artifact (event-car or reward file) breaks its schema; empty when valid.
    Checks the schema version, the top-level fields (authority and lineage are left to
    :func:`truthfulness_reasons`), every record's required fields, the summary count against the
    records and ``manifest_hash == H(records)``, unless ``rehash`` is false: for the export's own
    document (:meth:`EvidenceFiles.own`), whose ``manifest_hash`` the export computed from these very
    records, only that it is present as a string."""
    is_event = schema == EVENT_CAR_SCHEMA
    key = "records" if is_event else "rewards"
    fields = EVENT_RECORD_FIELDS if is_event else REWARD_RECORD_FIELDS
    top = ["schema_version", "run_id", "generated_at", key, "summary", "manifest_hash"]
    top += ["methodology"] if is_event else ["candidate_id", "reward_version", "reward_config"]
    problems: list[str] = []
    if doc.get("schema_version") != schema:
        problems.append(f"schema_version is {doc.get('schema_version')!r}, expected {schema!r}")
    missing = [k for k in top if k not in doc]
    if missing:
        problems.append(f"missing top-level fields {missing}")
    rows = doc.get(key)
    if not isinstance(rows, list):
        problems.append(f"{key} is not a list")
        return problems
    complete = set(map(type, rows)) <= {dict} and all(map(operator.ge, map(dict.keys, rows), repeat(frozenset(fields))))
    for i, row in enumerate([] if complete else rows):  # the first incomplete row, when any
        lacking = [f for f in fields if not isinstance(row, dict) or f not in row]
        if lacking:
            problems.append(f"{key}[{i}] lacks {lacking}")
            break
    summary = doc.get("summary")
    count_key = "event_count" if is_event else "reward_count"
    if not isinstance(summary, dict) or _int(summary.get(count_key)) != len(rows):
        problems.append(f"summary.{count_key} does not equal the {len(rows)} {key}")
    summary_fields = EVENT_SUMMARY_FIELDS if is_event else REWARD_SUMMARY_FIELDS
    absent = [f for f in summary_fields if not isinstance(summary, dict) or f not in summary]
    if absent:
        problems.append(f"summary lacks {absent}")
    if not isinstance(doc.get("manifest_hash"), str) or (rehash and doc["manifest_hash"] != H(rows)):
        problems.append(f"manifest_hash does not equal H({key})")
    return problems


def truthfulness_reasons(doc: dict[str, Any], name: str) -> list[GateReason]:
    """The lane's truthfulness codes for one artifact (empty when it counts for promotion)."""
    out: list[GateReason] = []
    auth = doc.get("artifact_authority")
    if not isinstance(auth, dict):
        out.append(GateReason(code="artifact_authority_missing", detail=f"{name}: no artifact_authority object"))
    else:
        if auth.get("provenance") not in TRUTHFUL_PROVENANCE:
            out.append(
                GateReason(
                    code="artifact_authority_provenance_invalid",
                    detail=f"{name}: provenance {auth.get('provenance')!r} not in {list(TRUTHFUL_PROVENANCE)}",
                )
            )
        if auth.get("maturity") != TRUTHFUL_MATURITY:
            out.append(
                GateReason(
                    code="artifact_authority_maturity_invalid",
                    detail=f"{name}: maturity {auth.get('maturity')!r}, required {TRUTHFUL_MATURITY!r}",
                )
            )
        if auth.get("authoritative") is not True:
            out.append(
                GateReason(
                    code="artifact_authority_not_authoritative",
                    detail=f"{name}: authoritative is {auth.get('authoritative')!r}",
                )
            )
        if auth.get("placeholder") is not False:
            out.append(
                GateReason(
                    code="artifact_authority_placeholder", detail=f"{name}: placeholder is {auth.get('placeholder')!r}"
                )
            )
    if doc.get("promotion_authority_eligible") is not True:
        out.append(
            GateReason(
                code="promotion_authority_ineligible",
                detail=f"{name}: promotion_authority_eligible is {doc.get('promotion_authority_eligible')!r}",
            )
        )
    lineage = doc.get("lineage") if isinstance(doc.get("lineage"), dict) else {}
    checks = (
        ("dataset_snapshot_ref", "lineage_dataset_snapshot_ref_missing", lambda v: isinstance(v, str) and v),
        ("job_run_id", "lineage_job_run_id_missing", lambda v: isinstance(v, str) and v),
        ("runtime_version_refs", "lineage_runtime_version_refs_missing", lambda v: isinstance(v, list) and v),
        ("model_refs", "lineage_model_refs_missing", lambda v: isinstance(v, list) and v),
    )
    for field, code, ok in checks:
        if not ok(lineage.get(field)):
            out.append(GateReason(code=code, detail=f"{name}: lineage.{field} is {lineage.get(field)!r}"))
    return out


def _gate6(summary: dict[str, Any] | None, why: str | None, policy: GatePolicy) -> list[GateReason]:
    """Gate 6's Janus checks over the companion summary."""
    if summary is None or summary.get("schema_version") != EVIDENCE_SCHEMA:
        found = why if summary is None else f"has schema_version {summary.get('schema_version')!r}"
        return [
            GateReason(
                code="janus_q_evidence_schema_invalid",
                detail=f"gate6: {EVIDENCE_REF} {found}, expected {EVIDENCE_SCHEMA!r}",
            )
        ]
    out: list[GateReason] = []
    if summary.get("evidence_complete") is not True:
        out.append(
            GateReason(
                code="janus_q_evidence_incomplete",
                detail=f"gate6: evidence_complete is {summary.get('evidence_complete')!r}, "
                f"reasons {summary.get('reasons')!r}",
            )
        )
    for block, schema, count_key, minimum, prefix in (
        ("event_car", EVENT_CAR_SCHEMA, "event_count", policy.gate6_min_janus_event_count, "janus_event_car"),
        ("hgrm_reward", HGRM_REWARD_SCHEMA, "reward_count", policy.gate6_min_janus_reward_count, "janus_hgrm_reward"),
    ):
        part = summary.get(block)
        if not isinstance(part, dict) or part.get("schema_version") != schema:
            out.append(
                GateReason(code=f"{prefix}_schema_invalid", detail=f"gate6: summary.{block} is not a {schema} block")
            )
            continue
        count = _int(part.get(count_key))
        if count is None or count < minimum:
            out.append(
                GateReason(
                    code=f"{prefix}_count_below_threshold",
                    detail=f"gate6: {block}.{count_key} {part.get(count_key)!r} < gate6 minimum {minimum}",
                )
            )
    return out


def _prerequisites(
    out_dir: Path,
    summary: dict[str, Any] | None,
    why: str | None,
    policy: GatePolicy,
    files: EvidenceFiles | None,
) -> list[GateReason]:
    """The promotion prerequisites' Janus artifact checks (targets paper and live)."""
    out: list[GateReason] = []
    missing_files = [
        ref
        for ref in (EVIDENCE_REF, EVENT_CAR_REF, HGRM_REWARD_REF)
        if not (files.has(ref) if files is not None else (out_dir / ref).is_file())
    ]
    if missing_files:
        out.append(GateReason(code="required_artifacts_missing", detail=f"promotion: missing {missing_files}"))
    if summary is None:
        out.append(GateReason(code="janus_q_evidence_missing", detail=f"promotion: {EVIDENCE_REF} {why}"))
    refs = summary if summary is not None else {}
    for block, default_ref, schema, minimum, prefix in (
        ("event_car", EVENT_CAR_REF, EVENT_CAR_SCHEMA, policy.promotion_min_janus_event_count, "janus_event_car"),
        (
            "hgrm_reward",
            HGRM_REWARD_REF,
            HGRM_REWARD_SCHEMA,
            policy.promotion_min_janus_reward_count,
            "janus_hgrm_reward",
        ),
    ):
        part = refs.get(block) if isinstance(refs.get(block), dict) else {}
        ref = part.get("artifact_ref", default_ref if summary is None else None)
        path = resolve_artifact_ref(out_dir, ref)
        doc, doc_why = _load(out_dir, path, files)
        if doc is None:
            why_missing = doc_why if path else "is not a file under the output folder"
            out.append(
                GateReason(code=f"{prefix}_artifact_missing", detail=f"promotion: artifact_ref {ref!r} {why_missing}")
            )
            continue
        problems = _schema_problems(out_dir, path, doc, schema, files)
        if problems:
            out.append(GateReason(code=f"{prefix}_schema_invalid", detail=f"promotion: {ref}: {'; '.join(problems)}"))
            continue
        key = "records" if schema == EVENT_CAR_SCHEMA else "rewards"
        if len(doc[key]) < minimum:
            out.append(
                GateReason(
                    code=f"{prefix}_count_below_minimum",
                    detail=f"promotion: {ref} has {len(doc[key])} {key} < minimum {minimum}",
                )
            )
        if part.get("manifest_hash") not in (None, doc["manifest_hash"]):
            out.append(
                GateReason(
                    code=f"{prefix}_schema_invalid",
                    detail=f"promotion: summary.{block}.manifest_hash does not match {ref}",
                )
            )
        truth = truthfulness_reasons(doc, ref)
        if truth:
            out.append(
                GateReason(
                    code=f"{prefix}_evidence_insufficient",
                    detail=f"promotion: {ref} is not truthful evidence: {sorted({t.code for t in truth})}",
                )
            )
            out.extend(truth)
    if summary is not None and summary.get("evidence_complete") is not True:
        out.append(
            GateReason(
                code="janus_q_evidence_incomplete",
                detail=f"promotion: evidence_complete is {summary.get('evidence_complete')!r}, "
                f"reasons {summary.get('reasons')!r}",
            )
        )
    return out


def _schema_problems(
    out_dir: Path, path: Path | None, doc: dict[str, Any], schema: str, files: EvidenceFiles | None
) -> list[str]:
    """:func:`child_schema_problems` of the document at ``path``, once per file when ``files`` are
    shared (verify makes the same check)."""
    if files is None or path is None:
        return child_schema_problems(doc, schema)
    rel = path.relative_to(out_dir.resolve()).as_posix()
    return files.memo(
        ("child_schema_problems", rel, schema), lambda: child_schema_problems(doc, schema, not files.own(rel))
    )


def integrity_reason(problems: Sequence[str], listed: int = 20) -> GateReason:
    """The workbench's fail-closed reason for evidence that did not verify, listing the problems."""
    shown = "; ".join(problems[:listed]) + (f"; and {len(problems) - listed} more" if len(problems) > listed else "")
    return GateReason(
        code=REASON_INTEGRITY_FAILED,
        detail=f"integrity: {len(problems)} verification problem(s), so no claim of this folder can be "
        f"trusted: {shown}",
    )


def evaluate_gate(
    out_dir: str | Path,
    target: str,
    policy: GatePolicy | None = None,
    approval_token: str | None = None,
    integrity_problems: Sequence[str] | None = None,
    files: EvidenceFiles | None = None,
) -> GateVerdict:
    """The lane's verdict on the Janus evidence in ``out_dir`` for ``target`` (module docstring).

    ``integrity_problems`` are the findings of verifying the folder first (``verify_evidence``, and the
    report check; ``janus gate`` always does): any problem makes the verdict fail closed, for every
    target, with ``workbench_evidence_integrity_failed`` listing them, ahead of the lane's own codes.
    This module does not verify by itself, so that reading a verdict loads no numerical library.
    ``files`` are the folder's bytes when the caller already holds them (:class:`EvidenceFiles`,
    shared with verify and the report); by default each file is read from disk."""
    if target not in TARGETS:
        raise ValueError(f"target {target!r}: rule: one of {list(TARGETS)}")
    policy = policy or GatePolicy()
    out_dir = Path(out_dir)
    reasons: list[GateReason] = [integrity_reason(list(integrity_problems))] if integrity_problems else []
    if target in policy.janus_evidence_required_targets:
        summary, why = _load(out_dir, out_dir.resolve() / EVIDENCE_REF, files)
        reasons += _gate6(summary, why, policy)
        if target in ("paper", "live"):
            reasons += _prerequisites(out_dir, summary, why, policy, files)
    if target == "live":
        if not policy.gate5_live_enabled:
            reasons.append(
                GateReason(code="live_rollout_disabled_by_policy", detail="live: gate5_live_enabled is false")
            )
        if policy.approval_token_required and not approval_token:
            reasons.append(
                GateReason(
                    code="approval_token_missing", detail="live: an approval token is required and none was given"
                )
            )
    return GateVerdict(target=target, promotable=not reasons, reasons=reasons)
