"""Cross-record invariants of an evidence folder: every claim a record makes about another record,
the labels or the config is recomputed, not trusted (used by :func:`janus_core.evidence.verify.verify_evidence`).

Each function returns ``(file, location, rule)`` triples, empty when the claims hold:

- :func:`order_problems`: records in canonical order (event records by (event_ts, symbol, seq nulls
  last, event_id), event ids unique; reward records in decision order, ``decision_index`` = position).
- :func:`label_problems`: each event's ``semantic_direction`` and ``strength_label`` follow from its
  ``car`` and the label config of the run manifest (``car > neutral_band`` long, ``< -neutral_band``
  short, else neutral; strong iff ``|car| >= tau``; a car within 1e-10 of a threshold, the rounding of
  the written 10-decimal string, may go either way); the methodology states that tau.
- :func:`reward_reference_problems`: each mapped reward refers to an existing event record and repeats
  its ``event_ts``, ``symbol``, ``event_type`` and direction (``expected_direction``); its gates follow
  from the action, the prediction, the event's labels and the reward config (the profile's rules,
  :mod:`janus_core.decide.reward`); ``reward_id`` is recomputed; a reward that did not map carries no
  event, gate or number; ``final_reward`` is ``final_reward_unclipped`` clipped to the config's bound
  and ``clipped`` says whether it changed.
- :func:`analysis_problems`: the analysis tables agree with the records (``labelled_car.csv``'s
  included events are the event records, same ids in the same order, CAR within 1e-10 and the same
  labels; ``exclusions.csv`` its excluded rows; ``decision_mapping.csv`` one row per reward record,
  same decision, strategy, action, event and status) and every reward number is recomputed by the
  reward module from ``decision_mapping.csv``, ``labelled_car.csv`` and the recorded reward config
  (within 1e-8: the tables carry 12 decimals).
- the run manifest's dataset claims: :mod:`janus_core.evidence.dataset_claims`.

Each per-record rule runs exactly on the records a column-at-once screen
(:mod:`janus_core.evidence.claims_screen`) cannot pass outright, so the findings are the rule's own.
The screens of one verification share the columns of the two record lists (``screen.Columns``, built by
``screen.record_columns``; each function builds its own when not given them).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import compress, repeat
from typing import Any

import polars as pl
from pydantic import ValidationError

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.reward import HgrmConfig, score
from janus_core.evidence import claims_screen as screen
from janus_core.evidence.claims_tables import EXCLUSIONS_CSV, LABELLED_CSV, MAPPING_CSV, Found, read_csv_table
from janus_core.evidence.records import reward_ids
from janus_core.evidence.schema import (
    EVENT_CAR_REF,
    HGRM_REWARD_REF,
    REWARD_NUMBER_FIELDS,
    RUN_MANIFEST_REF,
    SEMANTIC_DIRECTION,
)
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import decimal_str
from janus_core.study.labels import LabelConfig

MAPPING_STATUSES: tuple[str, ...] = ("mapped", "ambiguous", "unmapped", "event_excluded")
#: Half a unit of the 10th decimal plus the 12-decimal rounding of the analysis tables, rounded up.
CAR_TOLERANCE = Decimal("1e-10")
#: Reward numbers recomputed from 12-decimal tables, weights up to 20: agreement within this.
REWARD_TOLERANCE = Decimal("1e-8")
_SIGN = {"long": 1, "short": -1, "neutral": 0, "hold": 0}


def _dec(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _utc(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------
# Configs as recorded
# --------------------------------------------------------------------------------------------------
def label_config(manifest: Mapping[str, Any]) -> LabelConfig | None:
    """The label config of the run manifest (``config.label``), or None when it does not parse."""
    config = manifest.get("config")
    raw = config.get("label") if isinstance(config, Mapping) else None
    try:
        return LabelConfig.model_validate(raw if isinstance(raw, Mapping) else {})
    except ValidationError:
        return None


def reward_config(reward_doc: Mapping[str, Any]) -> HgrmConfig | None:
    """The reward config the reward file states (``reward_config``: every constant as a string,
    ``"none"`` for None), or None when it does not parse."""
    raw = reward_doc.get("reward_config")
    if not isinstance(raw, Mapping):
        return None
    try:
        return HgrmConfig.model_validate({k: None if v == "none" else v for k, v in raw.items()})
    except (ValidationError, TypeError):
        return None


# --------------------------------------------------------------------------------------------------
# Order
# --------------------------------------------------------------------------------------------------
def _event_key(r: Mapping[str, Any]) -> tuple[Any, ...]:
    seq = r.get("seq")
    return (
        _utc(r.get("event_ts")),
        str(r.get("symbol")),
        seq is None,
        seq if isinstance(seq, int) else 0,
        str(r.get("event_id")),
    )


def order_problems(records: Sequence[Any], rewards: Sequence[Any], columns: screen.Columns | None = None) -> Found:
    out: Found = []
    events = screen.mappings(records)
    cols = columns or screen.Columns(screen.RecordColumns(events), screen.RecordColumns(screen.mappings(rewards)))
    if screen.all_dicts(records, cols.events) and screen.in_canonical_order(cols.events):
        pass  # every key certainly in order: the walk below would find nothing
    elif len(events) != len(records) or any(_utc(r.get("event_ts")) is None for r in events):
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
    ids = cols.events.values("event_id") if cols.events.dict_rows else [r.get("event_id") for r in events]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        out.append((EVENT_CAR_REF, "records", f"event_id {dup!r} appears more than once"))
    in_order = screen.all_dicts(rewards, cols.rewards) and cols.rewards.values("decision_index") == list(
        range(len(rewards))
    )
    for i, r in enumerate([] if in_order else rewards):
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


# --------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------
def _allowed_directions(car: Decimal, band: Decimal) -> set[str]:
    out = set()
    for value in (car - CAR_TOLERANCE, car, car + CAR_TOLERANCE):
        out.add("long" if value > band else "short" if value < -band else "neutral")
    return out


def _allowed_strengths(car: Decimal, tau: Decimal) -> set[str]:
    return {"strong" if abs(value) >= tau else "weak" for value in (car - CAR_TOLERANCE, car, car + CAR_TOLERANCE)}


def label_problems(
    event_doc: Mapping[str, Any], cfg: LabelConfig | None, columns: screen.Columns | None = None
) -> Found:
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
    records = event_doc.get("records") or []
    events = columns.events if columns is not None else screen.RecordColumns(screen.mappings(records))
    screened = isinstance(records, list) and screen.all_dicts(records, events)
    passes = screen.label_passes(events, float(band), float(tau), float(CAR_TOLERANCE)) if screened else []
    for i, r in enumerate(records):
        if not isinstance(r, Mapping) or (screened and passes[i]):
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


# --------------------------------------------------------------------------------------------------
# Rewards against events and config
# --------------------------------------------------------------------------------------------------
def direction_gate(profile: str, action: Any, expected: Any, predicted_car: float | None, band: float) -> str:
    """The direction gate of the reward module's profile (:mod:`janus_core.decide.reward`):
    scaffold: neutral when the event is neutral or the action holds, match when the action's direction
    is the event's, else mismatch; hgrm: the predicted direction ``p`` (the action's, or for a hold the
    sign of the predicted CAR outside the neutral band) against the event's ``d``: match when equal,
    mismatch when opposite, else neutral."""
    a, d = _SIGN.get(str(action), 0), _SIGN.get(str(expected), 0)
    if profile == "lane_scaffold":
        return "neutral" if d == 0 else "match" if a == d else "neutral" if a == 0 else "mismatch"
    p = a
    if a == 0 and predicted_car is not None:
        p = 1 if predicted_car > band else -1 if predicted_car < -band else 0
    return "match" if p == d else "mismatch" if p * d == -1 else "neutral"


def event_type_gate(profile: str, predicted: Any, true_type: Any) -> str:
    """hgrm: unknown when the true type is outside the taxonomy or none was predicted; scaffold: unknown
    only when none was predicted; then match when equal, else mismatch."""
    if predicted is None or (profile != "lane_scaffold" and true_type not in EVENT_TYPES):
        return "unknown"
    return "match" if predicted == true_type else "mismatch"


def reward_reference_problems(
    event_doc: Mapping[str, Any],
    reward_doc: Mapping[str, Any],
    cfg: HgrmConfig | None,
    predicted_cars: Mapping[int, float | None] | None,
    columns: screen.Columns | None = None,
) -> Found:
    """Every reward record of ``reward_doc`` recomputed against the events of ``event_doc``: its
    id, action and mapping status; an unmapped decision carries no event, gate or reward; a mapped
    one refers to an existing event, repeats its fields, has the gates ``cfg`` gives (the predicted
    CAR from ``predicted_cars`` by decision index) and a final reward that is its unclipped reward
    clipped to ``+-final_clip``."""
    if cfg is None:
        return [(HGRM_REWARD_REF, "reward_config", "not a reward config: the rewards cannot be checked")]
    records = event_doc.get("records") or []
    rewards = reward_doc.get("rewards") or []
    cols = columns or screen.record_columns(event_doc, reward_doc)
    objects = cols.rewards.rows
    fields = ("strategy_id", "decision_index", "event_id")
    strategies, indices, event_ids = (
        (cols.rewards.values(f) for f in fields)
        if cols.rewards.dict_rows
        else ([r.get(f) for r in objects] for f in fields)
    )
    expected = reward_ids(reward_doc.get("candidate_id"), strategies, indices, event_ids)
    passes = (
        screen.reward_passes(
            cols.rewards,
            expected,
            cols.events,
            cfg.profile,
            cfg.neutral_band,
            cfg.final_clip,
            predicted_cars,
            float(CAR_TOLERANCE),
        )
        if isinstance(records, list) and screen.all_dicts(records, cols.events) and cols.rewards.dict_rows
        else [False] * len(objects)
    )
    events = {r.get("event_id"): r for r in cols.events.rows} if not all(passes) else {}  # for the exact rule
    checks = iter(zip(expected, passes, strict=True))
    out: Found = []
    if len(objects) == len(rewards):  # every record an object: only those the screen did not pass
        for i in compress(range(len(rewards)), map(operator.not_, passes)):
            out += _reward_problems(f"rewards[{i}]", rewards[i], expected[i], events, cfg, predicted_cars)
        return out
    for i, r in enumerate(rewards):
        if not isinstance(r, Mapping):
            out.append((HGRM_REWARD_REF, f"rewards[{i}]", "not an object"))
            continue
        expected_id, passed = next(checks)
        if not passed:
            out += _reward_problems(f"rewards[{i}]", r, expected_id, events, cfg, predicted_cars)
    return out


def _reward_problems(
    where: str,
    r: Mapping[str, Any],
    expected_id: str,
    events: Mapping[Any, Mapping[str, Any]],
    cfg: HgrmConfig,
    predicted_cars: Mapping[int, float | None] | None,
) -> Found:
    """The problems of one reward record (:func:`reward_reference_problems`; ``expected_id`` its
    recomputed ``reward_id``, :func:`janus_core.evidence.records.reward_ids`), in rule order."""
    out: Found = []
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


def _gate_problems(
    where: str,
    r: Mapping[str, Any],
    event: Mapping[str, Any],
    cfg: HgrmConfig,
    predicted_cars: Mapping[int, float | None] | None,
) -> Found:
    """A mapped reward's direction gate (checked for a trade, the scaffold profile, or a known
    predicted CAR) and event-type gate, recomputed."""
    out: Found = []
    known = predicted_cars is not None and r.get("decision_index") in predicted_cars
    if r.get("action") != "hold" or cfg.profile == "lane_scaffold" or known:
        c_hat = predicted_cars.get(r.get("decision_index")) if known and predicted_cars is not None else None
        gate = direction_gate(cfg.profile, r.get("action"), event.get("semantic_direction"), c_hat, cfg.neutral_band)
        if r.get("direction_gate") != gate:
            text = (
                f"{r.get('direction_gate')!r} but action {r.get('action')!r} on a "
                f"{event.get('semantic_direction')!r} event gives {gate!r} ({cfg.profile})"
            )
            out.append((HGRM_REWARD_REF, f"{where}.direction_gate", text))
    type_gate = event_type_gate(cfg.profile, r.get("predicted_event_type"), event.get("event_type"))
    if r.get("event_type_gate") != type_gate:
        text = (
            f"{r.get('event_type_gate')!r} but predicted {r.get('predicted_event_type')!r} for a "
            f"{event.get('event_type')!r} event gives {type_gate!r} ({cfg.profile})"
        )
        out.append((HGRM_REWARD_REF, f"{where}.event_type_gate", text))
    return out


def _final_reward_problems(where: str, r: Mapping[str, Any], cfg: HgrmConfig) -> Found:
    """A mapped reward's numbers: every one a decimal string, the final reward its unclipped reward
    clipped to ``+-final_clip`` (within ``CAR_TOLERANCE``) and ``clipped`` saying whether the clip
    changed it."""
    clip = Decimal(repr(cfg.final_clip))
    final, unclipped = _dec(r.get("final_reward")), _dec(r.get("final_reward_unclipped"))
    if any(_dec(r.get(f)) is None for f in REWARD_NUMBER_FIELDS) or final is None or unclipped is None:
        return [(HGRM_REWARD_REF, where, "a mapped reward needs every reward number as a decimal string")]
    out: Found = []
    clamped = max(-clip, min(clip, unclipped))
    if abs(final - clamped) > CAR_TOLERANCE:
        text = f"{r.get('final_reward')} is not final_reward_unclipped {unclipped} clipped to +-{clip}"
        out.append((HGRM_REWARD_REF, f"{where}.final_reward", text))
    if r.get("clipped") is not (clamped != unclipped):
        text = f"{r.get('clipped')!r} but the clip {'changed' if clamped != unclipped else 'kept'} it"
        out.append((HGRM_REWARD_REF, f"{where}.clipped", text))
    return out


# --------------------------------------------------------------------------------------------------
# Analysis tables
# --------------------------------------------------------------------------------------------------
def _need(frame: pl.DataFrame, rel: str, columns: Sequence[str], found: Found) -> bool:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found.append((rel, "columns", f"lacks {missing}"))
    return not missing


def predicted_cars(mapping: pl.DataFrame | None) -> dict[int, float | None] | None:
    """``decision_index -> predicted_car`` from ``decision_mapping.csv`` (None when unreadable)."""
    if mapping is None or not {"decision_index", "predicted_car"} <= set(mapping.columns):
        return None
    try:
        idx = mapping["decision_index"].cast(pl.Int64).to_list()
        cars = mapping["predicted_car"].cast(pl.Float64).to_list()
    except pl.exceptions.PolarsError:
        return None
    return dict(zip(idx, cars, strict=True))


def analysis_problems(
    files: EvidenceFiles,
    event_doc: Mapping[str, Any],
    reward_doc: Mapping[str, Any],
    cfg: HgrmConfig | None,
    labelled: pl.DataFrame | None,
    mapping: pl.DataFrame | None,
    columns: screen.Columns | None = None,
) -> Found:
    """The event records against ``labelled_car.csv`` and ``exclusions.csv``, the reward records
    against ``decision_mapping.csv``, then (when those agree) every reward recomputed from them."""
    found: Found = []
    cols = columns or screen.record_columns(event_doc, reward_doc)
    if labelled is not None and _need(
        labelled, LABELLED_CSV, ("event_id", "car", "direction", "strength", "excluded_reason", "event_type"), found
    ):
        _labelled_problems(files, labelled, cols.events, found)
    if mapping is not None and _need(
        mapping, MAPPING_CSV, ("decision_index", "mapping_status", "action", "strategy_id", "event_id"), found
    ):
        _mapping_problems(mapping, cols.rewards, found)
    if cfg is not None and labelled is not None and mapping is not None and not found:
        found += _recomputed_reward_problems(cols.rewards, cfg, labelled, mapping)
    return found


def _labelled_problems(
    files: EvidenceFiles, labelled: pl.DataFrame, events: screen.RecordColumns, found: Found
) -> None:
    """Into ``found``: the included events of ``labelled_car.csv`` are the event records in order,
    with the same CAR (within ``CAR_TOLERANCE``), labels and type; ``exclusions.csv`` lists its
    excluded events in order."""
    records = events.rows
    inc = labelled.filter(pl.col("excluded_reason").is_null())
    ids = inc["event_id"].to_list()
    if ids != (events.values("event_id") if events.dict_rows else [r.get("event_id") for r in records]):
        text = f"its {len(ids)} included events are not the {len(records)} event records, in order"
        found.append((LABELLED_CSV, "event_id", text))
    else:
        passes = (
            screen.labelled_passes(inc, events, SEMANTIC_DIRECTION, float(CAR_TOLERANCE))
            if events.dict_rows
            else [False] * len(records)
        )
        for i in (i for i, ok in enumerate(passes) if not ok):
            row, rec = inc.row(i, named=True), records[i]
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
    excluded = read_csv_table(files, EXCLUSIONS_CSV, found)
    if (
        excluded is not None
        and "event_id" in excluded.columns
        and excluded["event_id"].to_list()
        != labelled.filter(pl.col("excluded_reason").is_not_null())["event_id"].to_list()
    ):
        found.append((EXCLUSIONS_CSV, "event_id", f"not the excluded events of {LABELLED_CSV}, in order"))


def _mapping_problems(mapping: pl.DataFrame, columns: screen.RecordColumns, found: Found) -> None:
    """Into ``found``: ``decision_mapping.csv`` has one row per reward record, with the same
    decision, strategy, action, event and mapping status (the first differing row only)."""
    rewards = columns.rows
    if mapping.height != len(rewards):
        found.append((MAPPING_CSV, "rows", f"{mapping.height} decisions but {len(rewards)} reward records"))
        return

    def get(f: str) -> list[Any]:
        return columns.values(f) if columns.dict_rows else [r.get(f) for r in rewards]

    if mapping["decision_index"].to_list() == list(map(str, get("decision_index"))) and all(
        mapping[f].to_list() == get(f) for f in ("action", "strategy_id", "mapping_status", "event_id")
    ):
        return  # every row the same (the loop below names the first that is not)
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
    columns: screen.RecordColumns, cfg: HgrmConfig, labelled: pl.DataFrame, mapping: pl.DataFrame
) -> Found:
    """Score the mapped decisions of ``decision_mapping.csv`` against ``labelled_car.csv`` under the
    recorded config with the reward module itself, and compare every gate and number."""
    mapped_rows = (mapping["mapping_status"] == "mapped").fill_null(False)
    decisions = mapping if mapped_rows.all() else mapping.filter(mapped_rows)  # no copy when all are mapped
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
    if columns.dict_rows:
        part = columns.subset(list(map(operator.eq, columns.values("mapping_status"), repeat("mapped"))))
    else:
        part = screen.RecordColumns([r for r in columns.rows if r.get("mapping_status") == "mapped"])
    mapped = part.rows
    if scored.height != len(mapped):
        return [(HGRM_REWARD_REF, "rewards", f"{len(mapped)} mapped rewards but {scored.height} recomputed")]
    screened = part.dict_rows and scored.schema.get("clipped") == pl.Boolean
    passes = screen.recomputed_passes(part, scored, float(REWARD_TOLERANCE)) if screened else [False] * len(mapped)
    out: Found = []
    for k, (rec, passed) in enumerate(zip(mapped, passes, strict=True)):
        if not passed:
            row = scored.row(k, named=True)
            where = f"rewards[{rec.get('decision_index')}]"
            if not row["mapped"]:
                text = f"mapped, but the reward module does not map it ({row['unmapped_reason']})"
                out.append((HGRM_REWARD_REF, where, text))
                continue
            out += _recomputed_row_problems(where, rec, row)
        if len(out) >= 20:
            out.append((HGRM_REWARD_REF, "rewards", "more recomputation mismatches not listed"))
            break
    return out


def _recomputed_row_problems(where: str, rec: Mapping[str, Any], row: Mapping[str, Any]) -> Found:
    """One mapped reward record against the reward module's row for it: gates, clip flag and every
    reward number (within ``REWARD_TOLERANCE``)."""
    out: Found = []
    for field in ("direction_gate", "event_type_gate", "clipped"):
        if rec.get(field) != row[field]:
            out.append((HGRM_REWARD_REF, f"{where}.{field}", f"recorded {rec.get(field)!r}, recomputed {row[field]!r}"))
    for field in REWARD_NUMBER_FIELDS:
        got = _dec(rec.get(field))
        if got is None or abs(got - Decimal(repr(float(row[field])))) > REWARD_TOLERANCE:
            text = f"recorded {rec.get(field)!r}, recomputed {decimal_str(row[field])!r}"
            out.append((HGRM_REWARD_REF, f"{where}.{field}", text))
    return out
