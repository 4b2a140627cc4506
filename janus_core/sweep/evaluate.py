"""One configuration through the research steps (:func:`evaluate_point`) and a chunk of them
sharing one labelled table (:func:`evaluate_chunk`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from janus_core.backtest import config, studies
from janus_core.backtest import engine as backtest
from janus_core.backtest.metrics import (
    NAV_METRIC_KEYS,
    decision_metrics,
)
from janus_core.backtest.overfitting import (
    return_moments,
)
from janus_core.data.dataset import Dataset
from janus_core.decide import reward
from janus_core.decide.policies import make_decisions
from janus_core.decide.reward import HgrmConfig
from janus_core.evidence.records import map_decisions
from janus_core.evidence.schema import config_json
from janus_core.hashing import canonical_json
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.labels import LabelConfig, SplitConfig, chronological_split, label
from janus_core.sweep.grid import SweepPoint, SweepSettings

# --------------------------------------------------------------------------------------------------
# One configuration
# --------------------------------------------------------------------------------------------------
#: Metric columns of a result row, after ``config_hash``, the parameters and ``config``.
METRIC_SCHEMA: dict[str, pl.DataType] = {
    **{k: pl.Float64() for k in NAV_METRIC_KEYS},
    "mean_reward": pl.Float64(),
    "da": pl.Float64(),
    "n_decisions": pl.Int64(),
    "n_trades": pl.Int64(),
    "n_returns": pl.Int64(),
    "skew": pl.Float64(),
    "kurtosis": pl.Float64(),
    "window_start": pl.Date(),
    "window_end": pl.Date(),
    "status": pl.String(),
}


def labelled_table(
    ds: Dataset, car_table: pl.DataFrame, label_cfg: LabelConfig, split_cfg: SplitConfig, car_cfg: CarConfig
) -> pl.DataFrame:
    """``labels.car_study`` from a computed CAR table: labels, then the purged, embargoed split."""
    return chronological_split(label(car_table, label_cfg), split_cfg, ds.prices["date"].unique(), car_cfg.window_days)


def candidate_decisions(
    decisions: pl.DataFrame | None, settings: SweepSettings, labelled: pl.DataFrame
) -> pl.DataFrame:
    """The candidate's decisions on ``labelled``: the policy's (``decisions`` None) or those of the
    file's frame that map to an included event (``records.map_decisions``)."""
    if decisions is None:
        return make_decisions(settings.decisions, labelled, settings.policy)
    mapped = map_decisions(decisions, labelled)
    return mapped.filter(pl.col("mapping_status") == "mapped").drop("decision_index", "mapping_status")


class ChunkMemo:
    """What configurations sharing one labelled table and decisions share: the backtest window and
    the decisions in it (``engine.split_window``), the type weights, the DA, and every backtest and
    mean reward already computed, keyed by their config (a sweep varying only reward constants
    backtests once; one varying only backtest settings scores the reward once). Only pure results
    are kept, so a row never depends on what was computed before it."""

    def __init__(self, ds: Dataset, labelled: pl.DataFrame, decisions: pl.DataFrame, splits: Sequence[str]) -> None:
        self.ds, self.labelled = ds, labelled
        self.chosen, self.start, self.end = studies.split_window(labelled, decisions, splits)
        self._weights: dict[str, float] | None = None
        self.da = decision_metrics(self.chosen, labelled)["da"]
        self.backtests: dict[str, backtest.BacktestResult] = {}
        self.rewards: dict[str, float | None] = {}

    def weights(self) -> dict[str, float]:
        if self._weights is None:
            self._weights = backtest.historical_type_weights(self.labelled)
        return self._weights

    def backtest(self, cfg: config.BacktestConfig) -> backtest.BacktestResult:
        key = canonical_json(config_json(cfg))
        if key not in self.backtests:
            weights = self.weights() if cfg.weighting == "type" else None
            self.backtests[key] = backtest.run_backtest(self.ds, self.chosen, self.labelled, cfg, weights)
        return self.backtests[key]

    def mean_reward(self, cfg: HgrmConfig) -> float | None:
        key = canonical_json(config_json(cfg))
        if key not in self.rewards:
            scored = reward.score(self.chosen, self.labelled, cfg)
            rewards = scored.filter(pl.col("mapped"))["final_reward"].drop_nulls().to_list()
            # exact sum (math.fsum): the mean does not depend on the order or chunking of the rows
            self.rewards[key] = math.fsum(rewards) / len(rewards) if rewards else None
        return self.rewards[key]


