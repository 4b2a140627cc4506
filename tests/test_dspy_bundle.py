"""The DSPy compile/eval/promotion bundle against the lane's contract (lane-contract.md, "DSPy
compile/eval hash chain"): each file round-trips through the strict models byte for byte, every hash
recomputes from the parsed values with an independent H, an unmeasured latency gives fail/hold, the
metrics policy decides like an independent port of the lane's evaluator, latency is measured (never
invented) and kept out of the gate files, and verify names a tampered rate, type or hash."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError
from test_evidence_helpers import labelled_table, make_inputs, run_cli, write_folder

from janus_core import hashing, pipeline
from janus_core.decide import latency
from janus_core.evidence import dspy_bundle, output, schema
from janus_core.evidence.dspy_contract import (
    LATENCY_NOT_MEASURED_MS,
    DspyArtifactBundle,
    DspyCompileResult,
    DspyEvalReport,
    DspyMetricsPolicy,
    DspyPromotionRecord,
)
from janus_core.evidence.gate import GatePolicy
from janus_core.evidence.verify import verify_evidence

GENERATED = "2024-11-20T23:59:59Z"
#: The keys of each file, from lane-contract.md (no others are allowed).
CONTRACT_KEYS = {
    dspy_bundle.COMPILE_REF: {
        "programName",
        "signatureVersions",
        "optimizer",
        "datasetHash",
        "compiledPromptHash",
        "artifactHash",
        "reproducibilityHash",
        "metricBundle",
        "compiledArtifactUri",
        "createdAt",
    },
    dspy_bundle.EVAL_REF: {
        "artifactHash",
        "evalHash",
        "schemaValidRate",
        "vetoAlignmentRate",
        "falseVetoRate",
        "latencyP95Ms",
        "gateCompatibility",
        "promotionRecommendation",
        "metricBundle",
        "createdAt",
    },
    dspy_bundle.PROMOTION_REF: {
        "artifactHash",
        "evalHash",
        "promotionHash",
        "promotionTarget",
        "approved",
        "approvalTokenRef",
        "promotedBy",
        "createdAt",
    },
    dspy_bundle.BUNDLE_REF: {"compileResult", "evalReport", "promotionRecord", "manifestHash", "artifactHashes"},
}
MODELS = {
    dspy_bundle.COMPILE_REF: DspyCompileResult,
    dspy_bundle.EVAL_REF: DspyEvalReport,
    dspy_bundle.PROMOTION_REF: DspyPromotionRecord,
    dspy_bundle.BUNDLE_REF: DspyArtifactBundle,
}
PAPER = DspyMetricsPolicy(default_recommendation="paper")


def _h(x) -> str:
    """The lane's H, written out independently of janus_core.hashing."""
    return hashlib.sha256(
        json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    ).hexdigest()


def _lane_bytes(obj) -> bytes:
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("utf-8")


def _inputs(latency_ms: float | None = None, *, format_ok: bool = True) -> pipeline.EvidenceInputs:
    """Complete historical hand-built inputs whose decisions parsed (``format_ok``), with a measured
    latency from a ``latency_ms`` column when given."""
    inputs = make_inputs("historical_market_replay", complete=True)
    mapped = inputs.mapped.with_columns(pl.lit(format_ok).alias("format_ok"))
    update: dict = {"mapped": mapped}
    if latency_ms is not None:
        mapped = mapped.with_columns(pl.lit(latency_ms).alias("latency_ms"))
        update = {"mapped": mapped, "decision_latency": latency.latency_from_column(mapped, "decisions.csv")}
    return inputs.model_copy(update=update)


def _write(out: Path, inputs: pipeline.EvidenceInputs, policy: DspyMetricsPolicy | None = None) -> Path:
    files, _, _ = pipeline.render_export(inputs, generated=GENERATED, dspy=True, dspy_policy=policy)
    output.write_tree_atomically(out, files)
    return out


def _json(out: Path, ref: str) -> dict:
    return json.loads((out / ref).read_bytes())


