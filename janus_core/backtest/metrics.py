"""Metrics: the paper's portfolio and decision metrics, and bootstrap confidence intervals.

Portfolio metrics are computed exactly as the paper does (janus-q-method.md, "Metrics"; these
reproduce the published Table 2 from the published NAV curves to 4 decimals). For a NAV series
``NAV_0 .. NAV_n`` (``n`` = number of daily returns):

- ``r_t = NAV_t / NAV_{t-1} - 1``
- Sharpe ``SR = mean(r) / std(r, ddof=0) * sqrt(252)`` (risk-free rate 0)
- ``MDD = max_t (max_{s<=t} NAV_s - NAV_t) / max_{s<=t} NAV_s`` (a positive fraction)
- ``TR = NAV_n / NAV_0 - 1``; ``ARR = (1 + TR) ** (252 / n) - 1``; Calmar ``CR = ARR / MDD``

Decision metrics compare a decisions table to the labelled CAR table (one row per event):

- DA (direction accuracy): the share of scored events whose predicted direction equals the true
  direction. ``long`` predicts +1, ``short`` -1, ``hold`` 0 (neutral). The true direction is the
  labeller's ``direction`` (positive|negative|neutral: sign(CAR) with its neutral band, the
  paper's label d) when the labelled table has it, else ``sign(car)``. A ``hold`` is therefore a
  hit only on a neutral event, so a policy cannot raise its DA by abstaining; ``da_traded``
  reports the same share over long/short decisions only. Events the labeller excluded (null
  ``car``) are not scored and are counted in ``n_unscored``.
- ETA (event-type accuracy): share of scored events with ``predicted_event_type == event_type``; a
  missing prediction is a miss.
- MAE / RMSE of ``predicted_car`` against ``car`` over scored events with a predicted CAR.

The paper reports no uncertainty. Bootstrap intervals are added here; event hits are resampled
i.i.d. across events (percentile method). Sharpe ratios of daily returns, which overlapping holding
periods make serially dependent, get by default a **studentized circular block bootstrap**
(Ledoit & Wolf 2008, "Robust performance hypothesis testing with the Sharpe ratio", section 3.2),
the interval of :func:`studentized_sharpe_ci`:

- The statistic is ``theta = c' SR`` over k return series on the same days (``c = (1)`` for one
  Sharpe ratio, ``c = (1, -1)`` for a paired difference), ``SR_j = mu_j / sigma_j`` per day with
  ``sigma_j^2 = gamma_j - mu_j^2`` (``gamma`` the mean square, population variance as above).
- Its standard error is the delta method over the moments ``y_t = (r_t, r_t^2)``:
  ``se^2 = grad' Psi grad / n`` with ``d theta / d mu_j = c_j gamma_j / sigma_j^3``,
  ``d theta / d gamma_j = -c_j mu_j / (2 sigma_j^3)`` and ``Psi`` the long-run covariance of
  ``y``. On the sample ``Psi`` is the circular "natural" block estimator
  ``Psi = (1 / (n b)) sum_i S_i S_i'``, ``S_i`` the sum of ``y - mean(y)`` over the ``b`` days
  starting at day ``i`` (wrapping round the end), which is the bootstrap world's own variance
  (Goetze & Kuensch 1996), so the studentization matches.
- Resamples join ``ceil(n / b)`` blocks of ``b`` consecutive days (circular) starting at uniform
  random days, cut to ``n``. In each, ``t* = (theta* - theta) / se*`` with ``se*`` from
  ``Psi* = (1/n) sum_j S*_j S*_j'`` over the resample's own blocks (Ledoit & Wolf's ``Psi*``).
- The interval is symmetric: ``theta +/- q se``, ``q`` the ``1 - alpha`` quantile of ``|t*|``
  (resamples with ``se* = 0`` are left out). Annualised by ``sqrt(252)``.
- The block length ``b`` is data-driven (:func:`sharpe_block_length`): the largest Politis-White
  (2004; Patton, Politis and White 2009) optimal circular block length of the series (arch's
  ``optimal_block_length``, ported: :func:`politis_white_circular_block`), at least
  ``ceil(2 n ** (1/3))``, at most ``n // 2``. Simulated coverage at nominal 0.95 on MA(1) returns
  with theta 0.6 and n = 54 (the audit's test window) is reported by
  ``benchmarks/study_sharpe_coverage.py`` (the stationary-bootstrap percentile interval covers
  about 0.85 to 0.91 there); ``tests/test_metrics.py`` re-checks it on a smaller run
  (:func:`ma1_sharpe_coverage`).

The earlier percentile intervals remain available (``method``): a stationary bootstrap (Politis &
Romano 1994: blocks start at a uniform random day and have geometric lengths with mean
``block``, wrapping round the end) or a moving-block bootstrap (fixed blocks of length
``block``). Differences against a baseline are always *paired*: the same resampled days (or
events) are used for both series, so the interval reflects the difference, not two independent
noises.

Selection-bias corrections for a candidate chosen among many trials:

- :func:`expected_max_sharpe` (Bailey & Lopez de Prado 2014, eq. 6 / "False Strategy" theorem):
  ``E[max_N SR] ~ mean + sqrt(V) ((1 - g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e)))``, ``g`` the
  Euler-Mascheroni constant, ``V`` the variance of the trials' Sharpe ratios.
- :func:`probabilistic_sharpe_ratio` (Bailey & Lopez de Prado 2012):
  ``PSR(SR*) = Z((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))``, every
  Sharpe ratio per period (not annualised), ``kurtosis`` not in excess (3 for a normal).
- :func:`deflated_sharpe_ratio`: ``DSR = PSR(SR_0)`` with ``SR_0 = E[max_N SR]`` (mean 0).
- :func:`probability_of_backtest_overfitting` (Bailey, Borwein, Lopez de Prado & Zhu 2017):
  combinatorially symmetric cross-validation (CSCV) over a T x N matrix of trial returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.backtest.memo import duplicated_event_id

TRADING_DAYS_PER_YEAR = 252
EULER_MASCHERONI = 0.5772156649015329

NAV_METRIC_KEYS: tuple[str, ...] = ("sharpe", "max_drawdown", "total_return", "annualized_return", "calmar")

_ACTION_SIGN: dict[str, int] = {"long": 1, "short": -1, "hold": 0}
_DIRECTION_SIGN: dict[str, int] = {"positive": 1, "negative": -1, "neutral": 0}


class BootstrapConfig(BaseModel):
    """Constants of the bootstrap intervals.

    - ``n_boot`` 2000 resamples: endpoints of a 95% interval are stable to about 1% of the
      interval width at that size.
    - ``alpha`` 0.05: two-sided 95% intervals.
    - ``method`` "studentized": the studentized circular block bootstrap of the Sharpe ratio
      (module docstring); "stationary" / "moving": the percentile intervals of a stationary or
      moving-block bootstrap.
    - ``block`` None: block length in days (mean length for "stationary"); None is data-driven
      for "studentized" (:func:`sharpe_block_length`) and ``ceil(n ** (1/3))`` for the others.
    - ``seed`` 0: every interval is reproducible.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_boot: int = Field(2000, ge=1)
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    block: int | None = Field(None, ge=1)
    method: Literal["studentized", "stationary", "moving"] = "studentized"
    seed: int = 0