def evaluate_point(
    ds: Dataset,
    labelled: pl.DataFrame,
    decisions: pl.DataFrame,
    point: SweepPoint,
    splits: Sequence[str],
    memo: ChunkMemo | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """One configuration's metrics on the included events of ``splits`` (package docstring) and its
    daily returns (``date, daily_return``). ``decisions`` are the candidate's on ``labelled``;
    ``memo`` (:class:`ChunkMemo` of the same inputs) shares the work of configurations evaluated
    together."""
    memo = memo or ChunkMemo(ds, labelled, decisions, splits)
    result = memo.backtest(point.backtest_config(start=memo.start, end=memo.end))
    returns = result.nav.select("date", "daily_return").drop_nulls()
    moments = return_moments(returns["daily_return"]) if returns.height >= 2 else {}
    row: dict[str, Any] = {k: float(result.metrics[k]) for k in NAV_METRIC_KEYS}
    row.update(
        mean_reward=memo.mean_reward(point.reward),
        da=memo.da,
        n_decisions=int(result.metrics["n_decisions"]),
        n_trades=int(result.metrics["n_executed"]),
        n_returns=returns.height,
        skew=moments.get("skew"),
        kurtosis=moments.get("kurtosis"),
        window_start=memo.start,
        window_end=memo.end,
        status="ok",
    )
    return row, returns


def error_status(exc: BaseException) -> str:
    """``error: <type>: <first line of the message>``: the row's status of a configuration that raised."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"error: {type(exc).__name__}: {text}".rstrip(": ")


def error_row(status: str) -> dict[str, Any]:
    return {**{k: None for k in METRIC_SCHEMA}, "status": status}


#: A computed row: the metrics (``METRIC_SCHEMA`` keys) and the daily returns (None on error).
Outcome = tuple[dict[str, Any], pl.DataFrame | None]


def evaluate_chunk(
    ds: Dataset,
    labelled: pl.DataFrame | None,
    decisions: pl.DataFrame | None,
    settings: SweepSettings,
    points: Sequence[SweepPoint],
    prepare_error: str | None = None,
) -> list[Outcome]:
    """:func:`evaluate_point` for configurations sharing one labelled table, each error caught into
    its own row (``prepare_error``: the labelled table could not be built, every row says why)."""
    if prepare_error is not None or labelled is None:
        return [(error_row(prepare_error or "error: no labelled table"), None) for _ in points]
    try:
        cand = candidate_decisions(decisions, settings, labelled)
        memo = ChunkMemo(ds, labelled, cand, settings.splits)
    except Exception as exc:  # noqa: BLE001 - reported in every row of the chunk
        return [(error_row(error_status(exc)), None) for _ in points]
    out: list[Outcome] = []
    for point in points:
        try:
            out.append(evaluate_point(ds, labelled, cand, point, settings.splits, memo))
        except Exception as exc:  # noqa: BLE001 - a configuration that raises is reported, not fatal
            out.append((error_row(error_status(exc)), None))
    return out


def prepare_labelled(
    ds: Dataset, car_cfg: CarConfig, car_table: pl.DataFrame | None, specs: Sequence[tuple[LabelConfig, SplitConfig]]
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The CAR table of ``car_cfg`` (``car_table`` when cached, else ``compute_car``) and the labelled
    table of every (label, split) config in ``specs``."""
    table = compute_car(ds, car_cfg) if car_table is None else car_table
    return table, [labelled_table(ds, table, lab, spl, car_cfg) for lab, spl in specs]
