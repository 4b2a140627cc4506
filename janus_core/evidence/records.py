"""The three lane documents from computed tables: ``janus-event-car-v1`` records, the decision-to-event
mapping, ``janus-hgrm-reward-v1`` records, the ``janus-q-evidence-v1`` summary, and the reviewer's
analysis tables (CSV bytes). Pure functions: same tables, same objects, same bytes.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from hashlib import sha256
from itertools import compress, repeat
from operator import itemgetter, methodcaller
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.evidence.numbers import iso_utc_strs, record_numbers
from janus_core.evidence.schema import (
    EVENT_CAR_REF,
    EVENT_CAR_SCHEMA,
    EVIDENCE_SCHEMA,
    HGRM_REWARD_REF,
    HGRM_REWARD_SCHEMA,
    REASON_AUTHORITY_MISSING,
    REASON_EVENT_COUNT_MISSING,
    REASON_MAPPING_INCOMPLETE,
    REASON_QUARANTINED,
    REASON_REWARD_COUNT_MISSING,
    REWARD_NUMBER_FIELDS,
    SEMANTIC_DIRECTION,
    SUMMARY_PLACES,
    MappingStatus,
    artifact_authority,
    decimal_mean,
    decimal_text,
    iso_utc,
    ratio_text,
    seal_lineage,
)
from janus_core.hashing import H, json_atom, json_atoms, text_hashes
from janus_core.study.exclusion import excluded, included


# --------------------------------------------------------------------------------------------------
# janus-event-car-v1
# --------------------------------------------------------------------------------------------------
def event_payload(headline: str | None, body: str | None) -> str:
    """The text an event id and ``payload_hash`` are derived from, as the data layer derives ids:
    ``headline + "\\n" + body`` (an absent body as the empty string)."""
    return f"{headline or ''}\n{body or ''}"


def _as_records(columns: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Row dicts from equally long columns, keys sorted: the order a reader of the written file
    (sorted keys) finds them in, so the export can hand its own records to verify and the report
    as the parsed file (:func:`janus_core.hashing.json_round_trip`)."""
    keys = tuple(sorted(columns))
    return [dict(zip(keys, row)) for row in zip(*(columns[k] for k in keys), strict=True)]


def _column(frame: pl.DataFrame, name: str) -> list[Any]:
    """A column's values, or ``None`` for every row when the frame lacks it."""
    return frame[name].to_list() if name in frame.columns else [None] * frame.height


def _iso_days(values: pl.Series) -> list[str | None]:
    """``date.isoformat()`` of every value (null stays ``None``)."""
    if values.dtype == pl.Date:
        return values.cast(pl.String).to_list()
    return [v.isoformat() if v is not None else None for v in values.to_list()]


def event_car_records(labelled: pl.DataFrame) -> list[dict[str, Any]]:
    """One ``janus-event-car-v1`` record per included event (``excluded_reason`` null) of the labelled
    CAR table, sorted by (published_at, symbol, seq, event_id).

    ``semantic_direction``: positive -> long, negative -> short, neutral -> neutral;
    ``payload_hash = H(event_payload(headline, body))``. Built column by column (numbers by
    :func:`janus_core.evidence.numbers.record_numbers`, the per-value ``_num`` of a whole column).
    """
    kept = included(labelled).sort(["published_at", "symbol", "seq", "event_id"], nulls_last=True, maintain_order=True)
    direction = pl.col("direction")
    bad = kept.filter(direction.is_null() | ~direction.is_in(list(SEMANTIC_DIRECTION)))
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(
            f"labelled CAR table, event {row['event_id']}: column direction has {row['direction']!r}; "
            f"rule: one of {sorted(SEMANTIC_DIRECTION)}"
        )
    body = pl.col("body").fill_null("") if "body" in kept.columns else pl.lit("")
    payloads = kept.select(pl.concat_str(pl.col("headline").fill_null(""), pl.lit("\n"), body)).to_series()
    num = {c: record_numbers(kept[c]) for c in _EVENT_NUMBERS}
    return _as_records(
        {
            "event_id": kept["event_id"].to_list(),
            "event_ts": iso_utc_strs(kept["published_at"]),
            "symbol": kept["symbol"].to_list(),
            "seq": kept["seq"].to_list(),
            "event_type": kept["event_type"].to_list(),
            "semantic_direction": kept["direction"]
            .replace_strict(SEMANTIC_DIRECTION, return_dtype=pl.String)
            .to_list(),
            "strength_label": kept["strength"].to_list(),
            **{c: num[c] for c in _EVENT_NUMBERS[:6]},
            "payload_hash": text_hashes(payloads.to_list()),
            "source": kept["source"].to_list(),
            "event_day": _iso_days(kept["event_day"]),
            "model": kept["model"].to_list(),
            **{c: num[c] for c in _EVENT_NUMBERS[6:9]},
            "estimation_days": kept["estimation_days"].to_list(),
            "car_mm": num["car_mm"],
        }
    )


