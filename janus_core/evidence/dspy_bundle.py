"""The DSPy compile/eval bundle: Janus reward metrics carried into prompt-program evaluation.

Three pydantic models with the lane's hash chain (lane-contract.md, ``H`` the canonical hash):

- :class:`DspyCompileResult`: ``dataset_hash = H(dataset)``, ``compiled_prompt_hash =
  H(compiled_prompt)``, ``reproducibility_hash = H({program_name, signature_versions, optimizer,
  dataset_hash, compiled_prompt_hash, seed, metric_bundle})``, ``artifact_hash = H({program_name,
  signature_versions, optimizer, dataset_hash, compiled_prompt_hash, compiled_artifact_uri,
  reproducibility_hash})``.
- :class:`DspyEvalReport`: ``eval_hash = H({artifact_hash, schema_valid_rate, veto_alignment_rate,
  false_veto_rate, latency_p95_ms, gate_compatibility, promotion_recommendation, metric_bundle})``.
- :class:`DspyPromotionRecord`: ``promotion_hash = H({artifact_hash, eval_hash, promotion_target,
  approved, approval_token_ref, promoted_by})``.

Files use camelCase keys (``datasetHash``, ``metricBundle``, ...); the hashes are over the snake_case
objects above. An export with ``dspy_bundle=True`` writes ``dspy/compile-result.json``,
``dspy/eval-report.json`` and ``dspy/promotion-record.json`` for the evaluated strategy:

- the program is the candidate's decision source (policy or decisions file), not compiled by DSPy
  here: ``optimizer`` is ``"none"``, ``seed`` 0, the compiled prompt is ``{candidate_id, decisions}``;
- the dataset is the event-car records (so ``dataset_hash`` equals the event-car ``manifest_hash``);
- ``metric_bundle`` holds the reward summary and both manifest hashes;
- a *veto* is a ``hold`` decision: ``veto_alignment_rate`` = share of mapped decisions that hold a weak
  event or trade a strong one; ``false_veto_rate`` = share of mapped decisions holding a strong
  event; ``schema_valid_rate`` = share of decisions whose output parsed (``format_ok``; all, when the
  decisions carry no such column); ``latency_p95_ms`` is ``null``: no model latency is measured offline;
- ``gate_compatibility`` is ``"compatible"`` when the Janus evidence is complete, else
  ``"incompatible"``; ``promotion_recommendation`` is ``"paper"`` then, else ``"hold"``; the
  promotion record targets ``paper`` and is never approved by the workbench.
Rates are decimal strings, like every number the evidence carries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from janus_core.evidence.schema import ratio_text
from janus_core.hashing import H, dumps

PromotionRecommendation = Literal["hold", "paper", "shadow", "constrained_live", "scaled_live"]
COMPILE_REF = "dspy/compile-result.json"
EVAL_REF = "dspy/eval-report.json"
PROMOTION_REF = "dspy/promotion-record.json"
PROGRAM_SIGNATURES: dict[str, str] = {"janus_event_decision": "v1"}


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    def to_file(self) -> dict[str, Any]:
        """The file form: camelCase keys."""
        return self.model_dump(mode="json", by_alias=True)


class DspyCompileResult(_CamelModel):
    program_name: str
    signature_versions: dict[str, str]
    optimizer: str
    dataset_hash: str
    compiled_prompt_hash: str
    compiled_artifact_uri: str
    seed: int
    metric_bundle: dict[str, Any]
    reproducibility_hash: str
    artifact_hash: str

    @classmethod
    def build(cls, *, program_name: str, signature_versions: dict[str, str], optimizer: str, dataset: Any,
              compiled_prompt: Any, compiled_artifact_uri: str, seed: int,
              metric_bundle: dict[str, Any]) -> "DspyCompileResult":
        """A compile result with its hashes computed from the dataset and compiled prompt."""
        fields = dict(program_name=program_name, signature_versions=signature_versions, optimizer=optimizer,
                      dataset_hash=H(dataset), compiled_prompt_hash=H(compiled_prompt),
                      compiled_artifact_uri=compiled_artifact_uri, seed=seed, metric_bundle=metric_bundle)
        return cls(**fields, reproducibility_hash="", artifact_hash="").rehash()

    def expected_reproducibility_hash(self) -> str:
        return H({"program_name": self.program_name, "signature_versions": self.signature_versions,
                  "optimizer": self.optimizer, "dataset_hash": self.dataset_hash,
                  "compiled_prompt_hash": self.compiled_prompt_hash, "seed": self.seed,
                  "metric_bundle": self.metric_bundle})

    def expected_artifact_hash(self) -> str:
        return H({"program_name": self.program_name, "signature_versions": self.signature_versions,
                  "optimizer": self.optimizer, "dataset_hash": self.dataset_hash,
                  "compiled_prompt_hash": self.compiled_prompt_hash,
                  "compiled_artifact_uri": self.compiled_artifact_uri,
                  "reproducibility_hash": self.expected_reproducibility_hash()})

    def rehash(self) -> "DspyCompileResult":
        return self.model_copy(update={"reproducibility_hash": self.expected_reproducibility_hash(),
                                       "artifact_hash": self.expected_artifact_hash()})


class DspyEvalReport(_CamelModel):
    artifact_hash: str
    schema_valid_rate: str
    veto_alignment_rate: str
    false_veto_rate: str
    latency_p95_ms: str | None
    gate_compatibility: str
    promotion_recommendation: PromotionRecommendation
    metric_bundle: dict[str, Any]
    eval_hash: str

    def expected_eval_hash(self) -> str:
        return H({"artifact_hash": self.artifact_hash, "schema_valid_rate": self.schema_valid_rate,
                  "veto_alignment_rate": self.veto_alignment_rate, "false_veto_rate": self.false_veto_rate,
                  "latency_p95_ms": self.latency_p95_ms, "gate_compatibility": self.gate_compatibility,
                  "promotion_recommendation": self.promotion_recommendation,
                  "metric_bundle": self.metric_bundle})


class DspyPromotionRecord(_CamelModel):
    artifact_hash: str
    eval_hash: str
    promotion_target: str
    approved: bool
    approval_token_ref: str | None
    promoted_by: str
    promotion_hash: str

    def expected_promotion_hash(self) -> str:
        return H({"artifact_hash": self.artifact_hash, "eval_hash": self.eval_hash,
                  "promotion_target": self.promotion_target, "approved": self.approved,
                  "approval_token_ref": self.approval_token_ref, "promoted_by": self.promoted_by})


def metric_bundle(event_doc: dict[str, Any], reward_doc: dict[str, Any]) -> dict[str, Any]:
    """Janus reward metrics and the event and reward manifest hashes."""
    return {
        "janus_event_car_manifest_hash": event_doc["manifest_hash"],
        "janus_hgrm_reward_manifest_hash": reward_doc["manifest_hash"],
        "janus_event_count": event_doc["summary"]["event_count"],
        "janus_reward_summary": dict(reward_doc["summary"]),
        "janus_reward_version": reward_doc["reward_version"],
    }


def decision_rates(event_doc: dict[str, Any], reward_doc: dict[str, Any],
                   mapped: pl.DataFrame) -> dict[str, str]:
    """``schema_valid_rate``, ``veto_alignment_rate``, ``false_veto_rate`` (module docstring)."""
    strength = {r["event_id"]: r["strength_label"] for r in event_doc["records"]}
    rows = [r for r in reward_doc["rewards"] if r["mapping_status"] == "mapped"]
    aligned = sum((r["action"] == "hold") == (strength[r["event_id"]] == "weak") for r in rows)
    false_veto = sum(r["action"] == "hold" and strength[r["event_id"]] == "strong" for r in rows)
    valid = mapped.height if "format_ok" not in mapped.columns else int(mapped["format_ok"].fill_null(False).sum())
    return {"schema_valid_rate": ratio_text(valid, mapped.height),
            "veto_alignment_rate": ratio_text(aligned, len(rows)),
            "false_veto_rate": ratio_text(false_veto, len(rows))}


def build_bundle(event_doc: dict[str, Any], reward_doc: dict[str, Any], evidence: dict[str, Any],
                 mapped: pl.DataFrame, decisions_ref: str,
                 candidate_id: str) -> tuple[DspyCompileResult, DspyEvalReport, DspyPromotionRecord]:
    """The three bundle models of an export (module docstring)."""
    bundle = metric_bundle(event_doc, reward_doc)
    compiled = DspyCompileResult.build(
        program_name=candidate_id, signature_versions=dict(PROGRAM_SIGNATURES), optimizer="none",
        dataset=event_doc["records"], compiled_prompt={"candidate_id": candidate_id, "decisions": decisions_ref},
        compiled_artifact_uri=decisions_ref, seed=0, metric_bundle=bundle)
    complete = evidence["evidence_complete"] is True
    report = DspyEvalReport(
        artifact_hash=compiled.artifact_hash, **decision_rates(event_doc, reward_doc, mapped),
        latency_p95_ms=None, gate_compatibility="compatible" if complete else "incompatible",
        promotion_recommendation="paper" if complete else "hold", metric_bundle=bundle, eval_hash="")
    report = report.model_copy(update={"eval_hash": report.expected_eval_hash()})
    record = DspyPromotionRecord(artifact_hash=compiled.artifact_hash, eval_hash=report.eval_hash,
                                 promotion_target="paper", approved=False, approval_token_ref=None,
                                 promoted_by="janus-workbench-export", promotion_hash="")
    record = record.model_copy(update={"promotion_hash": record.expected_promotion_hash()})
    return compiled, report, record


def bundle_files(event_doc: dict[str, Any], reward_doc: dict[str, Any], evidence: dict[str, Any],
                 mapped: pl.DataFrame, decisions_ref: str, candidate_id: str) -> dict[str, bytes]:
    """The bundle's three files (camelCase keys, canonical bytes), keyed by path relative to OUT."""
    compiled, report, record = build_bundle(event_doc, reward_doc, evidence, mapped, decisions_ref, candidate_id)
    return {COMPILE_REF: dumps(compiled.to_file()), EVAL_REF: dumps(report.to_file()),
            PROMOTION_REF: dumps(record.to_file())}


