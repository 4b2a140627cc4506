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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

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
from janus_core.decide.reward_terms import (
    DIRECTION_GATES,
    REWARD_COLUMNS,
    TYPE_GATES,
    TYPE_NULL,
    TYPE_OUTSIDE,
    RewardInputs,
    ScoredTerms,
    hgrm_terms,
    reward_terms,
    scaffold_terms,
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


def _magnitude(pred_car: pl.Expr, car: pl.Expr, cfg: HgrmConfig) -> pl.Expr:
    """``r_mag = exp(-(c_hat - c)^2 / (2 sigma^2))``, 0 without ``c_hat``, as a polars expression."""
    return (((pred_car - car) ** 2) / (-2.0 * cfg.sigma**2)).exp().fill_null(0.0)


def magnitude_term(pred_car: pl.Series, car: pl.Series | float, cfg: HgrmConfig) -> np.ndarray:
    """``r_mag = exp(-(c_hat - c)^2 / (2 sigma^2))``, 0 without ``c_hat``. Evaluated by polars
    (its ``exp`` is the C library's, the same on every CPU; NumPy's has SIMD variants)."""
    return pl.select(_magnitude(pl.lit(pred_car), pl.lit(car), cfg)).to_series().to_numpy()


def _sign_of(col: str, plus: str, minus: str) -> pl.Expr:
    """+1 where ``col`` is ``plus``, -1 where it is ``minus``, else 0 (null included), Int8."""
    return (pl.col(col) == plus).fill_null(False).cast(pl.Int8) - (pl.col(col) == minus).fill_null(False).cast(pl.Int8)


def _type_code(col: pl.Expr, default: int) -> pl.Expr:
    """Index of the type in ``EVENT_TYPES``; ``default`` outside the taxonomy or null."""
    return col.cast(pl.Enum(EVENT_TYPES), strict=False).to_physical().cast(pl.Int8).fill_null(default)


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


@dataclass(frozen=True)
class _Prepared:
    """Everything of a scoring that does not depend on the reward's weights and switches: the
    validated decisions ``dec``, their label row (``labels.height`` for "not in the labels"), the
    label arrays ``lab`` (:func:`label_arrays`), the true CAR as an array (NaN when excluded or
    absent) and as a Series (null there), and the true event type as a Series (null when absent)."""

    dec: pl.DataFrame
    row: np.ndarray
    lab: dict[str, np.ndarray]
    car_values: np.ndarray
    car: pl.Series
    event_type: pl.Series


def _prepare(dec: pl.DataFrame, labels: pl.DataFrame) -> _Prepared:
    """:class:`_Prepared` of the validated decisions ``dec`` (only their ``event_id`` is read)
    against :func:`labels_frame`'s ``labels`` (label rows by :func:`_label_rows`)."""
    row = _label_rows(dec["event_id"], labels["event_id"])
    lab = label_arrays(labels)
    car_values = lab["car"][row]
    event_type = pl.concat([labels["_true_type"], pl.Series([None], dtype=pl.String)], rechunk=True)
    return _Prepared(
        dec=dec,
        row=row,
        lab=lab,
        car_values=car_values,
        car=pl.Series("car", car_values, nan_to_null=True),
        event_type=event_type.gather(row).alias("event_type"),
    )


def _checked_and_prepared(
    decisions: pl.DataFrame, labelled: pl.DataFrame, cfg: HgrmConfig, validated: bool
) -> tuple[pl.DataFrame, _Prepared]:
    """:func:`labels_frame` and the :class:`_Prepared` of ``decisions``, validated by
    :func:`janus_core.decide.decisions.validate_decisions` (duplicates allowed) unless ``validated``.
    The label side runs in a second thread while the decisions are checked: it reads only their
    ``event_id`` cast to String, which is what the check keeps (strict, it drops no row). A problem
    of the decisions is raised before one of the labels, as when run one after the other."""
    if validated:
        labels = labels_frame(labelled, cfg)
        return labels, _prepare(decisions, labels)

    def label_side() -> tuple[pl.DataFrame, _Prepared]:
        labels = labels_frame(labelled, cfg)
        return labels, _prepare(decisions.select(pl.col("event_id").cast(pl.String)), labels)

    with ThreadPoolExecutor(1) as pool:
        side = pool.submit(label_side)
        dec = validate_decisions(decisions, "decisions", unique=False)
        labels, prepared = side.result()
    return labels, replace(prepared, dec=dec)


#: Type code standing for "a predicted type other than the true one" (an index no type has).
_OTHER_TYPE = len(EVENT_TYPES)


def _inputs(prepared: _Prepared, cfg: HgrmConfig, block: slice) -> RewardInputs:
    """The :class:`RewardInputs` of the decisions in ``block``: their codes, the magnitude term
    (:func:`magnitude_term`'s expression) and the completions' byte lengths in one polars ``select``
    on that slice of the decisions, their labels gathered from the label arrays. The predicted type
    is compared with the true one as text (a validated prediction is a taxonomy slug or null): its
    code is the true type's when they are equal, -1 without a prediction, else ``_OTHER_TYPE``."""
    scaffold = cfg.profile == "lane_scaffold"
    start, length = block.start, block.stop - block.start
    dec = prepared.dec.slice(start, length)
    predicted = pl.col("predicted_event_type")
    cols = dec.select(
        a=_sign_of("action", "long", "short"),
        typed=predicted.is_not_null(),
        same_type=(predicted == pl.lit(prepared.event_type.slice(start, length))).fill_null(False),
        pred_car=pl.col("predicted_car").fill_null(np.nan),
        format_ok=pl.col("format_ok").fill_null(False),
        long_bytes=(pl.col("completion").str.len_bytes() > cfg.max_completion_chars).fill_null(False),
        **(
            {"rationale": pl.col("rationale").str.strip_chars().str.len_chars().fill_null(0) > 0}
            if scaffold
            else {"r_mag": _magnitude(pl.col("predicted_car"), pl.lit(prepared.car.slice(start, length)), cfg)}
        ),
    )
    row, lab = prepared.row[block], prepared.lab
    true_type, i8 = lab["true_type"][row], np.int8
    # -1 without a prediction, else _OTHER_TYPE, else (the same type) the true type's code: branch-free
    pred_type = cols["typed"].to_numpy().astype(i8) * i8(_OTHER_TYPE + 1) - i8(1)
    pred_type += cols["same_type"].to_numpy().astype(i8) * (true_type - i8(_OTHER_TYPE))
    return RewardInputs(
        a=cols["a"].to_numpy(),
        d=lab["d"][row],
        strong=lab["strong"][row],
        true_type=true_type,
        pred_type=pred_type,
        car=prepared.car_values[block],
        pred_car=cols["pred_car"].to_numpy(),
        r_mag=cols["r_mag"].to_numpy() if not scaffold else np.float64(0.0),
        format_ok=cols["format_ok"].to_numpy(),
        verbose=_longer_than(dec["completion"], cols["long_bytes"], cfg.max_completion_chars),
        rationale=cols["rationale"].to_numpy() if scaffold else np.zeros(length, dtype=bool),
    )


#: Seed of the 64-bit hashes :func:`_label_rows` joins on (any fixed value: every match is checked).
_ID_HASH_SEED = 20260219


#: Event ids per chunk of :func:`_label_rows` (its hashes, join and check reuse one chunk's memory).
_ROWS_CHUNK = 1 << 20


def _label_rows(event_ids: pl.Series, label_ids: pl.Series) -> np.ndarray:
    """The row of each event id in the label ids (unique; a null matches nothing), ``len(label_ids)``
    when absent. A left join on the ids' 64-bit polars hashes (several times cheaper than on the
    strings), each match then checked on the strings, chunk by chunk of ``_ROWS_CHUNK`` ids; when
    two label ids share a hash, or a matched row's id differs from its label's (a collision), the
    join on the strings decides instead."""
    n, absent = len(event_ids), len(label_ids)
    keyed = pl.DataFrame(
        {"h": label_ids.hash(_ID_HASH_SEED), "_row": pl.int_range(absent, dtype=pl.Int64, eager=True)}
    ).filter(label_ids.is_not_null())
    if keyed["h"].n_unique() == keyed.height:
        rows = np.empty(n, dtype=np.int64)
        for start in range(0, n, _ROWS_CHUNK):
            ids = event_ids.slice(start, _ROWS_CHUNK)
            row = ids.hash(_ID_HASH_SEED).to_frame("h").join(keyed, on="h", how="left", maintain_order="left")["_row"]
            if not ((label_ids.gather(row) == ids) | row.is_null()).fill_null(False).all():
                break
            rows[start : start + len(ids)] = row.fill_null(absent).to_numpy()
        else:
            return rows
    present = keyed.select(label_ids.filter(label_ids.is_not_null()).alias("event_id"), "_row")
    row = event_ids.to_frame("event_id").join(present, on="event_id", how="left", maintain_order="left")["_row"]
    return row.fill_null(absent).to_numpy()


def _longer_than(texts: pl.Series, long_bytes: pl.Series, limit: int) -> np.ndarray:
    """Whether each text has more than ``limit`` characters (false for a null), given
    ``long_bytes``, whether its UTF-8 bytes exceed ``limit`` (a character takes at least one byte,
    so the characters are counted only there)."""
    rows = long_bytes.arg_true()
    out = long_bytes.to_numpy(writable=True)
    if rows.len():
        out[rows.to_numpy()] = (texts.gather(rows).str.len_chars() > limit).to_numpy()
    return out


def score(
    decisions: pl.DataFrame, labelled: pl.DataFrame, cfg: HgrmConfig | None = None, *, validated: bool = False
) -> pl.DataFrame:
    """Score every decision against the labelled CAR table: one row per decision, same order, the
    columns of ``SCORE_COLUMNS`` (meanings in the module docstring) plus ``profile``.

    ``decisions`` is validated with :func:`janus_core.decide.decisions.validate_decisions` (duplicates
    allowed: a GRPO group scores several completions of one event) unless ``validated`` says it is
    that function's output already. Unmapped rows (event not in the labels, or excluded there) keep
    ``mapped`` false, ``unmapped_reason`` and null rewards. The formulas run on NumPy arrays
    (:func:`janus_core.decide.reward_terms.reward_terms`), each operation in the formula's order, so
    every value is the same to the last bit whatever the CPU or thread count.
    """
    cfg = cfg or HgrmConfig()
    labels, prepared = _checked_and_prepared(decisions, labelled, cfg, validated)
    terms = reward_terms(cfg, lambda block: _inputs(prepared, cfg, block), len(prepared.row))
    return _score_frame(prepared.dec, labels, prepared, terms, cfg)


def _score_frame(
    dec: pl.DataFrame, labels: pl.DataFrame, prepared: _Prepared, terms: ScoredTerms, cfg: HgrmConfig
) -> pl.DataFrame:
    """:func:`score`'s frame from its parts. The reward columns are the arrays of ``terms`` as they
    are (no copy) when every decision is mapped, else nulled where unmapped; the true event type is
    ``prepared``'s, the other text columns are gathered from their few values by code, in one polars
    ``select`` (in parallel)."""
    row, all_mapped = prepared.row, bool(terms.mapped.all())
    texts = {
        "expected_direction": (("neutral", "long", "short", None), terms.expected),
        "direction_gate": ((*DIRECTION_GATES, None), terms.direction_gate),
        "event_type_gate": ((*TYPE_GATES, None), terms.type_gate),
    }
    if not all_mapped:
        reason = labels.select(
            pl.when(pl.col("_car").is_null()).then(
                pl.concat_str(pl.lit("event_excluded:"), pl.col("_excluded_reason").fill_null("unspecified"))
            )
        ).to_series()
        texts["unmapped_reason"] = (pl.concat([reason, pl.Series(["event_not_in_labels"])], rechunk=True), row)
    gathered = pl.DataFrame({name: code for name, (_, code) in texts.items()}).select(
        pl.lit(pl.Series(values, dtype=pl.String)).gather(pl.col(name)).alias(name)
        for name, (values, _) in texts.items()
    )
    rewards = pl.DataFrame({c: terms.columns[c] for c in REWARD_COLUMNS})
    if not all_mapped:
        mapped = pl.Series(terms.mapped)
        rewards = rewards.select(pl.when(mapped).then(pl.col(c)).alias(c) for c in REWARD_COLUMNS)
    unmapped_reason = (
        gathered["unmapped_reason"] if not all_mapped else pl.repeat(None, len(row), dtype=pl.String, eager=True)
    )
    return (
        pl.DataFrame(
            [
                dec["event_id"],
                dec["strategy_id"],
                dec["action"],
                pl.Series("mapped", terms.mapped),
                unmapped_reason.alias("unmapped_reason"),
                gathered["expected_direction"],
                prepared.event_type,
                dec["predicted_event_type"],
                prepared.car,
                gathered["direction_gate"],
                gathered["event_type_gate"],
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


#: The reward terms :func:`reward_summary` averages per strategy.
_SUMMARY_TERMS: tuple[str, ...] = (
    "final_reward",
    "direction_reward",
    "event_reward",
    "pnl_reward",
    "magnitude_reward",
    "process_reward",
    "strength_penalty",
)


def reward_summary(scored: pl.DataFrame) -> pl.DataFrame:
    """Per strategy (sorted by ``strategy_id``): decision count, mapped count, mean of every reward
    term over mapped decisions, the direction-gate pass ratio (share "match") and the event-type
    match ratio, the clipped count."""
    return _summary(
        scored.select(
            "strategy_id",
            "mapped",
            "clipped",
            *_SUMMARY_TERMS,
            direction_match=pl.col("direction_gate") == "match",
            type_match=pl.col("event_type_gate") == "match",
        )
    )


def _summary(scored: pl.DataFrame) -> pl.DataFrame:
    """:func:`reward_summary` of a frame with ``strategy_id``, ``mapped``, ``clipped``, the
    ``_SUMMARY_TERMS`` and the gate matches ``direction_match`` and ``type_match`` (Boolean); the
    values of unmapped rows are ignored. The means are ``group_means``' (numpy sums in row order)."""
    m = pl.col("mapped")
    counts = scored.group_by("strategy_id").agg(
        pl.len().alias("decisions"), m.sum().alias("mapped"), pl.col("clipped").filter(m).sum().alias("clipped")
    )
    mapped_only = {
        **{f"mean_{c}": pl.when(m).then(pl.col(c)) for c in _SUMMARY_TERMS},
        "direction_gate_pass_ratio": pl.when(m).then(pl.col("direction_match")),
        "event_type_match_ratio": pl.when(m).then(pl.col("type_match")),
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


def ablation_table(
    decisions: pl.DataFrame, labelled: pl.DataFrame, base_cfg: HgrmConfig | None = None, *, validated: bool = False
) -> pl.DataFrame:
    """Mean reward per strategy under each ablation variant of ``base_cfg`` (an ``hgrm`` profile):
    columns ``variant``, then :func:`reward_summary`'s, plus ``rank`` of the strategy within the
    variant (1 = highest mean final reward; ties broken by ``strategy_id``).

    Validate once, score many: ``decisions`` is validated once (unless ``validated`` says it is
    :func:`janus_core.decide.decisions.validate_decisions`' output already); the label rows, codes and
    magnitude term, which the switches do not change, are computed once, and each variant only
    re-runs the formula (``reward_terms``) on them, so its values are those of :func:`score` with the
    variant's configuration, bit for bit."""
    base_cfg = base_cfg or HgrmConfig()
    if base_cfg.profile != "hgrm":
        raise RewardError("ablations apply to the hgrm profile only")
    _, prepared = _checked_and_prepared(decisions, labelled, base_cfg, validated)
    checked, n = prepared.dec, len(prepared.row)
    inputs = vars(_inputs(prepared, base_cfg, slice(0, n)))
    frames = []
    for variant, switches in ABLATIONS:
        terms = reward_terms(
            base_cfg.model_copy(update=switches),
            lambda block: RewardInputs(**{f: v[block] if np.ndim(v) else v for f, v in inputs.items()}),
            n,
        )
        scored = pl.DataFrame(
            {
                "strategy_id": checked["strategy_id"],
                "mapped": terms.mapped,
                "clipped": terms.columns["clipped"],
                **{c: terms.columns[c] for c in _SUMMARY_TERMS},
                "direction_match": terms.direction_gate == 0,
                "type_match": terms.type_gate == 0,
            }
        )
        summary = _summary(scored).sort(["mean_final_reward", "strategy_id"], descending=[True, False], nulls_last=True)
        frames.append(
            summary.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
            .sort("strategy_id")
            .select(pl.lit(variant).alias("variant"), pl.all())
        )
    return pl.concat(frames, how="vertical")