# --------------------------------------------------------------------------------------------------
# Strict schema round trip and hash recomputation
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["synthetic-unmeasured", "complete-measured"])
def test_each_file_round_trips_through_the_strict_models(tmp_path, case):
    out = (
        write_folder(tmp_path / "out", dspy=True)
        if case == "synthetic-unmeasured"
        else _write(tmp_path / "out", _inputs(7.25), PAPER)
    )
    assert sorted(p.relative_to(out).as_posix() for p in (out / "dspy").iterdir()) == sorted(dspy_bundle.DSPY_REFS)
    for ref, model in MODELS.items():
        data = (out / ref).read_bytes()
        obj = json.loads(data)
        assert data == _lane_bytes(obj), f"{ref} is not in the lane's compact canonical form"
        assert set(obj) == CONTRACT_KEYS[ref], ref
        parsed = model.parse(obj)
        assert parsed.file_bytes() == data, f"{ref} does not re-dump to its own bytes"
    report = DspyEvalReport.parse(_json(out, dspy_bundle.EVAL_REF))
    for rate in (report.schema_valid_rate, report.veto_alignment_rate, report.false_veto_rate):
        assert type(rate) is float and 0.0 <= rate <= 1.0
    assert type(report.latency_p95_ms) is int and report.latency_p95_ms >= 0
    assert report.gate_compatibility in ("pass", "fail")
    bundle = DspyArtifactBundle.parse(_json(out, dspy_bundle.BUNDLE_REF))
    assert bundle.compile_result.file_object() == _json(out, dspy_bundle.COMPILE_REF)
    assert bundle.eval_report.file_object() == _json(out, dspy_bundle.EVAL_REF)
    assert bundle.promotion_record.file_object() == _json(out, dspy_bundle.PROMOTION_REF)


def test_the_strict_models_refuse_what_the_lane_refuses(tmp_path):
    out = write_folder(tmp_path / "out", dspy=True)
    compiled = _json(out, dspy_bundle.COMPILE_REF)
    report = _json(out, dspy_bundle.EVAL_REF)
    for bad in (
        {**compiled, "seed": "0"},
        {**compiled, "datasetHash": compiled["datasetHash"].upper()},
        {k: v for k, v in compiled.items() if k != "createdAt"},
    ):
        with pytest.raises(ValidationError):
            DspyCompileResult.parse(bad)
    for key, value in (
        ("schemaValidRate", "1"),
        ("schemaValidRate", 1),
        ("falseVetoRate", 1.5),
        ("latencyP95Ms", None),
        ("latencyP95Ms", 12.0),
        ("latencyP95Ms", -1),
        ("gateCompatibility", "compatible"),
        ("promotionRecommendation", "live"),
    ):
        with pytest.raises(ValidationError, match=key):
            DspyEvalReport.parse({**report, key: value})
    snake = {"artifact_hash" if k == "artifactHash" else k: v for k, v in report.items()}
    with pytest.raises(ValidationError):
        DspyEvalReport.parse(snake)


@pytest.mark.parametrize("case", ["synthetic-unmeasured", "complete-measured"])
def test_every_hash_recomputes_from_the_parsed_values(tmp_path, case):
    out = (
        write_folder(tmp_path / "out", dspy=True)
        if case == "synthetic-unmeasured"
        else _write(tmp_path / "out", _inputs(7.25), PAPER)
    )
    c = DspyCompileResult.parse(_json(out, dspy_bundle.COMPILE_REF))
    r = DspyEvalReport.parse(_json(out, dspy_bundle.EVAL_REF))
    p = DspyPromotionRecord.parse(_json(out, dspy_bundle.PROMOTION_REF))
    b = DspyArtifactBundle.parse(_json(out, dspy_bundle.BUNDLE_REF))
    manifest = _json(out, "run-manifest.json")
    event_doc = _json(out, schema.EVENT_CAR_REF)
    seed = manifest["dspy"]["seed"]
    assert isinstance(seed, str) and seed == "none"  # a decisions source the workbench did not run

    assert c.dataset_hash == _h(event_doc["records"]) == event_doc["manifest_hash"]
    assert c.compiled_prompt_hash == _h({"candidate_id": "cand-1", "decisions": "decisions:handbuilt"})
    repro = _h(
        {
            "program_name": c.program_name,
            "signature_versions": c.signature_versions,
            "optimizer": c.optimizer,
            "dataset_hash": c.dataset_hash,
            "compiled_prompt_hash": c.compiled_prompt_hash,
            "seed": seed,
            "metric_bundle": c.metric_bundle,
        }
    )
    assert c.reproducibility_hash == repro
    artifact = _h(
        {
            "program_name": c.program_name,
            "signature_versions": c.signature_versions,
            "optimizer": c.optimizer,
            "dataset_hash": c.dataset_hash,
            "compiled_prompt_hash": c.compiled_prompt_hash,
            "compiled_artifact_uri": c.compiled_artifact_uri,
            "reproducibility_hash": repro,
        }
    )
    assert c.artifact_hash == r.artifact_hash == p.artifact_hash == artifact
    evalh = _h(
        {
            "artifact_hash": artifact,
            "schema_valid_rate": r.schema_valid_rate,
            "veto_alignment_rate": r.veto_alignment_rate,
            "false_veto_rate": r.false_veto_rate,
            "latency_p95_ms": r.latency_p95_ms,
            "gate_compatibility": r.gate_compatibility,
            "promotion_recommendation": r.promotion_recommendation,
            "metric_bundle": r.metric_bundle,
        }
    )
    assert r.eval_hash == p.eval_hash == evalh
    assert p.promotion_hash == _h(
        {
            "artifact_hash": artifact,
            "eval_hash": evalh,
            "promotion_target": p.promotion_target,
            "approved": p.approved,
            "approval_token_ref": p.approval_token_ref,
            "promoted_by": p.promoted_by,
        }
    )
    files = {
        name: _json(out, ref)
        for name, ref in (
            ("compile_result", dspy_bundle.COMPILE_REF),
            ("eval_report", dspy_bundle.EVAL_REF),
            ("promotion_record", dspy_bundle.PROMOTION_REF),
        )
    }
    assert b.artifact_hashes == {name: _h(obj) for name, obj in files.items()}
    assert b.manifest_hash == _h(b.artifact_hashes)
    # the Janus metrics ride along unchanged in both metric bundles
    reward_doc = _json(out, schema.HGRM_REWARD_REF)
    for bundle in (c.metric_bundle, r.metric_bundle):
        assert bundle["janus_event_car_manifest_hash"] == event_doc["manifest_hash"]
        assert bundle["janus_hgrm_reward_manifest_hash"] == reward_doc["manifest_hash"]
        assert bundle["janus_reward_summary"] == reward_doc["summary"]
    assert r.metric_bundle["janus_metrics_policy_hash"] == _h(r.metric_bundle["janus_metrics_policy"])
    assert manifest["dspy"]["metrics_policy"] == r.metric_bundle["janus_metrics_policy"]
    assert p.approved is False and p.approval_token_ref is None


