"""Baseline policies on a hand-built labelled table: each policy's rule, the historical-only type
prior, seeding, structured completions."""

from __future__ import annotations

import polars as pl
import pytest

from janus_core.decide.decisions import (
    DECISION_SCHEMA,
    parse_completion,
    validate_decisions,
)
from janus_core.decide.policies import (
    POLICIES,
    PolicyConfig,
    PolicyError,
    make_decisions,
    type_prior_table,
)

LABELLED = pl.DataFrame(
    {
        "event_id": [f"h{i}" for i in range(6)] + ["t1", "t2", "t3", "t4", "x1"],
        "split": ["historical"] * 6 + ["test", "test", "train", "validation", "test"],
        "event_type": ["dividend"] * 3
        + ["violation"] * 2
        + ["industry"]
        + ["dividend", "violation", "industry", "unknown", "dividend"],
        # historical dividend mean +0.01, violation mean -0.02 (2 events), industry one event
        "car": [0.02, 0.01, 0.0, -0.03, -0.01, 0.05, -0.04, 0.03, 0.001, 0.0, None],
        "direction": [
            "positive",
            "positive",
            "neutral",
            "negative",
            "negative",
            "positive",
            "negative",
            "positive",
            "positive",
            "neutral",
            None,
        ],
        "strength": [
            "strong",
            "strong",
            "weak",
            "strong",
            "strong",
            "strong",
            "strong",
            "strong",
            "weak",
            "weak",
            None,
        ],
        "sentiment": [
            "positive",
            None,
            "neutral",
            "negative",
            "positive",
            "positive",
            "negative",
            "positive",
            "neutral",
            None,
            "positive",
        ],
        "headline": [f"headline {i}" for i in range(11)],
    },
    schema_overrides={"car": pl.Float64},
)
INCLUDED = [e for e, c in zip(LABELLED["event_id"], LABELLED["car"]) if c is not None]


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_decides_every_included_event_with_a_structured_completion(policy):
    out = make_decisions(policy, LABELLED, PolicyConfig(type_prior_min_events=2))
    assert out["event_id"].to_list() == INCLUDED
    assert list(out.columns) == list(DECISION_SCHEMA)
    assert out["strategy_id"].unique().to_list() == [policy]
    validate_decisions(out, policy)
    for row in out.iter_rows(named=True):
        parsed = parse_completion(row["completion"])
        assert parsed.format_ok and row["format_ok"]
        assert parsed.action == row["action"] and parsed.predicted_event_type == row["predicted_event_type"]
        assert (
            parsed.predicted_strength == row["predicted_strength"] == ("weak" if row["action"] == "hold" else "strong")
        )
        if row["predicted_car"] is not None:
            assert parsed.predicted_car == pytest.approx(row["predicted_car"], abs=5e-7)


def test_oracle_trades_strong_events_in_the_true_direction():
    out = make_decisions("oracle", LABELLED)
    assert out["action"].to_list() == [
        "long",
        "long",
        "hold",
        "short",
        "short",
        "long",
        "short",
        "long",
        "hold",
        "hold",
    ]
    assert out["predicted_car"].to_list() == LABELLED["car"].drop_nulls().to_list()
    assert out["predicted_event_type"].to_list()[-1] is None  # the true type is outside the taxonomy


def test_type_prior_uses_the_historical_split_only():
    table = type_prior_table(LABELLED, PolicyConfig(type_prior_min_events=2))
    assert table["event_type"].to_list() == ["dividend", "industry", "violation"]
    assert table["historical_events"].to_list() == [3, 1, 2]
    assert table["historical_mean_car"].to_list() == pytest.approx([0.01, 0.05, -0.02])
    assert table["action"].to_list() == ["long", "hold", "short"]  # industry: one event < 2
    out = make_decisions("type_prior", LABELLED, PolicyConfig(type_prior_min_events=2))
    by_id = dict(zip(out["event_id"], out["action"]))
    assert (by_id["t1"], by_id["t2"], by_id["t3"], by_id["t4"]) == ("long", "short", "hold", "hold")
    # changing a non-historical CAR cannot change the prior
    moved = LABELLED.with_columns(
        pl.when(pl.col("split") != "historical").then(pl.col("car") * -50).otherwise("car").alias("car")
    )
    assert make_decisions("type_prior", moved, PolicyConfig(type_prior_min_events=2))["action"].equals(out["action"])
    with pytest.raises(PolicyError, match="split"):
        make_decisions("type_prior", LABELLED.drop("split"))


def test_sentiment_and_constant_policies():
    assert make_decisions("sentiment", LABELLED)["action"].to_list() == [
        "long",
        "hold",
        "hold",
        "short",
        "long",
        "long",
        "short",
        "long",
        "hold",
        "hold",
    ]
    long_ = make_decisions("always_long", LABELLED)
    assert set(long_["action"]) == {"long"} and long_["predicted_event_type"].null_count() == long_.height
    assert set(make_decisions("always_hold", LABELLED)["action"]) == {"hold"}


def test_random_is_seeded():
    a = make_decisions("random", LABELLED, PolicyConfig(seed=1))
    assert a.equals(make_decisions("random", LABELLED, PolicyConfig(seed=1)))
    assert not a.equals(make_decisions("random", LABELLED, PolicyConfig(seed=2)))


def test_unknown_policy_and_missing_columns():
    with pytest.raises(PolicyError, match="unknown policy"):
        make_decisions("momentum", LABELLED)
    with pytest.raises(PolicyError, match="sentiment"):
        make_decisions("sentiment", LABELLED.drop("sentiment"))


@pytest.mark.parametrize("completions", [True, False])
@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_writes_its_decisions_in_the_form_validation_gives(policy, completions):
    # the research tables score the baselines without validating them again (research._ablations)
    out = make_decisions(policy, LABELLED, PolicyConfig(type_prior_min_events=2), completions=completions)
    checked = validate_decisions(out, policy, unique=False)
    assert checked.schema == out.schema
    assert checked.equals(out)
