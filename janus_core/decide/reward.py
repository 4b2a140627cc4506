"""The Hierarchical-Gated Reward Model (HGRM) of Janus-Q, Stage II, and the lane's reference reward.

Notation per decision: action sign ``a`` (long +1, short -1, hold 0); true CAR ``c``, true direction
``d`` = +1/-1/0 (positive/negative/neutral), true strength ``s``, true type ``e``; predictions: type
``e_hat``, CAR ``c_hat``; ``format_ok`` and the completion text.

Profile ``hgrm`` (the paper's structure; constants are ours, the paper publishes none)
--------------------------------------------------------------------------------------
- Predicted direction ``p``: ``a`` when trading; for a hold, the sign of ``c_hat`` outside
  ``[-neutral_band, neutral_band]`` and 0 inside it or without ``c_hat``, so a model that forecasts
  a direction but judges the event too weak to trade is still scored on it.
- Direction score ``s_dir``: +1 when ``p == d`` (``direction_gate`` "match"), ``-lambda_dir`` when
  ``p == -d != 0`` ("mismatch"), ``s_dir_neutral`` when exactly one of them is 0 ("neutral").
  Hard gate ``g_dir = 1 if s_dir >= 0 else 0`` (always 1 with ``use_direction_gate`` off).
- Abstention (a hold with no predicted CAR or one inside the neutral band: ``p = 0``): on an event
  that moved (``d != 0``) it scores ``s_dir_neutral`` (-0.25), the gate closes, so no PnL and no
  magnitude credit, and it keeps the type term, the format reward and the skip-strong penalty. With
  the defaults and no type that is -0.25 - 0.125 + 0.2 = -0.175 on a weak event and -0.275 on a
  strong one: abstaining never pays. On a neutral event (``d = 0``) it is the right answer ("match",
  +1, the gate open).
- Event type: ``event_type_gate`` "match" (``e_hat == e``): ``r_evt = 1``, ``m_evt = 1``;
  "mismatch": ``r_evt = -lambda_evt``, ``m_evt = alpha``; "unknown" with no ``e_hat``:
  ``r_evt = -lambda_miss``, ``m_evt = alpha``; "unknown" because the true type is outside the
  taxonomy: ``r_evt = 0``, ``m_evt = 1`` (nothing to judge). ``use_event_gate`` off: ``r_evt = 0``,
  ``m_evt = 1``.
- Cost-aware PnL: ``r_pnl = clip(a * c - kappa, -rho, rho)`` with ``kappa = round_trip_cost_bps / 10,000`` when trading, 0 for a hold (0 with
  ``use_pnl`` off). Trading *is* the strength judgement (the paper takes a position only on a
  predicted strong event), so ``predicted_strength`` is kept for decision metrics but not rewarded:
  it cannot be used to dodge the penalty below.
- Strength penalty (asymmetric): ``penalty_trade_weak`` for trading a weak event,
  ``penalty_skip_strong`` for holding a strong one, else 0 (0 with ``use_strength_penalty`` off).
- Magnitude: ``r_mag = exp(-(c_hat - c)^2 / (2 sigma^2))``, 0 without ``c_hat`` (or ``use_magnitude`` off).
- Format: ``r_fmt = fmt_ok_reward`` if ``format_ok`` else ``fmt_fail_reward``, minus
  ``verbosity_penalty`` when the completion is longer than ``max_completion_chars`` (0 with
  ``use_format`` off).
- Composition: ``R = w_dir*s_dir + w_evt*r_evt + w_fmt*r_fmt + g_dir*(w_pnl*m_evt*r_pnl + w_mag*r_mag)
  - strength_penalty``; ``final_reward = clip(R, -final_clip, final_clip)``.

Output columns (hgrm): ``direction_reward = w_dir*s_dir``, ``event_reward = w_evt*r_evt``,
``pnl_reward = g_dir*w_pnl*m_evt*r_pnl``, ``magnitude_reward = g_dir*w_mag*r_mag``,
``process_reward = w_fmt*r_fmt``, so ``final_reward_unclipped = direction_reward + event_reward +
pnl_reward + magnitude_reward + process_reward - strength_penalty``; ``clipped`` is true when the clip
changed the value.

Profile ``lane_scaffold`` (the lane's reference reward, lane-contract.md, exactly)
----------------------------------------------------------------------------------
``direction_gate``: "neutral" when the expected direction is neutral, "match" when the action equals
it, else "mismatch"; a hold (the lane has none) takes no direction, so its gate is "neutral".
Values 1 / -1 / -0.5 go to ``s_dir`` and ``g_dir``. Type gate match 1 / mismatch 0.4 / unknown (no
``e_hat``) 0.7 goes to ``r_evt`` and ``m_evt``; as in the lane, a prediction is compared with the
true type as a string, so any prediction for an "unknown" true type is a mismatch.
``pnl_reward = r_pnl = c * a - cost`` (cost 5 bps, so a hold pays it as written),
``magnitude_reward = r_mag = |c|`` if the action's direction equals the expected one, else ``-|c|``,
``process_reward = r_fmt = 0.10`` when a non-empty rationale is present,
``final = g_dir * m_evt * pnl + magnitude + process`` clipped to [-3, 3]; ``direction_reward``,
``event_reward`` and ``strength_penalty`` are 0.

Decisions whose event is absent from the labels or excluded keep their row with ``mapped`` false,
``unmapped_reason`` set and null rewards.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import validate_decisions
from janus_core.hashing import H, decimal_str
from janus_core.study.labels import group_means

ProfileName = Literal["hgrm", "lane_scaffold"]
PROFILES: tuple[str, ...] = ("hgrm", "lane_scaffold")
LABEL_COLUMNS: tuple[str, ...] = ("event_id", "event_type", "car", "direction", "strength")


class RewardError(ValueError):
    """The labels or the reward configuration break a rule the reward relies on."""


class HgrmConfig(BaseModel):
    """Every constant of the reward. The paper (arXiv:2602.19919) publishes the HGRM's structure but
    none of its numbers; each default below is ours, with its reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: ProfileName = Field("hgrm", description="Which reward: the paper's HGRM or the lane's scaffold.")

    # Direction (hard gate)
    lambda_dir: float = Field(
        2.0,
        gt=1.0,
        description=(
            "Penalty factor for the opposite direction (paper: > 1). 2.0 makes a wrong call cost twice what a "
            "right call earns: a coin-flip direction scores 0.5 - 0.5 * 2 = -0.5 per event, more than an "
            "always-trading policy collects from the gated PnL and magnitude terms on its right half plus the "
            "format credit, so always-trade does not pay (constant_policy_check; with 1.5 it did, +0.11 on the "
            "demo). The direction score alone turns positive above a 2/3 direction accuracy."
        ),
    )
    neutral_band: float = Field(
        0.0005,
        ge=0.0,
        description=(
            "A hold's predicted CAR within +/- this band expresses no direction: the label step's own "
            "neutral band (LabelConfig.neutral_band, 5 bps), so predicting the true CAR always matches."
        ),
    )
    s_dir_neutral: float = Field(
        -0.25,
        description=(
            "Direction score when exactly one of predicted/true direction is neutral, e.g. an abstention (a "
            "hold with no predicted CAR or one inside the neutral band) on an event that moved. Negative, so "
            "it also closes the direction gate: an abstention earns no PnL and no magnitude credit for a "
            "predicted 0 that happens to be near a small CAR (with 0 it did, +0.12 on the demo). -0.25: "
            "saying nothing costs less than a wrong call (-lambda_dir) but is never free; a hold that states "
            "the right direction through its predicted CAR scores +1."
        ),
    )
    # Event type (soft gate)
    lambda_evt: float = Field(
        0.5, ge=0.0, description=("Penalty for a wrong event type: half the credit of a right one, a confident error.")
    )
    lambda_miss: float = Field(
        0.25,
        ge=0.0,
        description=(
            "Penalty for no event type: smaller than lambda_evt, abstaining is better than a wrong type "
            "but still worse than answering."
        ),
    )
    alpha: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description=(
            "PnL multiplier m_evt when the type is wrong or missing (paper: in (0,1)); 0.5 halves profit "
            "earned without understanding the event."
        ),
    )
    # Cost-aware PnL
    round_trip_cost_bps: float = Field(
        15.0,
        ge=0.0,
        description=(
            "kappa of the paper: the round-trip trading cost, in basis points of traded value (the one "
            "cost fact of the workbench, LabelConfig.round_trip_cost_bps; the export passes the same "
            "value to labels, reward and backtest). r_pnl subtracts it as a return, / 10,000."
        ),
    )
    rho: float = Field(
        0.05,
        gt=0.0,
        description=(
            "PnL clip: twice the largest published mean |CAR| by type (risk_warning 0.0511 aside, about "
            "2x 0.025), so tail events cannot dominate a batch."
        ),
    )
    strength_tau_override: float | None = Field(
        None,
        gt=0.0,
        description=(
            "Re-derive the true strength as |c| >= this (to study the label step's tau without "
            "relabelling); None uses the labels' own ``strength`` (set by LabelConfig.tau)."
        ),
    )
    penalty_trade_weak: float = Field(
        0.2,
        ge=0.0,
        description=(
            "Penalty for trading a weak event: the larger side of the asymmetry, since such a trade loses "
            "the cost for certain."
        ),
    )
    penalty_skip_strong: float = Field(
        0.1,
        ge=0.0,
        description=(
            "Penalty for holding a strong event: half the weak-trade penalty, since a skipped trade loses "
            "only an opportunity (the forgone PnL already counts)."
        ),
    )
    # Magnitude
    sigma: float = Field(
        0.02,
        gt=0.0,
        description=(
            "Width of the Gaussian magnitude reward, about the published mean |CAR| (0.019..0.051): an "
            "error of one typical CAR keeps roughly half the credit."
        ),
    )
    # Format / process
    fmt_ok_reward: float = Field(1.0, description="Format reward for a well-formed structured output.")
    fmt_fail_reward: float = Field(
        -1.0,
        description=(
            "Format reward for a malformed output: negative, so unparseable text is worse than any well-formed answer."
        ),
    )
    max_completion_chars: int = Field(
        4000,
        gt=0,
        description=("Completions longer than this are verbose: about 1,000 tokens, ample for three short sections."),
    )
    verbosity_penalty: float = Field(0.5, ge=0.0, description="Subtracted from r_fmt for a verbose completion.")
    # Weights
    w_dir: float = Field(1.0, ge=0.0, description="Weight of s_dir: direction is the top of the hierarchy.")
    w_evt: float = Field(0.5, ge=0.0, description="Weight of r_evt: type matters, less than direction.")
    w_fmt: float = Field(0.2, ge=0.0, description="Weight of r_fmt: enough to learn the format, too small to farm.")
    w_pnl: float = Field(
        20.0,
        ge=0.0,
        description=(
            "Weight of r_pnl, which is in return units: 1/rho, so a trade at the clip earns as much as a "
            "right direction."
        ),
    )
    w_mag: float = Field(
        0.3,
        ge=0.0,
        description=(
            "Weight of r_mag (in [0,1]): a calibration bonus below the type weight; with the other weights "
            "the best possible R is exactly final_clip (1 + 0.5 + 0.2 + 1 + 0.3 = 3), so the clip is a "
            "safety bound that never flattens a perfect answer."
        ),
    )
    final_clip: float = Field(
        3.0,
        gt=0.0,
        description=(
            "Final reward clipped to [-final_clip, final_clip]: the lane's bound, keeps GRPO advantages sane."
        ),
    )
    # Ablation switches (the paper's Table 4 variants, plus format and strength)
    use_direction_gate: bool = Field(True, description="False: g_dir = 1 always (paper: w/o direction gate).")
    use_event_gate: bool = Field(True, description="False: r_evt = 0 and m_evt = 1 (paper: w/o event-type gate).")
    use_pnl: bool = Field(True, description="False: r_pnl = 0 (paper: w/o PnL).")
    use_magnitude: bool = Field(True, description="False: r_mag = 0 (paper: w/o magnitude).")
    use_format: bool = Field(True, description="False: r_fmt = 0.")
    use_strength_penalty: bool = Field(True, description="False: no strength penalty.")
    # The lane's scaffold profile (lane-contract.md)
    scaffold_direction_match: float = Field(1.0, description="Lane scaffold: direction gate value on a match.")
    scaffold_direction_mismatch: float = Field(-1.0, description="Lane scaffold: direction gate value on a mismatch.")
    scaffold_direction_neutral: float = Field(-0.5, description="Lane scaffold: direction gate value when neutral.")
    scaffold_type_match: float = Field(1.0, description="Lane scaffold: event-type gate value on a match.")
    scaffold_type_mismatch: float = Field(0.4, description="Lane scaffold: event-type gate value on a mismatch.")
    scaffold_type_unknown: float = Field(0.7, description="Lane scaffold: event-type gate value with no type.")
    scaffold_cost_bps: float = Field(5.0, ge=0.0, description="Lane scaffold: cost in basis points.")
    scaffold_process_bonus: float = Field(
        0.10, description="Lane scaffold: process reward when a rationale is present."
    )

    @property
    def kappa(self) -> float:
        """The paper's kappa in return units: ``round_trip_cost_bps / 10,000``."""
        return self.round_trip_cost_bps / 10_000.0

    @model_validator(mode="after")
    def _penalties_ordered(self) -> "HgrmConfig":
        if self.lambda_miss > self.lambda_evt:
            raise ValueError("lambda_miss must not exceed lambda_evt: a missing type cannot cost more than a wrong one")
        return self


