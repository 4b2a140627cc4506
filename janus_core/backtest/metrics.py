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
  ``optimal_block_length``), at least ``ceil(2 n ** (1/3))``, at most ``n // 2``. Simulated
  coverage at nominal 0.95 on MA(1) returns with theta 0.6 and n = 54 (the audit's test window)
  is reported by ``benchmarks/study_sharpe_coverage.py`` (the stationary-bootstrap percentile
  interval covers about 0.85 to 0.91 there); ``tests/test_metrics.py`` re-checks it on a smaller
  run (:func:`ma1_sharpe_coverage`).

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
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import norm

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
    if labelled["event_id"].is_duplicated().any():
        dup = labelled.filter(pl.col("event_id").is_duplicated())["event_id"][0]
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
        labelled.select("event_id", "car", truth.alias("true_sign")), on="event_id", how="left",
        maintain_order="left",
    )
    known = set(labelled["event_id"].to_list())
    unknown = joined.filter(~pl.col("event_id").is_in(list(known)))
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
        (pred_car.cast(pl.Float64) if pred_car is not None else pl.lit(None, dtype=pl.Float64)).alias(
            "predicted_car"
        ),
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
    err = both.filter(pl.col("predicted_car").is_not_null()).select(
        (pl.col("predicted_car") - pl.col("car")).alias("e")
    )["e"].to_numpy()
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


def default_block(n: int) -> int:
    """``ceil(n ** (1/3))``, at least 1."""
    return max(1, math.ceil(n ** (1.0 / 3.0)))


def block_bootstrap_indices(n: int, cfg: BootstrapConfig, block: int | None = None) -> np.ndarray:
    """An ``(n_boot, n)`` matrix of resampled day indices; ``block`` (default ``cfg.block`` or
    ``ceil(n ** (1/3))``) capped at ``n``.

    Studentized (circular blocks): ``ceil(n/block)`` blocks of ``block`` consecutive days starting
    at uniform random days ``0..n-1``, wrapping to 0 after ``n - 1``, concatenated and cut to
    ``n``. Stationary: day 0 of each resample starts a block; every later day starts a new block
    with probability ``1/block`` (at a uniform random day), else continues the current one (index
    + 1, wrapping). Moving: ``ceil(n/block)`` blocks of ``block`` consecutive days, starts uniform
    on ``0..n-block``, concatenated and cut to ``n``.
    """
    if n < 1:
        raise ValueError("bootstrap: need at least one observation")
    block = min(block or cfg.block or default_block(n), n)
    rng = np.random.default_rng(cfg.seed)
    if cfg.method in ("moving", "studentized"):
        n_blocks = math.ceil(n / block)
        high = n if cfg.method == "studentized" else n - block + 1
        starts = rng.integers(0, high, size=(cfg.n_boot, n_blocks))
        idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(cfg.n_boot, n_blocks * block)
        return idx[:, :n] % n
    starts = rng.integers(0, n, size=(cfg.n_boot, n))
    new_block = rng.random(size=(cfg.n_boot, n)) < 1.0 / block
    new_block[:, 0] = True
    idx = np.empty((cfg.n_boot, n), dtype=np.int64)
    idx[:, 0] = starts[:, 0]
    for t in range(1, n):
        idx[:, t] = np.where(new_block[:, t], starts[:, t], (idx[:, t - 1] + 1) % n)
    return idx


#: Below this many returns arch's optimal block length is undefined (its estimator divides by zero).
MIN_OBS_OPTIMAL_BLOCK = 12


