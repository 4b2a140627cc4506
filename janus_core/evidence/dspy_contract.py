"""The lane's DSPy compile/eval/promotion contract: strict models, hash chain and metrics policy.

Restated from lane-contract.md ("DSPy compile/eval hash chain") and the lane's own ``dspy_compile``
schemas, builders and evaluator. ``H`` is the canonical hash (:func:`janus_core.hashing.H`).

The files, their hash chain and builders are :mod:`janus_core.evidence.dspy_files` (re-exported
here).

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

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from janus_core.evidence.dspy_files import (
    BUNDLE_FILE,
    COMPILE_RESULT_FILE,
    EVAL_REPORT_FILE,
    LATENCY_NOT_MEASURED_MS,
    METRICS_POLICY_SCHEMA,
    PROMOTION_RECORD_FILE,
    DspyArtifactBundle,
    DspyCompileResult,
    DspyEvalReport,
    DspyPromotionRecord,
    GateCompatibility,
    JsonObject,
    LatencyMs,
    PromotionRecommendation,
    PromotionTarget,
    Rate,
    Sha256Hex,
    StrictText,
    artifact_hash,
    as_parsed,
    build_bundle,
    build_compile_result,
    build_eval_report,
    build_promotion_record,
    bundle_artifact_hashes,
    canonical_bytes,
    compile_result_from_hashes,
    eval_hash,
    promotion_hash,
    reproducibility_hash,
)
from janus_core.hashing import H

__all__ = [
    "BUNDLE_FILE",
    "COMPILE_RESULT_FILE",
    "DspyArtifactBundle",
    "DspyCompileResult",
    "DspyEvalReport",
    "DspyMetricsPolicy",
    "DspyPromotionRecord",
    "EVAL_REPORT_FILE",
    "EvalOutcome",
    "GateCompatibility",
    "JsonObject",
    "LATENCY_NOT_MEASURED_MS",
    "LatencyMs",
    "METRICS_POLICY_SCHEMA",
    "OBSERVED_DEFAULTS",
    "PROMOTION_RECORD_FILE",
    "PromotionRecommendation",
    "PromotionTarget",
    "REPRODUCIBILITY_KEYS",
    "Rate",
    "Sha256Hex",
    "StrictText",
    "artifact_hash",
    "as_parsed",
    "build_bundle",
    "build_compile_result",
    "build_eval_report",
    "build_promotion_record",
    "bundle_artifact_hashes",
    "canonical_bytes",
    "compile_result_from_hashes",
    "eval_hash",
    "evaluate_metrics",
    "promotion_hash",
    "reproducibility_hash",
]


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
    observed = _observed(mb)
    thresholds = _thresholds(policy)
    threshold_failures: list[str] = []
    checks = _threshold_checks(observed, thresholds, threshold_failures)
    deterministic = _deterministic(compile_result, policy)
    det_failures = deterministic["failures"]
    checks["deterministicCompatibility"] = not det_failures
    workbench_failures: list[str] = []
    checks["latencyMeasured"] = "latencyP95Ms" not in observed["missingMetricKeys"]
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
        schema_valid_rate=observed["schemaValidRate"],
        veto_alignment_rate=observed["vetoAlignmentRate"],
        false_veto_rate=observed["falseVetoRate"],
        latency_p95_ms=observed["latencyP95Ms"],
        gate_compatibility=gate,
        promotion_recommendation=recommendation,
        bundle={
            "compileMetricBundleHash": H(dict(mb)),
            "observed": observed,
            "thresholds": thresholds,
            "gateChecks": checks,
            "gateFailures": sorted([*sorted(set(threshold_failures)), *det_failures, *workbench_failures]),
            "deterministicCompatibility": deterministic,
            "gatePolicySchemaVersion": policy.schema_version,
        },
    )


def _observed(mb: Mapping[str, Any]) -> dict[str, Any]:
    """The observed metrics of a compile ``metricBundle`` as the lane reads them (rates clamped to
    [0, 1], the latency an int >= 0), each missing one at its failing value and listed in
    ``missingMetricKeys``."""
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
    return {
        "schemaValidRate": rates["schemaValidRate"],
        "vetoAlignmentRate": rates["vetoAlignmentRate"],
        "falseVetoRate": rates["falseVetoRate"],
        "latencyP95Ms": latency,
        "fallbackRate": fallback,
        "missingMetricKeys": sorted(set(missing)),
    }


def _thresholds(policy: DspyMetricsPolicy) -> dict[str, Any]:
    """The policy's thresholds as the lane resolves them: the veto-alignment minimum from the
    baseline plus the delta when unset, the fallback maximum from the false-veto maximum when unset."""
    veto_min = policy.veto_alignment_rate_min
    if veto_min is None and policy.veto_alignment_rate_min_delta is not None:
        veto_min = min(
            max((policy.baseline_veto_alignment_rate or 0.0) + policy.veto_alignment_rate_min_delta, 0.0), 1.0
        )
    fallback_max = policy.fallback_rate_max if policy.fallback_rate_max is not None else policy.false_veto_rate_max
    return {
        "schemaValidRateMin": policy.schema_valid_rate_min,
        "vetoAlignmentRateMin": veto_min,
        "vetoAlignmentRateMinDelta": policy.veto_alignment_rate_min_delta,
        "falseVetoRateMax": policy.false_veto_rate_max,
        "latencyP95MsMax": policy.latency_p95_ms_max,
        "fallbackRateMax": fallback_max,
    }


def _threshold_checks(
    observed: Mapping[str, Any], thresholds: Mapping[str, Any], failures: list[str]
) -> dict[str, bool]:
    """The lane's five threshold checks (``failures`` gets each failure's name)."""
    latency_max = thresholds["latencyP95MsMax"]
    return {
        "schemaValidRate": _check(
            observed["schemaValidRate"], thresholds["schemaValidRateMin"], ">=", "schema_valid_rate", failures
        ),
        "vetoAlignmentRate": _check(
            observed["vetoAlignmentRate"], thresholds["vetoAlignmentRateMin"], ">=", "veto_alignment_rate", failures
        ),
        "falseVetoRate": _check(
            observed["falseVetoRate"], thresholds["falseVetoRateMax"], "<=", "false_veto_rate", failures
        ),
        "latencyP95Ms": _check(
            float(observed["latencyP95Ms"]),
            None if latency_max is None else float(latency_max),
            "<=",
            "latency_p95_ms",
            failures,
        ),
        "fallbackRate": _check(
            observed["fallbackRate"], thresholds["fallbackRateMax"], "<=", "fallback_rate", failures
        ),
    }


def _deterministic(compile_result: DspyCompileResult, policy: DspyMetricsPolicy) -> dict[str, Any]:
    """Deterministic compatibility: the policy's required keys present in the compile result and
    its ``artifactHash`` recomputed."""
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
    return {
        "passed": not det_failures,
        "requiredKeys": required,
        "missingKeys": missing_keys,
        "recomputedArtifactHash": recomputed,
        "artifactHashMatches": recomputed == compile_result.artifact_hash,
        "failures": det_failures,
    }