def reward_profile(name: str) -> HgrmConfig:
    """The named reward configuration: ``hgrm`` (the defaults above) or ``lane_scaffold`` (the lane's
    reference reward, lane-contract.md)."""
    if name not in PROFILES:
        raise RewardError(f"unknown reward profile {name!r}; choose one of {', '.join(PROFILES)}")
    return HgrmConfig(profile=name)


def reward_config_payload(cfg: HgrmConfig) -> dict[str, str]:
    """Every constant as a string (numbers as plain decimals), the lane's ``reward_config`` form."""
    out: dict[str, str] = {}
    for key, value in cfg.model_dump().items():
        if isinstance(value, bool) or value is None or isinstance(value, str):
            out[key] = "none" if value is None else str(value).lower() if isinstance(value, bool) else value
        else:
            out[key] = decimal_str(value)
    return out


def reward_config_hash(cfg: HgrmConfig) -> str:
    """``H`` of :func:`reward_config_payload`: one hash pins every constant."""
    return H(reward_config_payload(cfg))


def _labels_frame(labelled: pl.DataFrame, cfg: HgrmConfig) -> pl.DataFrame:
    missing = [c for c in LABEL_COLUMNS if c not in labelled.columns]
    if missing:
        raise RewardError(f"labelled CAR table lacks column(s) {', '.join(missing)}")
    dup = labelled.select((~pl.col("event_id").is_first_distinct()).arg_true().first()).item()
    if dup is not None:
        raise RewardError(
            f"labelled CAR table: row {dup}, column 'event_id': {labelled['event_id'][dup]!r} is not unique"
        )
    included = pl.col("car").is_not_null()
    rules = (
        (
            "direction",
            included & ~pl.col("direction").is_in(["positive", "negative", "neutral"]),
            "must be positive|negative|neutral for an included event",
        ),
        (
            "strength",
            included & ~pl.col("strength").is_in(["strong", "weak"]),
            "must be strong|weak for an included event",
        ),
        ("car", included & ~pl.col("car").is_finite(), "must be finite"),
    )
    for col, bad, rule in rules:
        row = labelled.select(bad.fill_null(True).arg_true().first()).item()
        if row is not None:
            raise RewardError(f"labelled CAR table: row {row}, column {col!r}: value {labelled[col][row]!r} {rule}")
    reason = pl.col("excluded_reason") if "excluded_reason" in labelled.columns else pl.lit(None, dtype=pl.String)
    strength = (
        pl.col("strength")
        if cfg.strength_tau_override is None
        else pl.when(pl.col("car").abs() >= cfg.strength_tau_override).then(pl.lit("strong")).otherwise(pl.lit("weak"))
    )
    return labelled.select(
        pl.col("event_id").cast(pl.String),
        pl.col("event_type").cast(pl.String).alias("_true_type"),
        pl.col("car").cast(pl.Float64).alias("_car"),
        pl.col("direction").cast(pl.String).alias("_direction"),
        strength.cast(pl.String).alias("_strength"),
        reason.cast(pl.String).alias("_excluded_reason"),
        pl.lit(True).alias("_in_labels"),
    )