def test_the_seed_of_a_policy_is_its_seed_as_a_string():
    inputs = make_inputs("historical_market_replay", complete=True).model_copy(update={"decision_seed": "20260219"})
    files, manifest, _ = pipeline.render_export(inputs, generated=GENERATED, dspy=True)
    c = DspyCompileResult.parse(json.loads(files[dspy_bundle.COMPILE_REF]))
    assert manifest["dspy"]["seed"] == "20260219"
    assert c.reproducibility_hash == _h(
        {
            "program_name": c.program_name,
            "signature_versions": c.signature_versions,
            "optimizer": c.optimizer,
            "dataset_hash": c.dataset_hash,
            "compiled_prompt_hash": c.compiled_prompt_hash,
            "seed": "20260219",
            "metric_bundle": c.metric_bundle,
        }
    )


# --------------------------------------------------------------------------------------------------
# Observed rates, latency and the metrics policy
# --------------------------------------------------------------------------------------------------
def test_decision_rates_by_hand():
    inputs = _inputs()
    _, _, docs = pipeline.render_export(inputs, generated=GENERATED, dspy=False)
    rates = dspy_bundle.decision_rates(docs.event_car, docs.hgrm_reward, dspy_bundle.format_ok_of(inputs.mapped))
    # five mapped decisions: long/strong, long/strong, short/strong, hold/weak, short/weak:
    # aligned = trades on strong (3) + hold on weak (1) = 4 of 5; no hold on a strong event
    assert rates == {"schemaValidRate": 1.0, "vetoAlignmentRate": 0.8, "falseVetoRate": 0.0}
    assert all(type(v) is float for v in rates.values())
    # a decision whose output did not parse counts against the schema-valid rate; no format_ok, no rate
    ok = [True, False, True, True, True]
    assert dspy_bundle.decision_rates(docs.event_car, docs.hgrm_reward, ok)["schemaValidRate"] == 0.8
    assert "schemaValidRate" not in dspy_bundle.decision_rates(docs.event_car, docs.hgrm_reward, None)


