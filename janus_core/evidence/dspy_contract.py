"""The lane's DSPy compile/eval/promotion contract: strict models, hash chain and metrics policy.

Restated from lane-contract.md ("DSPy compile/eval hash chain") and the lane's own ``dspy_compile``
schemas, builders and evaluator. ``H`` is the canonical hash (:func:`janus_core.hashing.H`).

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

Metrics policy and evaluation (the lane's evaluator, :func:`evaluate_metrics`)
------------------------------------------------------------------------------
:class:`DspyMetricsPolicy` is the lane's ``dspy-metrics.yaml`` policy with its shipped values:
``schemaValidRateMin`` 0.995, ``vetoAlignmentRateMinDelta`` 0.02 (over a baseline of 0),
``falseVetoRateMax`` 0.03, ``latencyP95MsMax`` 1800, the four reproducibility keys, and
``promotion.defaultRecommendation`` ``hold``. The observed metrics are read from the compile
result's ``metricBundle`` (``schemaValidRate``, ``vetoAlignmentRate``, ``falseVetoRate``,
``fallbackRate``, ``latencyP95Ms``); like the lane, a missing one is listed in
``missingMetricKeys`` and takes a failing value (0 for the first two, 1 for the false-veto rate,
the false-veto rate for the fallback rate, ``LATENCY_NOT_MEASURED_MS`` = 2**31 - 1 for the latency).
Each threshold gives a check (a missing threshold fails it); ``deterministicCompatibility`` checks
the required keys are present and ``artifactHash`` recomputes. The workbench adds two fail-closed
checks the lane's defaults cannot be configured away from: ``latencyMeasured`` (an unmeasured
latency never passes, whatever the threshold) and, unless the policy turns it off,
``janusEvidenceComplete`` (the compile bundle's ``janus_evidence_complete``). ``gateCompatibility``
is ``pass`` only when every check passes; the recommendation is then the policy's
``default_recommendation`` if it is ``hold`` or an allowed target, and ``hold`` in every other case.
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
    """Strict file model: camelCase aliases, unknown keys refused, immutable. Files are parsed by
    alias only (:meth:`parse`); code may build by field name."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)

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

    program_name: StrictText = Field(alias="programName")
    signature_versions: dict[str, StrictText] = Field(alias="signatureVersions")
    optimizer: StrictText
    dataset_hash: Sha256Hex = Field(alias="datasetHash")
    metric_bundle: JsonObject = Field(alias="metricBundle")
    compiled_prompt_hash: Sha256Hex = Field(alias="compiledPromptHash")
    compiled_artifact_uri: StrictText = Field(alias="compiledArtifactUri")
    artifact_hash: Sha256Hex = Field(alias="artifactHash")
    reproducibility_hash: Sha256Hex = Field(alias="reproducibilityHash")
    created_at: AwareDatetime = Field(alias="createdAt")


class DspyEvalReport(_ContractModel):
    """``dspy-eval-report.json``."""

    artifact_hash: Sha256Hex = Field(alias="artifactHash")
    schema_valid_rate: Rate = Field(alias="schemaValidRate")
    veto_alignment_rate: Rate = Field(alias="vetoAlignmentRate")
    false_veto_rate: Rate = Field(alias="falseVetoRate")
    latency_p95_ms: LatencyMs = Field(alias="latencyP95Ms")
    gate_compatibility: GateCompatibility = Field(alias="gateCompatibility")
    promotion_recommendation: PromotionRecommendation = Field(alias="promotionRecommendation")
    metric_bundle: JsonObject = Field(alias="metricBundle")
    eval_hash: Sha256Hex = Field(alias="evalHash")
    created_at: AwareDatetime = Field(alias="createdAt")


class DspyPromotionRecord(_ContractModel):
    """``dspy-promotion-record.json``."""

    artifact_hash: Sha256Hex = Field(alias="artifactHash")
    eval_hash: Sha256Hex = Field(alias="evalHash")
    promotion_target: PromotionTarget = Field(alias="promotionTarget")
    approved: Annotated[bool, Strict()]
    approval_token_ref: StrictText | None = Field(alias="approvalTokenRef")
    promoted_by: StrictText | None = Field(alias="promotedBy")
    promotion_hash: Sha256Hex = Field(alias="promotionHash")
    created_at: AwareDatetime = Field(alias="createdAt")


