"""The event study as one typed result: the labelled CAR table of a dataset under a CAR and label
config, with the AAR/CAAR path, the test statistics (full window and per event day) and the
exclusions, and :meth:`CarStudy.summary`, the car notebook's headless summary.

:func:`event_study` runs it (the labelled table from the shared disk cache of
:mod:`janus_core.study.cache` when a cache folder is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from janus_core.data.dataset import Dataset
from janus_core.study import significance
from janus_core.study.cache import cached_car_study
from janus_core.study.car import CarConfig, estimation_abnormal_returns
from janus_core.study.labels import (
    LabelConfig,
    car_summary,
    tau_sweep,
    write_car_artifacts,
)

#: Statistics of the pooled ("all") significance row in the summary, rounded to 3 decimals.
SIGNIFICANCE_KEYS: tuple[str, ...] = ("n", "t_cs", "patell_z", "bmp_t", "kp_t", "corrado_z", "gsign_z")
#: Strength thresholds of :meth:`CarStudy.tau_sweep`, in quarters of the round-trip cost: 0 .. 10 x cost.
TAU_QUARTERS: int = 40


@dataclass(frozen=True)
class CarStudy:
    """A dataset's event study under ``car``/``label``: ``table`` (every input event once, with its
    CAR and labels or its ``excluded_reason``; ``labels.car_study``), ``aar`` (AAR and CAAR per event
    type and day with the t(n-1) band; ``significance.aar_caar``), ``tests`` (full-window test
    statistics per type and pooled; ``significance.significance_table``) and ``daily_tests`` (per
    event day; ``significance.daily_significance``)."""

    dataset: str
    car: CarConfig
    label: LabelConfig
    table: pl.DataFrame
    aar: pl.DataFrame
    tests: pl.DataFrame
    daily_tests: pl.DataFrame

    def exclusions(self) -> pl.DataFrame:
        """Events per ``excluded_reason`` (``(included)`` for the events with a CAR), most first."""
        return (
            self.table.group_by(pl.col("excluded_reason").fill_null("(included)"))
            .len()
            .sort("len", "excluded_reason", descending=[True, False])
        )

    def tau_sweep(self, quarters: int = TAU_QUARTERS) -> pl.DataFrame:
        """``labels.tau_sweep`` over tau = i x cost / 4 for i = 0 .. ``quarters`` (cost = the label
        config's round-trip cost as a return)."""
        cost = self.label.round_trip_cost_bps / 10_000
        taus: Sequence[float] = [i * cost / 4 for i in range(0, quarters + 1)]
        return tau_sweep(self.table, taus, self.label.round_trip_cost_bps)

    def summary(self) -> dict[str, Any]:
        """``labels.car_summary`` plus ``significance_all``: the pooled test statistics
        (:data:`SIGNIFICANCE_KEYS`, floats rounded to 3 decimals)."""
        out = car_summary(self.table, self.car, self.label)
        pooled = self.tests.filter(pl.col("event_type") == "all").row(0, named=True)
        out["significance_all"] = {
            k: (round(v, 3) if isinstance(v, float) else v) for k, v in pooled.items() if k in SIGNIFICANCE_KEYS
        }
        return out

    def write(self, out_dir: Path | str) -> tuple[Path, Path]:
        """``out_dir/car.parquet`` and ``out_dir/car-summary.json`` (``labels.write_car_artifacts``)."""
        return write_car_artifacts(self.table, self.summary(), out_dir)


def event_study(ds: Dataset, car: CarConfig, label: LabelConfig, *, cache_dir: Path | None = None) -> CarStudy:
    """The :class:`CarStudy` of ``ds``; the labelled table comes from ``cache_dir`` when this exact
    study was cached there (:func:`janus_core.study.cache.cached_car_study`)."""
    table = cached_car_study(ds, car, label, cache_dir=cache_dir)
    first_day = car.event_window[0]
    est = estimation_abnormal_returns(ds, car, table)
    return CarStudy(
        dataset=ds.name,
        car=car,
        label=label,
        table=table,
        aar=significance.aar_caar(table, first_day=first_day),
        tests=significance.significance_table(table, est),
        daily_tests=significance.daily_significance(table, est, first_day=first_day),
    )
