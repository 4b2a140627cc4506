"""Research tables of the export (``janus_core.evidence_analysis``): hand-checked tau sweep and the
explicit ``skipped`` list."""

from __future__ import annotations

import polars as pl

from janus_core.evidence_analysis import AnalysisConfig, research_tables, tau_sweep
from janus_core.labels import LabelConfig
from janus_core.policies import PolicyConfig
from janus_core.reward import reward_profile
from test_evidence_helpers import labelled_table


def test_tau_sweep_by_hand():
    # |car| of the included events: 0.0125, 0.0031, 0.0512, 0, 0.0009
    out = tau_sweep(labelled_table(), (0.02, 0.0, 0.001), 0.0015)
    assert out["tau"].to_list() == [0.0, 0.001, 0.02]
    assert out["strong_n"].to_list() == [5, 3, 1]
    assert out["strong_share"].to_list() == [1.0, 0.6, 0.2]
    assert out["n"].to_list() == [5, 5, 5] and out["cost"].to_list() == [0.0015] * 3


def test_disabled_and_skipped_tables_are_named():
    from janus_core.policies import make_decisions

    labelled = labelled_table().with_columns(pl.lit("train").alias("split"))
    off = research_tables(None, labelled, pl.DataFrame(), "c", reward_profile("hgrm"), LabelConfig(), PolicyConfig(),
                          AnalysisConfig(enabled=False))
    assert off["skipped"].to_dicts() == [{"table": "all", "reason": "analysis disabled by config"}]
    # no sentiment column: that baseline cannot run; no event in the test split: no backtest; the
    # scaffold profile has no ablations. Each is listed with its reason, the rest is computed.
    cand = make_decisions("always_long", labelled, PolicyConfig()).with_columns(pl.lit("c").alias("strategy_id"))
    tables = research_tables(None, labelled, cand, "c", reward_profile("lane_scaffold"), LabelConfig(),
                             PolicyConfig(), AnalysisConfig(baselines=("always_long", "sentiment")))
    skipped = dict(zip(tables["skipped"]["table"], tables["skipped"]["reason"]))
    assert sorted(skipped) == ["ablations", "baseline sentiment", "holding_period_sweep", "metrics", "nav"]
    assert "test" in skipped["nav"] and "lane_scaffold" in skipped["ablations"]
    assert {"tau_sweep", "constant_policy_check"} <= set(tables)
