"""The backtest and interval formulas as they stood before the fast paths (commit a7d17cd), kept
verbatim as the references the fast paths must match bit for bit (tests/test_backtest_fast.py):
the stock days, the trade plan of the labelled events and the holding-day increments
(``janus_core.backtest.trades``), the DA bootstrap intervals and arch's Politis-White block length
(``janus_core.backtest.intervals``)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from arch.bootstrap import optimal_block_length

from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.intervals import MIN_OBS_OPTIMAL_BLOCK, _interval
from janus_core.backtest.metrics import BootstrapConfig, direction_hits
from janus_core.backtest.trades import _StockDays
from janus_core.data.dataset import Dataset


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
    rows = np.flatnonzero(keep_run[run]) if run.size else np.zeros(0, dtype=np.int64)
    if rows.size == 0:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return _StockDays({}, empty_i, empty_i, empty_f, empty_f, empty_f, np.zeros(0, dtype=bool), empty_i, empty_i)
    kept_runs = np.flatnonzero(keep_run)
    code = np.searchsorted(kept_runs, run[rows]).astype(np.int64)  # 0.. over the kept symbols, in order
    cal_days = calendar.to_physical().to_numpy().astype(np.int64)
    lookup = np.zeros(int(cal_days[-1] - cal_days[0]) + 1, dtype=np.int64)  # date -> calendar index
    lookup[cal_days - cal_days[0]] = np.arange(n_cal)
    day = lookup[date.to_physical().to_numpy()[rows].astype(np.int64) - cal_days[0]]
    key = code * n_cal + day
    dup = np.flatnonzero(key[1:] == key[:-1])
    if dup.size:
        r = prices.row(int(rows[dup[0]]), named=True)
        raise ValueError(f"dataset {ds.name!r} prices: (symbol, date) ({r['symbol']!r}, {r['date']}) appears twice")
    n = key.size
    first_of = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    ends = np.r_[first_of[1:], n] - 1
    last = np.repeat(ends, np.diff(np.r_[first_of, n]))
    close = prices.get_column("close").to_numpy()[rows].astype(np.float64)
    prev_close = np.full(n, np.nan)
    same = np.r_[False, code[1:] == code[:-1]]
    prev_close[same] = close[np.flatnonzero(same) - 1]
    volume = prices.get_column("volume").to_numpy()[rows] if "volume" in prices.columns else np.full(n, np.nan)
    suspended = np.asarray(volume, dtype=np.float64) == 0.0  # NaN (no volume) is not 0
    exitable = prices.get_column("tradable").fill_null(True).to_numpy()[rows] & ~suspended
    # next exitable row at or after each row, within its symbol: a backward running minimum
    candidate = np.where(exitable, np.arange(n), n)
    next_exit = np.minimum.accumulate(candidate[::-1])[::-1]
    next_exit = np.where(next_exit <= last, next_exit, -1)
    codes = dict(zip(names.gather(kept_runs).to_list(), range(kept_runs.size), strict=True))
    return _StockDays(
        codes,
        key,
        day,
        prices.get_column("open").to_numpy()[rows].astype(np.float64),
        close,
        prev_close,
        suspended,
        last,
        next_exit,
    )


def _plan(labelled: pl.DataFrame, stock: _StockDays, cfg: BacktestConfig, calendar: pl.Series) -> pl.DataFrame:
    """One row per labelled event with an ``event_day`` whose stock has a row on or after it:
    where its trade would enter and exit, whatever the action: ``event_id, entry_day,
    entry_date, entry_price, prev_close, suspended, planned_day, planned_exit_date, exit_day,
    exit_date, exit_price, exit_rule, past_data``.

    The event day is the stock's first own trading day on or after ``event_day``; the entry is
    ``entry_offset_days`` own days later, the planned exit ``holding_period - 1`` own days after
    the entry, the exit the first exitable own day at or after it (the stock's last row when none).
    """
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
    entry = safe0 + cfg.entry_offset_days
    last = stock.last[safe0]
    found &= entry <= last
    entry = np.where(found, entry, 0)
    planned = entry + cfg.holding_period - 1
    beyond = planned > last
    planned_row = np.minimum(planned, last)
    nxt = stock.next_exit[planned_row]
    last_price = beyond | (nxt < 0)
    exit_row = np.where(last_price, last, nxt)
    keep = np.flatnonzero(found)
    cal = calendar.cast(pl.Date)

    def days(rows: np.ndarray) -> pl.Series:
        return cal.gather(stock.day[rows[keep]])

    return pl.DataFrame(
        {
            "event_id": events.get_column("event_id").gather(keep),
            "entry_day": stock.day[entry[keep]],
            "entry_date": days(entry),
            "entry_price": stock.open[entry[keep]],
            "prev_close": stock.prev_close[entry[keep]],
            "suspended": stock.suspended[entry[keep]],
            "planned_day": stock.day[planned_row[keep]],
            "planned_exit_date": days(planned_row),
            "exit_day": stock.day[exit_row[keep]],
            "exit_date": days(exit_row),
            "exit_price": stock.close[exit_row[keep]],
            "exit_rule": np.where(last_price, "last_price", np.where(exit_row > planned, "carried", "planned"))[keep],
            "past_data": (beyond & (stock.day[last] == n_cal - 1))[keep],
        },
        schema_overrides={"exit_rule": pl.String},
    ).with_columns(pl.col("prev_close").fill_nan(None))


def _holding_increments(frame: pl.DataFrame, stock: _StockDays, n_cal: int) -> pl.DataFrame:
    """``i, day, inc`` of every holding day of the executed trades: ``inc = (P_day - P_{day-1}) /
    entry open``, P_d the close of the stock's latest row on or before day d (the entry open before
    the first), sorted by day then trade."""
    ex = frame.with_row_index("i").filter(pl.col("executed"))
    days = ex.select(
        pl.col("i").cast(pl.Int64),
        pl.col("symbol").replace_strict(stock.codes, return_dtype=pl.Int64).alias("code"),
        "entry_price",
        pl.int_ranges("entry_day", pl.col("exit_day") + 1).alias("day"),
    ).explode("day")
    row = (
        np.searchsorted(
            stock.key, days.get_column("code").to_numpy() * n_cal + days.get_column("day").to_numpy(), side="right"
        )
        - 1
    )
    days = (
        days.with_columns(pl.Series("close", stock.close[row]))
        .with_columns(
            inc=(pl.col("close") - pl.col("close").shift(1).over("i").fill_null(pl.col("entry_price")))
            / pl.col("entry_price")
        )
        .select("i", "day", "inc")
        .sort("day", "i")
    )
    return days


def plan_trades_reference(
    ds: Dataset, labelled: pl.DataFrame, cfg: BacktestConfig, calendar: pl.Series
) -> tuple[_StockDays, pl.DataFrame]:
    """The stock days and plan ``_plan_trades`` built on every call before they were remembered."""
    stock = _build_stock_days(ds, labelled.get_column("symbol"), calendar)
    return stock, _plan(labelled, stock, cfg, calendar)


def sharpe_block_length(returns: np.ndarray) -> int:
    r = returns.reshape(returns.shape[0], -1)
    n = r.shape[0]
    block = math.ceil(2.0 * n ** (1.0 / 3.0))
    if n >= MIN_OBS_OPTIMAL_BLOCK:
        for col in r.T:
            if float(np.std(col)) == 0.0:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                b = float(optimal_block_length(col)["circular"].iloc[0])
            if math.isfinite(b):
                block = max(block, math.ceil(b))
    return max(1, min(block, n // 2))


def _scored_hits(decisions: pl.DataFrame, labelled: pl.DataFrame) -> pl.DataFrame:
    hits = direction_hits(decisions, labelled).filter(pl.col("scored"))
    if hits["event_id"].is_duplicated().any():
        dup = hits.filter(pl.col("event_id").is_duplicated())["event_id"][0]
        raise ValueError(f"decisions: event {dup!r} has more than one decision; DA intervals need one per event")
    return hits.select("event_id", "hit")


def bootstrap_da_ci(decisions: pl.DataFrame, labelled: pl.DataFrame, cfg: BootstrapConfig) -> dict[str, float]:
    hit = _scored_hits(decisions, labelled)["hit"].cast(pl.Float64).to_numpy()
    if hit.size == 0:
        raise ValueError("bootstrap_da_ci: no scored events")
    rng = np.random.default_rng(cfg.seed)
    idx = rng.integers(0, hit.size, size=(cfg.n_boot, hit.size))
    return _interval(float(hit.mean()), hit[idx].mean(axis=1), cfg, None)


def bootstrap_da_diff_ci(
    decisions: pl.DataFrame, baseline_decisions: pl.DataFrame, labelled: pl.DataFrame, cfg: BootstrapConfig
) -> dict[str, float]:
    a = _scored_hits(decisions, labelled)
    b = _scored_hits(baseline_decisions, labelled)
    paired = a.join(b, on="event_id", how="inner", suffix="_baseline").sort("event_id")
    if paired.height == 0:
        raise ValueError("bootstrap_da_diff_ci: the two decision tables share no scored event")
    diff = (paired["hit"].cast(pl.Float64) - paired["hit_baseline"].cast(pl.Float64)).to_numpy()
    rng = np.random.default_rng(cfg.seed)
    idx = rng.integers(0, diff.size, size=(cfg.n_boot, diff.size))
    out = _interval(float(diff.mean()), diff[idx].mean(axis=1), cfg, None)
    out["n_paired"] = float(paired.height)
    return out


def da_interval_table(
    decisions_by_policy: dict[str, pl.DataFrame], labelled: pl.DataFrame, baseline: str, cfg: BootstrapConfig
) -> pl.DataFrame:
    rows = []
    for name in sorted(decisions_by_policy):
        one = bootstrap_da_ci(decisions_by_policy[name], labelled, cfg)
        diff = bootstrap_da_diff_ci(decisions_by_policy[name], decisions_by_policy[baseline], labelled, cfg)
        rows.append(
            {
                "policy": name,
                "da": one["estimate"],
                "da_ci_low": one["lo"],
                "da_ci_high": one["hi"],
                "da_diff": diff["estimate"],
                "da_diff_ci_low": diff["lo"],
                "da_diff_ci_high": diff["hi"],
                "n_paired": int(diff["n_paired"]),
            }
        )
    return pl.DataFrame(rows)
