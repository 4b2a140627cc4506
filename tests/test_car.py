"""Event-study engine: statsmodels reference, risk neutralisation reference, recovery of injected
CARs on the synthetic sample, every exclusion reason, order and determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from janus_core.data.dataset import Dataset, DatasetMeta
from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.study.car import EXCLUSION_REASONS, CarConfig, compute_car

TZ = "Asia/Shanghai"


def _meta(name: str = "hand") -> DatasetMeta:
    return DatasetMeta(
        name=name, version="1", provenance="synthetic_generated", exchange_timezone=TZ, as_of="2025-01-01T00:00:00Z"
    )


def _calendar(n_days: int) -> list[dt.date]:
    days, d = [], dt.date(2024, 1, 1)
    while len(days) < n_days:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def _pre_open_utc(day: dt.date) -> dt.datetime:
    """09:00 Shanghai on ``day`` (before the 09:30 cut-off, so the event day is ``day``)."""
    return dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.timezone.utc)


def _events(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [r["event_id"] for r in rows],
            "symbol": [r["symbol"] for r in rows],
            "published_at": pl.Series([r["published_at"] for r in rows], dtype=pl.Datetime("us", "UTC")),
            "event_type": [r.get("event_type", "financing") for r in rows],
            "event_type_raw": [r.get("event_type", "financing") for r in rows],
            "headline": [r.get("headline", "h") for r in rows],
            "seq": pl.Series([r.get("seq") for r in rows], dtype=pl.Int64),
            "body": [""] * len(rows),
            "sentiment": pl.Series([None] * len(rows), dtype=pl.String),
            "source": ["test"] * len(rows),
            "tag": [r.get("tag", "x") for r in rows],
        }
    )


def _market(symbols: list[str], n_days: int, seed: int, benchmark_of: dict[str, str]):
    """Random market-model returns (known alpha, beta) as canonical prices/benchmarks frames."""
    rng = np.random.default_rng(seed)
    days = _calendar(n_days)
    bench_names = sorted(set(benchmark_of.values()))
    bench_r = {b: rng.normal(0.0003, 0.012, n_days) for b in bench_names}
    bench = pl.concat(
        pl.DataFrame({"benchmark": b, "date": days, "close": 1000 * np.cumprod(1 + bench_r[b])}) for b in bench_names
    )
    frames = []
    for s in symbols:
        b = benchmark_of.get(s, bench_names[0])
        r = rng.normal(0.0002, 0.0005) + rng.uniform(0.5, 1.5) * bench_r.get(b, bench_r[bench_names[0]])
        r = r + rng.standard_t(5, n_days) * 0.012
        frames.append(
            pl.DataFrame(
                {"symbol": s, "date": days, "open": 10 * np.cumprod(1 + r), "close": 10 * np.cumprod(1 + r)}
            ).with_columns(volume=pl.lit(1e6), tradable=pl.lit(True))
        )
    prices = pl.concat(frames).sort("symbol", "date")
    return days, prices, bench.sort("benchmark", "date")


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return generate(SyntheticConfig.for_scale("demo"))


# ---------------------------------------------------------------- statsmodels reference (1e-9)


def _reference(ds: Dataset, cfg: CarConfig, row: dict) -> dict:
    """Per-event OLS with statsmodels on arrays built directly from the canonical frames."""
    px = ds.prices.filter(pl.col("symbol") == row["symbol"]).sort("date")
    bench_name = ds.securities.filter(pl.col("symbol") == row["symbol"])["benchmark"][0]
    bx = ds.benchmarks.filter(pl.col("benchmark") == bench_name).select("date", bclose="close")
    px = px.join(bx, on="date", how="left").sort("date")
    close, bclose = px["close"].to_numpy(), px["bclose"].to_numpy()
    trad = px["tradable"].to_numpy()
    r = np.r_[np.nan, close[1:] / close[:-1] - 1]
    m = np.r_[np.nan, bclose[1:] / bclose[:-1] - 1]
    ok = np.r_[False, trad[1:] & trad[:-1]] & np.isfinite(r) & np.isfinite(m)
    k0 = px["date"].to_list().index(row["event_day"])
    a, b = cfg.event_window
    est = np.arange(max(k0 + a - cfg.gap - cfg.estimation_window, 0), k0 + a - cfg.gap)
    est = est[ok[est]]
    win = np.arange(k0 + a, k0 + b + 1)
    if cfg.model == "market":
        res = sm.OLS(r[est], sm.add_constant(m[est])).fit()
        alpha, beta = res.params
        sigma = np.sqrt(res.scale)
    elif cfg.model == "market_adjusted":
        alpha, beta = 0.0, 1.0
        sigma = np.std(r[est] - m[est], ddof=1)
    else:
        res = sm.OLS(r[est], np.ones(len(est))).fit()
        alpha, beta, sigma = res.params[0], 0.0, np.sqrt(res.scale)
    ar = r[win] - alpha - beta * (m[win] if cfg.model != "constant_mean" else 0.0)
    return {"alpha": alpha, "beta": beta, "sigma": sigma, "n": len(est), "ar": ar, "car": ar.sum()}


@pytest.mark.parametrize("model", ["market", "market_adjusted", "constant_mean"])
def test_matches_statsmodels_per_event_ols(demo, model):
    cfg = CarConfig(model=model, risk_neutralize=False)
    out = compute_car(demo, cfg)
    inc = out.filter(pl.col("excluded_reason").is_null())
    sample = inc.sample(40, seed=7)
    for row in sample.iter_rows(named=True):
        ref = _reference(demo, cfg, row)
        assert row["estimation_days"] == ref["n"]
        np.testing.assert_allclose(row["alpha"], ref["alpha"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(row["beta"], ref["beta"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(row["sigma"], ref["sigma"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(row["ar"], ref["ar"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(row["ar_mm"], ref["ar"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(row["car"], ref["car"], rtol=0, atol=1e-9)
        assert row["abnormal_return"] == row["car_mm"] == row["car"]
        assert row["risk_neutralized_return"] is None


def test_estimation_window_skips_untradable_days(demo):
    """Events whose estimation window holds suspended / limit-locked days use fewer days."""
    out = compute_car(demo, CarConfig(risk_neutralize=False)).filter(pl.col("excluded_reason").is_null())
    assert (out["estimation_days"] < 120).sum() > 0
    short = out.filter(pl.col("estimation_days") < 120).head(5)
    for row in short.iter_rows(named=True):
        ref = _reference(demo, CarConfig(risk_neutralize=False), row)
        assert row["estimation_days"] == ref["n"]
        np.testing.assert_allclose(row["beta"], ref["beta"], atol=1e-9)


def test_price_fields_and_forecast_se(demo):
    cfg = CarConfig(risk_neutralize=False)
    out = compute_car(demo, cfg).filter(pl.col("excluded_reason").is_null()).head(20)
    for row in out.iter_rows(named=True):
        px = demo.prices.filter(pl.col("symbol") == row["symbol"]).sort("date")
        k0 = px["date"].to_list().index(row["event_day"])
        assert row["price_t"] == px["close"][k0 - 1]
        assert row["price_t_plus_1"] == px["close"][k0 + 2]
        np.testing.assert_allclose(row["raw_return"], px["close"][k0 + 2] / px["close"][k0 - 1] - 1, atol=1e-12)
        # Forecast-error SD of the CAR is at least sigma * sqrt(W) (estimation error only adds).
        assert row["car_se"] >= row["sigma"] * np.sqrt(3) - 1e-15
        assert all(se >= row["sigma"] - 1e-15 for se in row["ar_se"])


# ---------------------------------------------------------------- risk neutralisation reference


def test_risk_neutralisation_matches_cross_sectional_ols(demo):
    """AR_RM = AR_MM(event) - fitted factor return, with the factor returns of a statsmodels
    cross-sectional OLS of every stock's rolling market-model AR on exposures + industry dummies."""
    cfg = CarConfig()
    out = compute_car(demo, cfg).filter(pl.col("excluded_reason").is_null())
    assert out["neutralized"].all()
    factors = ["size", "value", "momentum", "volatility"]
    px = demo.prices.join(demo.securities.select("symbol", "benchmark", "industry"), on="symbol").join(
        demo.benchmarks.rename({"close": "bclose"}), on=["benchmark", "date"]
    )
    px = px.sort("symbol", "date").with_columns(
        r=pl.col("close").pct_change().over("symbol"),
        m=pl.col("bclose").pct_change().over("symbol"),
        ok=pl.col("tradable") & pl.col("tradable").shift(1).over("symbol").fill_null(False),
        k=pl.int_range(pl.len()).over("symbol"),
    )
    sample = out.sample(3, seed=3)
    for row in sample.iter_rows(named=True):
        day = row["event_day"]  # first window day
        k_day = px.filter((pl.col("symbol") == row["symbol"]) & (pl.col("date") == day))["k"][0]
        ys, inds, syms = [], [], []
        for sym, g in px.group_by("symbol", maintain_order=True):
            g = g.sort("date")
            if g.height <= k_day or g["date"][k_day] != day:
                continue
            lo, hi = max(k_day - cfg.gap - cfg.estimation_window, 0), k_day - cfg.gap
            est = g.slice(lo, hi - lo).filter(pl.col("ok") & pl.col("r").is_not_null() & pl.col("m").is_not_null())
            if est.height < cfg.min_estimation_obs or not g["tradable"][k_day]:
                continue
            coef = np.linalg.lstsq(np.c_[np.ones(est.height), est["m"].to_numpy()], est["r"].to_numpy(), rcond=None)[0]
            ys.append(g["r"][k_day] - coef[0] - coef[1] * g["m"][k_day])
            syms.append(sym[0])
            inds.append(g["industry"][0])
        ex = demo.exposures.filter(pl.col("date") == day).join(pl.DataFrame({"symbol": syms}), on="symbol", how="right")
        X = ex.select(factors).to_numpy()
        dummies = pl.Series(inds).to_dummies().to_numpy().astype(float)
        fit = sm.OLS(np.array(ys), np.c_[X, dummies]).fit()
        me = syms.index(row["symbol"])
        expected = row["ar_mm"][0] - np.r_[X[me], dummies[me]] @ fit.params
        np.testing.assert_allclose(row["ar"][0], expected, atol=1e-9)
        assert row["risk_neutralized_return"] == row["car"]


