"""The lane contract's names (lane-contract.md): the three gate-evidence schemas, where an export
writes them, and the fields of their records and summaries.

Plain constants with no dependencies, so the local gate (:mod:`janus_core.gate`, ``janus gate``)
reads an evidence folder without importing the export machinery; :mod:`janus_core.evidence`
re-exports them.
"""

from __future__ import annotations

EVENT_CAR_SCHEMA = "janus-event-car-v1"
HGRM_REWARD_SCHEMA = "janus-hgrm-reward-v1"
EVIDENCE_SCHEMA = "janus-q-evidence-v1"

EVENT_CAR_REF = "gates/janus-event-car-v1.json"
HGRM_REWARD_REF = "gates/janus-hgrm-reward-v1.json"
EVIDENCE_REF = "gates/janus-q-evidence-v1.json"

EVENT_RECORD_FIELDS: tuple[str, ...] = (
    "event_id", "event_ts", "symbol", "seq", "event_type", "semantic_direction", "strength_label",
    "price_t", "price_t_plus_1", "raw_return", "abnormal_return", "risk_neutralized_return", "car",
    "payload_hash", "source",
)
REWARD_RECORD_FIELDS: tuple[str, ...] = (
    "reward_id", "event_id", "event_ts", "symbol", "strategy_id", "action", "expected_direction",
    "event_type", "predicted_event_type", "direction_gate", "event_type_gate", "pnl_reward",
    "magnitude_reward", "process_reward", "final_reward_unclipped", "final_reward", "clipped",
)
EVENT_SUMMARY_FIELDS: tuple[str, ...] = (
    "event_count", "positive_direction_count", "negative_direction_count", "neutral_direction_count",
    "strong_event_count", "unknown_event_type_count", "mean_abs_car",
)
REWARD_SUMMARY_FIELDS: tuple[str, ...] = (
    "reward_count", "event_mapped_count", "event_ambiguous_unmapped_count", "hard_gate_fail_count",
    "clipped_final_reward_count", "direction_gate_pass_ratio", "event_type_match_ratio",
    "mean_final_reward", "mean_pnl_reward",
)
