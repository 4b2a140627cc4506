"""The per-record claims rules of ``janus_core.evidence.claims`` as they stood before the column-at-once
screens (commit a7d17cd), kept verbatim as the reference the screened rules must match finding for
finding (tests/test_claims_screen.py). Left out: the dataset claims (unchanged, moved) and the
helpers the screens did not change, which are imported from the library."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from janus_core.decide.reward import HgrmConfig, score
from janus_core.evidence.claims import (  # unchanged by the screens: the library's own
    CAR_TOLERANCE,
    MAPPING_STATUSES,
    REWARD_TOLERANCE,
    Found,
    _allowed_directions,
    _allowed_strengths,
    _dec,
    _event_key,
    _final_reward_problems,
    _gate_problems,
    _need,
    _utc,
)
from janus_core.evidence.schema import (
    EVENT_CAR_REF,
    HGRM_REWARD_REF,
    REWARD_NUMBER_FIELDS,
    RUN_MANIFEST_REF,
    SEMANTIC_DIRECTION,
)
from janus_core.hashing import H, decimal_str
from janus_core.study.labels import LabelConfig


def order_problems(records: Sequence[Any], rewards: Sequence[Any]) -> Found:
    out: Found = []
    events = [r for r in records if isinstance(r, Mapping)]
    if len(events) != len(records) or any(_utc(r.get("event_ts")) is None for r in events):
        out.append((EVENT_CAR_REF, "records", "every record must be an object with an ISO-8601 event_ts"))
    else:
        keys = [_event_key(r) for r in events]
        for i in range(1, len(keys)):
            if keys[i] < keys[i - 1]:
                out.append(
                    (
                        EVENT_CAR_REF,
                        f"records[{i}]",
                        "out of canonical order (event_ts, symbol, seq nulls last, event_id)",
                    )
                )
                break
    ids = [r.get("event_id") for r in events]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        out.append((EVENT_CAR_REF, "records", f"event_id {dup!r} appears more than once"))
    for i, r in enumerate(rewards):
        if not isinstance(r, Mapping) or r.get("decision_index") != i:
            got = r.get("decision_index") if isinstance(r, Mapping) else r
            out.append(
                (
                    HGRM_REWARD_REF,
                    f"rewards[{i}].decision_index",
                    f"is {got!r}; rule: rewards in decision order, decision_index = position",
                )
            )
            break
    return out


def label_problems(event_doc: Mapping[str, Any], cfg: LabelConfig | None) -> Found:
    if cfg is None:
        return [(RUN_MANIFEST_REF, "config.label", "not a label config: the labels cannot be checked")]
    band, tau = Decimal(repr(cfg.neutral_band)), Decimal(repr(cfg.effective_tau))
    out: Found = []
    methodology = event_doc.get("methodology")
    stated = methodology.get("strength_threshold") if isinstance(methodology, Mapping) else None
    if stated != decimal_str(cfg.effective_tau):
        out.append(
            (
                EVENT_CAR_REF,
                "methodology.strength_threshold",
                f"states {stated!r} but the run manifest's label config gives {decimal_str(cfg.effective_tau)!r}",
            )
        )
    for i, r in enumerate(event_doc.get("records") or []):
        if not isinstance(r, Mapping):
            continue
        car = _dec(r.get("car"))
        if car is None:
            out.append((EVENT_CAR_REF, f"records[{i}].car", f"{r.get('car')!r} is not a decimal string"))
            continue
        if r.get("semantic_direction") not in _allowed_directions(car, band):
            out.append(
                (
                    EVENT_CAR_REF,
                    f"records[{i}].semantic_direction",
                    f"{r.get('semantic_direction')!r} does not follow from car {r.get('car')} and neutral band "
                    f"{decimal_str(cfg.neutral_band)}",
                )
            )
        if r.get("strength_label") not in _allowed_strengths(car, tau):
            out.append(
                (
                    EVENT_CAR_REF,
                    f"records[{i}].strength_label",
                    f"{r.get('strength_label')!r} does not follow from |car| {abs(car)} and tau {tau}",
                )
            )
    return out


def reward_reference_problems(
    event_doc: Mapping[str, Any],
    reward_doc: Mapping[str, Any],
    cfg: HgrmConfig | None,
    predicted_cars: Mapping[int, float | None] | None,
) -> Found:
    """Every reward record of ``reward_doc`` recomputed against the events of ``event_doc``: its
    id, action and mapping status; an unmapped decision carries no event, gate or reward; a mapped
    one refers to an existing event, repeats its fields, has the gates ``cfg`` gives (the predicted
    CAR from ``predicted_cars`` by decision index) and a final reward that is its unclipped reward
    clipped to ``+-final_clip``."""
    if cfg is None:
        return [(HGRM_REWARD_REF, "reward_config", "not a reward config: the rewards cannot be checked")]
    events = {r.get("event_id"): r for r in event_doc.get("records") or [] if isinstance(r, Mapping)}
    candidate = reward_doc.get("candidate_id")
    out: Found = []
    for i, r in enumerate(reward_doc.get("rewards") or []):
        if not isinstance(r, Mapping):
            out.append((HGRM_REWARD_REF, f"rewards[{i}]", "not an object"))
            continue
        out += _reward_problems(f"rewards[{i}]", r, candidate, events, cfg, predicted_cars)
    return out


def _reward_problems(
    where: str,
    r: Mapping[str, Any],
    candidate: Any,
    events: Mapping[Any, Mapping[str, Any]],
    cfg: HgrmConfig,
    predicted_cars: Mapping[int, float | None] | None,
) -> Found:
    """The problems of one reward record (:func:`reward_reference_problems`), in rule order."""
    out: Found = []
    expected_id = H(
        {
            "candidate_id": candidate,
            "strategy_id": r.get("strategy_id"),
            "decision_index": r.get("decision_index"),
            "event_id": r.get("event_id"),
        }
    )[:24]
    if r.get("reward_id") != expected_id:
        out.append((HGRM_REWARD_REF, f"{where}.reward_id", f"is {r.get('reward_id')!r}, recomputed {expected_id!r}"))
    if r.get("action") not in ("long", "short", "hold"):
        out.append((HGRM_REWARD_REF, f"{where}.action", f"{r.get('action')!r} is not long|short|hold"))
    status = r.get("mapping_status")
    if status not in MAPPING_STATUSES:
        text = f"{status!r} is not one of {list(MAPPING_STATUSES)}"
        return [*out, (HGRM_REWARD_REF, f"{where}.mapping_status", text)]
    if status != "mapped":
        fields = ("event_id", "expected_direction", "direction_gate", "event_type_gate", *REWARD_NUMBER_FIELDS)
        carried = [f for f in fields if r.get(f) is not None]
        if carried:
            text = (
                f"{status} decision carries {carried}; rule: a decision that did not map has no event, gate or reward"
            )
            out.append((HGRM_REWARD_REF, where, text))
        return out
    event = events.get(r.get("event_id"))
    if event is None:
        text = f"{r.get('event_id')!r} is not an event of {EVENT_CAR_REF}; rule: a reward refers to an existing event"
        return [*out, (HGRM_REWARD_REF, f"{where}.event_id", text)]
    for field, theirs in (
        ("event_ts", "event_ts"),
        ("symbol", "symbol"),
        ("event_type", "event_type"),
        ("expected_direction", "semantic_direction"),
    ):
        if r.get(field) != event.get(theirs):
            text = f"{r.get(field)!r} but event {r.get('event_id')} says {event.get(theirs)!r}"
            out.append((HGRM_REWARD_REF, f"{where}.{field}", text))
    return out + _gate_problems(where, r, event, cfg, predicted_cars) + _final_reward_problems(where, r, cfg)


# --------------------------------------------------------------------------------------------------
# Analysis tables
# --------------------------------------------------------------------------------------------------
def read_csv_table(out_dir: Path, rel: str, found: Found) -> pl.DataFrame | None:
    """An analysis table as all-text columns, None when absent; an unreadable one is named in ``found``."""
    path = out_dir / rel
    if not path.is_file():
        return None
    try:
        return pl.read_csv(io.BytesIO(path.read_bytes()), infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        found.append((rel, "file", f"not readable CSV ({first})"))
        return None


#: The analysis tables the claims are checked against.
LABELLED_CSV, MAPPING_CSV, EXCLUSIONS_CSV = (
    "analysis/labelled_car.csv",
    "analysis/decision_mapping.csv",
    "analysis/exclusions.csv",
)


def analysis_problems(
    out_dir: Path,
    event_doc: Mapping[str, Any],
    reward_doc: Mapping[str, Any],
    cfg: HgrmConfig | None,
    labelled: pl.DataFrame | None,
    mapping: pl.DataFrame | None,
) -> Found:
    """The event records against ``labelled_car.csv`` and ``exclusions.csv``, the reward records
    against ``decision_mapping.csv``, then (when those agree) every reward recomputed from them."""
    found: Found = []
    records = [r for r in event_doc.get("records") or [] if isinstance(r, Mapping)]
    rewards = [r for r in reward_doc.get("rewards") or [] if isinstance(r, Mapping)]
    if labelled is not None and _need(
        labelled, LABELLED_CSV, ("event_id", "car", "direction", "strength", "excluded_reason", "event_type"), found
    ):
        _labelled_problems(out_dir, labelled, records, found)
    if mapping is not None and _need(
        mapping, MAPPING_CSV, ("decision_index", "mapping_status", "action", "strategy_id", "event_id"), found
    ):
        _mapping_problems(mapping, rewards, found)
    if cfg is not None and labelled is not None and mapping is not None and not found:
        found += _recomputed_reward_problems(rewards, cfg, labelled, mapping)
    return found


def _labelled_problems(
    out_dir: Path, labelled: pl.DataFrame, records: Sequence[Mapping[str, Any]], found: Found
) -> None:
    """Into ``found``: the included events of ``labelled_car.csv`` are the event records in order,
    with the same CAR (within ``CAR_TOLERANCE``), labels and type; ``exclusions.csv`` lists its
    excluded events in order."""
    inc = labelled.filter(pl.col("excluded_reason").is_null())
    ids = inc["event_id"].to_list()
    if ids != [r.get("event_id") for r in records]:
        text = f"its {len(ids)} included events are not the {len(records)} event records, in order"
        found.append((LABELLED_CSV, "event_id", text))
    else:
        for i, (row, rec) in enumerate(zip(inc.iter_rows(named=True), records, strict=True)):
            car, rec_car = _dec(row["car"]), _dec(rec.get("car"))
            if car is None or rec_car is None or abs(car - rec_car) > CAR_TOLERANCE:
                text = f"{rec.get('car')} but {LABELLED_CSV} says {row['car']} for event {row['event_id']}"
                found.append((EVENT_CAR_REF, f"records[{i}].car", text))
            if (
                SEMANTIC_DIRECTION.get(row["direction"]) != rec.get("semantic_direction")
                or row["strength"] != rec.get("strength_label")
                or row["event_type"] != rec.get("event_type")
            ):
                text = f"labels or type differ from {LABELLED_CSV} for event {row['event_id']}"
                found.append((EVENT_CAR_REF, f"records[{i}]", text))
    excluded = read_csv_table(out_dir, EXCLUSIONS_CSV, found)
    if (
        excluded is not None
        and "event_id" in excluded.columns
        and excluded["event_id"].to_list()
        != labelled.filter(pl.col("excluded_reason").is_not_null())["event_id"].to_list()
    ):
        found.append((EXCLUSIONS_CSV, "event_id", f"not the excluded events of {LABELLED_CSV}, in order"))


def _mapping_problems(mapping: pl.DataFrame, rewards: Sequence[Mapping[str, Any]], found: Found) -> None:
    """Into ``found``: ``decision_mapping.csv`` has one row per reward record, with the same
    decision, strategy, action, event and mapping status (the first differing row only)."""
    if mapping.height != len(rewards):
        found.append((MAPPING_CSV, "rows", f"{mapping.height} decisions but {len(rewards)} reward records"))
        return
    for i, (row, rec) in enumerate(zip(mapping.iter_rows(named=True), rewards, strict=True)):
        same = (
            row["decision_index"] == str(rec.get("decision_index"))
            and row["action"] == rec.get("action")
            and row["strategy_id"] == rec.get("strategy_id")
            and row["mapping_status"] == rec.get("mapping_status")
            and row["event_id"] == rec.get("event_id")
        )
        if not same:
            text = f"decision, strategy, action, event or mapping status differ from {MAPPING_CSV} row {i + 1}"
            found.append((HGRM_REWARD_REF, f"rewards[{i}]", text))
            return


def _recomputed_reward_problems(
    rewards: Sequence[Mapping[str, Any]], cfg: HgrmConfig, labelled: pl.DataFrame, mapping: pl.DataFrame
) -> Found:
    """Score the mapped decisions of ``decision_mapping.csv`` against ``labelled_car.csv`` under the
    recorded config with the reward module itself, and compare every gate and number."""
    decisions = mapping.filter(pl.col("mapping_status") == "mapped")
    casts = {"predicted_car": pl.Float64, "format_ok": pl.Boolean}
    try:
        decisions = decisions.with_columns(
            [
                pl.col(c).cast(t)
                if t != pl.Boolean
                else pl.col(c)
                .str.to_lowercase()
                .replace_strict({"true": True, "false": False}, default=None, return_dtype=pl.Boolean)
                for c, t in casts.items()
                if c in decisions.columns
            ]
        )
        labels = labelled.with_columns(pl.col("car").cast(pl.Float64))
        scored = score(decisions.drop("decision_index", "mapping_status"), labels, cfg)
    except (ValueError, pl.exceptions.PolarsError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [(HGRM_REWARD_REF, "rewards", f"cannot be recomputed from the analysis tables ({first})")]
    mapped = [r for r in rewards if r.get("mapping_status") == "mapped"]
    if scored.height != len(mapped):
        return [(HGRM_REWARD_REF, "rewards", f"{len(mapped)} mapped rewards but {scored.height} recomputed")]
    out: Found = []
    for rec, row in zip(mapped, scored.iter_rows(named=True), strict=True):
        where = f"rewards[{rec.get('decision_index')}]"
        if not row["mapped"]:
            out.append(
                (HGRM_REWARD_REF, where, f"mapped, but the reward module does not map it ({row['unmapped_reason']})")
            )
            continue
        for field in ("direction_gate", "event_type_gate", "clipped"):
            if rec.get(field) != row[field]:
                out.append(
                    (HGRM_REWARD_REF, f"{where}.{field}", f"recorded {rec.get(field)!r}, recomputed {row[field]!r}")
                )
        for field in REWARD_NUMBER_FIELDS:
            got = _dec(rec.get(field))
            if got is None or abs(got - Decimal(repr(float(row[field])))) > REWARD_TOLERANCE:
                out.append(
                    (
                        HGRM_REWARD_REF,
                        f"{where}.{field}",
                        f"recorded {rec.get(field)!r}, recomputed {decimal_str(row[field])!r}",
                    )
                )
        if len(out) >= 20:
            out.append((HGRM_REWARD_REF, "rewards", "more recomputation mismatches not listed"))
            break
    return out
