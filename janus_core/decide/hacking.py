"""The reward-hacking check: every policy that ignores the news (constant answers, random, the
label-shuffled oracle) scored by the HGRM and compared with a realistically skilled baseline and with
zero; a reward configuration under which any of them pays is flagged."""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.policies import PolicyConfig, make_decisions
from janus_core.decide.reward import HgrmConfig, score
from janus_core.study.labels import group_means


def constant_decisions(labelled: pl.DataFrame) -> pl.DataFrame:
    """Decisions of every constant policy on every included event: action long/short/hold (strength
    strong when trading, weak for a hold: trading is the strength judgement) x predicted type (none
    or each of the ten) x predicted CAR (none, 0, +q, -q with q the median |CAR| of the included
    events). ``strategy_id`` spells out the constants, e.g. ``const:long|dividend|car=+q``."""
    included = labelled.filter(pl.col("car").is_not_null())
    q = float(included["car"].abs().median()) if included.height else 0.0
    cars: tuple[tuple[str, float | None], ...] = (("none", None), ("0", 0.0), ("+q", q), ("-q", -q))
    rows = []
    for action in ("long", "short", "hold"):
        for etype in (None, *EVENT_TYPES):
            for car_name, car in cars:
                rows.append(
                    {
                        "strategy_id": f"const:{action}|{etype or 'none'}|car={car_name}",
                        "action": action,
                        "predicted_event_type": etype,
                        "predicted_strength": "weak" if action == "hold" else "strong",
                        "predicted_car": car,
                    }
                )
    grid = pl.DataFrame(
        rows,
        schema={
            "strategy_id": pl.String,
            "action": pl.String,
            "predicted_event_type": pl.String,
            "predicted_strength": pl.String,
            "predicted_car": pl.Float64,
        },
    )
    return (
        included.select("event_id")
        .join(grid, how="cross", maintain_order="left_right")
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("rationale"),
            pl.lit(None, dtype=pl.String).alias("completion"),
            pl.lit(True).alias("format_ok"),
        )
    )


