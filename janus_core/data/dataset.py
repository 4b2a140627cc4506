"""The canonical in-memory dataset: validated frames plus the manifest facts the computation needs."""

from __future__ import annotations

import datetime as dt
import re
import typing
import zoneinfo
from dataclasses import dataclass, replace

import polars as pl
from pydantic import BaseModel, ConfigDict, field_validator

from janus_core.data.rows import (
    _ROW,
    TABLE_NAMES,
    DataValidationError,
    Provenance,
    _empty_problems,
    _sort_problems,
    _table_problem,
    table_columns,
)
from janus_core.data.rules import check_rules, membership_problems

if typing.TYPE_CHECKING:
    pass

# --------------------------------------------------------------------------------------------------
# The canonical in-memory dataset
# --------------------------------------------------------------------------------------------------


def check_timezone(zone: str) -> str:
    """``zone`` when it is an IANA time-zone name (e.g. ``Asia/Shanghai``), else ValueError."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{zone!r} is not an IANA time zone (e.g. Asia/Shanghai, America/New_York)") from exc
    return zone


def check_news_cutoff(cutoff: str) -> str:
    """``cutoff`` when it is an exchange-local ``HH:MM`` time, else ValueError."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", cutoff):
        raise ValueError(f"news cut-off {cutoff!r} must be HH:MM (exchange local time)")
    return cutoff


def parse_as_of(as_of: str) -> dt.datetime:
    """An as-of time as an aware UTC datetime: ISO-8601 date (taken as the end of that day,
    23:59:59 UTC) or date-time (``Z`` or an offset; without one it is UTC); ValueError otherwise."""
    text = as_of.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(23, 59, 59), dt.timezone.utc)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][0-9:.]+(Z|z|[+-]\d{2}:?\d{2})?", text):
            raise ValueError(text)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"as-of {as_of[:60]!r} is not an ISO-8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SSZ)"
        ) from None
    if value.utcoffset() is not None and abs(value.utcoffset()) > dt.timedelta(hours=14):
        raise ValueError(f"as-of {as_of!r} has a UTC offset outside -14:00..+14:00")
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def check_as_of(as_of: str) -> str:
    """``as_of`` when :func:`parse_as_of` reads it, else ValueError."""
    parse_as_of(as_of)
    return as_of


class DatasetMeta(BaseModel):
    """Per-dataset facts from the manifest that the computation needs (time zone, cut-off and as-of
    are checked: an IANA zone name, ``HH:MM`` and an ISO-8601 date or date-time)."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    provenance: Provenance
    exchange_timezone: str
    #: Point-in-time cut-off in exchange local time: news from this time on day t up to the same
    #: time on the next trading day informs day t+1 (the paper: 09:30, UTC+8).
    news_cutoff: str = "09:30"
    as_of: str
    #: H over the tables' content hashes, from the manifest (None before the dataset is saved).
    snapshot_hash: str | None = None

    @field_validator("exchange_timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        return check_timezone(zone)

    @field_validator("news_cutoff")
    @classmethod
    def _hh_mm(cls, cutoff: str) -> str:
        return check_news_cutoff(cutoff)

    @field_validator("as_of")
    @classmethod
    def _iso(cls, as_of: str) -> str:
        return check_as_of(as_of)


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated dataset: canonical polars frames plus its manifest metadata."""

    meta: DatasetMeta
    events: pl.DataFrame
    prices: pl.DataFrame
    benchmarks: pl.DataFrame
    securities: pl.DataFrame
    exposures: pl.DataFrame | None = None

    @property
    def name(self) -> str:
        return self.meta.name

    def tables(self) -> dict[str, pl.DataFrame]:
        """The present tables by name, in ``TABLE_NAMES`` order."""
        frames = {
            "events": self.events,
            "prices": self.prices,
            "benchmarks": self.benchmarks,
            "securities": self.securities,
            "exposures": self.exposures,
        }
        return {name: frames[name] for name in TABLE_NAMES if frames[name] is not None}

    def without_market_tables(self) -> Dataset:
        """This dataset with its ``prices`` and ``exposures`` emptied (columns kept, no rows): what an
        export keeps once its research is done, so its largest inputs (about 220 MB at paper scale)
        are freed before the evidence is rendered. The events, benchmarks, securities and manifest
        facts stay; a study or backtest of the result refuses it (empty prices), so reload the
        dataset (``load_dataset``) to study it again."""
        return replace(
            self,
            prices=self.prices.clear(),
            exposures=None if self.exposures is None else self.exposures.clear(),
        )

    def style_factors(self) -> list[str]:
        """Names of the numeric style-factor columns in ``exposures`` (empty when absent)."""
        if self.exposures is None:
            return []
        return [c for c in self.exposures.columns if c not in ("symbol", "date")]


