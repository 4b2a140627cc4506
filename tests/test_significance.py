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
    frame = pl.DataFrame({"event_type": ["dividend"] * 5, "car": [*cars, 0.9],
                          "excluded_reason": [None] * 4 + ["too_few_estimation_days"]},
                         schema_overrides={"excluded_reason": pl.String})
    out = sg.caar_by_type(frame, 0.9)
    ref = ttest_1samp(cars, 0.0)
    row = out.row(0, named=True)
    assert row["n"] == 4 and row["confidence"] == 0.9
    assert row["t_stat"] == pytest.approx(ref.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(ref.confidence_interval(0.9), rel=1e-10)
