"""The loaded dataset holds the price keys once: exposures whose (symbol, date) rows are the price
rows get the prices' own columns (same values), any other exposures table is left as it is."""

from __future__ import annotations

import polars as pl

from janus_core.data.manifest import share_price_keys
from janus_core.data.synthetic import SyntheticConfig, generate


def test_aligned_exposures_share_the_price_keys():
    ds = generate(SyntheticConfig.for_scale("demo", n_stocks=12, n_events=50))
    assert ds.exposures is not None
    got = share_price_keys(ds.exposures, ds.prices)
    assert got.equals(ds.exposures)
    assert got.columns == ds.exposures.columns
    assert got.schema == ds.exposures.schema


def test_other_exposures_are_left_as_they_are():
    ds = generate(SyntheticConfig.for_scale("demo", n_stocks=12, n_events=50))
    ex = ds.exposures
    assert ex is not None
    cases = [
        ex.head(ex.height - 1),  # a row fewer
        ex.with_columns(pl.col("date").shift(1, fill_value=pl.col("date").first())),  # other dates
        ex.with_columns(pl.col("symbol").reverse()),  # other symbols
        ex.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("symbol")).alias("symbol")),
        ex.head(0),
        ex.drop("date"),
    ]
    for case in cases:
        assert share_price_keys(case, ds.prices) is case
    empty = ds.prices.head(0)
    assert share_price_keys(ex.head(0), empty).equals(ex.head(0))