# ---------------------------------------------------------------- recovery on synthetic data


def test_recovers_injected_car_on_synthetic_sample(demo):
    syn = SyntheticConfig.for_scale("demo")
    out = compute_car(demo, CarConfig()).filter(pl.col("excluded_reason").is_null())
    assert out.height > 0.95 * demo.events.height
    assert (out["event_day"] == out["injected_event_day"]).all()
    err = (out["car"] - out["injected_car"]).to_numpy()
    n = len(err)
    # Unbiased: the mean error is within 4 standard errors of zero.
    assert abs(err.mean()) < 4 * err.std(ddof=1) / np.sqrt(n)
    # The error is the noise the model predicts: its SD is no larger than the forecast-error SD
    # (which also holds the factor and industry noise that neutralisation removes) ...
    noise = np.sqrt(np.mean(out["car_se"].to_numpy() ** 2))
    assert err.std(ddof=1) < 1.05 * noise
    # ... and no smaller than the idiosyncratic noise of three days for the least volatile tier.
    assert err.std(ddof=1) > 0.8 * min(syn.idio_vol) * np.sqrt(3)
    # Neutralisation removes factor noise: the neutralised error is smaller than the MM error.
    err_mm = (out["car_mm"] - out["injected_car"]).to_numpy()
    assert err.std() < err_mm.std()
    # Mean CAR by type is close to the calibrated one, E[c] = (2p - 1) * mean|c| per type.
    from janus_core.data.events import EVENT_TYPES

    by_type = out.group_by("event_type").agg(
        mean=pl.col("car").mean(), sd=pl.col("car").std(), n=pl.len(), injected=pl.col("injected_car").mean()
    )
    for row in by_type.iter_rows(named=True):
        i = EVENT_TYPES.index(row["event_type"])
        calibrated = (2 * syn.type_positive_prob[i] - 1) * syn.type_mean_abs_car[i]
        assert abs(row["mean"] - calibrated) < 4 * row["sd"] / np.sqrt(row["n"]), row