def _sign_of(col: str, plus: str, minus: str) -> pl.Expr:
    return pl.when(pl.col(col) == plus).then(1).when(pl.col(col) == minus).then(-1).otherwise(0).cast(pl.Int8)


def _hgrm_terms(cfg: HgrmConfig) -> list[list[pl.Expr]]:
    a, d, c = pl.col("_a"), pl.col("_d"), pl.col("_car")
    c_hat = pl.col("predicted_car")
    p = (
        pl.when(a != 0)
        .then(a)
        .when(c_hat > cfg.neutral_band)
        .then(1)
        .when(c_hat < -cfg.neutral_band)
        .then(-1)
        .otherwise(0)
        .cast(pl.Int8)
    )
    direction_gate = (
        pl.when(p == d).then(pl.lit("match")).when(p * d == -1).then(pl.lit("mismatch")).otherwise(pl.lit("neutral"))
    )
    s_dir = pl.when(p == d).then(1.0).when(p * d == -1).then(-cfg.lambda_dir).otherwise(cfg.s_dir_neutral)
    g_dir = pl.when(pl.col("s_dir") >= 0).then(1.0).otherwise(0.0) if cfg.use_direction_gate else pl.lit(1.0)
    truth_known = pl.col("_true_type").is_in(EVENT_TYPES)
    e_hat = pl.col("predicted_event_type")
    type_gate = (
        pl.when(~truth_known | e_hat.is_null())
        .then(pl.lit("unknown"))
        .when(e_hat == pl.col("_true_type"))
        .then(pl.lit("match"))
        .otherwise(pl.lit("mismatch"))
    )
    if cfg.use_event_gate:
        r_evt = (
            pl.when(~truth_known)
            .then(0.0)
            .when(e_hat.is_null())
            .then(-cfg.lambda_miss)
            .when(e_hat == pl.col("_true_type"))
            .then(1.0)
            .otherwise(-cfg.lambda_evt)
        )
        m_evt = pl.when(~truth_known | (e_hat == pl.col("_true_type")).fill_null(False)).then(1.0).otherwise(cfg.alpha)
    else:
        r_evt, m_evt = pl.lit(0.0), pl.lit(1.0)
    trade = a != 0
    r_pnl = (
        pl.when(trade).then((a.cast(pl.Float64) * c - cfg.kappa).clip(-cfg.rho, cfg.rho)).otherwise(0.0)
        if cfg.use_pnl
        else pl.lit(0.0)
    )
    r_mag = (((c_hat - c) ** 2) / (-2.0 * cfg.sigma**2)).exp().fill_null(0.0) if cfg.use_magnitude else pl.lit(0.0)
    verbose = pl.col("completion").str.len_chars().fill_null(0) > cfg.max_completion_chars
    r_fmt = (
        pl.when(pl.col("format_ok")).then(cfg.fmt_ok_reward).otherwise(cfg.fmt_fail_reward)
        - pl.when(verbose).then(cfg.verbosity_penalty).otherwise(0.0)
        if cfg.use_format
        else pl.lit(0.0)
    )
    strong = pl.col("_strength") == "strong"
    penalty = (
        pl.when(trade & ~strong)
        .then(cfg.penalty_trade_weak)
        .when(~trade & strong)
        .then(cfg.penalty_skip_strong)
        .otherwise(0.0)
        if cfg.use_strength_penalty
        else pl.lit(0.0)
    )
    return [
        [
            direction_gate.alias("direction_gate"),
            type_gate.alias("event_type_gate"),
            s_dir.alias("s_dir"),
            r_evt.alias("r_evt"),
            m_evt.alias("m_evt"),
            r_pnl.alias("r_pnl"),
            r_mag.alias("r_mag"),
            r_fmt.alias("r_fmt"),
            penalty.alias("strength_penalty"),
        ],
        [g_dir.alias("g_dir")],
        [
            (cfg.w_dir * pl.col("s_dir")).alias("direction_reward"),
            (cfg.w_evt * pl.col("r_evt")).alias("event_reward"),
            (pl.col("g_dir") * cfg.w_pnl * pl.col("m_evt") * pl.col("r_pnl")).alias("pnl_reward"),
            (pl.col("g_dir") * cfg.w_mag * pl.col("r_mag")).alias("magnitude_reward"),
            (cfg.w_fmt * pl.col("r_fmt")).alias("process_reward"),
        ],
    ]


