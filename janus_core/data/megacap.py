"""US mega-cap sample: real daily prices with corporate-action events, from installed packages.

Sources (no network):
- ``bokeh-sampledata``'s ``stocks.csv.gz``: Quandl WIKI daily prices (public domain) for AAPL, MSFT,
  IBM and GOOG, 2000-03-01 (GOOG from its 2004-08-19 listing) to 2013-03-01. ``Open``/``Close`` are
  unadjusted; ``Adj Close`` is the source's split- and dividend-adjusted close. (The file also holds
  FB from its 2012-05-18 listing; it has no corporate action in range and is too short for an
  estimation window, so it is left out.)
- ``arch``'s ``sp500.csv.gz``: the S&P 500 index daily close (price index), 1999-2018, used as every
  stock's market benchmark ``SP500``.

Prices: adjusted close = ``Adj Close``; adjusted open = ``Open * Adj Close / Close`` (the same
adjustment factor). Volume is as reported (unadjusted).

Calendar: stock rows are inner-joined with the index dates and the benchmark is restricted to the
stocks' date range. In the shipped files every stock date has an index row and every index date
in a stock's range has a stock row; ``production`` records the counts either way.

Events are the corporate actions the data itself reveals. The adjustment ratio
``q(t) = Close(t) / Adj Close(t)`` is constant between actions; its step ``k(t) = q(t-1) / q(t)``
is 1 on ordinary days. On an ex-date ``k > 1``: a split contributes a clean factor ``p/q``
(2-for-1 -> 2, 3-for-2 -> 1.5; reverse splits ``q/p``), a cash dividend ``D`` the factor
``1 / (1 - D / Close(t-1))``, so ``D = Close(t-1) (1 - 1/k_div)``. A step at least
``split_min_step`` is split into the closest clean factor and a dividend residual. Both are event
type ``dividend`` (the paper's type covers dividends, bonus shares and share transfers).
Assumption: the event is public before the open of the ex-date; it is time-stamped 08:00
America/New_York on the ex-date, so with the 09:30 New York cut-off it trades on the ex-date.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.dataset import Dataset, DatasetMeta
from janus_core.data.events import derive_event_id
from janus_core.data.tables import event_ts_iso
from janus_core.hashing import sha256_file

DATASET_NAME = "us-megacap"
EXCHANGE_TIMEZONE = "America/New_York"
BENCHMARK = "SP500"
STOCKS_FILE = "bokeh_sampledata/_data/stocks.csv.gz"
SP500_FILE = "arch/data/sp500/sp500.csv.gz"
SOURCE = (
    "Quandl WIKI daily prices for AAPL, MSFT, IBM, GOOG as shipped in the bokeh-sampledata package "
    "(stocks.csv.gz); S&P 500 index daily closes as shipped in the arch package (arch.data.sp500)"
)
LICENCE = (
    "Quandl WIKI prices: public domain (Quandl publisher notice, redistributed by bokeh-sampledata); "
    "S&P 500 index series: as shipped by the arch package (NCSA licence), index values from public quotes"
)


class MegacapConfig(BaseModel):
    """Constants of the US mega-cap build."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tickers: tuple[str, ...] = ("AAPL", "GOOG", "IBM", "MSFT")
    names: dict[str, str] = {
        "AAPL": "Apple Inc.",
        "GOOG": "Google Inc.",
        "IBM": "International Business Machines Corp.",
        "MSFT": "Microsoft Corp.",
    }
    industries: dict[str, str] = {
        "AAPL": "Technology Hardware",
        "GOOG": "Interactive Media",
        "IBM": "IT Services",
        "MSFT": "Software",
    }
    #: Steps ``|k - 1|`` below this are treated as unchanged adjustment (float noise).
    step_tolerance: float = Field(1e-6, gt=0.0)
    #: Steps at least this large (or at most its inverse) contain a split.
    split_min_step: float = Field(1.25, gt=1.0)
    #: Largest numerator/denominator of a clean split factor.
    split_max_term: int = Field(10, ge=2)
    #: A dividend residual above this factor is implausible: fail instead of guessing.
    max_dividend_step: float = Field(1.25, gt=1.0)
    #: Local time of the event stamp on the ex-date (before the 09:30 open).
    event_time: dt.time = dt.time(8, 0)
    news_cutoff: str = "09:30"
    news_source: str = "quandl_wiki_adjustment"


