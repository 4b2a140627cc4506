"""Robustness sweeps: every configuration of a grid through the research pipeline, with the
overfitting statistics of the search.

A **grid file** (TOML, :func:`parse_grid`) names values per parameter of the step configs, in four
tables: ``[car]`` (:class:`~janus_core.study.car.CarConfig`), ``[labels]``
(:class:`~janus_core.study.labels.LabelConfig` and :class:`~janus_core.study.labels.SplitConfig`,
whose field names are disjoint), ``[reward]`` (:class:`~janus_core.decide.reward.HgrmConfig`) and
``[backtest]`` (:class:`~janus_core.backtest.engine.BacktestConfig`)::

    [car]
    event_window = [[0, 1], [0, 2]]           # a list of values (a tuple field takes a list of lists)
    estimation_window = 120                   # one value
    [labels]
    neutral_band = {start = 0.0, stop = 0.001, step = 0.00025}   # a range, stop included
    [backtest]
    round_trip_cost_bps = [0, 10, 20]
    position_cap = ["none", 1.0]              # "none" is None for a field that accepts it

A range ``{start, stop, step}`` is ``start + i * step`` for ``i = 0, 1, ...`` while it does not
pass ``stop`` (stop included when it falls on the grid), in exact decimal arithmetic (so
``0.1`` steps give ``0.3``, not ``0.30000000000000004``); all-integer bounds give integers. Refused
before anything runs, each with the parameter named: an unknown table or field, a field the sweep
sets itself (``car.threads``, which never changes a result; ``backtest.label_window``, which follows
``car.event_window``; ``backtest.start`` / ``backtest.end``, set from the test split), a value its
config rejects, a value listed twice, an empty list, a malformed range, and any combination its
configs reject together (e.g. ``car.min_estimation_obs`` above ``car.estimation_window``).

The **expansion** (:func:`expand_grid`) is the cartesian product over the parameters in name order.
Each configuration (:class:`SweepPoint`) has a **config hash**, ``H`` of every resolved config
(``config_json``: floats as decimal strings, so ``5`` and ``5.0`` are one value), the decisions
reference, the policy config and the backtested splits (:meth:`SweepSettings.fixed`).

Each configuration runs the same library steps as an export (:func:`evaluate_point`): the event
study (``car.compute_car``), labels and the purged, embargoed chronological split (``labels.label``,
``labels.chronological_split``), the decisions (a baseline policy on the labelled table, or a
decisions file mapped to events with ``records.map_decisions``), then on the included events of the
backtested splits (default ``test``, the paper's; ``engine.split_window``): the HGRM reward
(``reward.score``), the decision metrics (``metrics.decision_metrics``) and the backtest
(``BacktestConfig.for_labels``: entry and holding period follow the event window unless set, type
weights from the historical split). One result row (:data:`RESULT_SCHEMA`): the config hash, every
grid parameter (one column each, named ``car.gap`` etc.; tuples and dates as canonical JSON text),
the full resolved ``config`` (canonical JSON), the paper's metrics (Sharpe, MDD, TR, ARR, Calmar),
the mean final reward and DA of the decisions, the number of trades executed, the per-day moments
the DSR takes (``n_returns``, ``skew``, ``kurtosis``), the window, and ``status``: ``ok`` or
``error: <ExceptionType>: <message>`` (never a silent gap).

**Reuse.** Work is cached on disk (:func:`cache_dir`) by content hash: the CAR table under
``H(code, dataset identity, CarConfig)`` (``threads`` left out), the labelled table under
``H(CAR key, LabelConfig, SplitConfig)`` and each result row under ``H(labelled key, config hash)``.
``code`` hashes every ``janus_core`` module the numbers depend on (:data:`CODE_PARTS`), so a
changed library never reuses a stale result; the dataset identity is its snapshot hash and table digests. Configurations sharing CAR
parameters share one CAR table, those sharing labels one labelled table; a re-run computes nothing
new and an extended grid only its new cells. Every cache file is written to a temporary name and
renamed, so an interrupted sweep (Ctrl-C) leaves only complete entries and a re-run resumes.
Error rows of a configuration that raised are cached too (the same inputs raise again); a
configuration whose worker died is not, so a re-run tries it again.

**Engines** (:func:`run_sweep`): ``local`` runs the tasks on a process pool (``spawn``) of
``workers`` processes, each loading the dataset once and the labelled tables from the cache;
``ray`` runs the same task functions on a Ray cluster (``ray.init(address=...)``, or a local
cluster of ``workers`` CPUs when no address is given), the dataset, the decisions and the labelled
tables passed through the object store (``ray.put`` once, CAR and labels computed by remote tasks
whose results stay there). Phase 1 computes the missing labelled tables (one task per CAR config:
the CAR table once, then every label config on it); phase 2 evaluates the configurations in chunks
that share a labelled table. A chunk whose worker dies is retried one configuration per task; a
configuration whose own worker dies is reported in its row (``error: worker died: ...``). Rows do
not depend on the engine, the chunking or the worker count, so both engines write the same bytes.

**Overfitting statistics over the sweep** (:func:`overfitting_report`), over the ``ok``
configurations:

- the best configuration: the highest annualised Sharpe ratio (ties: the smallest config hash);
- its Deflated Sharpe Ratio (``metrics.deflated_sharpe_of_returns``, Bailey and Lopez de Prado
  2014) with ``n_trials`` = the number of ``ok`` configurations (each is a trial in the ledger) and
  the sample variance (ddof 1) of their annualised Sharpe ratios;
- the returns matrix: the daily returns of the configurations on the dates every one of them and
  the benchmark have (inner join), identical return columns kept once (configurations differing
  only in reward constants trade identically; a duplicated column would tie with itself in the
  ranks), in config-hash order;
- the probability of backtest overfitting by CSCV (Bailey, Borwein, Lopez de Prado and Zhu 2017;
  ``metrics.probability_of_backtest_overfitting``) on that matrix with ``cscv_splits`` groups (the
  largest even number not above the number of dates when fewer);
- Hansen's (2005) SPA test (``arch.bootstrap.SPA``, stationary bootstrap, studentized) of the
  configurations against the benchmark's buy-and-hold daily returns, losses being negated returns:
  the p-values (lower, consistent, upper) of the null that no configuration beats the benchmark.

Results (:func:`write_results`): ``results.parquet`` (ordered by config hash), ``returns.parquet``
(``config_hash, date, daily_return`` of the ``ok`` configurations), ``overfitting.json`` and
``sweep-manifest.json`` (grid, settings, dataset snapshot, engine, package versions, SHA-256 of
every file written, ``results_sha256``); the research store gets a ``sweeps`` row
(``store.record_sweep``) and every ``ok`` configuration in the trials ledger (kind ``sweep``).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import platform
import signal
import threading
import tomllib
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import janus_core
from janus_core.backtest import config, studies
from janus_core.backtest import engine as backtest
from janus_core.backtest.metrics import (
    NAV_METRIC_KEYS,
    TRADING_DAYS_PER_YEAR,
    decision_metrics,
)
from janus_core.backtest.overfitting import (
    deflated_sharpe_of_returns,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    return_moments,
)
from janus_core.data import store
from janus_core.data.dataset import Dataset
from janus_core.data.manifest import input_digests, load_dataset, read_dataset_manifest
from janus_core.decide import reward
from janus_core.decide.decisions import load_decisions
from janus_core.decide.policies import POLICIES, PolicyConfig, make_decisions
from janus_core.decide.reward import HgrmConfig
from janus_core.evidence.output import write_tree_atomically
from janus_core.evidence.records import map_decisions
from janus_core.evidence.schema import config_json
from janus_core.hashing import H, canonical_json, dumps, sha256_bytes, sha256_file
from janus_core.paths import WorkbenchPaths
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.labels import LabelConfig, SplitConfig, chronological_split, label

# --------------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------------
#: Grid tables and the configs whose fields they name.
SECTIONS: dict[str, tuple[type[BaseModel], ...]] = {
    "car": (CarConfig,),
    "labels": (LabelConfig, SplitConfig),
    "reward": (HgrmConfig,),
    "backtest": (config.BacktestConfig,),
}
#: Fields the sweep sets itself, with the reason a grid may not.
FIXED: dict[str, str] = {
    "car.threads": "the worker thread count never changes a result",
    "backtest.label_window": "it follows car.event_window (BacktestConfig.for_labels)",
    "backtest.start": "the window is set from the backtested splits' event days",
    "backtest.end": "the window is set from the backtested splits' event days",
}
assert not set(LabelConfig.model_fields) & set(SplitConfig.model_fields), "labels.* must name one field"


class GridError(ValueError):
    """A grid file that cannot be swept; the message names the file and the parameter."""


class Grid(BaseModel):
    """Values per parameter (``section.field``), parameters in name order, values in file order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parameters: dict[str, tuple[Any, ...]]

    @property
    def size(self) -> int:
        """Number of configurations: the product of the value counts."""
        return math.prod(len(v) for v in self.parameters.values())

    def to_json(self) -> dict[str, list[Any]]:
        """The grid as plain JSON values (``config_json``), for the manifest and the store."""
        return {k: [config_json(v) for v in vs] for k, vs in self.parameters.items()}


