"""Gate evidence: the lane's three Janus files, the run manifest and the reviewer's analysis folder.

One export turns a dataset, a strategy's decisions and the CAR / label / reward configs into the files
the promotion lane reads (lane-contract.md; every field name and string value exact):

``OUT/`` layout
---------------
- ``gates/janus-event-car-v1.json``: one record per *included* event (CAR, direction, strength).
- ``gates/janus-hgrm-reward-v1.json``: one record per decision with its HGRM reward; decisions that map
  to no included event are records too (``mapping_status`` != ``mapped``, reward numbers ``null``),
  so ``event_mapped_count < reward_count`` and the summary reports
  ``janus_reward_event_mapping_incomplete``.
- ``gates/janus-q-evidence-v1.json``: the companion summary tying the two together.
- ``analysis/labelled_car.csv``: every input event once, with its CAR and labels or its
  ``excluded_reason``.
- ``analysis/exclusions.csv``: the excluded events and why (also counted in the event-car summary as
  the extra fields ``input_event_count`` and ``excluded_event_count``).
- ``analysis/caar_by_type.csv``: mean CAR (CAAR), mean |CAR|, cross-sectional t statistic and count
  per event type over the included events.
- ``analysis/decision_mapping.csv``: every decision, the event it maps to and how.
- ``analysis/rewards.csv``: the reward rows with every component the reward module reports.
- ``analysis/caar_path.csv``, ``significance_by_type.csv``, ``tau_sweep.csv``, ``ablations.csv``,
  ``constant_policy_check.csv``, ``nav.csv``, ``holding_period_sweep.csv``, ``metrics.csv`` and
  ``skipped.csv``: the research tables of :mod:`janus_core.evidence_analysis` (CAAR through the
  event window and the event-study test statistics, strength threshold, reward ablations and
  hacking check, backtest NAVs of the candidate, baselines and benchmarks, holding-period sweep,
  Sharpe and DA with bootstrap intervals; ``skipped`` names any that could not be computed and why).
- ``evidence-summary.json``: counts, reasons and a few rounded headline numbers
  (:func:`export_summary`; the notebook's ``<name>-summary.json``).
- ``dspy/`` (only with ``dspy_bundle=True``): see :mod:`janus_core.dspy_bundle`.
- ``run-manifest.json``: input table digests, the dataset's provenance, as-of time, source and
  licence (from its manifest, so the evidence stands without the data folder), the full config and
  its hash, package versions, git commit, SHA-256 of every ``janus_core`` module and notebook, the
  SHA-256 of every other file of the export, and ``self_hash = H(manifest without self_hash)``. Every JSON file is written in one
  canonical byte form (:func:`dumps`), so :func:`janus_core.verify.verify_evidence` catches any edit
  of any byte.
- ``report.html`` (unless ``report=False``): the reviewer's self-contained report
  (:func:`janus_core.report.render_report` for ``report_target``), a view derived from the files
  above; it is rendered last and cannot be listed in the run manifest it shows, so verification
  leaves it out.

Hashing and numbers: ``H`` is the lane's canonical hash (:mod:`janus_core.hashing`); numbers inside
records are decimal strings (``hashing.decimal_str``), counts are integers, ``seq`` stays an integer
identifier (or ``null``); ``manifest_hash = H(records)`` (or ``H(rewards)``). Summaries are computed
from the written strings with exact decimal arithmetic, so a verifier recomputes them bit for bit.

Authority follows the dataset's provenance: ``synthetic_generated`` evidence is never authoritative;
``historical_market_replay`` evidence with complete lineage is ``empirically_validated`` and eligible.

Determinism: ``run_id`` is derived from the config hash and the input digests; ``generated_at`` from
``SOURCE_DATE_EPOCH`` (config field, else environment), else the dataset's as-of time; records are
sorted explicitly. Atomicity: every file is rendered in memory, written to a hidden sibling folder,
the report is rendered from that complete folder, and only then is it renamed into place; an old
``OUT`` is replaced only once the new one is complete.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

import janus_core
from janus_core.evidence_analysis import AnalysisConfig
from janus_core.hashing import DECIMAL_PLACES, H, decimal_str, sha256_bytes, sha256_file
from janus_core.lane_contract import (
    EVENT_CAR_REF,
    EVENT_CAR_SCHEMA,
    EVENT_RECORD_FIELDS,
    EVENT_SUMMARY_FIELDS,
    EVIDENCE_REF,
    EVIDENCE_SCHEMA,
    HGRM_REWARD_REF,
    HGRM_REWARD_SCHEMA,
    REWARD_RECORD_FIELDS,
    REWARD_SUMMARY_FIELDS,
)

RUN_MANIFEST_SCHEMA = "janus-run-manifest-v1"

RUN_MANIFEST_REF = "run-manifest.json"
SUMMARY_REF = "evidence-summary.json"
#: The review report: derived from the other files, never listed in the run manifest.
REPORT_REF = "report.html"
#: Decimal places of the headline numbers in ``evidence-summary.json``.
SUMMARY_PLACES = 6

#: The lane's reason codes of the companion summary (lane-contract.md, janus-q-evidence-v1).
REASON_EVENT_COUNT_MISSING = "janus_event_count_missing"
REASON_REWARD_COUNT_MISSING = "janus_reward_count_missing"
REASON_MAPPING_INCOMPLETE = "janus_reward_event_mapping_incomplete"
REASON_AUTHORITY_MISSING = "janus_empirical_authority_missing"

SEMANTIC_DIRECTION: dict[str, str] = {"positive": "long", "negative": "short", "neutral": "neutral"}

#: Numeric reward fields written as decimal strings (``null`` for decisions that did not map).
REWARD_NUMBER_FIELDS: tuple[str, ...] = (
    "pnl_reward", "magnitude_reward", "process_reward", "final_reward_unclipped", "final_reward",
)
MappingStatus = Literal["mapped", "ambiguous", "unmapped", "event_excluded"]


# --------------------------------------------------------------------------------------------------
# Serialisation and exact decimal helpers
# --------------------------------------------------------------------------------------------------
def _indented(obj: Any, pad: str, out: list[str]) -> None:
    """Append the ``json.dumps(sort_keys=True, indent=2, ensure_ascii=True)`` text of ``obj`` at
    indentation ``pad`` to ``out``. Only JSON-native values (str keys, str/int/bool/None, lists,
    tuples, dicts) are accepted; anything else raises ``TypeError``."""
    if isinstance(obj, str):
        out.append(encode_basestring_ascii(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif type(obj) is int:
        out.append(int.__repr__(obj))
    elif isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        inner = pad + "  "
        out.append("{")
        first = True
        for key in sorted(obj):
            if not isinstance(key, str):
                raise TypeError(f"non-string key {key!r}")
            out.append(("\n" if first else ",\n") + inner + encode_basestring_ascii(key) + ": ")
            _indented(obj[key], inner, out)
            first = False
        out.append("\n" + pad + "}")
    elif isinstance(obj, (list, tuple)):
        if not obj:
            out.append("[]")
            return
        inner = pad + "  "
        out.append("[")
        for i, item in enumerate(obj):
            out.append(("\n" if i == 0 else ",\n") + inner)
            _indented(item, inner, out)
        out.append("\n" + pad + "]")
    else:
        raise TypeError(f"not a JSON-native value: {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    """The one byte form of every JSON file of an export:
    ``json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\\n"`` as UTF-8.

    Evidence holds only strings, integers, booleans and nulls (numbers are decimal strings), which
    a direct writer renders several times faster than ``json``'s pure-Python indenting encoder, to
    the same bytes (tested); anything else goes through ``json.dumps`` itself."""
    out: list[str] = []
    try:
        _indented(obj, "", out)
    except TypeError:
        return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode("utf-8")
    out.append("\n")
    return "".join(out).encode("utf-8")


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


def _jsonable(obj: Any) -> Any:
    """Config dumps as plain JSON values (paths, dates and tuples converted, keys as strings)."""
    if isinstance(obj, BaseModel):
        return _jsonable(obj.model_dump(mode="json"))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
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
        return (
            {"provenance": provenance, "maturity": "empirically_validated", "authoritative": True,
             "placeholder": False,
             "notes": "historical market replay with complete lineage (dataset snapshot, job run, "
                      "runtime and model refs)"},
            True,
        )
    if provenance == "historical_market_replay":
        return (
            {"provenance": provenance, "maturity": "calibrated", "authoritative": False, "placeholder": False,
             "notes": "historical market replay with incomplete lineage: not promotion evidence"},
            False,
        )
    if provenance == "synthetic_generated":
        return (
            {"provenance": provenance, "maturity": "uncalibrated", "authoritative": False, "placeholder": False,
             "notes": "built from synthetic generated data: never authoritative, never promotion evidence"},
            False,
        )
    return (
        {"provenance": "non_promotable_validation", "maturity": "stub", "authoritative": False,
         "placeholder": False, "notes": f"unknown dataset provenance {provenance!r}: not promotion evidence"},
        False,
    )


def seal_lineage(lineage: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``lineage_hash = H(lineage without lineage_hash)`` to a lineage object."""
    body = {k: v for k, v in lineage.items() if k != "lineage_hash"}
    return {**body, "lineage_hash": H(body)}


