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

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.backtest.metrics import (
    NAV_METRIC_KEYS,
    BootstrapConfig,
    bootstrap_sharpe_ci,
    decision_metrics,
    nav_metrics,
    return_moments,
)
from janus_core.data.dataset import Dataset
from janus_core.study.car import CarConfig
from janus_core.study.labels import mean_abs_car_by_type

SKIP_REASONS: tuple[str, ...] = (
    "hold",
    "event_excluded",
    "past_data",
    "outside_window",
    "not_public_at_entry",
    "suspended_at_open",
    "limit_locked_open",
    "no_type_weight",
    "position_cap",
)
EXIT_RULES: tuple[str, ...] = ("planned", "carried", "last_price")
EXECUTED = "executed"
NOT_ENTERED = "not_entered:"

#: The label window of the default event study (``CarConfig().event_window``).
DEFAULT_LABEL_WINDOW: tuple[int, int] = CarConfig().event_window


def label_holding_period(label_window: tuple[int, int], entry_offset_days: int) -> int:
    """Holding period whose planned exit is the close of the label window's last day ``b``:
    ``b - entry_offset_days + 1`` (the entry day is day 1). ``[0, 2]`` entered on day 0 gives 3."""
    a, b = label_window
    if b < entry_offset_days:
        raise ValueError(
            f"label_window {list(label_window)} ends before the entry day {entry_offset_days}: "
            "no trading day of the window is left to hold; set holding_period explicitly"
        )
    return b - entry_offset_days + 1


class BacktestConfig(BaseModel):
    """Every constant of the backtest.

    Label and trade horizons are consistent by construction: ``label_window`` is the event
    study's ``[a, b]`` (``CarConfig.event_window``), and when not given, ``entry_offset_days``
    defaults to ``max(a, 0)`` and ``holding_period`` to ``b - entry_offset_days + 1``
    (:func:`label_holding_period`), so the trade enters at ``open(max(a, 0))`` and its planned exit
    is ``close(b)``, the last close of the label's window ``close(a-1) .. close(b)``; the label
    then differs from the trade only by the overnight gap ``close(a-1) -> open(a)`` (module
    docstring). Build it with :meth:`for_labels` from the event study's config so the two cannot
    drift. Setting ``holding_period`` explicitly (the paper's HP = 1..10 study) breaks the match
    on purpose.

    - ``label_window`` (0, 2): the default event window; [0, 2] gives HP 3 entered on day 0.
      The paper's main run holds 2 days, i.e. a [0, 1] label window.
    - ``entry_offset_days`` ``max(a, 0)``: enter at the open of that own trading day after
      ``event_day`` (0: the first open at which the news is public).
    - ``holding_period`` ``b - entry_offset_days + 1``: planned holding days (entry day = day 1).
    - ``round_trip_cost_bps`` 15.0: the workbench's one cost fact (``LabelConfig.round_trip_cost_bps``:
      stamp duty, commission both ways, fees and a few bps of spread), charged half at entry and half
      at exit; the export passes the same value to labels, reward and backtest. The paper does not
      publish its cost.
    - ``position_cap`` None: no cap in the paper's main run; 1.0, 2.0, 3.0 (NAV multiples) studied.
    - ``weighting`` "type": the paper's w_k split; "equal" for the comparison.
    - ``daily_capital`` 1.0: each day's new cohort gets gross notional 1 x NAV, so with HP days
      of overlapping cohorts gross exposure can reach HP x NAV (hence the paper's cap study).
    - ``initial_nav`` 1.0: NAV at the close before the first window day.
    - ``open_limit`` 0.095: an open gap ``|open / previous close - 1|`` at least this is an open
      locked at the daily price limit (not entered): the A-share main-board limit of 10% less half
      a point for tick rounding of the limit price, the synthetic sample's ``limit_lock_threshold``.
      None for a market without daily limits (no gap blocks an entry).
    - ``start`` / ``end`` None: first / last entry day of the window (default: the labelled
      table's first / last ``event_day``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    label_window: tuple[int, int] = DEFAULT_LABEL_WINDOW
    entry_offset_days: int = Field(ge=0)
    holding_period: int = Field(ge=1)
    round_trip_cost_bps: float = Field(15.0, ge=0.0)
    position_cap: float | None = Field(None, gt=0.0)
    weighting: Literal["type", "equal"] = "type"
    daily_capital: float = Field(1.0, gt=0.0)
    initial_nav: float = Field(1.0, gt=0.0)
    open_limit: float | None = Field(0.095, gt=0.0)
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _follow_label_window(cls, data: Any) -> Any:
        """Fill ``entry_offset_days`` and ``holding_period`` from ``label_window`` when not given."""
        if not isinstance(data, dict):
            return data
        window = data.get("label_window", DEFAULT_LABEL_WINDOW)
        try:
            a, b = (int(x) for x in window)
        except (TypeError, ValueError):
            return data  # the field validation names the problem
        if a > b:
            raise ValueError(f"label_window {list(window)}: start must not exceed end")
        filled = dict(data)
        if filled.get("entry_offset_days") is None:
            filled["entry_offset_days"] = max(a, 0)
        if filled.get("holding_period") is None and isinstance(filled["entry_offset_days"], int):
            filled["holding_period"] = label_holding_period((a, b), filled["entry_offset_days"])
        return filled

    @classmethod
    def for_labels(cls, car_cfg: CarConfig, **overrides: Any) -> "BacktestConfig":
        """The config whose ``label_window`` is ``car_cfg.event_window`` (so the default entry and
        holding period follow it), with any other field from ``overrides``."""
        return cls(**{"label_window": car_cfg.event_window, **overrides})

    @property
    def follows_label_window(self) -> bool:
        """Whether the planned exit is the close of the label window's last day."""
        return self.entry_offset_days + self.holding_period - 1 == self.label_window[1]


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


