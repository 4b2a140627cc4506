"""The fast paths around the reward against the code they replaced (``tests/fast_paths_reference.py``,
``tests/reward_reference.py``), bit for bit, on synthetic data with the edge cases: the decisions
contract's per-value rules (every rule failing, none failing, all-null columns, single row, empty),
the ablation table (validated once, the formula re-run per variant), the reward-hacking check (one
scoring of the news-blind baselines, three formula passes per action and CAR for the constants),
the label rows through hashes (and their fallback on a collision), the threads of the formula."""

from __future__ import annotations

import fast_paths_reference as ref
import numpy as np
import polars as pl
import pytest
from reward_reference import reference_score
from test_reward_fast import _assert_same_bits, _synthetic

from janus_core.decide import decisions, reward, reward_terms
from janus_core.decide.hacking import HackingCheckConfig, constant_policy_check
from janus_core.decide.policies import PolicyConfig, make_decisions
from janus_core.decide.reward import ABLATIONS, HgrmConfig, RewardError, ablation_table, reward_profile, score

_BAD = pl.DataFrame(
    {
        "event_id": ["e1", None, "e3", "e4", "e5", "e6", "e7", "e8"],
        "strategy_id": ["s", "s", None, "s", "s", "s", "s", "s"],
        "action": ["long", "hold", "short", "buy", None, "hold", "long", "short"],
        "predicted_event_type": ["dividend", None, "Dividend", "none", "bogus", "  financing ", "unknown", ""],
        "predicted_strength": ["strong", None, "weak", "huge", None, "weak", "strong", None],
        "predicted_car": [0.01, None, float("inf"), float("nan"), -0.02, 0.0, None, 1e300],
    }
)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(_BAD, id="every-rule"),
        pytest.param(_BAD.filter(pl.col("action").is_in(["long", "short", "hold"])), id="some-rules"),
        pytest.param(_BAD.head(1), id="single-row"),
        pytest.param(_BAD.clear(), id="empty"),
        pytest.param(_BAD.with_columns(pl.lit(None, dtype=pl.String).alias("predicted_strength")), id="all-null"),
        pytest.param(_BAD.head(1).with_columns(pl.lit("dividend").alias("predicted_event_type")), id="clean"),
    ],
)
@pytest.mark.parametrize("lines", [None, [3, 5, 8, 13, 21, 34, 55, 89]])
def test_value_rules_match_the_column_by_column_reference(frame, lines):
    out = decisions._cast_to_schema(frame, "src")
    place = decisions._Place("src", None if lines is None else lines[: frame.height])
    got_frame, got = decisions._value_problems(out, place)
    want_frame, want = ref.value_problems(out, place)
    assert got == want
    assert got_frame.equals(want_frame)


def test_the_first_problem_named_is_unchanged():
    with pytest.raises(decisions.DecisionsError, match=r"row 1, column 'event_id': value is missing"):
        decisions.validate_decisions(_BAD, "decisions", unique=False)


@pytest.mark.parametrize("cfg", [HgrmConfig(), HgrmConfig(strength_tau_override=0.01), HgrmConfig(sigma=0.005)])
def test_ablation_table_matches_scoring_every_variant(cfg):
    labels, decisions_ = _synthetic(300, 4000, 17)
    decisions_ = decisions_.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("c")).otherwise(pl.col("strategy_id")).alias("strategy_id")
    )
    want = ref.ablation_table(decisions_, labels, cfg)
    got = ablation_table(decisions_, labels, cfg)
    _assert_same_bits(got, want)
    assert got["variant"].unique(maintain_order=True).to_list() == [v for v, _ in ABLATIONS]
    checked = decisions.validate_decisions(decisions_, "decisions", unique=False)
    _assert_same_bits(ablation_table(checked, labels, cfg, validated=True), want)