def source_files() -> dict[str, Path]:
    """Paths of the two bundled source files inside the installed distributions (located through
    the package metadata, without importing the packages)."""
    return {
        "stocks": Path(str(importlib.metadata.distribution("bokeh-sampledata").locate_file(STOCKS_FILE))),
        "sp500": Path(str(importlib.metadata.distribution("arch").locate_file(SP500_FILE))),
    }


def read_stocks(path: Path, tickers: tuple[str, ...]) -> pl.DataFrame:
    """The Quandl WIKI rows of ``tickers``: symbol, date, open, close, adj_close, volume."""
    frame = pl.read_csv(
        path,
        schema_overrides={"Ticker": pl.String, "Date": pl.Date, "Open": pl.Float64, "Close": pl.Float64,
                          "Adj Close": pl.Float64, "Volume": pl.Float64},
        columns=["Ticker", "Date", "Open", "Close", "Volume", "Adj Close"],
    )  # fmt: skip
    frame = frame.rename({"Ticker": "symbol", "Date": "date", "Open": "open", "Close": "close",
                          "Volume": "volume", "Adj Close": "adj_close"})  # fmt: skip
    _require_clean(frame, path, ["symbol", "date", "open", "close", "adj_close"])
    return frame.filter(pl.col("symbol").is_in(tickers)).sort("symbol", "date")


def read_sp500(path: Path) -> pl.DataFrame:
    """The S&P 500 closes: date (from ``M/D/YYYY``), close."""
    frame = pl.read_csv(path, columns=["Date", "Close"], schema_overrides={"Date": pl.String, "Close": pl.Float64})
    frame = frame.select(pl.col("Date").str.strptime(pl.Date, "%m/%d/%Y").alias("date"), pl.col("Close").alias("close"))
    _require_clean(frame, path, ["date", "close"])
    return frame.sort("date")


def _require_clean(frame: pl.DataFrame, path: Path, columns: list[str]) -> None:
    """Fail closed on a missing or non-positive value, naming file, row (data line) and column."""
    for col in columns:
        bad = frame.with_row_index("row").filter(
            pl.col(col).is_null() | ((pl.col(col) <= 0) if frame.schema[col].is_numeric() else pl.lit(False))
        )
        if bad.height:
            row = int(bad["row"][0]) + 2  # header is line 1
            raise ValueError(f"{path}: line {row}: column '{col}': value missing or not positive ({bad.height} rows)")


def clean_split_factor(step: float, max_term: int) -> Fraction:
    """The split factor ``p/q`` (1 <= q < p <= max_term, or its inverse for a reverse split) that
    leaves the smallest residual ``|log(step / (p/q))|``, ties to the simpler fraction."""
    candidates = sorted(
        {Fraction(p, q) for p in range(2, max_term + 1) for q in range(1, p)}
        | {Fraction(q, p) for p in range(2, max_term + 1) for q in range(1, p)},
        key=lambda f: (f.denominator, f.numerator),
    )
    return min(candidates, key=lambda f: abs(np.log(step / float(f))))