def resolve_bootstrap_config(
    cfg: BootstrapConfig | None, n_boot: int | None, seed: int | None, overrides: dict[str, object]
) -> BootstrapConfig:
    """``cfg`` (default ``BootstrapConfig()``) with ``n_boot``, ``seed`` (when given) and keyword
    ``overrides`` (``block``, ``method``, ``alpha``) applied and validated, so
    ``bootstrap_sharpe_ci(r, 500, 1, block=5)`` and ``bootstrap_sharpe_ci(r, cfg=...)`` both work."""
    base = cfg or BootstrapConfig()
    given = {k: v for k, v in (("n_boot", n_boot), ("seed", seed)) if v is not None} | overrides
    return BootstrapConfig(**{**base.model_dump(), **given}) if given else base


def _as_array(values: Sequence[float] | pl.Series | np.ndarray, what: str) -> np.ndarray:
    arr = values.to_numpy() if isinstance(values, pl.Series) else np.asarray(values)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected a one-dimensional sequence, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{what}: row {int(bad[0])} is {float(arr[bad[0]])!r}; every value must be finite")
    return arr


def daily_returns(nav: Sequence[float] | pl.Series | np.ndarray) -> np.ndarray:
    """``r_t = NAV_t / NAV_{t-1} - 1`` for t = 1..n. NAV must be positive and finite."""
    arr = _as_array(nav, "nav")
    if arr.size < 2:
        raise ValueError(f"nav: need at least 2 values to form a return, got {arr.size}")
    nonpos = np.flatnonzero(arr <= 0)
    if nonpos.size:
        raise ValueError(f"nav: row {int(nonpos[0])} is {float(arr[nonpos[0]])!r}; NAV must be positive")
    return arr[1:] / arr[:-1] - 1.0


