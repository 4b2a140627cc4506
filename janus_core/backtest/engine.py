"""Backtest: the paper's event-driven long/short portfolio over a decisions table.

Protocol (janus-q-method.md, "Backtest protocol"), as implemented here:

- **Signal and entry.** Each decision acts on its event's ``event_day`` from the labelled table:
  the first trading day whose open follows the news (point-in-time rule: news published between
  the cut-off, 09:30 exchange time, on day t and the cut-off on day t+1 informs day t+1). The trade
  enters at the open of the trading day ``entry_offset_days`` after ``event_day`` (default 0: the
  open of ``event_day`` itself, the first open at which the news is public, i.e. "the next trading
  day's open" after the news). A guard re-checks this against the raw timestamp: a decision whose
  ``published_at`` is not before the entry open (``news_cutoff`` on the entry day, exchange time)
  is skipped as ``not_public_at_entry``; it would be look-ahead.
- **Holding.** ``holding_period`` = HP trading days; the entry day counts as day 1, so the exit is
  at the close of trading day ``entry + HP - 1`` (HP = 1: open-to-close of the entry day). Days are
  counted on the dataset's trading calendar (every date with a price).
- **Sizing.** On each entry day the cohort of new trades receives gross capital
  ``daily_capital * NAV`` (NAV at the previous close). With ``weighting="type"`` it is split across
  the event types present that day in proportion to ``w_k`` (historical mean |CAR| of type k, from
  the historical split only), then equally across the trades of a type; with ``"equal"``, equally
  across the day's trades. Long trades buy, short trades sell short; each decision is one
  position, so opposite decisions on one stock offset in P&L but both pay cost.
- **Position cap.** With ``position_cap = c`` the gross entry notional of all positions held on a
  day may not exceed ``c * NAV`` (previous close): the new cohort is scaled down pro rata to fit
  (``cap_scale`` in the trades table); held positions are never cut. None = no cap (paper's main run).
- **Costs.** ``cost_bps`` per side, on traded value: ``|notional|`` at entry and
  ``|shares * close_exit|`` at exit.
- **Mark-to-market.** A position of ``q = notional / open_entry`` shares (negative when short)
  earns ``q * (close_entry - open_entry)`` on its entry day and ``q * (close_d - close_{d-1})`` on
  each later day. ``NAV_d = NAV_{d-1} + sum(P&L_d) - cost_d``; ``daily_return = NAV_d / NAV_{d-1} - 1``.
- **Skips, never imputation.** Every decision appears once in ``trades``; one not executed carries
  the first applicable ``skip_reason`` in this order: ``hold``; ``event_excluded`` (the labeller
  gave no event_day); ``outside_window`` (entry outside the backtest window); ``past_data`` (the
  exit day lies past the end of the price calendar); ``not_public_at_entry``; ``no_price`` (a
  missing open on the entry day or close on any holding day); ``untradable_entry`` /
  ``untradable_exit`` (``tradable`` false on the entry or exit day: suspended or limit-locked);
  ``no_type_weight`` (type weighting and the event's type has no positive weight);
  ``position_cap`` (the cap left no room at all for the day's cohort).
- **Window.** Entries are taken on trading days in ``[start, end]`` (defaults: the first and last
  ``event_day`` of the labelled table), and the NAV runs from the close of the trading day before
  the first window day (``nav = initial_nav``) to ``HP - 1`` trading days after the last, so every
  policy backtested on the same labelled table and config shares the same NAV dates.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.backtest.metrics import NAV_METRIC_KEYS, nav_metrics
from janus_core.data.dataset import Dataset
from janus_core.study.labels import mean_abs_car_by_type

SKIP_REASONS: tuple[str, ...] = (
    "hold",
    "event_excluded",
    "outside_window",
    "past_data",
    "not_public_at_entry",
    "no_price",
    "untradable_entry",
    "untradable_exit",
    "no_type_weight",
    "position_cap",
)


class BacktestConfig(BaseModel):
    """Every constant of the backtest.

    - ``holding_period`` 2: the paper's main run (HP = 1..10 studied).
    - ``cost_bps`` 5.0 per side: the paper does not publish its cost. 5 bps a side (10 bps round
      trip) is the A-share retail order of magnitude (commission about 2.5 bps a side plus the
      0.05% stamp duty on sales since August 2023, averaged over both sides) and matches the
      lane's reference profile cost of 5 bps (lane-contract.md).
    - ``position_cap`` None: no cap in the paper's main run; 1.0, 2.0, 3.0 (NAV multiples) studied.
    - ``weighting`` "type": the paper's w_k split; "equal" for the comparison.
    - ``daily_capital`` 1.0: each day's new cohort gets gross notional 1 x NAV, so with HP days
      of overlapping cohorts gross exposure can reach HP x NAV (hence the paper's cap study).
    - ``initial_nav`` 1.0: NAV at the close before the first window day.
    - ``entry_offset_days`` 0: enter at the open of ``event_day`` (see module docstring).
    - ``start`` / ``end`` None: first / last entry day of the window (default: the labelled
      table's first / last ``event_day``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    holding_period: int = Field(2, ge=1)
    cost_bps: float = Field(5.0, ge=0.0)
    position_cap: float | None = Field(None, gt=0.0)
    weighting: Literal["type", "equal"] = "type"
    daily_capital: float = Field(1.0, gt=0.0)
    initial_nav: float = Field(1.0, gt=0.0)
    entry_offset_days: int = Field(0, ge=0)
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class BacktestResult:
    """A backtest's outputs.

    - ``nav``: one row per day, ``date, nav, daily_return, gross_exposure, n_positions, cost``; the
      first row is the base (previous close, ``daily_return`` null). ``gross_exposure`` is the
      gross entry notional of positions held that day over the previous close's NAV.
    - ``trades``: one row per decision (sorted by ``event_id``) with ``executed``, ``skip_reason``,
      the event's ``symbol, event_type, event_day`` (and ``car`` when labelled), entry/exit dates
      and prices, ``cap_scale`` (share of the wanted size the cap allowed), ``weight`` (signed
      fraction of NAV at entry, after the cap), ``notional``, ``gross_return`` (``sign *
      (exit_close / entry_open - 1)``), ``cost``, ``pnl`` (currency, net of cost) and
      ``net_return`` (``gross_return`` minus cost per unit notional).
    - ``metrics``: the paper's NAV metrics plus counts (``n_decisions``, ``n_executed``,
      ``skipped_<reason>`` for every reason, ``total_cost``, ``max_gross_exposure``, ``n_days``).
    - ``per_type``: per event type: weight, decisions, executed, hit rate, mean net return, P&L.
    """

    config: BacktestConfig
    type_weights: dict[str, float]
    nav: pl.DataFrame
    trades: pl.DataFrame
    metrics: dict[str, float | int]
    per_type: pl.DataFrame

    def summary(self, digits: int = 4) -> dict[str, float | int]:
        """The metrics, rounded to ``digits`` decimals (counts stay integers): a small JSON-able dict."""
        return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in self.metrics.items()}


def _require(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing required column(s) {missing}; has {frame.columns}")


def historical_type_weights(labelled: pl.DataFrame) -> dict[str, float]:
    """``w_k = mean(|car|)`` over the labelled events of type k in the ``historical`` split
    (``labels.chronological_split``), excluded events (null ``car``) left out; sorted by type."""
    _require(labelled, ("event_type", "car", "split"), "labelled (type weights)")
    hist = labelled.filter((pl.col("split") == "historical") & pl.col("car").is_not_null())
    if hist.height == 0:
        raise ValueError("labelled: no event with a CAR in the 'historical' split; cannot estimate type weights")
    return mean_abs_car_by_type(hist)


def trading_calendar(ds: Dataset) -> pl.Series:
    """The sorted distinct dates with a price: the calendar on which holding days are counted."""
    return ds.prices.get_column("date").unique().sort()


def _check_inputs(ds: Dataset, decisions: pl.DataFrame, labelled: pl.DataFrame) -> None:
    _require(decisions, ("event_id", "strategy_id", "action"), "decisions")
    _require(labelled, ("event_id", "symbol", "published_at", "event_type", "event_day"), "labelled")
    _require(ds.prices, ("symbol", "date", "open", "close", "tradable"), f"dataset {ds.name!r} prices")
    strategies = decisions.get_column("strategy_id").unique().sort().to_list()
    if len(strategies) > 1:
        raise ValueError(f"decisions: column 'strategy_id' has {strategies}; backtest one strategy at a time")
    indexed = decisions.with_row_index("row")
    bad = indexed.filter(~pl.col("action").is_in(["long", "short", "hold"]) | pl.col("action").is_null())
    if bad.height:
        r = bad.row(0, named=True)
        raise ValueError(f"decisions: row {r['row']}, column 'action' is {r['action']!r}; must be long|short|hold")
    dup = indexed.filter(~pl.col("event_id").is_first_distinct())
    if dup.height:
        r = dup.row(0, named=True)
        raise ValueError(f"decisions: row {r['row']}, column 'event_id' {r['event_id']!r} appears more than once")
    if labelled.get_column("event_id").is_duplicated().any():
        e = labelled.filter(pl.col("event_id").is_duplicated()).get_column("event_id")[0]
        raise ValueError(f"labelled: column 'event_id' {e!r} appears more than once; one row per event")
    unknown = indexed.join(labelled.select("event_id"), on="event_id", how="anti", maintain_order="left")
    if unknown.height:
        r = unknown.row(0, named=True)
        raise ValueError(f"decisions: row {r['row']}, column 'event_id' {r['event_id']!r} is not in the labelled table")


def _window(calendar: np.ndarray, labelled: pl.DataFrame, cfg: BacktestConfig) -> tuple[int, int, int]:
    """Calendar indices ``(first entry day, last entry day, last NAV day)``."""
    days = labelled.get_column("event_day").drop_nulls()
    start = cfg.start or (days.min() if days.len() else None)
    end = cfg.end or (days.max() if days.len() else None)
    if start is None or end is None:
        raise ValueError("backtest window: no labelled event has an event_day and no start/end is configured")
    first = int(np.searchsorted(calendar, np.datetime64(start, "D"), side="left"))
    last_entry = int(np.searchsorted(calendar, np.datetime64(end, "D"), side="right")) - 1
    if first >= calendar.size or last_entry < first:
        raise ValueError(f"backtest window [{start}, {end}] contains no trading day of the price calendar")
    if first == 0:
        raise ValueError(
            f"backtest window starts on {calendar[0]}, the first price date: no previous close to value the base NAV"
        )
    return first, last_entry, min(last_entry + cfg.holding_period - 1, calendar.size - 1)


def _plan_trades(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    calendar: np.ndarray,
    window: tuple[int, int, int],
    weights: Mapping[str, float],
) -> tuple[pl.DataFrame, np.ndarray]:
    """One row per decision (sorted by ``event_id``) with its skip reason, entry/exit days and
    prices, and the matrix (one row per decision, one column per holding day) of price increments
    ``(close_d - ref_d) / open_entry`` with ``ref`` the entry open on day 1 and the previous close
    after; rows of skipped decisions are zero."""
    first, last_entry, _ = window
    hp = cfg.holding_period
    cal = pl.Series("date", calendar.astype("datetime64[D]"), dtype=pl.Date)
    n_cal = calendar.size
    extra_label_cols = [c for c in ("car",) if c in labelled.columns]
    frame = (
        decisions.select("event_id", "strategy_id", "action")
        .join(
            labelled.select("event_id", "symbol", "published_at", "event_type", "event_day", *extra_label_cols),
            on="event_id",
            how="left",
        )
        .sort("event_id")
    )
    event_day_idx = np.searchsorted(
        calendar, frame.get_column("event_day").fill_null(dt.date(1970, 1, 1)).to_numpy().astype("datetime64[D]")
    )
    entry_idx = event_day_idx + cfg.entry_offset_days
    exit_idx = entry_idx + hp - 1
    has_day = frame.get_column("event_day").is_not_null().to_numpy()
    in_window = has_day & (entry_idx >= first) & (entry_idx <= last_entry)
    in_data = exit_idx < n_cal
    safe_entry = np.clip(entry_idx, 0, n_cal - 1)
    safe_exit = np.clip(exit_idx, 0, n_cal - 1)
    frame = frame.with_columns(
        pl.Series("entry_idx", safe_entry, dtype=pl.Int64),
        pl.Series("entry_date", cal.gather(safe_entry)),
        pl.Series("exit_date", cal.gather(safe_exit)),
    )

    # Point-in-time guard: the entry open (news cut-off on the entry day, exchange time) must be
    # after publication.
    hh, mm = (int(x) for x in ds.meta.news_cutoff.split(":"))
    open_utc = frame.select(
        pl.col("entry_date")
        .cast(pl.Datetime("us"))
        .dt.offset_by(f"{hh}h{mm}m")
        .dt.replace_time_zone(ds.meta.exchange_timezone)
        .dt.convert_time_zone("UTC")
        .alias("open_utc")
    ).get_column("open_utc")
    published = frame.get_column("published_at")
    if published.dtype != pl.Datetime("us", "UTC"):
        published = published.cast(pl.Datetime("us", "UTC"))
    public = (published < open_utc).fill_null(False).to_numpy()

    # Holding-day prices: one row per (trade, holding day).
    located = has_day & in_data
    if located.any():
        lo_day, hi_day = cal[int(safe_entry[located].min())], cal[int(safe_exit[located].max())]
        wanted = pl.col("symbol").is_in(frame.get_column("symbol").drop_nulls().unique().implode()) & pl.col(
            "date"
        ).is_between(lo_day, hi_day)
    else:
        wanted = pl.lit(False)
    prices = ds.prices.filter(wanted).select("symbol", "date", "open", "close", "tradable")
    dup_price = prices.select("symbol", "date").is_duplicated()
    if dup_price.any():
        r = prices.filter(dup_price).row(0, named=True)
        raise ValueError(f"dataset {ds.name!r} prices: (symbol, date) ({r['symbol']!r}, {r['date']}) appears twice")
    offsets = np.arange(hp)
    days = (
        frame.select("event_id", "symbol", "entry_idx")
        .with_columns(pl.lit(offsets.tolist(), dtype=pl.List(pl.Int64)).alias("k"))
        .explode("k")
        .with_columns((pl.col("entry_idx") + pl.col("k")).clip(0, n_cal - 1).alias("day_idx"))
    )
    days = days.with_columns(pl.Series("date", cal.gather(days.get_column("day_idx"))))
    days = days.join(prices, on=["symbol", "date"], how="left", maintain_order="left")
    close = days.get_column("close").to_numpy().astype(np.float64).reshape(-1, hp)
    open_ = days.get_column("open").to_numpy().astype(np.float64).reshape(-1, hp)
    tradable = days.get_column("tradable").fill_null(False).to_numpy().reshape(-1, hp)
    entry_open = open_[:, 0]
    exit_close = close[:, -1]
    have_prices = np.isfinite(entry_open) & (entry_open > 0) & np.isfinite(close).all(axis=1)

    types = frame.get_column("event_type").to_list()
    has_weight = np.array(
        [cfg.weighting == "equal" or (weights.get(t) or 0.0) > 0.0 for t in types], dtype=bool
    )
    action = frame.get_column("action").to_numpy()
    checks = [
        ("hold", action == "hold"),
        ("event_excluded", ~has_day),
        ("outside_window", ~in_window),
        ("past_data", ~in_data),
        ("not_public_at_entry", ~public),
        ("no_price", ~have_prices),
        ("untradable_entry", ~tradable[:, 0]),
        ("untradable_exit", ~tradable[:, -1]),
        ("no_type_weight", ~has_weight),
    ]
    reason = np.full(frame.height, None, dtype=object)
    for name, failed in checks:
        reason[(reason == None) & failed] = name  # noqa: E711 (elementwise on an object array)
    executed = reason == None  # noqa: E711
    increments = np.zeros_like(close)
    increments[:, 0] = close[:, 0] - entry_open
    increments[:, 1:] = close[:, 1:] - close[:, :-1]
    increments[executed] /= entry_open[executed, None]
    frame = frame.with_columns(
        pl.Series("executed", executed, dtype=pl.Boolean),
        pl.Series("skip_reason", reason.tolist(), dtype=pl.String),
        pl.Series("entry_open", np.where(located, entry_open, np.nan)),
        pl.Series("exit_close", np.where(located, exit_close, np.nan)),
        pl.Series("located", located),
    ).with_columns(
        pl.when(pl.col("located")).then(pl.col(c)).otherwise(None).alias(c) for c in ("entry_date", "exit_date")
    ).drop("located")
    increments[~executed] = 0.0
    return frame, increments


def _cohort_fractions(frame: pl.DataFrame, cfg: BacktestConfig, weights: Mapping[str, float]) -> np.ndarray:
    """Unsigned fraction of the day's capital for each executed trade (0 for skipped ones):
    ``daily_capital * (w_k / sum of w over the types present that day) / n_k`` (type weighting) or
    ``daily_capital / n_day`` (equal)."""
    ex = frame.with_row_index("i").filter(pl.col("executed"))
    if ex.height == 0:
        return np.zeros(frame.height)
    if cfg.weighting == "equal":
        ex = ex.with_columns((pl.lit(cfg.daily_capital) / pl.len().over("entry_idx")).alias("f"))
    else:
        w = pl.DataFrame(
            {"event_type": sorted(weights), "w": [float(weights[k]) for k in sorted(weights)]},
            schema={"event_type": pl.String, "w": pl.Float64},
        )
        ex = ex.join(w, on="event_type", how="left", maintain_order="left").with_columns(
            pl.len().over(["entry_idx", "event_type"]).alias("n_k")
        )
        day_w = (
            ex.select("entry_idx", "event_type", "w")
            .unique(maintain_order=True)
            .group_by("entry_idx", maintain_order=True)
            .agg(pl.col("w").sort().sum().alias("w_day"))
        )
        ex = ex.join(day_w, on="entry_idx", how="left", maintain_order="left").with_columns(
            (cfg.daily_capital * pl.col("w") / pl.col("w_day") / pl.col("n_k")).alias("f")
        )
    out = np.zeros(frame.height)
    out[ex.get_column("i").to_numpy()] = ex.get_column("f").to_numpy()
    return out


def run_backtest(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    type_weights: Mapping[str, float] | None = None,
) -> BacktestResult:
    """Backtest one strategy's ``decisions`` on ``ds`` with the protocol of the module docstring.

    ``labelled``: one row per event (``event_id, symbol, published_at, event_type, event_day``;
    ``car`` and ``split`` when available). ``type_weights``: w_k per event type; None with
    ``weighting="type"`` estimates them with :func:`historical_type_weights` (needs ``split``).
    """
    _check_inputs(ds, decisions, labelled)
    if cfg.weighting == "type":
        weights = dict(type_weights) if type_weights is not None else historical_type_weights(labelled)
        bad = sorted(k for k, v in weights.items() if not (isinstance(v, (int, float)) and math.isfinite(v)))
        if bad:
            raise ValueError(f"type_weights: non-finite weight for {bad}")
    else:
        weights = {}
    calendar = trading_calendar(ds).to_numpy().astype("datetime64[D]")
    window = _window(calendar, labelled, cfg)
    first, _, last = window
    frame, increments = _plan_trades(ds, decisions, labelled, cfg, calendar, window, weights)
    fractions = _cohort_fractions(frame, cfg, weights)
    sign = np.where(frame.get_column("action").to_numpy() == "short", -1.0, 1.0)
    entry_idx = frame.get_column("entry_idx").to_numpy()
    executed = frame.get_column("executed").to_numpy()
    hp = cfg.holding_period
    cost_rate = cfg.cost_bps / 1e4
    with np.errstate(invalid="ignore", divide="ignore"):  # skipped rows may lack prices; masked below
        price_relative = np.where(
            executed, frame.get_column("exit_close").to_numpy() / frame.get_column("entry_open").to_numpy(), np.nan
        )

    n_days = last - first + 1
    nav = np.empty(n_days + 1)
    nav[0] = cfg.initial_nav
    gross = np.zeros(n_days)
    n_pos = np.zeros(n_days, dtype=np.int64)
    day_cost = np.zeros(n_days)
    notional = np.zeros(frame.height)  # signed currency notional at entry
    cap_scale = np.where(executed, 1.0, np.nan)
    trade_cost = np.zeros(frame.height)
    trade_pnl = np.zeros(frame.height)
    by_entry: dict[int, np.ndarray] = {}
    ex_idx = np.flatnonzero(executed)
    for day in np.unique(entry_idx[ex_idx]):
        by_entry[int(day)] = ex_idx[entry_idx[ex_idx] == day]
    for j in range(n_days):
        d = first + j
        nav_prev = nav[j]
        held = [by_entry[e] for e in range(d - hp + 1, d) if e in by_entry]
        held_idx = np.concatenate(held) if held else np.empty(0, dtype=np.int64)
        new_idx = by_entry.get(d, np.empty(0, dtype=np.int64))
        if new_idx.size:
            want = fractions[new_idx] * nav_prev
            scale = 1.0
            if cfg.position_cap is not None:
                room = max(0.0, cfg.position_cap * nav_prev - float(np.abs(notional[held_idx]).sum()))
                scale = min(1.0, room / float(want.sum())) if want.sum() > 0 else 1.0
            notional[new_idx] = sign[new_idx] * want * scale
            cap_scale[new_idx] = scale
            entry_cost = np.abs(notional[new_idx]) * cost_rate
            trade_cost[new_idx] += entry_cost
        else:
            entry_cost = np.zeros(0)
        open_idx = np.concatenate([held_idx, new_idx])
        k = d - entry_idx[open_idx]
        pnl = notional[open_idx] * increments[open_idx, k]
        trade_pnl[open_idx] += pnl
        exiting = open_idx[k == hp - 1]
        exit_cost = np.abs(notional[exiting]) * price_relative[exiting] * cost_rate
        trade_cost[exiting] += exit_cost
        day_cost[j] = float(entry_cost.sum() + exit_cost.sum())
        nav[j + 1] = nav_prev + float(pnl.sum()) - day_cost[j]
        if nav[j + 1] <= 0:
            raise ValueError(f"backtest: NAV fell to {nav[j + 1]} on day index {d}; the portfolio is bankrupt")
        gross[j] = float(np.abs(notional[open_idx]).sum()) / nav_prev
        n_pos[j] = int(np.count_nonzero(notional[open_idx]))

    capped_out = executed & (cap_scale == 0.0)
    if capped_out.any():
        executed = executed & ~capped_out
        frame = frame.with_columns(
            pl.Series("executed", executed),
            pl.when(pl.Series(capped_out)).then(pl.lit("position_cap")).otherwise("skip_reason").alias("skip_reason"),
        )

    dates = pl.Series("date", calendar[first - 1 : last + 1], dtype=pl.Date)
    nav_frame = pl.DataFrame(
        {
            "date": dates,
            "nav": nav,
            "daily_return": [None, *(nav[1:] / nav[:-1] - 1.0).tolist()],
            "gross_exposure": [0.0, *gross.tolist()],
            "n_positions": [0, *n_pos.tolist()],
            "cost": [0.0, *day_cost.tolist()],
        },
        schema={
            "date": pl.Date,
            "nav": pl.Float64,
            "daily_return": pl.Float64,
            "gross_exposure": pl.Float64,
            "n_positions": pl.Int64,
            "cost": pl.Float64,
        },
    )
    entry_nav = np.where(executed, nav[np.clip(entry_idx - first, 0, n_days)], np.nan)
    net_pnl = trade_pnl - trade_cost
    with np.errstate(invalid="ignore", divide="ignore"):
        trades = frame.with_columns(
            pl.Series("cap_scale", cap_scale),
            pl.Series("weight", np.where(executed, notional / entry_nav, np.nan)),
            pl.Series("notional", np.where(executed, notional, np.nan)),
            pl.Series("gross_return", np.where(executed, sign * (price_relative - 1.0), np.nan)),
            pl.Series("cost", np.where(executed, trade_cost, np.nan)),
            pl.Series("pnl", np.where(executed, net_pnl, np.nan)),
            pl.Series(
                "net_return",
                np.where(executed, sign * (price_relative - 1.0) - cost_rate * (1.0 + price_relative), np.nan),
            ),
        ).with_columns(pl.col(pl.Float64).fill_nan(None))
    trades = trades.drop("entry_idx")
    metrics = _backtest_metrics(nav, trades, nav_frame)
    return BacktestResult(cfg, dict(sorted(weights.items())), nav_frame, trades, metrics, _per_type(trades, weights))


def _backtest_metrics(nav: np.ndarray, trades: pl.DataFrame, nav_frame: pl.DataFrame) -> dict[str, float | int]:
    out: dict[str, float | int] = dict(nav_metrics(nav))
    counts = trades.get_column("skip_reason").value_counts()
    by_reason = dict(zip(counts.get_column("skip_reason").to_list(), counts.get_column("count").to_list(), strict=True))
    out["n_days"] = int(nav.size - 1)
    out["n_decisions"] = trades.height
    out["n_executed"] = int(trades.get_column("executed").sum())
    for r in SKIP_REASONS:
        out[f"skipped_{r}"] = int(by_reason.get(r, 0))
    out["total_cost"] = float(nav_frame.get_column("cost").sum())
    out["max_gross_exposure"] = float(nav_frame.get_column("gross_exposure").max())
    return out


def _per_type(trades: pl.DataFrame, weights: Mapping[str, float]) -> pl.DataFrame:
    """Per event type: ``w`` (null when unweighted), decisions, executed, hit rate (net return > 0
    among executed), mean net return and total P&L; sorted by type."""
    agg = (
        trades.group_by("event_type")
        .agg(
            pl.len().alias("n_decisions"),
            pl.col("executed").sum().cast(pl.Int64).alias("n_executed"),
            (pl.col("net_return") > 0).mean().alias("hit_rate"),
            pl.col("net_return").sort().mean().alias("mean_net_return"),
            pl.col("pnl").sort().sum().alias("pnl"),
        )
        .sort("event_type")
    )
    w = [weights.get(t) for t in agg.get_column("event_type").to_list()]
    return agg.with_columns(pl.Series("w", w, dtype=pl.Float64)).select(
        "event_type", "w", "n_decisions", "n_executed", "hit_rate", "mean_net_return", "pnl"
    )


def benchmark_navs(ds: Dataset, start: dt.date, end: dt.date) -> pl.DataFrame:
    """Buy-and-hold NAV of every benchmark over ``[start, end]``: ``nav = close / close on its first
    date in the window``; columns ``benchmark, date, nav``, sorted by (benchmark, date)."""
    b = ds.benchmarks.filter(pl.col("date").is_between(start, end)).sort("benchmark", "date")
    return b.select(
        "benchmark",
        "date",
        (pl.col("close") / pl.col("close").first().over("benchmark")).alias("nav"),
    )


SWEEP_KEYS: tuple[str, ...] = (*NAV_METRIC_KEYS, "n_executed", "total_cost", "max_gross_exposure")


def sweep_rows(
    cfg: BacktestConfig,
    field: str,
    values: Iterable[object],
    run: Callable[[BacktestConfig], BacktestResult],
) -> pl.DataFrame:
    """One backtest per value of the config ``field`` (every other setting from ``cfg``), each run by
    ``run(config)``, in the order given: columns ``field`` and :data:`SWEEP_KEYS`."""
    if field not in BacktestConfig.model_fields:
        raise ValueError(f"config_sweep: {field!r} is not a BacktestConfig field")
    rows = []
    for value in values:
        res = run(BacktestConfig(**{**cfg.model_dump(), field: value}))
        rows.append({field: value, **{k: res.metrics[k] for k in SWEEP_KEYS}})
    return pl.DataFrame(rows)


def config_sweep(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    field: str,
    values: Iterable[object],
    type_weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """:func:`sweep_rows` of :func:`run_backtest` on ``decisions``."""
    return sweep_rows(cfg, field, values, lambda swept: run_backtest(ds, decisions, labelled, swept, type_weights))


def holding_period_sweep(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    periods: Iterable[int] = range(1, 11),
    type_weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """The paper's holding-period sensitivity (HP = 1..10): :func:`config_sweep` over ``holding_period``."""
    return config_sweep(ds, decisions, labelled, cfg, "holding_period", periods, type_weights)


def weighting_comparison(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    type_weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Type (w_k) versus equal weighting: :func:`config_sweep` over ``weighting``."""
    return config_sweep(ds, decisions, labelled, cfg, "weighting", ("type", "equal"), type_weights)


def position_cap_sweep(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    caps: Iterable[float | None] = (None, 1.0, 2.0, 3.0),
    type_weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """The paper's cap study (none, 1x, 2x, 3x NAV): :func:`config_sweep` over ``position_cap``."""
    return config_sweep(ds, decisions, labelled, cfg, "position_cap", caps, type_weights)


def compare_policies(results: Mapping[str, BacktestResult]) -> pl.DataFrame:
    """One row per policy (sorted by name): ``policy`` and :data:`SWEEP_KEYS`."""
    return pl.DataFrame(
        [{"policy": name, **{k: results[name].metrics[k] for k in SWEEP_KEYS}} for name in sorted(results)]
    )


def nav_long(results: Mapping[str, BacktestResult]) -> pl.DataFrame:
    """Every policy's NAV frame stacked, with a leading ``policy`` column; sorted by (policy, date)."""
    frames = [results[name].nav.select(pl.lit(name).alias("policy"), pl.all()) for name in sorted(results)]
    return pl.concat(frames, how="vertical")
