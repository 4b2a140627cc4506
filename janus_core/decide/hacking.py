"""The reward-hacking check: every policy that ignores the news (constant answers, random, the
label-shuffled oracle) scored by the HGRM and compared with a realistically skilled baseline and with
zero; a reward configuration under which any of them pays is flagged."""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import DECISION_SCHEMA
from janus_core.decide.policies import PolicyConfig, make_decisions
from janus_core.decide.reward import HgrmConfig, label_arrays, labels_frame, magnitude_term, score
from janus_core.decide.reward_terms import REWARD_COLUMNS, RewardInputs, hgrm_tables, hgrm_terms, scaffold_terms
from janus_core.study.labels import group_means


def _constant_grid(labelled: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The included events and the grid of constant policies (:func:`constant_decisions`), one row
    per policy."""
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
    return included, pl.DataFrame(
        rows,
        schema={
            "strategy_id": pl.String,
            "action": pl.String,
            "predicted_event_type": pl.String,
            "predicted_strength": pl.String,
            "predicted_car": pl.Float64,
        },
    )


def constant_decisions(labelled: pl.DataFrame) -> pl.DataFrame:
    """Decisions of every constant policy on every included event: action long/short/hold (strength
    strong when trading, weak for a hold: trading is the strength judgement) x predicted type (none
    or each of the ten) x predicted CAR (none, 0, +q, -q with q the median |CAR| of the included
    events). ``strategy_id`` spells out the constants, e.g. ``const:long|dividend|car=+q``."""
    included, grid = _constant_grid(labelled)
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
    return pl.concat(
        [f.select(*columns, "kind") for f in (consts, *_news_blind_baselines(labelled, check))], how="vertical"
    )


def _news_blind_baselines(labelled: pl.DataFrame, check: HackingCheckConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``random`` and ``shuffled`` policies of :func:`no_skill_decisions` (with ``kind``), without
    completions (their structured fields are what is scored)."""
    random = make_decisions("random", labelled, PolicyConfig(), completions=False).with_columns(
        pl.lit("random").alias("kind")
    )
    oracle = make_decisions("oracle", labelled, PolicyConfig(), completions=False)
    perm = np.random.default_rng(check.seed + 1).permutation(oracle.height)
    shuffled = (
        oracle.select("event_id")
        .with_columns(oracle.drop("event_id")[perm].with_columns(pl.lit("shuffled_oracle").alias("strategy_id")))
        .with_columns(pl.lit("shuffled").alias("kind"))
    )
    return random, shuffled


def constant_policy_means(labelled: pl.DataFrame, cfg: HgrmConfig) -> pl.DataFrame:
    """Mean final reward of every constant policy (:func:`constant_decisions`) without building its
    decisions: a constant policy's reward on an event depends only on the event's labels, so its
    final rewards are the reward formula (``reward_terms.hgrm_terms`` / ``scaffold_terms``) over the
    included events' label arrays. For one action and predicted CAR, a policy predicting type ``t``
    gets on each event what a policy predicting the event's own type gets where that type is ``t``,
    and what one predicting a type no event has gets elsewhere; so three passes of the formula per
    action and predicted CAR (no type, every type right, every type wrong) give all eleven policies'
    rewards, each value the formula's own. Each mean is the sum over the events in label order (the
    order :func:`janus_core.study.labels.group_means` sums ``score``'s rows in, with the same NumPy
    reduction) over their count, so it equals ``group_means(score(constant_decisions(...)))`` to the
    last bit. Columns ``strategy_id, kind, action, predicted_event_type, predicted_car,
    mean_final_reward``; no rows without included events."""
    _, grid = _constant_grid(labelled)
    labels = labels_frame(labelled, cfg)
    lab = {k: v[:-1] for k, v in label_arrays(labels).items()}
    keep = np.isfinite(lab["car"])
    lab = {k: v[keep] for k, v in lab.items()}
    n = int(keep.sum())
    frame = grid.select(
        "strategy_id", pl.lit("constant").alias("kind"), "action", "predicted_event_type", "predicted_car"
    ).with_columns(pl.lit(None, dtype=pl.Float64).alias("mean_final_reward"))
    if n == 0:
        return frame.clear()
    car = pl.Series(lab["car"])
    r_mag = {
        c: magnitude_term(pl.Series([c], dtype=pl.Float64), car, cfg) for c in set(grid["predicted_car"].to_list())
    }
    terms = hgrm_terms if cfg.profile == "hgrm" else scaffold_terms
    tables = hgrm_tables(cfg) if cfg.profile == "hgrm" else None
    out = {c: np.empty(n, dtype=bool if c == "clipped" else np.float64) for c in REWARD_COLUMNS}

    def final_rewards(action: str, pred_type: np.ndarray, c_hat: float | None) -> np.ndarray:
        x = RewardInputs(
            a=np.int8({"long": 1, "short": -1, "hold": 0}[action]),
            d=lab["d"],
            strong=lab["strong"],
            true_type=lab["true_type"],
            pred_type=pred_type,
            car=lab["car"],
            pred_car=np.float64(np.nan if c_hat is None else c_hat),
            r_mag=r_mag[c_hat],
            format_ok=np.bool_(True),
            verbose=np.bool_(False),
            rationale=np.bool_(False),
        )
        terms(cfg, x, out, tables)
        return out["final_reward"].copy()

    codes = {t: i for i, t in enumerate(EVENT_TYPES)}
    # the type codes of a policy predicting each event's own type, and one predicting a type none has
    own_type, no_event_type = lab["true_type"], np.int8(len(EVENT_TYPES))
    by_action_car: dict[tuple[str, float | None], tuple[np.ndarray, np.ndarray]] = {}
    sums = np.empty(grid.height)
    for i, (action, etype, c_hat) in enumerate(grid.select("action", "predicted_event_type", "predicted_car").rows()):
        if etype is None:
            final = final_rewards(action, np.int8(-1), c_hat)
        else:
            if (action, c_hat) not in by_action_car:
                by_action_car[action, c_hat] = (
                    final_rewards(action, own_type, c_hat),
                    final_rewards(action, no_event_type, c_hat),
                )
            right, wrong = by_action_car[action, c_hat]
            final = np.where(own_type == codes[etype], right, wrong)
        sums[i] = np.add.reduceat(final, [0])[0]
    return frame.with_columns(pl.Series("mean_final_reward", sums / np.full(grid.height, n, dtype=np.int64)))


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
    random, shuffled = _news_blind_baselines(labelled, check)
    # one scoring of the random, shuffled and skilled decisions: each strategy's rows keep their
    # order, so group_means sums each exactly as it would alone
    together = [random.drop("kind"), shuffled.drop("kind"), skilled_decisions(labelled, check)]
    scored = score(pl.concat([d.select(list(DECISION_SCHEMA)) for d in together], how="vertical"), labelled, cfg)
    means = group_means(scored, "strategy_id", {"mean_final_reward": pl.col("final_reward")})
    baselines = [
        means.filter(pl.col("strategy_id").is_in(policy["strategy_id"].unique().implode())).select(
            "strategy_id",
            pl.lit(policy["kind"][0] if policy.height else None, dtype=pl.String).alias("kind"),
            pl.lit(None, dtype=pl.String).alias("action"),
            pl.lit(None, dtype=pl.String).alias("predicted_event_type"),
            pl.lit(None, dtype=pl.Float64).alias("predicted_car"),
            "mean_final_reward",
        )
        for policy in (random, shuffled)
    ]
    per = pl.concat([constant_policy_means(labelled, cfg), *baselines], how="vertical")
    skilled_row = means.filter(pl.col("strategy_id") == "skilled")["mean_final_reward"]
    skilled = (
        float(skilled_row[0])
        if skilled_row.len() and skilled_row[0] is not None
        else skilled_mean_reward(labelled, cfg, check)
    )
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
