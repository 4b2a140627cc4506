"""Backtest studies built on the engine: buy-and-hold benchmark NAVs, the paper's sweeps (holding
period 1..10, type vs equal weighting, position caps), policy comparison tables and the summary of one
backtest (paper metrics, interval, decision metrics)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping

import polars as pl

from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.engine import BacktestResult, _require, run_backtest
from janus_core.backtest.intervals import bootstrap_sharpe_ci
from janus_core.backtest.metrics import (
    NAV_METRIC_KEYS,
    BootstrapConfig,
    decision_metrics,
)
from janus_core.backtest.overfitting import return_moments
from janus_core.data.dataset import Dataset


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