# ---------------------------------------------------------------- exclusions, order, determinism


@pytest.fixture(scope="module")
def hand() -> Dataset:
    """Filler stocks F00..F19 plus A, B (tradable gap), C (no securities row), D (unknown
    benchmark), E (no exposures); IDX misses one day."""
    fillers = [f"F{i:02d}" for i in range(20)]
    symbols = ["A", "B", "C", "D", "E", *fillers]
    bench_of = {s: "IDX" for s in symbols if s not in ("C", "D")} | {"D": "NOPE"}
    days, prices, bench = _market(symbols, 220, seed=11, benchmark_of={s: "IDX" for s in symbols})
    prices = prices.with_columns(
        tradable=pl.when((pl.col("symbol") == "B") & (pl.col("date") == days[160]))
        .then(False)
        .otherwise(pl.col("tradable"))
    )
    bench = bench.filter(pl.col("date") != days[170])
    securities = pl.DataFrame(
        {
            "symbol": [s for s in symbols if s != "C"],
            "benchmark": [bench_of[s] for s in symbols if s != "C"],
            "industry": [("tech" if i % 2 else "bank") for i, s in enumerate(symbols) if s != "C"],
        }
    )
    rng = np.random.default_rng(5)
    exposures = (
        prices.select("symbol", "date")
        .filter(pl.col("symbol") != "E")
        .with_columns(
            size=pl.Series(rng.normal(size=prices.height - 220)), value=pl.Series(rng.normal(size=prices.height - 220))
        )
    )
    ev = _events(
        [
            {"event_id": "ok", "symbol": "A", "published_at": _pre_open_utc(days[150]), "tag": "keep-me"},
            {"event_id": "ok", "symbol": "A", "published_at": _pre_open_utc(days[150])},
            {"event_id": "noprice", "symbol": "ZZZ", "published_at": _pre_open_utc(days[150])},
            {"event_id": "nosec", "symbol": "C", "published_at": _pre_open_utc(days[150])},
            {"event_id": "nobench", "symbol": "D", "published_at": _pre_open_utc(days[150])},
            {"event_id": "after", "symbol": "A", "published_at": _pre_open_utc(days[-1]) + dt.timedelta(days=3)},
            {"event_id": "tail", "symbol": "A", "published_at": _pre_open_utc(days[-2])},
            {"event_id": "locked", "symbol": "B", "published_at": _pre_open_utc(days[160])},
            {"event_id": "early", "symbol": "A", "published_at": _pre_open_utc(days[50])},
            {"event_id": "gap", "symbol": "A", "published_at": _pre_open_utc(days[169])},
            {"event_id": "noexp", "symbol": "E", "published_at": _pre_open_utc(days[190])},
            {"event_id": "locked-later", "symbol": "B", "published_at": _pre_open_utc(days[159])},
        ]
    )
    return Dataset(meta=_meta(), events=ev, prices=prices, benchmarks=bench, securities=securities, exposures=exposures)


