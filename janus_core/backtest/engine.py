"""Backtest: the paper's event-driven long/short portfolio over a decisions table.

Protocol (janus-q-method.md, "Backtest protocol"), as implemented here. Nothing is decided with
information from after the moment the decision is taken.

- **Calendars.** NAV days are the dataset's trading calendar (every date with a price). Holding
  days of a trade are counted on the stock's *own* calendar (the dates on which ``prices`` has a
  row for it), exactly as :mod:`janus_core.car` counts event-window days, so a trade and its
  event's label window end on the same date (see "Label and trade horizons" below).
- **Signal and entry.** Each decision acts on its event's ``event_day`` from the labelled table:
  the first trading day whose open follows the news (point-in-time rule: news published between
  the cut-off, 09:30 exchange time, on day t and the cut-off on day t+1 informs day t+1). The trade
  enters at the open of the stock's trading day ``entry_offset_days`` after ``event_day``. A guard
  re-checks this against the raw timestamp: a decision whose ``published_at`` is not before the
  entry open (``news_cutoff`` on the entry day, exchange time) is ``not_public_at_entry``.
- **Entry uses only what is known at the open.** The data contract's ``tradable`` flag is a
  whole-day flag ("suspended or limit-locked *that day*"; the synthetic sample derives it from the
  close-to-close move), so it is *not* used at entry. A stock is not entered when, at the open of
  the entry day, it is ``suspended_at_open`` (its ``volume`` that day is 0: no share traded, the
  exchange announces a suspension before the open; datasets without ``volume`` cannot show this)
  or ``limit_locked_open`` (the open gap ``|open / previous close - 1|`` is at least
  ``open_limit``: it opened at its daily price limit, so no order fills at the open).
- **Exit, never dropped.** The planned exit is the close of the stock's ``holding_period``-th own
  trading day, the entry day counting as day 1 (HP = 1: open-to-close of the entry day). Once
  entered, a position is held until it can be closed: when the planned exit day is untradable
  (``tradable`` false or ``volume`` 0; at the close the day's state is known, so the flag is fair
  here), the exit is carried to the stock's next tradable close and the extra dataset-calendar
  days are recorded (``carry_days``; ``exit_rule`` ``carried``). A stock with no tradable close
  after its planned exit (its prices stop) is closed at its last close (``exit_rule``
  ``last_price``). ``holding_days`` counts the dataset-calendar days from entry to exit.
- **Label and trade horizons.** The CAR label of an event with window ``[a, b]`` sums the daily
  abnormal returns from ``close(a-1)`` to ``close(b)`` on the stock's own calendar. By default
  (:class:`BacktestConfig`) a trade enters at ``open(max(a, 0))`` and holds ``b - max(a, 0) + 1``
  days, so its planned exit is ``close(b)``, the label window's last close: the trade earns
  ``close(b) / open(max(a, 0)) - 1`` where the label's raw return is ``close(b) / close(a-1) - 1``.
  For ``a >= 0`` the two differ only by the overnight gap ``close(a-1) -> open(a)``, which no order
  placed on the news can earn (for ``a < 0`` the label also holds pre-news days no trade can).
  A carried exit is the only way the exits part, and it is recorded.
- **Sizing.** On each entry day the cohort of new trades receives gross capital
  ``daily_capital * NAV`` (NAV at the previous close). With ``weighting="type"`` it is split across
  the event types present that day in proportion to ``w_k`` (historical mean |CAR| of type k, from
  the historical split only), then equally across the trades of a type; with ``"equal"``, equally
  across the day's trades. Long trades buy, short trades sell short; each decision is one
  position, so opposite decisions on one stock offset in P&L but both pay cost.
- **Position cap.** With ``position_cap = c`` the gross entry notional of all positions held on a
  day may not exceed ``c * NAV`` (previous close): the new cohort is scaled down pro rata to fit
  (``cap_scale`` in the trades table); held positions (carried ones included) are never cut.
  None = no cap (paper's main run).
- **Costs.** half of ``round_trip_cost_bps`` per side, on traded value: ``|notional|`` at entry and
  ``|shares * exit close|`` at exit.
- **Mark-to-market.** A position of ``q = notional / open_entry`` shares (negative when short) is
  valued each NAV day at the stock's latest close on or before that day (the entry open before its
  first close): it earns ``q * (close_entry - open_entry)`` on its entry day and ``q * (P_d -
  P_{d-1})`` on each later day up to its exit (a day without a row for the stock earns 0).
  ``NAV_d = NAV_{d-1} + sum(P&L_d) - cost_d``; ``daily_return = NAV_d / NAV_{d-1} - 1``.
- **Every decision appears once in ``trades``,** with ``status`` ``executed`` or
  ``not_entered:<reason>``, the first applicable reason in this order: ``hold``;
  ``event_excluded`` (the labeller gave no event_day); ``past_data`` (the stock has no row for the
  entry day, or the dataset's prices end before the planned exit); ``outside_window`` (entry
  outside the backtest window); ``not_public_at_entry``; ``suspended_at_open``;
  ``limit_locked_open``; ``no_type_weight`` (type weighting and the event's type has no positive
  weight); ``position_cap`` (the cap left no room at all for the day's cohort).
- **Window.** Entries are taken on trading days in ``[start, end]`` (defaults: the first and last
  ``event_day`` of the labelled table). The NAV runs from the close of the trading day before the
  first window day (``nav = initial_nav``) to ``HP - 1`` trading days after the last, or to the
  latest exit any labelled event entered in the window would need when a carried exit needs
  more. That end depends on the labelled table, the prices and the config, never on the actions,
  so every policy backtested on the same labelled table and config shares the same NAV dates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from janus_core.backtest.config import (
    EXECUTED,
    NOT_ENTERED,
    SKIP_REASONS,
    BacktestConfig,
)
from janus_core.backtest.memo import LastBuilt, duplicated_event_id
from janus_core.backtest.metrics import (
    nav_metrics,
)
from janus_core.backtest.trades import _plan_trades
from janus_core.data.dataset import Dataset
from janus_core.study.labels import mean_abs_car_by_type


@dataclass(frozen=True)
class BacktestResult:
    """A backtest's outputs.

    - ``nav``: one row per day, ``date, nav, daily_return, gross_exposure, n_positions, cost``; the
      first row is the base (previous close, ``daily_return`` null). ``gross_exposure`` is the
      gross entry notional of positions held that day over the previous close's NAV.
    - ``trades``: one row per decision (sorted by ``event_id``): ``event_id, strategy_id, action,
      symbol, event_type, event_day`` (and ``car`` when labelled), ``status`` (``executed`` or
      ``not_entered:<reason>``), ``executed``, ``skip_reason`` (the reason alone, null when
      executed), ``entry_date``, ``planned_exit_date``,
      ``exit_date``, ``exit_rule`` (:data:`EXIT_RULES`), ``holding_days`` (dataset-calendar days
      held, entry and exit day included), ``carry_days`` (days past the planned exit),
      ``entry_price`` (open), ``exit_price`` (close), ``cap_scale`` (share of the wanted size the
      cap allowed), ``weight`` (signed fraction of NAV at entry, after the cap), ``notional``,
      ``gross_return`` (``sign * (exit_price / entry_price - 1)``), ``cost``, ``pnl`` (currency,
      net of cost) and ``net_return`` (``gross_return`` minus cost per unit notional). Dates and
      prices of the plan are filled for every decision whose entry day exists in the data;
      returns, costs and sizes only for executed trades.
    - ``metrics``: the paper's NAV metrics plus counts (``n_decisions``, ``n_executed``,
      ``skipped_<reason>`` for every reason of :data:`SKIP_REASONS` (decisions not entered),
      ``n_carried`` (executed trades whose exit was carried past the planned day),
      ``carry_days`` (their extra days in total), ``n_last_price``, ``total_cost``,
      ``max_gross_exposure``, ``n_days``).
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
    """The sorted distinct dates with a price: the calendar of the NAV."""
    return ds.prices.get_column("date").unique().sort()