# --------------------------------------------------------------------------------------------------
# janus-event-car-v1
# --------------------------------------------------------------------------------------------------
def event_payload(headline: str | None, body: str | None) -> str:
    """The text an event id and ``payload_hash`` are derived from, as the data layer derives ids:
    ``headline + "\\n" + body`` (an absent body as the empty string)."""
    return f"{headline or ''}\n{body or ''}"


def event_car_records(labelled: pl.DataFrame) -> list[dict[str, Any]]:
    """One ``janus-event-car-v1`` record per included event (``excluded_reason`` null) of the labelled
    CAR table, sorted by (published_at, symbol, seq, event_id).

    ``semantic_direction``: positive -> long, negative -> short, neutral -> neutral;
    ``payload_hash = H(event_payload(headline, body))``.
    """
    included = labelled.filter(pl.col("excluded_reason").is_null()).sort(
        ["published_at", "symbol", "seq", "event_id"], nulls_last=True, maintain_order=True
    )
    has_body = "body" in included.columns
    records: list[dict[str, Any]] = []
    for row in included.iter_rows(named=True):
        direction = row["direction"]
        if direction not in SEMANTIC_DIRECTION:
            raise ValueError(f"labelled CAR table, event {row['event_id']}: column direction has {direction!r}; "
                             f"rule: one of {sorted(SEMANTIC_DIRECTION)}")
        records.append({
            "event_id": row["event_id"],
            "event_ts": iso_utc(row["published_at"]),
            "symbol": row["symbol"],
            "seq": row["seq"],
            "event_type": row["event_type"],
            "semantic_direction": SEMANTIC_DIRECTION[direction],
            "strength_label": row["strength"],
            "price_t": _num(row["price_t"]),
            "price_t_plus_1": _num(row["price_t_plus_1"]),
            "raw_return": _num(row["raw_return"]),
            "abnormal_return": _num(row["abnormal_return"]),
            "risk_neutralized_return": _num(row["risk_neutralized_return"]),
            "car": _num(row["car"]),
            "payload_hash": H(event_payload(row["headline"], row["body"] if has_body else None)),
            "source": row["source"],
            "event_day": row["event_day"].isoformat() if row["event_day"] is not None else None,
            "model": row["model"],
            "alpha": _num(row["alpha"]),
            "beta": _num(row["beta"]),
            "sigma": _num(row["sigma"]),
            "estimation_days": row["estimation_days"],
            "car_mm": _num(row["car_mm"]),
        })
    return records