def test_unmeasured_latency_fails_and_holds(tmp_path):
    """Everything else passes (complete evidence, every rate within the policy, a policy that would
    recommend paper): only the missing latency fails the eval."""
    out = _write(tmp_path / "unmeasured", _inputs(), PAPER)
    report = _json(out, dspy_bundle.EVAL_REF)
    assert report["gateCompatibility"] == "fail" and report["promotionRecommendation"] == "hold"
    assert report["latencyP95Ms"] == LATENCY_NOT_MEASURED_MS == 2**31 - 1
    bundle = report["metricBundle"]
    assert bundle["gateFailures"] == ["latency_p95_ms_above_max", "latency_p95_ms_not_measured"]
    assert bundle["observed"]["missingMetricKeys"] == ["fallbackRate", "latencyP95Ms"]
    why = bundle["janus_decision_latency"]
    assert why["measured"] is False and why["source"] == "not_measured" and "no time per decision" in why["reason"]
    assert "latencyP95Ms" not in _json(out, dspy_bundle.COMPILE_REF)["metricBundle"]
    assert verify_evidence(out) == []
    # a policy whose maximum the lane's placeholder would meet still cannot pass an unmeasured latency
    lax = DspyMetricsPolicy(default_recommendation="paper", latency_p95_ms_max=LATENCY_NOT_MEASURED_MS)
    report = _json(_write(tmp_path / "lax", _inputs(), lax), dspy_bundle.EVAL_REF)
    assert (report["gateCompatibility"], report["promotionRecommendation"]) == ("fail", "hold")
    assert report["metricBundle"]["gateFailures"] == ["latency_p95_ms_not_measured"]

    measured = _json(_write(tmp_path / "measured", _inputs(7.25), PAPER), dspy_bundle.EVAL_REF)
    assert (measured["gateCompatibility"], measured["promotionRecommendation"], measured["latencyP95Ms"]) == (
        "pass",
        "paper",
        8,
    )  # 7.25 ms rounded up
    assert measured["metricBundle"]["gateFailures"] == []


def test_the_recommendation_follows_the_policy(tmp_path):
    # the lane's shipped policy recommends hold even when every check passes
    report = _json(_write(tmp_path / "default", _inputs(7.25)), dspy_bundle.EVAL_REF)
    assert (report["gateCompatibility"], report["promotionRecommendation"]) == ("pass", "hold")
    assert report["metricBundle"]["thresholds"] == {
        "schemaValidRateMin": 0.995,
        "vetoAlignmentRateMin": 0.02,
        "vetoAlignmentRateMinDelta": 0.02,
        "falseVetoRateMax": 0.03,
        "latencyP95MsMax": 1800,
        "fallbackRateMax": 0.03,
    }
    slow = _json(_write(tmp_path / "slow", _inputs(2500.0), PAPER), dspy_bundle.EVAL_REF)
    assert (slow["gateCompatibility"], slow["promotionRecommendation"]) == ("fail", "hold")
    assert slow["metricBundle"]["gateFailures"] == ["latency_p95_ms_above_max"]
    unparsed = _json(_write(tmp_path / "unparsed", _inputs(7.25, format_ok=False), PAPER), dspy_bundle.EVAL_REF)
    assert unparsed["schemaValidRate"] == 0.0 and unparsed["metricBundle"]["gateFailures"] == [
        "schema_valid_rate_below_min"
    ]
    shadow = DspyMetricsPolicy(default_recommendation="shadow", allowed_targets=("paper",))
    assert (
        _json(_write(tmp_path / "shadow", _inputs(7.25), shadow), dspy_bundle.EVAL_REF)["promotionRecommendation"]
        == "hold"
    )  # not an allowed target
    # incomplete Janus evidence (synthetic provenance) never passes
    synthetic = make_inputs(complete=True).model_copy(
        update={"mapped": _inputs().mapped, "decision_latency": _inputs(7.25).decision_latency}
    )
    report = _json(_write(tmp_path / "synthetic", synthetic, PAPER), dspy_bundle.EVAL_REF)
    assert report["metricBundle"]["gateFailures"] == ["janus_evidence_incomplete"]
    assert report["promotionRecommendation"] == "hold"
    # the policy is part of the gate policy, read from its JSON file
    path = tmp_path / "gate-policy.json"
    path.write_text(json.dumps({"dspy_metrics": {"default_recommendation": "paper", "latency_p95_ms_max": 5}}))
    policy = GatePolicy.from_file(path).dspy_metrics
    assert policy.latency_p95_ms_max == 5 and policy.false_veto_rate_max == 0.03
    report = _json(_write(tmp_path / "tight", _inputs(7.25), policy), dspy_bundle.EVAL_REF)
    assert report["metricBundle"]["janus_metrics_policy_hash"] == _h(policy.model_dump(mode="json"))
    assert report["metricBundle"]["gateFailures"] == ["latency_p95_ms_above_max"]


