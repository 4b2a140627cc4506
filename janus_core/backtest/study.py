"""The backtest study as one typed result: the baseline policies backtested on one chronological
split's events, with the buy-and-hold benchmarks, the paper's sensitivity studies (holding period,
type versus equal weighting, position cap), per-type results and bootstrap intervals, and
:meth:`BacktestStudy.summary`, the backtest notebook's headless summary.

Every piece is a function of its own inputs (:func:`policy_decisions`, :func:`policy_sweep`,
:func:`benchmark_tables`, :func:`policy_table`, :func:`interval_table`), so the notebook computes
(and caches) each where its controls change it, and :func:`backtest_study` assembles all of them.
A sweep backtests each of its points through a ``run`` callable, so a caller that memoises backtests
by (policy, config) computes a point shared by several sweeps, or by a sweep and the main run, once.
Type weights come from the historical split (``engine.historical_type_weights``); a policy's
decisions are made on the whole labelled table (so ``type_prior`` learns from the historical split)
and kept on the window's events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.backtest import engine, studies
from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.engine import BacktestResult
from janus_core.backtest.intervals import da_interval_table, sharpe_interval_table
from janus_core.backtest.metrics import BootstrapConfig, decision_metrics, nav_metrics
from janus_core.data.dataset import Dataset
from janus_core.decide.policies import POLICIES, make_decisions

#: The sweeps of the study: the config field each varies.
SWEEPS: tuple[str, ...] = ("holding_period", "weighting", "position_cap")
#: Decision metrics joined to the policy table.
DECISION_KEYS: tuple[str, ...] = ("da", "eta", "mae", "rmse")


class BacktestStudyConfig(BaseModel):
    """Every constant of a backtest study.

    - ``policies``: the baseline policies backtested (``policies.POLICIES``).
    - ``window`` "test": the chronological split whose events are traded (the paper's test split).
    - ``backtest``: the backtest's own config (``config.BacktestConfig``).
    - ``baseline`` "random": the policy the paired bootstrap differences are taken against.
    - ``bootstrap``: the intervals' config (``metrics.BootstrapConfig``).
    - ``holding_periods`` 1..10, ``position_caps`` none, 1x, 2x, 3x NAV: the paper's sweeps
      (weighting compares ``type`` with ``equal``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    policies: tuple[str, ...] = POLICIES
    window: str = "test"
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    baseline: str = "random"
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    holding_periods: tuple[int, ...] = tuple(range(1, 11))
    position_caps: tuple[float | None, ...] = (None, 1.0, 2.0, 3.0)

    @model_validator(mode="after")
    def _known_policies(self) -> BacktestStudyConfig:
        unknown = sorted(set(self.policies) - set(POLICIES))
        if unknown or not self.policies:
            raise ValueError(f"policies: {unknown or 'none'} given; rule: one or more of {', '.join(POLICIES)}")
        if self.baseline not in self.policies:
            raise ValueError(f"baseline: {self.baseline!r} is not among the policies {sorted(self.policies)}")
        return self

    def sweep_values(self, field: str) -> tuple[object, ...]:
        """The values the sweep over ``field`` (one of :data:`SWEEPS`) takes."""
        values: dict[str, tuple[object, ...]] = {
            "holding_period": self.holding_periods,
            "weighting": ("type", "equal"),
            "position_cap": self.position_caps,
        }
        return values[field]


def window_events(labelled: pl.DataFrame, window: str) -> pl.DataFrame:
    """The labelled events of the chronological split ``window``."""
    return labelled.filter(pl.col("split") == window)


def policy_decisions(labelled: pl.DataFrame, window: str, policy: str) -> pl.DataFrame:
    """``policies.make_decisions(policy, labelled)`` kept on the events of ``window``."""
    ids = window_events(labelled, window)["event_id"].implode()
    return make_decisions(policy, labelled).filter(pl.col("event_id").is_in(ids))


#: A policy's backtest under a config (``engine.run_backtest`` with the rest fixed, typically memoised).
Runner = Callable[[BacktestConfig], BacktestResult]


def policy_sweep(policy: str, cfg: BacktestConfig, field: str, values: Iterable[object], run: Runner) -> pl.DataFrame:
    """``studies.sweep_rows`` of one policy over ``field`` (every other setting from ``cfg``), each point
    backtested by ``run``, with a leading ``policy`` column."""
    return studies.sweep_rows(cfg, field, values, run).select(pl.lit(policy).alias("policy"), pl.all())


def benchmark_tables(ds: Dataset, results: Mapping[str, BacktestResult]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The buy-and-hold benchmarks over the policies' NAV window: their NAV metrics (``benchmark``
    and ``metrics.nav_metrics``, sorted by benchmark) and every policy's and benchmark's NAV in one
    long table (``series, kind, date, nav``, plus the policies' ``daily_return, gross_exposure,
    n_positions, cost``; sorted by kind, series, date)."""
    navs = studies.nav_long(results)
    bench = studies.benchmark_navs(ds, navs["date"].min(), navs["date"].max())
    metrics = pl.DataFrame(
        [
            {"benchmark": b, **nav_metrics(bench.filter(pl.col("benchmark") == b)["nav"])}
            for b in sorted(bench["benchmark"].unique().to_list())
        ]
    )
    nav_table = pl.concat(
        [
            navs.select(
                pl.col("policy").alias("series"),
                pl.lit("policy").alias("kind"),
                "date",
                "nav",
                "daily_return",
                "gross_exposure",
                "n_positions",
                "cost",
            ),
            bench.select(pl.col("benchmark").alias("series"), pl.lit("benchmark").alias("kind"), "date", "nav"),
        ],
        how="diagonal",
    ).sort("kind", "series", "date")
    return metrics, nav_table


def policy_table(
    results: Mapping[str, BacktestResult], decisions: Mapping[str, pl.DataFrame], window: pl.DataFrame
) -> pl.DataFrame:
    """One row per policy: ``studies.compare_policies`` and the decision metrics :data:`DECISION_KEYS`
    (``metrics.decision_metrics`` on the window's events)."""
    rows = [
        {"policy": p, **{k: decision_metrics(d, window)[k] for k in DECISION_KEYS}}
        for p, d in sorted(decisions.items())
    ]
    scored = pl.DataFrame(rows, schema_overrides={k: pl.Float64 for k in DECISION_KEYS})
    return studies.compare_policies(results).join(scored, on="policy", how="left", maintain_order="left")


def interval_table(
    results: Mapping[str, BacktestResult],
    decisions: Mapping[str, pl.DataFrame],
    window: pl.DataFrame,
    baseline: str,
    cfg: BootstrapConfig,
) -> pl.DataFrame:
    """Bootstrap intervals per policy of the Sharpe ratio (daily returns) and the directional
    accuracy (events), and of their paired differences against ``baseline``
    (``metrics.sharpe_interval_table`` joined with ``metrics.da_interval_table``)."""
    returns = {p: r.nav["daily_return"].drop_nulls() for p, r in results.items()}
    return sharpe_interval_table(returns, baseline, cfg).join(
        da_interval_table(decisions, window, baseline, cfg), on="policy", how="left", maintain_order="left"
    )


def per_type_table(results: Mapping[str, BacktestResult]) -> pl.DataFrame:
    """Every policy's per-event-type results (``BacktestResult.per_type``) with a leading ``policy``."""
    return pl.concat([r.per_type.select(pl.lit(p).alias("policy"), pl.all()) for p, r in sorted(results.items())])


def _r(x: object, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BacktestStudy:
    """A :class:`BacktestStudyConfig` run on a dataset: the window's events, each policy's
    ``decisions`` and ``results`` (``BacktestResult``), the ``benchmarks`` metrics and ``nav_table``
    (:func:`benchmark_tables`), the ``policies`` table (:func:`policy_table`), the sweeps by field
    (:func:`policy_sweep` for every policy) and the bootstrap ``intervals`` (:func:`interval_table`)."""

    dataset: Dataset
    config: BacktestStudyConfig
    window: pl.DataFrame
    decisions: dict[str, pl.DataFrame]
    results: dict[str, BacktestResult]
    benchmarks: pl.DataFrame
    nav_table: pl.DataFrame
    policies: pl.DataFrame
    sweeps: dict[str, pl.DataFrame]
    intervals: pl.DataFrame

    def summary(self) -> dict[str, Any]:
        """The notebook's headless summary: dataset, provenance, window, the backtest config, days,
        baseline; per policy the Sharpe ratio, drawdown, total return, executed trades, DA and eta
        (4 decimals) with the Sharpe interval and the paired-difference interval (3 decimals); skipped
        decisions per policy and reason; the Sharpe ratio of every sweep point (3 decimals); the
        benchmarks' Sharpe ratios (4 decimals) and the bootstrap size."""
        iv = {row["policy"]: row for row in self.intervals.iter_rows(named=True)}
        sweeps = self.sweeps
        return {
            "dataset": self.dataset.name,
            "provenance": self.dataset.meta.provenance,
            "window": self.config.window,
            "config": self.config.backtest.model_dump(mode="json"),
            "n_days": next(iter(self.results.values())).metrics["n_days"],
            "baseline": self.config.baseline,
            "policies": {
                row["policy"]: {
                    **{k: _r(row[k]) for k in ("sharpe", "max_drawdown", "total_return")},
                    "n_executed": row["n_executed"],
                    "da": _r(row["da"]),
                    "eta": _r(row["eta"]),
                    "sharpe_ci": [
                        _r(iv[row["policy"]]["sharpe_ci_low"], 3),
                        _r(iv[row["policy"]]["sharpe_ci_high"], 3),
                    ],
                    "sharpe_diff_ci": [
                        _r(iv[row["policy"]]["sharpe_diff_ci_low"], 3),
                        _r(iv[row["policy"]]["sharpe_diff_ci_high"], 3),
                    ],
                }
                for row in self.policies.iter_rows(named=True)
            },
            "skipped": {
                p: {k.removeprefix("skipped_"): v for k, v in res.metrics.items() if k.startswith("skipped_") and v}
                for p, res in sorted(self.results.items())
            },
            "holding_period_sharpe": {
                p: [_r(v, 3) for v in sweeps["holding_period"].filter(pl.col("policy") == p)["sharpe"].to_list()]
                for p in sorted(self.results)
            },
            "weighting_sharpe": {
                f"{row['policy']}/{row['weighting']}": _r(row["sharpe"], 3)
                for row in sweeps["weighting"].iter_rows(named=True)
            },
            "position_cap_sharpe": {
                f"{row['policy']}/{row['position_cap'] or 'none'}": _r(row["sharpe"], 3)
                for row in sweeps["position_cap"].iter_rows(named=True)
            },
            "benchmark_sharpe": {row["benchmark"]: _r(row["sharpe"]) for row in self.benchmarks.iter_rows(named=True)},
            "bootstrap_n_boot": self.config.bootstrap.n_boot,
        }

    def write(self, out_dir: Path | str) -> dict[str, Any]:
        """Write ``nav.parquet``, ``holding_period_sweep.parquet``, ``metrics.parquet`` (the policy
        table with the intervals), ``per_type.parquet`` and ``backtest-summary.json``
        (:meth:`summary`) to ``out_dir``. Returns the summary."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.nav_table.write_parquet(out / "nav.parquet")
        self.sweeps["holding_period"].write_parquet(out / "holding_period_sweep.parquet")
        self.policies.join(self.intervals.drop("sharpe"), on="policy", how="left", maintain_order="left").write_parquet(
            out / "metrics.parquet"
        )
        per_type_table(self.results).write_parquet(out / "per_type.parquet")
        summary = self.summary()
        (out / "backtest-summary.json").write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
        return summary


def backtest_study(ds: Dataset, labelled: pl.DataFrame, cfg: BacktestStudyConfig | None = None) -> BacktestStudy:
    """Run every piece of a :class:`BacktestStudy` (module docstring) under ``cfg`` (default
    :class:`BacktestStudyConfig`). Each (policy, config) is backtested once: the sweeps share the
    points they have in common with each other and with the main run."""
    cfg = cfg or BacktestStudyConfig()
    weights = engine.historical_type_weights(labelled)
    policies = sorted(cfg.policies)
    window = window_events(labelled, cfg.window)
    decisions = {p: policy_decisions(labelled, cfg.window, p) for p in policies}
    memo: dict[tuple[str, str], BacktestResult] = {}

    def runner(policy: str) -> Runner:
        def run(config: BacktestConfig) -> BacktestResult:
            key = (policy, config.model_dump_json())
            if key not in memo:
                memo[key] = engine.run_backtest(ds, decisions[policy], window, config, weights)
            return memo[key]

        return run

    results = {p: runner(p)(cfg.backtest) for p in policies}
    benchmarks, nav_table = benchmark_tables(ds, results)
    sweeps = {
        field: pl.concat([policy_sweep(p, cfg.backtest, field, cfg.sweep_values(field), runner(p)) for p in policies])
        for field in SWEEPS
    }
    return BacktestStudy(
        dataset=ds,
        config=cfg,
        window=window,
        decisions=decisions,
        results=results,
        benchmarks=benchmarks,
        nav_table=nav_table,
        policies=policy_table(results, decisions, window),
        sweeps=sweeps,
        intervals=interval_table(results, decisions, window, cfg.baseline, cfg.bootstrap),
    )
