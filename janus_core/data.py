"""Data: the input tables of the data contract, validated and loaded into polars.

A *dataset* is a folder of tables (events, prices, benchmarks, securities, optional exposures) plus
a manifest in ``data_manifests/``. After loading, every table has the canonical columns and dtypes
below; extra columns are kept.

Canonical dtypes after loading
------------------------------
- events: ``event_id`` String, ``symbol`` String, ``published_at`` Datetime(us, UTC),
  ``event_type`` String (one of ``events.EVENT_TYPES`` or ``"unknown"``), ``event_type_raw`` String,
  ``headline`` String, ``seq`` Int64 (nullable), ``body`` String, ``sentiment`` String
  (positive|negative|neutral, nullable), ``source`` String (nullable).
- prices: ``symbol`` String, ``date`` Date, ``open`` Float64, ``close`` Float64, ``volume`` Float64
  (nullable), ``tradable`` Boolean (true when absent). Sorted by (symbol, date).
- benchmarks: ``benchmark`` String, ``date`` Date, ``close`` Float64. Sorted by (benchmark, date).
- securities: ``symbol`` String, ``benchmark`` String, ``name``/``industry``/``size_tier`` String
  (nullable).
- exposures (optional): ``symbol`` String, ``date`` Date, one Float64 column per style factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

Provenance = Literal["synthetic_generated", "historical_market_replay"]

TABLE_NAMES: tuple[str, ...] = ("events", "prices", "benchmarks", "securities", "exposures")


class DatasetMeta(BaseModel):
    """Per-dataset facts from the manifest that the computation needs."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    provenance: Provenance
    exchange_timezone: str
    #: Point-in-time cut-off in exchange local time: news from this time on day t up to the same
    #: time on the next trading day informs day t+1 (the paper: 09:30, UTC+8).
    news_cutoff: str = "09:30"
    as_of: str


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated dataset: canonical polars frames plus its manifest metadata."""

    meta: DatasetMeta
    events: pl.DataFrame
    prices: pl.DataFrame
    benchmarks: pl.DataFrame
    securities: pl.DataFrame
    exposures: pl.DataFrame | None = None

    @property
    def name(self) -> str:
        return self.meta.name

    def style_factors(self) -> list[str]:
        """Names of the numeric style-factor columns in ``exposures`` (empty when absent)."""
        if self.exposures is None:
            return []
        return [c for c in self.exposures.columns if c not in ("symbol", "date")]
