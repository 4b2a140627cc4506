"""The NumPy reward formulas against the polars-expression implementation they replaced
(``tests/reward_reference.py``), value for value and bit for bit, on synthetic decisions with the
edge cases (nulls, excluded and unknown events, types outside the taxonomy or null, neutral
directions, ties at the neutral band, verbose completions, empty frames), both profiles and every
ablation; and the constant-policy means of the hacking check against scoring every constant
decision and averaging with ``group_means``."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from reward_reference import reference_score

from janus_core.data.events import EVENT_TYPES
from janus_core.decide import reward_terms
from janus_core.decide.hacking import constant_decisions, constant_policy_means
from janus_core.decide.reward import ABLATIONS, HgrmConfig, reward_profile, score
from janus_core.study.labels import group_means


def _synthetic(n_events: int, n_decisions: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    car = rng.normal(0.0, 0.03, n_events)
    car[rng.random(n_events) < 0.05] = 0.0  # neutral events
    types = np.array([*EVENT_TYPES, "unknown", None], dtype=object)
    excluded = rng.random(n_events) < 0.1
    labels = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n_events)],
            "event_type": pl.Series(types[rng.integers(0, len(types), n_events)].tolist(), dtype=pl.String),
            "car": pl.Series(np.where(excluded, np.nan, car)).fill_nan(None),
            "direction": pl.Series(
                np.where(
                    excluded, None, np.where(car > 0, "positive", np.where(car < 0, "negative", "neutral"))
                ).tolist(),
                dtype=pl.String,
            ),
            "strength": pl.Series(
                np.where(excluded, None, np.where(np.abs(car) >= 0.02, "strong", "weak")).tolist(), dtype=pl.String
            ),
            "excluded_reason": pl.Series(
                np.where(excluded, np.where(rng.random(n_events) < 0.5, "untradable", None), None).tolist(),
                dtype=pl.String,
            ),
        }
    )
    band = HgrmConfig().neutral_band
    c_hat = rng.choice(np.array([np.nan, 0.0, band, -band, 0.01, -0.02, 0.3]), n_decisions)
    ids = np.array([f"e{i}" for i in range(n_events + 5)])  # five events not in the labels
    completion = np.array([None, "x" * 10, "y" * 4001], dtype=object)[rng.integers(0, 3, n_decisions)]
    decisions = pl.DataFrame(
        {
            "event_id": ids[rng.integers(0, len(ids), n_decisions)],
            "strategy_id": np.where(rng.random(n_decisions) < 0.5, "a", "b"),
            "action": np.array(["long", "short", "hold"])[rng.integers(0, 3, n_decisions)],
            "predicted_event_type": pl.Series(
                np.array([*EVENT_TYPES, None], dtype=object)[rng.integers(0, 11, n_decisions)].tolist(),
                dtype=pl.String,
            ),
            "predicted_car": pl.Series(c_hat).fill_nan(None),
            "format_ok": rng.random(n_decisions) < 0.8,
            "rationale": pl.Series(
                np.array([None, "", "  ", "because"], dtype=object)[rng.integers(0, 4, n_decisions)].tolist(),
                dtype=pl.String,
            ),
        }
    )
    # completions are parsed by the decisions contract; keep them on rows it accepts (holds, malformed)
    verbose = pl.Series(np.where(decisions["action"].to_numpy() == "hold", completion, None).tolist(), dtype=pl.String)
    hold_text = verbose.is_not_null()
    decisions = decisions.with_columns(
        verbose.alias("completion"),
        pl.when(hold_text).then(None).otherwise(pl.col("predicted_event_type")).alias("predicted_event_type"),
        pl.when(hold_text).then(None).otherwise(pl.col("predicted_car")).alias("predicted_car"),
        pl.when(hold_text).then(False).otherwise(pl.col("format_ok")).alias("format_ok"),
    )
    return labels, decisions


def _assert_same_bits(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    """Same schema and values, and every Float64 the same bits (so -0.0 is not 0.0)."""
    assert got.schema == expected.schema
    assert got.equals(expected)
    floats = [pl.col(c).reinterpret(signed=True) for c, t in got.schema.items() if t == pl.Float64]
    assert got.select(floats).equals(expected.select(floats))


CONFIGS = [
    pytest.param(HgrmConfig(), id="hgrm"),
    pytest.param(reward_profile("lane_scaffold"), id="lane_scaffold"),
    pytest.param(HgrmConfig(strength_tau_override=0.01), id="tau_override"),
    *[pytest.param(HgrmConfig(**switches), id=name) for name, switches in ABLATIONS[1:]],
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_score_matches_the_polars_reference_bit_for_bit(cfg):
    labels, decisions = _synthetic(400, 6000, 7)
    got, expected = score(decisions, labels, cfg), reference_score(decisions, labels, cfg)
    _assert_same_bits(got, expected)
    assert got["mapped"].sum() > 0 and (~got["mapped"]).sum() > 0
    assert set(got["direction_gate"].drop_nulls()) == {"match", "mismatch", "neutral"}
    assert set(got["event_type_gate"].drop_nulls()) == {"match", "mismatch", "unknown"}


@pytest.mark.parametrize("cfg", CONFIGS[:2])
def test_score_block_by_block_matches_the_reference(monkeypatch, cfg):
    """Blocks of 7 decisions (a last, shorter block; a single-decision frame): the same bits."""
    monkeypatch.setattr(reward_terms, "_BLOCK", 7)
    labels, decisions = _synthetic(80, 500, 11)
    for frame in (decisions, decisions.head(1), decisions.head(7), decisions.head(8)):
        _assert_same_bits(score(frame, labels, cfg), reference_score(frame, labels, cfg))


@pytest.mark.parametrize("cfg", CONFIGS[:2])
def test_score_with_every_decision_mapped_matches_the_reference(cfg):
    labels, decisions = _synthetic(300, 3000, 13)
    included = labels.filter(pl.col("car").is_not_null())["event_id"].implode()
    mapped_only = decisions.filter(pl.col("event_id").is_in(included))
    got = score(mapped_only, labels, cfg)
    assert got.height > 0 and got["mapped"].all()
    _assert_same_bits(got, reference_score(mapped_only, labels, cfg))


def test_score_on_empty_decisions_matches_the_reference():
    labels, decisions = _synthetic(50, 10, 1)
    empty = decisions.clear()
    for cfg in (HgrmConfig(), reward_profile("lane_scaffold")):
        got, expected = score(empty, labels, cfg), reference_score(empty, labels, cfg)
        assert got.height == 0 and got.schema == expected.schema


def _old_means(labelled: pl.DataFrame, cfg: HgrmConfig) -> pl.DataFrame:
    scored = score(constant_decisions(labelled), labelled, cfg)
    return group_means(scored, "strategy_id", {"mean_final_reward": pl.col("final_reward")})


@pytest.mark.parametrize("cfg", CONFIGS)
def test_constant_policy_means_equal_scoring_every_constant_decision(cfg):
    labels, _ = _synthetic(700, 1, 3)
    fast = constant_policy_means(labels, cfg)
    old = _old_means(labels, cfg)
    assert fast.height == 132
    joined = fast.join(old, on="strategy_id", how="full", coalesce=True)
    assert joined.height == 132
    assert (joined["mean_final_reward"] == joined["mean_final_reward_right"]).all()  # exact, not approximate


def test_constant_policy_means_without_included_events():
    labels, _ = _synthetic(20, 1, 4)
    none_included = labels.with_columns(pl.lit(None, dtype=pl.Float64).alias("car"))
    assert constant_policy_means(none_included, HgrmConfig()).height == 0
    assert _old_means(none_included, HgrmConfig()).height == 0


def test_score_with_a_null_label_id_and_no_labels_matches_the_reference():
    labels, decisions = _synthetic(60, 500, 5)
    holey = labels.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("event_id")).alias("event_id")
    )
    for frame in (holey, labels.clear()):
        assert score(decisions, frame).equals(reference_score(decisions, frame))
