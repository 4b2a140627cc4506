"""Baseline policies: decisions without a language model, so rewards and backtests can be studied today.

Each policy decides on every *included* event of a labelled CAR table (``car`` not null), in the
table's row order, and writes the structured completion of :mod:`janus_core.decisions` so the format
reward is exercised. ``strategy_id`` is the policy name. Trading is the strength judgement: a policy
that trades predicts ``strong``, a hold predicts ``weak``.

- ``oracle`` (upper bound): knows the labels; trades the true direction on strong events and holds
  weak or neutral ones, predicting the true type and CAR.
- ``type_prior``: the sign of the historical mean CAR of the event's type, estimated on the
  ``historical`` split only (types with fewer than ``type_prior_min_events`` historical events, or a
  zero mean, hold); predicts the event's type and that mean as its CAR.
- ``sentiment``: long on positive news sentiment, short on negative, hold otherwise; predicts the
  event's type, no CAR.
- ``always_long`` / ``always_hold``: constant actions, no type, no CAR.
- ``random``: uniform action, uniform type (one of ten), CAR ~ N(0, random_car_sd), seeded.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import DECISION_SCHEMA
from janus_core.study.labels import group_means

POLICIES: tuple[str, ...] = ("oracle", "type_prior", "sentiment", "always_long", "always_hold", "random")


class PolicyError(ValueError):
    """A policy cannot run on the given labelled table."""


class PolicyConfig(BaseModel):
    """Constants of the baseline policies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(
        20260219, description="Seed of the random policy; any fixed value works (this one is a date, 2026-02-19)."
    )
    random_car_sd: float = Field(
        0.03,
        gt=0.0,
        description=("Spread of the random policy's predicted CAR: about the published mean |CAR| (0.019..0.051)."),
    )
    type_prior_min_events: int = Field(
        5,
        ge=1,
        description=("Historical events a type needs before its mean CAR sets a direction; fewer is noise, so hold."),
    )


def _included(labelled: pl.DataFrame, needed: tuple[str, ...]) -> pl.DataFrame:
    missing = [c for c in ("event_id", "car", *needed) if c not in labelled.columns]
    if missing:
        raise PolicyError(f"labelled CAR table lacks column(s) {', '.join(missing)}")
    return labelled.filter(pl.col("car").is_not_null())


def _known_type(col: str = "event_type") -> pl.Expr:
    return pl.when(pl.col(col).is_in(EVENT_TYPES)).then(pl.col(col)).otherwise(None)


def _text(col: str) -> pl.Expr:
    """A string column as an f-string writes it (a null as ``None``)."""
    return pl.col(col).fill_null("None")


def _car_text(cars: pl.Series) -> pl.Series:
    """Each predicted CAR as ``decisions.format_completion`` writes it: ``f"{car:.6f}"`` (Python's
    float formatting), ``none`` for a null."""
    return pl.Series([None if c is None else f"{c:.6f}" for c in cars.to_list()], dtype=pl.String).fill_null("none")


def _with_completions(frame: pl.DataFrame, policy: str, influence: pl.Expr, written: bool = True) -> pl.DataFrame:
    """Add ``predicted_strength`` (strong iff trading), ``completion`` (null unless ``written``) and
    ``format_ok`` to a frame of event_id, action, predicted_event_type, predicted_car, rationale.
    The completion is ``decisions.format_completion`` of each row (market influence ``influence``,
    CAR analysis the rationale), written column-wise: its fixed text around the row's values."""
    frame = frame.with_columns(
        pl.when(pl.col("action") == "hold")
        .then(pl.lit("weak"))
        .otherwise(pl.lit("strong"))
        .alias("predicted_strength"),
        influence.alias("_influence"),
        (_car_text(frame["predicted_car"].cast(pl.Float64)) if written else pl.lit(None, dtype=pl.String)).alias(
            "_car"
        ),
    )
    event_type = pl.col("predicted_event_type")
    completion = pl.concat_str(
        pl.lit("<market_influence>"),
        _text("_influence"),
        pl.lit("</market_influence>\n<car_analysis>"),
        _text("rationale"),
        pl.lit("</car_analysis>\n<conclusion>\naction: "),
        _text("action"),
        pl.lit("\nevent_type: "),
        pl.when(event_type.is_null() | (event_type == "")).then(pl.lit("none")).otherwise(event_type),
        pl.lit("\nstrength: "),
        _text("predicted_strength"),
        pl.lit("\ncar: "),
        pl.col("_car"),
        pl.lit("\n</conclusion>"),
    )
    return frame.with_columns(
        pl.lit(policy).alias("strategy_id"),
        (completion if written else pl.lit(None, dtype=pl.String)).alias("completion"),
        pl.lit(True).alias("format_ok"),
    ).select([pl.col(c).cast(t) for c, t in DECISION_SCHEMA.items()])


def _oracle(events: pl.DataFrame) -> pl.DataFrame:
    action = (
        pl.when(pl.col("strength") != "strong")
        .then(pl.lit("hold"))
        .when(pl.col("direction") == "positive")
        .then(pl.lit("long"))
        .when(pl.col("direction") == "negative")
        .then(pl.lit("short"))
        .otherwise(pl.lit("hold"))
    )
    return events.select(
        "event_id",
        action.alias("action"),
        _known_type().alias("predicted_event_type"),
        pl.col("car").alias("predicted_car"),
        pl.format(
            "Oracle: the realised CAR is {} ({} {}).", pl.col("car").round(6), pl.col("strength"), pl.col("direction")
        ).alias("rationale"),
        pl.col("headline"),
    )