def test_every_exclusion_reason_is_reached(hand):
    out = compute_car(hand, CarConfig())
    assert out.height == hand.events.height
    got = dict(zip(out["event_id"], out["excluded_reason"], strict=False))
    reasons = out.select("event_id", "excluded_reason").rows()
    assert reasons.count(("ok", None)) == 1 and reasons.count(("ok", "duplicate")) == 1
    assert got["noprice"] == "no_prices"
    assert got["nosec"] == "unknown_benchmark"
    assert got["nobench"] == "unknown_benchmark"
    assert got["after"] == "event_window_past_data"
    assert got["tail"] == "event_window_past_data"
    assert got["locked"] == "untradable"
    assert got["early"] == "too_few_estimation_days"
    assert got["gap"] == "missing_returns"
    assert got["noexp"] == "no_risk_model"
    assert got["locked-later"] is None  # untradable day inside the window, not the event day
    assert set(out["excluded_reason"].drop_nulls()) == set(EXCLUSION_REASONS)
    kept = out.filter(pl.col("event_id") == "locked-later")
    assert kept["untradable_window_days"][0] == 1
    # Excluded rows carry no model output; included ones carry all of it.
    excluded = out.filter(pl.col("excluded_reason").is_not_null())
    assert excluded.select("car", "ar", "alpha", "sigma", "price_t").null_count().row(0) == (excluded.height,) * 5
    first = out.filter((pl.col("event_id") == "ok") & pl.col("excluded_reason").is_null())
    assert first["tag"][0] == "keep-me"  # extra columns pass through; the first duplicate is kept


