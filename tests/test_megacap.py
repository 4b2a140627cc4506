"""Tests of the real-data us-megacap build (Quandl WIKI prices + S&P 500 from installed packages)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import importlib.metadata
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from janus_core.data.dataset import check_dataset
from janus_core.data.events import map_event_days
from janus_core.data.megacap import (
    MegacapConfig,
    build_us_megacap,
    clean_split_factor,
    detect_corporate_actions,
    source_files,
)


@pytest.fixture(scope="module")
def built():
    return build_us_megacap()


def _event(ds, symbol: str, day: str) -> dict:
    local = ds.events["published_at"].dt.convert_time_zone("America/New_York").dt.date()
    rows = ds.events.filter((pl.col("symbol") == symbol) & (local == dt.date.fromisoformat(day)))
    assert rows.height == 1, (symbol, day, rows)
    return rows.row(0, named=True)


def test_dataset_is_canonical_real_data(built):
    ds, _ = built
    check_dataset(ds)
    assert ds.meta.provenance == "historical_market_replay"
    assert ds.meta.exchange_timezone == "America/New_York" and ds.meta.news_cutoff == "09:30"
    assert ds.meta.as_of == "2013-03-01" == str(ds.prices["date"].max())
    assert ds.exposures is None
    assert ds.securities["symbol"].to_list() == ["AAPL", "GOOG", "IBM", "MSFT"]
    assert set(ds.securities["benchmark"]) == {"SP500"} and ds.benchmarks["benchmark"].unique().to_list() == ["SP500"]
    rows = dict(ds.prices.group_by("symbol").len().iter_rows())
    assert rows == {"AAPL": 3270, "GOOG": 2148, "IBM": 3270, "MSFT": 3270}
    assert ds.benchmarks["date"].min() == dt.date(2000, 3, 1) and ds.benchmarks.height == 3270


def test_known_splits_and_dividends_are_found(built):
    ds, production = built
    split = _event(ds, "AAPL", "2005-02-28")
    assert split["headline"] == "AAPL 2-for-1 stock split" and split["split_factor"] == "2/1"
    assert split["event_type"] == "dividend" and split["dividend_per_share"] is None
    assert _event(ds, "AAPL", "2000-06-21")["split_factor"] == "2/1"
    assert _event(ds, "MSFT", "2003-02-18")["headline"] == "MSFT 2-for-1 stock split"
    first_dividend = _event(ds, "MSFT", "2003-02-19")  # Microsoft's first dividend, $0.08
    assert first_dividend["headline"] == "MSFT cash dividend of about $0.08"
    assert _event(ds, "MSFT", "2003-10-15")["dividend_per_share"] == pytest.approx(0.16, abs=0.005)
    special = _event(ds, "MSFT", "2004-11-15")  # $3 special + $0.08 regular, as the adjustment implies
    assert 2.9 < special["dividend_per_share"] < 3.1
    assert _event(ds, "AAPL", "2012-08-09")["dividend_per_share"] == pytest.approx(2.65, abs=0.02)
    per_symbol = dict(ds.events.group_by("symbol").len().iter_rows())
    assert per_symbol == {"AAPL": 5, "IBM": 52, "MSFT": 38}  # GOOG paid nothing and did not split before 2013
    assert production["event_counts"] == {"total": 95, "splits": 3, "dividends": 92}
    assert ds.events["event_id"].n_unique() == 95


def test_events_are_stamped_before_the_open_and_trade_on_the_ex_date(built):
    ds, _ = built
    local = ds.events["published_at"].dt.convert_time_zone("America/New_York")
    assert (local.dt.hour() == 8).all() and (local.dt.minute() == 0).all()
    assert _event(ds, "AAPL", "2005-02-28")["published_at"] == dt.datetime(2005, 2, 28, 13, tzinfo=dt.timezone.utc)
    assert _event(ds, "AAPL", "2012-08-09")["published_at"] == dt.datetime(2012, 8, 9, 12, tzinfo=dt.timezone.utc)
    mapped = map_event_days(ds.events, ds.prices, ds.meta.exchange_timezone, ds.meta.news_cutoff)
    assert (mapped["event_day"] == local.dt.date()).all()


def test_prices_are_adjusted_like_the_source(built):
    ds, _ = built
    with gzip.open(source_files()["stocks"], "rt", newline="") as fh:
        raw = {(r["Ticker"], r["Date"]): r for r in csv.DictReader(fh)}
    for symbol, day in [("AAPL", "2005-02-25"), ("AAPL", "2005-02-28"), ("MSFT", "2004-11-15"), ("GOOG", "2010-06-01")]:
        on_day = (pl.col("symbol") == symbol) & (pl.col("date") == dt.date.fromisoformat(day))
        row = ds.prices.filter(on_day).row(0, named=True)
        src = raw[(symbol, day)]
        adj, close = float(src["Adj Close"]), float(src["Close"])
        assert row["close"] == pytest.approx(adj, rel=1e-12)
        assert row["open"] == pytest.approx(float(src["Open"]) * adj / close, rel=1e-12)
    # the split halves the raw close but not the adjusted one
    aapl = ds.prices.filter(pl.col("symbol") == "AAPL")
    aapl = aapl.with_columns((pl.col("close") / pl.col("close").shift(1) - 1).alias("r"))
    split_day = aapl.filter(pl.col("date") == dt.date(2005, 2, 28))
    assert abs(split_day["r"][0]) < 0.1
    assert float(raw[("AAPL", "2005-02-28")]["Close"]) / float(raw[("AAPL", "2005-02-25")]["Close"]) < 0.55


def test_production_records_packages_versions_and_digests(built):
    _, production = built
    files = source_files()
    by_package = {s["package"]: s for s in production["sources"]}
    assert set(by_package) == {"bokeh-sampledata", "arch"}
    for package, key in (("bokeh-sampledata", "stocks"), ("arch", "sp500")):
        assert by_package[package]["version"] == importlib.metadata.version(package)
        assert by_package[package]["sha256"] == hashlib.sha256(Path(files[key]).read_bytes()).hexdigest()
    for counts in production["calendar_counts"].values():
        assert counts["stock_rows_without_index_row"] == 0 and counts["index_days_without_stock_row"] == 0


@pytest.mark.parametrize(
    ("step", "factor"),
    [(2.0, Fraction(2)), (1.5, Fraction(3, 2)), (7.0, Fraction(7)), (0.5, Fraction(1, 2)), (2.006, Fraction(2)),
     (4 / 3, Fraction(4, 3))],
)  # fmt: skip
def test_clean_split_factor(step, factor):
    assert clean_split_factor(step, 10) == factor


def _toy(ratios: list[float], closes: list[float]) -> pl.DataFrame:
    days = [dt.date(2020, 1, 6) + dt.timedelta(days=i) for i in range(len(ratios))]
    return pl.DataFrame(
        {"symbol": ["X"] * len(ratios), "date": days, "close": closes,
         "adj_close": [c / q for c, q in zip(closes, ratios)]}
    )  # fmt: skip


def test_detect_split_and_dividend_on_one_day():
    # q steps from 3.0 to 1.5 / 1.01: a 2-for-1 split and a dividend of 100 * (1 - 1/1.01)
    stocks = _toy([3.0, 3.0, 1.5 / 1.01, 1.5 / 1.01], [100.0, 100.0, 50.0, 51.0])
    actions = detect_corporate_actions(stocks, MegacapConfig(), Path("toy.csv"))
    assert actions.height == 1
    row = actions.row(0, named=True)
    assert row["split"] == "2/1" and row["dividend"] == pytest.approx(100 * (1 - 1 / 1.01))


def test_unexplained_adjustment_fails_closed():
    stocks = _toy([1.0, 1.0, 1.1], [100.0, 100.0, 110.0])  # step 1/1.1: neither a split nor a dividend
    with pytest.raises(ValueError, match=r"toy.csv: X 2020-01-08: column 'Adj Close'"):
        detect_corporate_actions(stocks, MegacapConfig(), Path("toy.csv"))


def test_build_sample_refuses_seed_or_scale_for_real_data(tmp_path):
    from janus_core.data.samples import build_sample
    from janus_core.paths import WorkbenchPaths

    paths = WorkbenchPaths(data_dir=tmp_path / "d", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    with pytest.raises(ValueError, match="--scale and --seed do not apply"):
        build_sample("us-megacap", paths, seed=1, progress=False)
    with pytest.raises(ValueError, match="--scale and --seed do not apply"):
        build_sample("us-megacap", paths, scale="paper", progress=False)
    assert not (tmp_path / "m").exists()
