"""The backtest and interval fast paths against the formulas they replaced (``tests/backtest_reference.py``),
value for value and bit for bit, on random markets with the edge cases (stocks with gaps, no prices, a
short history, untradable and suspended days, events without a day, on an unknown stock or past the last
price, unsorted prices), and random decisions (all hits, no hits, holds on neutral events, one event,
policies on different event sets, more than eight distinct hit vectors); the remembered plans against
fresh ones; the Politis-White block length against arch's."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from arch.bootstrap import optimal_block_length

import tests.backtest_reference as ref
from janus_core.backtest import intervals, trades
from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.engine import _CALENDARS, run_backtest
from janus_core.backtest.memo import _DUPLICATES, release_memos
from janus_core.backtest.metrics import BootstrapConfig
from janus_core.backtest.studies import holding_period_sweep
from janus_core.data.dataset import Dataset, DatasetMeta

SH = dt.timezone(dt.timedelta(hours=8))
TYPES = ("dividend", "earnings", "merger")


def _calendar(n_days: int) -> list[dt.date]:
    days, d = [], dt.date(2024, 1, 2)
    while len(days) < n_days:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def _market(seed: int, n_sym: int = 7, n_days: int = 40, shuffle: bool = False) -> Dataset:
    """Random prices: gaps (10%), tradable false (10%), zero volume (5%), prices rounded to cents (ties);
    symbol S1 stops after 15 days, S2 starts on day 10."""
    rng = np.random.default_rng(seed)
    days = _calendar(n_days)
    rows = []
    for s in range(n_sym):
        close = 10.0 + s
        for i, d in enumerate(days):
            if rng.random() < 0.1 or (s == 1 and i > 15) or (s == 2 and i < 10):
                continue
            open_ = round(close * (1 + rng.normal(0, 0.03)), 2)
            close = round(open_ * (1 + rng.normal(0, 0.02)), 2)
            rows.append((f"S{s}", d, open_, close, 0.0 if rng.random() < 0.05 else 1000.0, bool(rng.random() > 0.1)))
    prices = pl.DataFrame(
        rows,
        schema={
            "symbol": pl.String,
            "date": pl.Date,
            "open": pl.Float64,
            "close": pl.Float64,
            "volume": pl.Float64,
            "tradable": pl.Boolean,
        },
        orient="row",
    )
    prices = prices.sample(fraction=1.0, shuffle=True, seed=seed) if shuffle else prices
    meta = DatasetMeta(
        name="random",
        version="1",
        provenance="synthetic_generated",
        exchange_timezone="Asia/Shanghai",
        as_of="2024-12-31T00:00:00+08:00",
    )
    bench = pl.DataFrame({"benchmark": ["B"] * n_days, "date": days, "close": 100.0 + np.arange(n_days)})
    securities = pl.DataFrame({"symbol": [f"S{s}" for s in range(n_sym)], "benchmark": ["B"] * n_sym})
    events = pl.DataFrame({"event_id": ["x"], "symbol": ["S0"]})
    return Dataset(meta=meta, events=events, prices=prices, benchmarks=bench, securities=securities)


def _labelled(seed: int, n_events: int = 120, n_sym: int = 7, n_days: int = 40) -> pl.DataFrame:
    """Random events: on an unknown stock S99 (5%), without an event day (5%), on weekend days,
    some past the last price date; CAR null (excluded) for 10%; split by date."""
    rng = np.random.default_rng(seed + 1000)
    days = _calendar(n_days)
    start = days[0]
    symbol, event_day, published, car = [], [], [], []
    for _ in range(n_events):
        symbol.append("S99" if rng.random() < 0.05 else f"S{rng.integers(0, n_sym)}")
        day = start + dt.timedelta(days=int(rng.integers(1, (days[-1] - start).days + 5)))
        event_day.append(None if rng.random() < 0.05 else day)
        published.append(dt.datetime.combine(day - dt.timedelta(days=1), dt.time(10, 0), SH).astimezone(dt.UTC))
        car.append(None if rng.random() < 0.1 else float(rng.normal(0, 0.05)))
    split = ["historical" if d is not None and d < days[15] else "test" for d in event_day]
    return pl.DataFrame(
        {
            "event_id": [f"e{i:04d}" for i in range(n_events)],
            "symbol": symbol,
            "published_at": published,
            "event_type": [TYPES[i % 3] for i in range(n_events)],
            "event_day": event_day,
            "car": car,
            "split": split,
        },
        schema={
            "event_id": pl.String,
            "symbol": pl.String,
            "published_at": pl.Datetime("us", "UTC"),
            "event_type": pl.String,
            "event_day": pl.Date,
            "car": pl.Float64,
            "split": pl.String,
        },
    )


def _forget() -> None:
    release_memos()
    assert all(
        memo._entry is None for memo in (trades._STOCK_DAYS, trades._EVENT_ROWS, trades._PLANS, _CALENDARS, _DUPLICATES)
    )


def _same_stock_days(a: trades._StockDays, b: trades._StockDays) -> None:
    assert a.codes == b.codes
    for field in ("key", "day", "open", "close", "prev_close", "suspended", "last", "next_exit"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), field


def _cal(ds: Dataset) -> pl.Series:
    return ds.prices.get_column("date").unique().sort()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shuffle", [False, True])
def test_stock_days_match_the_reference(seed, shuffle):
    ds = _market(seed, shuffle=shuffle)
    cal = _cal(ds)
    lab = _labelled(seed)
    for symbols in (lab["symbol"], lab["symbol"].filter(lab["symbol"] != "S3"), pl.Series(["S99"])):
        _forget()
        _same_stock_days(trades._stock_days(ds, symbols, cal), ref._build_stock_days(ds, symbols, cal))


@pytest.mark.parametrize("seed", range(4))
def test_plans_match_the_reference_for_every_holding_period_and_offset(seed):
    ds = _market(seed)
    cal = _cal(ds)
    lab = _labelled(seed)
    _forget()
    for offset in (0, 1, 3):
        for hp in (1, 2, 5, 30, 2):  # a repeat, and one past most stocks' last price
            cfg = BacktestConfig(holding_period=hp, entry_offset_days=offset)
            stock, plan = trades._planned_events(ds, lab, cfg, cal)
            ref_stock, ref_plan = ref.plan_trades_reference(ds, lab, cfg, cal)
            _same_stock_days(stock, ref_stock)
            rows = plan.select("entry_row", "exit_row")
            plan = plan.drop("entry_row", "exit_row")
            assert plan.schema == ref_plan.schema
            assert plan.equals(ref_plan), (offset, hp)
            assert np.array_equal(stock.day[rows["entry_row"].to_numpy()], plan["entry_day"].to_numpy())
            assert np.array_equal(stock.day[rows["exit_row"].to_numpy()], plan["exit_day"].to_numpy())


def test_plans_of_labelled_events_on_no_known_stock_match_the_reference():
    ds = _market(0)
    cal = _cal(ds)
    lab = _labelled(0).with_columns(pl.lit("S99").alias("symbol"))
    _forget()
    cfg = BacktestConfig(holding_period=2)
    stock, plan = trades._planned_events(ds, lab, cfg, cal)
    ref_plan = ref.plan_trades_reference(ds, lab, cfg, cal)[1]
    assert plan.height == 0 and plan.drop("entry_row", "exit_row").schema == ref_plan.schema


@pytest.mark.parametrize("seed", range(3))
def test_holding_increments_match_the_reference(seed):
    ds = _market(seed)
    lab = _labelled(seed)
    decisions = pl.DataFrame(
        {
            "event_id": lab["event_id"],
            "strategy_id": "s",
            "action": [("long", "short", "hold")[i % 3] for i in range(lab.height)],
        }
    )
    calendar = _cal(ds).to_numpy().astype("datetime64[D]")
    for hp in (1, 3, 7):
        cfg = BacktestConfig(weighting="equal", holding_period=hp, start=dt.date(2024, 1, 3))
        window = (1, calendar.size - 1)
        frame, days, _ = trades._plan_trades(ds, decisions, lab, cfg, calendar, window, {})
        stock = trades._stock_days(ds, lab["symbol"], _cal(ds))
        expected = ref._holding_increments(frame, stock, calendar.size)
        assert frame["executed"].sum() > 10
        assert days.equals(expected)


def test_sweeps_and_repeated_backtests_on_remembered_plans_equal_fresh_ones():
    ds = _market(5)
    lab = _labelled(5, n_events=200)
    decisions = pl.DataFrame(
        {"event_id": lab["event_id"], "strategy_id": "s", "action": ["long", "short"] * (lab.height // 2)}
    )
    cfg = BacktestConfig(weighting="equal", start=dt.date(2024, 1, 4), end=dt.date(2024, 2, 16))
    _forget()
    sweep = holding_period_sweep(ds, decisions, lab, cfg, range(1, 6))
    for hp in range(1, 6):
        _forget()
        fresh = run_backtest(ds, decisions, lab, cfg.model_copy(update={"holding_period": hp}))
        row = sweep.filter(pl.col("holding_period") == hp).row(0, named=True)
        assert all(row[k] == fresh.metrics[k] for k in row if k != "holding_period")
    first = run_backtest(ds, decisions, lab, cfg)
    again = run_backtest(ds, decisions.reverse(), lab, cfg)
    assert again.trades.equals(first.trades) and again.nav.equals(first.nav)
    other = lab.with_columns(pl.col("event_day").dt.offset_by("1d"))  # another frame: planned anew
    _forget()
    fresh = run_backtest(ds, decisions, other, cfg)
    run_backtest(ds, decisions, lab, cfg)
    assert run_backtest(ds, decisions, other, cfg).trades.equals(fresh.trades)


def _direction_labelled(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    car = rng.normal(0, 0.05, n)
    direction = np.where(car > 0.02, "positive", np.where(car < -0.02, "negative", "neutral"))
    return pl.DataFrame(
        {
            "event_id": [f"e{i:05d}" for i in range(n)],
            "car": [None if rng.random() < 0.1 else float(c) for c in car],
            "direction": direction,
        }
    )


def _policies(lab: pl.DataFrame, seed: int, n_random: int = 3) -> dict[str, pl.DataFrame]:
    """An oracle (all hits), its opposite (no hits but on neutral events, where both miss), holds (hits
    only on neutral events), random policies (one unsorted, one on half of the events)."""
    rng = np.random.default_rng(seed)
    truth = lab["direction"].to_list()
    to_action = {"positive": "long", "negative": "short", "neutral": "hold"}
    flip = {"positive": "short", "negative": "long", "neutral": "long"}

    def frame(actions: list[str], ids: list[str] | None = None) -> pl.DataFrame:
        ids = ids if ids is not None else lab["event_id"].to_list()
        return pl.DataFrame({"event_id": ids, "strategy_id": "s", "action": actions})

    out = {
        "oracle": frame([to_action[t] for t in truth]),
        "contrarian": frame([flip[t] for t in truth]),
        "hold": frame(["hold"] * lab.height),
    }
    for k in range(n_random):
        out[f"random{k}"] = frame(list(rng.choice(["long", "short", "hold"], lab.height)))
    out["random0"] = out["random0"].sample(fraction=1.0, shuffle=True, seed=seed)
    half = lab["event_id"].to_list()[::2]
    out["half"] = frame(list(rng.choice(["long", "short"], len(half))), half)
    return out


@pytest.mark.parametrize(("n", "seed", "n_boot"), [(1, 0, 50), (2, 1, 200), (37, 2, 300), (400, 3, 1000)])
def test_da_intervals_match_the_reference(n, seed, n_boot):
    lab = _direction_labelled(n, seed)
    if lab["car"].null_count() == n:
        lab = lab.with_columns(pl.lit(0.01).alias("car"), pl.lit("neutral").alias("direction"))
    policies = _policies(lab, seed, n_random=8)  # 13 policies: more than eight distinct hit vectors
    if n == 1:
        policies.pop("half")
    cfg = BootstrapConfig(n_boot=n_boot, seed=seed)
    for baseline in ("random1", "oracle"):
        fast = intervals.da_interval_table(policies, lab, baseline, cfg)
        slow = ref.da_interval_table(policies, lab, baseline, cfg)
        assert fast.equals(slow)
    for name, d in policies.items():
        assert intervals.bootstrap_da_ci(d, lab, cfg=cfg) == ref.bootstrap_da_ci(d, lab, cfg)
        base = policies["random1"]
        assert intervals.bootstrap_da_diff_ci(d, base, lab, cfg=cfg) == ref.bootstrap_da_diff_ci(d, base, lab, cfg)


def test_da_interval_errors_match_the_reference():
    lab = _direction_labelled(30, 4)
    cfg = BootstrapConfig(n_boot=20)
    excluded = lab.filter(pl.col("car").is_null())["event_id"].to_list()
    odd = lab.filter(pl.col("car").is_not_null())["event_id"].to_list()
    policies = {
        "a": pl.DataFrame({"event_id": odd[::2], "strategy_id": "s", "action": "long"}),
        "b": pl.DataFrame({"event_id": odd[1::2], "strategy_id": "s", "action": "long"}),
        "c": pl.DataFrame({"event_id": excluded, "strategy_id": "s", "action": "long"}),
    }
    for wanted in ({"a", "b"}, {"a", "c"}, {"c", "a"}):
        chosen = {k: policies[k] for k in wanted}
        with pytest.raises(ValueError) as fast:
            intervals.da_interval_table(chosen, lab, "a", cfg)
        with pytest.raises(ValueError) as slow:
            ref.da_interval_table(chosen, lab, "a", cfg)
        assert str(fast.value) == str(slow.value)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000, 65537])
def test_resampled_hit_counts_are_the_int64_draws_counted(n):
    cfg = BootstrapConfig(n_boot=300, seed=n)
    rng = np.random.default_rng(n)
    hits = [rng.random(n) < p for p in np.linspace(0.0, 1.0, 11)]  # all misses .. all hits, 11 vectors
    hits.append(hits[3])
    idx = np.random.default_rng(cfg.seed).integers(0, n, size=(cfg.n_boot, n))
    counts = intervals.resampled_hit_counts(hits, cfg)
    for h, c in zip(hits, counts, strict=True):
        assert np.array_equal(c, h.astype(np.int64)[idx].sum(axis=1))
        assert np.array_equal(c / n, h.astype(np.float64)[idx].mean(axis=1))


def _series(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n + 1)
    if kind == "iid":
        return 0.01 * e[1:]
    if kind == "ma1":
        return 0.01 * (e[1:] + 0.6 * e[:-1])
    if kind == "ar":
        x = np.zeros(n)
        for t in range(1, n):
            x[t] = 0.9 * x[t - 1] + e[t]
        return x
    if kind == "ties":
        return np.round(0.01 * e[1:], 3)
    return np.r_[np.zeros(n - 1), 1.0]  # one jump


@pytest.mark.parametrize("kind", ["iid", "ma1", "ar", "ties", "jump"])
@pytest.mark.parametrize("n", [12, 13, 54, 256, 2000])
def test_politis_white_block_matches_arch(kind, n):
    x = _series(kind, n, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = float(optimal_block_length(x)["circular"].iloc[0])
        got = float(intervals.politis_white_circular_block(x))
    assert got == expected or (np.isnan(got) and np.isnan(expected))
    two = np.column_stack([x, _series("iid", n, n + 1)])
    assert intervals.sharpe_block_length(two) == ref.sharpe_block_length(two)
    flat = np.column_stack([np.full(n, 0.001), x])  # a column without dispersion contributes nothing
    assert intervals.sharpe_block_length(flat) == ref.sharpe_block_length(flat)
