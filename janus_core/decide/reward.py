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

from dataclasses import dataclass

import numpy as np
import polars as pl

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import validate_decisions
from janus_core.decide.reward_config import (
    PROFILES,
    HgrmConfig,
    ProfileName,
    RewardError,
    reward_config_hash,
    reward_config_payload,
    reward_profile,
)
from janus_core.study.labels import group_means

__all__ = [
    "ABLATIONS",
    "LABEL_COLUMNS",
    "PROFILES",
    "REWARD_COLUMNS",
    "SCORE_COLUMNS",
    "HgrmConfig",
    "ProfileName",
    "RewardError",
    "RewardInputs",
    "ablation_table",
    "hgrm_terms",
    "label_arrays",
    "labels_frame",
    "magnitude_term",
    "reward_config_hash",
    "reward_config_payload",
    "reward_profile",
    "reward_quantiles",
    "reward_summary",
    "scaffold_terms",
    "score",
]

LABEL_COLUMNS: tuple[str, ...] = ("event_id", "event_type", "car", "direction", "strength")
#: Gate codes of :func:`hgrm_terms` / :func:`scaffold_terms`, by position: 0 match, 1 mismatch, then
#: 2 "neutral" (direction gate) or "unknown" (event-type gate).
DIRECTION_GATES: tuple[str, ...] = ("match", "mismatch", "neutral")
TYPE_GATES: tuple[str, ...] = ("match", "mismatch", "unknown")
#: True-type codes besides the index into ``EVENT_TYPES``: outside the taxonomy (nothing to judge),
#: and null (a known type no prediction matches, as the string comparison with a null treats it).
TYPE_OUTSIDE, TYPE_NULL = -2, -3
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


def labels_frame(labelled: pl.DataFrame, cfg: HgrmConfig) -> pl.DataFrame:
    """The labelled CAR table checked for what the reward relies on (unique event ids; direction,
    strength and a finite CAR on every included event) and renamed to the reward's inputs."""
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


@dataclass(frozen=True)
class RewardInputs:
    """The reward's inputs per decision as NumPy arrays that broadcast together (a scalar stands
    for a constant): signs ``a`` (action) and ``d`` (true direction), ``strong`` (true strength),
    type codes ``true_type`` (index into ``EVENT_TYPES``, :data:`TYPE_OUTSIDE` or :data:`TYPE_NULL`)
    and ``pred_type`` (index, -1 for none), true CAR ``car``, predicted CAR ``pred_car`` (NaN for
    none), ``r_mag`` (the Gaussian magnitude term, :func:`magnitude_term`), ``format_ok``,
    ``verbose`` (completion longer than ``max_completion_chars``) and ``rationale`` (a non-empty
    rationale is present; the scaffold's process reward)."""

    a: np.ndarray
    d: np.ndarray
    strong: np.ndarray
    true_type: np.ndarray
    pred_type: np.ndarray
    car: np.ndarray
    pred_car: np.ndarray
    r_mag: np.ndarray
    format_ok: np.ndarray
    verbose: np.ndarray
    rationale: np.ndarray


def magnitude_term(pred_car: pl.Series, car: pl.Series | float, cfg: HgrmConfig) -> np.ndarray:
    """``r_mag = exp(-(c_hat - c)^2 / (2 sigma^2))``, 0 without ``c_hat``. Evaluated by polars
    (its ``exp`` is the C library's, the same on every CPU; NumPy's has SIMD variants)."""
    expr = (((pl.lit(pred_car) - pl.lit(car)) ** 2) / (-2.0 * cfg.sigma**2)).exp().fill_null(0.0)
    return pl.select(expr).to_series().to_numpy()


