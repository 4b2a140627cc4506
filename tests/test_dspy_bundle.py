"""DSPy compile/eval/promotion bundle: the contract's hash chain recomputed independently, camelCase
files, Janus metrics in ``metricBundle``, and tamper detection."""

from __future__ import annotations

import hashlib
import json

from test_evidence_helpers import make_inputs, write_folder

from janus_core.evidence import dspy_bundle, schema
from janus_core.evidence.verify import verify_evidence


def _h(x) -> str:
    """The lane's H, written out independently of janus_core.hashing."""
    return hashlib.sha256(json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
                          .encode("utf-8")).hexdigest()


def test_bundle_files_follow_the_hash_chain(tmp_path):
    out = write_folder(tmp_path / "out", dspy=True)
    compiled = json.loads((out / dspy_bundle.COMPILE_REF).read_text())
    report = json.loads((out / dspy_bundle.EVAL_REF).read_text())
    record = json.loads((out / dspy_bundle.PROMOTION_REF).read_text())
    event_doc = json.loads((out / schema.EVENT_CAR_REF).read_text())
    reward_doc = json.loads((out / schema.HGRM_REWARD_REF).read_text())

    assert {"datasetHash", "compiledPromptHash", "metricBundle", "reproducibilityHash", "artifactHash",
            "programName", "signatureVersions", "compiledArtifactUri"} <= set(compiled)
    assert compiled["datasetHash"] == _h(event_doc["records"]) == event_doc["manifest_hash"]
    assert compiled["compiledPromptHash"] == _h({"candidate_id": "cand-1", "decisions": "decisions:handbuilt"})
    bundle = compiled["metricBundle"]
    assert bundle["janus_event_car_manifest_hash"] == event_doc["manifest_hash"]
    assert bundle["janus_hgrm_reward_manifest_hash"] == reward_doc["manifest_hash"]
    assert bundle["janus_reward_summary"] == reward_doc["summary"]
    repro = _h({"program_name": compiled["programName"], "signature_versions": compiled["signatureVersions"],
                "optimizer": compiled["optimizer"], "dataset_hash": compiled["datasetHash"],
                "compiled_prompt_hash": compiled["compiledPromptHash"], "seed": compiled["seed"],
                "metric_bundle": bundle})
    assert compiled["reproducibilityHash"] == repro
    artifact = _h({"program_name": compiled["programName"], "signature_versions": compiled["signatureVersions"],
                   "optimizer": compiled["optimizer"], "dataset_hash": compiled["datasetHash"],
                   "compiled_prompt_hash": compiled["compiledPromptHash"],
                   "compiled_artifact_uri": compiled["compiledArtifactUri"], "reproducibility_hash": repro})
    assert compiled["artifactHash"] == artifact
    assert report["evalHash"] == _h({
        "artifact_hash": artifact, "schema_valid_rate": report["schemaValidRate"],
        "veto_alignment_rate": report["vetoAlignmentRate"], "false_veto_rate": report["falseVetoRate"],
        "latency_p95_ms": report["latencyP95Ms"], "gate_compatibility": report["gateCompatibility"],
        "promotion_recommendation": report["promotionRecommendation"], "metric_bundle": report["metricBundle"]})
    assert record["promotionHash"] == _h({
        "artifact_hash": artifact, "eval_hash": report["evalHash"], "promotion_target": record["promotionTarget"],
        "approved": record["approved"], "approval_token_ref": record["approvalTokenRef"],
        "promoted_by": record["promotedBy"]})
    # synthetic evidence is incomplete: never recommended beyond hold, never approved
    assert report["promotionRecommendation"] == "hold" and record["approved"] is False


def test_decision_rates_by_hand():
    inputs = make_inputs("historical_market_replay", complete=True)
    _, _, docs = pipeline.render_export(inputs, generated="x", dspy=False)
    rates = dspy_bundle.decision_rates(docs.event_car, docs.hgrm_reward, inputs.mapped)
    # five mapped decisions: long/strong, long/strong, short/strong, hold/weak, short/weak:
    # aligned = trades on strong (3) + hold on weak (1) = 4 of 5; no hold on a strong event
    assert rates == {"schema_valid_rate": "1", "veto_alignment_rate": "0.8", "false_veto_rate": "0"}
    compiled, report, _ = dspy_bundle.build_bundle(docs.event_car, docs.hgrm_reward, docs.evidence, inputs.mapped,
                                                    "decisions:handbuilt", "cand-1")
    assert report.promotion_recommendation == "paper" and report.gate_compatibility == "compatible"


def test_broken_chain_is_named(tmp_path):
    out = write_folder(tmp_path / "out", dspy=True)
    path = out / dspy_bundle.EVAL_REF
    report = json.loads(path.read_text())
    report["falseVetoRate"] = "0.5"
    path.write_bytes(hashing.dumps(report))
    problems = dspy_bundle.bundle_problems(out, None, None)
    assert [p[0] for p in problems] == [dspy_bundle.EVAL_REF] and "evalHash" in problems[0][1]
    assert any(p.file == dspy_bundle.EVAL_REF and p.location == "hash chain" for p in verify_evidence(out))

from janus_core import hashing, pipeline