def test_ablation_table_edge_cases():
    labels, decisions_ = _synthetic(60, 300, 19)
    for frame in (decisions_.head(1), decisions_.clear()):
        _assert_same_bits(ablation_table(frame, labels), ref.ablation_table(frame, labels, HgrmConfig()))
    with pytest.raises(RewardError, match="hgrm profile only"):
        ablation_table(decisions_, labels, reward_profile("lane_scaffold"))


@pytest.mark.parametrize(
    "cfg",
    [
        pytest.param(HgrmConfig(), id="hgrm"),
        pytest.param(reward_profile("lane_scaffold"), id="lane_scaffold"),
        pytest.param(HgrmConfig(use_direction_gate=False, lambda_dir=1.1), id="hackable"),
    ],
)
def test_constant_policy_check_matches_scoring_each_policy_alone(cfg):
    labels, _ = _synthetic(500, 1, 23)
    check = HackingCheckConfig()
    got = constant_policy_check(labels, cfg, check)
    want = ref.constant_policy_check(labels, cfg, check)
    _assert_same_bits(got, want)
    assert set(got["kind"]) == {"constant", "random", "shuffled"}


def test_policies_without_completions_are_the_same_decisions():
    labels, _ = _synthetic(200, 1, 29)
    for policy in ("random", "oracle"):
        full = make_decisions(policy, labels, PolicyConfig())
        bare = make_decisions(policy, labels, PolicyConfig(), completions=False)
        assert bare.equals(full.with_columns(pl.lit(None, dtype=pl.String).alias("completion")))


def test_label_rows_fall_back_to_the_string_join_on_a_hash_collision(monkeypatch):
    labels, decisions_ = _synthetic(80, 600, 31)
    expected = reference_score(decisions_, labels)
    # every id hashes alike: the label hashes are not unique, so the string join decides
    monkeypatch.setattr(pl.Series, "hash", lambda self, seed=0: pl.repeat(7, self.len(), dtype=pl.UInt64, eager=True))
    _assert_same_bits(score(decisions_, labels), expected)


def test_label_rows_with_a_decision_hash_colliding_with_another_label(monkeypatch):
    labels, decisions_ = _synthetic(50, 400, 37)
    expected = reference_score(decisions_, labels)
    real_hash = pl.Series.hash

    def colliding(self: pl.Series, seed: int = 0) -> pl.Series:
        # the absent ids e50..e54 hash like e0 (one label), so a match must be checked on the strings
        return real_hash(self.replace(["e50", "e51", "e52", "e53", "e54"], ["e0"] * 5), seed)

    monkeypatch.setattr(pl.Series, "hash", colliding)
    rows = reward._label_rows(pl.Series(["e50", "e0", "e3", "zz"]), labels["event_id"])
    assert rows.tolist() == [labels.height, 0, 3, labels.height]
    _assert_same_bits(score(decisions_, labels), expected)


@pytest.mark.parametrize("cfg", [HgrmConfig(), reward_profile("lane_scaffold")])
def test_formula_threads_do_not_change_a_bit(monkeypatch, cfg):
    labels, decisions_ = _synthetic(100, 3000, 41)
    monkeypatch.setattr(reward_terms, "_BLOCK", 64)
    results = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(reward_terms, "_THREADS", threads)
        results.append(score(decisions_, labels, cfg))
    for got in results:
        _assert_same_bits(got, reference_score(decisions_, labels, cfg))
    assert np.array_equal(results[0]["final_reward"].to_numpy(), results[2]["final_reward"].to_numpy(), equal_nan=True)