class DspyArtifactBundle(_ContractModel):
    """``dspy-bundle.json``: the three files and their hashes."""

    compile_result: DspyCompileResult = Field(alias="compileResult")
    eval_report: DspyEvalReport = Field(alias="evalReport")
    promotion_record: DspyPromotionRecord | None = Field(alias="promotionRecord")
    manifest_hash: Sha256Hex = Field(alias="manifestHash")
    artifact_hashes: dict[str, Sha256Hex] = Field(alias="artifactHashes")


# --------------------------------------------------------------------------------------------------
# The hash chain, from parsed values
# --------------------------------------------------------------------------------------------------
def reproducibility_hash(c: DspyCompileResult, seed: str) -> str:
    """``H({program_name, signature_versions, optimizer, dataset_hash, compiled_prompt_hash, seed,
    metric_bundle})``."""
    return H(
        {
            "program_name": c.program_name,
            "signature_versions": dict(c.signature_versions),
            "optimizer": c.optimizer,
            "dataset_hash": c.dataset_hash,
            "compiled_prompt_hash": c.compiled_prompt_hash,
            "seed": seed,
            "metric_bundle": dict(c.metric_bundle),
        }
    )


def artifact_hash(c: DspyCompileResult) -> str:
    """``H({program_name, signature_versions, optimizer, dataset_hash, compiled_prompt_hash,
    compiled_artifact_uri, reproducibility_hash})`` with the recorded reproducibility hash (as the
    lane's evaluator recomputes it)."""
    return H(
        {
            "program_name": c.program_name,
            "signature_versions": dict(c.signature_versions),
            "optimizer": c.optimizer,
            "dataset_hash": c.dataset_hash,
            "compiled_prompt_hash": c.compiled_prompt_hash,
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
    c = DspyCompileResult(
        program_name=program_name,
        signature_versions=dict(signature_versions),
        optimizer=optimizer,
        dataset_hash=H(as_parsed(dataset)),
        metric_bundle=as_parsed(dict(metric_bundle)),
        compiled_prompt_hash=H(as_parsed(compiled_prompt)),
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


# --------------------------------------------------------------------------------------------------
# The metrics policy and the lane's evaluator
# --------------------------------------------------------------------------------------------------
REPRODUCIBILITY_KEYS: tuple[str, ...] = (
    "dataset_hash",
    "compiled_prompt_hash",
    "artifact_hash",
    "reproducibility_hash",
)


class DspyMetricsPolicy(BaseModel):
    """The lane's DSPy metrics policy (``dspy-metrics.yaml``, ``policy``), its shipped values as
    defaults, plus two workbench fields. ``None`` for a threshold means the policy sets none, which
    fails that check (as in the lane). Held in :class:`janus_core.gate.GatePolicy` and hashed into
    every eval report (``metricBundle.janus_metrics_policy`` and ``_hash``) and the run manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal["torghut.dspy.metrics.v1"] = METRICS_POLICY_SCHEMA
    schema_valid_rate_min: float | None = Field(
        0.995,
        ge=0.0,
        le=1.0,
        description=("Minimum share of decisions whose output parsed in the structured format (lane: 0.995)."),
    )
    veto_alignment_rate_min: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description=("Minimum veto-alignment rate; when None, baseline + veto_alignment_rate_min_delta (lane: unset)."),
    )
    veto_alignment_rate_min_delta: float | None = Field(
        0.02, description=("Required gain of the veto-alignment rate over the baseline (lane: 0.02).")
    )
    baseline_veto_alignment_rate: float | None = Field(
        None, ge=0.0, le=1.0, description=("Baseline the delta is added to; None counts as 0 (lane: unset).")
    )
    false_veto_rate_max: float | None = Field(
        0.03,
        ge=0.0,
        le=1.0,
        description=("Maximum share of mapped decisions that hold (veto) a strong event (lane: 0.03)."),
    )
    fallback_rate_max: float | None = Field(
        None, ge=0.0, le=1.0, description=("Maximum fallback rate; None uses false_veto_rate_max (lane: unset).")
    )
    latency_p95_ms_max: int | None = Field(
        1800, ge=0, description=("Maximum p95 time per decision in whole milliseconds (lane: 1800).")
    )
    required_keys: tuple[str, ...] = Field(
        REPRODUCIBILITY_KEYS,
        min_length=1,
        description=(
            "Compile-result fields that must be present for deterministic compatibility (lane: the four hashes)."
        ),
    )
    default_recommendation: PromotionRecommendation = Field(
        "hold", description=("Recommendation of an eval that passes every check, if an allowed target (lane: hold).")
    )
    allowed_targets: tuple[PromotionTarget, ...] = Field(
        ("paper", "shadow", "constrained_live", "scaled_live"), min_length=1
    )
    require_janus_evidence_complete: bool = Field(
        True, description=("Workbench: the eval passes only when the Janus gate evidence is complete.")
    )
    promotion_target: PromotionTarget = Field(
        "paper", description=("Workbench: the target the promotion record names (the workbench never approves it).")
    )

    def to_json(self) -> dict[str, Any]:
        """The policy as a JSON object (numbers as JSON numbers, as in the lane's snapshot)."""
        return as_parsed(self.model_dump(mode="json"))

    def policy_hash(self) -> str:
        """``H(to_json())``."""
        return H(self.to_json())


#: Compile ``metricBundle`` keys of the observed metrics, the failing value the lane's evaluator
#: gives each when it is missing.
OBSERVED_DEFAULTS: dict[str, float] = {"schemaValidRate": 0.0, "vetoAlignmentRate": 0.0, "falseVetoRate": 1.0}


class EvalOutcome(BaseModel):
    """The evaluator's result: the eval report's fields and the lane-style parts of its metric bundle."""

    model_config = ConfigDict(frozen=True)

    schema_valid_rate: float
    veto_alignment_rate: float
    false_veto_rate: float
    latency_p95_ms: int
    gate_compatibility: GateCompatibility
    promotion_recommendation: PromotionRecommendation
    bundle: dict[str, Any]


def _number(bundle: Mapping[str, Any], key: str) -> float | None:
    value = bundle.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _check(value: float, threshold: float | None, comparator: str, name: str, failures: list[str]) -> bool:
    """The lane's ``_check_threshold``: a missing threshold fails (``<name>_threshold_missing``)."""
    if threshold is None:
        failures.append(f"{name}_threshold_missing")
        return False
    passed = value >= threshold if comparator == ">=" else value <= threshold
    if not passed:
        failures.append(f"{name}_below_min" if comparator == ">=" else f"{name}_above_max")
    return passed


def evaluate_metrics(compile_result: DspyCompileResult, policy: DspyMetricsPolicy) -> EvalOutcome:
    """Evaluate a compile result's observed metrics against ``policy`` (module docstring).

    Rates are clamped to [0, 1] and the latency rounded to an int >= 0, as the lane reads them.
    ``bundle`` holds ``observed``, ``thresholds``, ``gateChecks``, ``gateFailures`` (sorted),
    ``deterministicCompatibility`` and ``compileMetricBundleHash = H(compile metric bundle)``."""
    mb = compile_result.metric_bundle
    missing: list[str] = []
    rates: dict[str, float] = {}
    for key, default in OBSERVED_DEFAULTS.items():
        value = _number(mb, key)
        if value is None:
            missing.append(key)
            value = default
        rates[key] = min(max(value, 0.0), 1.0)
    fallback = _number(mb, "fallbackRate")
    if fallback is None:
        missing.append("fallbackRate")
        fallback = rates["falseVetoRate"]
    fallback = min(max(fallback, 0.0), 1.0)
    latency_raw = _number(mb, "latencyP95Ms")
    if latency_raw is None:
        missing.append("latencyP95Ms")
        latency = LATENCY_NOT_MEASURED_MS
    else:
        latency = max(int(round(latency_raw)), 0)

    veto_min = policy.veto_alignment_rate_min
    if veto_min is None and policy.veto_alignment_rate_min_delta is not None:
        veto_min = min(
            max((policy.baseline_veto_alignment_rate or 0.0) + policy.veto_alignment_rate_min_delta, 0.0), 1.0
        )
    fallback_max = policy.fallback_rate_max if policy.fallback_rate_max is not None else policy.false_veto_rate_max
    threshold_failures: list[str] = []
    checks: dict[str, bool] = {
        "schemaValidRate": _check(
            rates["schemaValidRate"], policy.schema_valid_rate_min, ">=", "schema_valid_rate", threshold_failures
        ),
        "vetoAlignmentRate": _check(
            rates["vetoAlignmentRate"], veto_min, ">=", "veto_alignment_rate", threshold_failures
        ),
        "falseVetoRate": _check(
            rates["falseVetoRate"], policy.false_veto_rate_max, "<=", "false_veto_rate", threshold_failures
        ),
        "latencyP95Ms": _check(
            float(latency),
            None if policy.latency_p95_ms_max is None else float(policy.latency_p95_ms_max),
            "<=",
            "latency_p95_ms",
            threshold_failures,
        ),
        "fallbackRate": _check(fallback, fallback_max, "<=", "fallback_rate", threshold_failures),
    }
    direct = {
        "program_name": compile_result.program_name,
        "signature_versions": compile_result.signature_versions,
        "optimizer": compile_result.optimizer,
        "dataset_hash": compile_result.dataset_hash,
        "compiled_prompt_hash": compile_result.compiled_prompt_hash,
        "compiled_artifact_uri": compile_result.compiled_artifact_uri,
        "artifact_hash": compile_result.artifact_hash,
        "reproducibility_hash": compile_result.reproducibility_hash,
    }
    required = list(policy.required_keys)
    missing_keys = sorted(k for k in required if not direct.get(k.strip().lower().replace("-", "_")))
    recomputed = artifact_hash(compile_result)
    det_failures = (["deterministic_required_keys_missing"] if missing_keys else []) + (
        [] if recomputed == compile_result.artifact_hash else ["deterministic_artifact_hash_mismatch"]
    )
    deterministic = {
        "passed": not det_failures,
        "requiredKeys": required,
        "missingKeys": missing_keys,
        "recomputedArtifactHash": recomputed,
        "artifactHashMatches": recomputed == compile_result.artifact_hash,
        "failures": det_failures,
    }
    checks["deterministicCompatibility"] = not det_failures
    workbench_failures: list[str] = []
    checks["latencyMeasured"] = "latencyP95Ms" not in missing
    if not checks["latencyMeasured"]:
        workbench_failures.append("latency_p95_ms_not_measured")
    if policy.require_janus_evidence_complete:
        checks["janusEvidenceComplete"] = mb.get("janus_evidence_complete") is True
        if not checks["janusEvidenceComplete"]:
            workbench_failures.append("janus_evidence_incomplete")
    gate: GateCompatibility = "pass" if all(checks.values()) else "fail"
    recommendation: PromotionRecommendation = "hold"
    if gate == "pass" and policy.default_recommendation in policy.allowed_targets:
        recommendation = policy.default_recommendation
    return EvalOutcome(
        schema_valid_rate=rates["schemaValidRate"],
        veto_alignment_rate=rates["vetoAlignmentRate"],
        false_veto_rate=rates["falseVetoRate"],
        latency_p95_ms=latency,
        gate_compatibility=gate,
        promotion_recommendation=recommendation,
        bundle={
            "compileMetricBundleHash": H(dict(mb)),
            "observed": {
                "schemaValidRate": rates["schemaValidRate"],
                "vetoAlignmentRate": rates["vetoAlignmentRate"],
                "falseVetoRate": rates["falseVetoRate"],
                "latencyP95Ms": latency,
                "fallbackRate": fallback,
                "missingMetricKeys": sorted(set(missing)),
            },
            "thresholds": {
                "schemaValidRateMin": policy.schema_valid_rate_min,
                "vetoAlignmentRateMin": veto_min,
                "vetoAlignmentRateMinDelta": policy.veto_alignment_rate_min_delta,
                "falseVetoRateMax": policy.false_veto_rate_max,
                "latencyP95MsMax": policy.latency_p95_ms_max,
                "fallbackRateMax": fallback_max,
            },
            "gateChecks": checks,
            "gateFailures": sorted([*sorted(set(threshold_failures)), *det_failures, *workbench_failures]),
            "deterministicCompatibility": deterministic,
            "gatePolicySchemaVersion": policy.schema_version,
        },
    )