def _scaffold_terms(cfg: HgrmConfig) -> list[list[pl.Expr]]:
    a, d, c = pl.col("_a"), pl.col("_d"), pl.col("_car")
    direction_gate = (
        pl.when(d == 0)
        .then(pl.lit("neutral"))
        .when(a == d)
        .then(pl.lit("match"))
        .when(a == 0)
        .then(pl.lit("neutral"))
        .otherwise(pl.lit("mismatch"))
    )
    gate_value = (
        pl.when(pl.col("direction_gate") == "match")
        .then(cfg.scaffold_direction_match)
        .when(pl.col("direction_gate") == "mismatch")
        .then(cfg.scaffold_direction_mismatch)
        .otherwise(cfg.scaffold_direction_neutral)
    )
    e_hat = pl.col("predicted_event_type")
    type_gate = (
        pl.when(e_hat.is_null())
        .then(pl.lit("unknown"))
        .when(e_hat == pl.col("_true_type"))
        .then(pl.lit("match"))
        .otherwise(pl.lit("mismatch"))
    )
    type_value = (
        pl.when(pl.col("event_type_gate") == "match")
        .then(cfg.scaffold_type_match)
        .when(pl.col("event_type_gate") == "mismatch")
        .then(cfg.scaffold_type_mismatch)
        .otherwise(cfg.scaffold_type_unknown)
    )
    pnl = a.cast(pl.Float64) * c - cfg.scaffold_cost_bps / 10_000.0
    magnitude = pl.when((a == d) & (a != 0)).then(c.abs()).otherwise(-c.abs())
    has_rationale = pl.col("rationale").str.strip_chars().str.len_chars().fill_null(0) > 0
    process = pl.when(has_rationale).then(cfg.scaffold_process_bonus).otherwise(0.0)
    return [
        [
            direction_gate.alias("direction_gate"),
            type_gate.alias("event_type_gate"),
            pnl.alias("r_pnl"),
            magnitude.alias("r_mag"),
            process.alias("r_fmt"),
            pl.lit(0.0).alias("strength_penalty"),
        ],
        [gate_value.alias("s_dir"), gate_value.alias("g_dir"), type_value.alias("r_evt"), type_value.alias("m_evt")],
        [
            pl.lit(0.0).alias("direction_reward"),
            pl.lit(0.0).alias("event_reward"),
            pl.col("r_pnl").alias("pnl_reward"),
            pl.col("r_mag").alias("magnitude_reward"),
            pl.col("r_fmt").alias("process_reward"),
        ],
    ]


