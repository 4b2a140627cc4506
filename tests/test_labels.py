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


#: The period assignment alone (no purge, no embargo).
UNPURGED = SplitConfig(purge=False, embargo_days=0)


def test_quantile_split_is_4_4_1_1_and_never_cuts_a_day():
    dates = [dt.date(2022, 1, 1) + dt.timedelta(days=i) for i in range(100)]
    out = chronological_split(_table([0.0] * 100, dates=dates), UNPURGED)
    counts = dict(out.group_by("split").len().iter_rows())
    assert counts == {"historical": 40, "train": 40, "validation": 10, "test": 10}
    assert out["split"].equals(out["split_period"]) and out["split_excluded_reason"].null_count() == 100
    # Many events on the boundary day stay together.
    dates2 = [dt.date(2022, 1, 1)] * 3 + [dt.date(2022, 1, 2)] * 4 + [dt.date(2022, 1, 3)] * 3
    out2 = chronological_split(_table([0.0] * 10, dates=dates2), UNPURGED)
    assert out2.group_by("published_date").agg(pl.col("split").n_unique()).get_column("split").max() == 1
    assert out2["split"].to_list()[:3] == ["historical"] * 3


def test_paper_dates_used_when_in_range():
    dates = [dt.date(2023, 1, 2) + dt.timedelta(days=i) for i in range(0, 760, 3)]
    starts, rule = split_starts(pl.Series(dates), SplitConfig())
    assert rule == "paper" and starts == (dt.date(2023, 10, 25), dt.date(2024, 8, 28), dt.date(2024, 11, 12))
    out = chronological_split(_table([0.0] * len(dates), dates=dates), UNPURGED)
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
        excluded_reason=pl.when(pl.col("car").is_null()).then(pl.lit("too_few_estimation_days"))
    )
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
        pl.when(pl.int_range(pl.len()) % 97 == 0).then(None).otherwise(pl.col("car")).alias("car")
    )
    got = mean_abs_car_by_type(t)
    assert list(got) == ["a", "b", "c"]
    for k, v in got.items():
        vals = [abs(x) for x in t.filter((pl.col("event_type") == k) & pl.col("car").is_not_null())["car"]]
        assert v == math.fsum(vals) / len(vals)
    for seed in range(3):
        assert mean_abs_car_by_type(t.sample(fraction=1.0, shuffle=True, seed=seed)) == got


# ---- purge and embargo at the split boundaries -------------------------------------------------


def _weekdays(start: dt.date, n: int) -> list[dt.date]:
    days, d = [], start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def _windowed(n_days: int = 100, window: int = 3) -> tuple[pl.DataFrame, list[dt.date]]:
    """One event a trading day, published before the open (event day = publication day), CAR window
    of ``window`` trading days; the last one also has an excluded twin."""
    cal = _weekdays(dt.date(2024, 1, 1), n_days + window)
    t = _table([0.01] * n_days, dates=cal[:n_days]).with_columns(
        event_day=pl.Series(cal[:n_days], dtype=pl.Date),
        window_end_day=pl.Series(cal[window - 1 : n_days + window - 1], dtype=pl.Date),
        excluded_reason=pl.lit(None, dtype=pl.String),
    )
    return t, cal


def test_purge_drops_every_window_that_reaches_the_next_split():
    t, cal = _windowed()
    out = chronological_split(t, SplitConfig(embargo_days=0))
    (s1, s2, s3), _ = split_starts(t["published_date"], SplitConfig())
    assert (s1, s2, s3) == (cal[40], cal[80], cal[90])
    # A pure-Python reference: purged iff the window ends on or after the next period's first date.
    nxt = {"historical": s1, "train": s2, "validation": s3, "test": None}
    for row in out.iter_rows(named=True):
        reaches = nxt[row["split_period"]] is not None and row["window_end_day"] >= nxt[row["split_period"]]
        assert row["split_excluded_reason"] == ("purged" if reaches else None), row
        assert row["split"] == (None if reaches else row["split_period"])
    # A 3-day window: the last two events before each boundary are purged, nothing in test.
    purged = out.filter(pl.col("split_excluded_reason") == "purged")
    assert purged.group_by("split_period").len().sort("split_period").rows() == [
        ("historical", 2),
        ("train", 2),
        ("validation", 2),
    ]
    for period, start in (("historical", s1), ("train", s2), ("validation", s3)):
        assert out.filter(pl.col("split") == period)["window_end_day"].max() < start


