"""The lane contract's vocabulary: schema names, file refs, reason codes, record fields, and the
exact decimal and authority rules every evidence file follows (lane-contract.md).

Numbers inside records are decimal strings (``hashing.decimal_str``); summaries are computed from the
written strings with exact decimal arithmetic (:func:`decimal_mean`, :func:`ratio_text`), so a verifier
recomputes them bit for bit. Authority follows the dataset's provenance (:func:`artifact_authority`):
``synthetic_generated`` evidence is never authoritative; ``historical_market_replay`` evidence with
complete lineage is ``empirically_validated`` and eligible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from janus_core.hashing import DECIMAL_PLACES, H, decimal_str

EVENT_CAR_SCHEMA = "janus-event-car-v1"
HGRM_REWARD_SCHEMA = "janus-hgrm-reward-v1"
EVIDENCE_SCHEMA = "janus-q-evidence-v1"
RUN_MANIFEST_SCHEMA = "janus-run-manifest-v1"

EVENT_CAR_REF = "gates/janus-event-car-v1.json"
HGRM_REWARD_REF = "gates/janus-hgrm-reward-v1.json"
EVIDENCE_REF = "gates/janus-q-evidence-v1.json"
RUN_MANIFEST_REF = "run-manifest.json"
SUMMARY_REF = "evidence-summary.json"
#: The review report: derived from the other files, never listed in the run manifest.
REPORT_REF = "report.html"
#: The export's attestation (:mod:`janus_core.signing`): signs the run manifest, so it is not listed in it.
SIGNATURE_REF = "run-manifest.sig.json"
#: Decimal places of the headline numbers in ``evidence-summary.json``.
SUMMARY_PLACES = 6

#: The lane's reason codes of the companion summary (lane-contract.md, janus-q-evidence-v1).
REASON_EVENT_COUNT_MISSING = "janus_event_count_missing"
REASON_REWARD_COUNT_MISSING = "janus_reward_count_missing"
REASON_MAPPING_INCOMPLETE = "janus_reward_event_mapping_incomplete"
REASON_AUTHORITY_MISSING = "janus_empirical_authority_missing"
#: The workbench's own summary reason (not the lane's): a quarantine import or a quarantined decisions
#: file rejected rows of the candidate's universe (:mod:`janus_core.evidence.quarantine`).
REASON_QUARANTINED = "workbench_universe_rows_quarantined"

SEMANTIC_DIRECTION: dict[str, str] = {"positive": "long", "negative": "short", "neutral": "neutral"}

EVENT_RECORD_FIELDS: tuple[str, ...] = (
    "event_id",
    "event_ts",
    "symbol",
    "seq",
    "event_type",
    "semantic_direction",
    "strength_label",
    "price_t",
    "price_t_plus_1",
    "raw_return",
    "abnormal_return",
    "risk_neutralized_return",
    "car",
    "payload_hash",
    "source",
)
REWARD_RECORD_FIELDS: tuple[str, ...] = (
    "reward_id",
    "event_id",
    "event_ts",
    "symbol",
    "strategy_id",
    "action",
    "expected_direction",
    "event_type",
    "predicted_event_type",
    "direction_gate",
    "event_type_gate",
    "pnl_reward",
    "magnitude_reward",
    "process_reward",
    "final_reward_unclipped",
    "final_reward",
    "clipped",
)
#: Numeric reward fields written as decimal strings (``null`` for decisions that did not map).
REWARD_NUMBER_FIELDS: tuple[str, ...] = (
    "pnl_reward",
    "magnitude_reward",
    "process_reward",
    "final_reward_unclipped",
    "final_reward",
)
EVENT_SUMMARY_FIELDS: tuple[str, ...] = (
    "event_count",
    "positive_direction_count",
    "negative_direction_count",
    "neutral_direction_count",
    "strong_event_count",
    "unknown_event_type_count",
    "mean_abs_car",
)
REWARD_SUMMARY_FIELDS: tuple[str, ...] = (
    "reward_count",
    "event_mapped_count",
    "event_ambiguous_unmapped_count",
    "hard_gate_fail_count",
    "clipped_final_reward_count",
    "direction_gate_pass_ratio",
    "event_type_match_ratio",
    "mean_final_reward",
    "mean_pnl_reward",
)
MappingStatus = Literal["mapped", "ambiguous", "unmapped", "event_excluded"]


# --------------------------------------------------------------------------------------------------
# Exact decimal helpers
# --------------------------------------------------------------------------------------------------
def decimal_text(d: Decimal) -> str:
    """Format an exact decimal like ``hashing.decimal_str``: half-even to ``DECIMAL_PLACES`` places,
    trailing zeros stripped, no exponent, ``"0"`` for zero."""
    s = format(d.quantize(Decimal(1).scaleb(-DECIMAL_PLACES), rounding=ROUND_HALF_EVEN), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def decimal_mean(values: Sequence[str]) -> str:
    """Exact mean of decimal strings, ``sum(Decimal(v)) / n`` at 50 significant digits, formatted by
    :func:`decimal_text`; ``"0"`` for an empty sequence."""
    if not values:
        return "0"
    with localcontext() as ctx:
        ctx.prec = 50
        return decimal_text(sum((Decimal(v) for v in values), Decimal(0)) / Decimal(len(values)))


def ratio_text(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as a decimal string; ``"0"`` when the denominator is zero."""
    if denominator == 0:
        return "0"
    with localcontext() as ctx:
        ctx.prec = 50
        return decimal_text(Decimal(numerator) / Decimal(denominator))


