"""The overfitting statistics of a finished sweep (:func:`overfitting_report`): DSR, PBO by CSCV
and Hansen's SPA test against the benchmark."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import polars as pl

from janus_core.backtest.overfitting import (
    deflated_sharpe_of_returns,
    probability_of_backtest_overfitting,
)
from janus_core.data.dataset import Dataset
from janus_core.sweep.run import SweepRun


# --------------------------------------------------------------------------------------------------
# Overfitting statistics
# --------------------------------------------------------------------------------------------------
def default_benchmark(ds: Dataset) -> str:
    """The benchmark most of the dataset's securities follow (ties: the first by name)."""
    sec = ds.securities
    col = next((c for c in ("benchmark", "index") if c in sec.columns), None)
    names = sorted(ds.benchmarks["benchmark"].unique().to_list())
    if col is None or sec.height == 0:
        return names[0]
    counts = sec.group_by(col).len().sort(["len", col], descending=[True, False])
    top = [n for n in counts[col].to_list() if n in names]
    return top[0] if top else names[0]


def benchmark_returns(ds: Dataset, name: str) -> pl.DataFrame:
    """``date, daily_return`` of benchmark ``name``'s close (close over the previous close, minus one)."""
    b = ds.benchmarks.filter(pl.col("benchmark") == name).sort("date")
    if b.height == 0:
        raise ValueError(
            f"benchmark {name!r} is not in the dataset's benchmarks "
            f"({', '.join(sorted(ds.benchmarks['benchmark'].unique().to_list()))})"
        )
    return b.select("date", (pl.col("close") / pl.col("close").shift(1) - 1.0).alias("daily_return")).drop_nulls()


def aligned_returns(
    returns: pl.DataFrame, bench: pl.DataFrame
) -> tuple[list[str], int, pl.Series, np.ndarray, np.ndarray]:
    """The T x N matrix of the configurations' daily returns on the dates all of them and the
    benchmark have, identical columns kept once (config-hash order): the kept hashes, the number of
    configurations before that, the dates, the matrix and the benchmark's returns on those dates."""
    wide = returns.pivot(on="config_hash", index="date", values="daily_return", sort_columns=True)
    hashes = sorted(c for c in wide.columns if c != "date")
    wide = wide.join(bench.rename({"daily_return": "__benchmark"}), on="date", how="inner").drop_nulls().sort("date")
    matrix = wide.select(hashes).to_numpy() if hashes else np.zeros((wide.height, 0))
    kept, seen = [], set()
    for j in range(len(hashes)):
        digest = hashlib.sha256(np.ascontiguousarray(matrix[:, j]).tobytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(j)
    return [hashes[j] for j in kept], len(hashes), wide["date"], matrix[:, kept], wide["__benchmark"].to_numpy()


def spa_test(
    benchmark: np.ndarray, models: np.ndarray, *, reps: int, block_size: int | None, seed: int
) -> dict[str, Any]:
    """Hansen's SPA test of the ``models`` (T x N daily returns) against the ``benchmark`` (T):
    ``arch.bootstrap.SPA`` on the losses ``-returns`` (stationary bootstrap, studentized); the
    p-values of the null that no model beats the benchmark."""
    from arch.bootstrap import SPA  # arch loads pandas: only here

    spa = SPA(-benchmark, -models, block_size=block_size, reps=reps, seed=seed)
    spa.compute()
    p = spa.pvalues
    return {
        "pvalue_lower": float(p["lower"]),
        "pvalue_consistent": float(p["consistent"]),
        "pvalue_upper": float(p["upper"]),
        "reps": reps,
        "block_size": block_size,
        "seed": seed,
        "bootstrap": "stationary",
        "studentize": True,
    }


def overfitting_report(run: SweepRun, ds: Dataset) -> dict[str, Any]:
    """The overfitting statistics of the sweep (package docstring), as a JSON-able dict; a statistic
    that cannot be computed (fewer than two configurations, too few dates) carries its reason."""
    ok = run.results.filter(pl.col("status") == "ok")
    out: dict[str, Any] = {
        "n_configurations": run.results.height,
        "n_ok": ok.height,
        "n_failed": run.results.height - ok.height,
    }
    if ok.height == 0:
        return {
            **out,
            "best": None,
            "dsr": {"skipped": "no configuration finished ok"},
            "pbo": {"skipped": "no configuration finished ok"},
            "spa": {"skipped": "no configuration finished ok"},
        }
    best = ok.sort(["sharpe", "config_hash"], descending=[True, False]).row(0, named=True)
    out["best"] = {
        "config_hash": best["config_hash"],
        "sharpe": best["sharpe"],
        "params": {k: best[k] for k in run.grid.parameters},
    }
    sharpes = ok["sharpe"]
    variance = float(sharpes.var(ddof=1)) if ok.height >= 2 else None
    best_returns = run.returns.filter(pl.col("config_hash") == best["config_hash"]).sort("date")["daily_return"]
    try:
        out["dsr"] = {
            **deflated_sharpe_of_returns(best_returns, ok.height, variance),
            "n_trials": ok.height,
            "trial_sharpe_variance": variance,
        }
    except ValueError as exc:
        out["dsr"] = {"skipped": str(exc)}
    bench_name = run.settings.benchmark or default_benchmark(ds)
    bench = benchmark_returns(ds, bench_name)
    kept, n_series, dates, matrix, bench_r = aligned_returns(run.returns, bench)
    t = matrix.shape[0]
    out["aligned"] = {
        "n_dates": t,
        "n_configurations": n_series,
        "n_distinct_return_series": len(kept),
        "benchmark": bench_name,
        "first_date": str(dates.min()) if t else None,
        "last_date": str(dates.max()) if t else None,
    }
    splits = min(run.settings.cscv_splits, t - t % 2)
    if len(kept) < 2:
        out["pbo"] = {"skipped": f"{len(kept)} distinct return series; CSCV needs at least 2"}
    elif splits < 2:
        out["pbo"] = {"skipped": f"{t} common dates; CSCV needs at least 2"}
    else:
        out["pbo"] = probability_of_backtest_overfitting(matrix, splits)
    if t < 10 or len(kept) < 1:
        out["spa"] = {"skipped": f"{t} common dates and {len(kept)} return series; SPA needs 10 dates and a series"}
    else:
        best_kept = max(range(len(kept)), key=lambda j: (float(matrix[:, j].mean()), -j))
        out["spa"] = {
            **spa_test(
                bench_r,
                matrix,
                reps=run.settings.spa_reps,
                block_size=run.settings.spa_block_size,
                seed=run.settings.spa_seed,
            ),
            "benchmark": bench_name,
            "best_mean_return_config_hash": kept[best_kept],
        }
    return out