def _stock_days(ds: Dataset, symbols: pl.Series, calendar: pl.Series) -> _StockDays:
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
    return _StockDays(codes, key, day, prices.get_column("open").to_numpy()[rows].astype(np.float64), close,
                      prev_close, suspended, last, next_exit)


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

    return pl.DataFrame({
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
    }, schema_overrides={"exit_rule": pl.String}).with_columns(pl.col("prev_close").fill_nan(None))


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
    stock = _stock_days(ds, labelled.get_column("symbol"), cal)
    plan = _plan(labelled, stock, cfg, cal)

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
            on="event_id", how="left",
        )
        .join(plan, on="event_id", how="left")
        .sort("event_id")
    )

    # Point-in-time guard: the entry open (news cut-off on the entry day, exchange time) must be
    # after publication.
    hh, mm = (int(x) for x in ds.meta.news_cutoff.split(":"))
    open_utc = (
        pl.col("entry_date").cast(pl.Datetime("us")).dt.offset_by(f"{hh}h{mm}m")
        .dt.replace_time_zone(ds.meta.exchange_timezone).dt.convert_time_zone("UTC")
    )
    published = pl.col("published_at")
    if frame.schema["published_at"] != pl.Datetime("us", "UTC"):
        published = published.cast(pl.Datetime("us", "UTC"))
    gap = (pl.col("entry_price") / pl.col("prev_close") - 1.0).abs()
    locked = (gap >= cfg.open_limit).fill_null(False) if cfg.open_limit is not None else pl.lit(False)
    has_weight = (
        pl.lit(True) if cfg.weighting == "equal"
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
    frame = frame.with_columns(reason.otherwise(None).alias("skip_reason")).with_columns(
        pl.col("skip_reason").is_null().alias("executed")
    ).drop("past_data", "prev_close", "suspended")

    # Holding-day increments: P_d is the close of the stock's latest row on or before day d.
    ex = frame.with_row_index("i").filter(pl.col("executed"))
    days = ex.select(
        pl.col("i").cast(pl.Int64),
        pl.col("symbol").replace_strict(stock.codes, return_dtype=pl.Int64).alias("code"),
        "entry_price",
        pl.int_ranges("entry_day", pl.col("exit_day") + 1).alias("day"),
    ).explode("day")
    row = np.searchsorted(stock.key, days.get_column("code").to_numpy() * n_cal + days.get_column("day").to_numpy(),
                          side="right") - 1
    days = days.with_columns(pl.Series("close", stock.close[row])).with_columns(
        inc=(pl.col("close") - pl.col("close").shift(1).over("i").fill_null(pl.col("entry_price")))
        / pl.col("entry_price")
    ).select("i", "day", "inc").sort("day", "i")
    return frame, days, last


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
    if cfg.weighting == "type":
        weights = dict(type_weights) if type_weights is not None else historical_type_weights(labelled)
        bad = sorted(k for k, v in weights.items() if not (isinstance(v, (int, float)) and math.isfinite(v)))
        if bad:
            raise ValueError(f"type_weights: non-finite weight for {bad}")
    else:
        weights = {}
    calendar = trading_calendar(ds).to_numpy().astype("datetime64[D]")
    window = _window(calendar, labelled, cfg)
    first = window[0]
    frame, days, last = _plan_trades(ds, decisions, labelled, cfg, calendar, window, weights)
    fractions = _cohort_fractions(frame, cfg, weights)
    sign = np.where(frame.get_column("action").to_numpy() == "short", -1.0, 1.0)
    executed = frame.get_column("executed").to_numpy()
    entry_day = frame.get_column("entry_day").fill_null(-1).to_numpy()
    exit_day = frame.get_column("exit_day").fill_null(-1).to_numpy()
    cost_rate = cfg.round_trip_cost_bps / 2e4  # per side: half the round trip
    with np.errstate(invalid="ignore", divide="ignore"):  # skipped rows may lack prices; masked below
        price_relative = np.where(
            executed, frame.get_column("exit_price").to_numpy() / frame.get_column("entry_price").to_numpy(), np.nan
        )

    day_of = days.get_column("day").to_numpy()
    trade_of = days.get_column("i").to_numpy()
    inc_of = days.get_column("inc").to_numpy()
    n_days = last - first + 1
    bounds = np.searchsorted(day_of, np.arange(first, last + 2))
    nav = np.empty(n_days + 1)
    nav[0] = cfg.initial_nav
    gross = np.zeros(n_days)
    n_pos = np.zeros(n_days, dtype=np.int64)
    day_cost = np.zeros(n_days)
    notional = np.zeros(frame.height)  # signed currency notional at entry
    cap_scale = np.where(executed, 1.0, np.nan)
    trade_cost = np.zeros(frame.height)
    trade_pnl = np.zeros(frame.height)
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
            notional[new_idx] = sign[new_idx] * want * scale
            cap_scale[new_idx] = scale
            costs = np.abs(notional[new_idx]) * cost_rate
            trade_cost[new_idx] += costs
            entry_cost = float(costs.sum())
        pnl = notional[open_idx] * inc
        trade_pnl[open_idx] += pnl
        exiting = open_idx[exit_day[open_idx] == d]
        exit_costs = np.abs(notional[exiting]) * price_relative[exiting] * cost_rate
        trade_cost[exiting] += exit_costs
        day_cost[j] = entry_cost + float(exit_costs.sum())
        nav[j + 1] = nav_prev + float(pnl.sum()) - day_cost[j]
        if nav[j + 1] <= 0:
            raise ValueError(f"backtest: NAV fell to {nav[j + 1]} on {calendar[d]}; the portfolio is bankrupt")
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
    entry_nav = np.where(executed, nav[np.clip(entry_day - first, 0, n_days)], np.nan)
    net_pnl = trade_pnl - trade_cost
    done = pl.col("executed")
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
    trades = trades.with_columns(
        pl.when(done).then(pl.lit(EXECUTED)).otherwise(pl.lit(NOT_ENTERED) + pl.col("skip_reason")).alias("status"),
        pl.when(done).then(pl.col("exit_day") - pl.col("entry_day") + 1).alias("holding_days"),
        pl.when(done).then(pl.col("exit_day") - pl.col("planned_day")).alias("carry_days"),
        pl.when(done).then(pl.col("exit_rule")).alias("exit_rule"),
    ).select(
        "event_id", "strategy_id", "action", "symbol", "event_type", "event_day", *(c for c in ("car",) if c in frame.columns),
        "status", "executed", "skip_reason", "entry_date", "planned_exit_date", "exit_date", "exit_rule", "holding_days",
        "carry_days", "entry_price", "exit_price", "cap_scale", "weight", "notional", "gross_return", "cost", "pnl",
        "net_return",
    )
    metrics = _backtest_metrics(nav, trades, nav_frame)
    return BacktestResult(cfg, dict(sorted(weights.items())), nav_frame, trades, metrics, _per_type(trades, weights))


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


def config_sweep(
    ds: Dataset,
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    cfg: BacktestConfig,
    field: str,
    values: Iterable[object],
    type_weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """One backtest per value of the config ``field`` (every other setting from ``cfg``), in the
    order given: columns ``field`` and :data:`SWEEP_KEYS`."""
    if field not in BacktestConfig.model_fields:
        raise ValueError(f"config_sweep: {field!r} is not a BacktestConfig field")
    rows = []
    for value in values:
        swept = BacktestConfig(**{**cfg.model_dump(), field: value})
        res = run_backtest(ds, decisions, labelled, swept, type_weights)
        rows.append({field: value, **{k: res.metrics[k] for k in SWEEP_KEYS}})
    return pl.DataFrame(rows)


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


def split_window(
    labelled: pl.DataFrame, decisions: pl.DataFrame, splits: Iterable[str]
) -> tuple[pl.DataFrame, dt.date, dt.date]:
    """The decisions on the included events (``excluded_reason`` null, an ``event_day``) of the
    chronological ``splits`` (the paper backtests its test split), and the window's first and last
    event day; an error when no included event is in those splits."""
    wanted = sorted(set(splits))
    _require(labelled, ("event_id", "split", "event_day", "excluded_reason"), "labelled")
    events = labelled.filter(
        pl.col("split").is_in(wanted) & pl.col("event_day").is_not_null() & pl.col("excluded_reason").is_null()
    )
    if events.is_empty():
        raise ValueError(f"labelled: no included event in the splits {wanted}; nothing to backtest")
    chosen = decisions.filter(pl.col("event_id").is_in(events.get_column("event_id").implode()))
    return chosen, events.get_column("event_day").min(), events.get_column("event_day").max()


def backtest_summary(
    result: BacktestResult, decisions: pl.DataFrame, labelled: pl.DataFrame, boot: BootstrapConfig
) -> dict[str, dict[str, float | int | None]]:
    """The paper's metrics of one backtest, grouped: ``portfolio`` (:attr:`BacktestResult.metrics`:
    Sharpe, MDD, TR, ARR, Calmar and the trade counts), ``decision_metrics`` (DA, ETA, MAE, RMSE of the
    backtested decisions, ``metrics.decision_metrics``), ``sharpe_interval``
    (``metrics.bootstrap_sharpe_ci`` of the daily returns under ``boot``) and ``return_moments``
    (per-day Sharpe, skew, kurtosis, count: the inputs of the Deflated Sharpe Ratio)."""
    returns = result.nav.get_column("daily_return").drop_nulls()
    interval: dict[str, float | int | None] = dict(bootstrap_sharpe_ci(returns, cfg=boot)) if returns.len() >= 2 else {}
    return {
        "portfolio": dict(result.metrics),
        "decision_metrics": dict(decision_metrics(decisions, labelled)),
        "sharpe_interval": interval,
        "return_moments": dict(return_moments(returns)) if returns.len() >= 2 else {},
    }
