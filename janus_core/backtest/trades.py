"""Trade planning without hindsight: for each decision, the stock's own sessions, the entry decided
at the open (not entered when suspended or limit-locked at the open) and the exit at the planned close,
carried to the next tradable close when that day cannot trade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.memo import LastBuilt
from janus_core.data.dataset import Dataset


@dataclass(frozen=True)
class _StockDays:
    """The price rows of the traded symbols, sorted by (symbol, date), as arrays: one row per
    stock-day of the stock's own calendar. ``key = code * n_cal + day`` (``code`` the symbol's
    rank, ``day`` the dataset-calendar index) is sorted, so a (symbol, date) is found by binary
    search. ``last`` is each row's symbol's last row; ``next_exit`` the first exitable row (tradable
    and not suspended) at or after it, -1 when none."""

    codes: dict[str, int]
    key: np.ndarray
    day: np.ndarray
    open: np.ndarray
    close: np.ndarray
    prev_close: np.ndarray
    suspended: np.ndarray
    last: np.ndarray
    next_exit: np.ndarray


_STOCK_DAYS = LastBuilt()
_EVENT_ROWS = LastBuilt()
_PLANS = LastBuilt()


def _stock_days(ds: Dataset, symbols: pl.Series, calendar: pl.Series) -> _StockDays:
    """:class:`_StockDays` of ``symbols`` (remembered for the same prices frame, symbol set and
    calendar); duplicate (symbol, date) rows are an error."""
    values = (tuple(symbols.drop_nulls().unique().sort().to_list()), _calendar_key(calendar))
    return _STOCK_DAYS.get((ds.prices,), values, lambda: _build_stock_days(ds, symbols, calendar))


def _calendar_key(calendar: pl.Series) -> bytes:
    return calendar.to_physical().to_numpy().tobytes()


def _build_stock_days(ds: Dataset, symbols: pl.Series, calendar: pl.Series) -> _StockDays:
    """:class:`_StockDays` of ``symbols``; duplicate (symbol, date) rows are an error."""
    n_cal = calendar.len()
    prices = ds.prices
    sym = prices.get_column("symbol")
    date = prices.get_column("date")
    run = sym.rle_id().to_numpy()
    in_order = sym.is_sorted() and bool(np.all(np.diff(date.to_physical().to_numpy())[run[1:] == run[:-1]] >= 0))
    if not in_order:  # loaded datasets are sorted by (symbol, date) (data.py); hand-made ones may not be
        prices = prices.sort("symbol", "date")
        sym, date = prices.get_column("symbol"), prices.get_column("date")
        run = sym.rle_id().to_numpy()
    starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]]) if run.size else np.zeros(0, dtype=np.int64)
    names = sym.gather(starts)
    keep_run = names.is_in(symbols.unique().implode()).to_numpy()
    every_row = bool(keep_run.all())  # the usual case: no row to leave out, no gather
    rows = None if every_row else np.flatnonzero(keep_run[run])

    def kept(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    if run.size == 0 or (rows is not None and rows.size == 0):
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return _StockDays({}, empty_i, empty_i, empty_f, empty_f, empty_f, np.zeros(0, dtype=bool), empty_i, empty_i)
    kept_runs = np.flatnonzero(keep_run)
    # 0.. over the kept symbols, in order
    code = run.astype(np.int64) if rows is None else np.searchsorted(kept_runs, run[rows]).astype(np.int64)
    cal_days = calendar.to_physical().to_numpy().astype(np.int64)
    lookup = np.zeros(int(cal_days[-1] - cal_days[0]) + 1, dtype=np.int64)  # date -> calendar index
    lookup[cal_days - cal_days[0]] = np.arange(n_cal)
    day = lookup[kept(date.to_physical().to_numpy()).astype(np.int64) - cal_days[0]]
    key = code * n_cal + day
    dup = np.flatnonzero(key[1:] == key[:-1])
    if dup.size:
        r = prices.row(int(dup[0] if rows is None else rows[dup[0]]), named=True)
        raise ValueError(f"dataset {ds.name!r} prices: (symbol, date) ({r['symbol']!r}, {r['date']}) appears twice")
    n = key.size
    first_of = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    ends = np.r_[first_of[1:], n] - 1
    last = np.repeat(ends, np.diff(np.r_[first_of, n]))
    close = kept(prices.get_column("close").to_numpy()).astype(np.float64)
    prev_close = np.empty(n)
    prev_close[1:] = close[:-1]
    prev_close[first_of] = np.nan  # a symbol's first row has no previous close
    volume = kept(prices.get_column("volume").to_numpy()) if "volume" in prices.columns else np.full(n, np.nan)
    suspended = np.asarray(volume, dtype=np.float64) == 0.0  # NaN (no volume) is not 0
    exitable = kept(prices.get_column("tradable").fill_null(True).to_numpy()) & ~suspended
    # next exitable row at or after each row, within its symbol: a backward running minimum
    candidate = np.where(exitable, np.arange(n), n)
    next_exit = np.minimum.accumulate(candidate[::-1])[::-1]
    next_exit = np.where(next_exit <= last, next_exit, -1)
    codes = dict(zip(names.gather(kept_runs).to_list(), range(kept_runs.size), strict=True))
    return _StockDays(
        codes,
        key,
        day,
        kept(prices.get_column("open").to_numpy()).astype(np.float64),
        close,
        prev_close,
        suspended,
        last,
        next_exit,
    )


@dataclass(frozen=True)
class _EventRows:
    """The labelled events with an ``event_day`` whose stock has a row on or after it and an entry
    row within its prices (in labelled order): the stock-day ``entry`` row (``entry_offset_days``
    own days after the event day, the stock's first own day on or after ``event_day``), the
    stock's ``last`` row, and ``entries``, the plan's columns that do not depend on the holding
    period (``event_id, entry_day, entry_date, entry_price, prev_close, suspended``)."""

    stock: _StockDays
    entry: np.ndarray
    last: np.ndarray
    entries: pl.DataFrame


def _event_rows(labelled: pl.DataFrame, stock: _StockDays, entry_offset_days: int, calendar: pl.Series) -> _EventRows:
    """:class:`_EventRows` of ``labelled`` on ``stock`` (``calendar`` the dataset's)."""
    n_cal = calendar.len()
    events = labelled.filter(pl.col("event_day").is_not_null()).select("event_id", "symbol", "event_day")
    if stock.key.size == 0:  # no price row for any labelled symbol: every plan is empty
        events = events.clear()
    code = events.get_column("symbol").replace_strict(stock.codes, default=-1, return_dtype=pl.Int64).to_numpy()
    ev_day = np.searchsorted(calendar.to_numpy(), events.get_column("event_day").to_numpy())
    row0 = np.searchsorted(stock.key, code * n_cal + ev_day, side="left")
    n = stock.key.size
    safe0 = np.clip(row0, 0, max(n - 1, 0))
    found = (code >= 0) & (row0 < n) & (stock.key[safe0] // n_cal == code) if n else np.zeros(0, dtype=bool)
    keep = np.flatnonzero(found & (safe0 + entry_offset_days <= stock.last[safe0]))
    entry, last = safe0[keep] + entry_offset_days, stock.last[safe0[keep]]
    entries = pl.DataFrame(
        {
            "event_id": events.get_column("event_id").gather(keep),
            "entry_day": stock.day[entry],
            "entry_date": calendar.cast(pl.Date).gather(stock.day[entry]),
            "entry_price": stock.open[entry],
            "prev_close": stock.prev_close[entry],
            "suspended": stock.suspended[entry],
        }
    ).with_columns(pl.col("prev_close").fill_nan(None))
    return _EventRows(stock, entry, last, entries)


#: ``exit_rule`` by code: 0 planned, 1 carried, 2 last_price.
_EXIT_RULES = ("planned", "carried", "last_price")


def _plan(rows: _EventRows, holding_period: int, calendar: pl.Series) -> pl.DataFrame:
    """One row per event of ``rows``: where its trade would enter and exit, whatever the action:
    ``event_id, entry_day, entry_date, entry_price, prev_close, suspended, planned_day,
    planned_exit_date, exit_day, exit_date, exit_price, exit_rule, past_data``, and the stock-day
    rows of the entry and the exit (``entry_row, exit_row``).

    The planned exit is ``holding_period - 1`` own days after the entry, the exit the first
    exitable own day at or after it (the stock's last row when none).
    """
    stock, entry, last = rows.stock, rows.entry, rows.last
    n_cal = calendar.len()
    planned = entry + holding_period - 1
    beyond = planned > last
    planned_row = np.minimum(planned, last)
    nxt = stock.next_exit[planned_row]
    last_price = beyond | (nxt < 0)
    exit_row = np.where(last_price, last, nxt)
    rule = np.where(last_price, 2, np.where(exit_row > planned, 1, 0)).astype(np.int8)
    cal = calendar.cast(pl.Date)
    exits = pl.DataFrame(
        {
            "planned_day": stock.day[planned_row],
            "planned_exit_date": cal.gather(stock.day[planned_row]),
            "exit_day": stock.day[exit_row],
            "exit_date": cal.gather(stock.day[exit_row]),
            "exit_price": stock.close[exit_row],
            "exit_rule": pl.Series(rule).replace_strict(dict(enumerate(_EXIT_RULES)), return_dtype=pl.String),
            "past_data": beyond & (stock.day[last] == n_cal - 1),
            "entry_row": entry,
            "exit_row": exit_row,
        }
    )
    return pl.concat([rows.entries, exits], how="horizontal")


def _planned_events(
    ds: Dataset, labelled: pl.DataFrame, cfg: BacktestConfig, calendar: pl.Series
) -> tuple[_StockDays, pl.DataFrame]:
    """The stock days of the labelled symbols and :func:`_plan` of the labelled events, remembered
    for the same prices and labelled frames, calendar, entry offset and holding period (the event
    rows without the holding period, so a holding-period sweep finds each event's row once)."""
    frames = (ds.prices, labelled)
    at = (_calendar_key(calendar), cfg.entry_offset_days)

    def event_rows() -> _EventRows:
        stock = _stock_days(ds, labelled.get_column("symbol"), calendar)
        return _event_rows(labelled, stock, cfg.entry_offset_days, calendar)

    rows = _EVENT_ROWS.get(frames, at, event_rows)
    return rows.stock, _PLANS.get(frames, (*at, cfg.holding_period), lambda: _plan(rows, cfg.holding_period, calendar))


def _plan_trades(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    calendar: np.ndarray,
    window: tuple[int, int],
    weights: Mapping[str, float],
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The decisions (sorted by ``event_id``) with their plan and first applicable skip reason; the
    holding-day price increments of the executed trades (``i`` the trade's row, ``day``, ``inc`` =
    ``(P_day - P_{day-1}) / entry open``, P the latest close, the entry open before the first);
    and the last NAV day (module docstring, "Window")."""
    first, last_entry = window
    n_cal = calendar.size
    cal = pl.Series("date", calendar.astype("datetime64[D]"), dtype=pl.Date)
    stock, plan = _planned_events(ds, labelled, cfg, cal)

    in_window = pl.col("entry_day").is_between(first, last_entry)
    enterable = plan.filter(in_window & ~pl.col("past_data"))
    last = min(last_entry + cfg.holding_period - 1, n_cal - 1)
    if enterable.height:
        last = max(last, int(enterable.get_column("exit_day").max()))

    extra_label_cols = [c for c in ("car",) if c in labelled.columns]
    frame = (
        decisions.select("event_id", "strategy_id", "action")
        .join(
            labelled.select("event_id", "symbol", "published_at", "event_type", "event_day", *extra_label_cols),
            on="event_id",
            how="left",
        )
        .join(plan, on="event_id", how="left")
        .sort("event_id")
    )

    reason = _skip_reason(ds, cfg, weights, in_window, frame.schema["published_at"])
    frame = (
        frame.with_columns(reason.otherwise(None).alias("skip_reason"))
        .with_columns(pl.col("skip_reason").is_null().alias("executed"))
        .drop("past_data", "prev_close", "suspended")
    )
    return frame, _holding_increments(frame, stock), last


def _skip_reason(
    ds: Dataset,
    cfg: BacktestConfig,
    weights: Mapping[str, float],
    in_window: pl.Expr,
    published_dtype: pl.DataType,
) -> pl.Expr:
    """The first skip reason that applies to a planned decision, in the module docstring's order
    (null: the trade is entered)."""
    # Point-in-time guard: the entry open (news cut-off on the entry day, exchange time) must be
    # after publication.
    hh, mm = (int(x) for x in ds.meta.news_cutoff.split(":"))
    open_utc = (
        pl.col("entry_date")
        .cast(pl.Datetime("us"))
        .dt.offset_by(f"{hh}h{mm}m")
        .dt.replace_time_zone(ds.meta.exchange_timezone)
        .dt.convert_time_zone("UTC")
    )
    published = pl.col("published_at")
    if published_dtype != pl.Datetime("us", "UTC"):
        published = published.cast(pl.Datetime("us", "UTC"))
    gap = (pl.col("entry_price") / pl.col("prev_close") - 1.0).abs()
    locked = (gap >= cfg.open_limit).fill_null(False) if cfg.open_limit is not None else pl.lit(False)
    has_weight = (
        pl.lit(True)
        if cfg.weighting == "equal"
        else pl.col("event_type").replace_strict(
            {k: float(v) > 0.0 for k, v in weights.items()}, default=False, return_dtype=pl.Boolean
        )
    )
    checks = [
        ("hold", pl.col("action") == "hold"),
        ("event_excluded", pl.col("event_day").is_null()),
        ("past_data", pl.col("entry_day").is_null() | pl.col("past_data")),
        ("outside_window", ~in_window),
        ("not_public_at_entry", ~(published < open_utc).fill_null(False)),
        ("suspended_at_open", pl.col("suspended")),
        ("limit_locked_open", locked),
        ("no_type_weight", ~has_weight),
    ]
    reason = pl.when(checks[0][1].fill_null(True)).then(pl.lit(checks[0][0]))
    for name, failed in checks[1:]:
        reason = reason.when(failed.fill_null(True)).then(pl.lit(name))
    return reason


def _holding_increments(frame: pl.DataFrame, stock: _StockDays) -> pl.DataFrame:
    """``i, day, inc`` of every holding day of the executed trades: ``inc = (P_day - P_{day-1}) /
    entry open``, P_d the close of the stock's latest row on or before day d (the entry open before
    the first), sorted by day then trade. The stock's rows from the entry row to the exit row are
    its own days of the holding period; the latest on or before day d is the entry row plus the
    number of them after the entry day up to d."""
    ex = frame.with_row_index("i").filter(pl.col("executed"))
    trade = ex.get_column("i").cast(pl.Int64).to_numpy()
    entry_price = ex.get_column("entry_price").to_numpy()
    entry_day = ex.get_column("entry_day").to_numpy()
    entry_row = ex.get_column("entry_row").to_numpy()
    length = ex.get_column("exit_day").to_numpy() - entry_day + 1  # calendar days held
    start = np.cumsum(length) - length  # each trade's first holding day in the flat arrays
    at = np.repeat(np.arange(trade.size), length)
    day = entry_day[at] + (np.arange(at.size) - start[at])
    own = ex.get_column("exit_row").to_numpy() - entry_row + 1  # the stock's own days held
    own_at = np.repeat(np.arange(trade.size), own)
    own_row = entry_row[own_at] + (np.arange(own_at.size) - (np.cumsum(own) - own)[own_at])
    has_row = np.zeros(at.size, dtype=np.int64)
    has_row[start[own_at] + stock.day[own_row] - entry_day[own_at]] = 1
    seen = np.cumsum(has_row)
    close = stock.close[entry_row[at] + seen - (seen[start] - 1)[at] - 1]
    before = np.empty(at.size)
    before[1:] = close[:-1]
    before[start[length > 0]] = entry_price[length > 0]  # the entry open before the first close
    inc = (close - before) / entry_price[at]
    order = np.lexsort((trade[at], day))
    return pl.DataFrame({"i": trade[at][order], "day": day[order], "inc": inc[order]})
