"""Column-at-once screens of the per-record claims (:mod:`janus_core.evidence.claims`): which records
certainly pass every rule, so that the exact per-record check (``Decimal`` arithmetic, one record at
a time) runs only on the others and the findings are the same, in the same order.

A screen is conservative: it passes a record only when the exact check cannot find a problem in it.
The record's values must have the exact JSON types the rules need (a column of any other type
passes nothing), its numbers must be plain decimal strings (``-?[0-9]+(.[0-9]+)?``, which
``Decimal`` reads exactly and float64 reads correctly rounded) of magnitude below :data:`SAFE`, and
every comparison with a tolerance or a threshold must hold with a margin far above float64's error
at that magnitude (below ``1e-12``): a value within the margin of a threshold is left to the exact
check. Screens run in polars expressions over columns taken from the parsed records at C level
(``map(dict.get, ...)``), each field of a list of records read once for every screen
(:class:`RecordColumns`).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from itertools import compress
from typing import Any, NamedTuple

import polars as pl

from janus_core.data.events import EVENT_TYPES
from janus_core.evidence.schema import REWARD_NUMBER_FIELDS
from janus_core.hashing import PLAIN_DECIMAL, record_values

#: Numbers screened only below this magnitude (float64 error there is below 1e-12).
SAFE = 1e3
_NONE = type(None)


def dict_rows(rows: Sequence[Any]) -> bool:
    """Whether every row is an exact ``dict`` (the only rows the screens read)."""
    return set(map(type, rows)) <= {dict}


def mappings(rows: Sequence[Any]) -> list[Any]:
    """The rows that are mappings (``isinstance(row, Mapping)``), all of them at once when every one
    is an exact dict."""
    return list(rows) if dict_rows(rows) else [r for r in rows if isinstance(r, Mapping)]


def texts(values: list[Any]) -> pl.Series | None:
    """A String column of ``values`` when each is an exact ``str`` or None; else None (the screen then
    passes nothing that needs it)."""
    return pl.Series(values, dtype=pl.String) if set(map(type, values)) <= {str, _NONE} else None


def booleans(values: list[Any]) -> pl.Series | None:
    """A Boolean column of ``values`` when each is an exact ``bool``; else None."""
    return pl.Series(values, dtype=pl.Boolean) if set(map(type, values)) <= {bool} else None


def plain_numbers(values: list[Any] | pl.Series) -> pl.Series:
    """The float64 value of each plain decimal string of magnitude below :data:`SAFE` (``values``:
    Python values or a String column); null for anything else (left to the exact check)."""
    s = values if isinstance(values, pl.Series) else texts(values)
    if s is None or s.dtype != pl.String:
        return pl.Series([None] * len(values), dtype=pl.Float64)
    x = s.cast(pl.Float64, strict=False)
    keep = s.str.contains(PLAIN_DECIMAL).fill_null(False) & (x.abs() < SAFE).fill_null(False)
    return pl.select(pl.when(keep).then(x)).to_series()


class RecordColumns:
    """The fields of one list of records, each read once and kept for every screen: as Python values
    (:func:`janus_core.hashing.record_values`), as a String column (:func:`texts`), as screened numbers (:func:`plain_numbers`)
    and as a Boolean column (:func:`booleans`). The screens read only lists of exact dicts
    (``dict_rows``); the records are read, never changed.

    :meth:`subset` gives the columns of the records a mask keeps, each filtered from this one's
    when asked for (so a field is not read again from the records)."""

    def __init__(self, rows: Sequence[Any], parent: RecordColumns | None = None, keep: list[bool] | None = None):
        self.rows = rows
        self.dict_rows = parent.dict_rows if parent is not None else dict_rows(rows)
        self._parent, self._keep = parent, keep
        self._mask: pl.Series | None = None
        self._values: dict[str, list[Any]] = {}
        self._texts: dict[str, pl.Series | None] = {}
        self._numbers: dict[str, pl.Series] = {}
        self._booleans: dict[str, pl.Series | None] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, keep: list[bool]) -> RecordColumns:
        """The columns of the rows ``keep`` marks (``keep[i]`` for row i), in order."""
        return RecordColumns(list(compress(self.rows, keep)), self, keep)

    def _mask_series(self) -> pl.Series:
        """The subset's mask as a Boolean column."""
        if self._mask is None:
            self._mask = pl.Series(self._keep, dtype=pl.Boolean)
        return self._mask

    def _filtered(self, column: pl.Series | None) -> pl.Series | None:
        """A column of the parent with the rows of this subset (None stays None)."""
        return None if column is None else column.filter(self._mask_series())

    def values(self, key: str) -> list[Any]:
        """``row.get(key)`` of every row (:func:`column`; the rows must be dicts)."""
        if key not in self._values:
            parent = self._parent
            self._values[key] = (
                record_values(self.rows, key)
                if parent is None
                else list(compress(parent.values(key), self._keep or []))
            )
        return self._values[key]

    def texts(self, key: str) -> pl.Series | None:
        """:func:`texts` of the field (of a subset: the parent's column filtered, when it is text; a
        column of other types may be all text once filtered, so it is then read from the values)."""
        if key not in self._texts:
            parent = self._filtered(self._parent.texts(key)) if self._parent is not None else None
            self._texts[key] = parent if parent is not None else texts(self.values(key))
        return self._texts[key]

    def numbers(self, key: str) -> pl.Series:
        """:func:`plain_numbers` of the field."""
        if key not in self._numbers:
            s = self.texts(key)
            if s is None:
                self._numbers[key] = pl.Series([None] * len(self), dtype=pl.Float64)
            elif self._parent is not None and self._parent.texts(key) is not None:
                self._numbers[key] = self._parent.numbers(key).filter(self._mask_series())
            else:
                self._numbers[key] = plain_numbers(s)
        return self._numbers[key]

    def booleans(self, key: str) -> pl.Series | None:
        """:func:`booleans` of the field (of a subset: as :meth:`texts` does)."""
        if key not in self._booleans:
            parent = self._filtered(self._parent.booleans(key)) if self._parent is not None else None
            self._booleans[key] = parent if parent is not None else booleans(self.values(key))
        return self._booleans[key]