def event_car_summary(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The contract's event-car summary, computed from the written records: counts by
    ``semantic_direction``, strong events, ``unknown`` event types, and the exact mean |car|."""
    return {
        "event_count": len(records),
        "positive_direction_count": sum(r["semantic_direction"] == "long" for r in records),
        "negative_direction_count": sum(r["semantic_direction"] == "short" for r in records),
        "neutral_direction_count": sum(r["semantic_direction"] == "neutral" for r in records),
        "strong_event_count": sum(r["strength_label"] == "strong" for r in records),
        "unknown_event_type_count": sum(r["event_type"] == "unknown" for r in records),
        "mean_abs_car": decimal_mean([r["car"].lstrip("-") for r in records]),
    }


# --------------------------------------------------------------------------------------------------
# Decision-to-event mapping
# --------------------------------------------------------------------------------------------------
def map_decisions(decisions: pl.DataFrame, labelled: pl.DataFrame) -> pl.DataFrame:
    """Map each decision to an event, the lane's way, and keep every decision once.

    Adds ``decision_index`` (input position), ``event_id`` (resolved, null when not mapped) and
    ``mapping_status``:

    - a decision with an ``event_id`` maps to that event;
    - otherwise by (``event_ts``, ``symbol``, ``seq``) when the decision has a seq; with no seq only
      when exactly one event has that (event_ts, symbol), else ``ambiguous``;
    - no matching event: ``unmapped``; the matching event is excluded from the CAR table (no CAR):
      ``event_excluded``.

    ``event_ts`` of a decision is a UTC ISO-8601 string or datetime compared to the event's
    ``published_at``.
    """
    events = labelled.select("event_id", "symbol", "seq", "published_at", "excluded_reason")
    by_id = {r["event_id"]: r for r in events.iter_rows(named=True)}
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in events.sort("event_id").iter_rows(named=True):
        by_key.setdefault((iso_utc(r["published_at"]), r["symbol"]), []).append(r)

    cols = decisions.columns
    resolved: list[str | None] = []
    status: list[MappingStatus] = []
    for row in decisions.iter_rows(named=True):
        event = None
        state: MappingStatus = "unmapped"
        given = row.get("event_id") if "event_id" in cols else None
        if given is not None:
            event = by_id.get(given)
        elif "event_ts" in cols and "symbol" in cols and row.get("event_ts") is not None:
            ts = row["event_ts"]
            key = (iso_utc(ts) if isinstance(ts, datetime) else iso_utc(datetime.fromisoformat(
                str(ts).replace("Z", "+00:00"))), row["symbol"])
            matches = by_key.get(key, [])
            seq = row.get("seq") if "seq" in cols else None
            if seq is not None:
                matches = [m for m in matches if m["seq"] == seq]
                event = matches[0] if len(matches) == 1 else None
                state = "ambiguous" if len(matches) > 1 else "unmapped"
            elif len(matches) == 1:
                event = matches[0]
            elif len(matches) > 1:
                state = "ambiguous"
        if event is not None:
            state = "mapped" if event["excluded_reason"] is None else "event_excluded"
        resolved.append(event["event_id"] if event is not None and state == "mapped" else None)
        status.append(state)
    base = decisions.drop("event_id") if "event_id" in cols else decisions
    return base.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("decision_index"),
        pl.Series("event_id", resolved, dtype=pl.String),
        pl.Series("mapping_status", status, dtype=pl.String),
    )


# --------------------------------------------------------------------------------------------------
# janus-hgrm-reward-v1
# --------------------------------------------------------------------------------------------------
def reward_records(mapped: pl.DataFrame, scored: pl.DataFrame, labelled: pl.DataFrame,
                   candidate_id: str) -> list[dict[str, Any]]:
    """One ``janus-hgrm-reward-v1`` record per decision, in decision order.

    ``mapped`` is :func:`map_decisions`' output; ``scored`` is the reward module's rows for the mapped
    decisions, carrying ``decision_index``. A decision that did not map keeps its identity fields and
    ``mapping_status``; its gates and reward numbers are ``null``.
    ``reward_id = H({candidate_id, strategy_id, decision_index, event_id})[:24]``.
    """
    scored_by_index = {r["decision_index"]: r for r in scored.iter_rows(named=True)}
    events = {r["event_id"]: r for r in labelled.select("event_id", "symbol", "published_at", "event_type")
              .iter_rows(named=True)}
    missing = [i for i, s in zip(mapped["decision_index"], mapped["mapping_status"])
               if s == "mapped" and i not in scored_by_index]
    if missing:
        raise ValueError(f"reward rows: decisions {missing[:5]} mapped to an event but the reward module "
                         f"returned no row for them; rule: one reward row per mapped decision")
    records: list[dict[str, Any]] = []
    for row in mapped.sort("decision_index").iter_rows(named=True):
        idx = row["decision_index"]
        event = events.get(row["event_id"]) if row["event_id"] is not None else None
        s = scored_by_index.get(idx) if row["mapping_status"] == "mapped" else None
        rec: dict[str, Any] = {
            "reward_id": H({"candidate_id": candidate_id, "strategy_id": row["strategy_id"],
                            "decision_index": idx, "event_id": row["event_id"]})[:24],
            "event_id": row["event_id"],
            "event_ts": iso_utc(event["published_at"]) if event is not None else None,
            "symbol": event["symbol"] if event is not None else row.get("symbol"),
            "strategy_id": row["strategy_id"],
            "action": row["action"],
            "expected_direction": s["expected_direction"] if s else None,
            "event_type": event["event_type"] if event is not None else None,
            "predicted_event_type": row.get("predicted_event_type"),
            "direction_gate": s["direction_gate"] if s else None,
            "event_type_gate": s["event_type_gate"] if s else None,
            "clipped": bool(s["clipped"]) if s else False,
            "decision_index": idx,
            "mapping_status": row["mapping_status"],
        }
        for f in REWARD_NUMBER_FIELDS:
            rec[f] = _num(s[f]) if s else None
        records.append(rec)
    return records


def reward_summary(rewards: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The contract's reward summary, computed from the written reward records.

    ``hard_gate_fail_count``: direction gate ``mismatch``; ``direction_gate_pass_ratio``: share of all
    rewards whose direction gate is ``match``; ``event_type_match_ratio``: share of all rewards whose
    event-type gate is ``match`` (unmapped decisions count as neither, so they lower both ratios);
    means are exact over the mapped rewards.
    """
    n = len(rewards)
    mapped = [r for r in rewards if r["mapping_status"] == "mapped"]
    return {
        "reward_count": n,
        "event_mapped_count": len(mapped),
        "event_ambiguous_unmapped_count": n - len(mapped),
        "hard_gate_fail_count": sum(r["direction_gate"] == "mismatch" for r in rewards),
        "clipped_final_reward_count": sum(bool(r["clipped"]) for r in rewards),
        "direction_gate_pass_ratio": ratio_text(sum(r["direction_gate"] == "match" for r in rewards), n),
        "event_type_match_ratio": ratio_text(sum(r["event_type_gate"] == "match" for r in rewards), n),
        "mean_final_reward": decimal_mean([r["final_reward"] for r in mapped]),
        "mean_pnl_reward": decimal_mean([r["pnl_reward"] for r in mapped]),
    }


# --------------------------------------------------------------------------------------------------
# janus-q-evidence-v1
# --------------------------------------------------------------------------------------------------
def evidence_summary(event_doc: Mapping[str, Any], reward_doc: Mapping[str, Any]) -> dict[str, Any]:
    """The companion summary of the two child files, with the contract's reason codes:
    no events, no rewards, mapped < rewards, either child not authoritative (or not eligible)."""
    ev_sum, rw_sum = event_doc["summary"], reward_doc["summary"]
    reasons: list[str] = []
    if ev_sum["event_count"] == 0:
        reasons.append(REASON_EVENT_COUNT_MISSING)
    if rw_sum["reward_count"] == 0:
        reasons.append(REASON_REWARD_COUNT_MISSING)
    if rw_sum["event_mapped_count"] < rw_sum["reward_count"]:
        reasons.append(REASON_MAPPING_INCOMPLETE)
    authoritative = all(
        d["artifact_authority"]["authoritative"] is True and d["promotion_authority_eligible"] is True
        for d in (event_doc, reward_doc)
    )
    if not authoritative:
        reasons.append(REASON_AUTHORITY_MISSING)
    return {
        "schema_version": EVIDENCE_SCHEMA,
        "evidence_complete": not reasons,
        "reasons": reasons,
        "event_car": {
            "schema_version": event_doc["schema_version"],
            "event_count": ev_sum["event_count"],
            "manifest_hash": event_doc["manifest_hash"],
            "artifact_ref": EVENT_CAR_REF,
        },
        "hgrm_reward": {
            "schema_version": reward_doc["schema_version"],
            "reward_count": rw_sum["reward_count"],
            "event_mapped_count": rw_sum["event_mapped_count"],
            "direction_gate_pass_ratio": rw_sum["direction_gate_pass_ratio"],
            "manifest_hash": reward_doc["manifest_hash"],
            "artifact_ref": HGRM_REWARD_REF,
        },
        "artifact_authority": event_doc["artifact_authority"] if authoritative else {
            **event_doc["artifact_authority"], "authoritative": False},
        "promotion_authority_eligible": authoritative,
        "run_id": event_doc["run_id"],
        "candidate_id": reward_doc["candidate_id"],
        "generated_at": event_doc["generated_at"],
    }


# --------------------------------------------------------------------------------------------------
# The three documents from computed tables
# --------------------------------------------------------------------------------------------------
class EvidenceContext(BaseModel):
    """Everything about a run the evidence documents state besides the tables themselves."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    generated_at: str
    candidate_id: str
    provenance: str
    dataset_snapshot_ref: str
    dataset_snapshot_hash: str
    config_hash: str
    input_digest_hash: str
    runtime_version_refs: list[str]
    model_refs: list[str]
    methodology: dict[str, Any]
    reward_version: str
    reward_config: dict[str, Any]


class EvidenceDocs(BaseModel):
    """The three lane documents of one export, as JSON objects."""

    event_car: dict[str, Any]
    hgrm_reward: dict[str, Any]
    evidence: dict[str, Any]


def build_evidence_docs(labelled: pl.DataFrame, mapped: pl.DataFrame, scored: pl.DataFrame,
                        ctx: EvidenceContext) -> EvidenceDocs:
    """Assemble ``janus-event-car-v1``, ``janus-hgrm-reward-v1`` and ``janus-q-evidence-v1`` from the
    labelled CAR table, the decision mapping and the reward rows (pure: same inputs, same objects)."""
    lineage = seal_lineage({
        "job_run_id": ctx.run_id,
        "dataset_snapshot_ref": ctx.dataset_snapshot_ref,
        "runtime_version_refs": list(ctx.runtime_version_refs),
        "model_refs": list(ctx.model_refs),
        "dataset_snapshot_hash": ctx.dataset_snapshot_hash,
        "config_hash": ctx.config_hash,
        "input_digest_hash": ctx.input_digest_hash,
    })
    authority, eligible = artifact_authority(ctx.provenance, lineage)
    records = event_car_records(labelled)
    excluded = labelled.filter(pl.col("excluded_reason").is_not_null()).height
    event_doc = {
        "schema_version": EVENT_CAR_SCHEMA,
        "run_id": ctx.run_id,
        "generated_at": ctx.generated_at,
        "methodology": ctx.methodology,
        "lineage": lineage,
        "records": records,
        "summary": {**event_car_summary(records), "input_event_count": labelled.height,
                    "excluded_event_count": excluded},
        "manifest_hash": H(records),
        "artifact_authority": authority,
        "promotion_authority_eligible": eligible,
    }
    rewards = reward_records(mapped, scored, labelled, ctx.candidate_id)
    reward_doc = {
        "schema_version": HGRM_REWARD_SCHEMA,
        "run_id": ctx.run_id,
        "candidate_id": ctx.candidate_id,
        "generated_at": ctx.generated_at,
        "reward_version": ctx.reward_version,
        "reward_config": ctx.reward_config,
        "lineage": lineage,
        "rewards": rewards,
        "summary": reward_summary(rewards),
        "manifest_hash": H(rewards),
        "artifact_authority": authority,
        "promotion_authority_eligible": eligible,
    }
    return EvidenceDocs(event_car=event_doc, hgrm_reward=reward_doc,
                        evidence=evidence_summary(event_doc, reward_doc))


# --------------------------------------------------------------------------------------------------
# Analysis tables
# --------------------------------------------------------------------------------------------------
def caar_by_type(labelled: pl.DataFrame) -> pl.DataFrame:
    """Per event type over included events: ``n``, CAAR = mean(car), mean |car|, std(car) (ddof 1)
    and the cross-sectional t statistic ``CAAR / (std / sqrt(n))`` (null when n < 2 or std = 0)."""
    inc = labelled.filter(pl.col("excluded_reason").is_null())
    out = inc.group_by("event_type").agg(
        pl.len().alias("n"),
        pl.col("car").mean().alias("caar"),
        pl.col("car").abs().mean().alias("mean_abs_car"),
        pl.col("car").std(ddof=1).alias("std_car"),
    ).sort("event_type")
    return out.with_columns(
        pl.when((pl.col("n") >= 2) & (pl.col("std_car") > 0))
        .then(pl.col("caar") / (pl.col("std_car") / pl.col("n").cast(pl.Float64).sqrt()))
        .otherwise(None).alias("t_stat")
    )


#: Decimal places of floats in the analysis CSVs: far below any research-relevant digit, and above
#: the last-ulp noise of multi-threaded float sums upstream (e.g. a group mean), so the bytes do
#: not depend on the thread count.
ANALYSIS_FLOAT_PLACES = 12


def _csv(df: pl.DataFrame) -> bytes:
    """CSV bytes of a flat frame (UTF-8, floats with ``ANALYSIS_FLOAT_PLACES`` decimals)."""
    return df.write_csv(float_precision=ANALYSIS_FLOAT_PLACES).encode("utf-8")


def analysis_tables(labelled: pl.DataFrame, mapped: pl.DataFrame, scored: pl.DataFrame) -> dict[str, bytes]:
    """The reviewer's tables (see the module docstring), as CSV bytes keyed by path relative to OUT."""
    flat = labelled.select([c for c, t in labelled.schema.items() if not isinstance(t, (pl.List, pl.Struct,
                                                                                        pl.Array))])
    ordered = flat.sort(["published_at", "symbol", "seq", "event_id"], nulls_last=True, maintain_order=True)
    return {
        "analysis/labelled_car.csv": _csv(ordered),
        "analysis/exclusions.csv": _csv(ordered.filter(pl.col("excluded_reason").is_not_null()).select(
            "event_id", "symbol", "published_at", "event_type", "excluded_reason")),
        "analysis/caar_by_type.csv": _csv(caar_by_type(labelled)),
        "analysis/decision_mapping.csv": _csv(mapped.sort("decision_index").select(
            [c for c, t in mapped.schema.items() if not isinstance(t, (pl.List, pl.Struct, pl.Array))])),
        "analysis/rewards.csv": _csv(scored.sort("decision_index").select(
            [c for c, t in scored.schema.items() if not isinstance(t, (pl.List, pl.Struct, pl.Array))])),
    }


# --------------------------------------------------------------------------------------------------
# Atomic output
# --------------------------------------------------------------------------------------------------
def _write_file(path: Path, data: bytes) -> None:
    """Write bytes and fsync them (the single file writer of an export)."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_tree_atomically(out_dir: Path, files: Mapping[str, bytes],
                          finish: Callable[[Path], None] | None = None) -> None:
    """Write ``files`` (relative path -> bytes) as the folder ``out_dir``, all or nothing.

    The files go to a hidden sibling temp folder; ``finish(temp_folder)``, when given, then adds what
    is derived from the complete folder (the report); then the temp folder is renamed to ``out_dir``.
    An existing ``out_dir`` is first renamed aside and deleted only after the new folder is in place.
    Any exception removes the temp folder and leaves the old ``out_dir`` (or none) as it was.
    """
    out_dir = Path(os.path.abspath(out_dir))
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would make the published folder private
    old: Path | None = None
    try:
        for rel in sorted(files):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_file(target, files[rel])
        if finish is not None:
            finish(tmp)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=parent))
            os.rename(out_dir, old / "previous")
            try:
                os.rename(tmp, out_dir)
            except BaseException:
                os.rename(old / "previous", out_dir)
                raise
        else:
            os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------------
#: Distributions whose versions the run manifest records (and the lineage's ``runtime_version_refs``).
RUNTIME_PACKAGES: tuple[str, ...] = ("polars", "numpy", "scipy", "statsmodels", "pydantic", "pyarrow", "duckdb")
#: Extra distributions recorded in the run manifest only.
MANIFEST_PACKAGES: tuple[str, ...] = ("marimo", "altair")


class ExportConfig(BaseModel):
    """One evidence export. ``car``, ``label``, ``split``, ``policy`` and ``reward`` are overrides of
    the ``CarConfig``, ``LabelConfig``, ``SplitConfig``, ``PolicyConfig`` and reward-profile
    ``HgrmConfig`` defaults; the fully resolved configs are written to the run manifest and hashed.
    The evidence covers every event of the dataset (all four chronological splits); the split is
    computed because the ``type_prior`` policy estimates its prior on the historical split.

    ``decisions`` is a baseline policy name (``policies.POLICIES``) or else the path of a decisions
    file (Parquet, CSV or JSON Lines, ``decisions.load_decisions``).
    ``source_date_epoch`` pins ``generated_at`` (else the ``SOURCE_DATE_EPOCH`` environment variable,
    else the dataset's as-of time). ``report`` renders ``report.html`` for the promotion target
    ``report_target``; neither changes the evidence, so neither enters the config hash.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = "synthetic-ashare"
    decisions: str = "type_prior"
    candidate_id: str = "janus-q-candidate"
    strategy_id: str | None = None
    reward_profile: Literal["hgrm", "lane_scaffold"] = "hgrm"
    car: dict[str, Any] = Field(default_factory=dict)
    label: dict[str, Any] = Field(default_factory=dict)
    split: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, Any] = Field(default_factory=dict)
    reward: dict[str, Any] = Field(default_factory=dict)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    out_dir: Path = Path("out/evidence")
    dspy_bundle: bool = False
    source_date_epoch: int | None = None
    record_run: bool = True
    report: bool = True
    report_target: Literal["shadow", "paper", "live"] = "paper"


class ExportResult(BaseModel):
    """What an export wrote: where, under which run id, the file digests and the summary."""

    out_dir: Path
    run_id: str
    config_hash: str
    files: dict[str, str]
    evidence: dict[str, Any]


def generated_at(as_of: str, source_date_epoch: int | None) -> str:
    """``generated_at``: ``source_date_epoch`` (seconds, UTC) if given, else ``SOURCE_DATE_EPOCH``
    from the environment, else the dataset's as-of time (ISO-8601; without an offset it is UTC)."""
    epoch = source_date_epoch
    if epoch is None and os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        epoch = int(os.environ["SOURCE_DATE_EPOCH"].strip())
    if epoch is not None:
        return iso_utc(datetime.fromtimestamp(epoch, tz=timezone.utc))
    return iso_utc(datetime.fromisoformat(as_of.replace("Z", "+00:00")))


def repo_root() -> Path:
    """The folder holding the ``janus_core`` package (the repository root in a checkout)."""
    return Path(janus_core.__file__).resolve().parent.parent


def git_commit(root: Path) -> str:
    """``git rev-parse HEAD`` of ``root``, or ``"unknown"`` outside a repository."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else "unknown"


def source_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every ``janus_core`` module and every notebook, keyed by path relative to ``root``
    (all of them, not only the ones imported, so the record does not depend on import order)."""
    files = sorted(root.glob("janus_core/**/*.py")) + sorted(root.glob("notebooks/*.py"))
    return {f.relative_to(root).as_posix(): sha256_file(f) for f in files if "__pycache__" not in f.parts}


def package_versions(names: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``names`` (``"not-installed"`` when absent)."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not-installed"
    return out


def runtime_version_refs() -> list[str]:
    """``name==version`` of Python, ``janus_core`` and the numerical packages, sorted."""
    refs = [f"python=={platform.python_version()}", f"janus_core=={janus_core.__version__}"]
    refs += [f"{k}=={v}" for k, v in package_versions(RUNTIME_PACKAGES).items()]
    return sorted(refs)


def input_digests(manifest: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-table ``sha256``, ``content_hash`` and ``rows`` from a dataset manifest (empty without one)."""
    if manifest is None:
        return {}
    tables = manifest.get("tables", {})
    items = tables.items() if isinstance(tables, Mapping) else ((t["name"], t) for t in tables)
    return {
        name: {k: info.get(k) for k in ("sha256", "content_hash", "rows")}
        for name, info in sorted(items)
    }


def read_dataset_manifest(name: str, paths: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The dataset manifest JSON and the SHA-256 of its bytes, or ``(None, None)`` when absent."""
    path = Path(paths.manifest_path(name))
    if not path.is_file():
        return None, None
    data = path.read_bytes()
    return json.loads(data), sha256_bytes(data)


def _select_strategy(decisions: pl.DataFrame, strategy_id: str | None, source: str) -> pl.DataFrame:
    """The decisions of one strategy: ``strategy_id`` if given, else the only one present."""
    present = sorted(decisions["strategy_id"].drop_nulls().unique().to_list())
    if strategy_id is None:
        if len(present) != 1:
            raise ValueError(f"{source}: column strategy_id has {len(present)} strategies {present[:10]}; "
                             f"rule: exactly one, or pass strategy_id to pick one")
        return decisions
    if strategy_id not in present:
        raise ValueError(f"{source}: column strategy_id has no rows for {strategy_id!r} (present: {present[:10]})")
    return decisions.filter(pl.col("strategy_id") == strategy_id)


def methodology(car_cfg: Any, label_cfg: Any) -> dict[str, Any]:
    """The event-car ``methodology`` object: the CAR and label configs (every constant as a string)
    under the contract's headings, with the paper references they follow."""
    car_c = stringify_constants(car_cfg.model_dump(mode="json"))
    label_c = stringify_constants(label_cfg.model_dump(mode="json"))
    neutralize = car_c.get("risk_neutralize") == "true"
    return {
        "abnormal_return_model": f"{car_c.get('model')}_model_ols" if car_c.get("model") == "market"
        else str(car_c.get("model")),
        "risk_neutralization_model": "cross_sectional_style_industry_regression" if neutralize else "none",
        "estimation_window": car_c.get("estimation_window"),
        "gap": car_c.get("gap"),
        "event_window": car_c.get("event_window"),
        "strength_threshold": decimal_str(label_cfg.effective_tau),
        "neutral_band": label_c.get("neutral_band"),
        "car_config": car_c,
        "label_config": label_c,
        "paper_alignment": [
            "arXiv:2602.19919 Stage I.1: market model OLS over an estimation window ending a gap before the event",
            "arXiv:2602.19919 Stage I.2: risk neutralisation of AR_MM against style-factor exposures",
            "arXiv:2602.19919 Stage I.3: CAR = sum of AR_RM over the event window",
            "arXiv:2602.19919 Stage I.4: labels direction = sign(CAR), strength strong when |CAR| >= tau",
            "arXiv:2602.19919 Stage I.5: point-in-time news cut-off in exchange local time",
        ],
    }


class EvidenceInputs(BaseModel):
    """Everything an export renders: the computed tables, the dataset facts and the resolved configs.

    ``resolved`` holds the full configs as JSON (hashed into ``config_hash``); ``tables`` the input
    table digests from the dataset manifest and ``source`` / ``licence`` its statements of where the
    data came from and under which terms (None when it states none); ``decisions_ref`` names the
    decision source (``policy:NAME`` or ``decisions:sha256:HEX``).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    labelled: pl.DataFrame
    mapped: pl.DataFrame
    scored: pl.DataFrame
    dataset_name: str
    dataset_version: str
    provenance: str
    as_of: str
    snapshot_hash: str
    manifest_sha256: str | None
    source: str | None
    licence: str | None
    tables: dict[str, dict[str, Any]]
    resolved: dict[str, Any]
    decisions_ref: str
    candidate_id: str
    reward_profile: str
    reward_config: dict[str, Any]
    methodology: dict[str, Any]
    research: dict[str, pl.DataFrame] = Field(default_factory=dict)


def compute_inputs(cfg: ExportConfig, paths: Any) -> EvidenceInputs:
    """Load the dataset and run the event study, labels, decisions, HGRM reward and research tables
    for ``cfg``. A dataset without a snapshot hash gets an empty ``dataset_snapshot_ref`` (so its
    evidence is never eligible)."""
    from janus_core import car, labels, reward
    from janus_core.data import load_dataset
    from janus_core.evidence_analysis import research_tables
    from janus_core.policies import POLICIES, PolicyConfig, make_decisions

    ds = load_dataset(cfg.dataset, paths)
    car_cfg = car.CarConfig(**cfg.car)
    label_cfg = labels.LabelConfig(**cfg.label)
    split_cfg = labels.SplitConfig(**cfg.split)
    policy_cfg = PolicyConfig(**cfg.policy)
    base_reward = reward.reward_profile(cfg.reward_profile)
    reward_cfg = type(base_reward).model_validate({**base_reward.model_dump(), **cfg.reward})
    labelled = car.car_study(ds, car_cfg, label_cfg, split_cfg)

    if cfg.decisions in POLICIES:
        decisions = make_decisions(cfg.decisions, labelled, policy_cfg)
        decisions_ref = f"policy:{cfg.decisions}"
    else:
        from janus_core.decisions import load_decisions

        decisions = load_decisions(cfg.decisions)
        decisions_ref = f"decisions:sha256:{sha256_file(cfg.decisions)}"
    decisions = _select_strategy(decisions, cfg.strategy_id, decisions_ref)

    mapped = map_decisions(decisions, labelled)
    scored = score_mapped(mapped, labelled, lambda d: reward.score(d, labelled, reward_cfg))
    manifest, manifest_sha = read_dataset_manifest(cfg.dataset, paths)
    candidate_decisions = mapped.filter(pl.col("mapping_status") == "mapped").drop("decision_index", "mapping_status")
    return EvidenceInputs(
        labelled=labelled, mapped=mapped, scored=scored, dataset_name=ds.meta.name,
        dataset_version=ds.meta.version, provenance=ds.meta.provenance, as_of=ds.meta.as_of,
        snapshot_hash=ds.meta.snapshot_hash or "", manifest_sha256=manifest_sha, tables=input_digests(manifest),
        source=_statement(manifest, "source"), licence=_statement(manifest, "licence"),
        resolved={
            "export": _jsonable(cfg.model_dump(exclude={"out_dir", "dspy_bundle", "source_date_epoch", "record_run",
                                                        "report", "report_target"})),
            "car": _jsonable(car_cfg), "label": _jsonable(label_cfg), "split": _jsonable(split_cfg),
            "reward": _jsonable(reward_cfg), "policy": _jsonable(policy_cfg),
        },
        decisions_ref=decisions_ref, candidate_id=cfg.candidate_id, reward_profile=cfg.reward_profile,
        reward_config=reward.reward_config_payload(reward_cfg), methodology=methodology(car_cfg, label_cfg),
        research=research_tables(ds, labelled, candidate_decisions, cfg.candidate_id, reward_cfg, label_cfg,
                                 policy_cfg, car_cfg, cfg.analysis),
    )


def _statement(manifest: Mapping[str, Any] | None, key: str) -> str | None:
    """A dataset manifest's top-level text statement ``key`` (``source``, ``licence``), or None."""
    value = (manifest or {}).get(key)
    return None if value is None else str(value)


def score_mapped(mapped: pl.DataFrame, labelled: pl.DataFrame, scorer: Any) -> pl.DataFrame:
    """Reward rows of the mapped decisions, carrying their ``decision_index``. ``scorer(decisions)``
    returns one row per decision in order (``reward.score``); a row it reports as not mapped is an
    error (the two mappings must agree)."""
    to_score = mapped.filter(pl.col("mapping_status") == "mapped")
    scored = scorer(to_score.drop("decision_index", "mapping_status"))
    if scored.height != to_score.height:
        raise ValueError(f"reward rows: {scored.height} rows for {to_score.height} decisions; "
                         f"rule: one reward row per decision, in order")
    if "mapped" in scored.columns and not scored["mapped"].all():
        bad = scored.filter(~pl.col("mapped")).row(0, named=True)
        raise ValueError(f"reward rows: decision on event {bad['event_id']} mapped here but not by the reward "
                         f"({bad.get('unmapped_reason')}); rule: both mappings agree")
    return scored.with_columns(to_score["decision_index"])


def _rounded(text: str) -> str:
    """A headline decimal string rounded to ``SUMMARY_PLACES`` places."""
    return decimal_text(Decimal(text).quantize(Decimal(1).scaleb(-SUMMARY_PLACES), rounding=ROUND_HALF_EVEN))


def export_summary(docs: EvidenceDocs, dataset: str, decisions_ref: str, reward_profile: str) -> dict[str, Any]:
    """``evidence-summary.json``: the key outputs of an export in a few lines (counts, reasons and
    headline numbers rounded to ``SUMMARY_PLACES`` places), what the notebook test harness compares.
    No hashes or run id: those change with any config default, the outputs here only with results."""
    ev, rw = docs.event_car["summary"], docs.hgrm_reward["summary"]
    return {
        "dataset": dataset,
        "decisions": decisions_ref,
        "reward_profile": reward_profile,
        "provenance": docs.event_car["artifact_authority"]["provenance"],
        "input_event_count": ev["input_event_count"],
        "event_count": ev["event_count"],
        "excluded_event_count": ev["excluded_event_count"],
        "strong_event_count": ev["strong_event_count"],
        "reward_count": rw["reward_count"],
        "event_mapped_count": rw["event_mapped_count"],
        "hard_gate_fail_count": rw["hard_gate_fail_count"],
        "mean_abs_car": _rounded(ev["mean_abs_car"]),
        "direction_gate_pass_ratio": _rounded(rw["direction_gate_pass_ratio"]),
        "mean_final_reward": _rounded(rw["mean_final_reward"]),
        "evidence_complete": docs.evidence["evidence_complete"],
        "reasons": list(docs.evidence["reasons"]),
        "promotion_authority_eligible": docs.evidence["promotion_authority_eligible"],
    }


def render_export(inputs: EvidenceInputs, *, generated: str,
                  dspy: bool) -> tuple[dict[str, bytes], dict[str, Any], EvidenceDocs]:
    """All files of an export as bytes (relative path -> bytes, the run manifest last), the run
    manifest object and the three lane documents."""
    config_hash = H(inputs.resolved)
    input_digest_hash = H({"dataset": inputs.dataset_name, "tables": inputs.tables,
                           "snapshot_hash": inputs.snapshot_hash, "decisions": inputs.decisions_ref})
    run_id = H({"config_hash": config_hash, "input_digest_hash": input_digest_hash})[:24]
    snapshot_ref = (f"{inputs.dataset_name}@{inputs.dataset_version}#{inputs.snapshot_hash}"
                    if inputs.snapshot_hash else "")
    ctx = EvidenceContext(
        run_id=run_id, generated_at=generated, candidate_id=inputs.candidate_id, provenance=inputs.provenance,
        dataset_snapshot_ref=snapshot_ref, dataset_snapshot_hash=inputs.snapshot_hash, config_hash=config_hash,
        input_digest_hash=input_digest_hash, runtime_version_refs=runtime_version_refs(),
        model_refs=[inputs.decisions_ref, f"car:{H(inputs.resolved.get('car'))[:16]}",
                    f"reward:{inputs.reward_profile}:{H(inputs.reward_config)[:16]}"],
        methodology=inputs.methodology, reward_version=f"{inputs.reward_profile}-v1",
        reward_config=inputs.reward_config,
    )
    docs = build_evidence_docs(inputs.labelled, inputs.mapped, inputs.scored, ctx)
    files: dict[str, bytes] = {
        EVENT_CAR_REF: dumps(docs.event_car),
        HGRM_REWARD_REF: dumps(docs.hgrm_reward),
        EVIDENCE_REF: dumps(docs.evidence),
        **analysis_tables(inputs.labelled, inputs.mapped, inputs.scored),
        **{f"analysis/{stem}.csv": _csv(frame) for stem, frame in sorted(inputs.research.items())},
    }
    files[SUMMARY_REF] = dumps(export_summary(docs, inputs.dataset_name, inputs.decisions_ref, inputs.reward_profile))
    if dspy:
        from janus_core.dspy_bundle import bundle_files

        files.update(bundle_files(docs.event_car, docs.hgrm_reward, docs.evidence, inputs.mapped,
                                  inputs.decisions_ref, inputs.candidate_id))
    root = repo_root()
    run_manifest: dict[str, Any] = {
        "schema_version": RUN_MANIFEST_SCHEMA,
        "run_id": run_id,
        "generated_at": generated,
        "config": inputs.resolved,
        "config_hash": config_hash,
        "dataset": {
            "name": inputs.dataset_name, "version": inputs.dataset_version, "provenance": inputs.provenance,
            "as_of": inputs.as_of, "snapshot_hash": inputs.snapshot_hash, "snapshot_ref": snapshot_ref,
            "manifest_sha256": inputs.manifest_sha256, "tables": inputs.tables,
            "source": inputs.source, "licence": inputs.licence,
        },
        "decisions_ref": inputs.decisions_ref,
        "input_digest_hash": input_digest_hash,
        "packages": package_versions((*RUNTIME_PACKAGES, *MANIFEST_PACKAGES)),
        "python": platform.python_version(),
        "janus_core_version": janus_core.__version__,
        "git_commit": git_commit(root),
        "sources": source_digests(root),
        "files": {rel: sha256_bytes(data) for rel, data in sorted(files.items())},
    }
    run_manifest["self_hash"] = H(run_manifest)
    files[RUN_MANIFEST_REF] = dumps(run_manifest)
    return files, run_manifest, docs


def export(cfg: ExportConfig, paths: Any) -> ExportResult:
    """Compute (:func:`compute_inputs`), render (:func:`render_export`) and write the evidence folder
    ``cfg.out_dir`` atomically, with its review report (``cfg.report``: rendered from the complete
    temp folder before it is published, the input digests checked against the dataset manifest
    under ``paths``), then append a row to the research store's ``runs`` table (``cfg.record_run``)."""
    inputs = compute_inputs(cfg, paths)
    files, run_manifest, docs = render_export(
        inputs, generated=generated_at(inputs.as_of, cfg.source_date_epoch), dspy=cfg.dspy_bundle)

    def render_review_report(folder: Path) -> None:
        from janus_core.report import render_report

        render_report(folder, cfg.report_target, paths=paths)

    write_tree_atomically(cfg.out_dir, files, render_review_report if cfg.report else None)
    if cfg.record_run:
        record_run(paths, Path(cfg.out_dir), run_manifest, docs)
    return ExportResult(out_dir=Path(cfg.out_dir), run_id=run_manifest["run_id"],
                        config_hash=run_manifest["config_hash"],
                        files={rel: sha256_bytes(data) for rel, data in sorted(files.items())},
                        evidence=docs.evidence)


def run_record(run_manifest: Mapping[str, Any], docs: EvidenceDocs, out_dir: Path,
               verdicts: Mapping[str, Any]) -> Any:
    """The research store's ``runs`` row of one export (``store.RunRecord``): run id, dataset and
    config hashes, the artifact hashes, headline numbers and the local gate verdict per target
    (canonical JSON ``{target: {promotable, codes}}``). ``created_at`` is ``generated_at``, so a
    re-run replaces its row with identical values."""
    from janus_core.store import RunRecord

    ev, rw = docs.event_car["summary"], docs.hgrm_reward["summary"]
    return RunRecord(
        run_id=run_manifest["run_id"],
        created_at=run_manifest["generated_at"],
        dataset=run_manifest["dataset"]["name"],
        dataset_snapshot_hash=run_manifest["dataset"]["snapshot_hash"] or None,
        config_hash=run_manifest["config_hash"],
        artifact_hashes={**run_manifest["files"], RUN_MANIFEST_REF: H(run_manifest)},
        headline_metrics={
            "event_count": ev["event_count"], "excluded_event_count": ev["excluded_event_count"],
            "mean_abs_car": ev["mean_abs_car"], "reward_count": rw["reward_count"],
            "event_mapped_count": rw["event_mapped_count"],
            "direction_gate_pass_ratio": rw["direction_gate_pass_ratio"],
            "mean_final_reward": rw["mean_final_reward"], "evidence_complete": docs.evidence["evidence_complete"],
            "candidate_id": docs.hgrm_reward["candidate_id"],
        },
        gate_verdict=json.dumps(dict(verdicts), sort_keys=True, separators=(",", ":")),
        out_dir=str(out_dir),
    )


def record_run(paths: Any, out_dir: Path, run_manifest: Mapping[str, Any], docs: EvidenceDocs) -> None:
    """Evaluate the local gate on the written folder for every target and append the run to the
    store's ``runs`` table."""
    from janus_core import store
    from janus_core.gate import TARGETS, evaluate_gate

    verdicts = {}
    for target in TARGETS:
        verdict = evaluate_gate(out_dir, target)
        verdicts[target] = {"promotable": verdict.promotable, "codes": [r.code for r in verdict.reasons]}
    store.append_run(run_record(run_manifest, docs, out_dir, verdicts), paths)