class HackingCheckConfig(BaseModel):
    """Constants of the reward-hacking check (:func:`constant_policy_check`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skilled_direction_accuracy: float = Field(
        0.5869,
        gt=0.5,
        le=1.0,
        description=(
            "Direction accuracy of the skilled baseline: the paper's Janus-Q DA on its test window (Table 2, "
            "0.5869), the skill a trained model is expected to reach, so a reward that pays a no-skill policy "
            "as much is one RL can satisfy without learning that skill."
        ),
    )
    skilled_type_accuracy: float = Field(
        0.8009,
        ge=0.0,
        le=1.0,
        description=("Event-type accuracy of the skilled baseline: the paper's ETA (Table 2, 0.8009)."),
    )
    seed: int = Field(20260219, description="Seed of the skilled baseline's errors and of the label shuffle.")
    min_margin: float = Field(
        0.0,
        ge=0.0,
        description=(
            "A no-skill policy is flagged when its mean reward is not below both the skilled baseline's and "
            "zero by more than this margin (0: flagged when it reaches either)."
        ),
    )


def skilled_decisions(labelled: pl.DataFrame, check: HackingCheckConfig | None = None) -> pl.DataFrame:
    """A realistically skilled policy (``strategy_id`` ``skilled``) on every included event: it has
    the paper's direction and type skill and nothing more. Exactly round(DA * N) events, chosen at
    random (seeded), get the sign of their CAR as direction (a CAR of 0 counts as positive), the
    others the opposite; it trades every event in its direction (predicted strong); exactly
    round(ETA * N) random events get their true type, the others one of the other taxonomy types
    (uniform); its predicted CAR is its direction times the median |CAR| of the included events
    (no magnitude skill)."""
    check = check or HackingCheckConfig()
    included = labelled.filter(pl.col("car").is_not_null())
    n = included.height
    rng = np.random.default_rng(check.seed)
    right_dir = rng.permutation(n) < round(check.skilled_direction_accuracy * n)
    right_type = rng.permutation(n) < round(check.skilled_type_accuracy * n)
    wrong = rng.integers(0, len(EVENT_TYPES) - 1, n)
    truth = included["event_type"].cast(pl.String).to_list()
    types = [
        t if ok and t in EVENT_TYPES else [e for e in EVENT_TYPES if e != t][k] if t in EVENT_TYPES else EVENT_TYPES[k]
        for t, ok, k in zip(truth, right_type, wrong, strict=True)
    ]
    sign = np.where(included["car"].to_numpy() >= 0, 1.0, -1.0) * np.where(right_dir, 1.0, -1.0)
    q = float(included["car"].abs().median()) if n else 0.0
    return included.select("event_id").with_columns(
        pl.lit("skilled").alias("strategy_id"),
        pl.Series("action", np.where(sign > 0, "long", "short"), dtype=pl.String),
        pl.Series("predicted_event_type", types, dtype=pl.String),
        pl.lit("strong").alias("predicted_strength"),
        pl.Series("predicted_car", sign * q, dtype=pl.Float64),
        pl.lit(None, dtype=pl.String).alias("rationale"),
        pl.lit(None, dtype=pl.String).alias("completion"),
        pl.lit(True).alias("format_ok"),
    )


def no_skill_decisions(labelled: pl.DataFrame, check: HackingCheckConfig | None = None) -> pl.DataFrame:
    """Every policy that does not read the news, on every included event, with column ``kind``:
    ``constant`` (:func:`constant_decisions`), ``random`` (the seeded random baseline of
    ``janus_core.policies``) and ``shuffled`` (strategy ``shuffled_oracle``: the oracle's decisions
    for a seeded random permutation of the events, i.e. the right answers to other events: the
    label distribution without the link to the news). All are credited with a well-formed output."""

    check = check or HackingCheckConfig()
    consts = constant_decisions(labelled).with_columns(pl.lit("constant").alias("kind"))
    columns = [c for c in consts.columns if c != "kind"]
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
    return pl.concat([f.select(*columns, "kind") for f in (consts, random, shuffled)], how="vertical")


def constant_policy_check(
    labelled: pl.DataFrame, cfg: HgrmConfig | None = None, check: HackingCheckConfig | None = None
) -> pl.DataFrame:
    """The reward-hacking check: can a policy that ignores the news earn as much as one with
    realistic skill, or earn anything at all? Every no-skill policy (:func:`no_skill_decisions`:
    132 constants, random, label-shuffled oracle) is scored on the included events and compared
    with the skilled baseline (:func:`skilled_decisions`) and with zero:
    ``margin_vs_skilled = skilled_mean_reward - mean_final_reward``,
    ``margin_vs_zero = 0 - mean_final_reward``, ``flagged`` when either margin is at most
    ``check.min_margin``. (The oracle maximises every term per event, so beating it is impossible by
    construction; it is no yardstick.)

    Columns: ``strategy_id, kind, action, predicted_event_type, predicted_car, mean_final_reward,
    skilled_mean_reward, margin_vs_skilled, margin_vs_zero, flagged`` (action, type and CAR null
    for the policies that vary them), sorted by mean reward (highest first), then ``strategy_id``."""
    cfg = cfg or HgrmConfig()
    check = check or HackingCheckConfig()
    decisions = no_skill_decisions(labelled, check)
    scored = score(decisions.drop("kind"), labelled, cfg)
    constant = pl.col("kind") == "constant"
    firsts = decisions.group_by("strategy_id").agg(
        pl.first("kind"),
        *[
            pl.when(constant.first()).then(pl.first(c)).alias(c)
            for c in ("action", "predicted_event_type", "predicted_car")
        ],
    )
    per = firsts.join(
        group_means(scored, "strategy_id", {"mean_final_reward": pl.col("final_reward")}), on="strategy_id", how="left"
    )
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


def skilled_mean_reward(
    labelled: pl.DataFrame, cfg: HgrmConfig | None = None, check: HackingCheckConfig | None = None
) -> float:
    """Mean final reward of the skilled baseline (:func:`skilled_decisions`) on the included events."""
    scored = score(skilled_decisions(labelled, check), labelled, cfg or HgrmConfig())
    return float(group_means(scored, "profile", {"m": pl.col("final_reward")})["m"][0])


def hacking_verdict(check_table: pl.DataFrame) -> dict[str, object]:
    """The check in one record: ``hackable`` (any policy flagged), ``policies``, ``flagged``, the
    best no-skill policy (``best_policy``, ``best_mean_reward``), ``skilled_mean_reward`` and the
    smallest margins over all no-skill policies (``margin_vs_skilled``, ``margin_vs_zero``)."""
    best = check_table.sort(["mean_final_reward", "strategy_id"], descending=[True, False]).row(0, named=True)
    return {
        "hackable": bool(check_table["flagged"].any()),
        "policies": check_table.height,
        "flagged": int(check_table["flagged"].sum()),
        "best_policy": best["strategy_id"],
        "best_mean_reward": best["mean_final_reward"],
        "skilled_mean_reward": best["skilled_mean_reward"],
        "margin_vs_skilled": check_table["margin_vs_skilled"].min(),
        "margin_vs_zero": check_table["margin_vs_zero"].min(),
    }