def sharpe_block_length(returns: np.ndarray) -> int:
    """Data-driven block length for the studentized Sharpe bootstrap of ``returns`` (n days, one
    column per series): ``max(ceil(2 n ** (1/3)), max_j ceil(b_j))``, capped at ``max(1, n // 2)``
    (at least two blocks), ``b_j`` the Politis-White optimal circular block length of column j
    (``arch.bootstrap.optimal_block_length``; columns without dispersion, or series shorter than
    :data:`MIN_OBS_OPTIMAL_BLOCK`, contribute nothing).

    Politis-White's length is MSE-optimal for the block *variance* of a mean; an interval's
    coverage suffers more from that variance's O(1/b) downward bias (Hall, Horowitz & Jing 1995),
    which the studentization does not remove. At the paper's sample size it is short (about 5
    days at n = 54 on MA(1) returns with theta 0.6; coverage 0.915 to 0.935 at nominal 0.95), so
    the floor is twice the rate-optimal ``n ** (1/3)``: simulated coverage 0.945 to 0.953 on
    MA(1) returns with theta 0, 0.3 and 0.6 at n = 54, 120 and 250 (400 samples each)."""
    from arch.bootstrap import optimal_block_length

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


def _sharpe_moments(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``theta = c' SR`` (per day) and its gradient over the moments ``(mu_1..mu_k, gamma_1..gamma_k)``
    of ``r`` with shape (..., n, k); NaN where a series has no dispersion."""
    mu = r.mean(axis=-2)
    gamma = (r * r).mean(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(np.maximum(gamma - mu * mu, 0.0))
        sigma = np.where(sigma > 0, sigma, np.nan)
        theta = (c * mu / sigma).sum(axis=-1)
        grad = np.concatenate([c * gamma / sigma**3, -c * mu / (2.0 * sigma**3)], axis=-1)
    return theta, grad


def _moment_series(r: np.ndarray) -> np.ndarray:
    """``y_t - mean(y)`` with ``y_t = (r_t, r_t^2)``: shape (..., n, 2k)."""
    y = np.concatenate([r, r * r], axis=-1)
    return y - y.mean(axis=-2, keepdims=True)


def natural_long_run_covariance(r: np.ndarray, block: int) -> np.ndarray:
    """``Psi = (1 / (n b)) sum_{i=0}^{n-1} S_i S_i'`` with ``S_i`` the sum of ``y - mean(y)`` over
    the ``b = block`` days ``i .. i+b-1`` (circular), ``y_t = (r_t, r_t^2)``, ``r`` of shape
    (n, k): the expected block-bootstrap covariance of ``sqrt(n) mean(y)``."""
    y = _moment_series(r)
    n = y.shape[0]
    ext = np.concatenate([y, y[:block]], axis=0)
    csum = np.concatenate([np.zeros((1, y.shape[1])), np.cumsum(ext, axis=0)], axis=0)
    s = csum[block : block + n] - csum[:n]
    return s.T @ s / (n * block)


def studentized_sharpe_ci(
    returns: np.ndarray, weights: Sequence[float], cfg: BootstrapConfig
) -> dict[str, float]:
    """Studentized circular block-bootstrap interval of ``theta = sum_j weights_j SR_j`` over the
    columns of ``returns`` (n days x k series, same days), annualised (module docstring).

    Returns ``estimate``, ``lo``, ``hi``, ``se`` (delta-method HAC standard error), ``n_boot``,
    ``alpha``, ``block``. A series without dispersion (a flat NAV) contributes its Sharpe ratio 0
    as a constant; a statistic with zero standard error (e.g. a series against itself, or no
    dispersion at all) gets the degenerate interval ``[estimate, estimate]``.
    """
    r = returns.reshape(returns.shape[0], -1)
    n = r.shape[0]
    c = np.asarray(weights, dtype=np.float64)
    ann = math.sqrt(TRADING_DAYS_PER_YEAR)
    estimate = float(sum(w * sharpe_ratio(col) for w, col in zip(c, r.T, strict=True)))
    # A series without dispersion has Sharpe ratio 0 (sharpe_ratio's convention) in every resample
    # too: a constant of the statistic, left out of its moments.
    varying = r.std(axis=0) > 0
    r, c = r[:, varying], c[varying]
    block = min(cfg.block or sharpe_block_length(r), n) if r.shape[1] else 1
    out = {"estimate": estimate, "lo": estimate, "hi": estimate, "se": 0.0, "n_boot": float(cfg.n_boot),
           "alpha": float(cfg.alpha), "block": float(block)}
    if not r.shape[1]:
        return out
    theta, grad = _sharpe_moments(r, c)
    se0 = math.sqrt(max(float(grad @ natural_long_run_covariance(r, block) @ grad), 0.0) / n)
    if se0 <= 1e-12 * max(1.0, abs(float(theta))):
        return out
    idx = block_bootstrap_indices(n, cfg, block)
    rs = r[idx]  # (n_boot, n, k)
    theta_s, grad_s = _sharpe_moments(rs, c)
    n_blocks = math.ceil(n / block)
    y = _moment_series(rs)
    pad = np.zeros((cfg.n_boot, n_blocks * block - n, y.shape[2]))
    sums = np.concatenate([y, pad], axis=1).reshape(cfg.n_boot, n_blocks, block, y.shape[2]).sum(axis=2)
    psi = np.einsum("bji,bjk->bik", sums, sums) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        se_s = np.sqrt(np.einsum("bi,bik,bk->b", grad_s, psi, grad_s) / n)
        t = np.abs((theta_s - theta) / se_s)
    t = t[np.isfinite(t)]
    if t.size == 0:
        return out
    q = float(np.quantile(t, 1.0 - cfg.alpha))
    out.update(lo=estimate - q * se0 * ann, hi=estimate + q * se0 * ann, se=se0 * ann)
    return out


def _sharpe_rows(r: np.ndarray) -> np.ndarray:
    """Sharpe of each row of a resampled-returns matrix (0 where a row has no dispersion)."""
    sd = r.std(axis=1)
    mean = r.mean(axis=1)
    out = np.zeros(r.shape[0])
    np.divide(mean, sd, out=out, where=sd > 0)
    return out * math.sqrt(TRADING_DAYS_PER_YEAR)


def _interval(estimate: float, draws: np.ndarray, cfg: BootstrapConfig, block: int | None) -> dict[str, float]:
    lo, hi = np.quantile(draws, [cfg.alpha / 2.0, 1.0 - cfg.alpha / 2.0])
    out = {
        "estimate": float(estimate),
        "lo": float(lo),
        "hi": float(hi),
        "se": float(np.std(draws, ddof=1)) if draws.size > 1 else 0.0,
        "n_boot": float(cfg.n_boot),
        "alpha": float(cfg.alpha),
    }
    if block is not None:
        out["block"] = float(block)
    return out


def bootstrap_sharpe_ci(
    returns: Sequence[float] | pl.Series | np.ndarray,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Interval of the Sharpe ratio of daily ``returns``: studentized circular block bootstrap
    (default) or percentile interval of a stationary / moving-block bootstrap (``method``).

    Returns ``estimate`` (Sharpe of the sample), ``lo``, ``hi``, ``se`` (delta-method HAC standard
    error when studentized, else the std of the draws), ``n_boot``, ``alpha`` and the ``block``
    length used.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    r = _as_array(returns, "returns")
    if cfg.method == "studentized":
        return studentized_sharpe_ci(r[:, None], (1.0,), cfg)
    idx = block_bootstrap_indices(r.size, cfg)
    return _interval(sharpe_ratio(r), _sharpe_rows(r[idx]), cfg, min(cfg.block or default_block(r.size), r.size))


def bootstrap_sharpe_diff_ci(
    returns: Sequence[float] | pl.Series | np.ndarray,
    baseline_returns: Sequence[float] | pl.Series | np.ndarray,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Interval of ``SR(returns) - SR(baseline_returns)``, paired on the same days (Ledoit & Wolf
    2008 when studentized: ``c = (1, -1)``).

    Both series must cover the same days in the same order (equal length); each resample draws
    one set of day indices and applies it to both.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    a = _as_array(returns, "returns")
    b = _as_array(baseline_returns, "baseline_returns")
    if a.size != b.size:
        raise ValueError(f"paired Sharpe difference: returns have {a.size} days, baseline {b.size}; must be equal")
    if cfg.method == "studentized":
        return studentized_sharpe_ci(np.column_stack([a, b]), (1.0, -1.0), cfg)
    idx = block_bootstrap_indices(a.size, cfg)
    draws = _sharpe_rows(a[idx]) - _sharpe_rows(b[idx])
    return _interval(sharpe_ratio(a) - sharpe_ratio(b), draws, cfg, min(cfg.block or default_block(a.size), a.size))


def ma1_sharpe_coverage(
    n: int, theta: float, n_samples: int, cfg: BootstrapConfig, daily_sharpe: float = 0.1, seed: int = 0
) -> dict[str, float]:
    """Simulated coverage of :func:`bootstrap_sharpe_ci` under ``cfg`` on MA(1) returns.

    Each sample is ``r_t = 0.01 (daily_sharpe + (e_t + theta e_(t-1)) / sqrt(1 + theta^2))`` with
    ``e`` i.i.d. standard normal, so the true annualised Sharpe ratio is ``daily_sharpe *
    sqrt(252)``; sample ``i`` uses the bootstrap seed ``cfg.seed + i``. Returns ``coverage`` (share
    of intervals containing the truth), ``mean_width``, ``mean_block`` and ``n_samples``.
    """
    rng = np.random.default_rng(seed)
    truth = daily_sharpe * math.sqrt(TRADING_DAYS_PER_YEAR)
    scale = math.sqrt(1.0 + theta * theta)
    hits, widths, blocks = 0, 0.0, 0.0
    for i in range(n_samples):
        e = rng.standard_normal(n + 1)
        r = 0.01 * (daily_sharpe + (e[1:] + theta * e[:-1]) / scale)
        ci = bootstrap_sharpe_ci(r, cfg=cfg.model_copy(update={"seed": cfg.seed + i}))
        hits += ci["lo"] <= truth <= ci["hi"]
        widths += ci["hi"] - ci["lo"]
        blocks += ci["block"]
    return {"coverage": hits / n_samples, "mean_width": widths / n_samples, "mean_block": blocks / n_samples,
            "n_samples": float(n_samples)}


def _scored_hits(decisions: pl.DataFrame, labelled: pl.DataFrame) -> pl.DataFrame:
    hits = direction_hits(decisions, labelled).filter(pl.col("scored"))
    if hits["event_id"].is_duplicated().any():
        dup = hits.filter(pl.col("event_id").is_duplicated())["event_id"][0]
        raise ValueError(f"decisions: event {dup!r} has more than one decision; DA intervals need one per event")
    return hits.select("event_id", "hit")


def bootstrap_da_ci(
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Percentile interval of DA, resampling scored events i.i.d. (one decision per event)."""
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    hit = _scored_hits(decisions, labelled)["hit"].cast(pl.Float64).to_numpy()
    if hit.size == 0:
        raise ValueError("bootstrap_da_ci: no scored events")
    rng = np.random.default_rng(cfg.seed)
    idx = rng.integers(0, hit.size, size=(cfg.n_boot, hit.size))
    return _interval(float(hit.mean()), hit[idx].mean(axis=1), cfg, None)


def bootstrap_da_diff_ci(
    decisions: pl.DataFrame,
    baseline_decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Percentile interval of ``DA(decisions) - DA(baseline)``, paired on the events both scored.

    Events are matched by ``event_id`` (sorted, so the result does not depend on row order); each
    resample draws one set of events and scores both policies on it.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
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


def sharpe_interval_table(
    returns_by_policy: Mapping[str, Sequence[float] | pl.Series | np.ndarray],
    baseline: str,
    cfg: BootstrapConfig | None = None,
) -> pl.DataFrame:
    """Sharpe interval of every policy and of its paired difference against ``baseline`` (all
    return series must cover the same days). One row per policy, sorted by name: ``policy, sharpe,
    sharpe_ci_low, sharpe_ci_high, sharpe_diff, sharpe_diff_ci_low, sharpe_diff_ci_high`` (the
    baseline's own difference is 0)."""
    cfg = cfg or BootstrapConfig()
    if baseline not in returns_by_policy:
        raise ValueError(f"baseline {baseline!r} is not one of the policies {sorted(returns_by_policy)}")
    rows = []
    for name in sorted(returns_by_policy):
        one = bootstrap_sharpe_ci(returns_by_policy[name], cfg=cfg)
        diff = bootstrap_sharpe_diff_ci(returns_by_policy[name], returns_by_policy[baseline], cfg=cfg)
        rows.append({"policy": name, "sharpe": one["estimate"], "sharpe_ci_low": one["lo"],
                     "sharpe_ci_high": one["hi"], "sharpe_diff": diff["estimate"],
                     "sharpe_diff_ci_low": diff["lo"], "sharpe_diff_ci_high": diff["hi"]})
    return pl.DataFrame(rows)


def da_interval_table(
    decisions_by_policy: Mapping[str, pl.DataFrame],
    labelled: pl.DataFrame,
    baseline: str,
    cfg: BootstrapConfig | None = None,
) -> pl.DataFrame:
    """DA interval of every policy and of its paired difference against ``baseline`` (on the events
    both scored). One row per policy, sorted by name: ``policy, da, da_ci_low, da_ci_high, da_diff,
    da_diff_ci_low, da_diff_ci_high, n_paired``."""
    cfg = cfg or BootstrapConfig()
    if baseline not in decisions_by_policy:
        raise ValueError(f"baseline {baseline!r} is not one of the policies {sorted(decisions_by_policy)}")
    rows = []
    for name in sorted(decisions_by_policy):
        one = bootstrap_da_ci(decisions_by_policy[name], labelled, cfg=cfg)
        diff = bootstrap_da_diff_ci(decisions_by_policy[name], decisions_by_policy[baseline], labelled, cfg=cfg)
        rows.append({"policy": name, "da": one["estimate"], "da_ci_low": one["lo"], "da_ci_high": one["hi"],
                     "da_diff": diff["estimate"], "da_diff_ci_low": diff["lo"], "da_diff_ci_high": diff["hi"],
                     "n_paired": int(diff["n_paired"])})
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Selection bias: the Deflated Sharpe Ratio and the probability of backtest overfitting
# --------------------------------------------------------------------------------------------------
def return_moments(returns: Sequence[float] | pl.Series | np.ndarray) -> dict[str, float]:
    """Per-period moments of ``returns`` the PSR needs: ``sharpe`` (``mean / std``, population std,
    not annualised; 0 without dispersion), ``skew`` and ``kurtosis`` (population, not in excess: 3
    for a normal; 0 and 3 without dispersion) and ``n_returns``."""
    r = _as_array(returns, "returns")
    if r.size < 2:
        raise ValueError(f"returns: need at least 2 values, got {r.size}")
    d = r - r.mean()
    var = float(np.mean(d * d))
    if var == 0.0:
        return {"sharpe": 0.0, "skew": 0.0, "kurtosis": 3.0, "n_returns": float(r.size)}
    sd = math.sqrt(var)
    return {"sharpe": float(r.mean()) / sd, "skew": float(np.mean(d**3)) / sd**3,
            "kurtosis": float(np.mean(d**4)) / var**2, "n_returns": float(r.size)}


def expected_max_sharpe(n_trials: int, sharpe_variance: float, mean_sharpe: float = 0.0) -> float:
    """Expected maximum of ``n_trials`` independent Sharpe ratio estimates with mean
    ``mean_sharpe`` and variance ``sharpe_variance`` (Bailey & Lopez de Prado 2014):
    ``mean + sqrt(V) ((1 - g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e)))``, ``g`` Euler-Mascheroni.
    One trial is no selection: ``mean``. Units are those of the inputs (per period in the DSR)."""
    if n_trials < 1:
        raise ValueError(f"expected_max_sharpe: n_trials is {n_trials}; need at least 1")
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0.0):
        raise ValueError(f"expected_max_sharpe: sharpe_variance is {sharpe_variance!r}; need a finite value >= 0")
    if n_trials == 1:
        return float(mean_sharpe)
    g = EULER_MASCHERONI
    z = (1.0 - g) * norm.ppf(1.0 - 1.0 / n_trials) + g * norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(mean_sharpe + math.sqrt(sharpe_variance) * z)


def probabilistic_sharpe_ratio(sharpe: float, benchmark: float, n_returns: int, skew: float, kurtosis: float) -> float:
    """``PSR = Z((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))`` (Bailey &
    Lopez de Prado 2012): the probability that the true Sharpe ratio exceeds ``benchmark`` given
    the estimate ``sharpe`` from ``n_returns`` returns; Sharpe ratios per period, ``kurtosis`` not
    in excess."""
    if n_returns < 2:
        raise ValueError(f"probabilistic_sharpe_ratio: n_returns is {n_returns}; need at least 2")
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if not denom > 0.0:
        raise ValueError(f"probabilistic_sharpe_ratio: 1 - skew SR + (kurtosis - 1) / 4 SR^2 is {denom!r}; "
                         "need a positive variance (check skew and kurtosis)")
    return float(norm.cdf((sharpe - benchmark) * math.sqrt(n_returns - 1) / math.sqrt(denom)))


def deflated_sharpe_ratio(
    sharpe: float, n_returns: int, skew: float, kurtosis: float, n_trials: int, trial_sharpe_variance: float
) -> dict[str, float]:
    """The Deflated Sharpe Ratio (Bailey & Lopez de Prado 2014): ``DSR = PSR(SR_0)`` with ``SR_0 =
    expected_max_sharpe(n_trials, trial_sharpe_variance)``, the Sharpe ratio the best of
    ``n_trials`` skill-less trials would show. Everything per period (divide an annualised Sharpe
    ratio by ``sqrt(252)`` and its variance by 252). Returns ``dsr``, ``sharpe0`` (``SR_0``),
    ``sharpe``, ``n_trials``, ``trial_sharpe_variance``, ``n_returns``."""
    sr0 = expected_max_sharpe(n_trials, trial_sharpe_variance)
    return {"dsr": probabilistic_sharpe_ratio(sharpe, sr0, n_returns, skew, kurtosis), "sharpe0": sr0,
            "sharpe": float(sharpe), "n_trials": float(n_trials), "trial_sharpe_variance": float(trial_sharpe_variance),
            "n_returns": float(n_returns)}


def deflated_sharpe_of_returns(
    returns: Sequence[float] | pl.Series | np.ndarray, n_trials: int, annual_sharpe_variance: float | None
) -> dict[str, float]:
    """:func:`deflated_sharpe_ratio` of daily ``returns`` selected among ``n_trials`` trials whose
    annualised Sharpe ratios have variance ``annual_sharpe_variance`` (converted to per day by
    dividing by 252; None, as with a single trial, counts as 0). ``sharpe0`` and ``sharpe`` are
    returned annualised here, next to the per-day ``skew`` and ``kurtosis`` used."""
    m = return_moments(returns)
    var = (annual_sharpe_variance or 0.0) / TRADING_DAYS_PER_YEAR
    d = deflated_sharpe_ratio(m["sharpe"], int(m["n_returns"]), m["skew"], m["kurtosis"], max(n_trials, 1), var)
    ann = math.sqrt(TRADING_DAYS_PER_YEAR)
    return {**d, "sharpe": d["sharpe"] * ann, "sharpe0": d["sharpe0"] * ann,
            "trial_sharpe_variance": float(annual_sharpe_variance or 0.0), "skew": m["skew"], "kurtosis": m["kurtosis"]}


def cscv_logits(returns: np.ndarray, n_splits: int = 16) -> np.ndarray:
    """The CSCV logits of Bailey, Borwein, Lopez de Prado & Zhu (2017), one per split combination.

    ``returns``: T x N, one column per trial on the same T periods. The rows are cut into
    ``n_splits`` (S, even) contiguous groups of near-equal size (``numpy.array_split``); for each of
    the C(S, S/2) ways to pick S/2 groups as the in-sample set J (the rest, J-bar, out of sample,
    combinations in ``itertools.combinations`` order): the Sharpe ratio (mean / population std,
    0 without dispersion) of every trial on J and on J-bar; ``n*`` the best in sample (the first on
    ties); ``w = rank(R-bar_n*) / (N + 1)`` its relative out-of-sample rank (average ranks for
    ties, 1 = worst); logit ``log(w / (1 - w))``.
    """
    from itertools import combinations

    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"cscv: returns must be a T x N matrix, got shape {m.shape}")
    t, n = m.shape
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"cscv: n_splits is {n_splits}; need an even number >= 2")
    if n < 2 or t < n_splits:
        raise ValueError(f"cscv: need at least 2 trials and n_splits ({n_splits}) periods, got T={t}, N={n}")
    bad = np.argwhere(~np.isfinite(m))
    if bad.size:
        raise ValueError(f"cscv: returns row {int(bad[0, 0])}, column {int(bad[0, 1])} is not finite")
    groups = np.array_split(np.arange(t), n_splits)
    s1 = np.stack([m[g].sum(axis=0) for g in groups])
    s2 = np.stack([(m[g] ** 2).sum(axis=0) for g in groups])
    cnt = np.array([g.size for g in groups], dtype=np.float64)
    chosen = np.zeros((math.comb(n_splits, n_splits // 2), n_splits))
    for i, combo in enumerate(combinations(range(n_splits), n_splits // 2)):
        chosen[i, list(combo)] = 1.0

    def sharpe(sel: np.ndarray) -> np.ndarray:
        k = (sel @ cnt)[:, None]
        mean = sel @ s1 / k
        var = np.maximum(sel @ s2 / k - mean * mean, 0.0)
        out = np.zeros_like(mean)
        np.divide(mean, np.sqrt(var), out=out, where=var > 0)
        return out

    r_in, r_out = sharpe(chosen), sharpe(1.0 - chosen)
    best = np.argmax(r_in, axis=1)
    x = r_out[np.arange(best.size), best][:, None]
    rank = (r_out < x).sum(axis=1) + ((r_out == x).sum(axis=1) + 1) / 2.0
    w = rank / (n + 1.0)
    return np.log(w / (1.0 - w))


def probability_of_backtest_overfitting(returns: np.ndarray, n_splits: int = 16) -> dict[str, float]:
    """PBO by CSCV (Bailey, Borwein, Lopez de Prado & Zhu 2017): the share of split combinations
    whose in-sample best trial ranks at or below the out-of-sample median (logit <= 0,
    :func:`cscv_logits`). Returns ``pbo``, ``n_combinations``, ``n_splits``, ``n_trials``,
    ``n_periods`` and ``mean_logit``."""
    logits = cscv_logits(returns, n_splits)
    t, n = np.asarray(returns).shape
    return {"pbo": float(np.mean(logits <= 0.0)), "n_combinations": float(logits.size), "n_splits": float(n_splits),
            "n_trials": float(n), "n_periods": float(t), "mean_logit": float(np.mean(logits))}
