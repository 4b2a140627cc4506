"""Tests for janus_core.backtest.metrics: the paper's metrics on hand-computed and published NAVs, decision
metrics on a hand-made labelled table, and the bootstrap intervals against independent references."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from janus_core.backtest.metrics import (
    NAV_METRIC_KEYS,
    BootstrapConfig,
    block_bootstrap_indices,
    bootstrap_da_ci,
    bootstrap_da_diff_ci,
    bootstrap_sharpe_ci,
    bootstrap_sharpe_diff_ci,
    da_interval_table,
    daily_returns,
    decision_metrics,
    direction_hits,
    nav_metrics,
    sharpe_interval_table,
)

REFERENCE_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "janus-q-demo"


def test_nav_metrics_hand_computed():
    # r = (+0.1, -0.1, +0.1): mean 1/30, population std sqrt(0.08)/3, so SR = sqrt(252 / 8).
    m = nav_metrics([1.0, 1.1, 0.99, 1.089])
    assert tuple(m) == NAV_METRIC_KEYS
    assert m["sharpe"] == pytest.approx(math.sqrt(31.5), rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(0.1, rel=1e-12)  # peak 1.1 -> trough 0.99
    assert m["total_return"] == pytest.approx(0.089, rel=1e-12)
    assert m["annualized_return"] == pytest.approx(1.089**84 - 1.0, rel=1e-12)  # 252 / 3 returns
    assert m["calmar"] == pytest.approx((1.089**84 - 1.0) / 0.1, rel=1e-12)


def test_nav_metrics_accepts_series_and_arrays_identically():
    nav = [1.0, 1.02, 0.97, 1.01, 1.03]
    a = nav_metrics(nav)
    assert nav_metrics(pl.Series(nav)) == a
    assert nav_metrics(np.array(nav)) == a


def test_nav_metrics_monotone_nav_has_no_drawdown_and_zero_calmar():
    m = nav_metrics([1.0, 1.01, 1.02])
    assert m["max_drawdown"] == 0.0
    assert m["calmar"] == 0.0
    assert m["sharpe"] > 0


def test_nav_metrics_flat_nav_has_zero_sharpe():
    assert nav_metrics([1.0, 1.0, 1.0])["sharpe"] == 0.0


@pytest.mark.parametrize(
    ("nav", "message"),
    [([1.0], "at least 2"), ([1.0, float("nan")], "row 1"), ([1.0, 0.0, 1.0], "row 1 is 0.0; NAV must be positive")],
)
def test_nav_metrics_rejects_bad_input(nav, message):
    with pytest.raises(ValueError, match=message):
        nav_metrics(nav)


def test_daily_returns_definition():
    np.testing.assert_allclose(daily_returns([2.0, 3.0, 1.5]), [0.5, -0.5])


def test_nav_metrics_reproduce_published_table():
    """The published NAV curves give the published Table 2 metrics to 4 decimals."""
    nav_file = REFERENCE_DIR / "nav_timeseries.json"
    table_file = REFERENCE_DIR / "unified_backtest.json"
    if not (nav_file.exists() and table_file.exists()):
        pytest.skip(f"published reference files not found under {REFERENCE_DIR.resolve()}")
    series = json.loads(nav_file.read_text())["series"]
    table = {row["name"]: row["metrics"] for row in json.loads(table_file.read_text())}
    assert set(series) == set(table)
    for name, nav in series.items():
        got = nav_metrics(nav)
        want = table[name]
        assert len(nav) - 1 == want["days"], name
        assert round(got["sharpe"], 4) == round(want["sr"], 4), name
        assert round(got["max_drawdown"], 4) == round(want["mdd"], 4), name
        assert round(got["total_return"], 4) == round(want["totalReturn"], 4), name
        assert round(got["annualized_return"], 4) == round(want["arr"], 4), name
        assert round(got["calmar"], 4) == round(want["cr"], 4), name


# --- decision metrics -------------------------------------------------------------------------


def _labelled() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4", "e5"],
            "event_type": ["dividend", "violation", "financing", "dividend", "industry"],
            "car": [0.02, -0.01, 0.03, -0.04, None],  # e5 excluded by the labeller
        }
    )


def _decisions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4", "e5"],
            "strategy_id": ["s"] * 5,
            "action": ["long", "long", "hold", "short", "long"],
            "predicted_event_type": ["dividend", "violation", "dividend", None, "industry"],
            "predicted_car": [0.01, 0.01, None, -0.01, 0.0],
        }
    )


def test_decision_metrics_hand_computed():
    m = decision_metrics(_decisions(), _labelled())
    # scored e1..e4: hits e1 (long, +), e4 (short, -); e2 wrong; e3 hold is a miss.
    assert m["da"] == pytest.approx(2 / 4)
    assert m["da_traded"] == pytest.approx(2 / 3)
    # types: e1, e2 right; e3 wrong; e4 missing -> miss.
    assert m["eta"] == pytest.approx(2 / 4)
    errors = np.array([0.01 - 0.02, 0.01 + 0.01, -0.01 + 0.04])
    assert m["mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert (m["n_decisions"], m["n_scored"], m["n_unscored"], m["n_traded"], m["n_hold"]) == (5, 4, 1, 3, 1)
    assert (m["n_type_scored"], m["n_car_scored"]) == (4, 3)


def test_decision_metrics_without_optional_columns():
    m = decision_metrics(_decisions().select("event_id", "strategy_id", "action"), _labelled())
    assert m["da"] == pytest.approx(0.5)
    assert m["eta"] == 0.0  # every prediction missing
    assert m["mae"] is None and m["rmse"] is None


def test_direction_hits_rejects_unknown_event_and_bad_action():
    bad = _decisions().with_columns(pl.when(pl.col("event_id") == "e3").then(pl.lit("zz")).otherwise("event_id").alias("event_id"))
    with pytest.raises(ValueError, match="row 2, column 'event_id' is 'zz'"):
        direction_hits(bad, _labelled())
    bad = _decisions().with_columns(pl.lit("buy").alias("action"))
    with pytest.raises(ValueError, match="row 0, column 'action' is 'buy'"):
        direction_hits(bad, _labelled())


# --- bootstrap ----------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_deterministic():
    r = np.random.default_rng(0).normal(0.001, 0.01, 120)
    a = bootstrap_sharpe_ci(r, n_boot=300, seed=7, block=4)
    assert a == bootstrap_sharpe_ci(r, n_boot=300, seed=7, block=4)
    assert a == bootstrap_sharpe_ci(r, cfg=BootstrapConfig(n_boot=300, seed=7, block=4))
    assert a == bootstrap_sharpe_ci(r, 300, 7, block=4)  # positional n_boot, seed
    assert a != bootstrap_sharpe_ci(r, n_boot=300, seed=8, block=4)
    assert a["lo"] < a["estimate"] < a["hi"]


def test_bootstrap_config_rejects_unknown_override():
    with pytest.raises(ValueError):
        bootstrap_sharpe_ci([0.01, -0.01, 0.02], n_bootstrap=10)


def test_moving_block_of_full_length_reproduces_the_sample():
    idx = block_bootstrap_indices(9, BootstrapConfig(n_boot=5, block=9, method="moving"))
    assert (idx == np.arange(9)).all()


def test_stationary_blocks_have_geometric_mean_length():
    idx = block_bootstrap_indices(400, BootstrapConfig(n_boot=200, block=8, seed=3))
    assert idx.min() >= 0 and idx.max() < 400
    continues = idx[:, 1:] == (idx[:, :-1] + 1) % 400
    # a new block starts with probability 1/8 (a random restart may by chance continue: prob 1/400)
    assert 1.0 - continues.mean() == pytest.approx(1 / 8 * (1 - 1 / 400), abs=0.01)


def test_iid_bootstrap_se_matches_asymptotic_sharpe_se():
    """Lo (2002): for i.i.d. returns, se(SR_daily) = sqrt((1 + SR_daily^2 / 2) / n)."""
    r = np.random.default_rng(11).normal(0.0008, 0.012, 800)
    ci = bootstrap_sharpe_ci(r, n_boot=3000, seed=1, block=1, method="moving")
    srd = r.mean() / r.std()
    lo_se = math.sqrt((1 + srd**2 / 2) / r.size) * math.sqrt(252)
    assert ci["se"] == pytest.approx(lo_se, rel=0.08)


def test_stationary_bootstrap_agrees_with_arch():
    """Same resampling scheme as arch's StationaryBootstrap (independent implementation): on
    strongly autocorrelated returns, where the block length matters (an i.i.d. resample gives an
    interval about 0.6 times as wide), the percentile endpoints agree up to Monte Carlo noise."""
    arch_bootstrap = pytest.importorskip("arch.bootstrap")
    rng = np.random.default_rng(5)
    e = rng.normal(0.0, 0.01, 300)
    r = np.empty(300)
    r[0] = e[0]
    for t in range(1, 300):  # AR(1), phi = 0.5
        r[t] = 0.5 * r[t - 1] + e[t]
    r += 0.001
    ours = bootstrap_sharpe_ci(r, n_boot=2000, seed=2, block=10)
    sb = arch_bootstrap.StationaryBootstrap(10, r, seed=np.random.default_rng(9))
    ref = sb.conf_int(lambda x: np.array([x.mean() / x.std() * math.sqrt(252)]), reps=1000, method="percentile")
    iid = bootstrap_sharpe_ci(r, n_boot=2000, seed=2, block=1)
    assert (iid["hi"] - iid["lo"]) < 0.75 * (ours["hi"] - ours["lo"])
    assert ours["lo"] == pytest.approx(float(ref[0, 0]), abs=0.35)
    assert ours["hi"] == pytest.approx(float(ref[1, 0]), abs=0.35)


def test_paired_sharpe_difference():
    rng = np.random.default_rng(4)
    r = rng.normal(0.001, 0.01, 250)
    same = bootstrap_sharpe_diff_ci(r, r, n_boot=200)
    assert same["estimate"] == same["lo"] == same["hi"] == 0.0
    better = r + 0.002  # shifted on the same days: the paired difference is clearly positive
    d = bootstrap_sharpe_diff_ci(better, r, n_boot=500)
    assert d["estimate"] > 0 and d["lo"] > 0
    with pytest.raises(ValueError, match="must be equal"):
        bootstrap_sharpe_diff_ci(r, r[:-1])


def test_da_bootstrap_matches_binomial_se_and_pairs_events():
    n = 600
    rng = np.random.default_rng(8)
    car = rng.normal(0, 0.02, n)
    ids = [f"e{i:04d}" for i in range(n)]
    labelled = pl.DataFrame({"event_id": ids, "car": car})
    good_action = np.where(rng.random(n) < 0.7, np.sign(car), -np.sign(car))
    to_action = {1.0: "long", -1.0: "short"}
    good = pl.DataFrame({"event_id": ids, "strategy_id": "g", "action": [to_action[a] for a in good_action]})
    ci = bootstrap_da_ci(good, labelled, n_boot=3000)
    p = decision_metrics(good, labelled)["da"]
    assert ci["estimate"] == pytest.approx(p)
    assert ci["se"] == pytest.approx(math.sqrt(p * (1 - p) / n), rel=0.1)
    # paired difference: same decisions in another row order give exactly zero
    shuffled = good.sample(fraction=1.0, shuffle=True, seed=1)
    zero = bootstrap_da_diff_ci(good, shuffled, labelled, n_boot=200)
    assert zero["estimate"] == zero["lo"] == zero["hi"] == 0.0
    hold = good.with_columns(pl.lit("hold").alias("action"))
    d = bootstrap_da_diff_ci(good, hold, labelled, n_boot=1000)
    assert d["estimate"] == pytest.approx(p)
    assert d["lo"] > 0.6 and d["n_paired"] == n


def test_interval_tables_pair_against_the_baseline():
    rng = np.random.default_rng(12)
    base = rng.normal(0.0, 0.01, 200)
    returns = {"random": base, "skilled": base + 0.003, "noisy": rng.normal(0.0, 0.01, 200)}
    cfg = BootstrapConfig(n_boot=400)
    t = sharpe_interval_table(returns, "random", cfg)
    assert t["policy"].to_list() == ["noisy", "random", "skilled"]
    row = {r["policy"]: r for r in t.iter_rows(named=True)}
    assert row["random"]["sharpe_diff"] == row["random"]["sharpe_diff_ci_low"] == 0.0
    assert row["random"]["sharpe_diff_ci_high"] == 0.0
    assert row["skilled"]["sharpe_diff_ci_low"] > 0  # paired shift on the same days
    one = bootstrap_sharpe_ci(returns["noisy"], cfg=cfg)
    assert (row["noisy"]["sharpe"], row["noisy"]["sharpe_ci_low"], row["noisy"]["sharpe_ci_high"]) == (
        one["estimate"], one["lo"], one["hi"])
    with pytest.raises(ValueError, match="baseline 'oracle'"):
        sharpe_interval_table(returns, "oracle", cfg)

    lab = _labelled()
    decs = {"a": _decisions(), "b": _decisions().with_columns(pl.lit("hold").alias("action"))}
    d = da_interval_table(decs, lab, "b", cfg)
    assert d["policy"].to_list() == ["a", "b"]
    assert d["da"].to_list() == pytest.approx([0.5, 0.0]) and d["da_diff"].to_list() == pytest.approx([0.5, 0.0])
    assert d["n_paired"].to_list() == [4, 4]


def test_da_uses_the_labelled_direction_with_its_neutral_band():
    # e3's CAR 0.0002 is inside the labeller's neutral band: a hold on it is a hit.
    lab = _labelled().with_columns(
        pl.when(pl.col("event_id") == "e3").then(0.0002).otherwise("car").alias("car"),
        pl.Series("direction", ["positive", "negative", "neutral", "negative", None]),
    )
    m = decision_metrics(_decisions(), lab)
    assert m["da"] == pytest.approx(3 / 4) and m["da_traded"] == pytest.approx(2 / 3)
    assert decision_metrics(_decisions(), lab.drop("direction"))["da"] == pytest.approx(2 / 4)  # sign(car)
    bad = lab.with_columns(pl.when(pl.col("event_id") == "e2").then(pl.lit("down")).otherwise("direction")
                           .alias("direction"))
    with pytest.raises(ValueError, match="row 1, column 'direction' is 'down'"):
        decision_metrics(_decisions(), bad)