#: The labelled table's number columns of an event-car record, in record order.
_EVENT_NUMBERS: tuple[str, ...] = (
    "price_t",
    "price_t_plus_1",
    "raw_return",
    "abnormal_return",
    "risk_neutralized_return",
    "car",
    "alpha",
    "beta",
    "sigma",
    "car_mm",
)


def event_car_summary(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The contract's event-car summary, computed from the written records: counts by
    ``semantic_direction``, strong events, ``unknown`` event types, and the exact mean |car|. Each
    field is read from every record at C level (``operator.itemgetter``) and counted by
    ``list.count`` (a missing field raises as ``record[field]`` does)."""
    directions = _field(records, "semantic_direction")
    return {
        "event_count": len(records),
        "positive_direction_count": directions.count("long"),
        "negative_direction_count": directions.count("short"),
        "neutral_direction_count": directions.count("neutral"),
        "strong_event_count": _field(records, "strength_label").count("strong"),
        "unknown_event_type_count": _field(records, "event_type").count("unknown"),
        "mean_abs_car": decimal_mean(list(map(_UNSIGNED, _field(records, "car")))),
    }


def _field(rows: Iterable[Mapping[str, Any]], name: str) -> list[Any]:
    """``row[name]`` of every row (C level)."""
    return list(map(itemgetter(name), rows))


#: ``text.lstrip("-")`` (an attribute lookup, so a non-string fails as the method call does).
_UNSIGNED = methodcaller("lstrip", "-")


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
    cols = decisions.columns
    by_id = "event_id" in cols and decisions["event_id"].dtype == labelled["event_id"].dtype
    given = decisions["event_id"].is_not_null() if by_id else pl.repeat(False, decisions.height, eager=True)
    events = (
        labelled.select("event_id", "excluded_reason")
        .unique("event_id", keep="last", maintain_order=True)
        .with_columns(pl.lit(True).alias("_found"))
    )
    found = (
        decisions.select("event_id").join(events, on="event_id", how="left", maintain_order="left")
        if by_id
        else pl.DataFrame({"excluded_reason": [None] * decisions.height, "_found": [None] * decisions.height})
    )
    state = (
        pl.when(~pl.col("_found").fill_null(False))
        .then(pl.lit("unmapped"))
        .when(pl.col("excluded_reason").is_null())
        .then(pl.lit("mapped"))
        .otherwise(pl.lit("event_excluded"))
    )
    status = found.select(state.alias("s")).to_series().to_list()
    resolved = [e if s == "mapped" else None for e, s in zip(_column(decisions, "event_id"), status, strict=True)]
    others = (~given).arg_true().to_list()
    if others:  # decisions without an event id: by (event_ts, symbol, seq)
        for i, (event, state_i) in zip(others, _map_by_key(decisions[others], labelled), strict=True):
            resolved[i], status[i] = event, state_i
    base = decisions.drop("event_id") if "event_id" in cols else decisions
    return base.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("decision_index"),
        pl.Series("event_id", resolved, dtype=pl.String),
        pl.Series("mapping_status", status, dtype=pl.String),
    )


def _map_by_key(decisions: pl.DataFrame, labelled: pl.DataFrame) -> list[tuple[str | None, MappingStatus]]:
    """``(event_id or None, mapping_status)`` of decisions without an event id (or with one of another
    type than the labelled table's, which matches no event): by (``event_ts``, ``symbol``, ``seq``)
    as :func:`map_decisions` states."""
    events = labelled.select("event_id", "symbol", "seq", "published_at", "excluded_reason")
    by_id = {r["event_id"]: r for r in events.iter_rows(named=True)}
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in events.sort("event_id").iter_rows(named=True):
        by_key.setdefault((iso_utc(r["published_at"]), r["symbol"]), []).append(r)
    cols = decisions.columns
    out: list[tuple[str | None, MappingStatus]] = []
    for row in decisions.iter_rows(named=True):
        event = None
        state: MappingStatus = "unmapped"
        given = row.get("event_id") if "event_id" in cols else None
        if given is not None:
            event = by_id.get(given)
        elif "event_ts" in cols and "symbol" in cols and row.get("event_ts") is not None:
            ts = row["event_ts"]
            key = (
                iso_utc(ts)
                if isinstance(ts, datetime)
                else iso_utc(datetime.fromisoformat(str(ts).replace("Z", "+00:00"))),
                row["symbol"],
            )
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
        out.append((event["event_id"] if event is not None and state == "mapped" else None, state))
    return out


# --------------------------------------------------------------------------------------------------
# janus-hgrm-reward-v1
# --------------------------------------------------------------------------------------------------
def reward_records(
    mapped: pl.DataFrame, scored: pl.DataFrame, labelled: pl.DataFrame, candidate_id: str
) -> list[dict[str, Any]]:
    """One ``janus-hgrm-reward-v1`` record per decision, in decision order.

    ``mapped`` is :func:`map_decisions`' output; ``scored`` is the reward module's rows for the mapped
    decisions, carrying ``decision_index``. A decision that did not map keeps its identity fields and
    ``mapping_status``; its gates and reward numbers are ``null``.
    ``reward_id = H({candidate_id, strategy_id, decision_index, event_id})[:24]``.
    """
    scored_last = scored.unique("decision_index", keep="last", maintain_order=True)
    ordered = mapped.sort("decision_index")
    is_mapped = ordered["mapping_status"] == "mapped"
    missing = ordered.filter(is_mapped & ~ordered["decision_index"].is_in(scored_last["decision_index"].implode()))
    if missing.height:
        raise ValueError(
            f"reward rows: decisions {missing['decision_index'].head(5).to_list()} mapped to an event but the "
            f"reward module returned no row for them; rule: one reward row per mapped decision"
        )
    scored_fields = ("expected_direction", "direction_gate", "event_type_gate", "clipped", *REWARD_NUMBER_FIELDS)
    events = (
        labelled.select("event_id", "symbol", "published_at", "event_type")
        .unique("event_id", keep="last", maintain_order=True)
        .rename(lambda c: f"_e_{c}")
        .with_columns(pl.lit(True).alias("_e"))
    )
    joined = (
        ordered.select(
            "decision_index",
            "event_id",
            "mapping_status",
            "strategy_id",
            "action",
            pl.col("symbol") if "symbol" in ordered.columns else pl.lit(None, pl.String).alias("symbol"),
        )
        .join(
            scored_last.select("decision_index", *(pl.col(c).alias(f"_s_{c}") for c in scored_fields)).with_columns(
                pl.lit(True).alias("_s")
            ),
            on="decision_index",
            how="left",
            maintain_order="left",
        )
        .join(events, left_on="event_id", right_on="_e_event_id", how="left", maintain_order="left")
    )
    has_event = pl.col("_e").fill_null(False)
    has_score = pl.col("_s").fill_null(False) & (pl.col("mapping_status") == "mapped")
    cols = joined.select(
        pl.when(has_event).then(pl.col("_e_symbol")).otherwise(pl.col("symbol")).alias("symbol"),
        pl.when(has_event).then(pl.col("_e_event_type")).alias("event_type"),
        pl.when(has_event).then(pl.col("_e_published_at")).alias("published_at"),
        *(pl.when(has_score).then(pl.col(f"_s_{c}")).alias(c) for c in scored_fields if c != "clipped"),
        pl.when(has_score).then(pl.col("_s_clipped").cast(pl.Boolean)).fill_null(False).alias("clipped"),
    )
    indices = ordered["decision_index"].to_list()
    event_ids = ordered["event_id"].to_list()
    strategies = ordered["strategy_id"].to_list()
    return _as_records(
        {
            "reward_id": reward_ids(candidate_id, strategies, indices, event_ids),
            "event_id": event_ids,
            "event_ts": iso_utc_strs(cols["published_at"]),
            "symbol": cols["symbol"].to_list(),
            "strategy_id": strategies,
            "action": ordered["action"].to_list(),
            "expected_direction": cols["expected_direction"].to_list(),
            "event_type": cols["event_type"].to_list(),
            "predicted_event_type": _column(ordered, "predicted_event_type"),
            "direction_gate": cols["direction_gate"].to_list(),
            "event_type_gate": cols["event_type_gate"].to_list(),
            "clipped": cols["clipped"].to_list(),
            "decision_index": indices,
            "mapping_status": ordered["mapping_status"].to_list(),
            **{f: record_numbers(cols[f]) for f in REWARD_NUMBER_FIELDS},
        }
    )


def reward_ids(
    candidate_id: Any, strategies: Sequence[Any], indices: Sequence[Any], event_ids: Sequence[Any]
) -> list[str]:
    """``H({candidate_id, strategy_id, decision_index, event_id})[:24]`` of every decision: the
    canonical JSON of the four keys written directly (sorted keys, compact, ASCII; each value by
    :func:`janus_core.hashing.json_atoms`), then hashed. Any JSON values (verify recomputes the ids of
    a folder it does not trust with it)."""
    head = '{"candidate_id":' + json_atom(candidate_id) + ',"decision_index":'
    texts = zip(json_atoms(indices), json_atoms(event_ids), json_atoms(strategies), strict=True)
    return [sha256(f'{head}{i},"event_id":{e},"strategy_id":{s}}}'.encode()).hexdigest()[:24] for i, e, s in texts]


def reward_summary(rewards: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The contract's reward summary, computed from the written reward records.

    ``hard_gate_fail_count``: direction gate ``mismatch``; ``direction_gate_pass_ratio``: share of all
    rewards whose direction gate is ``match``; ``event_type_match_ratio``: share of all rewards whose
    event-type gate is ``match`` (unmapped decisions count as neither, so they lower both ratios);
    means are exact over the mapped rewards. Fields are read at C level (:func:`_field`).
    """
    n = len(rewards)
    mapped = list(compress(rewards, map(operator.eq, _field(rewards, "mapping_status"), repeat("mapped"))))
    direction_gates = _field(rewards, "direction_gate")
    return {
        "reward_count": n,
        "event_mapped_count": len(mapped),
        "event_ambiguous_unmapped_count": n - len(mapped),
        "hard_gate_fail_count": direction_gates.count("mismatch"),
        "clipped_final_reward_count": sum(map(bool, _field(rewards, "clipped"))),
        "direction_gate_pass_ratio": ratio_text(direction_gates.count("match"), n),
        "event_type_match_ratio": ratio_text(_field(rewards, "event_type_gate").count("match"), n),
        "mean_final_reward": decimal_mean(_field(mapped, "final_reward")),
        "mean_pnl_reward": decimal_mean(_field(mapped, "pnl_reward")),
    }


# --------------------------------------------------------------------------------------------------
# janus-q-evidence-v1
# --------------------------------------------------------------------------------------------------
def evidence_summary(
    event_doc: Mapping[str, Any], reward_doc: Mapping[str, Any], quarantined_rows: int = 0
) -> dict[str, Any]:
    """The companion summary of the two child files, with the contract's reason codes:
    no events, no rewards, mapped < rewards, either child not authoritative (or not eligible). It
    carries the children's ``lineage`` too: under the lane's truthfulness rule any artifact that
    claims authority needs its four lineage fields, the summary included.
    Also the
    workbench's ``workbench_universe_rows_quarantined`` when ``quarantined_rows`` (rows of the
    candidate's universe rejected at import, :mod:`janus_core.evidence.quarantine`) is not zero."""
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
    if quarantined_rows:
        reasons.append(REASON_QUARANTINED)
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
        "artifact_authority": event_doc["artifact_authority"]
        if authoritative
        else {**event_doc["artifact_authority"], "authoritative": False},
        "promotion_authority_eligible": authoritative,
        "lineage": event_doc["lineage"],
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
    #: Rows of the candidate's universe rejected at import (:mod:`janus_core.evidence.quarantine`).
    quarantined_rows: int = 0


class EvidenceDocs(BaseModel):
    """The three lane documents of one export, as JSON objects."""

    event_car: dict[str, Any]
    hgrm_reward: dict[str, Any]
    evidence: dict[str, Any]


def build_evidence_docs(
    labelled: pl.DataFrame, mapped: pl.DataFrame, scored: pl.DataFrame, ctx: EvidenceContext
) -> EvidenceDocs:
    """Assemble ``janus-event-car-v1``, ``janus-hgrm-reward-v1`` and ``janus-q-evidence-v1`` from the
    labelled CAR table, the decision mapping and the reward rows (pure: same inputs, same objects)."""
    lineage = seal_lineage(
        {
            "job_run_id": ctx.run_id,
            "dataset_snapshot_ref": ctx.dataset_snapshot_ref,
            "runtime_version_refs": list(ctx.runtime_version_refs),
            "model_refs": list(ctx.model_refs),
            "dataset_snapshot_hash": ctx.dataset_snapshot_hash,
            "config_hash": ctx.config_hash,
            "input_digest_hash": ctx.input_digest_hash,
        }
    )
    authority, eligible = artifact_authority(ctx.provenance, lineage)
    records = event_car_records(labelled)
    n_excluded = excluded(labelled).height
    event_doc = {
        "schema_version": EVENT_CAR_SCHEMA,
        "run_id": ctx.run_id,
        "generated_at": ctx.generated_at,
        "methodology": ctx.methodology,
        "lineage": lineage,
        "records": records,
        "summary": {
            **event_car_summary(records),
            "input_event_count": labelled.height,
            "excluded_event_count": n_excluded,
        },
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
    return EvidenceDocs(
        event_car=event_doc,
        hgrm_reward=reward_doc,
        evidence=evidence_summary(event_doc, reward_doc, ctx.quarantined_rows),
    )


# --------------------------------------------------------------------------------------------------
# Analysis tables
# --------------------------------------------------------------------------------------------------
#: Decimal places of floats in the analysis CSVs: far below any research-relevant digit, and above
#: the last-ulp noise of multi-threaded float sums upstream (e.g. a group mean), so the bytes do
#: not depend on the thread count.
ANALYSIS_FLOAT_PLACES = 12


def _csv(df: pl.DataFrame) -> bytes:
    """CSV bytes of a flat frame (UTF-8, floats with ``ANALYSIS_FLOAT_PLACES`` decimals)."""
    return df.write_csv(float_precision=ANALYSIS_FLOAT_PLACES).encode("utf-8")


def analysis_tables(labelled: pl.DataFrame, mapped: pl.DataFrame, scored: pl.DataFrame) -> dict[str, bytes]:
    """The reviewer's tables (see the module docstring), as CSV bytes keyed by path relative to OUT."""
    flat = labelled.select([c for c, t in labelled.schema.items() if not isinstance(t, (pl.List, pl.Struct, pl.Array))])
    ordered = flat.sort(["published_at", "symbol", "seq", "event_id"], nulls_last=True, maintain_order=True)
    return {
        "analysis/labelled_car.csv": _csv(ordered),
        "analysis/exclusions.csv": _csv(
            excluded(ordered).select("event_id", "symbol", "published_at", "event_type", "excluded_reason")
        ),
        "analysis/decision_mapping.csv": _csv(
            mapped.sort("decision_index").select(
                [c for c, t in mapped.schema.items() if not isinstance(t, (pl.List, pl.Struct, pl.Array))]
            )
        ),
        "analysis/rewards.csv": _csv(
            scored.sort("decision_index").select(
                [c for c, t in scored.schema.items() if not isinstance(t, (pl.List, pl.Struct, pl.Array))]
            )
        ),
    }


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