def _field(name: str) -> tuple[type[BaseModel], str]:
    """The config class and field of parameter ``name`` (``section.field``)."""
    section, _, field = name.partition(".")
    if section not in SECTIONS:
        raise GridError(f"{name}: unknown table [{section}]; the grid has {', '.join(f'[{s}]' for s in SECTIONS)}")
    if name in FIXED:
        raise GridError(f"{name}: set by the sweep, not by the grid ({FIXED[name]})")
    for cls in SECTIONS[section]:
        if field in cls.model_fields:
            return cls, field
    known = sorted(f for cls in SECTIONS[section] for f in cls.model_fields if f"{section}.{f}" not in FIXED)
    raise GridError(f"{name}: unknown parameter; [{section}] has {', '.join(known)}")


def _is_tuple_field(cls: type[BaseModel], field: str) -> bool:
    ann = cls.model_fields[field].annotation
    return typing.get_origin(ann) is tuple or any(typing.get_origin(a) is tuple for a in typing.get_args(ann))


def _accepts_none(cls: type[BaseModel], field: str) -> bool:
    return type(None) in typing.get_args(cls.model_fields[field].annotation)


def _decimal(value: Any, name: str, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GridError(f"{name}: range {key} is {value!r}; must be a number")
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - repr of a finite float always parses
        raise GridError(f"{name}: range {key} is {value!r}") from exc


#: At most this many values per range (a typo such as a step of 1e-9 is refused, not expanded).
MAX_RANGE_VALUES = 10_000


def _range(spec: Mapping[str, Any], name: str) -> list[Any]:
    """``{start, stop, step}`` expanded (module docstring)."""
    if set(spec) != {"start", "stop", "step"}:
        raise GridError(f"{name}: a range is {{start, stop, step}}, got keys {sorted(spec)}")
    start, stop, step = (_decimal(spec[k], name, k) for k in ("start", "stop", "step"))
    if step <= 0 or stop < start:
        raise GridError(f"{name}: range needs step > 0 and stop >= start (start {start}, stop {stop}, step {step})")
    count = int((stop - start) / step) + 1
    if count > MAX_RANGE_VALUES:
        raise GridError(f"{name}: range has {count} values; at most {MAX_RANGE_VALUES}")
    values = [start + i * step for i in range(count)]
    if all(isinstance(spec[k], int) for k in ("start", "stop", "step")):
        return [int(v) for v in values]
    return [float(v) for v in values]


def _values(raw: Any, cls: type[BaseModel], field: str, name: str) -> list[Any]:
    """The values of one parameter as the file gives them: a range, a list, or one value."""
    if isinstance(raw, dict):
        values = _range(raw, name)
    elif isinstance(raw, list) and not (_is_tuple_field(cls, field) and raw and not isinstance(raw[0], list)):
        values = list(raw)
    else:
        values = [raw]
    if not values:
        raise GridError(f"{name}: empty list; give at least one value")
    if _accepts_none(cls, field):
        values = [None if isinstance(v, str) and v.lower() == "none" else v for v in values]
    return [tuple(v) if isinstance(v, list) else v for v in values]


def _check_value(cls: type[BaseModel], field: str, value: Any, name: str) -> Any:
    """``value`` as the config stores it; a value the config rejects raises naming ``name``."""
    try:
        return getattr(cls.model_validate({field: value}), field)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        raise GridError(f"{name} = {value!r}: {msg}") from None


def parse_grid(source: str | Path | Mapping[str, Any], *, where: str | None = None) -> Grid:
    """The :class:`Grid` of a TOML file (a path), TOML text (a ``str`` with a newline or ``=``) or an
    already-parsed mapping; every rule of the module docstring checked, a :class:`GridError` naming
    ``where`` (the file) and the parameter otherwise. Combinations are checked by
    :func:`expand_grid`."""
    if isinstance(source, Mapping):
        doc, label_ = dict(source), where or "grid"
    elif isinstance(source, Path) or ("\n" not in source and "=" not in source):
        path = Path(source)
        label_ = where or str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GridError(f"{label_}: cannot read the grid file ({exc.strerror or exc})") from None
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise GridError(f"{label_}: not valid TOML ({exc})") from None
    else:
        label_ = where or "grid"
        try:
            doc = tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            raise GridError(f"{label_}: not valid TOML ({exc})") from None
    parameters: dict[str, tuple[Any, ...]] = {}
    try:
        for section, table in doc.items():
            if section not in SECTIONS:
                raise GridError(f"[{section}]: unknown table; the grid has {', '.join(f'[{s}]' for s in SECTIONS)}")
            if not isinstance(table, dict):
                raise GridError(f"{section}: must be a table [{section}] of parameters")
            for field, raw in table.items():
                name = f"{section}.{field}"
                cls, fname = _field(name)
                values = [_check_value(cls, fname, v, name) for v in _values(raw, cls, fname, name)]
                seen: set[str] = set()
                for v in values:
                    key = canonical_json(config_json(v))
                    if key in seen:
                        raise GridError(f"{name}: value {v!r} listed twice")
                    seen.add(key)
                parameters[name] = tuple(values)
    except GridError as exc:
        raise GridError(f"{label_}: {exc}") from None
    if not parameters:
        raise GridError(f"{label_}: no parameter; name at least one under {', '.join(f'[{s}]' for s in SECTIONS)}")
    return Grid(parameters=dict(sorted(parameters.items())))


# --------------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------------
class SweepSettings(BaseModel):
    """What every configuration of a sweep shares.

    ``decisions``: a baseline policy (``policies.POLICIES``, decided on each labelled table with
    ``policy``) or a decisions file (one strategy: the only one, or ``strategy_id``).
    ``candidate_id``: the name in the trials ledger (default: the policy name or the strategy id,
    as ``janus backtest``). ``splits``: the chronological splits backtested and scored (the paper's
    test split). ``benchmark``: the benchmark of the SPA test (default: the one most of the
    dataset's securities follow, ties by name). ``cscv_splits`` (even), ``spa_reps``,
    ``spa_block_size`` (None: arch's default) and ``spa_seed``: the overfitting statistics'
    constants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = "synthetic-ashare"
    decisions: str = "type_prior"
    strategy_id: str | None = None
    candidate_id: str | None = None
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    splits: tuple[str, ...] = ("test",)
    benchmark: str | None = None
    cscv_splits: int = Field(16, ge=2, multiple_of=2)
    spa_reps: int = Field(1000, ge=10)
    spa_block_size: int | None = Field(None, ge=1)
    spa_seed: int = 0

    def fixed(self, decisions_ref: str) -> dict[str, Any]:
        """The part of every config hash that the grid does not vary."""
        return {
            "decisions": decisions_ref,
            "strategy_id": self.strategy_id,
            "splits": sorted(self.splits),
            "policy": config_json(self.policy) if decisions_ref.startswith("policy:") else None,
        }


def _car_json(car: CarConfig) -> dict[str, Any]:
    return config_json(car.model_dump(mode="json", exclude={"threads"}))


@dataclass(frozen=True)
class SweepPoint:
    """One configuration: its grid values (``params``, parameter name -> value) and resolved configs
    (``backtest`` holds the grid's backtest overrides; the window is set per labelled table)."""

    params: dict[str, Any]
    car: CarConfig
    label: LabelConfig
    split: SplitConfig
    reward: HgrmConfig
    backtest: dict[str, Any]

    def backtest_config(self, **window: Any) -> config.BacktestConfig:
        """``BacktestConfig.for_labels(car, **overrides, **window)``, with the labels' round-trip cost
        (one cost fact) unless the grid sweeps the backtest's own cost."""
        cost = {"round_trip_cost_bps": self.label.round_trip_cost_bps}
        return config.BacktestConfig.for_labels(self.car, **{**cost, **self.backtest, **window})

    def resolved(self) -> dict[str, Any]:
        """Every config as plain JSON (floats as decimal strings)."""
        return {
            "car": _car_json(self.car),
            "label": config_json(self.label),
            "split": config_json(self.split),
            "reward": config_json(self.reward),
            "backtest": config_json(self.backtest_config()),
        }


def expand_grid(grid: Grid) -> list[SweepPoint]:
    """Every configuration of ``grid``: the cartesian product in parameter-name order (the last
    parameter varies fastest). A combination its configs reject raises a :class:`GridError` naming
    the values."""
    names = list(grid.parameters)
    points = []
    for combo in itertools.product(*(grid.parameters[n] for n in names)):
        params = dict(zip(names, combo, strict=True))
        parts: dict[str, dict[str, Any]] = {"car": {}, "label": {}, "split": {}, "reward": {}, "backtest": {}}
        for name, value in params.items():
            section, _, field = name.partition(".")
            if section == "labels":
                parts["label" if field in LabelConfig.model_fields else "split"][field] = value
            else:
                parts[section][field] = value
        try:
            label = LabelConfig(**parts["label"])
            reward_cfg = HgrmConfig(**{"round_trip_cost_bps": label.round_trip_cost_bps, **parts["reward"]})
            point = SweepPoint(
                params=params,
                car=CarConfig(**parts["car"]),
                label=label,
                split=SplitConfig(**parts["split"]),
                reward=reward_cfg,
                backtest=parts["backtest"],
            )
            point.backtest_config()
        except (ValidationError, ValueError) as exc:
            first = (
                exc.errors()[0]["msg"].removeprefix("Value error, ") if isinstance(exc, ValidationError) else str(exc)
            )
            shown = ", ".join(f"{k} = {v!r}" for k, v in params.items())
            raise GridError(f"the configuration {shown}: {first}") from None
        points.append(point)
    return points


# --------------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------------
def cache_dir(paths: WorkbenchPaths) -> Path:
    """The sweep cache: ``JANUS_SWEEP_CACHE``, else ``.janus-cache/sweep`` next to the research store."""
    env = os.environ.get("JANUS_SWEEP_CACHE", "").strip()
    return Path(env) if env else paths.store.parent / ".janus-cache" / "sweep"


#: The ``janus_core`` modules a sweep's numbers are computed by (the steps below this module, and it).
CODE_PARTS: tuple[str, ...] = ("data", "study", "decide", "backtest", "evidence", "hashing.py", "paths.py", "sweep.py")


def code_key() -> str:
    """``H`` of the (path, SHA-256) of every ``janus_core`` module in :data:`CODE_PARTS`: the library
    a cached result was computed with (an edit of the CLI, the report or a notebook keeps the cache)."""
    root = Path(janus_core.__file__).resolve().parent
    files = sorted(
        p
        for part in CODE_PARTS
        for p in ([root / part] if part.endswith(".py") else (root / part).rglob("*.py"))
        if "__pycache__" not in p.parts
    )
    return H({p.relative_to(root).as_posix(): sha256_file(p) for p in files})


@dataclass(frozen=True)
class Keys:
    """Cache keys of one configuration (module docstring, "Reuse") and its config hash."""

    car: str
    labelled: str
    row: str
    config_hash: str


def point_keys(point: SweepPoint, dataset_key: str, code: str, fixed: Mapping[str, Any]) -> Keys:
    """The cache keys and config hash of ``point`` (module docstring)."""
    car = H({"kind": "car", "code": code, "dataset": dataset_key, "car": _car_json(point.car)})
    labelled = H({"kind": "labelled", "car": car, "label": config_json(point.label), "split": config_json(point.split)})
    config_hash = H({"configs": point.resolved(), **fixed})
    return Keys(
        car=car,
        labelled=labelled,
        row=H({"kind": "row", "labelled": labelled, "config": config_hash}),
        config_hash=config_hash,
    )


def _atomic_write(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, path)


def _cache_path(root: Path, kind: str, key: str) -> Path:
    return root / kind / f"{key}.parquet"


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
    """One configuration's metrics on the included events of ``splits`` (module docstring) and its
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


def _error_row(status: str) -> dict[str, Any]:
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
        return [(_error_row(prepare_error or "error: no labelled table"), None) for _ in points]
    try:
        cand = candidate_decisions(decisions, settings, labelled)
        memo = ChunkMemo(ds, labelled, cand, settings.splits)
    except Exception as exc:  # noqa: BLE001 - reported in every row of the chunk
        return [(_error_row(error_status(exc)), None) for _ in points]
    out: list[Outcome] = []
    for point in points:
        try:
            out.append(evaluate_point(ds, labelled, cand, point, settings.splits, memo))
        except Exception as exc:  # noqa: BLE001 - a configuration that raises is reported, not fatal
            out.append((_error_row(error_status(exc)), None))
    return out


def prepare_labelled(
    ds: Dataset, car_cfg: CarConfig, car_table: pl.DataFrame | None, specs: Sequence[tuple[LabelConfig, SplitConfig]]
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The CAR table of ``car_cfg`` (``car_table`` when cached, else ``compute_car``) and the labelled
    table of every (label, split) config in ``specs``."""
    table = compute_car(ds, car_cfg) if car_table is None else car_table
    return table, [labelled_table(ds, table, lab, spl, car_cfg) for lab, spl in specs]


# --------------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------------
Engine = Literal["local", "ray"]


@dataclass(frozen=True)
class PrepareTask:
    """Phase 1: the labelled tables of one CAR config (``labelled_keys`` in ``specs`` order)."""

    car_key: str
    car: CarConfig
    car_cached: bool
    labelled_keys: tuple[str, ...]
    specs: tuple[tuple[LabelConfig, SplitConfig], ...]


@dataclass(frozen=True)
class EvalTask:
    """Phase 2: configurations (``row_keys`` for ``points``) sharing the labelled table ``labelled_key``."""

    labelled_key: str
    row_keys: tuple[str, ...]
    points: tuple[SweepPoint, ...]


class WorkerDied(RuntimeError):
    """A worker process ended while running a task (killed, out of memory, crashed)."""


#: Per-process state of a local worker (set by :func:`_init_local_worker`).
_LOCAL: dict[str, Any] = {}


def _init_local_worker(
    dataset: str, paths: WorkbenchPaths, cache: Path, decisions: pl.DataFrame | None, settings: SweepSettings
) -> None:
    _LOCAL.clear()
    _LOCAL.update(ds=load_dataset(dataset, paths), cache=cache, decisions=decisions, settings=settings, labelled={})


def _local_prepare(task: PrepareTask) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    car_table = pl.read_parquet(_cache_path(_LOCAL["cache"], "car", task.car_key)) if task.car_cached else None
    return prepare_labelled(_LOCAL["ds"], task.car, car_table, task.specs)


def _local_evaluate(task: EvalTask) -> list[Outcome]:
    memo: dict[str, pl.DataFrame] = _LOCAL["labelled"]
    if task.labelled_key not in memo:
        memo.clear()  # chunks arrive grouped by labelled table: keep one in memory
        memo[task.labelled_key] = pl.read_parquet(_cache_path(_LOCAL["cache"], "labelled", task.labelled_key))
    return evaluate_chunk(_LOCAL["ds"], memo[task.labelled_key], _LOCAL["decisions"], _LOCAL["settings"], task.points)


class LocalEngine:
    """A ``spawn`` process pool of ``workers`` processes (each running ``initializer(*initargs)``
    first); a broken pool (a worker died) is replaced on the next :meth:`map`. ``inline`` runs the
    tasks in this process instead, one after the other (``run_sweep`` with one worker: no process
    start-up, but a task that kills its process kills the sweep)."""

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        inline: bool = False,
    ) -> None:
        self.workers = max(1, workers)
        self.inline = inline
        self.initialized = False
        self.initializer = initializer
        self.initargs = initargs
        self.pool: cf.ProcessPoolExecutor | None = None

    def _pool(self) -> cf.ProcessPoolExecutor:
        if self.pool is None:
            self.pool = cf.ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=self.initializer,
                initargs=self.initargs,
            )
        return self.pool

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` as tasks complete; a task that raised yields its exception, one whose
        worker died a :class:`WorkerDied`."""
        if self.inline:
            yield from self._map_inline(fn, tasks)
            return
        # The workers are started while submitting, with SIGINT ignored (inherited across spawn): a
        # Ctrl-C reaches only this process, which stops the pool (:meth:`close`) with the cache intact.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            pool = self._pool()
            futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        for fut in cf.as_completed(futures):
            try:
                yield futures[fut], fut.result()
            except cf.process.BrokenProcessPool as exc:
                self.close()
                yield futures[fut], WorkerDied(f"worker died: {exc}")
            except Exception as exc:  # noqa: BLE001 - the task's own error, reported in its rows
                yield futures[fut], exc

    def _map_inline(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if not self.initialized and self.initializer is not None:
            self.initializer(*self.initargs)
        self.initialized = True
        for i, task in enumerate(tasks):
            try:
                value = fn(task)
            except Exception as exc:  # noqa: BLE001 - the task's own error, as from a pool
                value = exc
            yield i, value

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down; with ``cancel`` (an interrupt) drop the queued tasks and end the
        running ones at once."""
        if self.pool is not None:
            pool, self.pool = self.pool, None
            if cancel:
                processes = list(getattr(pool, "_processes", {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for proc in processes:
                    proc.terminate()
                for proc in processes:
                    proc.join()
            else:
                pool.shutdown(wait=True)


def _ray_prepare(
    ds: Dataset, car_cfg: CarConfig, car_table: pl.DataFrame | None, specs: Sequence[tuple[LabelConfig, SplitConfig]]
) -> tuple[Any, ...]:
    table, labelled = prepare_labelled(ds, car_cfg, car_table, specs)
    return (table, *labelled)


def _ray_evaluate(
    ds: Dataset,
    labelled: pl.DataFrame,
    decisions: pl.DataFrame | None,
    settings: SweepSettings,
    points: Sequence[SweepPoint],
) -> list[Outcome]:
    return evaluate_chunk(ds, labelled, decisions, settings, points)


def disable_uv_run_hook() -> None:
    """Turn off Ray's "uv run" runtime-environment hook for a local cluster. Its workers run this
    interpreter and environment, so re-creating the environment per worker from the working directory
    is not needed, and it breaks when the driver was started through a relative path to uv (a
    bootstrapped ``.tools/bin/uv``: the workers look for it inside Ray's copy of the working directory
    and never start). Ray reads the switch at import and at ``ray.init``, so both are set."""
    os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
    from ray._private import ray_constants  # the switch ray.init reads (no public API for it)

    ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False


class RayEngine:
    """Tasks on a Ray cluster: ``ray.init(address=...)``, or a local cluster of ``workers`` CPUs
    (shut down again by :meth:`close`; a cluster already initialised in this process is used as it
    is and left running). Inputs go through the object store. The cluster's nodes need this
    workbench installed in the same version (the tasks are this module's functions)."""

    def __init__(self, address: str | None, workers: int) -> None:
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # read when Ray is first imported
        import ray  # Ray is loaded only for this engine

        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                ray.init(address=address, **kwargs)
            else:
                disable_uv_run_hook()
                ray.init(num_cpus=max(1, workers), **kwargs)
        self.remote: dict[Callable[..., Any], Any] = {}

    def put(self, value: Any) -> Any:
        return self.ray.put(value)

    def submit(self, fn: Callable[..., Any], *args: Any, num_returns: int = 1) -> Any:
        """``fn(*args)`` as a Ray task (no retries: a dead worker is reported, not hidden); its ref,
        or a list of ``num_returns`` refs."""
        if fn not in self.remote:
            self.remote[fn] = self.ray.remote(max_retries=0)(fn)
        return self.remote[fn].options(num_returns=num_returns).remote(*args)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` of ``fn(task)`` as tasks complete (as :meth:`LocalEngine.map`)."""
        return self.wait_all({self.submit(fn, t): i for i, t in enumerate(tasks)})

    def wait_all(self, refs: Mapping[Any, int]) -> Iterator[tuple[int, Any]]:
        """``(index, value)`` as the refs complete; a task that raised yields its exception (the cause
        Ray wrapped), one whose worker died a :class:`WorkerDied`."""
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield refs[ref], self.ray.get(ref)
                except (
                    self.ray.exceptions.WorkerCrashedError,
                    self.ray.exceptions.NodeDiedError,
                    self.ray.exceptions.ActorDiedError,
                    self.ray.exceptions.ObjectLostError,
                ) as exc:
                    yield refs[ref], WorkerDied(f"worker died: {type(exc).__name__}")
                except self.ray.exceptions.RayTaskError as exc:  # the task's own error, as the local engine has it
                    cause = getattr(exc, "cause", None)
                    yield refs[ref], cause if isinstance(cause, BaseException) else exc

    def close(self, cancel: bool = False) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()


# --------------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------------
class Progress(BaseModel):
    """Counts reported after each finished configuration (cached ones count at the start)."""

    model_config = ConfigDict(frozen=True)

    total: int
    done: int
    failed: int
    cached: int


@dataclass(frozen=True)
class SweepRun:
    """A finished sweep: the result rows (ordered by config hash), the daily returns of the ``ok``
    configurations, and what was reused: ``computed`` configurations, ``car_computed`` CAR tables and
    ``labelled_computed`` labelled tables computed by this run (0 when everything came from the
    cache)."""

    settings: SweepSettings
    grid: Grid
    dataset: str
    dataset_snapshot_hash: str | None
    dataset_key: str
    decisions_ref: str
    candidate_id: str
    engine: str
    results: pl.DataFrame
    returns: pl.DataFrame
    computed: int
    car_computed: int
    labelled_computed: int

    @property
    def sweep_id(self) -> str:
        """``H`` of (dataset identity, grid, shared settings): the same sweep has the same id whatever
        the engine."""
        return H(
            {
                "dataset": self.dataset_key,
                "grid": self.grid.to_json(),
                "settings": config_json(self.settings.model_dump(mode="json")),
                "decisions": self.decisions_ref,
            }
        )


def _param_column(name: str, values: list[Any]) -> pl.Series:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pl.Series(name, values, dtype=pl.Boolean)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pl.Series(name, values, dtype=pl.Int64)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pl.Series(name, [None if v is None else float(v) for v in values], dtype=pl.Float64)
    if present and all(isinstance(v, str) for v in present):
        return pl.Series(name, values, dtype=pl.String)
    return pl.Series(name, [None if v is None else canonical_json(config_json(v)) for v in values], dtype=pl.String)


def results_frame(
    grid: Grid, points: Sequence[SweepPoint], keys: Sequence[Keys], rows: Sequence[dict[str, Any]]
) -> pl.DataFrame:
    """The result rows (:data:`METRIC_SCHEMA` after ``config_hash``, the parameters and ``config``),
    ordered by config hash."""
    base = pl.DataFrame({"config_hash": [k.config_hash for k in keys]}, schema={"config_hash": pl.String})
    params = [_param_column(name, [p.params[name] for p in points]) for name in grid.parameters]
    configs = pl.Series("config", [canonical_json(p.resolved()) for p in points], dtype=pl.String)
    metrics = pl.DataFrame([{k: r.get(k) for k in METRIC_SCHEMA} for r in rows], schema=METRIC_SCHEMA)
    return pl.concat([base.with_columns(*params, configs), metrics], how="horizontal").sort("config_hash")


def dataset_identity(name: str, paths: WorkbenchPaths) -> tuple[str, str | None]:
    """``(key, snapshot hash)``: the key is ``H`` of the snapshot hash and the manifest's table digests."""
    manifest, _ = read_dataset_manifest(name, paths)
    snapshot = (manifest or {}).get("snapshot_hash")
    return H({"name": name, "snapshot_hash": snapshot, "tables": input_digests(manifest)}), snapshot


