"""Labels y = {c, d, s, e}, historical mean |CAR| and the chronological split."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from janus_core.study.labels import (
    LabelConfig,
    SplitConfig,
    chronological_split,
    historical_mean_abs_car,
    label,
    split_starts,
)


def _table(cars, types=None, dates=None) -> pl.DataFrame:
    n = len(cars)
    return pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "car": pl.Series(cars, dtype=pl.Float64),
            "event_type": types or ["dividend"] * n,
            "published_date": pl.Series(dates or [dt.date(2024, 1, 1)] * n, dtype=pl.Date),
        }
    )


def test_direction_and_strength_thresholds():
    cfg = LabelConfig(round_trip_cost_bps=15, neutral_band=0.001)
    out = label(_table([0.01, -0.01, 0.001, -0.0011, 0.0015, 0.00149, None]), cfg)
    assert out["direction"].to_list() == ["positive", "negative", "neutral", "negative", "positive", "positive", None]
    assert out["strength"].to_list() == ["strong", "strong", "weak", "weak", "strong", "weak", None]


def test_tau_defaults_to_round_trip_cost_and_can_be_set():
    assert LabelConfig().effective_tau == pytest.approx(0.0015)
    assert LabelConfig(round_trip_cost_bps=30).effective_tau == pytest.approx(0.003)
    cfg = LabelConfig(tau=0.02)
    assert label(_table([0.019, 0.02]), cfg)["strength"].to_list() == ["weak", "strong"]
    with pytest.raises(ValueError):
        LabelConfig(neutral_band=-0.1)
    with pytest.raises(ValueError, match="column 'car' is missing"):
        label(pl.DataFrame({"x": [1]}), LabelConfig())


def test_historical_mean_abs_car_uses_only_the_window():
    d = [dt.date(2023, 1, 5), dt.date(2023, 6, 1), dt.date(2023, 6, 1), dt.date(2024, 1, 1)]
    t = _table([0.02, -0.04, None, 0.5], types=["dividend", "dividend", "violation", "violation"], dates=d)
    got = historical_mean_abs_car(t, dt.date(2023, 1, 1), dt.date(2023, 10, 24))
    assert got == {"dividend": pytest.approx(0.03)}
    assert historical_mean_abs_car(t, dt.date(2023, 1, 1), dt.date(2024, 1, 1))["violation"] == pytest.approx(0.5)


def test_quantile_split_is_4_4_1_1_and_never_cuts_a_day():
    dates = [dt.date(2022, 1, 1) + dt.timedelta(days=i) for i in range(100)]
    out = chronological_split(_table([0.0] * 100, dates=dates))
    counts = dict(out.group_by("split").len().iter_rows())
    assert counts == {"historical": 40, "train": 40, "validation": 10, "test": 10}
    # Many events on the boundary day stay together.
    dates2 = [dt.date(2022, 1, 1)] * 3 + [dt.date(2022, 1, 2)] * 4 + [dt.date(2022, 1, 3)] * 3
    out2 = chronological_split(_table([0.0] * 10, dates=dates2))
    assert out2.group_by("published_date").agg(pl.col("split").n_unique()).get_column("split").max() == 1
    assert out2["split"].to_list()[:3] == ["historical"] * 3


def test_paper_dates_used_when_in_range():
    dates = [dt.date(2023, 1, 2) + dt.timedelta(days=i) for i in range(0, 760, 3)]
    starts, rule = split_starts(pl.Series(dates), SplitConfig())
    assert rule == "paper" and starts == (dt.date(2023, 10, 25), dt.date(2024, 8, 28), dt.date(2024, 11, 12))
    out = chronological_split(_table([0.0] * len(dates), dates=dates))
    assert out.filter(pl.col("published_date") == dt.date(2023, 10, 24))["split"].to_list() in ([], ["historical"])
    first_test = out.filter(pl.col("split") == "test")["published_date"].min()
    assert first_test >= dt.date(2024, 11, 12)
    # Out of range: quantiles; forced paper mode keeps the paper's dates anyway.
    early = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(50)]
    assert split_starts(pl.Series(early), SplitConfig())[1] == "quantile"
    assert split_starts(pl.Series(early), SplitConfig(mode="paper"))[1] == "paper"
    with pytest.raises(ValueError, match="ratios"):
        SplitConfig(ratios=(0, 0, 0, 0))


def test_tau_sweep_counts_and_net_edge():
    from janus_core.study.labels import tau_sweep

    t = _table([0.001, -0.002, 0.004, None, -0.01]).with_columns(
        excluded_reason=pl.when(pl.col("car").is_null()).then(pl.lit("too_few_estimation_days")))
    out = tau_sweep(t, [0.003, 0.0, 0.02], round_trip_cost_bps=20)
    assert out["tau"].to_list() == [0.0, 0.003, 0.02]
    assert out["strong_count"].to_list() == [4, 2, 0]
    assert out["strong_share"].to_list() == [1.0, 0.5, 0.0]
    assert out["mean_abs_car_strong"][1] == pytest.approx(0.007)
    assert out["mean_net_strong"][1] == pytest.approx(0.007 - 0.002)
    assert out["mean_net_strong"][2] is None


def test_mean_abs_car_by_type_is_exact_and_order_free():
    from janus_core.study.labels import mean_abs_car_by_type

    rng = np.random.default_rng(7)
    cars = rng.normal(0, 0.03, 5_000)
    t = pl.DataFrame({"event_type": rng.choice(["a", "b", "c"], 5_000), "car": cars}).with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0).then(None).otherwise(pl.col("car")).alias("car"))
    got = mean_abs_car_by_type(t)
    assert list(got) == ["a", "b", "c"]
    for k, v in got.items():
        vals = [abs(x) for x in t.filter((pl.col("event_type") == k) & pl.col("car").is_not_null())["car"]]
        assert v == math.fsum(vals) / len(vals)
    for seed in range(3):
        assert mean_abs_car_by_type(t.sample(fraction=1.0, shuffle=True, seed=seed)) == got
