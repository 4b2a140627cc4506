"""Frozen references for the fast paths of the reward's callers (tests only): the decisions contract's
per-value rules one column at a time (``decisions._value_problems`` before it found the failing
rules in one parallel select), the ablation table that scored the decisions once per variant and
summarised each scoring, and the reward-hacking check that built the news-blind baselines with
completions and scored each policy on its own."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
from reward_reference import reference_score

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import ACTIONS, REQUIRED_DECISION_COLUMNS, STRENGTHS, _Place
from janus_core.decide.decisions import _normalise_predicted_types as normalise_unknown_types
from janus_core.decide.hacking import HackingCheckConfig, constant_policy_means, skilled_mean_reward
from janus_core.decide.policies import PolicyConfig, make_decisions
from janus_core.decide.reward import ABLATIONS, HgrmConfig, score
from janus_core.study.labels import group_means


def _not_one_of(values: pl.Series, allowed: tuple[str, ...]) -> pl.Series:
    if values.null_count() == values.len():
        return pl.repeat(False, values.len(), eager=True)
    known = values == allowed[0]
    for word in allowed[1:]:
        known = known | (values == word)
    return (~known).fill_null(False)


def _normalise_predicted_types(
    out: pl.DataFrame, problem: Callable[[int, object], str]
) -> tuple[pl.DataFrame, dict[int, str]]:
    if out.select(
        pl.col("predicted_event_type").is_in(EVENT_TYPES).or_(pl.col("predicted_event_type").is_null()).all()
    ).item():
        return out, {}
    return normalise_unknown_types(out, problem)


def value_problems(out: pl.DataFrame, place: _Place) -> tuple[pl.DataFrame, list[dict[int, str]]]:
    """``decisions._value_problems`` as it was: every rule column by column."""
    stages: list[dict[int, str]] = []
    for col in REQUIRED_DECISION_COLUMNS:
        bad = out[col].is_null().arg_true().to_list()
        stages.append({i: place.at(i, col, "missing_value", "value is missing (rule: required)") for i in bad})
    checks = (
        ("action", "invalid_enum", _not_one_of(out["action"], ACTIONS), f"not one of {'|'.join(ACTIONS)}"),
        (
            "predicted_strength",
            "invalid_enum",
            _not_one_of(out["predicted_strength"], STRENGTHS),
            f"not one of {'|'.join(STRENGTHS)}",
        ),
        (
            "predicted_car",
            "non_finite",
            out["predicted_car"].is_not_null() & ~out["predicted_car"].is_finite(),
            "not a finite number",
        ),
    )
    for col, rule, failed, text in checks:
        bad = failed.arg_true().to_list()
        stages.append({i: place.at(i, col, rule, f"value {out[col][i]!r} {text}") for i in bad})
    types = ", ".join(EVENT_TYPES)
    out, type_problems = _normalise_predicted_types(
        out,
        lambda i, v: place.at(
            i, "predicted_event_type", "invalid_enum", f"value {v!r} is not one of the ten event types {types}"
        ),
    )
    stages.append(type_problems)
    return out, stages


def reward_summary(scored: pl.DataFrame) -> pl.DataFrame:
    """``reward.reward_summary`` as it was, on a scored frame."""
    m = pl.col("mapped")
    counts = scored.group_by("strategy_id").agg(
        pl.len().alias("decisions"), m.sum().alias("mapped"), pl.col("clipped").filter(m).sum().alias("clipped")
    )
    mapped_only = {
        **{
            f"mean_{c}": pl.when(m).then(pl.col(c))
            for c in (
                "final_reward",
                "direction_reward",
                "event_reward",
                "pnl_reward",
                "magnitude_reward",
                "process_reward",
                "strength_penalty",
            )
        },
        "direction_gate_pass_ratio": pl.when(m).then(pl.col("direction_gate") == "match"),
        "event_type_match_ratio": pl.when(m).then(pl.col("event_type_gate") == "match"),
    }
    means = group_means(scored, "strategy_id", mapped_only)
    return (
        counts.join(means, on="strategy_id", how="left")
        .sort("strategy_id")
        .select("strategy_id", "decisions", "mapped", *mapped_only, "clipped")
    )


def ablation_table(decisions: pl.DataFrame, labelled: pl.DataFrame, base_cfg: HgrmConfig) -> pl.DataFrame:
    """``reward.ablation_table`` as it was: each variant scored in full (here by the polars reference
    ``reference_score``) and summarised."""
    frames = []
    for variant, switches in ABLATIONS:
        cfg = base_cfg.model_copy(update=switches)
        summary = reward_summary(reference_score(decisions, labelled, cfg)).sort(
            ["mean_final_reward", "strategy_id"], descending=[True, False], nulls_last=True
        )
        frames.append(
            summary.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
            .sort("strategy_id")
            .select(pl.lit(variant).alias("variant"), pl.all())
        )
    return pl.concat(frames, how="vertical")


def _news_blind_baselines(labelled: pl.DataFrame, check: HackingCheckConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    random = make_decisions("random", labelled, PolicyConfig()).with_columns(
        pl.lit(None, dtype=pl.String).alias("completion"), pl.lit("random").alias("kind")
    )
    oracle = make_decisions("oracle", labelled, PolicyConfig())
    perm = np.random.default_rng(check.seed + 1).permutation(oracle.height)
    shuffled = (
        oracle.select("event_id")
        .with_columns(
            oracle.drop("event_id")[perm].with_columns(
                pl.lit("shuffled_oracle").alias("strategy_id"), pl.lit(None, dtype=pl.String).alias("completion")
            )
        )
        .with_columns(pl.lit("shuffled").alias("kind"))
    )
    return random, shuffled


def constant_policy_check(labelled: pl.DataFrame, cfg: HgrmConfig, check: HackingCheckConfig) -> pl.DataFrame:
    """``hacking.constant_policy_check`` as it was: each news-blind baseline scored on its own."""
    baselines = []
    for policy in _news_blind_baselines(labelled, check):
        scored = score(policy.drop("kind"), labelled, cfg)
        means = group_means(scored, "strategy_id", {"mean_final_reward": pl.col("final_reward")})
        baselines.append(
            means.select(
                "strategy_id",
                pl.lit(policy["kind"][0] if policy.height else None, dtype=pl.String).alias("kind"),
                pl.lit(None, dtype=pl.String).alias("action"),
                pl.lit(None, dtype=pl.String).alias("predicted_event_type"),
                pl.lit(None, dtype=pl.Float64).alias("predicted_car"),
                "mean_final_reward",
            )
        )
    per = pl.concat([constant_policy_means(labelled, cfg), *baselines], how="vertical")
    skilled = skilled_mean_reward(labelled, cfg, check)
    return (
        per.with_columns(pl.lit(skilled).alias("skilled_mean_reward"))
        .with_columns(
            (pl.col("skilled_mean_reward") - pl.col("mean_final_reward")).alias("margin_vs_skilled"),
            (-pl.col("mean_final_reward")).alias("margin_vs_zero"),
        )
        .with_columns((pl.min_horizontal("margin_vs_skilled", "margin_vs_zero") <= check.min_margin).alias("flagged"))
        .select(
            "strategy_id",
            "kind",
            "action",
            "predicted_event_type",
            "predicted_car",
            "mean_final_reward",
            "skilled_mean_reward",
            "margin_vs_skilled",
            "margin_vs_zero",
            "flagged",
        )
        .sort(["mean_final_reward", "strategy_id"], descending=[True, False])
    )
