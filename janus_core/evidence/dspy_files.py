"""The lane's DSPy files: strict models, canonical bytes, the hash chain and the builders
(re-exported by :mod:`janus_core.evidence.dspy_contract`, which adds the metrics policy).

Files (camelCase keys; unknown keys are refused, ``extra="forbid"``)
--------------------------------------------------------------------
- :class:`DspyCompileResult`, ``dspy-compile-result.json``: ``programName`` (string),
  ``signatureVersions`` (object of string to string), ``optimizer`` (string), ``datasetHash``,
  ``compiledPromptHash``, ``artifactHash``, ``reproducibilityHash`` (64 lower-case hex),
  ``metricBundle`` (object), ``compiledArtifactUri`` (string), ``createdAt`` (ISO time with offset).
  No ``seed``: the seed is an input of ``reproducibilityHash`` only (a string, as the lane's builder
  takes it); the workbench records it in the run manifest.
- :class:`DspyEvalReport`, ``dspy-eval-report.json``: ``artifactHash``, ``evalHash``;
  ``schemaValidRate``, ``vetoAlignmentRate``, ``falseVetoRate`` JSON floats in [0, 1] (not strings,
  not integers: the lane hashes the parsed floats, so ``1.0`` is the one written form of one);
  ``latencyP95Ms`` integer >= 0 (required); ``gateCompatibility`` ``pass`` | ``fail``;
  ``promotionRecommendation`` ``hold`` | ``paper`` | ``shadow`` | ``constrained_live`` |
  ``scaled_live``; ``metricBundle``; ``createdAt``.
- :class:`DspyPromotionRecord`, ``dspy-promotion-record.json``: ``artifactHash``, ``evalHash``,
  ``promotionHash``; ``promotionTarget`` ``paper`` | ``shadow`` | ``constrained_live`` |
  ``scaled_live``; ``approved`` (bool); ``approvalTokenRef``, ``promotedBy`` (string or null);
  ``createdAt``.
- :class:`DspyArtifactBundle`, ``dspy-bundle.json``: ``compileResult``, ``evalReport``,
  ``promotionRecord`` (the three file objects), ``artifactHashes`` = {``compile_result``,
  ``eval_report``, ``promotion_record``: H(file object)} and ``manifestHash = H(artifactHashes)``.

Every file is ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\\n"``
(:func:`canonical_bytes`) of the model's JSON dump, so a parsed file re-dumps to the same bytes.

Hash chain (computed from the values as the lane parses them: floats, ints, JSON objects)
-----------------------------------------------------------------------------------------
- ``dataset_hash = H(dataset)``, ``compiled_prompt_hash = H(compiled_prompt)``;
- ``reproducibility_hash = H({program_name, signature_versions, optimizer, dataset_hash,
  compiled_prompt_hash, seed, metric_bundle})``;
- ``artifact_hash = H({program_name, signature_versions, optimizer, dataset_hash,
  compiled_prompt_hash, compiled_artifact_uri, reproducibility_hash})``;
- ``eval_hash = H({artifact_hash, schema_valid_rate, veto_alignment_rate, false_veto_rate,
  latency_p95_ms, gate_compatibility, promotion_recommendation, metric_bundle})``;
- ``promotion_hash = H({artifact_hash, eval_hash, promotion_target, approved, approval_token_ref,
  promoted_by})``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)
from pydantic.alias_generators import to_camel

from janus_core.hashing import H

COMPILE_RESULT_FILE = "dspy-compile-result.json"
EVAL_REPORT_FILE = "dspy-eval-report.json"
PROMOTION_RECORD_FILE = "dspy-promotion-record.json"
BUNDLE_FILE = "dspy-bundle.json"

#: The lane's value for a latency that was not measured (its evaluator's default): fails any maximum.
LATENCY_NOT_MEASURED_MS = 2**31 - 1
METRICS_POLICY_SCHEMA = "torghut.dspy.metrics.v1"

PromotionRecommendation = Literal["hold", "paper", "shadow", "constrained_live", "scaled_live"]
PromotionTarget = Literal["paper", "shadow", "constrained_live", "scaled_live"]
GateCompatibility = Literal["pass", "fail"]


def _float_only(value: Any) -> Any:
    """A rate is a JSON float: ``int`` (and ``bool``) inputs are refused, not converted."""
    if type(value) is not float:
        raise ValueError(f"must be a JSON float (e.g. 1.0), got {type(value).__name__} {value!r}")
    return value


Sha256Hex = Annotated[str, Strict(), StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Rate = Annotated[float, BeforeValidator(_float_only), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
LatencyMs = Annotated[int, Strict(), Field(ge=0)]
StrictText = Annotated[str, Strict()]
JsonObject = Annotated[dict[str, Any], Strict()]


def canonical_bytes(obj: Any) -> bytes:
    """The lane's file form: ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=True) + "\\n"`` as UTF-8."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False) + "\n").encode(
        "utf-8"
    )


def as_parsed(obj: Any) -> Any:
    """``obj`` as the lane reads it back from its file: ``json.loads(json.dumps(obj))`` (tuples become
    lists; floats survive exactly, ``repr`` round-trips)."""
    return json.loads(json.dumps(obj, allow_nan=False))