def all_dicts(rows: Sequence[Any], columns: RecordColumns) -> bool:
    """Whether every one of ``rows`` is an exact dict, from the ``columns`` of its mappings
    (:func:`dict_rows` of ``rows``, without walking the rows again)."""
    return columns.dict_rows and len(columns) == len(rows)


class Columns(NamedTuple):
    """The columns of the event records and of the reward records (:class:`RecordColumns`)."""

    events: RecordColumns
    rewards: RecordColumns


def record_columns(event_doc: Mapping[str, Any], reward_doc: Mapping[str, Any]) -> Columns:
    """The columns of ``event_doc``'s records and ``reward_doc``'s rewards (of the objects among
    them), for every claim of one verification."""
    return Columns(
        RecordColumns(mappings(event_doc.get("records") or [])),
        RecordColumns(mappings(reward_doc.get("rewards") or [])),
    )


def _signs(values: pl.Expr) -> pl.Expr:
    """``claims._SIGN`` of each value (long 1, short -1, anything else 0)."""
    return pl.when(values == "long").then(1).when(values == "short").then(-1).otherwise(0).fill_null(0)


# --------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------
def label_passes(records: RecordColumns, band: float, tau: float, tolerance: float) -> list[bool]:
    """Records whose ``semantic_direction`` and ``strength_label`` certainly follow from their ``car``
    (``claims.label_problems``): the car, widened by ``tolerance`` and a margin, lies on one side of
    every threshold."""
    direction, strength = records.texts("semantic_direction"), records.texts("strength_label")
    if direction is None or strength is None:
        return [False] * len(records)
    frame = pl.DataFrame({"car": records.numbers("car"), "direction": direction, "strength": strength})
    c, m = pl.col("car"), tolerance + 1e-11
    expected_direction = (
        pl.when(c > band + m)
        .then(pl.lit("long"))
        .when(c < -band - m)
        .then(pl.lit("short"))
        .when(c.abs() < band - m)
        .then(pl.lit("neutral"))
    )
    expected_strength = pl.when(c.abs() >= tau + m).then(pl.lit("strong")).when(c.abs() < tau - m).then(pl.lit("weak"))
    ok = (expected_direction == pl.col("direction")) & (expected_strength == pl.col("strength"))
    return frame.select(ok.fill_null(False)).to_series().to_list()


# --------------------------------------------------------------------------------------------------
# Rewards against events and config
# --------------------------------------------------------------------------------------------------
_REWARD_TEXTS = (
    "action",
    "mapping_status",
    "event_id",
    "event_ts",
    "symbol",
    "event_type",
    "expected_direction",
    "direction_gate",
    "event_type_gate",
    "predicted_event_type",
)
_EVENT_TEXTS = ("event_id", "event_ts", "symbol", "event_type", "semantic_direction")


