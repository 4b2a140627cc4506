"""Event-study test statistics: independent references (scipy) and known-answer cases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.study import significance as sg
from janus_core.study.car import CarConfig, compute_car, estimation_abnormal_returns


def test_t_and_bmp_match_scipy_one_sample_t():
    rng = np.random.default_rng(0)
    car = rng.normal(0.01, 0.03, 200)
    se = rng.uniform(0.01, 0.05, 200)
    assert sg.cross_sectional_t(car) == pytest.approx(stats.ttest_1samp(car, 0).statistic, rel=1e-12)
    assert sg.bmp_t(car / se) == pytest.approx(stats.ttest_1samp(car / se, 0).statistic, rel=1e-12)
    assert sg.kolari_pynnonen(3.0, 0.0, 200) == pytest.approx(3.0)
    # r = 0.01 over 200 events: factor sqrt(0.99 / 2.99).
    assert sg.kolari_pynnonen(3.0, 0.01, 200) == pytest.approx(3.0 * np.sqrt(0.99 / 2.99))


def test_patell_z_by_hand():
    scar = np.array([1.0, 2.0, -0.5, 1.5])
    dof = np.array([10.0, 10.0, 20.0, 20.0])
    expected = 4.0 / np.sqrt(2 * 10 / 8 + 2 * 20 / 18)
    assert sg.patell_z(scar, dof) == pytest.approx(expected)


def test_same_day_correlation_known_cases():
    rng = np.random.default_rng(1)
    base = rng.normal(size=100)
    # Three events on one day with identical residuals: every pair has correlation 1 (up to the
    # 1/L vs population SD convention, exactly 1 here); one event on another day adds 3 zero pairs.
    est = np.vstack([base, base, base, rng.normal(size=100)])
    r = sg.same_day_correlation(est, np.array([5, 5, 5, 9]))
    assert r == pytest.approx(3 / 6)
    # Independent noise on one day: near zero.
    noise = rng.normal(size=(50, 120))
    assert abs(sg.same_day_correlation(noise, np.zeros(50))) < 0.02
    # Different days only: exactly zero.
    assert sg.same_day_correlation(noise, np.arange(50)) == pytest.approx(0.0, abs=1e-12)


def test_corrado_and_sign_tests_known_answers():
    rng = np.random.default_rng(2)
    est = rng.normal(size=(300, 120))
    null_ev = rng.normal(size=(300, 3))
    assert abs(sg.corrado_z(est, null_ev)) < 3.5
    shifted = null_ev + 5.0  # every event-window AR above every estimation AR
    assert sg.corrado_z(est, shifted) > 10
    assert sg.corrado_z(est, -shifted) < -10
    # Generalised sign: p = 1/2 by construction, 200 of 300 positive CARs.
    half = np.tile(np.r_[np.ones(60), -np.ones(60)], (300, 1))
    car = np.r_[np.ones(200), -np.ones(100)]
    assert sg.generalized_sign_z(half, car) == pytest.approx((200 - 150) / np.sqrt(300 * 0.25))


def _study(mean_abs: float):
    syn = SyntheticConfig.for_scale("demo", type_mean_abs_car=(mean_abs,) * 10, type_positive_prob=(1.0,) * 10)
    ds = generate(syn)
    cfg = CarConfig()
    car = compute_car(ds, cfg)
    return car, sg.significance_table(car, estimation_abnormal_returns(ds, cfg, car))


def test_no_abnormal_return_gives_no_significance():
    _, table = _study(1e-9)
    pooled = table.filter(pl.col("event_type") == "all").row(0, named=True)
    for stat in ("t_cs", "patell_z", "bmp_t", "kp_t", "corrado_z", "gsign_z"):
        assert abs(pooled[stat]) < 3.5, (stat, pooled[stat])


def test_large_injected_shift_is_significant_everywhere():
    car, table = _study(0.03)
    for row in table.iter_rows(named=True):
        for stat in ("t_cs", "patell_z", "bmp_t", "kp_t", "corrado_z", "gsign_z"):
            assert row[stat] > 4, (row["event_type"], stat, row[stat])
    aar = sg.aar_caar(car)
    pooled = aar.filter(pl.col("event_type") == "all").sort("rel_day")
    assert pooled["rel_day"].to_list() == [0, 1, 2]
    np.testing.assert_allclose(pooled["caar"].to_numpy(), np.cumsum(pooled["aar"].to_numpy()), atol=1e-12)
    assert pooled["caar"][2] == pytest.approx(car["car"].mean(), abs=1e-12)
    assert (pooled["ci_low"] > 0).all()


def test_daily_tests_pick_up_the_injection_profile():
    """The synthetic sample realises 60% / 25% / 15% of each CAR on days 0 / 1 / 2: every day is
    significant at 5%, day 0 the most."""
    syn = SyntheticConfig.for_scale("demo", type_mean_abs_car=(0.03,) * 10, type_positive_prob=(1.0,) * 10)
    ds = generate(syn)
    cfg = CarConfig()
    car = compute_car(ds, cfg)
    daily = sg.daily_significance(car, estimation_abnormal_returns(ds, cfg, car))
    pooled = daily.filter(pl.col("event_type") == "all").sort("rel_day")
    assert pooled["rel_day"].to_list() == [0, 1, 2]
    for stat in ("t_cs", "patell_z", "bmp_t", "kp_t", "corrado_z", "gsign_z"):
        values = pooled[stat].to_list()
        assert min(values) > 1.96 and values[0] == max(values), (stat, values)
    aar = sg.aar_caar(car).filter(pl.col("event_type") == "all").sort("rel_day")
    np.testing.assert_allclose(pooled["aar"].to_numpy(), aar["aar"].to_numpy(), atol=1e-12)


def test_car_distribution_bins_and_clips():
    table = pl.DataFrame(
        {
            "event_id": ["a", "b", "c", "d", "e"],
            "event_type": ["x", "x", "x", "y", "y"],
            "car": [0.01, 0.015, -0.5, 0.0, None],
            "ar": [[0.0]] * 5,
            "excluded_reason": [None, None, None, None, "untradable"],
        }
    )
    out = sg.car_distribution(table, bins=10, limit=0.1)
    assert out["n"].sum() == 4
    x = out.filter(pl.col("event_type") == "x")
    assert x["n"].to_list() == [1, 2]  # -0.5 clipped into the first bin; 0.01 and 0.015 share [0, 0.02)
    assert x["bin_start"].to_list() == pytest.approx([-0.1, 0.0])
    assert out.filter(pl.col("event_type") == "y")["bin_start"].to_list() == pytest.approx([0.0])


def test_caar_by_type_is_the_one_sample_t_test_over_included_events():
    from scipy.stats import ttest_1samp

    cars = [0.01, 0.03, -0.005, 0.02]
    frame = pl.DataFrame(
        {
            "event_type": ["dividend"] * 5,
            "car": [*cars, 0.9],
            "excluded_reason": [None] * 4 + ["too_few_estimation_days"],
        },
        schema_overrides={"excluded_reason": pl.String},
    )
    out = sg.caar_by_type(frame, 0.9)
    ref = ttest_1samp(cars, 0.0)
    row = out.row(0, named=True)
    assert row["n"] == 4 and row["confidence"] == 0.9
    assert row["t_stat"] == pytest.approx(ref.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(ref.confidence_interval(0.9), rel=1e-10)


# ---------------------------------------------------------------- Kolari-Pynnonen on common days


def _pairwise_reference(est: np.ndarray, day: np.ndarray, dates: np.ndarray | None = None) -> float:
    """Pure-Python r: for every same-day pair, Pearson's correlation (numpy.corrcoef) over the
    dates both events have; other pairs count 0."""
    from itertools import combinations

    n = len(est)
    total = 0.0
    for i, j in combinations(range(n), 2):
        if day[i] != day[j]:
            continue
        if dates is None:
            a, b = est[i], est[j]
        else:
            common = sorted(set(dates[i][dates[i] >= 0]) & set(dates[j][dates[j] >= 0]))
            pos_i, pos_j = {d: k for k, d in enumerate(dates[i])}, {d: k for k, d in enumerate(dates[j])}
            a = np.array([est[i][pos_i[d]] for d in common])
            b = np.array([est[j][pos_j[d]] for d in common])
        both = np.isfinite(a) & np.isfinite(b)
        if both.sum() >= 3 and np.std(a[both]) > 0 and np.std(b[both]) > 0:
            total += np.corrcoef(a[both], b[both])[0, 1]
    return total / (n * (n - 1) / 2)


def test_same_day_correlation_uses_pairwise_present_days():
    rng = np.random.default_rng(3)
    base = rng.normal(size=120)
    # Identical ARs, each event missing different days: every pair is perfectly correlated on the
    # days both have (counting a missing day as 0 over the full window would give less than 1).
    est = np.vstack([base, base, base])
    est[0, :20] = np.nan
    est[1, 50:70] = np.nan
    assert sg.same_day_correlation(est, np.zeros(3, dtype=np.int64)) == pytest.approx(1.0, abs=1e-12)
    # Random missing days and several clusters: equal to the pure-Python pairwise reference.
    common = rng.normal(size=(4, 120))
    day = np.repeat(np.arange(4), 6)
    noisy = common[day] * 0.7 + rng.normal(size=(24, 120))
    noisy[rng.random(noisy.shape) < 0.15] = np.nan
    noisy[5, :118] = np.nan  # two common days only: the pair is undefined and counts 0
    got = sg.same_day_correlation(noisy, day)
    assert got == pytest.approx(_pairwise_reference(noisy, day), abs=1e-12)
    assert got > 0.05


def test_same_day_correlation_aligns_estimation_windows_by_date():
    """Two events on one day whose stocks' calendars differ by one missing row: their estimation
    windows are shifted by one column, yet the same dates carry the same market shock."""
    rng = np.random.default_rng(4)
    shock = rng.normal(size=121)  # calendar days 0..120
    a_dates = np.arange(1, 121)  # stock a traded every day
    b_dates = np.r_[np.arange(0, 60), np.arange(61, 121)]  # stock b has no row on day 60
    est = np.vstack([shock[a_dates], shock[b_dates]])
    dates = np.vstack([a_dates, b_dates])
    day = np.zeros(2, dtype=np.int64)
    assert sg.same_day_correlation(est, day, dates) == pytest.approx(1.0, abs=1e-12)
    assert sg.same_day_correlation(est, day) < 0.5  # by column the first half is misaligned
    noisy = est + rng.normal(size=est.shape)
    noisy[0, :10] = np.nan
    got = sg.same_day_correlation(noisy, day, dates)
    assert got == pytest.approx(_pairwise_reference(noisy, day, dates), abs=1e-12)


# ---------------------------------------------------------------- placebo calibration

#: Placebo design: GROUPS groups of EVENTS events each at random (stock, day) on a market with no
#: news reaction. 1,000 groups give a 99% band of about 3.2%..6.8% around the nominal 5% (wide
#: enough for a calibrated test, narrow enough to catch the 2.6% of a mis-scaled Patell); 60 events
#: per group put the generalised sign test's discrete size at 5.2%.
GROUPS, EVENTS = 1000, 60
TESTS = ("p_cs", "p_patell", "p_bmp", "p_kp", "p_corrado", "p_gsign")


@pytest.fixture(scope="module")
def placebo():
    import dataclasses
    import datetime as dt

    syn = SyntheticConfig.for_scale("demo", n_events=0)
    ds = generate(syn)
    days = ds.prices["date"].unique().sort().to_numpy()
    rng = np.random.default_rng(20260301)
    n = GROUPS * EVENTS
    symbols = ds.securities["symbol"].sort().to_numpy()[rng.integers(0, ds.securities.height, n)]
    when = days[rng.integers(syn.warmup_days, len(days) - syn.tail_days - 3, n)]
    events = pl.DataFrame(
        {
            "event_id": [f"placebo-{i:06d}" for i in range(n)],
            "symbol": symbols,
            # 09:00 Shanghai (before the 09:30 cut-off): the event day is that day.
            "published_at": pl.Series(when).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") + dt.timedelta(hours=1),
            "event_type": [f"g{i // EVENTS:04d}" for i in range(n)],
        }
    )
    return dataclasses.replace(ds, events=events)


@pytest.mark.parametrize("neutralize", [True, False], ids=["neutralised", "market_model"])
def test_placebo_rejection_rates_are_nominal(placebo, neutralize):
    """No event has an effect: each test rejects at 5% in a share of the groups inside the binomial
    99% band around 5%, with risk neutralisation and without (every test uses the ARs, sigma and
    estimation-window ARs of one model)."""
    cfg = CarConfig(risk_neutralize=neutralize)
    car = compute_car(placebo, cfg)
    assert car["neutralized"].all() == neutralize
    table = sg.significance_table(car, estimation_abnormal_returns(placebo, cfg, car), pooled=False)
    assert table.height == GROUPS and table["n"].min() >= EVENTS - 5
    lo, hi = stats.binom.ppf(0.005, GROUPS, 0.05), stats.binom.ppf(0.995, GROUPS, 0.05)
    inc = car.filter(pl.col("excluded_reason").is_null())
    rates = {t: float((table[t] < 0.05).sum()) / GROUPS for t in TESTS}
    print(
        f"\nplacebo rejection rates at 5% ({'neutralised' if neutralize else 'market model'}, {GROUPS} groups): "
        + ", ".join(f"{t[2:]} {r:.3f}" for t, r in rates.items())
        + f"; SCAR sd {(inc['car'] / inc['car_se']).std():.3f}; band [{lo / GROUPS:.3f}, {hi / GROUPS:.3f}]"
    )
    for test, rate in rates.items():
        assert lo <= rate * GROUPS <= hi, (test, rate)
