"""Tests for janus_core.backtest.metrics: the paper's metrics on hand-computed and published NAVs, decision
metrics on a hand-made labelled table, and the bootstrap intervals against independent references."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from janus_core.backtest.intervals import (
    block_bootstrap_indices,
    bootstrap_da_ci,
    bootstrap_da_diff_ci,
    bootstrap_sharpe_ci,
    bootstrap_sharpe_diff_ci,
    da_interval_table,
    ma1_sharpe_coverage,
    natural_long_run_covariance,
    sharpe_block_length,
    sharpe_interval_table,
)
from janus_core.backtest.metrics import (
    NAV_METRIC_KEYS,
    BootstrapConfig,
    daily_returns,
    decision_metrics,
    direction_hits,
    nav_metrics,
)
from janus_core.backtest.overfitting import (
    cscv_logits,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    return_moments,
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
    bad = _decisions().with_columns(
        pl.when(pl.col("event_id") == "e3").then(pl.lit("zz")).otherwise("event_id").alias("event_id")
    )
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
    ours = bootstrap_sharpe_ci(r, n_boot=2000, seed=2, block=10, method="stationary")
    sb = arch_bootstrap.StationaryBootstrap(10, r, seed=np.random.default_rng(9))
    ref = sb.conf_int(lambda x: np.array([x.mean() / x.std() * math.sqrt(252)]), reps=1000, method="percentile")
    iid = bootstrap_sharpe_ci(r, n_boot=2000, seed=2, block=1, method="stationary")
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
        one["estimate"],
        one["lo"],
        one["hi"],
    )
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
    bad = lab.with_columns(
        pl.when(pl.col("event_id") == "e2").then(pl.lit("down")).otherwise("direction").alias("direction")
    )
    with pytest.raises(ValueError, match="row 1, column 'direction' is 'down'"):
        decision_metrics(_decisions(), bad)


# --- studentized block bootstrap (Ledoit & Wolf 2008) ---------------------------------------------


def test_studentized_interval_covers_at_paper_length_on_autocorrelated_returns():
    """MA(1) returns, theta 0.6, n = 54 (the audit's setting): the studentized circular block
    bootstrap covers the true Sharpe ratio at least 93% of the time at nominal 95%, where the
    stationary-bootstrap percentile interval it replaces does not. 300 samples x 499 resamples
    (benchmarks/study_sharpe_coverage.py runs 1,000 x 999)."""
    cfg = BootstrapConfig(n_boot=499)
    studentized = ma1_sharpe_coverage(54, 0.6, 300, cfg, seed=0)
    percentile = ma1_sharpe_coverage(54, 0.6, 300, cfg.model_copy(update={"method": "stationary"}), seed=0)
    assert studentized["coverage"] >= 0.93, studentized
    assert percentile["coverage"] < 0.93, percentile
    assert studentized["mean_block"] >= 8  # data-driven, at least ceil(2 * 54 ** (1/3)) = 8


def test_natural_long_run_covariance_matches_a_direct_loop():
    rng = np.random.default_rng(3)
    r = rng.normal(0.001, 0.01, (37, 2))
    b = 5
    y = np.concatenate([r, r**2], axis=1)
    y = y - y.mean(axis=0)
    ref = np.zeros((4, 4))
    for i in range(37):
        s = sum(y[(i + j) % 37] for j in range(b))
        ref += np.outer(s, s)
    np.testing.assert_allclose(natural_long_run_covariance(r, b), ref / (37 * b), rtol=1e-12)
    # block 1 is the plain sample covariance (ddof 0)
    np.testing.assert_allclose(natural_long_run_covariance(r, 1), np.cov(y.T, ddof=0), rtol=1e-12, atol=1e-20)


def test_studentized_se_matches_lo_2002_on_iid_normal_returns():
    """Block 1 and i.i.d. normal returns: the delta-method se is Lo's sqrt((1 + SR^2 / 2) / n)."""
    r = np.random.default_rng(21).normal(0.001, 0.01, 20000)
    ci = bootstrap_sharpe_ci(r, n_boot=200, block=1)
    srd = r.mean() / r.std()
    assert ci["se"] == pytest.approx(math.sqrt((1 + srd**2 / 2) / r.size) * math.sqrt(252), rel=0.02)
    assert ci["lo"] < ci["estimate"] < ci["hi"] and ci["block"] == 1.0


def test_studentized_interval_degenerate_and_paired_cases():
    r = np.random.default_rng(4).normal(0.001, 0.01, 120)
    flat = bootstrap_sharpe_ci(np.zeros(30))
    assert flat["estimate"] == flat["lo"] == flat["hi"] == 0.0
    same = bootstrap_sharpe_diff_ci(r, r, n_boot=200)
    assert same["estimate"] == same["lo"] == same["hi"] == 0.0
    d = bootstrap_sharpe_diff_ci(r + 0.002, r, n_boot=500)
    assert d["lo"] > 0  # a paired shift on the same days is clearly positive
    # a flat baseline (always hold) is a constant 0: the difference carries the other's uncertainty
    vs_flat = bootstrap_sharpe_diff_ci(np.zeros(120), r, n_boot=500)
    own = bootstrap_sharpe_ci(r, n_boot=500)
    assert vs_flat["estimate"] == -own["estimate"]
    assert (vs_flat["lo"], vs_flat["hi"], vs_flat["se"]) == pytest.approx((-own["hi"], -own["lo"], own["se"]))
    # wider than the single-series interval of the same data would suggest is not required, but the
    # paired interval must contain its estimate and be deterministic
    assert d == bootstrap_sharpe_diff_ci(r + 0.002, r, n_boot=500)


def test_block_length_is_data_driven_with_a_floor():
    rng = np.random.default_rng(6)
    iid = rng.normal(size=54)
    assert sharpe_block_length(iid[:, None]) == 8  # ceil(2 * 54 ** (1/3)); PW says about 1-2
    e = rng.normal(size=2001)
    ar = np.empty(2000)
    ar[0] = e[0]
    for t in range(1, 2000):
        ar[t] = 0.9 * ar[t - 1] + e[t]
    assert sharpe_block_length(ar[:, None]) > math.ceil(2 * 2000 ** (1 / 3))  # strong dependence: longer
    assert sharpe_block_length(np.zeros((5, 1))) == 2  # short: floor, capped at n // 2


# --- Deflated Sharpe Ratio and PBO ------------------------------------------------------------------


def test_deflated_sharpe_ratio_reproduces_the_papers_numerical_example():
    """Bailey & Lopez de Prado (2014), numerical example: N = 100 trials with annualised Sharpe
    variance 1/2, the best has annualised SR 2.5 over T = 1250 daily returns (250 a year), skew -3,
    kurtosis 10: SR_0 = 0.1132 per day and DSR = 0.9004."""
    d = deflated_sharpe_ratio(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, 0.5 / 250)
    assert round(d["sharpe0"], 4) == 0.1132
    assert round(d["dsr"], 4) == 0.9004
    # one trial is no selection: the DSR is the PSR against zero
    one = deflated_sharpe_ratio(0.05, 500, 0.0, 3.0, 1, 0.0)
    assert one["dsr"] == probabilistic_sharpe_ratio(0.05, 0.0, 500, 0.0, 3.0)
    with pytest.raises(ValueError, match="positive variance"):
        probabilistic_sharpe_ratio(0.5, 0.0, 100, 5.0, 1.0)


def test_expected_max_sharpe_matches_simulated_maxima():
    """The false-strategy approximation against the simulated mean maximum of N standard normals."""
    rng = np.random.default_rng(0)
    for n, tol in ((10, 0.03), (100, 0.015), (1000, 0.01)):
        simulated = rng.standard_normal((4000, n)).max(axis=1).mean()
        assert expected_max_sharpe(n, 1.0) == pytest.approx(simulated, rel=tol)
    assert expected_max_sharpe(100, 4.0, 0.5) == pytest.approx(0.5 + 2 * expected_max_sharpe(100, 1.0))


def test_psr_standard_error_matches_simulation_on_skewed_returns():
    """sd(SR_hat) = sqrt((1 - skew SR + (kurtosis - 1) / 4 SR^2) / (T - 1)) on chi-square(4) returns
    (skew sqrt(2), kurtosis 6)."""
    rng = np.random.default_rng(1)
    t, sr = 500, 0.15
    x = (rng.chisquare(4, (4000, t)) - 4.0) / math.sqrt(8.0)
    r = 0.01 * (x + sr)
    est = r.mean(axis=1) / r.std(axis=1)
    m = return_moments(r.ravel())
    assert m["skew"] == pytest.approx(math.sqrt(2), rel=0.05) and m["kurtosis"] == pytest.approx(6, rel=0.1)
    formula = math.sqrt((1 - math.sqrt(2) * sr + (6 - 1) / 4 * sr**2) / (t - 1))
    assert est.std() == pytest.approx(formula, rel=0.05)


def test_dsr_controls_selection_among_skill_less_trials():
    """Best of 20 noise strategies: its PSR against zero exceeds 0.95 most of the time, its DSR
    (deflated by the 20 trials and their Sharpe variance) almost never."""
    rng = np.random.default_rng(0)
    n, t, runs = 20, 250, 300
    psr_hits = dsr_hits = 0
    for _ in range(runs):
        r = rng.standard_normal((t, n)) * 0.01
        sr = r.mean(axis=0) / r.std(axis=0)
        m = return_moments(r[:, int(np.argmax(sr))])
        psr_hits += probabilistic_sharpe_ratio(m["sharpe"], 0.0, t, m["skew"], m["kurtosis"]) > 0.95
        dsr = deflated_sharpe_ratio(m["sharpe"], t, m["skew"], m["kurtosis"], n, float(np.var(sr, ddof=1)))
        dsr_hits += dsr["dsr"] > 0.95
    assert psr_hits / runs > 0.5
    assert dsr_hits / runs <= 0.05


def _cscv_reference(m: np.ndarray, s: int) -> list[float]:
    """A direct re-implementation of the paper's CSCV steps with loops and scipy ranks."""
    from itertools import combinations

    from scipy.stats import rankdata

    groups = np.array_split(np.arange(m.shape[0]), s)

    def sr(rows: np.ndarray) -> np.ndarray:
        sub = m[rows]
        sd = sub.std(axis=0)
        return np.where(sd > 0, sub.mean(axis=0) / np.where(sd > 0, sd, 1.0), 0.0)

    out = []
    for combo in combinations(range(s), s // 2):
        inside = np.concatenate([groups[g] for g in combo])
        outside = np.concatenate([groups[g] for g in range(s) if g not in combo])
        best = int(np.argmax(sr(inside)))
        w = rankdata(sr(outside))[best] / (m.shape[1] + 1)
        out.append(math.log(w / (1 - w)))
    return out


def test_cscv_matches_a_direct_reimplementation():
    rng = np.random.default_rng(5)
    m = rng.normal(0.0, 0.01, (43, 6))
    m[:, 2] = m[:, 1]  # a tie between two trials
    for s in (2, 4, 8):
        np.testing.assert_allclose(cscv_logits(m, s), _cscv_reference(m, s), rtol=1e-12)
    with pytest.raises(ValueError, match="even number"):
        cscv_logits(m, 3)


def test_pbo_on_the_papers_test_cases():
    """Bailey et al. (2017), section 6: every trial pure noise re-centred to mean zero over the
    sample ("full overfitting": the in-sample best is out-of-sample worse by construction) gives a
    PBO of about 1; one trial with real skill among noise gives about 0; i.i.d. noise without
    re-centring about 1/2."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((1000, 100))
    centred = (noise - noise.mean(axis=0)) / noise.std(axis=0)
    assert probability_of_backtest_overfitting(centred, 16)["pbo"] > 0.95
    skilled = rng.standard_normal((1000, 100))
    skilled[:, 7] += 0.2
    assert probability_of_backtest_overfitting(skilled, 16)["pbo"] < 0.05
    half = np.mean([probability_of_backtest_overfitting(rng.standard_normal((400, 20)), 8)["pbo"] for _ in range(20)])
    assert 0.35 < half < 0.65
    res = probability_of_backtest_overfitting(centred[:80, :5], 4)
    assert (res["n_combinations"], res["n_trials"], res["n_periods"]) == (6.0, 5.0, 80.0)


def test_normal_tails_equal_scipy_stats_bit_for_bit() -> None:
    """overfitting reads Z and its inverse from scipy.special (ndtr, ndtri), which scipy.stats.norm
    calls: the expected maximum Sharpe and the PSR are the same bits as with scipy.stats."""
    from scipy.stats import norm

    g = 0.5772156649015329
    for n in (2, 3, 10, 57, 1000, 10**6):
        z = (1.0 - g) * norm.ppf(1.0 - 1.0 / n) + g * norm.ppf(1.0 - 1.0 / (n * math.e))
        assert expected_max_sharpe(n, 0.04, 0.1) == float(0.1 + math.sqrt(0.04) * z)
    for sr, bench, t, skew, kurt in [(0.1, 0.0, 250, -0.3, 4.0), (-0.05, 0.02, 30, 0.8, 9.0), (2.0, 0.0, 2, 0.0, 3.0)]:
        denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
        want = float(norm.cdf((sr - bench) * math.sqrt(t - 1) / math.sqrt(denom)))
        assert probabilistic_sharpe_ratio(sr, bench, t, skew, kurt) == want