def bundle_problems(out_dir: Path, event_doc: dict[str, Any] | None,
                    reward_doc: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Every break of the hash chain in ``out_dir/dspy/`` as ``(file, rule)``; empty when intact."""
    problems: list[tuple[str, str]] = []
    models: dict[str, Any] = {}
    for ref, model in ((COMPILE_REF, DspyCompileResult), (EVAL_REF, DspyEvalReport),
                       (PROMOTION_REF, DspyPromotionRecord)):
        try:
            models[ref] = model.model_validate(json.loads((out_dir / ref).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            problems.append((ref, f"unreadable or not a valid {model.__name__}: {exc}"))
    if problems:
        return problems
    compiled, report, record = models[COMPILE_REF], models[EVAL_REF], models[PROMOTION_REF]
    checks = [
        (COMPILE_REF, "reproducibilityHash", compiled.reproducibility_hash, compiled.expected_reproducibility_hash()),
        (COMPILE_REF, "artifactHash", compiled.artifact_hash, compiled.expected_artifact_hash()),
        (EVAL_REF, "artifactHash", report.artifact_hash, compiled.artifact_hash),
        (EVAL_REF, "evalHash", report.eval_hash, report.expected_eval_hash()),
        (EVAL_REF, "metricBundle", report.metric_bundle, compiled.metric_bundle),
        (PROMOTION_REF, "artifactHash", record.artifact_hash, compiled.artifact_hash),
        (PROMOTION_REF, "evalHash", record.eval_hash, report.eval_hash),
        (PROMOTION_REF, "promotionHash", record.promotion_hash, record.expected_promotion_hash()),
    ]
    if event_doc is not None and reward_doc is not None:
        checks += [
            (COMPILE_REF, "datasetHash", compiled.dataset_hash, H(event_doc.get("records"))),
            (COMPILE_REF, "metricBundle", compiled.metric_bundle, metric_bundle(event_doc, reward_doc)),
        ]
    for ref, field, recorded, expected in checks:
        if recorded != expected:
            problems.append((ref, f"{field} is {str(recorded)[:80]!r}, recomputed {str(expected)[:80]!r}"))
    return problems