def test_label_side_beside_the_check_keeps_the_order_of_problems_and_the_cast_ids():
    """The label rows are found while the decisions are checked: a problem of the decisions is still
    named before one of the labels, and event ids of another dtype are read as the check casts them."""
    labels, decisions_ = _synthetic(40, 300, 43)
    bad_labels = labels.with_columns(pl.lit("sideways").alias("direction"))
    bad_decisions = decisions_.with_columns(pl.lit("buy").alias("action"))
    with pytest.raises(decisions.DecisionsError, match="action"):
        score(bad_decisions, bad_labels)
    with pytest.raises(decisions.DecisionsError, match="lacks required column"):
        score(decisions_.drop("event_id"), bad_labels)
    with pytest.raises(RewardError, match="direction"):
        score(decisions_, bad_labels)
    numbered = labels.with_columns(pl.col("event_id").str.slice(1))
    as_ints = decisions_.with_columns(pl.col("event_id").str.slice(1).cast(pl.Int64))
    want = score(decisions_.with_columns(pl.col("event_id").str.slice(1)), numbered)
    _assert_same_bits(score(as_ints, numbered), want)
    _assert_same_bits(ablation_table(as_ints, numbered), ablation_table(decisions_, labels))


@pytest.mark.parametrize(
    ("cfg", "shared"),
    [
        (HgrmConfig(), {"direction_reward": "s_dir"}),
        (HgrmConfig(w_dir=0.5), {}),
        (HgrmConfig(w_dir=0.5, w_evt=1.0, w_fmt=1.0), {"event_reward": "r_evt", "process_reward": "r_fmt"}),
        (HgrmConfig(use_event_gate=False, use_format=False, use_strength_penalty=False, w_dir=0.5), None),
        (reward_profile("lane_scaffold"), reward_terms._SCAFFOLD_SHARED),
    ],
)
def test_columns_that_always_agree_share_one_array_and_keep_their_values(cfg, shared):
    """A reward column equal to an earlier one whatever the decisions (its table has the same bits,
    or the scaffold sets it so) is that column's array; every value stays the reference's."""
    labels, decisions_ = _synthetic(60, 800, 47)
    found = reward_terms.shared_columns(cfg, reward_terms.hgrm_tables(cfg) if cfg.profile == "hgrm" else None)
    if shared is not None:
        assert found == shared
    else:  # r_evt, r_fmt, the penalty and their weighted terms all zero: one array for the five
        zero = ("r_fmt", "strength_penalty", "event_reward", "process_reward")
        assert found == dict.fromkeys(zero, "r_evt")
    checked = decisions.validate_decisions(decisions_, "decisions", unique=False)
    prepared = reward._prepare(checked, reward.labels_frame(labels, cfg))
    terms = reward_terms.reward_terms(cfg, lambda b: reward._inputs(prepared, cfg, b), len(prepared.row))
    for column, first in found.items():
        assert terms.columns[column] is terms.columns[first]
    _assert_same_bits(score(decisions_, labels, cfg), reference_score(decisions_, labels, cfg))


def test_label_rows_chunk_by_chunk_and_a_collision_in_a_later_chunk(monkeypatch):
    labels, decisions_ = _synthetic(50, 400, 53)
    expected = reference_score(decisions_, labels)
    monkeypatch.setattr(reward, "_ROWS_CHUNK", 5)
    _assert_same_bits(score(decisions_, labels), expected)
    ids = pl.Series(["e3", "e0", None, "e7", "e50", "zz", "e1", "e49", "e2"])
    assert reward._label_rows(ids, labels["event_id"]).tolist() == [3, 0, 50, 7, 50, 50, 1, 49, 2]
    real_hash = pl.Series.hash

    def colliding(self: pl.Series, seed: int = 0) -> pl.Series:
        return real_hash(self.replace(["e50", "e51", "e52", "e53", "e54"], ["e0"] * 5), seed)

    monkeypatch.setattr(pl.Series, "hash", colliding)  # "e50" (the 6th id, second chunk) hashes like "e0"
    assert reward._label_rows(pl.Series(["e3", "e0", "e7", "e1", "e2", "e50", "e4"]), labels["event_id"]).tolist() == [
        3, 0, 7, 1, 2, 50, 4,
    ]  # fmt: skip
    _assert_same_bits(score(decisions_, labels), expected)