def _lane_evaluate(metric_bundle: dict, policy: dict) -> tuple[str, str, list[str]]:
    """An independent port of the lane's evaluator (observed metrics found anywhere in the compile
    bundle by normalised key, missing ones at their failing defaults, thresholds from the YAML
    policy block, deterministic compatibility assumed): gate, recommendation, failures."""

    def norm(k: str) -> str:
        return "".join(ch for ch in k.lower() if ch.isalnum())

    def flatten(node, into):
        for key in sorted(node):
            value = node[key]
            if norm(key) not in into and isinstance(value, (int, float)) and not isinstance(value, bool):
                into[norm(key)] = float(value)
            if isinstance(value, dict):
                flatten(value, into)
        return into

    flat, pol = flatten(metric_bundle, {}), flatten(policy, {})
    schema = flat.get("schemavalidrate", 0.0)
    veto = flat.get("vetoalignmentrate", 0.0)
    false_veto = flat.get("falsevetorate", 1.0)
    fallback = flat.get("fallbackrate", false_veto)
    lat = flat.get("latencyp95ms", 2**31 - 1)
    veto_min = pol.get(
        "vetoalignmentratemin",
        min(max(pol.get("baselinevetoalignmentrate", 0.0) + pol["vetoalignmentratemindelta"], 0.0), 1.0),
    )
    failures = []
    for ok, name in (
        (schema >= pol["schemavalidratemin"], "schema_valid_rate_below_min"),
        (veto >= veto_min, "veto_alignment_rate_below_min"),
        (false_veto <= pol["falsevetoratemax"], "false_veto_rate_above_max"),
        (lat <= pol["latencyp95msmax"], "latency_p95_ms_above_max"),
        (fallback <= pol.get("fallbackratemax", pol["falsevetoratemax"]), "fallback_rate_above_max"),
    ):
        if not ok:
            failures.append(name)
    gate = "pass" if not failures else "fail"
    default = policy["promotion"]["defaultRecommendation"]
    recommendation = default if gate == "pass" and default in policy["promotion"]["allowedTargets"] else "hold"
    return gate, recommendation, sorted(failures)


@pytest.mark.parametrize(
    "latency_ms,format_ok,default",
    [
        (7.25, True, "paper"),
        (7.25, True, "hold"),
        (2500.0, True, "paper"),
        (7.25, False, "paper"),
        (None, True, "paper"),
    ],
)
def test_the_evaluation_agrees_with_an_independent_port_of_the_lanes_evaluator(
    tmp_path, latency_ms, format_ok, default
):
    lane_policy = {  # the lane's dspy-metrics.yaml policy block
        "schemaValidRateMin": 0.995,
        "vetoAlignmentRateMinDelta": 0.02,
        "falseVetoRateMax": 0.03,
        "latencyP95MsMax": 1800,
        "gateCompatibilityRequired": "pass",
        "promotion": {
            "defaultRecommendation": default,
            "allowedTargets": ["paper", "shadow", "constrained_live", "scaled_live"],
        },
    }
    out = _write(
        tmp_path / "out", _inputs(latency_ms, format_ok=format_ok), DspyMetricsPolicy(default_recommendation=default)
    )
    compiled = _json(out, dspy_bundle.COMPILE_REF)
    report = _json(out, dspy_bundle.EVAL_REF)
    gate, recommendation, failures = _lane_evaluate(compiled["metricBundle"], lane_policy)
    workbench_only = {"latency_p95_ms_not_measured", "janus_evidence_incomplete"}
    assert [f for f in report["metricBundle"]["gateFailures"] if f not in workbench_only] == failures
    assert (report["gateCompatibility"], report["promotionRecommendation"]) == (gate, recommendation)


def test_p95_is_the_nearest_rank_and_rounds_up():
    rng = np.random.default_rng(7)
    for n in (1, 2, 19, 20, 21, 100, 333):
        values = rng.exponential(3.0, n).tolist()
        assert latency.p95_nearest_rank(values) == np.percentile(values, 95, method="inverted_cdf")
    assert latency.p95_nearest_rank(list(range(1, 21))) == 19
    assert latency.p95_nearest_rank(list(range(1, 22))) == 20
    with pytest.raises(ValueError):
        latency.p95_nearest_rank([])
    record = latency.DecisionLatency
    assert record(measured=True, source="policy_compute_time", samples=1, p95_ms="4", method="m").whole_ms() == 4
    assert (
        record(measured=True, source="policy_compute_time", samples=1, p95_ms="4.0000000001", method="m").whole_ms()
        == 5
    )
    assert record(measured=True, source="policy_compute_time", samples=1, p95_ms="0.0003", method="m").whole_ms() == 1