#: The NAV calendar of the last prices frame backtested (a sweep backtests one dataset many times).
_CALENDARS = LastBuilt()


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
    if (e := duplicated_event_id(labelled)) is not None:
        raise ValueError(f"labelled: column 'event_id' {e!r} appears more than once; one row per event")
    unknown = indexed.join(labelled.select("event_id"), on="event_id", how="anti", maintain_order="left")
    if unknown.height:
        r = unknown.row(0, named=True)
        raise ValueError(f"decisions: row {r['row']}, column 'event_id' {r['event_id']!r} is not in the labelled table")


def _window(calendar: np.ndarray, labelled: pl.DataFrame, cfg: BacktestConfig) -> tuple[int, int]:
    """Calendar indices ``(first entry day, last entry day)``."""
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
    return first, last_entry


def _cohort_fractions(frame: pl.DataFrame, cfg: BacktestConfig, weights: Mapping[str, float]) -> np.ndarray:
    """Unsigned fraction of the day's capital for each executed trade (0 for skipped ones):
    ``daily_capital * (w_k / sum of w over the types present that day) / n_k`` (type weighting) or
    ``daily_capital / n_day`` (equal)."""
    ex = frame.with_row_index("i").filter(pl.col("executed"))
    if ex.height == 0:
        return np.zeros(frame.height)
    if cfg.weighting == "equal":
        ex = ex.with_columns((pl.lit(cfg.daily_capital) / pl.len().over("entry_day")).alias("f"))
    else:
        w = pl.DataFrame(
            {"event_type": sorted(weights), "w": [float(weights[k]) for k in sorted(weights)]},
            schema={"event_type": pl.String, "w": pl.Float64},
        )
        ex = ex.join(w, on="event_type", how="left", maintain_order="left").with_columns(
            pl.len().over(["entry_day", "event_type"]).alias("n_k")
        )
        day_w = (
            ex.select("entry_day", "event_type", "w")
            .unique(maintain_order=True)
            .group_by("entry_day", maintain_order=True)
            .agg(pl.col("w").sort().sum().alias("w_day"))
        )
        ex = ex.join(day_w, on="entry_day", how="left", maintain_order="left").with_columns(
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
    weights = _type_weights(cfg, type_weights, labelled)
    calendar = _CALENDARS.get((ds.prices,), (), lambda: trading_calendar(ds).to_numpy().astype("datetime64[D]"))
    window = _window(calendar, labelled, cfg)
    frame, days, last = _plan_trades(ds, decisions, labelled, cfg, calendar, window, weights)
    book = _simulate(frame, days, cfg, calendar, window[0], last, _cohort_fractions(frame, cfg, weights))
    capped_out = book.executed & (book.cap_scale == 0.0)
    if capped_out.any():
        book.executed = book.executed & ~capped_out
        frame = frame.with_columns(
            pl.Series("executed", book.executed),
            pl.when(pl.Series(capped_out)).then(pl.lit("position_cap")).otherwise("skip_reason").alias("skip_reason"),
        )
    nav_frame = _nav_frame(book, calendar[window[0] - 1 : last + 1])
    trades = _trades_frame(frame, book, window[0])
    metrics = _backtest_metrics(book.nav, trades, nav_frame)
    return BacktestResult(cfg, dict(sorted(weights.items())), nav_frame, trades, metrics, _per_type(trades, weights))


def _type_weights(
    cfg: BacktestConfig, type_weights: Mapping[str, float] | None, labelled: pl.DataFrame
) -> dict[str, float]:
    """w_k per event type with ``weighting="type"`` (given, or :func:`historical_type_weights`),
    each finite; empty with equal weighting."""
    if cfg.weighting != "type":
        return {}
    weights = dict(type_weights) if type_weights is not None else historical_type_weights(labelled)
    bad = sorted(k for k, v in weights.items() if not (isinstance(v, (int, float)) and math.isfinite(v)))
    if bad:
        raise ValueError(f"type_weights: non-finite weight for {bad}")
    return weights


@dataclass
class _Book:
    """The simulation's arrays: per NAV day (``nav`` has the start value first) and per trade."""

    nav: np.ndarray
    gross: np.ndarray
    n_pos: np.ndarray
    day_cost: np.ndarray
    notional: np.ndarray  # signed currency notional at entry
    cap_scale: np.ndarray
    trade_cost: np.ndarray
    trade_pnl: np.ndarray
    executed: np.ndarray
    sign: np.ndarray
    entry_day: np.ndarray
    price_relative: np.ndarray
    cost_rate: float


def _new_book(frame: pl.DataFrame, cfg: BacktestConfig, n_days: int) -> _Book:
    """A :class:`_Book` before the first day: NAV at ``initial_nav``, no position, no cost."""
    executed = frame.get_column("executed").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):  # skipped rows may lack prices; masked below
        price_relative = np.where(
            executed, frame.get_column("exit_price").to_numpy() / frame.get_column("entry_price").to_numpy(), np.nan
        )
    nav = np.empty(n_days + 1)
    nav[0] = cfg.initial_nav
    return _Book(
        nav=nav,
        gross=np.zeros(n_days),
        n_pos=np.zeros(n_days, dtype=np.int64),
        day_cost=np.zeros(n_days),
        notional=np.zeros(frame.height),
        cap_scale=np.where(executed, 1.0, np.nan),
        trade_cost=np.zeros(frame.height),
        trade_pnl=np.zeros(frame.height),
        executed=executed,
        sign=np.where(frame.get_column("action").to_numpy() == "short", -1.0, 1.0),
        entry_day=frame.get_column("entry_day").fill_null(-1).to_numpy(),
        price_relative=price_relative,
        cost_rate=cfg.round_trip_cost_bps / 2e4,  # per side: half the round trip
    )


