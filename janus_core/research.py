"""The reviewer's research tables of an evidence export (``OUT/analysis/``), beyond the lane files.

Computed by the other research steps and gathered here, every constant in :class:`AnalysisConfig`:

- ``caar_by_type``: per event type, n, CAAR, mean |CAR|, std and the cross-sectional t test of
  CAAR = 0 with its t(n-1) ``caar_confidence`` interval (``significance.caar_by_type``).
- ``caar_path``: AAR and CAAR per event type (and pooled ``all``) on each day of the event window,
  with the t(n-1) ``caar_confidence`` interval (``significance.aar_caar``; ``rel_day`` counts from
  the CAR config's event-window start).
- ``significance_by_type``: the event-study test statistics per event type and pooled (cross-
  sectional t, Patell, BMP, Kolari-Pynnonen, Corrado rank, generalised sign, with two-sided
  p-values; ``significance.significance_table`` on the estimation-window ARs of
  ``car.estimation_abnormal_returns``).
- ``tau_sweep``: for each tau of ``tau_grid``, the included events labelled strong (|CAR| >= tau),
  their share, and their mean |CAR| before and after the round-trip cost (``labels.tau_sweep``).
- ``ablations``: mean reward per strategy under each HGRM ablation (``reward.ablation_table``;
  hgrm profile only) for the candidate and the baselines.
- ``constant_policy_check``: the reward-hacking check: every policy that ignores the news (the
  constants, random, the label-shuffled oracle) against a realistically skilled baseline and zero,
  with the margins and a ``flagged`` column (``hacking.constant_policy_check``; constants in
  ``hacking_check``).
- ``nav``: NAV of the candidate, the baseline policies and the buy-and-hold benchmarks over the
  backtest window (columns ``series, kind, date, nav``; kind is candidate, baseline or benchmark).
- ``holding_period_sweep``: the candidate's NAV metrics for each holding period.
- ``metrics``: per policy, the paper's NAV metrics, the Sharpe ratio and directional accuracy with
  bootstrap intervals and their paired differences against ``bootstrap_baseline``.
- ``skipped``: the tables above that could not be computed, with the reason (e.g. no event in the
  backtest splits, a reward profile without ablations): never silently missing.

The backtest runs on the decisions whose events fall in ``backtest_splits`` (default the paper's
test split, so the ``type_prior`` baseline, estimated on the historical split, is out of sample);
the window is the first to the last event day of those events; type weights come from the
historical split (``backtest.historical_type_weights``).

The tables are computed by two worker threads, longest first (the event-study tables, the
backtest tables, the ablations, the reward-hacking check; NumPy and polars release the GIL), the
baseline decisions and ``tau_sweep`` on the calling thread; each table is a pure function of its
inputs, so the tables are the same whatever the scheduling.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.backtest import config, intervals, metrics, studies
from janus_core.backtest import engine as backtest
from janus_core.backtest.intervals import da_interval_table
from janus_core.backtest.metrics import BootstrapConfig, decision_metrics
from janus_core.data.dataset import Dataset
from janus_core.decide import hacking, reward
from janus_core.decide.decisions import DECISION_SCHEMA, validate_decisions
from janus_core.decide.hacking import HackingCheckConfig
from janus_core.decide.policies import PolicyConfig, make_decisions
from janus_core.decide.reward import HgrmConfig, score
from janus_core.study import significance
from janus_core.study.car import CarConfig, estimation_abnormal_returns
from janus_core.study.exclusion import included, is_included
from janus_core.study.labels import LabelConfig, tau_sweep

#: Policies that need more than the labelled table's event columns, and the column they need.
_POLICY_NEEDS: dict[str, str] = {"sentiment": "sentiment", "type_prior": "split"}


class AnalysisConfig(BaseModel):
    """Constants of the research tables (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    #: Two-sided confidence level of the CAAR intervals, by type and along the path (t, n - 1 dof).
    caar_confidence: float = Field(0.95, gt=0.0, lt=1.0)
    #: Strength thresholds studied: zero, around the 15 bps default round-trip cost, up to 2%.
    tau_grid: tuple[float, ...] = (0.0, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02)
    #: Baseline policies compared with the candidate (``janus_core.policies``): a naive always-long,
    #: a seeded random one, and the oracle upper bound.
    baselines: tuple[str, ...] = ("always_long", "random", "oracle")
    #: The policy the paired bootstrap differences are taken against.
    bootstrap_baseline: str = "always_long"
    #: Chronological splits whose events are backtested (the paper backtests its test split).
    backtest_splits: tuple[str, ...] = ("test",)
    #: Holding periods of the sweep (the paper: 1..10 trading days).
    holding_periods: tuple[int, ...] = tuple(range(1, 11))
    #: Overrides of ``config.BacktestConfig`` (window bounds are set from the backtest splits).
    backtest: dict[str, Any] = Field(default_factory=dict)
    #: Overrides of ``metrics.BootstrapConfig``.
    bootstrap: dict[str, Any] = Field(default_factory=dict)
    #: The reward-hacking check's constants (the skilled baseline's accuracies, seed, margin).
    hacking_check: HackingCheckConfig = Field(default_factory=HackingCheckConfig)


def event_study_tables(
    ds: Dataset, labelled: pl.DataFrame, car_cfg: CarConfig, cfg: AnalysisConfig
) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """``caar_by_type``, ``caar_path`` and ``significance_by_type`` (module docstring) of the included
    events, and the reason for leaving any out: no included event, or (for the two tables built from
    daily abnormal returns) a labelled table without the per-day ``ar`` of ``car.compute_car``."""

    names = ("caar_by_type", "caar_path", "significance_by_type")
    if included(labelled).is_empty():
        return {}, {t: "no included event" for t in names}
    tables = {"caar_by_type": significance.caar_by_type(labelled, cfg.caar_confidence)}
    if "ar" not in labelled.columns:
        return tables, {t: "labelled table lacks the per-day abnormal returns 'ar'" for t in names[1:]}
    tables["caar_path"] = significance.aar_caar(
        labelled, first_day=car_cfg.event_window[0], confidence=cfg.caar_confidence
    )
    tables["significance_by_type"] = significance.significance_table(
        labelled, estimation_abnormal_returns(ds, car_cfg, labelled)
    )
    return tables, {}


def baseline_decisions(
    labelled: pl.DataFrame, names: tuple[str, ...], policy_cfg: PolicyConfig
) -> dict[str, pl.DataFrame]:
    """Decisions of each baseline policy on ``labelled`` (``policies.make_decisions``)."""

    return {name: make_decisions(name, labelled, policy_cfg) for name in names}


def backtest_tables(
    ds: Dataset,
    labelled: pl.DataFrame,
    decisions: dict[str, pl.DataFrame],
    candidate: str,
    cfg: AnalysisConfig,
    car_cfg: CarConfig,
    round_trip_cost_bps: float,
) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """``nav``, ``holding_period_sweep`` and ``metrics`` (module docstring) for the policies in
    ``decisions`` (``candidate`` among them), and the reasons for any table left out. The backtest's
    entry and holding period follow the labels' event window (``BacktestConfig.for_labels``) and its
    cost is the labels' round-trip cost (one cost fact)."""

    in_window = labelled.filter(
        pl.col("split").is_in(list(cfg.backtest_splits)) & pl.col("event_day").is_not_null() & is_included()
    )
    if in_window.is_empty():
        reason = f"no included event in the backtest splits {list(cfg.backtest_splits)}"
        return {}, {t: reason for t in ("nav", "holding_period_sweep", "metrics")}
    ids = in_window["event_id"].implode()
    chosen = {name: d.filter(pl.col("event_id").is_in(ids)) for name, d in sorted(decisions.items())}
    bt_cfg = config.BacktestConfig.for_labels(
        car_cfg,
        **{
            **cfg.backtest,
            "round_trip_cost_bps": round_trip_cost_bps,
            "start": in_window["event_day"].min(),
            "end": in_window["event_day"].max(),
        },
    )
    weights = backtest.historical_type_weights(labelled) if bt_cfg.weighting == "type" else None
    results = {name: backtest.run_backtest(ds, d, labelled, bt_cfg, weights) for name, d in chosen.items()}
    navs = [
        r.nav.select(
            pl.lit(name).alias("series"),
            pl.lit("candidate" if name == candidate else "baseline").alias("kind"),
            "date",
            "nav",
        )
        for name, r in results.items()
    ]
    bench = studies.benchmark_navs(ds, bt_cfg.start, bt_cfg.end).select(
        pl.col("benchmark").alias("series"), pl.lit("benchmark").alias("kind"), "date", "nav"
    )
    tables: dict[str, pl.DataFrame] = {
        "nav": pl.concat([*navs, bench], how="vertical").sort("kind", "series", "date"),
        "holding_period_sweep": studies.holding_period_sweep(
            ds, chosen[candidate], labelled, bt_cfg, cfg.holding_periods, weights
        ).select(pl.lit(candidate).alias("policy"), pl.all()),
    }
    skipped: dict[str, str] = {}
    returns = {name: r.nav["daily_return"].drop_nulls() for name, r in results.items()}
    baseline = cfg.bootstrap_baseline
    if baseline not in results:
        skipped["metrics"] = f"bootstrap baseline {baseline!r} is not among the backtested policies {sorted(results)}"
    elif min(len(r) for r in returns.values()) < 2:
        skipped["metrics"] = "fewer than two daily returns in the backtest window"
    else:
        hits = {name: metrics.direction_hits(d, labelled) for name, d in chosen.items() if d.height}
        if unscored := sorted(name for name in chosen if name not in hits or not hits[name]["scored"].any()):
            skipped["metrics"] = (
                f"no scored decision of {unscored} on an event in the backtest window: no directional accuracy to bootstrap"
            )
        else:
            boot = metrics.BootstrapConfig(**cfg.bootstrap)
            sharpe = intervals.sharpe_interval_table(returns, baseline, boot)
            da = intervals.da_hits_interval_table(hits, baseline, boot)
            nav_metrics = studies.compare_policies(results).drop("sharpe")
            tables["metrics"] = (
                sharpe.join(da, on="policy", how="left", maintain_order="left")
                .join(nav_metrics, on="policy", how="left", maintain_order="left")
                .sort("policy")
            )
    return tables, skipped


def _ablations(
    decisions: dict[str, pl.DataFrame], candidate: str, labelled: pl.DataFrame, reward_cfg: HgrmConfig
) -> pl.DataFrame:
    """``reward.ablation_table`` of every policy's decisions (``strategy_id`` the policy name). Only
    the ``candidate``'s decisions are validated: the baselines' are ``make_decisions``' own, already
    in the canonical form validation gives (a test checks every policy), and validation works row by
    row, so checking the candidate alone gives the frame validating them all would."""
    checked = {
        name: validate_decisions(d, f"decisions of {name}", unique=False) if name == candidate else d
        for name, d in decisions.items()
    }
    return reward.ablation_table(
        pl.concat(
            [
                d.select(list(DECISION_SCHEMA)).with_columns(pl.lit(name).alias("strategy_id"))
                for name, d in sorted(checked.items())
            ],
            how="vertical",
        ),
        labelled,
        reward_cfg,
        validated=True,
    )


def research_tables(
    ds: Dataset,
    labelled: pl.DataFrame,
    candidate_decisions: pl.DataFrame,
    candidate: str,
    reward_cfg: HgrmConfig,
    label_cfg: LabelConfig,
    policy_cfg: PolicyConfig,
    car_cfg: CarConfig,
    cfg: AnalysisConfig,
) -> dict[str, pl.DataFrame]:
    """Every research table of the module docstring, keyed by file stem (``skipped`` included)."""

    if not cfg.enabled:
        return {"skipped": pl.DataFrame({"table": ["all"], "reason": ["analysis disabled by config"]})}
    if included(labelled).height == 0:
        return {
            "skipped": pl.DataFrame(
                {
                    "table": ["all"],
                    "reason": ["no event has a CAR (every event was excluded): nothing to study, backtest or score"],
                }
            )
        }
    usable = tuple(
        b for b in cfg.baselines if b != candidate and (b not in _POLICY_NEEDS or _POLICY_NEEDS[b] in labelled.columns)
    )
    skipped = {
        f"baseline {b}": f"labelled table lacks {_POLICY_NEEDS[b]!r}"
        for b in cfg.baselines
        if b in _POLICY_NEEDS and _POLICY_NEEDS[b] not in labelled.columns
    }
    hgrm = reward_cfg.profile == "hgrm"
    if not hgrm:
        skipped["ablations"] = f"ablations apply to the hgrm reward profile, not {reward_cfg.profile!r}"
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="janus-research") as pool:  # longest first
        event_study = pool.submit(event_study_tables, ds, labelled, car_cfg, cfg)
        decisions = {candidate: candidate_decisions, **baseline_decisions(labelled, usable, policy_cfg)}
        backtests = pool.submit(
            backtest_tables, ds, labelled, decisions, candidate, cfg, car_cfg, label_cfg.round_trip_cost_bps
        )
        ablations = pool.submit(_ablations, decisions, candidate, labelled, reward_cfg) if hgrm else None
        check = pool.submit(hacking.constant_policy_check, labelled, reward_cfg, cfg.hacking_check)
        tables: dict[str, pl.DataFrame] = {
            "tau_sweep": tau_sweep(labelled, cfg.tau_grid, label_cfg.round_trip_cost_bps),
            "constant_policy_check": check.result(),
        }
        if ablations is not None:
            tables["ablations"] = ablations.result()
        es_tables, es_skipped = event_study.result()
        bt_tables, bt_skipped = backtests.result()
    tables.update(es_tables)
    skipped.update(es_skipped)
    tables.update(bt_tables)
    skipped.update(bt_skipped)
    tables["skipped"] = pl.DataFrame(
        {"table": sorted(skipped), "reason": [skipped[k] for k in sorted(skipped)]},
        schema={"table": pl.String, "reason": pl.String},
    )
    return tables