class _ContractModel(BaseModel):
    """Strict file model: camelCase aliases (``to_camel`` of each field name), unknown keys refused,
    immutable. Files are parsed by alias only (:meth:`parse`); code may build by field name."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )

    @classmethod
    def parse(cls, obj: Any) -> Self:
        """Validate a parsed file object (camelCase keys only)."""
        return cls.model_validate(obj, by_alias=True, by_name=False)

    def file_object(self) -> dict[str, Any]:
        """The file's JSON object (camelCase keys)."""
        return self.model_dump(mode="json", by_alias=True)

    def file_bytes(self) -> bytes:
        """The file's bytes (:func:`canonical_bytes`)."""
        return canonical_bytes(self.file_object())


class DspyCompileResult(_ContractModel):
    """``dspy-compile-result.json``."""

    program_name: StrictText
    signature_versions: dict[str, StrictText]
    optimizer: StrictText
    dataset_hash: Sha256Hex
    metric_bundle: JsonObject
    compiled_prompt_hash: Sha256Hex
    compiled_artifact_uri: StrictText
    artifact_hash: Sha256Hex
    reproducibility_hash: Sha256Hex
    created_at: AwareDatetime


class DspyEvalReport(_ContractModel):
    """``dspy-eval-report.json``."""

    artifact_hash: Sha256Hex
    schema_valid_rate: Rate
    veto_alignment_rate: Rate
    false_veto_rate: Rate
    latency_p95_ms: LatencyMs
    gate_compatibility: GateCompatibility
    promotion_recommendation: PromotionRecommendation
    metric_bundle: JsonObject
    eval_hash: Sha256Hex
    created_at: AwareDatetime


class DspyPromotionRecord(_ContractModel):
    """``dspy-promotion-record.json``."""

    artifact_hash: Sha256Hex
    eval_hash: Sha256Hex
    promotion_target: PromotionTarget
    approved: Annotated[bool, Strict()]
    approval_token_ref: StrictText | None
    promoted_by: StrictText | None
    promotion_hash: Sha256Hex
    created_at: AwareDatetime


class DspyArtifactBundle(_ContractModel):
    """``dspy-bundle.json``: the three files and their hashes."""

    compile_result: DspyCompileResult
    eval_report: DspyEvalReport
    promotion_record: DspyPromotionRecord | None
    manifest_hash: Sha256Hex
    artifact_hashes: dict[str, Sha256Hex]


# --------------------------------------------------------------------------------------------------
# The hash chain, from parsed values
# --------------------------------------------------------------------------------------------------
def _compiled_program(c: DspyCompileResult) -> dict[str, Any]:
    """The fields both compile hashes start from: program, signatures, optimizer, dataset and
    compiled prompt hashes."""
    return {
        "program_name": c.program_name,
        "signature_versions": dict(c.signature_versions),
        "optimizer": c.optimizer,
        "dataset_hash": c.dataset_hash,
        "compiled_prompt_hash": c.compiled_prompt_hash,
    }


def reproducibility_hash(c: DspyCompileResult, seed: str) -> str:
    """``H({program_name, signature_versions, optimizer, dataset_hash, compiled_prompt_hash, seed,
    metric_bundle})``."""
    return H({**_compiled_program(c), "seed": seed, "metric_bundle": dict(c.metric_bundle)})


def artifact_hash(c: DspyCompileResult) -> str:
    """``H({program_name, signature_versions, optimizer, dataset_hash, compiled_prompt_hash,
    compiled_artifact_uri, reproducibility_hash})`` with the recorded reproducibility hash (as the
    lane's evaluator recomputes it)."""
    return H(
        {
            **_compiled_program(c),
            "compiled_artifact_uri": c.compiled_artifact_uri,
            "reproducibility_hash": c.reproducibility_hash,
        }
    )


def eval_hash(r: DspyEvalReport) -> str:
    """``H({artifact_hash, schema_valid_rate, veto_alignment_rate, false_veto_rate, latency_p95_ms,
    gate_compatibility, promotion_recommendation, metric_bundle})``."""
    return H(
        {
            "artifact_hash": r.artifact_hash,
            "schema_valid_rate": r.schema_valid_rate,
            "veto_alignment_rate": r.veto_alignment_rate,
            "false_veto_rate": r.false_veto_rate,
            "latency_p95_ms": r.latency_p95_ms,
            "gate_compatibility": r.gate_compatibility,
            "promotion_recommendation": r.promotion_recommendation,
            "metric_bundle": dict(r.metric_bundle),
        }
    )


def promotion_hash(p: DspyPromotionRecord) -> str:
    """``H({artifact_hash, eval_hash, promotion_target, approved, approval_token_ref, promoted_by})``."""
    return H(
        {
            "artifact_hash": p.artifact_hash,
            "eval_hash": p.eval_hash,
            "promotion_target": p.promotion_target,
            "approved": p.approved,
            "approval_token_ref": p.approval_token_ref,
            "promoted_by": p.promoted_by,
        }
    )