def test_a_latency_column_gives_its_p95_and_bad_values_name_the_decision(tmp_path):
    path = tmp_path / "decisions.csv"
    rows = "\n".join(f"e{i},s1,long,{v}" for i, v in enumerate([3, 12.5, 1, 7, 2]))
    path.write_text("event_id,strategy_id,action,latency_ms\n" + rows + "\n")
    from janus_core.decide.decisions import load_decisions

    record = latency.latency_from_column(load_decisions(path), str(path))
    assert (record.measured, record.source, record.samples, record.p95_ms, record.whole_ms()) == (
        True,
        "decisions_file_latency_ms",
        5,
        "12.5",
        13,
    )
    frame = load_decisions(path)
    for bad in ("-1", "abc", None, "inf"):
        broken = frame.with_columns(
            pl.when(pl.col("event_id") == "e3").then(pl.lit(bad)).otherwise(pl.col("latency_ms")).alias("latency_ms")
        )
        with pytest.raises(
            ValueError,
            match=r"decisions\.csv: decision on event 'e3' \(strategy 's1'\), "
            r"column 'latency_ms': .*rule: every decision carries a finite",
        ):
            latency.latency_from_column(broken, str(path))


def test_a_policy_is_timed_one_decision_at_a_time():
    labelled = labelled_table()
    ticks = iter(
        [0, 1_000_000, 10_000_000, 12_000_000, 20_000_000, 23_000_000, 30_000_000, 34_000_000, 40_000_000, 45_000_000]
    )
    record = latency.policy_latency("always_long", labelled, None, clock=lambda: next(ticks))
    # five included events, timed 1, 2, 3, 4 and 5 ms: the nearest-rank p95 is the fifth
    assert (record.source, record.samples, record.p95_ms, record.whole_ms()) == ("policy_compute_time", 5, "5", 5)
    with pytest.raises(StopIteration):
        next(ticks)


# --------------------------------------------------------------------------------------------------
# Determinism: timings never reach the gate files
# --------------------------------------------------------------------------------------------------
def test_a_measured_latency_changes_only_the_bundle_and_the_run_manifest():
    plain, plain_manifest, _ = pipeline.render_export(_inputs(), generated=GENERATED, dspy=True)
    timed, timed_manifest, _ = pipeline.render_export(_inputs(7.25), generated=GENERATED, dspy=True)
    differing = sorted(k for k in plain if plain[k] != timed[k])
    assert differing == sorted([*dspy_bundle.DSPY_REFS, "analysis/decision_mapping.csv", "run-manifest.json"])
    # (the decision mapping shows the decisions' latency_ms column, which the timed inputs carry)
    assert {k for k in plain_manifest if plain_manifest[k] != timed_manifest[k]} == {"dspy", "files", "self_hash"}
    for ref in (schema.EVENT_CAR_REF, schema.HGRM_REWARD_REF, schema.EVIDENCE_REF):
        assert plain[ref] == timed[ref]
    no_dspy, _, _ = pipeline.render_export(_inputs(), generated=GENERATED, dspy=False)
    for ref in (schema.EVENT_CAR_REF, schema.HGRM_REWARD_REF, schema.EVIDENCE_REF):
        assert no_dspy[ref] == plain[ref]


# --------------------------------------------------------------------------------------------------
# Verification names tampering
# --------------------------------------------------------------------------------------------------
def _reseal_manifest(out: Path) -> None:
    """Re-record every file digest and the self hash, as an editor covering their tracks would."""
    from janus_core.hashing import H, sha256_file

    manifest = _json(out, "run-manifest.json")
    manifest["files"] = {rel: sha256_file(out / rel) for rel in manifest["files"]}
    manifest["self_hash"] = H({k: v for k, v in manifest.items() if k != "self_hash"})
    (out / "run-manifest.json").write_bytes(hashing.dumps(manifest))


def _locations(out: Path) -> set[tuple[str, str]]:
    return {(p.file, p.location) for p in verify_evidence(out)}


def test_a_tampered_rate_is_caught(tmp_path):
    out = _write(tmp_path / "out", _inputs(7.25), PAPER)
    path = out / dspy_bundle.EVAL_REF
    report = json.loads(path.read_bytes())
    report["falseVetoRate"] = 0.5
    path.write_bytes(_lane_bytes(report))
    found = _locations(out)
    assert {
        (dspy_bundle.EVAL_REF, "evalHash"),
        (dspy_bundle.EVAL_REF, "falseVetoRate"),
        (dspy_bundle.EVAL_REF, "sha256"),
        (dspy_bundle.BUNDLE_REF, "artifactHashes.eval_report"),
    } <= found