def bootstrap_mean_ci(values: np.ndarray, n_boot: int, alpha: float, seed: int) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the percentile interval of the mean under an i.i.d. bootstrap
    (``n_boot`` resamples of ``len(values)`` indices drawn with ``numpy.random.default_rng(seed)``,
    the ``alpha/2`` and ``1 - alpha/2`` quantiles of the resampled means), the resampling
    ``intervals.bootstrap_da_ci`` uses for DA."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("bootstrap_mean_ci: no values")
    rng = np.random.default_rng(seed)
    draws = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    lo, hi = np.quantile(draws, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(v.mean()), float(lo), float(hi)


def compare_decisions(
    decisions_by_name: Mapping[str, pl.DataFrame],
    labelled: pl.DataFrame,
    reward_cfg: HgrmConfig | None = None,
    boot: BootstrapConfig | None = None,
    baseline: str = "random",
) -> pl.DataFrame:
    """One row per decision source (sorted by name) on the events each decided: ``policy, n, da,
    da_lo, da_hi, da_diff, da_diff_lo, da_diff_hi`` (paired against ``baseline`` on shared events;
    ``intervals.da_interval_table``), ``mean_reward, reward_lo, reward_hi`` (HGRM ``final_reward``,
    :func:`bootstrap_mean_ci`), ``eta`` and ``malformed`` (decisions with ``format_ok`` false)."""
    reward_cfg = reward_cfg or HgrmConfig()
    boot = boot or BootstrapConfig()
    da = da_interval_table(dict(decisions_by_name), labelled, baseline, boot)
    rows = []
    for name in sorted(decisions_by_name):
        d = decisions_by_name[name]
        rewards = score(d, labelled, reward_cfg).filter(pl.col("mapped"))["final_reward"].to_numpy()
        mean, lo, hi = bootstrap_mean_ci(rewards, boot.n_boot, boot.alpha, boot.seed)
        m = decision_metrics(d, labelled)
        rows.append(
            {
                "policy": name,
                "n": int(rewards.size),
                "mean_reward": mean,
                "reward_lo": lo,
                "reward_hi": hi,
                "eta": m["eta"],
                "malformed": int((~d["format_ok"]).sum()) if "format_ok" in d.columns else 0,
            }
        )
    table = pl.DataFrame(rows)
    da = da.rename(
        {"da_ci_low": "da_lo", "da_ci_high": "da_hi", "da_diff_ci_low": "da_diff_lo", "da_diff_ci_high": "da_diff_hi"}
    ).drop("n_paired")
    return table.join(da, on="policy", how="left").select(
        "policy",
        "n",
        "da",
        "da_lo",
        "da_hi",
        "da_diff",
        "da_diff_lo",
        "da_diff_hi",
        "mean_reward",
        "reward_lo",
        "reward_hi",
        "eta",
        "malformed",
    )