def detect_corporate_actions(stocks: pl.DataFrame, cfg: MegacapConfig, path: Path) -> pl.DataFrame:
    """One row per ex-date with an adjustment step: symbol, date, step ``k``, split factor
    (String ``"p/q"`` or null), dividend step and implied cash dividend per share (null if none)."""
    steps = (
        stocks.with_columns((pl.col("close") / pl.col("adj_close")).alias("ratio"))
        .with_columns(
            (pl.col("ratio").shift(1).over("symbol") / pl.col("ratio")).alias("step"),
            pl.col("close").shift(1).over("symbol").alias("prev_close"),
        )
        .filter(pl.col("step").is_not_null() & ((pl.col("step") - 1.0).abs() > cfg.step_tolerance))
    )
    rows = []
    for sym, date, step, prev_close in steps.select("symbol", "date", "step", "prev_close").iter_rows():
        split: Fraction | None = None
        div_step = step
        if step >= cfg.split_min_step or step <= 1.0 / cfg.split_min_step:
            split = clean_split_factor(step, cfg.split_max_term)
            div_step = step / float(split)
        if abs(div_step - 1.0) <= cfg.step_tolerance:
            dividend = None
        elif 1.0 < div_step <= cfg.max_dividend_step:
            dividend = prev_close * (1.0 - 1.0 / div_step)
        else:
            raise ValueError(
                f"{path}: {sym} {date}: column 'Adj Close': adjustment step {step:.6f} is neither a clean "
                f"split nor a dividend (residual {div_step:.6f})"
            )
        rows.append({
            "symbol": sym, "date": date, "step": step,
            "split": None if split is None else f"{split.numerator}/{split.denominator}",
            "dividend": dividend,
        })  # fmt: skip
    schema = {"symbol": pl.String, "date": pl.Date, "step": pl.Float64, "split": pl.String, "dividend": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _headline(symbol: str, split: str | None, dividend: float | None) -> str:
    parts = []
    if split is not None:
        p, q = split.split("/")
        parts.append(f"{p}-for-{q} stock split" if int(p) > int(q) else f"1-for-{int(q) // int(p)} reverse stock split")
    if dividend is not None:
        parts.append(f"cash dividend of about ${dividend:.2f}")
    return f"{symbol} " + " and ".join(parts)


def build_events(actions: pl.DataFrame, cfg: MegacapConfig) -> pl.DataFrame:
    """Canonical events table from the detected actions (one event per symbol and ex-date)."""
    local = actions["date"].cast(pl.Datetime("us")) + dt.timedelta(
        hours=cfg.event_time.hour, minutes=cfg.event_time.minute
    )
    published = local.dt.replace_time_zone(EXCHANGE_TIMEZONE).dt.convert_time_zone("UTC")
    headlines = [_headline(s, sp, d) for s, sp, d in actions.select("symbol", "split", "dividend").iter_rows()]
    bodies = [
        f"Ex-date {date}: the ratio of unadjusted to adjusted close steps by {step:.6f} in the Quandl WIKI "
        f"data ({'split ' + split if split else 'no split'}"
        f"{'' if dividend is None else f', implied dividend {dividend:.4f} per share from the previous close'})."
        for date, step, split, dividend in actions.select("date", "step", "split", "dividend").iter_rows()
    ]
    events = pl.DataFrame(
        {
            "symbol": actions["symbol"],
            "published_at": published,
            "event_type": pl.Series(["dividend"] * actions.height, dtype=pl.String),
            "event_type_raw": pl.Series(["dividend"] * actions.height, dtype=pl.String),
            "headline": pl.Series(headlines, dtype=pl.String),
            "seq": pl.Series([None] * actions.height, dtype=pl.Int64),
            "body": pl.Series(bodies, dtype=pl.String),
            "sentiment": pl.Series([None] * actions.height, dtype=pl.String),
            "source": pl.Series([cfg.news_source] * actions.height, dtype=pl.String),
            "dividend_per_share": actions["dividend"],
            "split_factor": actions["split"],
        }
    )
    parts = events.select(
        event_ts_iso(pl.col("published_at")), "symbol", "seq", "source",
        pl.col("headline") + pl.lit("\n") + pl.col("body"),
    )  # fmt: skip
    ids = [derive_event_id(*row) for row in parts.iter_rows()]
    return events.select(pl.Series("event_id", ids, dtype=pl.String), pl.all()).sort(
        "published_at", "symbol", "event_id"
    )


def _package_info(dist: str, path: Path) -> dict[str, str]:
    version = importlib.metadata.version(dist)
    return {"package": dist, "version": version, "file": path.name, "sha256": sha256_file(path)}


def build_us_megacap(cfg: MegacapConfig | None = None) -> tuple[Dataset, dict[str, object]]:
    """The ``us-megacap`` dataset and its production record (source packages, versions, file
    SHA-256, calendar join counts, detected actions). See the module docstring for the rules."""
    cfg = cfg or MegacapConfig()
    files = source_files()
    stocks = read_stocks(files["stocks"], cfg.tickers)
    missing = sorted(set(cfg.tickers) - set(stocks["symbol"].unique().to_list()))
    if missing:
        raise ValueError(f"{files['stocks']}: column 'Ticker': no rows for {missing}")
    sp500 = read_sp500(files["sp500"])
    first, last = stocks["date"].min(), stocks["date"].max()
    bench = sp500.filter(pl.col("date").is_between(first, last))

    joined = stocks.join(bench.select("date"), on="date", how="semi", maintain_order="left")
    calendar_counts = {}
    for sym in cfg.tickers:
        own = stocks.filter(pl.col("symbol") == sym)
        in_range = bench.filter(pl.col("date").is_between(own["date"].min(), own["date"].max()))
        calendar_counts[sym] = {
            "stock_rows": own.height,
            "stock_rows_without_index_row": own.join(bench, on="date", how="anti").height,
            "index_days_without_stock_row": in_range.join(own, on="date", how="anti").height,
        }

    actions = detect_corporate_actions(joined, cfg, files["stocks"])
    events = build_events(actions, cfg)
    prices = joined.select(
        "symbol",
        "date",
        (pl.col("open") * pl.col("adj_close") / pl.col("close")).alias("open"),
        pl.col("adj_close").alias("close"),
        "volume",
        pl.lit(True).alias("tradable"),
    )
    securities = pl.DataFrame(
        {
            "symbol": list(cfg.tickers),
            "benchmark": [BENCHMARK] * len(cfg.tickers),
            "name": [cfg.names[t] for t in cfg.tickers],
            "industry": [cfg.industries[t] for t in cfg.tickers],
            "size_tier": ["large"] * len(cfg.tickers),
        }
    ).sort("symbol")
    benchmarks = bench.select(pl.lit(BENCHMARK).alias("benchmark"), "date", "close")
    meta = DatasetMeta(
        name=DATASET_NAME,
        version="1",
        provenance="historical_market_replay",
        exchange_timezone=EXCHANGE_TIMEZONE,
        news_cutoff=cfg.news_cutoff,
        as_of=str(last),
    )
    production: dict[str, object] = {
        "builder": "janus_core.data.megacap.build_us_megacap",
        "sources": [
            _package_info("bokeh-sampledata", files["stocks"]),
            _package_info("arch", files["sp500"]),
        ],
        "tickers": list(cfg.tickers),
        "calendar": f"inner join of stock dates with S&P 500 dates; benchmark restricted to {first}..{last}",
        "calendar_counts": calendar_counts,
        "event_rule": "ex-date of each step in Close/Adj Close; split = clean factor, dividend = residual; "
        f"stamped {cfg.event_time.strftime('%H:%M')} {EXCHANGE_TIMEZONE} on the ex-date",
        "event_counts": {
            "total": events.height,
            "splits": int(actions["split"].is_not_null().sum()),
            "dividends": int(actions["dividend"].is_not_null().sum()),
        },
        "config": cfg.model_dump(mode="json"),
    }
    ds = Dataset(meta=meta, events=events, prices=prices, benchmarks=benchmarks, securities=securities)
    return ds, production