def _combine(cfg: HgrmConfig, s_dir, g_dir, r_evt, m_evt, r_pnl, r_mag, r_fmt, penalty) -> dict[str, np.ndarray]:
    """The weighted terms and the final reward (module docstring), each in the operation order of
    the formula so the last bit is fixed."""
    if cfg.profile == "hgrm":
        terms = {
            "direction_reward": cfg.w_dir * s_dir,
            "event_reward": cfg.w_evt * r_evt,
            "pnl_reward": g_dir * cfg.w_pnl * m_evt * r_pnl,
            "magnitude_reward": g_dir * cfg.w_mag * r_mag,
            "process_reward": cfg.w_fmt * r_fmt,
        }
        total = (
            terms["direction_reward"]
            + terms["event_reward"]
            + terms["pnl_reward"]
            + terms["magnitude_reward"]
            + terms["process_reward"]
            - penalty
        )
    else:
        zero = np.zeros_like(r_pnl)
        terms = {
            "direction_reward": zero,
            "event_reward": zero,
            "pnl_reward": r_pnl,
            "magnitude_reward": r_mag,
            "process_reward": r_fmt,
        }
        total = g_dir * m_evt * r_pnl + r_mag + r_fmt
    final = np.clip(total, -cfg.final_clip, cfg.final_clip)
    parts = {"s_dir": s_dir, "g_dir": g_dir, "r_evt": r_evt, "m_evt": m_evt, "r_pnl": r_pnl, "r_mag": r_mag}
    parts |= {"r_fmt": r_fmt, "strength_penalty": penalty}
    return parts | terms | {"final_reward_unclipped": total, "final_reward": final, "clipped": final != total}


