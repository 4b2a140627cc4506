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

The paper reports no uncertainty. Bootstrap intervals (percentile method) are added here:
daily returns are resampled with a stationary bootstrap (Politis & Romano 1994: blocks start at a
uniform random day and have geometric lengths with mean ``block``, wrapping round the end) or a
moving-block bootstrap (fixed blocks of length ``block``), which keep the short-range serial
dependence that overlapping holding periods create; event hits are resampled i.i.d. across events.
Differences against a baseline are *paired*: the same resampled days (or events) are used for both
series, so the interval reflects the difference, not two independent noises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

TRADING_DAYS_PER_YEAR = 252

NAV_METRIC_KEYS: tuple[str, ...] = ("sharpe", "max_drawdown", "total_return", "annualized_return", "calmar")

_ACTION_SIGN: dict[str, int] = {"long": 1, "short": -1, "hold": 0}
_DIRECTION_SIGN: dict[str, int] = {"positive": 1, "negative": -1, "neutral": 0}


class BootstrapConfig(BaseModel):
    """Constants of the bootstrap intervals.

    - ``n_boot`` 2000 resamples: percentile endpoints of a 95% interval are stable to about 1% of
      the interval width at that size.
    - ``alpha`` 0.05: two-sided 95% intervals.
    - ``block`` None: mean (stationary) or fixed (moving) block length in days; None uses
      ``ceil(n ** (1/3))``, the usual rate-optimal order for block bootstraps of a mean-like statistic.
    - ``method`` "stationary": random block lengths make the resampled series stationary.
    - ``seed`` 0: every interval is reproducible.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_boot: int = Field(2000, ge=1)
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    block: int | None = Field(None, ge=1)
    method: Literal["stationary", "moving"] = "stationary"
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


def block_bootstrap_indices(n: int, cfg: BootstrapConfig) -> np.ndarray:
    """An ``(n_boot, n)`` matrix of resampled day indices.

    Stationary: day 0 of each resample starts a block; every later day starts a new block with
    probability ``1/block`` (at a uniform random day), else continues the current one (index + 1,
    wrapping to 0 after ``n - 1``). Moving: ``ceil(n/block)`` blocks of ``block`` consecutive days,
    starts uniform on ``0..n-block``, concatenated and cut to ``n``.
    """
    if n < 1:
        raise ValueError("bootstrap: need at least one observation")
    block = min(cfg.block or default_block(n), n)
    rng = np.random.default_rng(cfg.seed)
    if cfg.method == "moving":
        n_blocks = math.ceil(n / block)
        starts = rng.integers(0, n - block + 1, size=(cfg.n_boot, n_blocks))
        idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(cfg.n_boot, n_blocks * block)
        return idx[:, :n]
    starts = rng.integers(0, n, size=(cfg.n_boot, n))
    new_block = rng.random(size=(cfg.n_boot, n)) < 1.0 / block
    new_block[:, 0] = True
    idx = np.empty((cfg.n_boot, n), dtype=np.int64)
    idx[:, 0] = starts[:, 0]
    for t in range(1, n):
        idx[:, t] = np.where(new_block[:, t], starts[:, t], (idx[:, t - 1] + 1) % n)
    return idx


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
    """Percentile interval of the Sharpe ratio of daily ``returns`` under a block bootstrap.

    Returns ``estimate`` (Sharpe of the sample), ``lo``, ``hi``, ``se`` (std of the draws),
    ``n_boot``, ``alpha`` and the ``block`` length used.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    r = _as_array(returns, "returns")
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
    """Percentile interval of ``SR(returns) - SR(baseline_returns)``, paired on the same days.

    Both series must cover the same days in the same order (equal length); each resample draws
    one set of day indices and applies it to both.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    a = _as_array(returns, "returns")
    b = _as_array(baseline_returns, "baseline_returns")
    if a.size != b.size:
        raise ValueError(f"paired Sharpe difference: returns have {a.size} days, baseline {b.size}; must be equal")
    idx = block_bootstrap_indices(a.size, cfg)
    draws = _sharpe_rows(a[idx]) - _sharpe_rows(b[idx])
    return _interval(sharpe_ratio(a) - sharpe_ratio(b), draws, cfg, min(cfg.block or default_block(a.size), a.size))


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
