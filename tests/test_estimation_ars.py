"""``car.estimation_abnormal_returns``' dates column against the prices themselves: for every
included event of the demo dataset, the dates of the stock's own price rows over the estimation
window, null where the window starts before the stock's first price (the calendar lookup of issue
13 reads day -1 as none)."""

from __future__ import annotations

import numpy as np
import polars as pl

from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.study.car import CarConfig, compute_car, estimation_abnormal_returns
from janus_core.study.exclusion import included


def test_estimation_dates_are_the_stocks_own_price_dates():
    ds = generate(SyntheticConfig.for_scale("demo", n_events=400))
    cfg = CarConfig(estimation_window=300, min_estimation_obs=10)
    table = compute_car(ds, cfg)
    est = estimation_abnormal_returns(ds, cfg, table)
    events = included(table).select("event_id", "symbol", "event_day")
    assert est["event_id"].to_list() == events["event_id"].to_list()
    own = dict(ds.prices.sort("symbol", "date").group_by("symbol").agg("date").iter_rows())
    nulls = 0
    for (symbol, event_day), dates in zip(events.select("symbol", "event_day").iter_rows(), est["estimation_dates"]):
        days = own[symbol]
        k0 = days.index(event_day) + cfg.event_window[0]
        first = k0 - cfg.gap - cfg.estimation_window
        want = [days[k] if k >= 0 else None for k in range(first, first + cfg.estimation_window)]
        assert dates.to_list() == want
        nulls += sum(d is None for d in want)
    assert nulls > 0  # some windows start before the first price
    ar = np.stack(est["ar_estimation"].to_numpy())
    assert np.isnan(ar[est["estimation_dates"].arr.eval(pl.element().is_null()).to_numpy().reshape(ar.shape)]).all()