def reward_passes(
    rewards: RecordColumns,
    expected_ids: list[str],
    events: RecordColumns,
    profile: str,
    band: float,
    final_clip: float,
    predicted_cars: Mapping[int, float | None] | None,
    tolerance: float,
) -> list[bool]:
    """Mapped reward records that certainly pass ``claims._reward_problems``: the recomputed id
    (``expected_ids``), a known action, an existing event (the last record of its id, as the exact
    check's dict keeps) whose fields it repeats, both gates as ``profile`` gives them, every number a
    plain decimal string, and the final reward its unclipped one clipped to ``+-final_clip`` (within
    ``tolerance``) with ``clipped`` saying whether the clip changed it, each with a margin. A NaN
    predicted CAR is read as null: for a hold both give the hold's own direction, 0. Every row must be
    an exact dict (:func:`dict_rows`), ``events`` too."""
    n = len(rewards)
    idx = rewards.values("decision_index")
    cols = {f: rewards.texts(f) for f in _REWARD_TEXTS}
    ev = {f: events.texts(f) for f in _EVENT_TEXTS}
    clipped = rewards.booleans("clipped")
    if not set(map(type, idx)) <= {int} or clipped is None or any(c is None for c in (*cols.values(), *ev.values())):
        return [False] * n
    cars = predicted_cars or {}
    frame = pl.DataFrame(
        {
            "_row": pl.int_range(n, eager=True),
            "id_ok": pl.Series(list(map(operator.eq, rewards.values("reward_id"), expected_ids)), dtype=pl.Boolean),
            **cols,
            "clipped": clipped,
            "known": pl.Series(list(map(cars.__contains__, idx)), dtype=pl.Boolean),
            "c_hat": pl.Series(list(map(cars.get, idx)), dtype=pl.Float64, nan_to_null=True),
            **{f"n_{f}": rewards.numbers(f) for f in REWARD_NUMBER_FIELDS},
        }
    )
    event_frame = (
        pl.DataFrame({f"e_{f}": s for f, s in ev.items()})
        .filter(pl.col("e_event_id").is_not_null())
        .unique("e_event_id", keep="last", maintain_order=True)
        .with_columns(pl.lit(True).alias("found"))
    )
    joined = frame.join(event_frame, left_on="event_id", right_on="e_event_id", how="left", maintain_order="left")
    ok = _reward_rules(profile, band, final_clip, tolerance)
    return joined.sort("_row").select(ok.fill_null(False)).to_series().to_list()


def _reward_rules(profile: str, band: float, final_clip: float, tolerance: float) -> pl.Expr:
    """Every rule of :func:`reward_passes` as one Boolean expression over the joined frame (null: not
    passed)."""
    col = pl.col
    a, d = _signs(col("action")), _signs(col("e_semantic_direction"))
    if profile == "lane_scaffold":
        gate = pl.when(d == 0).then(pl.lit("neutral")).when(a == d).then(pl.lit("match"))
        gate = gate.when(a == 0).then(pl.lit("neutral")).otherwise(pl.lit("mismatch"))
        checked = pl.lit(True)
    else:
        hat = pl.when(col("c_hat") > band).then(1).when(col("c_hat") < -band).then(-1).otherwise(0)
        p = pl.when((a == 0) & col("known") & col("c_hat").is_not_null()).then(hat).otherwise(a)
        gate = pl.when(p == d).then(pl.lit("match")).when(p * d == -1).then(pl.lit("mismatch"))
        gate = gate.otherwise(pl.lit("neutral"))
        checked = (col("action") != "hold") | col("known")
    predicted, true_type = col("predicted_event_type"), col("e_event_type")
    unknown = predicted.is_null() | (
        pl.lit(False) if profile == "lane_scaffold" else ~true_type.is_in(list(EVENT_TYPES)).fill_null(False)
    )
    type_gate = pl.when(unknown).then(pl.lit("unknown")).when(predicted.eq_missing(true_type)).then(pl.lit("match"))
    type_gate = type_gate.otherwise(pl.lit("mismatch"))
    u, final, m = col("n_final_reward_unclipped"), col("n_final_reward"), 1e-11
    clamp = pl.min_horizontal(pl.max_horizontal(u, pl.lit(-final_clip)), pl.lit(final_clip))
    clip_changes = pl.when(u.abs() > final_clip + m).then(True).when(u.abs() < final_clip - m).then(False)
    return pl.all_horizontal(
        col("id_ok"),
        col("mapping_status") == "mapped",
        col("action").is_in(["long", "short", "hold"]),
        col("found"),
        col("event_ts").eq_missing(col("e_event_ts")),
        col("symbol").eq_missing(col("e_symbol")),
        col("event_type").eq_missing(col("e_event_type")),
        col("expected_direction").eq_missing(col("e_semantic_direction")),
        ~checked | (gate == col("direction_gate")),
        type_gate == col("event_type_gate"),
        *(col(f"n_{f}").is_not_null() for f in REWARD_NUMBER_FIELDS),
        (final - clamp).abs() <= tolerance - m,
        clip_changes == col("clipped"),
    )


