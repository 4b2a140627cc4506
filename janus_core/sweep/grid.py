"""The grid file of a sweep (:func:`parse_grid`), the settings every configuration shares and the
expansion into configurations (:func:`expand_grid`); rules in the package docstring."""

from __future__ import annotations

import itertools
import math
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from janus_core.backtest import config
from janus_core.decide.policies import PolicyConfig
from janus_core.decide.reward import HgrmConfig
from janus_core.evidence.schema import config_json
from janus_core.hashing import canonical_json
from janus_core.study.car import CarConfig
from janus_core.study.labels import LabelConfig, SplitConfig

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
    """``{start, stop, step}`` expanded (package docstring)."""
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
    already-parsed mapping; every rule of the package docstring checked, a :class:`GridError` naming
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


def car_json(car: CarConfig) -> dict[str, Any]:
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
            "car": car_json(self.car),
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