def test_a_tampered_type_is_named(tmp_path):
    out = _write(tmp_path / "out", _inputs(7.25), PAPER)
    path = out / dspy_bundle.EVAL_REF
    original = json.loads(path.read_bytes())
    for key, value in (("schemaValidRate", "1"), ("latencyP95Ms", 8.0), ("gateCompatibility", "compatible")):
        path.write_bytes(_lane_bytes({**original, key: value}))
        _reseal_manifest(out)
        problems = [p for p in verify_evidence(out) if p.file == dspy_bundle.EVAL_REF]
        assert [p.location for p in problems] == [key], [str(p) for p in problems]
    path.write_bytes(_lane_bytes(original))
    _reseal_manifest(out)
    assert verify_evidence(out) == []
    # an int where the lane hashes a float: the lane would read 1.0, the file is not what it writes
    path.write_bytes(_lane_bytes(original).replace(b'"schemaValidRate":1.0', b'"schemaValidRate":1'))
    _reseal_manifest(out)
    assert _locations(out) == {(dspy_bundle.EVAL_REF, "schemaValidRate")}


def test_a_tampered_hash_is_named(tmp_path):
    out = _write(tmp_path / "out", _inputs(7.25), PAPER)
    for ref, key in (
        (dspy_bundle.COMPILE_REF, "artifactHash"),
        (dspy_bundle.COMPILE_REF, "reproducibilityHash"),
        (dspy_bundle.EVAL_REF, "evalHash"),
        (dspy_bundle.PROMOTION_REF, "promotionHash"),
        (dspy_bundle.BUNDLE_REF, "manifestHash"),
    ):
        path = out / ref
        original = path.read_bytes()
        obj = json.loads(original)
        obj[key] = "0" * 64
        path.write_bytes(_lane_bytes(obj))
        _reseal_manifest(out)
        assert (ref, key) in _locations(out), (ref, key)
        path.write_bytes(original)
    _reseal_manifest(out)
    assert verify_evidence(out) == []


def test_a_resealed_verdict_is_re_evaluated(tmp_path):
    """Claim pass/paper for an unmeasured latency and re-seal every hash: the re-evaluation under the
    recorded policy still names the verdict."""
    from janus_core.evidence.dspy_contract import (
        build_bundle,
        eval_hash,
        promotion_hash,
    )

    out = _write(tmp_path / "out", _inputs(), PAPER)
    c = DspyCompileResult.parse(_json(out, dspy_bundle.COMPILE_REF))
    r = DspyEvalReport.parse(_json(out, dspy_bundle.EVAL_REF))
    p = DspyPromotionRecord.parse(_json(out, dspy_bundle.PROMOTION_REF))
    r = r.model_copy(update={"gate_compatibility": "pass", "promotion_recommendation": "paper"})
    r = r.model_copy(update={"eval_hash": eval_hash(r)})
    p = p.model_copy(update={"eval_hash": r.eval_hash})
    p = p.model_copy(update={"promotion_hash": promotion_hash(p)})
    files = dspy_bundle.bundle_files(build_bundle(c, r, p))
    for ref, data in files.items():
        (out / ref).write_bytes(data)
    _reseal_manifest(out)
    assert _locations(out) == {
        (dspy_bundle.EVAL_REF, "gateCompatibility"),
        (dspy_bundle.EVAL_REF, "promotionRecommendation"),
    }


def test_an_unknown_key_and_a_missing_seed_are_named(tmp_path):
    out = _write(tmp_path / "out", _inputs(7.25), PAPER)
    path = out / dspy_bundle.COMPILE_REF
    original = path.read_bytes()
    path.write_bytes(_lane_bytes({**json.loads(original), "seed": "none"}))
    _reseal_manifest(out)
    assert (dspy_bundle.COMPILE_REF, "seed") in _locations(out)
    path.write_bytes(original)
    manifest = _json(out, "run-manifest.json")
    del manifest["dspy"]["seed"]
    (out / "run-manifest.json").write_bytes(hashing.dumps(manifest))
    _reseal_manifest(out)
    assert _locations(out) == {("run-manifest.json", "dspy.seed")}


# --------------------------------------------------------------------------------------------------
# The real export
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def megacap(tmp_path_factory):
    from janus_core.data.samples import build_sample
    from janus_core.paths import WorkbenchPaths

    root = tmp_path_factory.mktemp("megacap-dspy")
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")
    build_sample("us-megacap", paths, progress=False)
    return paths


def _tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_each_timed_call_makes_the_batch_decision(megacap):
    from janus_core.data.manifest import load_dataset
    from janus_core.decide.policies import PolicyConfig, make_decisions
    from janus_core.study import car, labels

    labelled = labels.car_study(
        load_dataset("us-megacap", megacap), car.CarConfig(), labels.LabelConfig(), labels.SplitConfig()
    )
    cfg = PolicyConfig()
    for policy in ("type_prior", "sentiment", "oracle"):
        batch = make_decisions(policy, labelled, cfg)
        for event_id in batch["event_id"].to_list()[::7]:
            one = make_decisions(policy, latency.decision_context(policy, labelled, event_id), cfg)
            assert (
                one.filter(pl.col("event_id") == event_id).rows() == batch.filter(pl.col("event_id") == event_id).rows()
            ), (policy, event_id)