def _simulate(
    frame: pl.DataFrame,
    days: pl.DataFrame,
    cfg: BacktestConfig,
    calendar: np.ndarray,
    first: int,
    last: int,
    fractions: np.ndarray,
) -> _Book:
    """The NAV day by day from ``first`` to ``last`` (module docstring: sizing, the position cap,
    costs per side at entry and exit, the day's P&L from each open trade's daily increment)."""
    n_days = last - first + 1
    book = _new_book(frame, cfg, n_days)
    nav, notional, entry_day = book.nav, book.notional, book.entry_day
    exit_day = frame.get_column("exit_day").fill_null(-1).to_numpy()
    day_of = days.get_column("day").to_numpy()
    trade_of = days.get_column("i").to_numpy()
    inc_of = days.get_column("inc").to_numpy()
    bounds = np.searchsorted(day_of, np.arange(first, last + 2))
    for j in range(n_days):
        d = first + j
        nav_prev = nav[j]
        open_idx = trade_of[bounds[j] : bounds[j + 1]]
        inc = inc_of[bounds[j] : bounds[j + 1]]
        is_new = entry_day[open_idx] == d
        new_idx = open_idx[is_new]
        entry_cost = 0.0
        if new_idx.size:
            want = fractions[new_idx] * nav_prev
            scale = 1.0
            if cfg.position_cap is not None:
                held_gross = float(np.abs(notional[open_idx[~is_new]]).sum())
                room = max(0.0, cfg.position_cap * nav_prev - held_gross)
                scale = min(1.0, room / float(want.sum())) if want.sum() > 0 else 1.0
            notional[new_idx] = book.sign[new_idx] * want * scale
            book.cap_scale[new_idx] = scale
            costs = np.abs(notional[new_idx]) * book.cost_rate
            book.trade_cost[new_idx] += costs
            entry_cost = float(costs.sum())
        pnl = notional[open_idx] * inc
        book.trade_pnl[open_idx] += pnl
        exiting = open_idx[exit_day[open_idx] == d]
        exit_costs = np.abs(notional[exiting]) * book.price_relative[exiting] * book.cost_rate
        book.trade_cost[exiting] += exit_costs
        book.day_cost[j] = entry_cost + float(exit_costs.sum())
        nav[j + 1] = nav_prev + float(pnl.sum()) - book.day_cost[j]
        if nav[j + 1] <= 0:
            raise ValueError(f"backtest: NAV fell to {nav[j + 1]} on {calendar[d]}; the portfolio is bankrupt")
        book.gross[j] = float(np.abs(notional[open_idx]).sum()) / nav_prev
        book.n_pos[j] = int(np.count_nonzero(notional[open_idx]))
    return book