# --------------------------------------------------------------------------------------------------
# Analysis tables against the records
# --------------------------------------------------------------------------------------------------
def _within(a: pl.Series, b: pl.Series, tolerance: float) -> pl.Series:
    """Both values screened numbers (:func:`plain_numbers`) within ``tolerance`` less a margin."""
    return ((a - b).abs() <= tolerance - 1e-11).fill_null(False)


def labelled_passes(
    included: pl.DataFrame, records: RecordColumns, directions: Mapping[str, str], tolerance: float
) -> list[bool]:
    """Rows of ``labelled_car.csv``'s included events (all-text columns, aligned with ``records``) that
    certainly agree with their record (``claims._labelled_problems``): the same CAR within
    ``tolerance`` and the same direction (through ``directions``), strength and event type."""
    rec = {f: records.texts(f) for f in ("car", "semantic_direction", "strength_label", "event_type")}
    if any(s is None for s in rec.values()):
        return [False] * included.height
    direction = included["direction"].replace_strict(dict(directions), default=None, return_dtype=pl.String)
    ok = (
        _within(plain_numbers(included["car"]), records.numbers("car"), tolerance)
        & direction.eq_missing(rec["semantic_direction"])
        & included["strength"].eq_missing(rec["strength_label"])
        & included["event_type"].eq_missing(rec["event_type"])
    )
    return ok.fill_null(False).to_list()


def recomputed_passes(mapped: RecordColumns, scored: pl.DataFrame, tolerance: float) -> list[bool]:
    """Mapped reward records that certainly agree with the reward module's row for them
    (``claims._recomputed_reward_problems``): mapped there too, the same gates and clip flag, and
    every reward number within ``tolerance``."""
    gates = {f: mapped.texts(f) for f in ("direction_gate", "event_type_gate")}
    clipped = mapped.booleans("clipped")
    if clipped is None or any(s is None for s in gates.values()):
        return [False] * len(mapped)
    ok = scored["mapped"].fill_null(False) & scored["clipped"].eq_missing(clipped)
    for f, s in gates.items():
        ok = ok & scored[f].eq_missing(s)
    for f in REWARD_NUMBER_FIELDS:
        ok = ok & _within(mapped.numbers(f), scored[f].cast(pl.Float64), tolerance)
    return ok.fill_null(False).to_list()


# --------------------------------------------------------------------------------------------------
# Order
# --------------------------------------------------------------------------------------------------
#: ``schema.iso_utc``'s form: seconds, then no fraction, 3 or 6 digits, and ``Z``.
CANONICAL_TS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{3}|\.[0-9]{6})?Z$"


def in_canonical_order(records: RecordColumns) -> bool:
    """Whether the event records are certainly in canonical order (``claims.order_problems``: by
    (event_ts, symbol, seq nulls last, event_id)), each with an ``event_ts`` of the canonical form
    that is a real UTC time; False also when unsure (other types or forms: the exact walk decides)."""
    ts, symbol, event_id = (records.texts(f) for f in ("event_ts", "symbol", "event_id"))
    seq = records.values("seq")
    if ts is None or symbol is None or event_id is None or not set(map(type, seq)) <= {int, _NONE}:
        return False
    if not (ts.str.contains(CANONICAL_TS).all() and symbol.null_count() == 0 and event_id.null_count() == 0):
        return False
    try:
        seq_values = pl.Series(seq, dtype=pl.Int64)
    except (OverflowError, TypeError, pl.exceptions.PolarsError):
        return False
    instant = ts.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC", strict=False)
    if instant.null_count():
        return False
    frame = pl.DataFrame(
        {
            "t": instant,
            "symbol": symbol,
            "no_seq": seq_values.is_null(),
            "seq": seq_values.fill_null(0),
            "event_id": event_id,
        }
    ).with_row_index("_row")
    order = frame.sort(["t", "symbol", "no_seq", "seq", "event_id"], maintain_order=True)["_row"]
    return bool((order == frame["_row"]).all())
