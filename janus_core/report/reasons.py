"""Every reason code of the lane contract (lane-contract.md), and the workbench's own codes, in plain
words for the reviewer."""

from __future__ import annotations

#: Every reason code of the lane contract (lane-contract.md), in plain words for the reviewer.
REASON_TEXT: dict[str, str] = {
    # janus-q-evidence-v1 summary
    "janus_event_count_missing": "The evidence contains no events, so there is no event study to rely on.",
    "janus_reward_count_missing": "The evidence contains no reward rows: no decision of the candidate was scored.",
    "janus_reward_event_mapping_incomplete": (
        "Some of the candidate's decisions could not be matched to exactly one event, so not every reward "
        "is backed by an event's CAR."
    ),
    "janus_empirical_authority_missing": (
        "At least one of the event-CAR and reward artifacts is not authoritative empirical evidence "
        "(for example it was built from synthetic data)."
    ),
    # authority and lineage truthfulness
    "artifact_authority_missing": "An artifact does not declare its authority (provenance, maturity, authoritative).",
    "artifact_authority_provenance_invalid": (
        "An artifact's provenance is not a historical market replay or an observed paper/live run, "
        "so it cannot count as evidence (synthetic or placeholder data never can)."
    ),
    "artifact_authority_maturity_invalid": "An artifact's maturity is not 'empirically_validated'.",
    "artifact_authority_not_authoritative": "An artifact is marked as not authoritative.",
    "artifact_authority_placeholder": "An artifact is marked as a placeholder.",
    "promotion_authority_ineligible": "An artifact is marked as not eligible to support a promotion.",
    "lineage_dataset_snapshot_ref_missing": "An artifact's lineage does not name the dataset snapshot it was built from.",
    "lineage_job_run_id_missing": "An artifact's lineage does not name the job run that produced it.",
    "lineage_runtime_version_refs_missing": "An artifact's lineage names no runtime (software) version.",
    "lineage_model_refs_missing": "An artifact's lineage names no model.",
    # gate 6, profitability evidence
    "janus_q_evidence_schema_invalid": "The Janus-Q evidence summary does not match its schema; checking stopped there.",
    "janus_q_evidence_incomplete": "The Janus-Q evidence summary says the evidence is incomplete.",
    "janus_event_car_schema_invalid": "The event-CAR artifact does not match the janus-event-car-v1 schema.",
    "janus_event_car_count_below_threshold": "There are fewer events than the gate-6 policy requires.",
    "janus_hgrm_reward_schema_invalid": "The reward artifact does not match the janus-hgrm-reward-v1 schema.",
    "janus_hgrm_reward_count_below_threshold": "There are fewer reward rows than the gate-6 policy requires.",
    # promotion prerequisites
    "required_artifacts_missing": "Artifacts the promotion target requires are missing.",
    "janus_event_car_artifact_missing": "The event-CAR artifact file is missing.",
    "janus_event_car_count_below_minimum": "There are fewer events than the promotion policy's minimum.",
    "janus_hgrm_reward_artifact_missing": "The reward artifact file is missing.",
    "janus_hgrm_reward_count_below_minimum": "There are fewer reward rows than the promotion policy's minimum.",
    "janus_q_evidence_missing": "The Janus-Q evidence summary file is missing.",
    "janus_event_car_evidence_insufficient": (
        "The event-CAR artifact is not truthful evidence (its authority or lineage falls short)."
    ),
    "janus_hgrm_reward_evidence_insufficient": (
        "The reward artifact is not truthful evidence (its authority or lineage falls short)."
    ),
    # live target policy
    "live_rollout_disabled_by_policy": "Live rollout is switched off by policy; no evidence can promote to live.",
    "approval_token_missing": "Promotion to live needs a human approval token, and none was given.",
    # the workbench's research verdict (janus_core.evidence.research_policy)
    "research_metrics_missing": "The evidence has no backtest metrics of the candidate, so its performance is unknown.",
    "research_too_few_trades": "The candidate made too few trades in the backtest for its performance to mean anything.",
    "research_test_window_too_short": "The backtest window is too short to judge the candidate's performance.",
    "research_sharpe_not_positive": (
        "The candidate's Sharpe ratio is not above zero with confidence: its interval reaches zero or below."
    ),
    "research_not_beating_baseline": (
        "The candidate does not beat its naive baseline with confidence (the interval of the Sharpe difference "
        "reaches zero or below)."
    ),
    "research_deflated_sharpe_missing": (
        "No Deflated Sharpe Ratio: the number of configurations tried before this one is unknown."
    ),
    "research_deflated_sharpe_below_threshold": (
        "After accounting for the configurations tried, the Sharpe ratio is not convincingly positive "
        "(Deflated Sharpe Ratio below the policy's threshold)."
    ),
    # the workbench's own codes (not the lane's)
    "workbench_universe_rows_quarantined": (
        "Rows of the candidate's universe (its decisions, or events, prices, exposures, securities or benchmark "
        "rows its securities need) were rejected when the data was imported, so the evidence covers less than "
        "its inputs; see the rows rejected at import."
    ),
    "workbench_evidence_integrity_failed": (
        "The evidence folder did not verify (a file, hash, record or claim was changed, is missing or "
        "contradicts another), so nothing in it can be trusted; the workbench's gate fails closed."
    ),
}

UNKNOWN_REASON_TEXT = "This code is not in the lane contract this report knows; treat it as blocking."


def reason_sentence(code: str) -> str:
    """The plain-English sentence for a lane reason code. A code qualified by an artifact
    (``prefix:code`` or ``prefix.code``) uses its last part; an unknown code says it is unknown."""
    if code in REASON_TEXT:
        return REASON_TEXT[code]
    for sep in (":", "."):
        tail = code.rsplit(sep, 1)[-1]
        if tail in REASON_TEXT:
            return REASON_TEXT[tail]
    return UNKNOWN_REASON_TEXT