def _decisions_source(settings: SweepSettings) -> tuple[pl.DataFrame | None, str, str]:
    """The decisions file's frame (None for a policy), the decisions reference and the candidate id."""
    if settings.decisions in POLICIES:
        return None, f"policy:{settings.decisions}", settings.candidate_id or settings.decisions
    path = Path(settings.decisions)
    if not path.is_file():
        raise ValueError(
            f"decisions {settings.decisions!r}: neither a policy ({', '.join(POLICIES)}) nor a decisions file"
        )
    frame = load_decisions(path)
    present = sorted(frame["strategy_id"].drop_nulls().unique().to_list())
    if settings.strategy_id is not None:
        if settings.strategy_id not in present:
            raise ValueError(
                f"{path}: column strategy_id has no rows for {settings.strategy_id!r} (present: {present[:10]})"
            )
        frame = frame.filter(pl.col("strategy_id") == settings.strategy_id)
    elif len(present) != 1:
        raise ValueError(
            f"{path}: column strategy_id has {len(present)} strategies {present[:10]}; "
            f"rule: exactly one, or pick one with strategy_id"
        )
    candidate = settings.candidate_id or settings.strategy_id or present[0]
    return frame, f"decisions:sha256:{sha256_file(path)}", candidate


def _chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def run_sweep(
    grid: Grid,
    settings: SweepSettings,
    paths: WorkbenchPaths,
    *,
    engine: Engine = "local",
    workers: int | None = None,
    address: str | None = None,
    chunk_size: int | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> SweepRun:
    """Evaluate every configuration of ``grid`` (module docstring): cached rows are read, the rest
    computed on ``engine`` with ``workers`` processes or CPUs (default: the machine's cores; the
    local engine with one worker runs in this process) and
    cached as they finish; ``progress`` is called with the counts after each one. A
    ``KeyboardInterrupt`` stops the workers and propagates, leaving the cache of every finished
    configuration. The grid is expanded and validated (:func:`expand_grid`) before anything runs."""
    points = expand_grid(grid)
    load_dataset(settings.dataset, paths)  # an unknown or changed dataset fails before any work
    ds_key, snapshot = dataset_identity(settings.dataset, paths)
    decisions, decisions_ref, candidate = _decisions_source(settings)
    fixed = settings.fixed(decisions_ref)
    code = code_key()
    keys = [point_keys(p, ds_key, code, fixed) for p in points]
    root = cache_dir(paths)
    workers = workers or os.cpu_count() or 1

    rows: dict[str, Outcome] = {}
    for k in dict.fromkeys(k.row for k in keys):
        path = _cache_path(root, "rows", k)
        if path.is_file():
            rows[k] = _read_row(path)
    total = len(points)
    failed = sum(1 for k in keys if k.row in rows and rows[k.row][0]["status"] != "ok")
    cached_n = sum(1 for k in keys if k.row in rows)
    state = {"done": cached_n, "failed": failed}

    def report() -> None:
        if progress is not None:
            progress(Progress(total=total, done=state["done"], failed=state["failed"], cached=cached_n))

    report()
    todo: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k.row not in rows:
            todo.setdefault(k.row, []).append(i)
    by_labelled: dict[str, list[str]] = {}
    for row_key, idx in todo.items():
        by_labelled.setdefault(keys[idx[0]].labelled, []).append(row_key)

    def finish(row_key: str, outcome: Outcome, cache: bool = True) -> None:
        rows[row_key] = outcome
        if cache:
            _write_row(_cache_path(root, "rows", row_key), outcome)
        n = len(todo[row_key])
        state["done"] += n
        state["failed"] += n if outcome[0]["status"] != "ok" else 0
        report()

    counts = {"car": 0, "labelled": 0}
    if todo:
        runner = (
            LocalEngine(
                workers, _init_local_worker, (settings.dataset, paths, root, decisions, settings), inline=workers == 1
            )
            if engine == "local"
            else RayEngine(address, workers)
        )
        try:
            _run_phases(
                runner,
                engine,
                points,
                keys,
                by_labelled,
                todo,
                root,
                settings,
                decisions,
                paths,
                chunk_size or max(1, min(25, math.ceil(len(todo) / (4 * workers)))),
                finish,
                counts,
            )
        except BaseException:
            runner.close(cancel=True)
            raise
        runner.close()
    outcomes = [rows[k.row] for k in keys]
    results = results_frame(grid, points, keys, [o[0] for o in outcomes])
    seen: set[str] = set()
    frames = []
    for k, (_, ret) in zip(keys, outcomes, strict=True):
        if ret is not None and k.config_hash not in seen:
            seen.add(k.config_hash)
            frames.append(ret.select(pl.lit(k.config_hash).alias("config_hash"), "date", "daily_return"))
    returns = (
        pl.concat(frames, how="vertical").sort("config_hash", "date")
        if frames
        else pl.DataFrame(schema={"config_hash": pl.String, "date": pl.Date, "daily_return": pl.Float64})
    )
    return SweepRun(
        settings=settings,
        grid=grid,
        dataset=settings.dataset,
        dataset_snapshot_hash=snapshot,
        dataset_key=ds_key,
        decisions_ref=decisions_ref,
        candidate_id=candidate,
        engine=engine,
        results=results,
        returns=returns,
        computed=len(todo),
        car_computed=counts["car"],
        labelled_computed=counts["labelled"],
    )


def _run_phases(
    runner: LocalEngine | RayEngine,
    engine: str,
    points: Sequence[SweepPoint],
    keys: Sequence[Keys],
    by_labelled: Mapping[str, list[str]],
    todo: Mapping[str, list[int]],
    root: Path,
    settings: SweepSettings,
    decisions: pl.DataFrame | None,
    paths: WorkbenchPaths,
    chunk: int,
    finish: Callable[..., None],
    counts: dict[str, int],
) -> None:
    """Phase 1 (missing labelled tables) and phase 2 (the configurations) on ``runner``."""
    first_of = {k.labelled: i for i, k in reversed(list(enumerate(keys)))}
    missing = [lk for lk in by_labelled if not _cache_path(root, "labelled", lk).is_file()]
    by_car: dict[str, list[str]] = {}
    for lk in missing:
        by_car.setdefault(keys[first_of[lk]].car, []).append(lk)
    prepare = [
        PrepareTask(
            car_key=ck,
            car=points[first_of[lks[0]]].car,
            car_cached=_cache_path(root, "car", ck).is_file(),
            labelled_keys=tuple(lks),
            specs=tuple((points[first_of[lk]].label, points[first_of[lk]].split) for lk in lks),
        )
        for ck, lks in by_car.items()
    ]
    prepare_errors: dict[str, str] = {}
    died: set[str] = set()  # labelled tables whose worker died: their rows are not cached
    labelled_refs: dict[str, Any] = {}
    ray_mode = isinstance(runner, RayEngine)
    if ray_mode:
        ds_ref = runner.put(load_dataset(settings.dataset, paths))
        dec_ref = runner.put(decisions)
        refs: dict[Any, int] = {}
        outs: dict[int, list[Any]] = {}
        for i, task in enumerate(prepare):
            car_table = runner.put(pl.read_parquet(_cache_path(root, "car", task.car_key))) if task.car_cached else None
            out = runner.submit(
                _ray_prepare, ds_ref, task.car, car_table, list(task.specs), num_returns=1 + len(task.specs)
            )
            outs[i] = out
            refs[out[0]] = i
        results: Iterable[tuple[int, Any]] = runner.wait_all(refs)
    else:
        results = runner.map(_local_prepare, prepare)
    for i, value in results:
        task = prepare[i]
        if isinstance(value, BaseException):
            for lk in task.labelled_keys:
                prepare_errors[lk] = f"error: {value}" if isinstance(value, WorkerDied) else error_status(value)
                if isinstance(value, WorkerDied):
                    died.add(lk)
            continue
        try:
            if ray_mode:
                car_table = value
                labelled = runner.ray.get(outs[i][1:])
                labelled_refs.update(zip(task.labelled_keys, outs[i][1:], strict=True))
            else:
                car_table, labelled = value
        except Exception as exc:  # noqa: BLE001 - a failed CAR/label task is reported in its rows
            for lk in task.labelled_keys:
                prepare_errors[lk] = error_status(exc)
            continue
        if not task.car_cached:
            _atomic_write(_cache_path(root, "car", task.car_key), car_table)
            counts["car"] += 1
        for lk, frame in zip(task.labelled_keys, labelled, strict=True):
            _atomic_write(_cache_path(root, "labelled", lk), frame)
            counts["labelled"] += 1

    tasks: list[EvalTask] = []
    for lk, row_keys in by_labelled.items():
        if lk in prepare_errors:
            for rk in row_keys:
                finish(rk, (_error_row(prepare_errors[lk]), None), cache=lk not in died)
            continue
        for part in _chunks(row_keys, chunk):
            tasks.append(
                EvalTask(labelled_key=lk, row_keys=tuple(part), points=tuple(points[todo[rk][0]] for rk in part))
            )

    def submit(batch: Sequence[EvalTask]) -> Iterable[tuple[int, Any]]:
        if not ray_mode:
            return runner.map(_local_evaluate, batch)
        refs = {}
        for i, t in enumerate(batch):
            lref = labelled_refs.get(t.labelled_key)
            if lref is None:
                lref = labelled_refs[t.labelled_key] = runner.put(
                    pl.read_parquet(_cache_path(root, "labelled", t.labelled_key))
                )
            refs[runner.submit(_ray_evaluate, ds_ref, lref, dec_ref, settings, list(t.points))] = i
        return runner.wait_all(refs)

    retry: list[EvalTask] = []
    for i, value in submit(tasks):
        task = tasks[i]
        if isinstance(value, WorkerDied):
            retry += [
                EvalTask(task.labelled_key, (rk,), (pt,)) for rk, pt in zip(task.row_keys, task.points, strict=True)
            ]
            continue
        if isinstance(value, BaseException):
            value = [(_error_row(error_status(value)), None)] * len(task.row_keys)
        for rk, outcome in zip(task.row_keys, value, strict=True):
            finish(rk, outcome)
    for task in retry:  # one configuration per task, one at a time: a death is that configuration's
        for _, value in submit([task]):
            if isinstance(value, WorkerDied):
                finish(task.row_keys[0], (_error_row(f"error: {value}"), None), cache=False)
            elif isinstance(value, BaseException):
                finish(task.row_keys[0], (_error_row(error_status(value)), None))
            else:
                finish(task.row_keys[0], value[0])


def _write_row(path: Path, outcome: Outcome) -> None:
    row, returns = outcome
    frame = pl.DataFrame([{k: row.get(k) for k in METRIC_SCHEMA}], schema=METRIC_SCHEMA)
    dates = returns["date"].to_list() if returns is not None else None
    values = returns["daily_return"].to_list() if returns is not None else None
    frame = frame.with_columns(
        pl.Series("returns_date", [dates], dtype=pl.List(pl.Date)),
        pl.Series("returns_value", [values], dtype=pl.List(pl.Float64)),
    )
    _atomic_write(path, frame)


def _read_row(path: Path) -> Outcome:
    frame = pl.read_parquet(path)
    row = {k: frame[k][0] for k in METRIC_SCHEMA}
    dates, values = frame["returns_date"][0], frame["returns_value"][0]
    if dates is None:
        return row, None
    return row, pl.DataFrame(
        {"date": dates, "daily_return": values}, schema={"date": pl.Date, "daily_return": pl.Float64}
    )


# --------------------------------------------------------------------------------------------------
# Overfitting statistics
# --------------------------------------------------------------------------------------------------
def default_benchmark(ds: Dataset) -> str:
    """The benchmark most of the dataset's securities follow (ties: the first by name)."""
    sec = ds.securities
    col = next((c for c in ("benchmark", "index") if c in sec.columns), None)
    names = sorted(ds.benchmarks["benchmark"].unique().to_list())
    if col is None or sec.height == 0:
        return names[0]
    counts = sec.group_by(col).len().sort(["len", col], descending=[True, False])
    top = [n for n in counts[col].to_list() if n in names]
    return top[0] if top else names[0]


def benchmark_returns(ds: Dataset, name: str) -> pl.DataFrame:
    """``date, daily_return`` of benchmark ``name``'s close (close over the previous close, minus one)."""
    b = ds.benchmarks.filter(pl.col("benchmark") == name).sort("date")
    if b.height == 0:
        raise ValueError(
            f"benchmark {name!r} is not in the dataset's benchmarks "
            f"({', '.join(sorted(ds.benchmarks['benchmark'].unique().to_list()))})"
        )
    return b.select("date", (pl.col("close") / pl.col("close").shift(1) - 1.0).alias("daily_return")).drop_nulls()


def aligned_returns(
    returns: pl.DataFrame, bench: pl.DataFrame
) -> tuple[list[str], int, pl.Series, np.ndarray, np.ndarray]:
    """The T x N matrix of the configurations' daily returns on the dates all of them and the
    benchmark have, identical columns kept once (config-hash order): the kept hashes, the number of
    configurations before that, the dates, the matrix and the benchmark's returns on those dates."""
    wide = returns.pivot(on="config_hash", index="date", values="daily_return", sort_columns=True)
    hashes = sorted(c for c in wide.columns if c != "date")
    wide = wide.join(bench.rename({"daily_return": "__benchmark"}), on="date", how="inner").drop_nulls().sort("date")
    matrix = wide.select(hashes).to_numpy() if hashes else np.zeros((wide.height, 0))
    kept, seen = [], set()
    for j in range(len(hashes)):
        digest = hashlib.sha256(np.ascontiguousarray(matrix[:, j]).tobytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(j)
    return [hashes[j] for j in kept], len(hashes), wide["date"], matrix[:, kept], wide["__benchmark"].to_numpy()


def spa_test(
    benchmark: np.ndarray, models: np.ndarray, *, reps: int, block_size: int | None, seed: int
) -> dict[str, Any]:
    """Hansen's SPA test of the ``models`` (T x N daily returns) against the ``benchmark`` (T):
    ``arch.bootstrap.SPA`` on the losses ``-returns`` (stationary bootstrap, studentized); the
    p-values of the null that no model beats the benchmark."""
    from arch.bootstrap import SPA  # arch loads pandas: only here

    spa = SPA(-benchmark, -models, block_size=block_size, reps=reps, seed=seed)
    spa.compute()
    p = spa.pvalues
    return {
        "pvalue_lower": float(p["lower"]),
        "pvalue_consistent": float(p["consistent"]),
        "pvalue_upper": float(p["upper"]),
        "reps": reps,
        "block_size": block_size,
        "seed": seed,
        "bootstrap": "stationary",
        "studentize": True,
    }


def overfitting_report(run: SweepRun, ds: Dataset) -> dict[str, Any]:
    """The overfitting statistics of the sweep (module docstring), as a JSON-able dict; a statistic
    that cannot be computed (fewer than two configurations, too few dates) carries its reason."""
    ok = run.results.filter(pl.col("status") == "ok")
    out: dict[str, Any] = {
        "n_configurations": run.results.height,
        "n_ok": ok.height,
        "n_failed": run.results.height - ok.height,
    }
    if ok.height == 0:
        return {
            **out,
            "best": None,
            "dsr": {"skipped": "no configuration finished ok"},
            "pbo": {"skipped": "no configuration finished ok"},
            "spa": {"skipped": "no configuration finished ok"},
        }
    best = ok.sort(["sharpe", "config_hash"], descending=[True, False]).row(0, named=True)
    out["best"] = {
        "config_hash": best["config_hash"],
        "sharpe": best["sharpe"],
        "params": {k: best[k] for k in run.grid.parameters},
    }
    sharpes = ok["sharpe"]
    variance = float(sharpes.var(ddof=1)) if ok.height >= 2 else None
    best_returns = run.returns.filter(pl.col("config_hash") == best["config_hash"]).sort("date")["daily_return"]
    try:
        out["dsr"] = {
            **deflated_sharpe_of_returns(best_returns, ok.height, variance),
            "n_trials": ok.height,
            "trial_sharpe_variance": variance,
        }
    except ValueError as exc:
        out["dsr"] = {"skipped": str(exc)}
    bench_name = run.settings.benchmark or default_benchmark(ds)
    bench = benchmark_returns(ds, bench_name)
    kept, n_series, dates, matrix, bench_r = aligned_returns(run.returns, bench)
    t = matrix.shape[0]
    out["aligned"] = {
        "n_dates": t,
        "n_configurations": n_series,
        "n_distinct_return_series": len(kept),
        "benchmark": bench_name,
        "first_date": str(dates.min()) if t else None,
        "last_date": str(dates.max()) if t else None,
    }
    splits = min(run.settings.cscv_splits, t - t % 2)
    if len(kept) < 2:
        out["pbo"] = {"skipped": f"{len(kept)} distinct return series; CSCV needs at least 2"}
    elif splits < 2:
        out["pbo"] = {"skipped": f"{t} common dates; CSCV needs at least 2"}
    else:
        out["pbo"] = probability_of_backtest_overfitting(matrix, splits)
    if t < 10 or len(kept) < 1:
        out["spa"] = {"skipped": f"{t} common dates and {len(kept)} return series; SPA needs 10 dates and a series"}
    else:
        best_kept = max(range(len(kept)), key=lambda j: (float(matrix[:, j].mean()), -j))
        out["spa"] = {
            **spa_test(
                bench_r,
                matrix,
                reps=run.settings.spa_reps,
                block_size=run.settings.spa_block_size,
                seed=run.settings.spa_seed,
            ),
            "benchmark": bench_name,
            "best_mean_return_config_hash": kept[best_kept],
        }
    return out


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------
#: ``kind`` of ``sweep-manifest.json`` and the files of a sweep folder.
SWEEP_KIND = "janus-sweep"
OUTPUT_FILES: frozenset[str] = frozenset(
    {"results.parquet", "returns.parquet", "overfitting.json", "sweep-manifest.json"}
)
#: Distributions whose versions the sweep manifest records.
SWEEP_PACKAGES: tuple[str, ...] = ("polars", "numpy", "scipy", "pydantic", "pyarrow", "duckdb", "arch", "ray")


def _jsonable(value: Any) -> Any:
    """Plain JSON values: non-finite floats become null, dates ISO text, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _versions(names: Sequence[str]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not-installed"
    return out


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def sweep_files(run: SweepRun, overfitting: Mapping[str, Any]) -> dict[str, bytes]:
    """The files of a sweep folder (module docstring) as bytes: results, returns, overfitting and the
    manifest (every other file's SHA-256 in ``files``, the results' in ``results_sha256``)."""
    files = {
        "results.parquet": _parquet(run.results),
        "returns.parquet": _parquet(run.returns),
        "overfitting.json": dumps(_jsonable(overfitting)),
    }
    manifest = {
        "kind": SWEEP_KIND,
        "sweep_id": run.sweep_id,
        "grid": run.grid.to_json(),
        "settings": _jsonable(run.settings.model_dump(mode="json")),
        "dataset": {"name": run.dataset, "snapshot_hash": run.dataset_snapshot_hash, "key": run.dataset_key},
        "decisions_ref": run.decisions_ref,
        "candidate_id": run.candidate_id,
        "engine": run.engine,
        "n_configurations": run.results.height,
        "n_failed": int((run.results["status"] != "ok").sum()),
        "packages": _versions(SWEEP_PACKAGES),
        "python": platform.python_version(),
        "janus_core_version": janus_core.__version__,
        "code_key": code_key(),
        "files": {rel: sha256_bytes(data) for rel, data in sorted(files.items())},
        "results_sha256": sha256_bytes(files["results.parquet"]),
    }
    files["sweep-manifest.json"] = dumps(manifest)
    return files


def record_sweep(
    run: SweepRun,
    overfitting: Mapping[str, Any],
    files: Mapping[str, bytes],
    out_dir: Path,
    paths: WorkbenchPaths,
    created_at: str,
) -> None:
    """The research store's ``sweeps`` row of ``run`` and every ``ok`` configuration in the trials
    ledger (kind ``sweep``, the annualised Sharpe ratio and the per-day moments of its returns)."""
    ok = run.results.filter(pl.col("status") == "ok")
    trials = [
        store.TrialRecord(
            created_at=created_at,
            dataset=run.dataset,
            dataset_snapshot_hash=run.dataset_snapshot_hash,
            candidate_id=run.candidate_id,
            config_hash=r["config_hash"],
            kind="sweep",
            sharpe=float(r["sharpe"]),
            n_returns=int(r["n_returns"]),
            skew=float(r["skew"] if r["skew"] is not None else 0.0),
            kurtosis=float(r["kurtosis"] if r["kurtosis"] is not None else 3.0),
            metrics=_jsonable(
                {k: r[k] for k in (*NAV_METRIC_KEYS, "mean_reward", "da", "n_trades")} | {"sweep_id": run.sweep_id}
            ),
        )
        for r in ok.iter_rows(named=True)
        if r["n_returns"] is not None and r["n_returns"] >= 2
    ]
    store.record_trials(trials, paths)
    best = overfitting.get("best") or {}
    store.record_sweep(
        {
            "sweep_id": run.sweep_id,
            "created_at": created_at,
            "dataset": run.dataset,
            "dataset_snapshot_hash": run.dataset_snapshot_hash,
            "candidate_id": run.candidate_id,
            "decisions_ref": run.decisions_ref,
            "engine": run.engine,
            "n_configurations": run.results.height,
            "n_ok": ok.height,
            "n_failed": run.results.height - ok.height,
            "grid": canonical_json(run.grid.to_json()),
            "results_sha256": sha256_bytes(files["results.parquet"]),
            "best_config_hash": best.get("config_hash"),
            "overfitting": canonical_json(_jsonable(overfitting)),
            "out_dir": str(Path(out_dir).resolve()),
        },
        paths,
    )


def load_sweep(out_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any], dict[str, Any]]:
    """A sweep folder's results, returns, overfitting report and manifest (the notebook's reader)."""
    out_dir = Path(out_dir)
    manifest = json_load(out_dir / "sweep-manifest.json")
    if manifest.get("kind") != SWEEP_KIND:
        raise ValueError(f"{out_dir}: sweep-manifest.json is not of kind {SWEEP_KIND!r}")
    return (
        pl.read_parquet(out_dir / "results.parquet"),
        pl.read_parquet(out_dir / "returns.parquet"),
        json_load(out_dir / "overfitting.json"),
        manifest,
    )


def json_load(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``."""
    value = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(value, dict):
        return value
    raise ValueError(f"{path}: not a JSON object")


def check_out_dir(out: Path) -> None:
    """``out`` may be written: absent, an empty folder, or an earlier sweep folder (only the sweep's
    files, ``sweep-manifest.json`` of kind ``janus-sweep``); anything else is refused so that no
    folder the sweep did not write is ever replaced."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    names = {p.name for p in out.iterdir()}
    if not names:
        return
    kind = None
    if names <= OUTPUT_FILES and "sweep-manifest.json" in names:
        try:
            kind = json_load(out / "sweep-manifest.json").get("kind")
        except (OSError, ValueError):
            kind = None
    if kind != SWEEP_KIND:
        extra = sorted(names - OUTPUT_FILES)[:3]
        raise ValueError(
            f"--out {out}: exists and is not a sweep output folder"
            + (f" (it holds {', '.join(extra)})" if extra else "")
            + "; choose another folder or empty it yourself"
        )


def publish_sweep(
    run: SweepRun, out_dir: Path, paths: WorkbenchPaths, *, record: bool = True, created_at: str | None = None
) -> dict[str, Any]:
    """Compute the overfitting report, write the sweep folder ``out_dir`` atomically
    (:func:`sweep_files`, ``evidence.output.write_tree_atomically``) and, with ``record``, the
    store's ``sweeps`` row and trials (:func:`record_sweep`; ``created_at`` defaults to now, UTC).
    Returns the overfitting report."""
    ds = load_dataset(run.dataset, paths)
    overfitting = overfitting_report(run, ds)
    files = sweep_files(run, overfitting)
    write_tree_atomically(Path(out_dir), files, check_target=check_out_dir)
    if record:
        stamp = created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record_sweep(run, overfitting, files, Path(out_dir), paths, stamp)
    return overfitting


# --------------------------------------------------------------------------------------------------
# Reading a sweep (the notebook's tables)
# --------------------------------------------------------------------------------------------------
#: The DSR a configuration needs to survive: the probability that its true Sharpe ratio exceeds the
#: expected best of the sweep's skill-less trials (Bailey and Lopez de Prado's 95% convention).
SURVIVAL_DSR = 0.95


def parameter_columns(results: pl.DataFrame) -> list[str]:
    """The grid parameter columns of a results table (``section.field``), in order."""
    return [c for c in results.columns if "." in c and c.split(".", 1)[0] in SECTIONS]


def deflated_table(results: pl.DataFrame, survival: float = SURVIVAL_DSR) -> pl.DataFrame:
    """Every ``ok`` configuration's Deflated Sharpe Ratio against the sweep: ``DSR = PSR(SR_0)``
    with its own per-day moments (``sharpe / sqrt(252)``, ``n_returns``, ``skew``, ``kurtosis``) and
    ``SR_0`` the expected best of ``N`` skill-less trials (``N`` the ``ok`` configurations, the
    variance that of their Sharpe ratios); columns ``config_hash``, the parameters, ``sharpe``,
    ``sharpe0`` (annualised ``SR_0``), ``dsr`` and ``survives`` (``dsr >= survival``), sorted by
    descending DSR then config hash. A configuration whose PSR is undefined (fewer than two
    returns) gets a null DSR and does not survive."""
    ok = results.filter(pl.col("status") == "ok")
    n = ok.height
    variance = float(ok["sharpe"].var(ddof=1)) if n >= 2 else 0.0
    ann = math.sqrt(TRADING_DAYS_PER_YEAR)
    sr0 = expected_max_sharpe(max(n, 1), variance / TRADING_DAYS_PER_YEAR) if n else 0.0
    dsr: list[float | None] = []
    for r in ok.iter_rows(named=True):
        try:
            dsr.append(
                probabilistic_sharpe_ratio(
                    r["sharpe"] / ann,
                    sr0,
                    int(r["n_returns"] or 0),
                    float(r["skew"] or 0.0),
                    float(r["kurtosis"] or 3.0),
                )
            )
        except ValueError:
            dsr.append(None)
    return (
        ok.select("config_hash", *parameter_columns(results), "sharpe")
        .with_columns(pl.lit(sr0 * ann).alias("sharpe0"), pl.Series("dsr", dsr, dtype=pl.Float64))
        .with_columns((pl.col("dsr") >= survival).fill_null(False).alias("survives"))
        .sort(["dsr", "config_hash"], descending=[True, False], nulls_last=True)
    )


def heatmap_table(
    results: pl.DataFrame, x: str, y: str, metric: str, fixed: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """``metric`` over two parameters: the ``ok`` configurations with every parameter of ``fixed``
    at its value, then the mean of ``metric`` and the count per (``x``, ``y``), the other parameters
    averaged out; sorted by ``x`` then ``y``."""
    frame = results.filter(pl.col("status") == "ok")
    for name, value in (fixed or {}).items():
        frame = frame.filter(pl.col(name) == value)
    return (
        frame.group_by(x, y)
        .agg(pl.col(metric).sort().mean().alias(metric), pl.len().alias("n"))
        .sort(x, y, nulls_last=True)
    )


def neighbours(results: pl.DataFrame, config_hash: str, metric: str = "sharpe") -> pl.DataFrame:
    """The stability of one configuration: every configuration that differs from it in exactly one
    grid parameter by one step of that parameter's sorted values (the grid's nearest neighbours),
    with ``parameter``, its ``value``, ``metric`` and ``delta`` (neighbour minus the configuration;
    null when the neighbour failed); sorted by parameter and value."""
    params = parameter_columns(results)
    centre = results.filter(pl.col("config_hash") == config_hash)
    if centre.height != 1:
        raise ValueError(f"config_hash {config_hash!r}: not in the results")
    c = centre.row(0, named=True)
    rows = []
    for p in params:
        values = sorted(results[p].drop_nulls().unique().to_list())
        if c[p] is None or c[p] not in values:
            continue
        i = values.index(c[p])
        others = [q for q in params if q != p]
        same = results
        for q in others:
            same = same.filter(pl.col(q).is_null() if c[q] is None else pl.col(q) == c[q])
        for j in (i - 1, i + 1):
            if 0 <= j < len(values):
                hit = same.filter(pl.col(p) == values[j])
                for r in hit.iter_rows(named=True):
                    value = r[metric] if r["status"] == "ok" else None
                    rows.append(
                        {
                            "parameter": p,
                            "value": str(values[j]),
                            "config_hash": r["config_hash"],
                            metric: value,
                            "delta": None if value is None or c[metric] is None else value - c[metric],
                            "status": r["status"],
                        }
                    )
    schema = {
        "parameter": pl.String,
        "value": pl.String,
        "config_hash": pl.String,
        metric: pl.Float64,
        "delta": pl.Float64,
        "status": pl.String,
    }
    return pl.DataFrame(rows, schema=schema).sort("parameter", "value") if rows else pl.DataFrame(schema=schema)