def sharpe_ratio(returns: np.ndarray) -> float:
    """``mean(r) / std(r, ddof=0) * sqrt(252)``; 0.0 when the returns have no dispersion."""
    sd = float(np.std(returns))
    if sd == 0.0:
        return 0.0
    return float(np.mean(returns)) / sd * math.sqrt(TRADING_DAYS_PER_YEAR)


def max_drawdown(nav: np.ndarray) -> float:
    """Largest peak-to-trough fall ``(peak - NAV_t) / peak`` as a positive fraction."""
    peak = np.maximum.accumulate(nav)
    return float(np.max((peak - nav) / peak))


def nav_metrics(nav: Sequence[float] | pl.Series | np.ndarray) -> dict[str, float]:
    """The paper's portfolio metrics of a NAV series (module docstring for the formulas).

    Returns ``sharpe, max_drawdown, total_return, annualized_return, calmar``. Calmar is 0.0 when
    there is no drawdown (no risk measured: the ratio is undefined, and NaN would poison tables).
    """
    arr = _as_array(nav, "nav")
    r = daily_returns(arr)
    n = r.size
    tr = float(arr[-1] / arr[0] - 1.0)
    arr_ = (1.0 + tr) ** (TRADING_DAYS_PER_YEAR / n) - 1.0
    mdd = max_drawdown(arr)
    return {
        "sharpe": sharpe_ratio(r),
        "max_drawdown": mdd,
        "total_return": tr,
        "annualized_return": float(arr_),
        "calmar": float(arr_ / mdd) if mdd > 0 else 0.0,
    }