def check_dataset(ds: Dataset) -> None:
    """Fail closed unless every table of ``ds`` is canonical: each declared column present with its
    canonical dtype (exposure factors Float64) and every rule of :func:`load_tables` satisfied.
    Raises :class:`DataValidationError`; problem rows are 1-based row indices of the frames."""
    problems: list[pl.DataFrame] = [_empty_problems()]
    tables = ds.tables()
    for table, frame in tables.items():
        file = f"<{ds.name}/{table}>"
        wrong = [
            _table_problem(
                file,
                s.name,
                "missing_column" if s.name not in frame.columns else "wrong_type",
                f"canonical column '{s.name}' must be {s.dtype}"
                + ("" if s.name not in frame.columns else f", is {frame.schema[s.name]}"),
            )
            for s in table_columns(table)
            if s.name not in frame.columns or frame.schema[s.name] != s.dtype
        ]
        if table == "exposures":
            wrong += [
                _table_problem(file, c, "wrong_type", f"style factor '{c}' must be Float64, is {t}")
                for c, t in frame.schema.items()
                if c not in ("symbol", "date") and t != pl.Float64
            ]
        if wrong:
            problems += wrong
            continue
        indexed = frame.with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64))
        problems.append(check_rules(table, indexed, file))
        if table == "securities":
            problems.append(
                membership_problems(
                    indexed,
                    file,
                    "benchmark",
                    ds.benchmarks["benchmark"].unique(),
                    "unknown_benchmark",
                    "benchmarks table",
                )
            )
        if table in ("prices", "exposures"):
            problems.append(
                membership_problems(
                    indexed, file, "symbol", ds.securities["symbol"].unique(), "unknown_symbol", "securities table"
                )
            )
    found = pl.concat(problems)
    if found.height:
        raise DataValidationError(_sort_problems(found))


def derive_as_of(ds_tables: dict[str, pl.DataFrame]) -> str:
    """The latest time the data speaks of, as ISO-8601 UTC: the end (23:59:59 UTC) of the last price
    date; without prices, the last event's publication time. Events after the last price date are
    left out: no session follows them, so they can never be included, and an event dated 2099 must not
    date the data (nor the evidence's ``generated_at``, which defaults to the as-of time)."""
    prices = ds_tables.get("prices")
    if prices is not None and prices.height:
        return prices.select(pl.col("date").max().dt.strftime("%Y-%m-%dT23:59:59Z")).item()
    events = ds_tables.get("events")
    if events is not None and events.height:
        return events.select(pl.col("published_at").max().dt.strftime("%Y-%m-%dT%H:%M:%SZ")).item()
    raise ValueError("cannot derive as_of: no events and no prices")


def as_of_problem(as_of: str, ds_tables: dict[str, pl.DataFrame]) -> str | None:
    """Why ``as_of`` cannot be the dataset's as-of time, or None: it must parse
    (:func:`parse_as_of`) and its UTC date must not be before the data's last
    price date (the data cannot be as of a day before the prices it holds)."""
    try:
        value = parse_as_of(as_of)
    except ValueError as exc:
        return str(exc)
    prices = ds_tables.get("prices")
    if prices is None or not prices.height:
        return None
    last = prices["date"].max()
    if value.date() < last:
        return f"as-of {as_of!r} is before the data's last price date {last}; rule: as-of is on or after it"
    return None