def bundle_artifact_hashes(c: DspyCompileResult, r: DspyEvalReport, p: DspyPromotionRecord | None) -> dict[str, str]:
    """``artifactHashes`` of the bundle: H of each file object (no promotion entry without a record)."""
    out = {"compile_result": H(c.file_object()), "eval_report": H(r.file_object())}
    if p is not None:
        out["promotion_record"] = H(p.file_object())
    return out


# --------------------------------------------------------------------------------------------------
# Builders (the lane's build_* functions)
# --------------------------------------------------------------------------------------------------
def build_compile_result(
    *,
    program_name: str,
    signature_versions: Mapping[str, str],
    optimizer: str,
    dataset: Any,
    compiled_prompt: Any,
    compiled_artifact_uri: str,
    seed: str,
    metric_bundle: Mapping[str, Any],
    created_at: datetime | str,
) -> DspyCompileResult:
    """A compile result with ``dataset_hash = H(dataset)``, ``compiled_prompt_hash =
    H(compiled_prompt)`` and its two hashes over the metric bundle as the lane parses it."""
    return compile_result_from_hashes(
        program_name=program_name,
        signature_versions=signature_versions,
        optimizer=optimizer,
        dataset_hash=H(as_parsed(dataset)),
        compiled_prompt_hash=H(as_parsed(compiled_prompt)),
        compiled_artifact_uri=compiled_artifact_uri,
        seed=seed,
        metric_bundle=metric_bundle,
        created_at=created_at,
    )


def compile_result_from_hashes(
    *,
    program_name: str,
    signature_versions: Mapping[str, str],
    optimizer: str,
    dataset_hash: str,
    compiled_prompt_hash: str,
    compiled_artifact_uri: str,
    seed: str,
    metric_bundle: Mapping[str, Any],
    created_at: datetime | str,
) -> DspyCompileResult:
    """:func:`build_compile_result` for a dataset and a compiled prompt given by their
    hashes (the compile ran where the dataset was; the export has its hash): the same chain,
    ``reproducibilityHash`` then ``artifactHash`` over the metric bundle as the lane parses it."""
    c = DspyCompileResult(
        program_name=program_name,
        signature_versions=dict(signature_versions),
        optimizer=optimizer,
        dataset_hash=dataset_hash,
        metric_bundle=as_parsed(dict(metric_bundle)),
        compiled_prompt_hash=compiled_prompt_hash,
        compiled_artifact_uri=compiled_artifact_uri,
        artifact_hash="0" * 64,
        reproducibility_hash="0" * 64,
        created_at=created_at,
    )
    c = c.model_copy(update={"reproducibility_hash": reproducibility_hash(c, seed)})
    return c.model_copy(update={"artifact_hash": artifact_hash(c)})


def build_eval_report(
    *,
    compile_result: DspyCompileResult,
    schema_valid_rate: float,
    veto_alignment_rate: float,
    false_veto_rate: float,
    latency_p95_ms: int,
    gate_compatibility: str,
    promotion_recommendation: str,
    metric_bundle: Mapping[str, Any],
    created_at: datetime | str,
) -> DspyEvalReport:
    """An eval report for ``compile_result`` with its ``eval_hash`` over the validated values."""
    r = DspyEvalReport(
        artifact_hash=compile_result.artifact_hash,
        schema_valid_rate=schema_valid_rate,
        veto_alignment_rate=veto_alignment_rate,
        false_veto_rate=false_veto_rate,
        latency_p95_ms=latency_p95_ms,
        gate_compatibility=gate_compatibility,
        promotion_recommendation=promotion_recommendation,
        metric_bundle=as_parsed(dict(metric_bundle)),
        eval_hash="0" * 64,
        created_at=created_at,
    )
    return r.model_copy(update={"eval_hash": eval_hash(r)})


def build_promotion_record(
    *,
    eval_report: DspyEvalReport,
    promotion_target: str,
    approved: bool,
    approval_token_ref: str | None,
    promoted_by: str | None,
    created_at: datetime | str,
) -> DspyPromotionRecord:
    """A promotion record for ``eval_report`` with its ``promotion_hash``."""
    p = DspyPromotionRecord(
        artifact_hash=eval_report.artifact_hash,
        eval_hash=eval_report.eval_hash,
        promotion_target=promotion_target,
        approved=approved,
        approval_token_ref=approval_token_ref,
        promoted_by=promoted_by,
        promotion_hash="0" * 64,
        created_at=created_at,
    )
    return p.model_copy(update={"promotion_hash": promotion_hash(p)})


def build_bundle(c: DspyCompileResult, r: DspyEvalReport, p: DspyPromotionRecord | None) -> DspyArtifactBundle:
    """``dspy-bundle.json``: the three files, ``artifactHashes`` and ``manifestHash = H(artifactHashes)``."""
    hashes = bundle_artifact_hashes(c, r, p)
    return DspyArtifactBundle(
        compile_result=c, eval_report=r, promotion_record=p, artifact_hashes=hashes, manifest_hash=H(hashes)
    )