def _nav_frame(book: _Book, dates: np.ndarray) -> pl.DataFrame:
    """One row per NAV date (the day before the window first): NAV, daily return, gross exposure,
    open positions and the day's cost."""
    nav = book.nav
    return pl.DataFrame(
        {
            "date": pl.Series("date", dates, dtype=pl.Date),
            "nav": nav,
            "daily_return": [None, *(nav[1:] / nav[:-1] - 1.0).tolist()],
            "gross_exposure": [0.0, *book.gross.tolist()],
            "n_positions": [0, *book.n_pos.tolist()],
            "cost": [0.0, *book.day_cost.tolist()],
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


#: Columns of the trades table, in order (``car`` after ``event_day`` when the labels have it).
TRADE_COLUMNS_BEFORE_CAR = ("event_id", "strategy_id", "action", "symbol", "event_type", "event_day")
TRADE_COLUMNS_AFTER_CAR = (
    "status",
    "executed",
    "skip_reason",
    "entry_date",
    "planned_exit_date",
    "exit_date",
    "exit_rule",
    "holding_days",
    "carry_days",
    "entry_price",
    "exit_price",
    "cap_scale",
    "weight",
    "notional",
    "gross_return",
    "cost",
    "pnl",
    "net_return",
)


def _trades_frame(frame: pl.DataFrame, book: _Book, first: int) -> pl.DataFrame:
    """One row per decision: its status, dates and prices, and for an executed trade its weight
    (notional over the NAV before entry), gross and net return, cost and P&L."""
    executed, sign, rel, cost_rate = book.executed, book.sign, book.price_relative, book.cost_rate
    entry_nav = np.where(executed, book.nav[np.clip(book.entry_day - first, 0, book.gross.size)], np.nan)
    net_pnl = book.trade_pnl - book.trade_cost
    done = pl.col("executed")
    with np.errstate(invalid="ignore", divide="ignore"):
        trades = frame.with_columns(
            pl.Series("cap_scale", book.cap_scale),
            pl.Series("weight", np.where(executed, book.notional / entry_nav, np.nan)),
            pl.Series("notional", np.where(executed, book.notional, np.nan)),
            pl.Series("gross_return", np.where(executed, sign * (rel - 1.0), np.nan)),
            pl.Series("cost", np.where(executed, book.trade_cost, np.nan)),
            pl.Series("pnl", np.where(executed, net_pnl, np.nan)),
            pl.Series("net_return", np.where(executed, sign * (rel - 1.0) - cost_rate * (1.0 + rel), np.nan)),
        ).with_columns(pl.col(pl.Float64).fill_nan(None))
    return trades.with_columns(
        pl.when(done).then(pl.lit(EXECUTED)).otherwise(pl.lit(NOT_ENTERED) + pl.col("skip_reason")).alias("status"),
        pl.when(done).then(pl.col("exit_day") - pl.col("entry_day") + 1).alias("holding_days"),
        pl.when(done).then(pl.col("exit_day") - pl.col("planned_day")).alias("carry_days"),
        pl.when(done).then(pl.col("exit_rule")).alias("exit_rule"),
    ).select(*TRADE_COLUMNS_BEFORE_CAR, *(c for c in ("car",) if c in frame.columns), *TRADE_COLUMNS_AFTER_CAR)


def _backtest_metrics(nav: np.ndarray, trades: pl.DataFrame, nav_frame: pl.DataFrame) -> dict[str, float | int]:
    out: dict[str, float | int] = dict(nav_metrics(nav))
    counts = trades.get_column("skip_reason").value_counts()
    by_reason = dict(zip(counts.get_column("skip_reason").to_list(), counts.get_column("count").to_list(), strict=True))
    done = trades.filter(pl.col("executed"))
    out["n_days"] = int(nav.size - 1)
    out["n_decisions"] = trades.height
    out["n_executed"] = done.height
    for r in SKIP_REASONS:
        out[f"skipped_{r}"] = int(by_reason.get(r, 0))
    out["n_carried"] = int((done.get_column("carry_days") > 0).sum())
    out["carry_days"] = int(done.get_column("carry_days").sum())
    out["n_last_price"] = int((done.get_column("exit_rule") == "last_price").sum())
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
