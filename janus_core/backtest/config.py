"""The backtest's configuration (BacktestConfig: entry, holding period, cost, sizing, caps) and its
vocabulary (trade statuses, skip reasons, exit rules)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.study.car import CarConfig

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