REWARD_COLUMNS: tuple[str, ...] = (
    "s_dir",
    "g_dir",
    "r_evt",
    "m_evt",
    "r_pnl",
    "r_mag",
    "r_fmt",
    "strength_penalty",
    "direction_reward",
    "event_reward",
    "pnl_reward",
    "magnitude_reward",
    "process_reward",
    "final_reward_unclipped",
    "final_reward",
    "clipped",
)
SCORE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "strategy_id",
    "action",
    "mapped",
    "unmapped_reason",
    "expected_direction",
    "event_type",
    "predicted_event_type",
    "car",
    "direction_gate",
    "event_type_gate",
    *REWARD_COLUMNS,
)


def score(
    decisions: pl.DataFrame, labelled: pl.DataFrame, cfg: HgrmConfig | None = None, *, validated: bool = False
) -> pl.DataFrame:
    """Score every decision against the labelled CAR table: one row per decision, same order, the
    columns of ``SCORE_COLUMNS`` (meanings in the module docstring) plus ``profile``.

    ``decisions`` is validated with :func:`janus_core.decide.decisions.validate_decisions` (duplicates
    allowed: a GRPO group scores several completions of one event) unless ``validated`` says it is
    that function's output already (the ablations score one table seven times). Unmapped rows (event not in
    the labels, or excluded there) keep ``mapped`` false, ``unmapped_reason`` and null rewards.
    """
    cfg = cfg or HgrmConfig()
    dec = decisions if validated else validate_decisions(decisions, "decisions", unique=False)
    labels = _labels_frame(labelled, cfg)
    joined = dec.join(labels, on="event_id", how="left", maintain_order="left")
    mapped = pl.col("_in_labels").fill_null(False) & pl.col("_car").is_not_null()
    joined = joined.with_columns(
        mapped.alias("mapped"),
        pl.when(pl.col("_in_labels").is_null())
        .then(pl.lit("event_not_in_labels"))
        .when(pl.col("_car").is_null())
        .then(pl.concat_str(pl.lit("event_excluded:"), pl.col("_excluded_reason").fill_null("unspecified")))
        .otherwise(None)
        .alias("unmapped_reason"),
        pl.col("_direction")
        .replace_strict(
            {"positive": "long", "negative": "short", "neutral": "neutral"}, default=None, return_dtype=pl.String
        )
        .alias("expected_direction"),
        _sign_of("action", "long", "short").alias("_a"),
        _sign_of("_direction", "positive", "negative").alias("_d"),
    )
    first, second, third = _hgrm_terms(cfg) if cfg.profile == "hgrm" else _scaffold_terms(cfg)
    joined = joined.with_columns(first).with_columns(second).with_columns(third)
    if cfg.profile == "hgrm":
        total = (
            pl.col("direction_reward")
            + pl.col("event_reward")
            + pl.col("pnl_reward")
            + pl.col("magnitude_reward")
            + pl.col("process_reward")
            - pl.col("strength_penalty")
        )
    else:
        total = (
            pl.col("g_dir") * pl.col("m_evt") * pl.col("pnl_reward")
            + pl.col("magnitude_reward")
            + pl.col("process_reward")
        )
    joined = (
        joined.with_columns(total.alias("final_reward_unclipped"))
        .with_columns(pl.col("final_reward_unclipped").clip(-cfg.final_clip, cfg.final_clip).alias("final_reward"))
        .with_columns((pl.col("final_reward") != pl.col("final_reward_unclipped")).alias("clipped"))
    )
    is_mapped = pl.col("mapped")
    nulled = [
        pl.when(is_mapped).then(pl.col(c)).otherwise(None).alias(c)
        for c in ("expected_direction", "direction_gate", "event_type_gate", *REWARD_COLUMNS)
    ]
    return joined.with_columns(nulled).select(
        "event_id",
        "strategy_id",
        "action",
        "mapped",
        "unmapped_reason",
        "expected_direction",
        pl.col("_true_type").alias("event_type"),
        "predicted_event_type",
        pl.col("_car").alias("car"),
        "direction_gate",
        "event_type_gate",
        *REWARD_COLUMNS,
        pl.lit(cfg.profile).alias("profile"),
    )