def test_constant_mean_needs_no_benchmark(hand):
    out = compute_car(hand, CarConfig(model="constant_mean", risk_neutralize=False))
    got = dict(zip(out["event_id"], out["excluded_reason"], strict=False))
    assert got["nobench"] is None and got["nosec"] is None and got["gap"] is None


def test_order_and_determinism(hand):
    cfg = CarConfig()
    out = compute_car(hand, cfg)
    keys = out.select("published_at", "symbol", "event_id").rows()
    assert keys == sorted(keys)
    shuffled = Dataset(
        meta=hand.meta,
        events=hand.events.sample(fraction=1.0, shuffle=True, seed=1),
        prices=hand.prices,
        benchmarks=hand.benchmarks,
        securities=hand.securities.reverse(),
        exposures=hand.exposures.sample(fraction=1.0, shuffle=True, seed=2),
    )
    again = compute_car(shuffled, cfg)
    cols = [c for c in out.columns if c != "tag"]
    assert again.select(cols).equals(out.select(cols))


def test_unsorted_prices_fail_closed(hand):
    bad = Dataset(
        meta=hand.meta, events=hand.events, prices=hand.prices.reverse(), benchmarks=hand.benchmarks,
        securities=hand.securities,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"prices row \d+: columns symbol, date must be sorted"):
        compute_car(bad, CarConfig())


def test_config_validation():
    with pytest.raises(ValueError, match="event_window"):
        CarConfig(event_window=(2, 0))
    with pytest.raises(ValueError, match="min_estimation_obs"):
        CarConfig(estimation_window=30, min_estimation_obs=60)
    assert CarConfig().model_dump()["event_window"] == (0, 2)


def test_ragged_calendars_match_the_rectangular_path(hand):
    """A stock listed late (rows only from day 180, so it never has enough estimation days) makes
    the panel ragged; every result must equal the run without it (the scatter path of the
    cross-section and the padded matrices agree with the rectangular ones)."""
    late = hand.prices.filter(pl.col("symbol") == "F00").slice(180).with_columns(symbol=pl.lit("G"))
    exposures = hand.exposures.filter(pl.col("symbol") == "F00").slice(180).with_columns(symbol=pl.lit("G"))
    ragged = Dataset(
        meta=hand.meta,
        events=hand.events,
        prices=pl.concat([hand.prices, late]).sort("symbol", "date"),
        benchmarks=hand.benchmarks,
        securities=pl.concat(
            [hand.securities, pl.DataFrame({"symbol": ["G"], "benchmark": ["IDX"], "industry": ["bank"]})]
        ),
        exposures=pl.concat([hand.exposures, exposures]),
    )
    cfg = CarConfig()
    got, expected = compute_car(ragged, cfg), compute_car(hand, cfg)
    lists = ["ar", "ar_mm", "ar_se"]
    exact = [c for c in got.columns if c not in (*lists, "car", "risk_neutralized_return")]
    assert got.select(exact).equals(expected.select(exact))
    # Neutralised values agree to rounding (the cross-section sums run over a different grid).
    for col in ("car", "risk_neutralized_return"):
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(), rtol=0, atol=1e-14)
    for col in lists:
        np.testing.assert_allclose(
            got[col].explode().to_numpy().astype(float),
            expected[col].explode().to_numpy().astype(float),
            rtol=0,
            atol=1e-14,
        )


def test_thread_count_does_not_change_results(demo):
    one = compute_car(demo, CarConfig(threads=1))
    assert one.equals(compute_car(demo, CarConfig(threads=3)))


def test_collinear_exposures_do_not_break_neutralisation(hand):
    """A style factor that is constant on every date is absorbed by the industry dummies: the
    least-squares residual, hence every neutralised AR, is unchanged."""
    constant = Dataset(
        meta=hand.meta, events=hand.events, prices=hand.prices, benchmarks=hand.benchmarks,
        securities=hand.securities, exposures=hand.exposures.with_columns(level=pl.lit(1.0)),
    )  # fmt: skip
    got, expected = compute_car(constant, CarConfig()), compute_car(hand, CarConfig())
    assert got["excluded_reason"].to_list() == expected["excluded_reason"].to_list()
    np.testing.assert_allclose(
        got["car"].to_numpy().astype(float), expected["car"].to_numpy().astype(float), atol=1e-12
    )