def iso_utc(ts: datetime) -> str:
    """A UTC ISO-8601 timestamp ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z``, the same text as the data
    layer's ``event_ts_iso`` (the event-id input): fraction omitted when zero, 3 digits for whole
    milliseconds, else 6. Naive values are taken as UTC."""
    ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond % 1000:
        text += f".{ts.microsecond:06d}"
    elif ts.microsecond:
        text += f".{ts.microsecond // 1000:03d}"
    return text + "Z"


def stringify_constants(obj: Any) -> Any:
    """Every constant of a config as a string (``reward_config`` of the lane): numbers via
    ``decimal_str``, booleans as ``"true"``/``"false"``, nested mappings and lists kept as such."""
    if isinstance(obj, Mapping):
        return {str(k): stringify_constants(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [stringify_constants(v) for v in obj]
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, (int, float)):
        return decimal_str(obj)
    if obj is None:
        return None
    return str(obj)


def _num(x: Any) -> str | None:
    """A record number: a decimal string, ``None`` for a missing value (NaN is missing, never written)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return decimal_str(x)


def config_json(obj: Any) -> Any:
    """Config dumps as plain JSON values (paths, dates and tuples converted, keys as strings)."""
    if isinstance(obj, BaseModel):
        return config_json(obj.model_dump(mode="json"))
    if isinstance(obj, Mapping):
        return {str(k): config_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [config_json(v) for v in obj]
    if isinstance(obj, (Path, date)):
        return str(obj)
    if isinstance(obj, float):
        return decimal_str(obj)
    return obj


# --------------------------------------------------------------------------------------------------
# Authority and lineage
# --------------------------------------------------------------------------------------------------
def lineage_complete(lineage: Mapping[str, Any]) -> bool:
    """The lane's lineage rule: non-empty ``job_run_id`` and ``dataset_snapshot_ref``, at least one
    ``runtime_version_refs`` and one ``model_refs`` entry."""
    return bool(
        lineage.get("job_run_id")
        and lineage.get("dataset_snapshot_ref")
        and lineage.get("runtime_version_refs")
        and lineage.get("model_refs")
    )


def artifact_authority(provenance: str, lineage: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """``(artifact_authority, promotion_authority_eligible)`` derived from the dataset provenance.

    - ``historical_market_replay`` with complete lineage: maturity ``empirically_validated``,
      authoritative, eligible.
    - ``historical_market_replay`` with incomplete lineage: ``calibrated``, not authoritative, not
      eligible (fail closed).
    - ``synthetic_generated``: ``uncalibrated``, never authoritative nor eligible.
    - any other value: ``non_promotable_validation``, maturity ``stub`` (fail closed).
    """
    if provenance == "historical_market_replay" and lineage_complete(lineage):
        shown, maturity, notes = (
            provenance,
            "empirically_validated",
            "historical market replay with complete lineage (dataset snapshot, job run, runtime and model refs)",
        )
    elif provenance == "historical_market_replay":
        shown, maturity = provenance, "calibrated"
        notes = "historical market replay with incomplete lineage: not promotion evidence"
    elif provenance == "synthetic_generated":
        shown, maturity = provenance, "uncalibrated"
        notes = "built from synthetic generated data: never authoritative, never promotion evidence"
    else:
        shown, maturity = "non_promotable_validation", "stub"
        notes = f"unknown dataset provenance {provenance!r}: not promotion evidence"
    eligible = maturity == "empirically_validated"
    authority = {
        "provenance": shown,
        "maturity": maturity,
        "authoritative": eligible,
        "placeholder": False,
        "notes": notes,
    }
    return authority, eligible


def seal_lineage(lineage: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``lineage_hash = H(lineage without lineage_hash)`` to a lineage object."""
    body = {k: v for k, v in lineage.items() if k != "lineage_hash"}
    return {**body, "lineage_hash": H(body)}
