"""Research tables of the export (``janus_core.research``): hand-checked tau sweep, the
explicit ``skipped`` list, and the event-study tables against independent references."""

from __future__ import annotations

import polars as pl
import pytest
from test_evidence_helpers import labelled_table

from janus_core.decide import reward
from janus_core.decide.decisions import DECISION_SCHEMA
from janus_core.decide.policies import PolicyConfig, make_decisions
from janus_core.decide.reward import reward_profile
from janus_core.research import (
    AnalysisConfig,
    _ablations,
    event_study_tables,
    research_tables,
)
from janus_core.study.car import CarConfig
from janus_core.study.labels import LabelConfig, tau_sweep


def test_tau_sweep_by_hand():
    """The research table is the labels step's sweep over the included events only (one rule)."""
    # |car| of the included events: 0.0125, 0.0031, 0.0512, 0, 0.0009; one excluded event is left out
    out = tau_sweep(labelled_table(), (0.02, 0.0, 0.001), 15)
    assert out["tau"].to_list() == [0.0, 0.001, 0.02]
    assert out["strong_count"].to_list() == [5, 3, 1]
    assert out["strong_share"].to_list() == [1.0, 0.6, 0.2]
    assert out["mean_net_strong"][2] == pytest.approx(0.0512 - 0.0015, abs=1e-15)


def test_disabled_and_skipped_tables_are_named():
    from janus_core.decide.policies import make_decisions

    labelled = labelled_table().with_columns(pl.lit("train").alias("split"))
    off = research_tables(
        None,
        labelled,
        pl.DataFrame(),
        "c",
        reward_profile("hgrm"),
        LabelConfig(),
        PolicyConfig(),
        CarConfig(),
        AnalysisConfig(enabled=False),
    )
    assert off["skipped"].to_dicts() == [{"table": "all", "reason": "analysis disabled by config"}]
    # no sentiment column: that baseline cannot run; no event in the test split: no backtest; the
    # scaffold profile has no ablations; no per-day ARs: no event-study tables. Each is listed with
    # its reason, the rest is computed.
    cand = make_decisions("always_long", labelled, PolicyConfig()).with_columns(pl.lit("c").alias("strategy_id"))
    tables = research_tables(
        None,
        labelled,
        cand,
        "c",
        reward_profile("lane_scaffold"),
        LabelConfig(),
        PolicyConfig(),
        CarConfig(),
        AnalysisConfig(baselines=("always_long", "sentiment")),
    )
    skipped = dict(zip(tables["skipped"]["table"], tables["skipped"]["reason"]))
    assert sorted(skipped) == [
        "ablations",
        "baseline sentiment",
        "caar_path",
        "holding_period_sweep",
        "metrics",
        "nav",
        "significance_by_type",
    ]
    assert "test" in skipped["nav"] and "lane_scaffold" in skipped["ablations"]
    assert "'ar'" in skipped["caar_path"] and "'ar'" in skipped["significance_by_type"]
    assert {"tau_sweep", "constant_policy_check", "caar_by_type"} <= set(tables)


def test_event_study_tables_without_included_events_are_skipped_with_the_reason():
    labelled = labelled_table().with_columns(
        pl.lit("too_few_estimation_days").alias("excluded_reason"), pl.lit([0.0, 0.0, 0.0]).alias("ar")
    )
    tables, skipped = event_study_tables(None, labelled, CarConfig(), AnalysisConfig())
    assert tables == {} and skipped == {
        "caar_by_type": "no included event",
        "caar_path": "no included event",
        "significance_by_type": "no included event",
    }


def test_event_study_tables_on_the_sample_match_independent_references(sample_workspace):
    """The CAAR path ends at the mean CAR (CAR is the window's sum of ARs) and starts at the CAR
    config's window start; the cross-sectional t and its band match scipy's one-sample t test."""
    import numpy as np
    from scipy import stats

    from janus_core.data.manifest import load_dataset
    from janus_core.study.car import compute_car

    ds = load_dataset("synthetic-ashare", sample_workspace)
    car_cfg = CarConfig(event_window=(-1, 1))
    table = compute_car(ds, car_cfg)
    tables, skipped = event_study_tables(ds, table, car_cfg, AnalysisConfig(caar_confidence=0.9))
    assert skipped == {}
    inc = table.filter(pl.col("excluded_reason").is_null())
    path = tables["caar_path"]
    assert sorted(set(path["rel_day"])) == [-1, 0, 1]
    for group, cars in [
        ("all", inc["car"].to_numpy()),
        ("dividend", inc.filter(pl.col("event_type") == "dividend")["car"].to_numpy()),
    ]:
        last = path.filter((pl.col("event_type") == group) & (pl.col("rel_day") == 1)).row(0, named=True)
        ref = stats.ttest_1samp(cars, 0.0)
        lo, hi = ref.confidence_interval(0.9)
        assert last["n"] == len(cars) and last["caar"] == pytest.approx(np.mean(cars), rel=1e-9)
        assert (last["caar_t"], last["ci_low"], last["ci_high"]) == pytest.approx((ref.statistic, lo, hi), rel=1e-9)
        sig = tables["significance_by_type"].filter(pl.col("event_type") == group).row(0, named=True)
        assert sig["n"] == len(cars)
        assert (sig["t_cs"], sig["p_cs"]) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-9)


def test_ablations_validate_the_candidate_and_give_the_table_of_validating_every_policy():
    labelled = labelled_table()
    cfg = PolicyConfig(type_prior_min_events=1)
    baselines = {p: make_decisions(p, labelled, cfg) for p in ("always_hold", "always_long", "random")}
    # the candidate's predicted types are upper case: validation normalises them
    candidate = make_decisions("oracle", labelled, cfg, completions=False).with_columns(
        pl.col("predicted_event_type").str.to_uppercase()
    )
    decisions = {"cand": candidate, **baselines}
    every = pl.concat(
        [
            d.select(list(DECISION_SCHEMA)).with_columns(pl.lit(n).alias("strategy_id"))
            for n, d in sorted(decisions.items())
        ]
    )
    expected = reward.ablation_table(every, labelled, reward_profile("hgrm"))
    got = _ablations(decisions, "cand", labelled, reward_profile("hgrm"))
    assert got.equals(expected)
    unchecked = reward.ablation_table(every, labelled, reward_profile("hgrm"), validated=True)
    assert not unchecked.equals(expected)  # the candidate needed its validation
