"""A hand-made evidence folder for the report tests: the three lane-contract files, a run manifest
and a few analysis tables, written directly (not by the export) so the report can be tested on a
folder whose every number is known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from janus_core.hashing import H, decimal_str
from janus_core.study.significance import caar_confidence_band

TYPES = ("dividend", "violation", "risk_warning")
#: Per-type CAR samples of the hand-made folder (known answer for the CAAR bands).
CARS: dict[str, list[float]] = {
    "dividend": [0.012, 0.020, -0.004, 0.015, 0.009],
    "violation": [-0.031, -0.018, -0.025, 0.002],
    "risk_warning": [-0.060, -0.041],
}
SYNTHETIC_AUTHORITY = {
    "provenance": "synthetic_generated",
    "maturity": "uncalibrated",
    "authoritative": False,
    "placeholder": False,
    "notes": "built from the bundled synthetic sample; never authoritative",
}


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")


def write_evidence_folder(out: Path, *, with_analysis: bool = True) -> Path:
    """Write the hand-made evidence folder to ``out`` and return it."""
    lineage = {
        "job_run_id": "run-fixture-0001",
        "dataset_snapshot_ref": "synthetic-fixture@1#abc",
        "runtime_version_refs": ["python==3.12"],
        "model_refs": ["policy:type_prior"],
    }
    records, rewards = [], []
    i = 0
    for etype in TYPES:
        for car in CARS[etype]:
            i += 1
            eid = f"e{i:04d}"
            direction = "long" if car > 0 else "short"
            records.append(
                {
                    "event_id": eid,
                    "event_ts": f"2024-01-{i:02d}T01:00:00Z",
                    "symbol": f"S{i:03d}",
                    "seq": None,
                    "event_type": etype,
                    "semantic_direction": direction,
                    "strength_label": "strong" if abs(car) >= 0.0015 * 10 else "weak",
                    "price_t": "10",
                    "price_t_plus_1": decimal_str(10 * (1 + car)),
                    "raw_return": decimal_str(car),
                    "abnormal_return": decimal_str(car),
                    "risk_neutralized_return": decimal_str(car),
                    "car": decimal_str(car),
                    "payload_hash": H({"i": i}),
                    "source": "fixture",
                }
            )
            match = i % 3 != 0
            final = (1.0 if match else -1.5) + 0.1 * i
            rewards.append(
                {
                    "reward_id": f"r{i:04d}",
                    "event_id": eid,
                    "event_ts": records[-1]["event_ts"],
                    "symbol": records[-1]["symbol"],
                    "strategy_id": "type_prior",
                    "action": direction if match else ("short" if direction == "long" else "long"),
                    "expected_direction": direction,
                    "event_type": etype,
                    "predicted_event_type": etype,
                    "direction_gate": "match" if match else "mismatch",
                    "event_type_gate": "match",
                    "pnl_reward": decimal_str(abs(car) if match else 0.0),
                    "magnitude_reward": decimal_str(0.5),
                    "process_reward": decimal_str(0.2),
                    "final_reward_unclipped": decimal_str(final),
                    "final_reward": decimal_str(final),
                    "clipped": False,
                }
            )
    event_doc = {
        "schema_version": "janus-event-car-v1",
        "run_id": "run-fixture-0001",
        "generated_at": "2025-01-25T00:00:00Z",
        "methodology": {
            "abnormal_return_model": "market_model_ols",
            "estimation_window": "120",
            "gap": "10",
            "event_window": "[0, 1]",
            "strength_threshold": "0.015",
            "paper_alignment": ["arXiv:2602.19919 Stage I"],
        },
        "lineage": lineage,
        "records": records,
        "summary": {
            "event_count": len(records),
            "mean_abs_car": "0.02",
            "positive_direction_count": sum(r["semantic_direction"] == "long" for r in records),
            "negative_direction_count": sum(r["semantic_direction"] == "short" for r in records),
            "neutral_direction_count": 0,
            "unknown_event_type_count": 0,
            "strong_event_count": sum(r["strength_label"] == "strong" for r in records),
        },
        "manifest_hash": H(records),
        "artifact_authority": SYNTHETIC_AUTHORITY,
        "promotion_authority_eligible": False,
    }
    reward_doc = {
        "schema_version": "janus-hgrm-reward-v1",
        "run_id": "run-fixture-0001",
        "candidate_id": "cand-<fixture>",
        "generated_at": "2025-01-25T00:00:00Z",
        "reward_version": "hgrm-v1",
        "reward_config": {"kappa": "0.0015", "tau": "0.015", "lambda_dir": "1.5"},
        "lineage": lineage,
        "rewards": rewards,
        "summary": {
            "reward_count": len(rewards),
            "event_mapped_count": len(rewards),
            "event_ambiguous_unmapped_count": 0,
            "clipped_final_reward_count": 0,
            "hard_gate_fail_count": sum(r["direction_gate"] == "mismatch" for r in rewards),
            "direction_gate_pass_ratio": "0.6667",
            "event_type_match_ratio": "1",
            "mean_final_reward": "0.9",
            "mean_pnl_reward": "0.01",
        },
        "manifest_hash": H(rewards),
        "artifact_authority": SYNTHETIC_AUTHORITY,
        "promotion_authority_eligible": False,
    }
    summary = {
        "schema_version": "janus-q-evidence-v1",
        "evidence_complete": False,
        "reasons": ["janus_empirical_authority_missing"],
        "event_car": {
            "schema_version": "janus-event-car-v1",
            "event_count": len(records),
            "manifest_hash": H(records),
            "artifact_ref": "gates/janus-event-car-v1.json",
        },
        "hgrm_reward": {
            "schema_version": "janus-hgrm-reward-v1",
            "reward_count": len(rewards),
            "event_mapped_count": len(rewards),
            "direction_gate_pass_ratio": "0.6667",
            "manifest_hash": H(rewards),
            "artifact_ref": "gates/janus-hgrm-reward-v1.json",
        },
        "artifact_authority": SYNTHETIC_AUTHORITY,
        "promotion_authority_eligible": False,
    }
    _write_json(out / "gates/janus-event-car-v1.json", event_doc)
    _write_json(out / "gates/janus-hgrm-reward-v1.json", reward_doc)
    _write_json(out / "gates/janus-q-evidence-v1.json", summary)
    if with_analysis:
        (out / "analysis").mkdir(parents=True, exist_ok=True)
        rows = [
            {
                "event_type": t,
                "n": len(CARS[t]),
                "caar": float(np.mean(CARS[t])),
                "mean_abs_car": float(np.mean(np.abs(CARS[t]))),
                "std_car": float(np.std(CARS[t], ddof=1)),
            }
            for t in sorted(TYPES)
        ]
        caar_confidence_band(pl.DataFrame(rows), 0.95).with_columns(confidence=pl.lit(0.95)).write_csv(
            out / "analysis/caar_by_type.csv"
        )
        pl.DataFrame(
            {
                "event_type": ["dividend"] * 3 + ["violation"] * 3,
                "rel_day": [0, 1, 2] * 2,
                "n": [5] * 3 + [4] * 3,
                "caar": [0.004, 0.008, 0.0104, -0.01, -0.015, -0.018],
                "ci_low": [0.0, 0.002, 0.0, -0.02, -0.03, -0.04],
                "ci_high": [0.008, 0.014, 0.0216, 0.0, 0.0, 0.0048],
            }
        ).write_csv(out / "analysis/caar_path.csv")
        pl.DataFrame(
            {
                "event_type": ["all", "dividend"],
                "n": [11, 5],
                "caar": [-0.011, 0.0104],
                "t_cs": [-1.5, 2.579],
                "p_cs": [0.16, 0.061],
                "patell_z": [-1.2, 2.1],
                "p_patell": [0.23, 0.036],
            }
        ).write_csv(out / "analysis/significance_by_type.csv")
        pl.DataFrame(
            {
                "event_id": ["x0001", "x0002"],
                "event_type": ["dividend", "industry"],
                "excluded_reason": ["estimation_window_short", "suspended"],
            }
        ).write_csv(out / "analysis/exclusions.csv")
        pl.DataFrame(
            {"event_type": [r["event_type"] for r in records], "car": [float(r["car"]) for r in records]}
        ).write_csv(out / "analysis/labelled_car.csv")
    _write_json(
        out / "run-manifest.json",
        {
            "schema_version": "janus-run-manifest-v1",
            "run_id": "run-fixture-0001",
            "generated_at": "2025-01-25T00:00:00Z",
            "git_commit": "0123456789abcdef",
            "config": {"export": {"dataset": "synthetic-fixture", "decisions": "type_prior"}},
            "dataset": {
                "name": "synthetic-fixture",
                "version": "1",
                "provenance": "synthetic_generated",
                "as_of": "2025-01-25T00:00:00Z",
                "manifest_sha256": "f" * 64,
                "tables": {"events": {"sha256": "a" * 64, "content_hash": "b" * 64, "rows": 11}},
            },
            "packages": {"polars": "x"},
            "sources": {"janus_core/report.py": "c" * 64},
        },
    )
    return out
