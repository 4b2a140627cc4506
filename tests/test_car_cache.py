"""The per-snapshot panel cache of the CAR engine: a second study on the same dataset reuses the
panel and prefix sums and returns what a cold run returns; a dataset whose tables were replaced
(same manifest metadata) never reads another's panel; the cache is bounded."""

from __future__ import annotations

import dataclasses

import polars as pl

from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.study import panel as panel_module
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.panel import clear_snapshot_cache, snapshot_state


def test_second_study_reuses_the_snapshot_and_equals_a_cold_run():
    ds = generate(SyntheticConfig())
    clear_snapshot_cache()
    first = compute_car(ds, CarConfig())
    state = snapshot_state(ds)
    assert snapshot_state(ds) is state
    other = CarConfig(event_window=(-1, 3), model="market")
    warm = compute_car(ds, other)
    clear_snapshot_cache()
    assert warm.equals(compute_car(ds, other))
    assert first.equals(compute_car(ds, CarConfig()))


def test_replaced_prices_build_their_own_panel():
    ds = generate(SyntheticConfig())
    compute_car(ds, CarConfig(risk_neutralize=False))
    bumped = dataclasses.replace(ds, prices=ds.prices.with_columns(pl.col("close") * 1.01))
    assert snapshot_state(bumped) is not snapshot_state(ds)
    clear_snapshot_cache()
    cold = compute_car(bumped, CarConfig(risk_neutralize=False))
    compute_car(ds, CarConfig(risk_neutralize=False))
    assert compute_car(bumped, CarConfig(risk_neutralize=False)).equals(cold)


def test_the_cache_is_bounded():
    clear_snapshot_cache()
    base = generate(SyntheticConfig())
    for k in range(panel_module.SNAPSHOTS_KEPT + 2):
        snapshot_state(dataclasses.replace(base, prices=base.prices.with_columns(pl.col("close") + k)))
    assert len(panel_module._SNAPSHOTS) == panel_module.SNAPSHOTS_KEPT
    clear_snapshot_cache()
