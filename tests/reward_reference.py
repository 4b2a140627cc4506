"""The polars-expression implementation of ``janus_core.decide.reward.score`` as it stood before the
NumPy fast path (commit 3e6e2a7), kept verbatim as the reference the fast path must match bit for bit
(tests/test_reward_fast.py)."""

from __future__ import annotations

import polars as pl

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import validate_decisions
from janus_core.decide.reward import LABEL_COLUMNS, REWARD_COLUMNS, HgrmConfig, RewardError


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


def reference_score(decisions: pl.DataFrame, labelled: pl.DataFrame, cfg: HgrmConfig | None = None) -> pl.DataFrame:
    """Score every decision against the labelled CAR table: one row per decision, same order, the
    columns of ``SCORE_COLUMNS`` (meanings in the module docstring) plus ``profile``.

    ``decisions`` is validated with :func:`janus_core.decide.decisions.validate_decisions` (duplicates
    allowed: a GRPO group scores several completions of one event). Unmapped rows (event not in
    the labels, or excluded there) keep ``mapped`` false, ``unmapped_reason`` and null rewards.
    """
    cfg = cfg or HgrmConfig()
    dec = validate_decisions(decisions, "decisions", unique=False)
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