def test_megacap_bundle_from_a_decisions_file_with_latency(megacap, tmp_path):
    from janus_core.pipeline import ExportConfig, compute_inputs, export

    inputs = compute_inputs(ExportConfig(dataset="us-megacap", decisions="type_prior"), megacap)
    decisions = inputs.mapped.drop("decision_index", "mapping_status")
    times = [0.25 * (i % 40) for i in range(decisions.height)]
    path = tmp_path / "decisions.parquet"
    decisions.with_columns(pl.Series("latency_ms", times)).write_parquet(path)
    cfg = dict(
        dataset="us-megacap", decisions=str(path), dspy_bundle=True, record_run=False, report=False, dspy_metrics=PAPER
    )
    export(ExportConfig(**cfg, out_dir=tmp_path / "a"), megacap)
    export(ExportConfig(**cfg, out_dir=tmp_path / "b"), megacap)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    report = _json(tmp_path / "a", dspy_bundle.EVAL_REF)
    expected = sorted(times)[math.ceil(0.95 * len(times)) - 1]
    assert report["latencyP95Ms"] == math.ceil(expected)
    assert report["metricBundle"]["janus_decision_latency"]["source"] == "decisions_file_latency_ms"
    assert report["metricBundle"]["janus_decision_latency"]["samples"] == decisions.height
    assert "latency_p95_ms_not_measured" not in report["metricBundle"]["gateFailures"]
    assert _json(tmp_path / "a", "run-manifest.json")["dspy"]["seed"] == "none"
    assert verify_evidence(tmp_path / "a", megacap) == []


def test_megacap_policy_timed_on_request(megacap, tmp_path):
    from janus_core.pipeline import ExportConfig, export

    base = dict(dataset="us-megacap", decisions="type_prior", dspy_bundle=True, record_run=False, report=False)
    export(ExportConfig(**base, out_dir=tmp_path / "plain"), megacap)
    export(ExportConfig(**base, measure_latency=True, out_dir=tmp_path / "timed"), megacap)
    plain, timed = _tree(tmp_path / "plain"), _tree(tmp_path / "timed")
    assert {k for k in plain if plain[k] != timed[k]} <= {*dspy_bundle.DSPY_REFS, "run-manifest.json"}
    record = _json(tmp_path / "timed", "run-manifest.json")["dspy"]
    assert record["seed"] == "20260219"
    assert record["decision_latency"]["source"] == "policy_compute_time"
    assert (
        record["decision_latency"]["samples"]
        == _json(tmp_path / "timed", schema.HGRM_REWARD_REF)["summary"]["reward_count"]
    )
    report = _json(tmp_path / "timed", dspy_bundle.EVAL_REF)
    assert report["latencyP95Ms"] == latency.DecisionLatency(**record["decision_latency"]).whole_ms()
    assert "latency_p95_ms_not_measured" not in report["metricBundle"]["gateFailures"]
    assert (
        _json(tmp_path / "plain", dspy_bundle.EVAL_REF)["metricBundle"]["gateFailures"].count(
            "latency_p95_ms_not_measured"
        )
        == 1
    )
    assert verify_evidence(tmp_path / "timed", megacap) == []


def test_measure_latency_needs_a_policy_and_a_bundle(tmp_path):
    from janus_core.pipeline import ExportConfig

    with pytest.raises(ValidationError, match="set dspy_bundle too"):
        ExportConfig(decisions="type_prior", measure_latency=True)
    with pytest.raises(ValidationError, match="latency_ms column of the decisions file"):
        ExportConfig(decisions=str(tmp_path / "d.csv"), measure_latency=True, dspy_bundle=True)


def test_cli_export_with_a_gate_policy_reports_the_eval(megacap, tmp_path, monkeypatch, capsys):
    from conftest import workspace_env

    for key, value in workspace_env(megacap).items():
        if key.startswith("JANUS_"):
            monkeypatch.setenv(key, value)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"dspy_metrics": {"default_recommendation": "paper"}}))
    out = tmp_path / "cli"
    assert (
        run_cli(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                "sentiment",
                "--out",
                str(out),
                "--no-record",
                "--no-report",
                "--dspy-bundle",
                "--gate-policy",
                str(policy),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "DSPy eval" in printed and "gateCompatibility fail, recommendation hold" in printed
    assert "latency_p95_ms_not_measured" in printed
    assert _json(out, "run-manifest.json")["dspy"]["metrics_policy"]["default_recommendation"] == "paper"
    assert run_cli(["verify", str(out)]) == 0