def test_embargo_covers_the_first_trading_days_of_each_split():
    t, cal = _windowed()
    # Default embargo: the event window's length, from window_days or from the AR paths.
    for kwargs in ({"window_days": 3}, {}):
        table = t if kwargs else t.with_columns(ar=pl.lit([0.0, 0.0, 0.0], dtype=pl.List(pl.Float64)))
        out = chronological_split(table, SplitConfig(purge=False), pl.Series(cal), **kwargs)
        embargoed = out.filter(pl.col("split_excluded_reason") == "embargoed")
        assert embargoed["event_day"].to_list() == [*cal[40:43], *cal[80:83], *cal[90:93]]
        assert embargoed["split"].null_count() == 9
        assert embargoed.group_by("split_period").len().sort("split_period").rows() == [
            ("test", 3),
            ("train", 3),
            ("validation", 3),
        ]
    # The embargo counts trading days of the calendar, not calendar days: five of them reach over a weekend.
    out = chronological_split(t, SplitConfig(purge=False, embargo_days=6), pl.Series(cal))
    train_embargo = out.filter((pl.col("split_excluded_reason") == "embargoed") & (pl.col("split_period") == "train"))
    assert train_embargo["event_day"].to_list() == cal[40:46] and (cal[45] - cal[40]).days == 7
    out = chronological_split(t, SplitConfig(purge=False, embargo_days=1), pl.Series(cal))
    assert out.filter(pl.col("split_excluded_reason") == "embargoed")["event_day"].to_list() == [
        cal[40],
        cal[80],
        cal[90],
    ]
    # Without a calendar, the table's own days serve; a missing trading day only lengthens the embargo.
    sparse = t.with_columns(  # no event day and no window end on cal[41]: the derived calendar lacks it
        event_day=pl.when(pl.col("event_day") == cal[41]).then(None).otherwise(pl.col("event_day")),
        window_end_day=pl.when(pl.col("window_end_day") == cal[41]).then(None).otherwise(pl.col("window_end_day")),
    )
    out = chronological_split(sparse, SplitConfig(purge=False, embargo_days=2))
    assert out.filter((pl.col("split_excluded_reason") == "embargoed") & (pl.col("split_period") == "train"))[
        "published_date"
    ].to_list() == [cal[40], cal[41], cal[42]]


def test_purge_and_embargo_together_leave_a_clean_gap_and_report_every_event():
    t, cal = _windowed()
    out = chronological_split(t, SplitConfig(), pl.Series(cal), window_days=3)
    assert out.height == t.height and out.columns[-3:] == ["split", "split_period", "split_excluded_reason"]
    assert out["split"].is_null().sum() == out["split_excluded_reason"].is_not_null().sum() == 6 + 9
    kept = out.filter(pl.col("split").is_not_null())
    for before, after in (("historical", "train"), ("train", "validation"), ("validation", "test")):
        last_end = kept.filter(pl.col("split") == before)["window_end_day"].max()
        first_day = kept.filter(pl.col("split") == after)["event_day"].min()
        assert cal.index(first_day) - cal.index(last_end) == 4  # 2 purged + 3 embargoed trading days between


def test_split_rules_leave_excluded_events_alone_and_need_their_columns():
    t, cal = _windowed()
    t = t.with_columns(excluded_reason=pl.when(pl.col("event_id") == "e39").then(pl.lit("untradable")))
    out = chronological_split(t, SplitConfig(), pl.Series(cal), window_days=3)
    row = out.filter(pl.col("event_id") == "e39").row(0, named=True)
    assert row["split"] == row["split_period"] == "historical" and row["split_excluded_reason"] is None
    with pytest.raises(ValueError, match="column 'window_end_day' is missing"):
        chronological_split(t.drop("window_end_day"), SplitConfig(embargo_days=0))
    with pytest.raises(ValueError, match="column 'ar' is missing"):
        chronological_split(t, SplitConfig(purge=False))
    with pytest.raises(ValueError):
        SplitConfig(embargo_days=-1)


def test_demo_split_has_no_window_across_a_boundary():
    """The demo through car_study: no kept event's CAR window reaches the next split; the purged and
    embargoed events are there with their reason."""
    from janus_core.data.synthetic import SyntheticConfig, generate
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import car_study

    ds = generate(SyntheticConfig())
    out = car_study(ds, CarConfig())
    starts = {
        p: out.filter(pl.col("split_period") == p)["published_date"].min() for p in ("train", "validation", "test")
    }
    calendar = ds.prices["date"].unique().sort().to_list()
    for before, after in (("historical", "train"), ("train", "validation"), ("validation", "test")):
        kept = out.filter((pl.col("split") == before) & pl.col("excluded_reason").is_null())
        assert kept["window_end_day"].max() < starts[after]
        purged = out.filter((pl.col("split_period") == before) & (pl.col("split_excluded_reason") == "purged"))
        assert purged.height > 0 and (purged["window_end_day"] >= starts[after]).all()
        first_kept = out.filter((pl.col("split") == after) & pl.col("excluded_reason").is_null())["event_day"].min()
        embargo_end = [d for d in calendar if d >= starts[after]][2]
        assert first_kept > embargo_end
    assert set(out["split_excluded_reason"].drop_nulls()) == {"purged", "embargoed"}
    assert out.filter(pl.col("split").is_null() & pl.col("split_excluded_reason").is_null()).height == 0