@pytest.mark.parametrize("ids", [["noprice"], ["after", "early"], []])
def test_no_included_event_still_gives_one_row_each(hand, ids):
    ds = Dataset(
        meta=hand.meta, events=hand.events.filter(pl.col("event_id").is_in(ids)), prices=hand.prices,
        benchmarks=hand.benchmarks, securities=hand.securities, exposures=hand.exposures,
    )  # fmt: skip
    out = compute_car(ds, CarConfig())
    assert out.height == len(ids) and out["excluded_reason"].null_count() == 0


# ---------------------------------------------------------------- neutralised estimation window


def _cross_section_factor_return(hand: Dataset, cfg: CarConfig, k: int, symbol: str) -> float | None:
    """Reference factor return of ``symbol`` on calendar position ``k``: every stock's rolling
    market-model AR of that day (statsmodels OLS on its own window), regressed on the style
    exposures and industry dummies (statsmodels); the fitted value of ``symbol``. None when the
    stock is not in a solvable cross-section."""
    ys, xs, inds, syms = [], [], [], []
    sec = hand.securities.filter(pl.col("benchmark") == "IDX")
    bench = hand.benchmarks.filter(pl.col("benchmark") == "IDX").select("date", bclose="close")
    for sym, industry in sec.select("symbol", "industry").rows():
        px = hand.prices.filter(pl.col("symbol") == sym).sort("date").join(bench, on="date", how="left").sort("date")
        r = np.r_[np.nan, px["close"].to_numpy()[1:] / px["close"].to_numpy()[:-1] - 1]
        bc = px["bclose"].to_numpy().astype(float)
        m = np.r_[np.nan, bc[1:] / bc[:-1] - 1]
        trad = px["tradable"].to_numpy()
        ok = np.r_[False, trad[1:] & trad[:-1]] & np.isfinite(r) & np.isfinite(m)
        est = np.arange(max(k - cfg.gap - cfg.estimation_window, 0), max(k - cfg.gap, 0))
        est = est[ok[est]]
        ex = hand.exposures.filter((pl.col("symbol") == sym) & (pl.col("date") == px["date"][int(k)]))
        if len(est) < cfg.min_estimation_obs or not trad[k] or not np.isfinite(r[k] + m[k]) or ex.height == 0:
            continue
        fit = sm.OLS(r[est], sm.add_constant(m[est])).fit()
        ys.append(r[k] - fit.params[0] - fit.params[1] * m[k])
        xs.append(ex.select("size", "value").row(0))
        inds.append(industry)
        syms.append(sym)
    if symbol not in syms or len(ys) - len(set(inds)) - 2 < cfg.min_cross_section_dof:
        return None
    design = np.c_[np.array(xs), pl.Series(inds).to_dummies().to_numpy().astype(float)]
    fit = sm.OLS(np.array(ys), design).fit()
    return float(design[syms.index(symbol)] @ fit.params)