def _check_columns(frame: pl.DataFrame, required: Sequence[str], what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing required column(s) {missing}; has {frame.columns}")


def direction_hits(decisions: pl.DataFrame, labelled: pl.DataFrame) -> pl.DataFrame:
    """One row per decision: ``event_id, strategy_id, action, predicted_sign, car, true_sign,
    scored, hit`` where ``hit = predicted_sign == true_sign`` (null when not scored) and
    ``true_sign`` is +1/-1/0 from the labelled ``direction`` when present, else ``sign(car)``.

    Every decision must name an event of ``labelled``; an unknown ``event_id`` or an action other
    than long|short|hold is an error naming the row.
    """
    _check_columns(decisions, ("event_id", "strategy_id", "action"), "decisions")
    _check_columns(labelled, ("event_id", "car"), "labelled")
    bad_action = decisions.with_row_index("row").filter(~pl.col("action").is_in(list(_ACTION_SIGN)))
    if bad_action.height:
        row = bad_action.row(0, named=True)
        raise ValueError(
            f"decisions: row {row['row']}, column 'action' is {row['action']!r}; must be one of long|short|hold"
        )
    if (dup := duplicated_event_id(labelled)) is not None:
        raise ValueError(f"labelled: column 'event_id' has duplicate {dup!r}; one row per event is required")
    if "direction" in labelled.columns:
        bad_dir = labelled.with_row_index("row").filter(
            pl.col("car").is_not_null() & ~pl.col("direction").is_in(list(_DIRECTION_SIGN))
        )
        if bad_dir.height:
            row = bad_dir.row(0, named=True)
            raise ValueError(
                f"labelled: row {row['row']}, column 'direction' is {row['direction']!r}; "
                "must be positive|negative|neutral for an event with a CAR"
            )
        truth = pl.col("direction").replace_strict(_DIRECTION_SIGN, default=None, return_dtype=pl.Int8)
    else:
        truth = pl.col("car").sign().cast(pl.Int8)
    joined = decisions.with_row_index("row").join(
        labelled.select("event_id", "car", truth.alias("true_sign"), pl.lit(True).alias("_in_labelled")),
        on="event_id",
        how="left",
        maintain_order="left",
    )
    unknown = joined.filter(pl.col("_in_labelled").is_null() & pl.col("event_id").is_not_null())
    if unknown.height:
        row = unknown.row(0, named=True)
        raise ValueError(
            f"decisions: row {row['row']}, column 'event_id' is {row['event_id']!r}, not an event of the labelled table"
        )
    return joined.select(
        "event_id",
        "strategy_id",
        "action",
        pl.col("action").replace_strict(_ACTION_SIGN, return_dtype=pl.Int8).alias("predicted_sign"),
        "car",
        "true_sign",
    ).with_columns(
        pl.col("car").is_not_null().alias("scored"),
        (pl.col("predicted_sign") == pl.col("true_sign")).alias("hit"),
    )


def decision_metrics(decisions: pl.DataFrame, labelled: pl.DataFrame) -> dict[str, float | int | None]:
    """DA, ETA, MAE and RMSE of a decisions table against the labelled events, with counts.

    Returns ``da, da_traded, eta, mae, rmse`` (None when nothing is scored) and ``n_decisions,
    n_scored, n_unscored, n_traded, n_hold, n_type_scored, n_car_scored``. Definitions in the
    module docstring.
    """
    hits = direction_hits(decisions, labelled)
    scored = hits.filter(pl.col("scored"))
    traded = scored.filter(pl.col("predicted_sign") != 0)
    n_scored = scored.height

    pred_type = decisions["predicted_event_type"] if "predicted_event_type" in decisions.columns else None
    pred_car = decisions["predicted_car"] if "predicted_car" in decisions.columns else None
    extra = decisions.select(
        "event_id",
        (pred_type if pred_type is not None else pl.lit(None, dtype=pl.String)).alias("predicted_event_type"),
        (pred_car.cast(pl.Float64) if pred_car is not None else pl.lit(None, dtype=pl.Float64)).alias("predicted_car"),
    )
    truth_cols = ["event_id", "car"] + (["event_type"] if "event_type" in labelled.columns else [])
    both = extra.join(labelled.select(truth_cols), on="event_id", how="left", maintain_order="left").filter(
        pl.col("car").is_not_null()
    )
    if "event_type" in both.columns and both.height:
        type_hit = (both["predicted_event_type"] == both["event_type"]).fill_null(False)
        eta: float | None = float(type_hit.mean())
        n_type = both.height
    else:
        eta, n_type = None, 0
    err = (
        both.filter(pl.col("predicted_car").is_not_null())
        .select((pl.col("predicted_car") - pl.col("car")).alias("e"))["e"]
        .to_numpy()
    )
    return {
        "da": float(scored["hit"].mean()) if n_scored else None,
        "da_traded": float(traded["hit"].mean()) if traded.height else None,
        "eta": eta,
        "mae": float(np.mean(np.abs(err))) if err.size else None,
        "rmse": float(np.sqrt(np.mean(err**2))) if err.size else None,
        "n_decisions": hits.height,
        "n_scored": n_scored,
        "n_unscored": hits.height - n_scored,
        "n_traded": traded.height,
        "n_hold": scored.height - traded.height,
        "n_type_scored": n_type,
        "n_car_scored": int(err.size),
    }
