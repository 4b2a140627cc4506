"""Event catalog: the exploratory views of a dataset's news events (counts by type, symbol, month and
sentiment; headline search; an event's price path against its benchmark).

Pure functions over the canonical frames of :class:`janus_core.data.dataset.Dataset`; the events notebook
holds the controls and charts and calls these. :func:`explore_events` gathers them into one typed
result, :class:`EventCatalog`, whose :meth:`EventCatalog.summary` is the notebook's headless summary;
:func:`sql_engine` gives the notebook's SQL cell the dataset's tables without opening the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.data.dataset import Dataset
from janus_core.data.manifest import read_manifest
from janus_core.data.store import view_name
from janus_core.paths import WorkbenchPaths

#: Decimals of the shares in :meth:`EventCatalog.summary`.
SHARE_DECIMALS = 4
#: How many trading days before and after the event :func:`price_path` shows.
PATH_DAYS = 10


class EventFilter(BaseModel):
    """Which events to look at. Empty tuples mean "all"; ``query`` is a case-insensitive literal
    substring matched against the headline; dates are exchange-local publication dates, inclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_types: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    query: str = ""


def with_local_time(events: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Add ``published_local`` (the UTC timestamp in the exchange time zone) and ``published_date``."""
    local = pl.col("published_at").dt.convert_time_zone(timezone)
    return events.with_columns(published_local=local, published_date=local.dt.date())


def filter_events(events: pl.DataFrame, flt: EventFilter, timezone: str) -> pl.DataFrame:
    """Events matching every condition of ``flt``, with local publication time, sorted by
    (published_at, symbol, event_id)."""
    out = with_local_time(events, timezone)
    conditions = []
    if flt.event_types:
        conditions.append(pl.col("event_type").is_in(list(flt.event_types)))
    if flt.symbols:
        conditions.append(pl.col("symbol").is_in(list(flt.symbols)))
    if flt.start is not None:
        conditions.append(pl.col("published_date") >= flt.start)
    if flt.end is not None:
        conditions.append(pl.col("published_date") <= flt.end)
    if flt.query:
        conditions.append(pl.col("headline").str.to_lowercase().str.contains(flt.query.lower(), literal=True))
    if conditions:
        out = out.filter(pl.all_horizontal(conditions))
    return out.sort("published_at", "symbol", "event_id")


def counts_by(events: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Number of events per value of ``columns`` (column ``n``), largest first, ties by key."""
    return (
        events.group_by(columns)
        .agg(n=pl.len())
        .sort([pl.col("n"), *columns], descending=[True] + [False] * len(columns))
    )


def monthly_counts(events: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Events per exchange-local calendar month and event type (``month`` is the month's first day)."""
    local = with_local_time(events, timezone)
    return (
        local.with_columns(month=pl.col("published_date").dt.truncate("1mo"))
        .group_by("month", "event_type")
        .agg(n=pl.len())
        .sort("month", "event_type")
    )


def sentiment_by_type(events: pl.DataFrame) -> pl.DataFrame:
    """Share of each sentiment within each event type (missing sentiment counted as ``"missing"``):
    ``share = n(type, sentiment) / n(type)``."""
    if "sentiment" not in events.columns:
        events = events.with_columns(sentiment=pl.lit(None, dtype=pl.String))
    return (
        events.with_columns(pl.col("sentiment").fill_null("missing"))
        .group_by("event_type", "sentiment")
        .agg(n=pl.len())
        .with_columns(share=pl.col("n") / pl.col("n").sum().over("event_type"))
        .sort("event_type", "sentiment")
    )


def price_path(ds: Dataset, event_id: str, before: int = 10, after: int = 10) -> pl.DataFrame:
    """The stock's and its benchmark's closes around an event, each rebased to 1 on the last trading
    day before the exchange-local publication date (relative day -1).

    ``rel_day`` counts the stock's own trading days: 0 is the first trading day on or after the local
    publication date. Returns columns ``date, rel_day, series ("stock"|"benchmark"), value, tradable``.
    """
    event = with_local_time(ds.events.filter(pl.col("event_id") == event_id), ds.meta.exchange_timezone)
    if event.height != 1:
        raise KeyError(f"event_id {event_id!r} matches {event.height} events in dataset {ds.name!r}")
    symbol, pub_date = event["symbol"][0], event["published_date"][0]
    benchmark = ds.securities.filter(pl.col("symbol") == symbol)["benchmark"]
    prices = ds.prices.filter(pl.col("symbol") == symbol).sort("date").with_row_index("i")
    anchor = prices.filter(pl.col("date") >= pub_date)["i"]
    zero = int(anchor[0]) if anchor.len() else prices.height
    window = prices.filter(pl.col("i").is_between(zero - before, zero + after)).with_columns(
        rel_day=pl.col("i").cast(pl.Int64) - zero
    )
    base = window.filter(pl.col("rel_day") < 0).tail(1)
    stock_base = base["close"][0] if base.height else window["close"][0]
    tradable = window["tradable"] if "tradable" in window.columns else pl.repeat(True, window.height, eager=True)
    stock = window.select(
        "date", "rel_day", series=pl.lit("stock"), value=pl.col("close") / stock_base, tradable=tradable
    )
    if benchmark.len() == 0:
        return stock
    bench = (
        ds.benchmarks.filter(pl.col("benchmark") == benchmark[0])
        .join(window.select("date", "rel_day"), on="date", how="inner")
        .sort("date")
    )
    base_date = base["date"][0] if base.height else window["date"][0]
    bench_base = (
        ds.benchmarks.filter((pl.col("benchmark") == benchmark[0]) & (pl.col("date") <= base_date))
        .sort("date")
        .tail(1)["close"]
    )
    bench_base_value = bench_base[0] if bench_base.len() else bench["close"][0]
    return pl.concat(
        [
            stock,
            bench.select(
                "date",
                "rel_day",
                series=pl.lit("benchmark"),
                value=pl.col("close") / bench_base_value,
                tradable=pl.lit(True),
            ),
        ]
    ).sort("series", "date")


@dataclass(frozen=True)
class EventCatalog:
    """The events of ``dataset`` that match ``flt`` and their views: ``selected`` (with local time,
    sorted as :func:`filter_events`), counts ``by_type`` and ``by_symbol`` (:func:`counts_by`),
    ``monthly`` counts (:func:`monthly_counts`) and sentiment shares by type (:func:`sentiment_by_type`)."""

    dataset: Dataset
    flt: EventFilter
    selected: pl.DataFrame
    by_type: pl.DataFrame
    by_symbol: pl.DataFrame
    monthly: pl.DataFrame
    sentiment: pl.DataFrame

    def focus(self, event_id: str | None = None) -> str | None:
        """``event_id`` when given, else the first selected event (None when nothing is selected)."""
        if event_id is not None:
            return event_id
        return self.selected["event_id"][0] if self.selected.height else None

    def path(self, event_id: str | None = None) -> pl.DataFrame | None:
        """The price path (:func:`price_path`, :data:`PATH_DAYS` each side) around :meth:`focus`."""
        focus = self.focus(event_id)
        return None if focus is None else price_path(self.dataset, focus, PATH_DAYS, PATH_DAYS)

    def summary(self, sql_counts: pl.DataFrame | None = None) -> dict[str, Any]:
        """The notebook's headless summary: dataset and provenance, selected events and symbols, events
        per type, months covered, sentiment share per ``type/sentiment`` (rounded to
        :data:`SHARE_DECIMALS`), the rows of the default price path (:meth:`path`), and
        ``sql_counts_match``: whether ``sql_counts`` (``event_type, n`` from SQL over the dataset's
        events view) gives the same counts per type (None without it)."""
        by_type = self.by_type.sort("event_type")
        match = None if sql_counts is None else (sql_counts.sort("event_type")["n"].to_list() == by_type["n"].to_list())
        path = self.path()
        return {
            "dataset": self.dataset.name,
            "provenance": self.dataset.meta.provenance,
            "event_count": self.selected.height,
            "symbol_count": self.by_symbol.height,
            "events_by_type": {r["event_type"]: r["n"] for r in by_type.iter_rows(named=True)},
            "months": self.monthly["month"].n_unique(),
            "sentiment_share": {
                f"{r['event_type']}/{r['sentiment']}": round(r["share"], SHARE_DECIMALS)
                for r in self.sentiment.iter_rows(named=True)
            },
            "sql_counts_match": match,
            "price_path_rows": 0 if path is None else path.height,
        }

    def write(self, out_dir: Path | str, sql_counts: pl.DataFrame | None = None) -> dict[str, Any]:
        """Write :meth:`summary` to ``out_dir/events-summary.json`` (sorted keys, 2-space indent) and
        return it."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        summary = self.summary(sql_counts)
        (out / "events-summary.json").write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
        return summary


def explore_events(ds: Dataset, flt: EventFilter = EventFilter()) -> EventCatalog:
    """The :class:`EventCatalog` of the events of ``ds`` matching ``flt``."""
    tz = ds.meta.exchange_timezone
    selected = filter_events(ds.events, flt, tz)
    return EventCatalog(
        dataset=ds,
        flt=flt,
        selected=selected,
        by_type=counts_by(selected, "event_type"),
        by_symbol=counts_by(selected, "symbol"),
        monthly=monthly_counts(selected, tz),
        sentiment=sentiment_by_type(selected),
    )


def sql_engine(name: str, paths: WorkbenchPaths) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per table of dataset ``name``, named as in the
    research store (``store.view_name``: ``synthetic_ashare__events``, ...) and reading the dataset's
    Parquet files. SQL over the data without opening the store file, so a notebook that keeps this
    connection holds no lock on ``janus.duckdb``; close it when done."""
    manifest = read_manifest(name, paths)
    conn = duckdb.connect(":memory:")
    try:
        for table, entry in sorted(manifest.tables.items()):
            target = str((paths.data_dir / entry.path).resolve()).replace("'", "''")
            conn.execute(f"CREATE VIEW \"{view_name(name, table)}\" AS SELECT * FROM read_parquet('{target}')")
    except BaseException:
        conn.close()
        raise
    return conn
