"""The event catalog on a tiny hand-built dataset whose answers are known by construction."""

from __future__ import annotations

from datetime import date, datetime, timezone

import polars as pl
import pytest

from janus_core.data import catalog
from janus_core.data.dataset import Dataset, DatasetMeta


@pytest.fixture()
def tiny() -> Dataset:
    utc = timezone.utc
    events = pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "symbol": ["AAA", "AAA", "BBB", "BBB"],
            # 2024-01-03 01:00 UTC is 09:00 in Shanghai on 2024-01-03; 2024-01-31 17:00 UTC is 01:00 on Feb 1.
            "published_at": [
                datetime(2024, 1, 3, 1, 0, tzinfo=utc),
                datetime(2024, 1, 5, 6, 0, tzinfo=utc),
                datetime(2024, 1, 31, 17, 0, tzinfo=utc),
                datetime(2024, 2, 2, 2, 0, tzinfo=utc),
            ],
            "event_type": ["dividend", "violation", "dividend", "unknown"],
            "headline": ["AAA raises dividend", "AAA fined", "BBB Dividend plan", "BBB rumour"],
            "sentiment": ["positive", "negative", None, "neutral"],
        }
    ).with_columns(pl.col("published_at").dt.cast_time_unit("us"))
    days = [date(2024, 1, d) for d in (2, 3, 4, 5, 8)]
    prices = pl.DataFrame(
        {
            "symbol": ["AAA"] * 5 + ["BBB"] * 5,
            "date": days * 2,
            "open": [10.0, 10.0, 11.0, 12.0, 12.0, 5.0, 5.0, 5.0, 5.0, 5.0],
            "close": [10.0, 11.0, 12.0, 12.0, 13.2, 5.0, 5.0, 5.0, 5.0, 5.0],
            "tradable": [True, True, False, True, True] + [True] * 5,
        }
    )
    benchmarks = pl.DataFrame({"benchmark": ["IDX"] * 5, "date": days, "close": [100.0, 100.0, 101.0, 102.0, 103.0]})
    securities = pl.DataFrame({"symbol": ["AAA", "BBB"], "benchmark": ["IDX", "IDX"]})
    meta = DatasetMeta(
        name="tiny",
        version="1",
        provenance="synthetic_generated",
        exchange_timezone="Asia/Shanghai",
        as_of="2024-01-08",
    )
    return Dataset(meta=meta, events=events, prices=prices, benchmarks=benchmarks, securities=securities)


def test_local_dates_follow_the_exchange_zone(tiny):
    local = catalog.with_local_time(tiny.events, "Asia/Shanghai")
    assert local["published_date"].to_list() == [date(2024, 1, 3), date(2024, 1, 5), date(2024, 2, 1), date(2024, 2, 2)]


def test_filters_combine(tiny):
    tz = tiny.meta.exchange_timezone
    assert catalog.filter_events(tiny.events, catalog.EventFilter(), tz).height == 4
    by_type = catalog.filter_events(tiny.events, catalog.EventFilter(event_types=("dividend",)), tz)
    assert by_type["event_id"].to_list() == ["e1", "e3"]
    search = catalog.filter_events(tiny.events, catalog.EventFilter(query="DIVIDEND"), tz)
    assert search["event_id"].to_list() == ["e1", "e3"]
    dated = catalog.filter_events(tiny.events, catalog.EventFilter(start=date(2024, 2, 1), symbols=("BBB",)), tz)
    assert dated["event_id"].to_list() == ["e3", "e4"]


def test_counts_monthly_and_sentiment(tiny):
    counts = catalog.counts_by(tiny.events, "event_type")
    assert counts.rows() == [("dividend", 2), ("unknown", 1), ("violation", 1)]
    monthly = catalog.monthly_counts(tiny.events, "Asia/Shanghai")
    assert monthly.rows() == [
        (date(2024, 1, 1), "dividend", 1),
        (date(2024, 1, 1), "violation", 1),
        (date(2024, 2, 1), "dividend", 1),
        (date(2024, 2, 1), "unknown", 1),
    ]
    shares = catalog.sentiment_by_type(tiny.events)
    dividend = {
        r["sentiment"]: r["share"] for r in shares.filter(pl.col("event_type") == "dividend").iter_rows(named=True)
    }
    assert dividend == {"missing": 0.5, "positive": 0.5}


def test_price_path_rebases_on_the_day_before_publication(tiny):
    path = catalog.price_path(tiny, "e2", before=2, after=1)  # published 2024-01-05 14:00 local
    stock = path.filter(pl.col("series") == "stock")
    assert stock["rel_day"].to_list() == [-2, -1, 0, 1]
    assert stock["value"].to_list() == pytest.approx([11 / 12, 1.0, 1.0, 1.1])
    assert stock["tradable"].to_list() == [True, False, True, True]
    bench = path.filter(pl.col("series") == "benchmark")
    assert bench["value"].to_list() == pytest.approx([100 / 101, 1.0, 102 / 101, 103 / 101])
    with pytest.raises(KeyError, match="nope"):
        catalog.price_path(tiny, "nope")