def test_neutralised_sigma_and_estimation_ars_match_a_reference(hand):
    """With risk neutralisation the estimation window is neutralised like the event window:
    AR_RM(t) = r - alpha - beta m - F(t) with each date's cross-sectional factor return F, sigma_neutral
    is the residual SD of the OLS of r - F on [1, m] over the estimation days that have a risk model,
    and car_se^2 = W sigma_neutral^2 + sigma^2 (W^2/n + (sum m - W mean_m)^2 / Cxx)."""
    from janus_core.study.car import estimation_abnormal_returns

    cfg = CarConfig()
    out = compute_car(hand, cfg)
    row = out.filter((pl.col("event_id") == "ok") & pl.col("excluded_reason").is_null()).row(0, named=True)
    est_ar = estimation_abnormal_returns(hand, cfg, out).filter(pl.col("event_id") == "ok")
    px = hand.prices.filter(pl.col("symbol") == "A").sort("date")
    bench = hand.benchmarks.filter(pl.col("benchmark") == "IDX").select("date", bclose="close")
    px = px.join(bench, on="date", how="left").sort("date")
    r = np.r_[np.nan, px["close"].to_numpy()[1:] / px["close"].to_numpy()[:-1] - 1]
    bc = px["bclose"].to_numpy().astype(float)
    m = np.r_[np.nan, bc[1:] / bc[:-1] - 1]
    trad = px["tradable"].to_numpy()
    ok = np.r_[False, trad[1:] & trad[:-1]] & np.isfinite(r) & np.isfinite(m)
    k0 = px["date"].to_list().index(row["event_day"])
    window = np.arange(k0 - cfg.gap - cfg.estimation_window, k0 - cfg.gap)
    plain = window[ok[window]]
    fit = sm.OLS(r[plain], sm.add_constant(m[plain])).fit()
    factor = np.array(
        [_cross_section_factor_return(hand, cfg, int(k), "A") if ok[k] else None for k in window], dtype=float
    )
    expected_ar = np.where(ok[window], r[window] - fit.params[0] - fit.params[1] * m[window] - factor, np.nan)
    got_ar = est_ar["ar_estimation"].to_numpy()[0]
    np.testing.assert_array_equal(np.isnan(got_ar), np.isnan(expected_ar))
    np.testing.assert_allclose(got_ar, expected_ar, rtol=0, atol=1e-9)
    assert est_ar["estimation_dates"].to_list()[0] == px["date"].to_list()[window[0] : window[-1] + 1]
    used = np.isfinite(expected_ar)
    assert 0 < used.sum() < len(plain) == row["estimation_days"]  # early days have no cross-section yet
    neutral = sm.OLS(r[window][used] - factor[used], sm.add_constant(m[window][used])).fit()
    assert row["neutral_estimation_days"] == used.sum()
    np.testing.assert_allclose(row["sigma_neutral"], np.sqrt(neutral.scale), rtol=0, atol=1e-9)
    np.testing.assert_allclose(row["sigma"], np.sqrt(fit.scale), rtol=0, atol=1e-9)
    w = cfg.window_days
    m_win = m[k0 : k0 + w]
    cxx = ((m[plain] - m[plain].mean()) ** 2).sum()
    car_var = w * neutral.scale + fit.scale * (w * w / len(plain) + (m_win.sum() - w * m[plain].mean()) ** 2 / cxx)
    np.testing.assert_allclose(row["car_se"], np.sqrt(car_var), rtol=1e-9)
    day_var = neutral.scale + fit.scale * (1 / len(plain) + (m_win - m[plain].mean()) ** 2 / cxx)
    np.testing.assert_allclose(row["ar_se"], np.sqrt(day_var), rtol=1e-9)
    # Without neutralisation the plain market model's sigma and forecast SD are used throughout.
    plain_row = (
        compute_car(hand, CarConfig(risk_neutralize=False))
        .filter((pl.col("event_id") == "ok") & pl.col("excluded_reason").is_null())
        .row(0, named=True)
    )
    assert plain_row["sigma_neutral"] is None and plain_row["neutral_estimation_days"] == 0
    plain_var = fit.scale * (w + w * w / len(plain) + (m_win.sum() - w * m[plain].mean()) ** 2 / cxx)
    np.testing.assert_allclose(plain_row["car_se"], np.sqrt(plain_var), rtol=1e-9)


def test_too_few_neutralised_estimation_days_is_no_risk_model(hand):
    """An event whose estimation window has enough plain days but fewer than min_estimation_obs
    with a risk model is excluded no_risk_model (its sigma_neutral would rest on too few days)."""
    cfg = CarConfig()
    row = compute_car(hand, cfg).filter(pl.col("event_id") == "ok").row(0, named=True)
    strict = CarConfig(min_estimation_obs=row["neutral_estimation_days"] + 1)
    assert row["estimation_days"] >= strict.min_estimation_obs
    got = compute_car(hand, strict).filter(pl.col("event_id") == "ok")
    assert got["excluded_reason"].to_list() == ["no_risk_model", "duplicate"]
    assert compute_car(hand, strict.model_copy(update={"risk_neutralize": False})).filter(pl.col("event_id") == "ok")[
        "excluded_reason"
    ].to_list() == [None, "duplicate"]
