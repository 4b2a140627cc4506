"""The notebook's tables of a written sweep: deflated Sharpe ratios, heatmaps and neighbours."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import polars as pl

from janus_core.backtest.metrics import (
    TRADING_DAYS_PER_YEAR,
)
from janus_core.backtest.overfitting import (
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)
from janus_core.sweep.grid import SECTIONS

# --------------------------------------------------------------------------------------------------
# Reading a sweep (the notebook's tables)
# --------------------------------------------------------------------------------------------------
#: The DSR a configuration needs to survive: the probability that its true Sharpe ratio exceeds the
#: expected best of the sweep's skill-less trials (Bailey and Lopez de Prado's 95% convention).
SURVIVAL_DSR = 0.95


def parameter_columns(results: pl.DataFrame) -> list[str]:
    """The grid parameter columns of a results table (``section.field``), in order."""
    return [c for c in results.columns if "." in c and c.split(".", 1)[0] in SECTIONS]


def deflated_table(results: pl.DataFrame, survival: float = SURVIVAL_DSR) -> pl.DataFrame:
    """Every ``ok`` configuration's Deflated Sharpe Ratio against the sweep: ``DSR = PSR(SR_0)``
    with its own per-day moments (``sharpe / sqrt(252)``, ``n_returns``, ``skew``, ``kurtosis``) and
    ``SR_0`` the expected best of ``N`` skill-less trials (``N`` the ``ok`` configurations, the
    variance that of their Sharpe ratios); columns ``config_hash``, the parameters, ``sharpe``,
    ``sharpe0`` (annualised ``SR_0``), ``dsr`` and ``survives`` (``dsr >= survival``), sorted by
    descending DSR then config hash. A configuration whose PSR is undefined (fewer than two
    returns) gets a null DSR and does not survive."""
    ok = results.filter(pl.col("status") == "ok")
    n = ok.height
    variance = float(ok["sharpe"].var(ddof=1)) if n >= 2 else 0.0
    ann = math.sqrt(TRADING_DAYS_PER_YEAR)
    sr0 = expected_max_sharpe(max(n, 1), variance / TRADING_DAYS_PER_YEAR) if n else 0.0
    dsr: list[float | None] = []
    for r in ok.iter_rows(named=True):
        try:
            dsr.append(
                probabilistic_sharpe_ratio(
                    r["sharpe"] / ann,
                    sr0,
                    int(r["n_returns"] or 0),
                    float(r["skew"] or 0.0),
                    float(r["kurtosis"] or 3.0),
                )
            )
        except ValueError:
            dsr.append(None)
    return (
        ok.select("config_hash", *parameter_columns(results), "sharpe")
        .with_columns(pl.lit(sr0 * ann).alias("sharpe0"), pl.Series("dsr", dsr, dtype=pl.Float64))
        .with_columns((pl.col("dsr") >= survival).fill_null(False).alias("survives"))
        .sort(["dsr", "config_hash"], descending=[True, False], nulls_last=True)
    )


def heatmap_table(
    results: pl.DataFrame, x: str, y: str, metric: str, fixed: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """``metric`` over two parameters: the ``ok`` configurations with every parameter of ``fixed``
    at its value, then the mean of ``metric`` and the count per (``x``, ``y``), the other parameters
    averaged out; sorted by ``x`` then ``y``."""
    frame = results.filter(pl.col("status") == "ok")
    for name, value in (fixed or {}).items():
        frame = frame.filter(pl.col(name) == value)
    return (
        frame.group_by(x, y)
        .agg(pl.col(metric).sort().mean().alias(metric), pl.len().alias("n"))
        .sort(x, y, nulls_last=True)
    )


def neighbours(results: pl.DataFrame, config_hash: str, metric: str = "sharpe") -> pl.DataFrame:
    """The stability of one configuration: every configuration that differs from it in exactly one
    grid parameter by one step of that parameter's sorted values (the grid's nearest neighbours),
    with ``parameter``, its ``value``, ``metric`` and ``delta`` (neighbour minus the configuration;
    null when the neighbour failed); sorted by parameter and value."""
    params = parameter_columns(results)
    centre = results.filter(pl.col("config_hash") == config_hash)
    if centre.height != 1:
        raise ValueError(f"config_hash {config_hash!r}: not in the results")
    c = centre.row(0, named=True)
    rows = []
    for p in params:
        values = sorted(results[p].drop_nulls().unique().to_list())
        if c[p] is None or c[p] not in values:
            continue
        i = values.index(c[p])
        others = [q for q in params if q != p]
        same = results
        for q in others:
            same = same.filter(pl.col(q).is_null() if c[q] is None else pl.col(q) == c[q])
        for j in (i - 1, i + 1):
            if 0 <= j < len(values):
                hit = same.filter(pl.col(p) == values[j])
                for r in hit.iter_rows(named=True):
                    value = r[metric] if r["status"] == "ok" else None
                    rows.append(
                        {
                            "parameter": p,
                            "value": str(values[j]),
                            "config_hash": r["config_hash"],
                            metric: value,
                            "delta": None if value is None or c[metric] is None else value - c[metric],
                            "status": r["status"],
                        }
                    )
    schema = {
        "parameter": pl.String,
        "value": pl.String,
        "config_hash": pl.String,
        metric: pl.Float64,
        "delta": pl.Float64,
        "status": pl.String,
    }
    return pl.DataFrame(rows, schema=schema).sort("parameter", "value") if rows else pl.DataFrame(schema=schema)