def _type_terms(cfg: HgrmConfig, x: RewardInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HGRM event-type gate code, ``r_evt`` and ``m_evt``."""
    known = x.true_type != TYPE_OUTSIDE
    hit = x.pred_type == x.true_type
    none = x.pred_type < 0
    gate = np.where(~known | none, 2, np.where(hit, 0, 1))
    if not cfg.use_event_gate:
        return gate, np.zeros(gate.shape), np.ones(gate.shape)
    r_evt = np.where(~known, 0.0, np.where(none, -cfg.lambda_miss, np.where(hit, 1.0, -cfg.lambda_evt)))
    return gate, r_evt, np.where(~known | hit, 1.0, cfg.alpha)


def hgrm_terms(cfg: HgrmConfig, x: RewardInputs) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The ``hgrm`` profile on arrays (formulas in the module docstring): direction-gate codes,
    event-type-gate codes (:data:`DIRECTION_GATES`, :data:`TYPE_GATES`) and every column of
    :data:`REWARD_COLUMNS`."""
    trade = x.a != 0
    p = np.where(trade, x.a, (x.pred_car > cfg.neutral_band).astype(np.int8) - (x.pred_car < -cfg.neutral_band))
    match, opposite = p == x.d, p * x.d == -1
    direction_gate = np.where(match, 0, np.where(opposite, 1, 2))
    s_dir = np.where(match, 1.0, np.where(opposite, -cfg.lambda_dir, cfg.s_dir_neutral))
    g_dir = np.where(s_dir >= 0, 1.0, 0.0) if cfg.use_direction_gate else np.ones(s_dir.shape)
    type_gate, r_evt, m_evt = _type_terms(cfg, x)
    zero = np.zeros(s_dir.shape)
    r_pnl = np.where(trade, np.clip(x.a * x.car - cfg.kappa, -cfg.rho, cfg.rho), 0.0) if cfg.use_pnl else zero
    r_mag = x.r_mag + zero if cfg.use_magnitude else zero
    fmt = np.where(x.format_ok, cfg.fmt_ok_reward, cfg.fmt_fail_reward) - np.where(
        x.verbose, cfg.verbosity_penalty, 0.0
    )
    r_fmt = fmt + zero if cfg.use_format else zero
    penalty = (
        np.where(trade & ~x.strong, cfg.penalty_trade_weak, np.where(~trade & x.strong, cfg.penalty_skip_strong, 0.0))
        if cfg.use_strength_penalty
        else zero
    )
    return direction_gate, type_gate, _combine(cfg, s_dir, g_dir, r_evt, m_evt, r_pnl, r_mag, r_fmt, penalty)


def scaffold_terms(cfg: HgrmConfig, x: RewardInputs) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The ``lane_scaffold`` profile on arrays (module docstring), in :func:`hgrm_terms`' form."""
    direction_gate = np.where(x.d == 0, 2, np.where(x.a == x.d, 0, np.where(x.a == 0, 2, 1)))
    values = np.array([cfg.scaffold_direction_match, cfg.scaffold_direction_mismatch, cfg.scaffold_direction_neutral])
    gate_value = values[direction_gate]
    type_gate = np.where(x.pred_type < 0, 2, np.where(x.pred_type == x.true_type, 0, 1))
    type_value = np.array([cfg.scaffold_type_match, cfg.scaffold_type_mismatch, cfg.scaffold_type_unknown])[type_gate]
    pnl = x.a * x.car - cfg.scaffold_cost_bps / 10_000.0
    magnitude = np.where((x.a == x.d) & (x.a != 0), np.abs(x.car), -np.abs(x.car))
    process = np.where(x.rationale, cfg.scaffold_process_bonus, 0.0) + np.zeros(pnl.shape)
    penalty = np.zeros(pnl.shape)
    terms = _combine(cfg, gate_value, gate_value, type_value, type_value, pnl, magnitude, process, penalty)
    return direction_gate, type_gate, terms


def _sign_of(col: str, plus: str, minus: str) -> pl.Expr:
    return pl.when(pl.col(col) == plus).then(1).when(pl.col(col) == minus).then(-1).otherwise(0).cast(pl.Int8)


def _type_code(col: pl.Expr, default: int) -> pl.Expr:
    """Index of the type in ``EVENT_TYPES``; ``default`` outside the taxonomy or null."""
    return col.replace_strict(dict(zip(EVENT_TYPES, range(len(EVENT_TYPES)))), default=default, return_dtype=pl.Int8)


def label_arrays(labels: pl.DataFrame) -> dict[str, np.ndarray]:
    """The labels of :func:`labels_frame` as arrays, one entry per label row plus a last one that
    stands for "not in the labels": direction sign ``d``, ``strong``, the true-type code and the
    CAR (NaN when the event is excluded or absent)."""
    arrays = labels.select(
        d=_sign_of("_direction", "positive", "negative"),
        strong=(pl.col("_strength") == "strong").fill_null(False),
        true_type=pl.when(pl.col("_true_type").is_null())
        .then(pl.lit(TYPE_NULL, dtype=pl.Int8))
        .otherwise(_type_code(pl.col("_true_type"), TYPE_OUTSIDE)),
        car=pl.col("_car").fill_null(np.nan),
    )
    absent = {"d": 0, "strong": False, "true_type": TYPE_NULL, "car": np.nan}
    return {
        c: np.append(arrays[c].to_numpy(), np.array([v], dtype=arrays[c].to_numpy().dtype)) for c, v in absent.items()
    }


def _decision_inputs(dec: pl.DataFrame, lab: dict[str, np.ndarray], row: np.ndarray, cfg: HgrmConfig) -> RewardInputs:
    """:class:`RewardInputs` of every decision, its label row ``row`` (the last for "not in the
    labels")."""
    cols = dec.select(
        a=_sign_of("action", "long", "short"),
        pred_type=_type_code(pl.col("predicted_event_type"), -1),
        pred_car=pl.col("predicted_car").fill_null(np.nan),
        format_ok=pl.col("format_ok").fill_null(False),
        verbose=pl.col("completion").str.len_chars().fill_null(0) > cfg.max_completion_chars,
        rationale=(
            pl.col("rationale").str.strip_chars().str.len_chars().fill_null(0) > 0
            if cfg.profile == "lane_scaffold"
            else pl.lit(False)
        ),
    )
    car = lab["car"][row]
    r_mag = (
        magnitude_term(dec["predicted_car"], pl.Series(car, nan_to_null=True), cfg) if cfg.profile == "hgrm" else 0.0
    )
    return RewardInputs(
        a=cols["a"].to_numpy(),
        d=lab["d"][row],
        strong=lab["strong"][row],
        true_type=lab["true_type"][row],
        pred_type=cols["pred_type"].to_numpy(),
        car=car,
        pred_car=cols["pred_car"].to_numpy(),
        r_mag=r_mag,
        format_ok=cols["format_ok"].to_numpy(),
        verbose=cols["verbose"].to_numpy(),
        rationale=cols["rationale"].to_numpy() if cfg.profile == "lane_scaffold" else np.zeros(1, dtype=bool),
    )


#: Decisions per block of the formula: temporaries stay in the CPU cache instead of fresh pages.
_BLOCK = 65_536


def _blockwise(cfg: HgrmConfig, x: RewardInputs, n: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """:func:`hgrm_terms` / :func:`scaffold_terms` over ``n`` decisions, block by block (every value
    is elementwise, so the result is the same as in one pass)."""
    terms_of = hgrm_terms if cfg.profile == "hgrm" else scaffold_terms
    gates = (np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))
    out: dict[str, np.ndarray] = {}
    for start in range(0, n, _BLOCK):
        block = slice(start, min(start + _BLOCK, n))
        part = RewardInputs(
            **{f: v[block] if np.ndim(v) and len(v) == n else v for f, v in vars(x).items()}  # scalars broadcast
        )
        direction_gate, type_gate, terms = terms_of(cfg, part)
        gates[0][block], gates[1][block] = direction_gate, type_gate
        for name, values in terms.items():
            out.setdefault(name, np.empty(n, dtype=values.dtype))[block] = values
    if n == 0:
        return terms_of(cfg, x)
    return gates[0], gates[1], out


def _label_rows(event_ids: pl.Series, labels: pl.DataFrame) -> np.ndarray:
    """The labels row of each event id, ``labels.height`` when absent: the ids cast to an Enum of
    the (unique) label ids, a hash lookup without a join."""
    present = labels.select("event_id", pl.int_range(pl.len(), dtype=pl.Int64).alias("row")).drop_nulls("event_id")
    codes = event_ids.cast(pl.Enum(present["event_id"]), strict=False).to_physical()
    rows = np.append(present["row"].to_numpy(), labels.height)
    return rows[codes.fill_null(present.height).cast(pl.Int64).to_numpy()]


def _gather_strings(names: tuple[str | None, ...], code: np.ndarray) -> pl.Series:
    return pl.Series(names, dtype=pl.String).gather(code)


def score(decisions: pl.DataFrame, labelled: pl.DataFrame, cfg: HgrmConfig | None = None) -> pl.DataFrame:
    """Score every decision against the labelled CAR table: one row per decision, same order, the
    columns of ``SCORE_COLUMNS`` (meanings in the module docstring) plus ``profile``.

    ``decisions`` is validated with :func:`janus_core.decide.decisions.validate_decisions` (duplicates
    allowed: a GRPO group scores several completions of one event). Unmapped rows (event not in
    the labels, or excluded there) keep ``mapped`` false, ``unmapped_reason`` and null rewards.
    The formulas run on NumPy arrays (:func:`hgrm_terms`, :func:`scaffold_terms`), each operation in
    the formula's order, so every value is the same to the last bit whatever the CPU or thread count.
    """
    cfg = cfg or HgrmConfig()
    dec = validate_decisions(decisions, "decisions", unique=False)
    labels = labels_frame(labelled, cfg)
    row = _label_rows(dec["event_id"], labels)
    lab = label_arrays(labels)
    x = _decision_inputs(dec, lab, row, cfg)
    direction_gate, type_gate, terms = _blockwise(cfg, x, len(row))
    mapped = np.isfinite(x.car)
    reason = labels.select(
        pl.when(pl.col("_car").is_null()).then(
            pl.concat_str(pl.lit("event_excluded:"), pl.col("_excluded_reason").fill_null("unspecified"))
        )
    ).to_series()
    reason = reason.append(pl.Series(["event_not_in_labels"]))
    expected = np.where(mapped, np.where(x.d < 0, 2, x.d), 3)
    rewards = pl.DataFrame({c: terms[c] for c in REWARD_COLUMNS})
    rewards = rewards.select(pl.when(pl.Series(mapped)).then(pl.col(c)).alias(c) for c in REWARD_COLUMNS)
    return (
        pl.DataFrame(
            [
                dec["event_id"],
                dec["strategy_id"],
                dec["action"],
                pl.Series("mapped", mapped),
                reason.gather(row).alias("unmapped_reason"),
                _gather_strings(("neutral", "long", "short", None), expected).alias("expected_direction"),
                labels["_true_type"].append(pl.Series([None], dtype=pl.String)).gather(row).alias("event_type"),
                dec["predicted_event_type"],
                pl.Series("car", x.car, nan_to_null=True),
                _gather_strings((*DIRECTION_GATES, None), np.where(mapped, direction_gate, 3)).alias("direction_gate"),
                _gather_strings((*TYPE_GATES, None), np.where(mapped, type_gate, 3)).alias("event_type_gate"),
            ]
        )
        .hstack(rewards)
        .with_columns(pl.lit(cfg.profile).alias("profile"))
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
    for variant, switches in ABLATIONS:
        cfg = base_cfg.model_copy(update=switches)
        summary = reward_summary(score(decisions, labelled, cfg)).sort(
            ["mean_final_reward", "strategy_id"], descending=[True, False], nulls_last=True
        )
        frames.append(
            summary.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
            .sort("strategy_id")
            .select(pl.lit(variant).alias("variant"), pl.all())
        )
    return pl.concat(frames, how="vertical")