def reward_quantiles(scored: pl.DataFrame) -> pl.DataFrame:
    """The distribution of ``final_reward`` per strategy over its mapped decisions (sorted by
    ``strategy_id``): ``n``, ``min``, ``q25``, ``median``, ``q75``, ``max``, the quantiles by linear
    interpolation between order statistics; enough to draw a box plot without shipping every row."""
    r = pl.col("final_reward")
    return (
        scored.filter(pl.col("mapped"))
        .group_by("strategy_id")
        .agg(
            n=pl.len(),
            min=r.min(),
            q25=r.quantile(0.25, interpolation="linear"),
            median=r.quantile(0.5, interpolation="linear"),
            q75=r.quantile(0.75, interpolation="linear"),
            max=r.max(),
        )
        .sort("strategy_id")
    )


def reward_summary(scored: pl.DataFrame) -> pl.DataFrame:
    """Per strategy (sorted by ``strategy_id``): decision count, mapped count, mean of every reward
    term over mapped decisions, the direction-gate pass ratio (share "match") and the event-type
    match ratio, the clipped count."""
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


#: The ablation variants: the paper's Table 4 rows plus the format and strength terms.
ABLATIONS: tuple[tuple[str, dict[str, bool]], ...] = (
    ("full", {}),
    ("w/o event-type gate", {"use_event_gate": False}),
    ("w/o direction gate", {"use_direction_gate": False}),
    ("w/o magnitude", {"use_magnitude": False}),
    ("w/o pnl", {"use_pnl": False}),
    ("w/o format", {"use_format": False}),
    ("w/o strength penalty", {"use_strength_penalty": False}),
)


def ablation_table(decisions: pl.DataFrame, labelled: pl.DataFrame, base_cfg: HgrmConfig | None = None) -> pl.DataFrame:
    """Mean reward per strategy under each ablation variant of ``base_cfg`` (an ``hgrm`` profile):
    columns ``variant``, then :func:`reward_summary`'s, plus ``rank`` of the strategy within the
    variant (1 = highest mean final reward; ties broken by ``strategy_id``)."""
    base_cfg = base_cfg or HgrmConfig()
    if base_cfg.profile != "hgrm":
        raise RewardError("ablations apply to the hgrm profile only")
    frames = []
    checked = validate_decisions(decisions, "decisions", unique=False)
    for variant, switches in ABLATIONS:
        cfg = base_cfg.model_copy(update=switches)
        summary = reward_summary(score(checked, labelled, cfg, validated=True)).sort(
            ["mean_final_reward", "strategy_id"], descending=[True, False], nulls_last=True
        )
        frames.append(
            summary.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
            .sort("strategy_id")
            .select(pl.lit(variant).alias("variant"), pl.all())
        )
    return pl.concat(frames, how="vertical")
