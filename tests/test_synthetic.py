"""Tests of the synthetic A-share generator and of the sample-dataset builder."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from janus_core.data.dataset import check_dataset
from janus_core.data.events import EVENT_TYPES, PUBLISHED_MEAN_ABS_CAR, map_event_days
from janus_core.data.manifest import load_dataset
from janus_core.data.samples import build_sample
from janus_core.data.synthetic import (
    BENCHMARKS,
    STYLE_FACTORS,
    SyntheticConfig,
    generate,
    session_days,
)
from janus_core.paths import WorkbenchPaths

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO = SyntheticConfig.for_scale("demo")


@pytest.fixture(scope="module")
def demo():
    return generate(DEMO)


def _returns(prices: pl.DataFrame) -> pl.DataFrame:
    return prices.with_columns((pl.col("close") / pl.col("close").shift(1).over("symbol") - 1).alias("ret"))


def test_same_seed_same_content_other_seed_differs(demo):
    again = generate(DEMO)
    other = generate(SyntheticConfig.for_scale("demo", seed=DEMO.seed + 1))
    assert again.meta == demo.meta
    for table, frame in demo.tables().items():
        assert again.tables()[table].equals(frame), table
        assert not other.tables()[table].equals(frame), table


def test_demo_shapes_and_canonical_tables(demo):
    check_dataset(demo)  # canonical columns, dtypes and every data-contract rule
    n, t = DEMO.n_stocks, DEMO.n_days
    assert demo.securities.height == n
    assert demo.prices.height == n * t
    assert demo.exposures is not None and demo.exposures.height == n * t
    assert demo.benchmarks.height == 3 * t
    assert demo.events.height == DEMO.n_events
    assert demo.style_factors() == sorted(STYLE_FACTORS)
    assert demo.securities["symbol"].str.contains(r"^\d{6}\.(SH|SZ)$").all()
    assert demo.events["event_id"].n_unique() == demo.events.height
    tiers = dict(zip(demo.securities["size_tier"], demo.securities["benchmark"]))
    assert tiers == {"large": "CSI300", "mid": "CSI500", "small": "CSI1000"}
    assert sorted(demo.benchmarks["benchmark"].unique()) == sorted(BENCHMARKS)
    assert set(demo.events["event_type"].unique()) == set(EVENT_TYPES)
    assert demo.meta.provenance == "synthetic_generated"
    assert demo.meta.exchange_timezone == "Asia/Shanghai" and demo.meta.news_cutoff == "09:30"
    assert demo.meta.as_of == str(demo.prices["date"].max())


def test_calendar_weekdays_and_holidays():
    days = [d.astype(object) for d in session_days(DEMO)]
    assert len(days) == DEMO.n_days and days == sorted(days)
    assert all(d.weekday() < 5 for d in days)
    for closed in (dt.date(2022, 10, 3), dt.date(2024, 1, 1), dt.date(2023, 1, 24), dt.date(2023, 5, 1)):
        assert closed not in days
    assert dt.date(2023, 1, 20) in days and dt.date(2023, 1, 30) in days


def _local(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.mark.parametrize(
    ("published_local", "event_day"),
    [
        ("2023-01-19T09:29:59", "2023-01-19"),  # before the cut-off: trades that day
        ("2023-01-19T09:30:00", "2023-01-20"),  # at the cut-off: next trading day
        ("2023-01-19T20:15:00", "2023-01-20"),  # after the close
        ("2023-01-20T11:00:00", "2023-01-30"),  # Friday before the Spring Festival week
        ("2023-01-25T12:00:00", "2023-01-30"),  # during the holiday
        ("2023-01-28T08:00:00", "2023-01-30"),  # Saturday
        ("2023-01-30T09:00:00", "2023-01-30"),  # pre-open on the first day back
    ],
)
def test_point_in_time_rule_on_hand_picked_timestamps(demo, published_local, event_day):
    sym = demo.securities["symbol"][0]
    events = pl.DataFrame({"symbol": [sym], "published_at": [_local(published_local)]}).with_columns(
        pl.col("published_at").dt.convert_time_zone("UTC")
    )
    mapped = map_event_days(events, demo.prices, "Asia/Shanghai", "09:30")
    assert mapped["event_day"][0] == dt.date.fromisoformat(event_day)


def test_injected_event_day_follows_the_point_in_time_rule(demo):
    mapped = map_event_days(demo.events, demo.prices, demo.meta.exchange_timezone, demo.meta.news_cutoff)
    assert (mapped["event_day"] == mapped["injected_event_day"]).all()
    local = demo.events["published_at"].dt.convert_time_zone("Asia/Shanghai")
    minutes = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    assert (minutes < 9 * 60 + 30).sum() > 0.1 * demo.events.height  # pre-open
    assert (minutes.is_between(9 * 60 + 30, 15 * 60, closed="left")).sum() > 0.1 * demo.events.height
    assert (minutes >= 15 * 60).sum() > 0.3 * demo.events.height  # after the close
    assert (local.dt.weekday() >= 6).sum() > 0  # some weekend news


def test_mean_abs_injected_car_matches_published_by_type(demo):
    by_type = demo.events.group_by("event_type").agg(
        pl.col("injected_car").abs().mean().alias("mean_abs"), pl.len().alias("n")
    )
    cv = 1.0 / math.sqrt(DEMO.magnitude_shape)  # Gamma(k) coefficient of variation
    for row in by_type.iter_rows(named=True):
        target = PUBLISHED_MEAN_ABS_CAR[row["event_type"]]
        assert abs(row["mean_abs"] / target - 1.0) < 4.0 * cv / math.sqrt(row["n"]), row


def test_injected_reaction_is_in_the_prices(demo):
    """sign(c) * (r_d + r_d+1 + r_d+2) averages E|c|: the base returns do not depend on the sign."""
    rets = _returns(demo.prices).select("symbol", "date", "ret")
    window = []
    for lag in range(3):
        shifted = rets.with_columns(pl.col("ret").shift(-lag).over("symbol").alias(f"r{lag}"))
        window.append(shifted.select("symbol", "date", f"r{lag}"))
    joined = demo.events.select("symbol", pl.col("injected_event_day").alias("date"), "injected_car")
    for w in window:
        joined = joined.join(w, on=["symbol", "date"], how="left")
    realised = joined.select(pl.col("injected_car").sign() * (pl.col("r0") + pl.col("r1") + pl.col("r2")))
    realised = realised.to_series().to_numpy()
    expected = demo.events["injected_car"].abs().mean()
    standard_error = realised.std() / math.sqrt(realised.size)
    assert abs(realised.mean() - expected) < 5 * standard_error
    assert realised.mean() > 10 * standard_error


def test_suspension_and_limit_flags(demo):
    prices = _returns(demo.prices)
    suspended = prices.filter(pl.col("volume") == 0)
    assert suspended.height > 0 and not suspended["tradable"].any()
    assert (suspended["open"] == suspended["close"]).all() and (suspended["ret"].abs() < 1e-15).all()
    locked = prices.filter(pl.col("volume") > 0, pl.col("ret").abs() >= DEMO.limit_lock_threshold)
    assert locked.height > 0 and not locked["tradable"].any()
    normal = prices.filter(pl.col("volume") > 0, pl.col("ret").abs() < DEMO.limit_lock_threshold)
    assert normal["tradable"].all()
    # suspended days are price rows, never missing rows; none of them falls in an event window
    days = pl.Series(session_days(DEMO)).cast(pl.Date)
    index = pl.DataFrame({"date": days, "i": np.arange(days.len())})
    susp_idx = suspended.join(index, on="date").select("symbol", "i")
    ev_idx = demo.events.select("symbol", pl.col("injected_event_day").alias("date")).join(index, on="date")
    for lag in (-1, 0, 1, 2):
        hits = ev_idx.with_columns(pl.col("i") + lag).join(susp_idx, on=["symbol", "i"])
        assert hits.height == 0


def test_events_on_a_stock_are_spaced(demo):
    days = pl.Series(session_days(DEMO)).cast(pl.Date)
    index = pl.DataFrame({"injected_event_day": days, "i": np.arange(days.len())})
    gaps = (
        demo.events.join(index, on="injected_event_day")
        .sort("symbol", "i")
        .select(pl.col("i").diff().over("symbol").alias("gap"))
        .drop_nulls()
    )
    assert gaps["gap"].min() >= DEMO.min_event_gap
    first_news = demo.events["injected_event_day"].min()
    assert first_news == days[DEMO.warmup_days] or first_news > days[DEMO.warmup_days]


def test_sentiment_mostly_follows_the_injected_sign(demo):
    sign = pl.when(pl.col("injected_car") > 0).then(pl.lit("positive")).otherwise(pl.lit("negative"))
    agree = demo.events.select((pl.col("sentiment") == sign).mean()).item()
    assert abs(agree - DEMO.sentiment_accuracy) < 0.05


def test_exposures_standardised_and_slow(demo):
    stats = demo.exposures.group_by("date").agg(
        *[pl.col(f).mean().alias(f"{f}_mean") for f in STYLE_FACTORS],
        *[pl.col(f).std(ddof=0).alias(f"{f}_sd") for f in STYLE_FACTORS],
    )
    for f in STYLE_FACTORS:
        assert stats[f"{f}_mean"].abs().max() < 1e-12
        assert (stats[f"{f}_sd"] - 1).abs().max() < 1e-12
        lagged = demo.exposures.select(pl.corr(pl.col(f), pl.col(f).shift(1).over("symbol"))).item()
        assert lagged > 0.95
    size = demo.exposures.join(demo.securities, on="symbol").group_by("size_tier").agg(pl.col("size").mean())
    ranked = dict(size.iter_rows())
    assert ranked["large"] > ranked["mid"] > ranked["small"]


def test_benchmarks_correlated_as_configured(demo):
    wide = demo.benchmarks.pivot(on="benchmark", index="date", values="close").sort("date")
    rets = wide.select([(pl.col(b) / pl.col(b).shift(1) - 1).alias(b) for b in BENCHMARKS]).drop_nulls()
    corr = np.corrcoef(rets.to_numpy().T)
    assert np.allclose([corr[0, 1], corr[0, 2], corr[1, 2]], DEMO.bench_corr, atol=0.05)


def test_config_rejects_impossible_event_counts():
    with pytest.raises(ValidationError, match="exceeds the capacity"):
        SyntheticConfig(n_stocks=3, n_days=200, n_events=1000)
    with pytest.raises(ValidationError, match="one per event type"):
        SyntheticConfig(type_shares=(1.0,))


@pytest.mark.slow
def test_paper_scale_shapes():
    cfg = SyntheticConfig.for_scale("paper")
    assert (cfg.n_stocks, cfg.n_days, cfg.n_events) == (5282, 530, 62400)
    ds = generate(cfg)
    assert ds.events.height == 62400 and ds.securities.height == 5282
    assert ds.prices.height == 5282 * 530
    mapped = map_event_days(ds.events, ds.prices, ds.meta.exchange_timezone, ds.meta.news_cutoff)
    assert (mapped["event_day"] == mapped["injected_event_day"]).all()


def test_build_sample_round_trip_matches_committed_manifest(tmp_path, demo):
    paths = WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    manifest_path = build_sample("synthetic-ashare", paths, progress=False)
    loaded = load_dataset("synthetic-ashare", paths)
    for table, frame in demo.tables().items():
        assert loaded.tables()[table].equals(frame), table
    built = json.loads(manifest_path.read_text())
    committed = json.loads((REPO_ROOT / "data_manifests" / "synthetic-ashare.json").read_text())
    assert built["production"]["seed"] == DEMO.seed and built["provenance"] == "synthetic_generated"
    assert SyntheticConfig(**built["production"]["config"]) == DEMO  # the manifest reproduces the config
    assert {t: e["content_hash"] for t, e in built["tables"].items()} == {
        t: e["content_hash"] for t, e in committed["tables"].items()
    }
    assert built["snapshot_hash"] == committed["snapshot_hash"]


def test_build_sample_rejects_unknown_name(tmp_path):
    paths = WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    with pytest.raises(ValueError, match="unknown sample dataset"):
        build_sample("nope", paths, progress=False)


def test_cli_data_build_with_seed(tmp_path, monkeypatch, capsys):
    from janus_core.cli import main

    monkeypatch.setenv("JANUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("JANUS_STORE", str(tmp_path / "s.duckdb"))
    assert main(["data", "build", "synthetic-ashare", "--seed", "7", "--quiet"]) == 0
    assert "built synthetic-ashare" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "m" / "synthetic-ashare.json").read_text())
    assert manifest["production"]["seed"] == 7 and manifest["production"]["scale"] == "demo"
    assert main(["data", "verify", "synthetic-ashare"]) == 0
