"""Summaries of scored rewards for a reader (the review report draws them): the reward components as
numbers, their mean, min, max and non-zero count, the malformed decisions, and the reward-hacking
check's verdict in numbers (counts by category are :mod:`janus_core.study.counts`). Pure functions over the rows an evidence
folder holds (the reward records of ``janus-hgrm-reward-v1`` and the analysis tables)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from janus_core.hashing import PLAIN_DECIMAL, record_values

#: Numeric columns of the reward rows that are inputs or indices, not reward components.
NON_COMPONENT_COLUMNS: tuple[str, ...] = ("decision_index", "car", "predicted_car")
#: Reward-record fields that are components although their names do not end in ``_reward``.
COMPONENT_FIELDS: tuple[str, ...] = ("s_dir", "r_evt", "r_fmt", "r_pnl", "r_mag", "m_evt", "strength_penalty")


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def reward_components(rewards: Sequence[dict[str, Any]], only: Sequence[str] | None = None) -> pl.DataFrame:
    """The numeric reward components of reward records (decimal strings in the artifact) as Float64
    columns, in the order of the first record's keys: every field ending in ``_reward`` or
    ``_reward_unclipped`` and :data:`COMPONENT_FIELDS` (of those, ``only`` the ones named when given);
    a value that is not a number is null."""
    names = [
        k
        for k in (rewards[0] if rewards else {})
        if (k.endswith("_reward") or k.endswith("_reward_unclipped") or k in COMPONENT_FIELDS)
        and (only is None or k in only)
    ]
    return pl.DataFrame(
        [_numbers(name, record_values(rewards, name)) for name in names], schema={n: pl.Float64 for n in names}
    )


def _numbers(name: str, values: list[Any]) -> pl.Series:
    """``_number`` of every value as a Float64 column: plain decimal strings parsed by polars at C
    level (the same doubles), every other value (another type, or text such as ``" 1e3"``, ``"nan"``
    or ``"1_0"``) by ``_number`` itself."""
    if not set(map(type, values)) <= {str, type(None)}:
        return pl.Series(name, [_number(v) for v in values], dtype=pl.Float64)
    text = pl.Series(name, values, dtype=pl.String)
    plain = text.str.contains(PLAIN_DECIMAL).fill_null(True)  # read alike by polars and float
    parsed = text.cast(pl.Float64, strict=False)
    if plain.all():
        return parsed
    other = (~plain).arg_true()
    return parsed.scatter(other, [_number(v) for v in text.gather(other).to_list()])


def component_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The reward-component columns of a reward-rows table: every numeric column except
    :data:`NON_COMPONENT_COLUMNS`."""
    return frame.select(c for c, t in frame.schema.items() if t.is_numeric() and c not in NON_COMPONENT_COLUMNS)


def _stat(column: pl.Series, stat: str) -> float | None:
    """Mean, min or max of a column's non-null values with numpy's sequential reduction, so the
    digits never depend on how many threads read the table (None when there is no value)."""
    values = column.drop_nulls().cast(pl.Float64).to_numpy()
    if values.size == 0:
        return None
    return float({"mean": np.mean, "min": np.min, "max": np.max}[stat](values))


def component_summary(components: pl.DataFrame) -> pl.DataFrame:
    """One row per component column: ``component, mean, min, max, non_zero`` (mean, min and max of
    the non-null values; ``non_zero`` counts the values that are not 0)."""
    return pl.DataFrame(
        {
            "component": components.columns,
            **{stat: [_stat(components[c], stat) for c in components.columns] for stat in ("mean", "min", "max")},
            "non_zero": [int((components[c] != 0).sum()) for c in components.columns],
        },
        schema={"component": pl.String, "mean": pl.Float64, "min": pl.Float64, "max": pl.Float64, "non_zero": pl.Int64},
    )


def malformed_count(mapping: pl.DataFrame) -> int:
    """Decisions of a decision-mapping table whose completion was malformed (``format_ok`` false or null)."""
    return int((~mapping["format_ok"].cast(pl.Boolean).fill_null(False)).sum())


class HackingVerdict(NamedTuple):
    """The reward-hacking check in numbers: how many no-skill policies were flagged, of how many;
    the skilled baseline's mean reward; the smallest margins against it and against zero."""

    flagged: int
    policies: int
    skilled_mean_reward: float
    min_margin_vs_skilled: float
    min_margin_vs_zero: float


HACKING_COLUMNS: tuple[str, ...] = ("flagged", "skilled_mean_reward", "margin_vs_skilled", "margin_vs_zero")


def hacking_verdict(check: pl.DataFrame) -> HackingVerdict | None:
    """:class:`HackingVerdict` of a ``constant_policy_check`` table (None when it is empty or lacks
    :data:`HACKING_COLUMNS`)."""
    if not check.height or not set(HACKING_COLUMNS) <= set(check.columns):
        return None
    return HackingVerdict(
        flagged=check.filter(pl.col("flagged").cast(pl.Boolean)).height,
        policies=check.height,
        skilled_mean_reward=float(check["skilled_mean_reward"].cast(pl.Float64)[0]),
        min_margin_vs_skilled=float(check["margin_vs_skilled"].cast(pl.Float64).min()),
        min_margin_vs_zero=float(check["margin_vs_zero"].cast(pl.Float64).min()),
    )