def type_prior_table(labelled: pl.DataFrame, cfg: PolicyConfig) -> pl.DataFrame:
    """Per event type: ``historical_events`` and ``historical_mean_car`` over the included events of
    the ``historical`` split, and the prior ``action`` (long/short by the sign of the mean; hold for
    a zero mean or fewer than ``cfg.type_prior_min_events`` events). Sorted by event type."""
    if "split" not in labelled.columns:
        raise PolicyError(
            "type_prior needs the 'split' column (janus_core chronological split) to use the historical split only"
        )
    hist = labelled.filter((pl.col("split") == "historical") & pl.col("car").is_not_null())
    stats = (
        hist.group_by("event_type")
        .agg(pl.len().alias("historical_events"))
        .join(group_means(hist, "event_type", {"historical_mean_car": pl.col("car")}), on="event_type")
        .sort("event_type")
    )
    enough = pl.col("historical_events") >= cfg.type_prior_min_events
    return stats.with_columns(
        pl.when(enough & (pl.col("historical_mean_car") > 0))
        .then(pl.lit("long"))
        .when(enough & (pl.col("historical_mean_car") < 0))
        .then(pl.lit("short"))
        .otherwise(pl.lit("hold"))
        .alias("action")
    )


def _type_prior(events: pl.DataFrame, labelled: pl.DataFrame, cfg: PolicyConfig) -> pl.DataFrame:
    prior = type_prior_table(labelled, cfg)
    joined = events.join(prior, on="event_type", how="left", maintain_order="left")
    return joined.select(
        "event_id",
        pl.col("action").fill_null("hold"),
        _known_type().alias("predicted_event_type"),
        pl.col("historical_mean_car").alias("predicted_car"),
        pl.when(pl.col("historical_events").is_null())
        .then(pl.format("No historical {} events: hold.", pl.col("event_type")))
        .otherwise(
            pl.format(
                "Historical mean CAR of {} events is {} over {} events.",
                pl.col("event_type"),
                pl.col("historical_mean_car").round(6),
                pl.col("historical_events"),
            )
        )
        .alias("rationale"),
        pl.col("headline"),
    )


def _sentiment(events: pl.DataFrame) -> pl.DataFrame:
    action = (
        pl.when(pl.col("sentiment") == "positive")
        .then(pl.lit("long"))
        .when(pl.col("sentiment") == "negative")
        .then(pl.lit("short"))
        .otherwise(pl.lit("hold"))
    )
    return events.select(
        "event_id",
        action.alias("action"),
        _known_type().alias("predicted_event_type"),
        pl.lit(None, dtype=pl.Float64).alias("predicted_car"),
        pl.format("News sentiment is {}.", pl.col("sentiment").fill_null("missing")).alias("rationale"),
        pl.col("headline"),
    )


def _constant(events: pl.DataFrame, action: str) -> pl.DataFrame:
    return events.select(
        "event_id",
        pl.lit(action).alias("action"),
        pl.lit(None, dtype=pl.String).alias("predicted_event_type"),
        pl.lit(None, dtype=pl.Float64).alias("predicted_car"),
        pl.lit(f"Constant policy: always {action}.").alias("rationale"),
        pl.col("headline"),
    )


def _random(events: pl.DataFrame, cfg: PolicyConfig) -> pl.DataFrame:
    rng = np.random.default_rng(cfg.seed)
    n = events.height
    actions = np.array(["long", "short", "hold"])[rng.integers(0, 3, n)]
    types = np.array(EVENT_TYPES)[rng.integers(0, len(EVENT_TYPES), n)]
    cars = rng.normal(0.0, cfg.random_car_sd, n)
    return events.select("event_id", "headline").with_columns(
        pl.Series("action", actions, dtype=pl.String),
        pl.Series("predicted_event_type", types, dtype=pl.String),
        pl.Series("predicted_car", cars, dtype=pl.Float64),
        pl.lit(f"Random policy (seed {cfg.seed}).").alias("rationale"),
    )


def make_decisions(
    policy: str, labelled: pl.DataFrame, cfg: PolicyConfig | None = None, *, completions: bool = True
) -> pl.DataFrame:
    """The decisions table (``decisions.DECISION_SCHEMA``) of a baseline ``policy`` (one of
    ``POLICIES``) on every included event of ``labelled``, in its row order; ``completions`` false
    leaves ``completion`` null instead of writing each decision's structured completion."""
    cfg = cfg or PolicyConfig()
    if policy not in POLICIES:
        raise PolicyError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    needed: dict[str, tuple[str, ...]] = {
        "oracle": ("direction", "strength", "event_type"),
        "type_prior": ("event_type", "split"),
        "sentiment": ("sentiment", "event_type"),
    }
    labelled = (
        labelled
        if "headline" in labelled.columns
        else labelled.with_columns(pl.lit(None, dtype=pl.String).alias("headline"))
    )
    events = _included(labelled, needed.get(policy, ()))
    if policy == "oracle":
        frame = _oracle(events)
    elif policy == "type_prior":
        frame = _type_prior(events, labelled, cfg)
    elif policy == "sentiment":
        frame = _sentiment(events)
    elif policy == "random":
        frame = _random(events, cfg)
    else:
        frame = _constant(events, policy.removeprefix("always_"))
    influence = pl.concat_str(pl.lit("News: "), pl.col("headline").fill_null("(no headline)"))
    return _with_completions(frame, policy, influence, completions)
