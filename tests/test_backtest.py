"""Tests for janus_core.backtest.engine on a tiny hand-made dataset with known answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from janus_core.backtest.config import SKIP_REASONS, BacktestConfig
from janus_core.backtest.engine import historical_type_weights, run_backtest
from janus_core.backtest.metrics import decision_metrics, nav_metrics
from janus_core.backtest.studies import (
    benchmark_navs,
    compare_policies,
    config_sweep,
    holding_period_sweep,
    nav_long,
    position_cap_sweep,
    weighting_comparison,
)
from janus_core.data.dataset import Dataset, DatasetMeta

DAYS = [dt.date(2024, 1, d) for d in (2, 3, 4, 5, 8, 9, 10)]  # trading calendar (weekdays)
SH = dt.timezone(dt.timedelta(hours=8))


def _prices() -> pl.DataFrame:
    """A rises 10 -> 10.5 -> 11 over 01-03..01-04; B, C, D move by known steps; C is suspended on
    01-04 (volume 0, untradable); D has no price row on 01-05; E opens locked at +10% on 01-04 and
    closes limit-locked (untradable) on 01-05 after opening normally."""
    rows = []
    a = {
        DAYS[0]: (9.9, 10.0),
        DAYS[1]: (10.0, 10.5),
        DAYS[2]: (10.8, 11.0),
        DAYS[3]: (11.0, 10.9),
        DAYS[4]: (10.9, 11.2),
        DAYS[5]: (11.2, 11.0),
        DAYS[6]: (11.0, 11.1),
    }
    for d, (o, c) in a.items():
        rows.append(("A", d, o, c, 1000.0, True))
    e = {
        DAYS[0]: (10.0, 10.0, True),
        DAYS[1]: (10.0, 10.0, True),
        DAYS[2]: (11.0, 11.0, False),
        DAYS[3]: (11.1, 12.1, False),
        DAYS[4]: (12.0, 12.2, True),
        DAYS[5]: (12.2, 12.3, True),
        DAYS[6]: (12.3, 12.4, True),
    }
    for d, (o, c, ok) in e.items():
        rows.append(("E", d, o, c, 1000.0, ok))
    for i, d in enumerate(DAYS):
        rows.append(("B", d, 20.0 + i, 20.5 + i, 1000.0, True))
        rows.append(("C", d, 5.0, 5.0 + 0.1 * i, 0.0 if d == DAYS[2] else 1000.0, d != DAYS[2]))
        if d != DAYS[3]:
            rows.append(("D", d, 8.0, 8.0 - 0.05 * i, 1000.0, True))
    return pl.DataFrame(
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
    ).sort("symbol", "date")


def _dataset(prices: pl.DataFrame | None = None) -> Dataset:
    meta = DatasetMeta(
        name="tiny",
        version="1",
        provenance="synthetic_generated",
        exchange_timezone="Asia/Shanghai",
        as_of="2024-01-31T00:00:00+08:00",
    )
    bench = pl.DataFrame(
        {"benchmark": ["CSI300"] * len(DAYS), "date": DAYS, "close": [100.0, 101.0, 99.0, 98.0, 100.0, 102.0, 103.0]}
    )
    securities = pl.DataFrame({"symbol": ["A", "B", "C", "D", "E"], "benchmark": ["CSI300"] * 5})
    events = pl.DataFrame({"event_id": ["x"], "symbol": ["A"]})  # not read by the backtest
    return Dataset(
        meta=meta,
        events=events,
        prices=_prices() if prices is None else prices,
        benchmarks=bench,
        securities=securities,
    )


def _labelled(rows: list[tuple[str, str, str, dt.date | None, float | None]]) -> pl.DataFrame:
    """rows: (event_id, symbol, event_type, event_day, car); published at 10:00 exchange time on
    the trading day before event_day (so it informs event_day)."""
    published = []
    for _, _, _, day, _ in rows:
        base = DAYS[DAYS.index(day) - 1] if day in DAYS[1:] else dt.date(2024, 1, 2)
        published.append(dt.datetime.combine(base, dt.time(10, 0), SH).astimezone(dt.UTC))
    return pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "symbol": [r[1] for r in rows],
            "published_at": published,
            "event_type": [r[2] for r in rows],
            "event_day": [r[3] for r in rows],
            "car": [r[4] for r in rows],
        },
        schema={
            "event_id": pl.String,
            "symbol": pl.String,
            "published_at": pl.Datetime("us", "UTC"),
            "event_type": pl.String,
            "event_day": pl.Date,
            "car": pl.Float64,
        },
    )


def _decisions(actions: dict[str, str], strategy: str = "s") -> pl.DataFrame:
    return pl.DataFrame(
        {"event_id": list(actions), "strategy_id": [strategy] * len(actions), "action": list(actions.values())}
    )


EQUAL = BacktestConfig(weighting="equal", round_trip_cost_bps=20.0, holding_period=2)


def test_one_long_trade_exact_nav():
    ds = _dataset()
    lab = _labelled([("e1", "A", "dividend", DAYS[1], 0.05)])
    res = run_backtest(ds, _decisions({"e1": "long"}), lab, EQUAL)
    # Base NAV 1 at the close of 01-02. Enter 1.0 x NAV at the 01-03 open of 10: 0.1 shares.
    # 01-03: 0.1 * (10.5 - 10) - 10 bps on 1.0            = +0.05 - 0.001
    # 01-04: 0.1 * (11 - 10.5) - 10 bps on 0.1 * 11 = 1.1 = +0.05 - 0.0011
    nav1 = 1.0 + 0.05 - 0.001
    nav2 = nav1 + 0.05 - 0.0011
    assert res.nav["date"].to_list() == DAYS[:3]
    np.testing.assert_allclose(res.nav["nav"].to_numpy(), [1.0, nav1, nav2], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.nav["daily_return"].to_numpy()[1:], [nav1 - 1.0, nav2 / nav1 - 1.0], atol=1e-15)
    assert res.nav["n_positions"].to_list() == [0, 1, 1]
    np.testing.assert_allclose(res.nav["gross_exposure"].to_numpy(), [0.0, 1.0, 1.0 / nav1])
    t = res.trades.row(0, named=True)
    assert t["executed"] and t["skip_reason"] is None and t["status"] == "executed"
    assert (t["entry_date"], t["exit_date"], t["entry_price"], t["exit_price"]) == (DAYS[1], DAYS[2], 10.0, 11.0)
    assert (t["planned_exit_date"], t["exit_rule"], t["holding_days"], t["carry_days"]) == (DAYS[2], "planned", 2, 0)
    assert t["gross_return"] == pytest.approx(0.1)
    assert t["net_return"] == pytest.approx(0.1 - 0.001 * (1 + 1.1))
    assert t["pnl"] == pytest.approx(nav2 - 1.0)
    assert t["cost"] == pytest.approx(0.0021)
    expected = nav_metrics([1.0, nav1, nav2])
    assert {k: res.metrics[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert res.metrics["n_executed"] == 1 and res.metrics["total_cost"] == pytest.approx(0.0021)
    summary = res.summary()
    assert summary["total_return"] == round(nav2 - 1.0, 4) and summary["n_executed"] == 1


def test_stock_days_are_reused_only_for_the_same_prices_frame():
    """The remembered stock days (one entry) serve a repeat on the same prices frame and never a
    dataset with other prices: a second dataset whose exit close differs gets its own trade."""
    ds = _dataset()
    lab = _labelled([("e1", "A", "dividend", DAYS[1], 0.05)])
    first = run_backtest(ds, _decisions({"e1": "long"}), lab, EQUAL)
    again = run_backtest(ds, _decisions({"e1": "long"}), lab, EQUAL)
    assert again.trades.equals(first.trades) and again.nav.equals(first.nav)
    moved = ds.prices.with_columns(
        pl.when((pl.col("symbol") == "A") & (pl.col("date") == DAYS[2]))
        .then(pl.col("close") + 1.0)
        .otherwise(pl.col("close"))
        .alias("close")
    )
    other = run_backtest(_dataset(moved), _decisions({"e1": "long"}), lab, EQUAL)
    assert other.trades["exit_price"][0] == first.trades["exit_price"][0] + 1.0
    assert run_backtest(ds, _decisions({"e1": "long"}), lab, EQUAL).trades.equals(first.trades)


def test_one_short_trade_exact_nav_and_holding_period_one():
    ds = _dataset()
    lab = _labelled([("e1", "A", "dividend", DAYS[1], 0.05)])
    res = run_backtest(ds, _decisions({"e1": "short"}), lab, EQUAL.model_copy(update={"holding_period": 1}))
    # HP = 1: open-to-close of the entry day; short 0.1 shares at 10, cover at 10.5.
    nav1 = 1.0 - 0.05 - 0.001 - 0.1 * 10.5 * 0.001
    np.testing.assert_allclose(res.nav["nav"].to_numpy(), [1.0, nav1], atol=1e-15)
    assert res.trades["exit_date"].to_list() == [DAYS[1]]
    assert res.trades["gross_return"][0] == pytest.approx(-0.05)


def test_every_reason_is_counted_and_entry_uses_only_the_open():
    ds = _dataset()
    late_public = dt.datetime(2024, 1, 3, 9, 45, tzinfo=SH).astimezone(dt.UTC)  # after the 01-03 open
    lab = _labelled(
        [
            ("e_hold", "A", "dividend", DAYS[1], 0.01),
            ("e_excl", "A", "dividend", None, None),
            ("e_past", "B", "dividend", DAYS[6], 0.01),  # HP 2 would exit after the last price date
            ("e_late", "B", "dividend", DAYS[1], 0.01),
            ("e_susp", "C", "dividend", DAYS[2], 0.01),  # C has volume 0 on 01-04: suspended at the open
            ("e_lock", "E", "dividend", DAYS[2], 0.01),  # E opens +10% on 01-04: locked at the open
            ("e_ok", "B", "dividend", DAYS[3], 0.01),
            ("e_intraday", "E", "dividend", DAYS[3], 0.01),  # E opens +0.9% on 01-05, locks at the close
        ]
    ).with_columns(
        pl.when(pl.col("event_id") == "e_late")
        .then(pl.lit(late_public))
        .otherwise("published_at")
        .alias("published_at")
    )
    acts = {e: ("hold" if e == "e_hold" else "long") for e in lab["event_id"]}
    res = run_backtest(ds, _decisions(acts), lab, EQUAL.model_copy(update={"end": DAYS[6]}))
    status = dict(zip(res.trades["event_id"], res.trades["status"], strict=True))
    assert status == {
        "e_hold": "not_entered:hold",
        "e_excl": "not_entered:event_excluded",
        "e_past": "not_entered:past_data",
        "e_late": "not_entered:not_public_at_entry",
        "e_susp": "not_entered:suspended_at_open",
        "e_lock": "not_entered:limit_locked_open",
        "e_ok": "executed",
        "e_intraday": "executed",
    }
    assert res.trades.height == len(acts)  # every decision once
    m = res.metrics
    assert m["n_executed"] == 2
    assert sum(m[f"skipped_{r}"] for r in SKIP_REASONS) == len(acts) - 2
    assert m["skipped_suspended_at_open"] == 1 and m["skipped_limit_locked_open"] == 1
    # The entry day of e_intraday is flagged untradable (a close-to-close lock), which the open
    # could not know: entered at 11.1; its planned exit 01-08 is tradable.
    t = res.trades.filter(pl.col("event_id") == "e_intraday").row(0, named=True)
    assert (t["entry_price"], t["exit_date"], t["exit_price"], t["carry_days"]) == (11.1, DAYS[4], 12.2, 0)
    # a wider open_limit lets the 10% open through; None switches the rule off
    for limit in (0.15, None):
        wide = run_backtest(ds, _decisions({"e_lock": "long"}), lab, EQUAL.model_copy(update={"open_limit": limit}))
        assert wide.trades["status"].to_list() == ["executed"]


def test_untradable_exit_is_carried_never_dropped():
    ds = _dataset()
    lab = _labelled(
        [
            ("c1", "C", "dividend", DAYS[1], 0.01),  # C suspended on 01-04, its planned exit (HP 2)
            ("e1", "E", "dividend", DAYS[1], 0.01),  # E untradable on 01-04 and 01-05: carried two days
            ("d1", "D", "dividend", DAYS[2], 0.01),  # D has no row on 01-05: its 2nd own day is 01-08
        ]
    )
    res = run_backtest(ds, _decisions({"c1": "long", "e1": "short", "d1": "long"}), lab, EQUAL)
    t = {r["event_id"]: r for r in res.trades.iter_rows(named=True)}
    assert res.metrics["n_executed"] == 3 and res.metrics["n_carried"] == 2 and res.metrics["carry_days"] == 3
    c = t["c1"]
    assert (c["planned_exit_date"], c["exit_date"], c["exit_rule"], c["carry_days"], c["holding_days"]) == (
        DAYS[2],
        DAYS[3],
        "carried",
        1,
        3,
    )
    assert c["exit_price"] == pytest.approx(5.3) and c["gross_return"] == pytest.approx(5.3 / 5.0 - 1)
    e = t["e1"]
    assert (e["exit_date"], e["exit_rule"], e["carry_days"], e["holding_days"]) == (DAYS[4], "carried", 2, 4)
    assert e["gross_return"] == pytest.approx(-(12.2 / 10.0 - 1))
    d = t["d1"]
    assert (d["planned_exit_date"], d["exit_date"], d["exit_rule"], d["carry_days"], d["holding_days"]) == (
        DAYS[4],
        DAYS[4],
        "planned",
        0,
        3,
    )
    # NAV runs until the last carried exit (01-08) and equals the sum of the trades' P&L; D earns
    # nothing on 01-05, its missing day (valued at its last close).
    assert res.nav["date"].to_list() == DAYS[:5]
    assert res.nav["nav"][-1] - 1.0 == pytest.approx(res.trades["pnl"].sum(), abs=1e-14)
    assert res.nav["n_positions"].to_list() == [0, 2, 3, 3, 2]
    # the same NAV dates for a policy that holds everything: they never depend on the actions
    hold = run_backtest(ds, _decisions({"c1": "hold", "e1": "hold", "d1": "hold"}), lab, EQUAL)
    assert hold.nav["date"].equals(res.nav["date"]) and (hold.nav["nav"] == 1.0).all()


def test_stock_whose_prices_stop_is_closed_at_its_last_close():
    prices = _prices().filter(~((pl.col("symbol") == "A") & (pl.col("date") > DAYS[2])))
    lab = _labelled([("a1", "A", "dividend", DAYS[2], 0.01), ("b1", "B", "dividend", DAYS[2], 0.01)])
    res = run_backtest(_dataset(prices), _decisions({"a1": "long", "b1": "long"}), lab, EQUAL)
    a = res.trades.filter(pl.col("event_id") == "a1").row(0, named=True)
    assert (a["status"], a["exit_date"], a["exit_rule"], a["exit_price"]) == ("executed", DAYS[2], "last_price", 11.0)
    assert res.metrics["n_last_price"] == 1


def test_outside_window_and_type_weight_skips():
    ds = _dataset()
    lab = _labelled(
        [
            ("e1", "A", "dividend", DAYS[1], 0.01),
            ("e2", "B", "unknown", DAYS[2], 0.01),
            ("e3", "B", "violation", DAYS[4], 0.01),
        ]
    )
    cfg = BacktestConfig(end=DAYS[2], round_trip_cost_bps=0.0)
    res = run_backtest(
        ds,
        _decisions({"e1": "long", "e2": "long", "e3": "long"}),
        lab,
        cfg,
        type_weights={"dividend": 0.02, "violation": 0.03},
    )
    assert res.trades["skip_reason"].to_list() == [None, "no_type_weight", "outside_window"]


def _cohort_dataset_labelled():
    lab = _labelled(
        [
            ("d1", "A", "dividend", DAYS[1], 0.01),
            ("d2", "B", "dividend", DAYS[1], 0.01),
            ("v1", "D", "violation", DAYS[1], 0.01),
            ("n1", "B", "violation", DAYS[2], -0.01),
        ]
    )
    return _dataset(), lab


def test_type_weighting_splits_by_w_then_equally_within_type():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    w = {"dividend": 0.01, "violation": 0.03}
    res = run_backtest(ds, dec, lab, BacktestConfig(round_trip_cost_bps=0.0), type_weights=w)
    weight = dict(zip(res.trades["event_id"], res.trades["weight"], strict=True))
    # 01-03 cohort: dividend gets 0.01 / 0.04 = 1/4, split over two trades; violation 3/4.
    assert weight["d1"] == pytest.approx(0.125) and weight["d2"] == pytest.approx(-0.125)
    assert weight["v1"] == pytest.approx(0.75)
    assert weight["n1"] == pytest.approx(-1.0)  # alone on 01-04: the whole day's capital
    eq = run_backtest(ds, dec, lab, BacktestConfig(round_trip_cost_bps=0.0, weighting="equal"))
    weight = dict(zip(eq.trades["event_id"], eq.trades["weight"], strict=True))
    assert [weight[k] for k in ("d1", "d2", "v1", "n1")] == pytest.approx([1 / 3, -1 / 3, 1 / 3, -1.0])
    assert res.per_type["event_type"].to_list() == ["dividend", "violation"]
    assert res.per_type["w"].to_list() == [0.01, 0.03]
    assert res.per_type["n_executed"].to_list() == [2, 2]


def test_nav_equals_sum_of_trade_pnl():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    for hp in (1, 2, 3):
        res = run_backtest(
            ds,
            dec,
            lab,
            BacktestConfig(holding_period=hp, round_trip_cost_bps=14.0),
            type_weights={"dividend": 0.02, "violation": 0.03},
        )
        assert res.nav["nav"][-1] - 1.0 == pytest.approx(res.trades["pnl"].sum(), abs=1e-14)
        assert res.nav["cost"].sum() == pytest.approx(res.trades["cost"].sum(), abs=1e-15)


def test_position_cap_is_respected():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    free = run_backtest(ds, dec, lab, BacktestConfig(weighting="equal", holding_period=2))
    assert free.metrics["max_gross_exposure"] == pytest.approx(2.0, rel=0.1)  # two overlapping cohorts
    capped = run_backtest(ds, dec, lab, BacktestConfig(weighting="equal", position_cap=1.5, holding_period=2))
    assert capped.nav["gross_exposure"].max() <= 1.5 + 1e-12
    assert capped.nav["gross_exposure"].max() == pytest.approx(1.5)
    nav_prev = capped.nav["nav"][1]  # NAV at the close before the 01-04 cohort
    scale = dict(zip(capped.trades["event_id"], capped.trades["cap_scale"], strict=True))
    assert scale["d1"] == 1.0 and scale["n1"] == pytest.approx((1.5 * nav_prev - 1.0) / nav_prev)
    tight = run_backtest(ds, dec, lab, BacktestConfig(weighting="equal", position_cap=1.0, holding_period=2))
    tight_prev = tight.nav["nav"][1]
    tight_scale = dict(zip(tight.trades["event_id"], tight.trades["cap_scale"], strict=True))
    assert tight_scale["n1"] == pytest.approx(max(0.0, tight_prev - 1.0) / tight_prev)
    assert tight.nav["gross_exposure"].max() <= 1.0 + 1e-12
    # a losing first cohort (short A while it rises) leaves no room under a 1x cap: counted, not traded
    full = run_backtest(
        ds,
        _decisions({"d1": "short", "n1": "short"}),
        lab,
        BacktestConfig(weighting="equal", position_cap=1.0, holding_period=2),
    )
    assert full.nav["nav"][1] < 1.0
    assert full.trades["status"].to_list() == ["executed", "not_entered:position_cap"]
    assert full.metrics["skipped_position_cap"] == 1 and full.nav["n_positions"].to_list() == [0, 1, 1, 0]


def test_deterministic_under_row_order():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    cfg = BacktestConfig(position_cap=2.0)
    w = {"dividend": 0.02, "violation": 0.03}
    a = run_backtest(ds, dec, lab, cfg, type_weights=w)
    b = run_backtest(
        _dataset(_prices().reverse()), dec.reverse(), lab.reverse(), cfg, type_weights=dict(reversed(list(w.items())))
    )
    assert a.nav.equals(b.nav) and a.trades.equals(b.trades) and a.per_type.equals(b.per_type)
    assert a.metrics == b.metrics


def test_historical_type_weights_use_historical_split_only():
    lab = pl.DataFrame(
        {
            "event_type": ["a", "a", "b", "b", "a"],
            "car": [0.01, -0.03, 0.02, None, 0.5],
            "split": ["historical", "historical", "historical", "historical", "test"],
        }
    )
    assert historical_type_weights(lab) == pytest.approx({"a": 0.02, "b": 0.02})
    with pytest.raises(ValueError, match="split"):
        historical_type_weights(lab.drop("split"))


def test_type_weighting_without_weights_or_split_fails_closed():
    ds, lab = _cohort_dataset_labelled()
    with pytest.raises(ValueError, match="missing required column"):
        run_backtest(ds, _decisions({"d1": "long"}), lab, BacktestConfig())


@pytest.mark.parametrize(
    ("decisions", "message"),
    [
        (pl.DataFrame({"event_id": ["d1"], "strategy_id": ["s"], "action": ["buy"]}), "row 0, column 'action'"),
        (pl.DataFrame({"event_id": ["zz"], "strategy_id": ["s"], "action": ["long"]}), "row 0, column 'event_id' 'zz'"),
        (
            pl.DataFrame({"event_id": ["d1", "d1"], "strategy_id": ["s", "s"], "action": ["long", "short"]}),
            "row 1, column 'event_id' 'd1' appears more than once",
        ),
        (
            pl.DataFrame({"event_id": ["d1", "d2"], "strategy_id": ["s", "t"], "action": ["long", "long"]}),
            "one strategy at a time",
        ),
    ],
)
def test_bad_decisions_are_rejected(decisions, message):
    ds, lab = _cohort_dataset_labelled()
    with pytest.raises(ValueError, match=message):
        run_backtest(ds, decisions, lab, EQUAL)


def test_always_hold_is_flat_on_the_same_dates():
    ds, lab = _cohort_dataset_labelled()
    hold = run_backtest(ds, _decisions({"d1": "hold", "n1": "hold"}), lab, EQUAL)
    act = run_backtest(ds, _decisions({"d1": "long", "n1": "short"}), lab, EQUAL)
    assert hold.nav["date"].equals(act.nav["date"])
    assert (hold.nav["nav"] == 1.0).all() and hold.metrics["skipped_hold"] == 2


def test_benchmark_navs_and_sweeps():
    ds, lab = _cohort_dataset_labelled()
    b = benchmark_navs(ds, DAYS[1], DAYS[4])
    assert b["date"].to_list() == DAYS[1:5]
    np.testing.assert_allclose(b["nav"].to_numpy(), [1.0, 99 / 101, 98 / 101, 100 / 101])
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    sweep = holding_period_sweep(ds, dec, lab, EQUAL, periods=[1, 2, 3])
    assert sweep["holding_period"].to_list() == [1, 2, 3]
    for row in sweep.iter_rows(named=True):
        single = run_backtest(ds, dec, lab, EQUAL.model_copy(update={"holding_period": row["holding_period"]}))
        assert row["sharpe"] == single.metrics["sharpe"] and row["n_executed"] == single.metrics["n_executed"]
    comp = weighting_comparison(ds, dec, lab, EQUAL, type_weights={"dividend": 0.01, "violation": 0.03})
    assert comp["weighting"].to_list() == ["type", "equal"]
    assert comp["total_return"][0] != comp["total_return"][1]
    caps = position_cap_sweep(ds, dec, lab, EQUAL)
    assert caps["position_cap"].to_list() == [None, 1.0, 2.0, 3.0]
    assert caps["max_gross_exposure"][0] > 1.5
    for cap, gross in zip(caps["position_cap"].to_list()[1:], caps["max_gross_exposure"].to_list()[1:], strict=True):
        assert gross <= cap + 1e-12
    with pytest.raises(ValueError, match="not a BacktestConfig field"):
        config_sweep(ds, dec, lab, EQUAL, "holding", [1])


def test_policy_comparison_tables():
    ds, lab = _cohort_dataset_labelled()
    results = {
        name: run_backtest(ds, _decisions({"d1": act, "n1": act}, name), lab, EQUAL)
        for name, act in (("short", "short"), ("long", "long"), ("hold", "hold"))
    }
    table = compare_policies(results)
    assert table["policy"].to_list() == ["hold", "long", "short"]
    assert table["sharpe"].to_list() == [results[p].metrics["sharpe"] for p in ("hold", "long", "short")]
    navs = nav_long(results)
    assert navs.height == 3 * results["long"].nav.height
    assert navs.filter(pl.col("policy") == "long").drop("policy").equals(results["long"].nav)


@pytest.fixture(scope="module")
def synthetic_labelled():
    from janus_core.data.synthetic import SyntheticConfig, generate
    from janus_core.study import labels
    from janus_core.study.car import CarConfig, compute_car

    ds = generate(SyntheticConfig())
    labelled = labels.chronological_split(labels.label(compute_car(ds, CarConfig()), labels.LabelConfig()))
    return ds, labelled


def test_synthetic_demo_oracle_beats_all_and_type_prior_is_directionally_skilled(synthetic_labelled):
    from janus_core.decide.policies import make_decisions

    ds, labelled = synthetic_labelled
    test = labelled.filter(pl.col("split") == "test")
    weights = historical_type_weights(labelled)
    sharpe, da = {}, {}
    for policy in ("oracle", "type_prior", "random"):
        dec = make_decisions(policy, labelled).filter(pl.col("event_id").is_in(test["event_id"].implode()))
        res = run_backtest(ds, dec, test, BacktestConfig(), type_weights=weights)
        assert res.trades.height == dec.height and res.metrics["n_executed"] > 0
        assert res.nav["nav"][-1] - 1.0 == pytest.approx(res.trades["pnl"].sum(), abs=1e-12)
        sharpe[policy] = res.metrics["sharpe"]
        da[policy] = decision_metrics(dec, test)["da"]
    # known by construction: the oracle trades on the realised CARs, so it beats every other policy;
    # the type prior knows the sign of each type's historical mean CAR, so its directional accuracy
    # beats the coin flip (its Sharpe on one short test window need not: the test-split CAARs of some
    # types have the opposite sign to the historical ones)
    assert sharpe["oracle"] > max(sharpe["type_prior"], sharpe["random"]), sharpe
    assert da["oracle"] > da["type_prior"] > da["random"], da


def test_synthetic_demo_is_deterministic(synthetic_labelled):
    from janus_core.decide.policies import make_decisions

    ds, labelled = synthetic_labelled
    test = labelled.filter(pl.col("split") == "test")
    dec = make_decisions("type_prior", labelled).filter(pl.col("event_id").is_in(test["event_id"].implode()))
    cfg = BacktestConfig(position_cap=1.5)
    w = historical_type_weights(labelled)
    a = run_backtest(ds, dec, test, cfg, type_weights=w)
    b = run_backtest(
        ds,
        dec.sample(fraction=1.0, shuffle=True, seed=3),
        test.sample(fraction=1.0, shuffle=True, seed=4),
        cfg,
        type_weights=dict(reversed(w.items())),
    )
    assert a.nav.equals(b.nav) and a.trades.equals(b.trades) and a.metrics == b.metrics
    # the cap binds when a cohort enters (held positions are never cut, so a later fall in NAV can lift
    # entry notional over NAV above the cap on days without entries)
    entry_days = a.trades.filter(pl.col("status") == "executed")["entry_date"].unique().implode()
    on_entry = a.nav.filter(pl.col("date").is_in(entry_days))["gross_exposure"]
    assert on_entry.len() > 0 and on_entry.max() <= 1.5 + 1e-12
    with pytest.raises(ValueError, match="no event with a CAR in the 'historical' split"):
        run_backtest(ds, dec, test, cfg)  # the window alone has no history: fail closed


_DIGEST_SCRIPT = """
import hashlib, sys
import polars as pl
from janus_core.study import labels
from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.engine import historical_type_weights, run_backtest
from janus_core.study.car import CarConfig, compute_car
from janus_core.decide.policies import make_decisions
from janus_core.data.synthetic import SyntheticConfig, generate

ds = generate(SyntheticConfig())
lab = labels.chronological_split(labels.label(compute_car(ds, CarConfig()), labels.LabelConfig()))
test = lab.filter(pl.col("split") == "test")
dec = make_decisions("sentiment", lab).filter(pl.col("event_id").is_in(test["event_id"].implode()))
res = run_backtest(ds, dec, test, BacktestConfig(position_cap=2.0), historical_type_weights(lab))
h = hashlib.sha256()
for frame in (res.nav, res.trades, res.per_type):
    h.update(repr(frame.rows()).encode())  # repr of a float round-trips exactly
h.update(repr(sorted(res.metrics.items())).encode())
print(h.hexdigest())
"""


def test_byte_identical_whatever_thread_count_or_hash_seed():
    import os
    import subprocess
    import sys

    digests = set()
    for threads, seed in (("1", "0"), ("2", "12345")):
        env = {**os.environ, "POLARS_MAX_THREADS": threads, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.add(proc.stdout.strip())
    assert len(digests) == 1, digests


def test_duplicate_price_rows_are_rejected():
    prices = _prices()
    dup = pl.concat([prices, prices.filter((pl.col("symbol") == "A") & (pl.col("date") == DAYS[2]))]).sort(
        "symbol", "date"
    )
    lab = _labelled([("e1", "A", "dividend", DAYS[1], 0.05)])
    with pytest.raises(ValueError, match=r"prices: \(symbol, date\) \('A', 2024-01-04\) appears twice"):
        run_backtest(_dataset(dup), _decisions({"e1": "long"}), lab, EQUAL)


def test_empty_decisions_give_a_flat_nav():
    ds, lab = _cohort_dataset_labelled()
    empty = _decisions({}).cast({"event_id": pl.String, "strategy_id": pl.String, "action": pl.String})
    res = run_backtest(ds, empty, lab, EQUAL)
    assert res.trades.height == 0 and (res.nav["nav"] == 1.0).all()
    assert res.nav["date"].to_list() == DAYS[:4]  # base day, window 01-03..01-04, one more day to exit


def _edit_prices(prices: pl.DataFrame, edits: dict[tuple[str, int], str]) -> pl.DataFrame:
    """``prices`` with own-calendar rows ``(symbol, k)`` changed, in date order per symbol:
    ``suspend`` (open = close = previous close, volume 0, untradable: the synthetic generator's
    suspension), ``lock_open`` (a one-price limit-up day: open = close = previous close x 1.10,
    untradable) or ``lock_close`` (opens normally, closes limit-up at previous close x 1.10,
    untradable)."""
    touched = sorted({s for s, _ in edits})
    keep = prices.filter(~pl.col("symbol").is_in(touched))
    parts = [keep]
    for sym in touched:
        rows = prices.filter(pl.col("symbol") == sym).sort("date").to_dict(as_series=False)
        for k in range(1, len(rows["date"])):
            kind = edits.get((sym, k))
            prev = rows["close"][k - 1]
            if kind == "suspend":
                rows["open"][k] = rows["close"][k] = prev
                rows["volume"][k] = 0.0
            elif kind == "lock_open":
                rows["open"][k] = rows["close"][k] = prev * 1.10
            elif kind == "lock_close":
                rows["open"][k] = prev * 1.01
                rows["close"][k] = prev * 1.10
            if kind is not None:
                rows["tradable"][k] = False
        parts.append(pl.DataFrame(rows, schema=prices.schema))
    return pl.concat(parts).sort("symbol", "date")


@pytest.mark.parametrize("window", [(0, 2), (0, 4), (1, 3)])
def test_label_and_trade_share_their_exit_despite_suspensions_and_locks(window):
    """The trade follows its label's window by construction: on data with suspensions and
    limit-locks at and after entry, every trade exiting as planned exits at the close that ends
    its event's CAR window (``price_t_plus_1`` of car.py) and earns the label's raw return but
    for the overnight gap; untradable planned exits are carried and recorded, never dropped."""
    import dataclasses

    from janus_core.data.synthetic import SyntheticConfig, generate
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import car_study

    car_cfg = CarConfig(event_window=window)
    cfg = BacktestConfig.for_labels(car_cfg, weighting="equal")
    a, b = window
    assert (cfg.entry_offset_days, cfg.holding_period) == (a, b - a + 1) and cfg.follows_label_window
    base = generate(SyntheticConfig())
    clean = car_study(base, car_cfg).filter(pl.col("car").is_not_null()).unique("symbol", keep="first").sort("event_id")
    prices = base.prices.with_columns(k=pl.int_range(pl.len()).over("symbol"))
    located = clean.join(prices.select("symbol", pl.col("date").alias("event_day"), "k"), on=["symbol", "event_day"])
    groups = {  # event group -> edits at own-day offsets from the entry day
        "carry2": [(b, "suspend"), (b + 1, "suspend")],
        "carry1": [(b, "lock_close")],
        "mid_suspend": [(b - 1, "suspend")] if b - 1 > a else [],
        "entry_suspended": [(a, "suspend")],
        "entry_locked": [(a, "lock_open")],
        "entry_close_locked": [(a, "lock_close")],
    }
    edits, group_of = {}, {}
    for g, (name, offsets) in enumerate(groups.items()):
        for row in located.slice(g * 8, 8).iter_rows(named=True):
            group_of[row["event_id"]] = name
            for off, kind in offsets:
                edits[(row["symbol"], row["k"] + off)] = kind
    ds = dataclasses.replace(base, prices=_edit_prices(base.prices, edits))
    labelled = car_study(ds, car_cfg)
    dec = labelled.filter(pl.col("event_day").is_not_null()).select(
        "event_id", pl.lit("s").alias("strategy_id"), pl.lit("long").alias("action")
    )
    res = run_backtest(ds, dec, labelled, cfg)
    trades = res.trades.join(labelled.select("event_id", "price_t", "price_t_plus_1", "raw_return"), on="event_id")
    trades = trades.with_columns(pl.col("event_id").replace_strict(group_of, default="plain").alias("group"))

    assert trades.height == dec.height and trades["event_id"].n_unique() == dec.height  # every decision once
    by_group = dict(trades.group_by("group").agg(pl.col("status").unique().sort()).iter_rows())
    assert by_group["entry_suspended"] == ["not_entered:suspended_at_open"]
    assert by_group["entry_locked"] == ["not_entered:limit_locked_open"]
    assert by_group["entry_close_locked"] == ["executed"]  # the close-to-close lock is not known at the open
    assert set(trades["status"].unique()) <= {
        "executed",
        "not_entered:suspended_at_open",
        "not_entered:limit_locked_open",
        "not_entered:past_data",
        "not_entered:outside_window",
    }  # entries after the last event day
    done = trades.filter(pl.col("executed"))
    carried = done.filter(pl.col("group").is_in(["carry1", "carry2"]))
    assert carried.height == 16 and (carried["exit_rule"] == "carried").all()
    assert (carried.filter(pl.col("group") == "carry2")["carry_days"] >= 2).all()
    assert (carried.filter(pl.col("group") == "carry1")["carry_days"] >= 1).all()
    assert (carried["holding_days"] == cfg.holding_period + carried["carry_days"]).all()
    # each carried exit is the first tradable close from the planned day on (the sample has its
    # own suspensions and locks, so a few carry further than the edits)
    span = (
        done.filter(pl.col("exit_rule") == "carried")
        .join(ds.prices, on="symbol")
        .filter(pl.col("date").is_between(pl.col("planned_exit_date"), pl.col("exit_date")))
    )
    ok = (
        span.with_columns((pl.col("tradable") & (pl.col("volume") > 0)).alias("ok"))
        .group_by("event_id")
        .agg(
            pl.col("ok").sort_by("date").last().alias("last_ok"),
            pl.col("ok").sort_by("date").head(pl.len() - 1).any().alias("earlier_ok"),
        )
    )
    assert ok["last_ok"].all() and not ok["earlier_ok"].any()
    assert res.metrics["n_carried"] == (done["carry_days"] > 0).sum() >= 16
    # The planned exit is the label window's last close, for every executed trade with a label.
    labelled_done = done.filter(pl.col("price_t_plus_1").is_not_null())
    assert labelled_done.height > 1000
    planned = labelled_done.filter(pl.col("exit_rule") == "planned")
    np.testing.assert_array_equal(planned["exit_price"].to_numpy(), planned["price_t_plus_1"].to_numpy())
    assert carried.filter(pl.col("price_t_plus_1").is_not_null()).height == 16  # carried ones have labels too
    # trade = label's raw return x overnight gap: (1 + g) = (1 + raw) * close(a-1) / open(a)
    np.testing.assert_allclose(
        (1.0 + planned["gross_return"]).to_numpy(),
        ((1.0 + planned["raw_return"]) * planned["price_t"] / planned["entry_price"]).to_numpy(),
        rtol=1e-12,
    )
    # The paper's HP = 2 against a [0, 2] label does not share the exit: the check above can fail.
    if window == (0, 2):
        short = run_backtest(ds, dec, labelled, cfg.model_copy(update={"holding_period": 2}))
        assert not short.config.follows_label_window
        s = short.trades.join(labelled.select("event_id", "price_t_plus_1"), on="event_id").filter(
            pl.col("executed") & pl.col("price_t_plus_1").is_not_null()
        )
        assert (s["exit_price"] != s["price_t_plus_1"]).mean() > 0.95  # prices are whole ticks: some closes repeat


def test_config_follows_the_label_window():
    from janus_core.study.car import CarConfig

    assert (BacktestConfig().holding_period, BacktestConfig().entry_offset_days) == (3, 0)  # [0, 2]
    assert BacktestConfig(label_window=(-1, 2)).holding_period == 3  # pre-news days cannot be traded
    assert BacktestConfig.for_labels(CarConfig(event_window=(0, 0))).holding_period == 1
    assert BacktestConfig.for_labels(CarConfig(), holding_period=2).holding_period == 2  # explicit wins
    assert BacktestConfig(label_window=(0, 1), entry_offset_days=1).holding_period == 1
    with pytest.raises(ValueError, match="ends before the entry day"):
        BacktestConfig(label_window=(0, 1), entry_offset_days=2)
    with pytest.raises(ValueError, match="start must not exceed end"):
        BacktestConfig(label_window=(2, 1))
    with pytest.raises(ValueError, match="extra"):
        BacktestConfig(hp=2)


def test_symbols_without_prices_are_past_data_not_errors():
    ds = _dataset(_prices().filter(pl.col("symbol") == "A"))
    lab = _labelled([("a1", "A", "dividend", DAYS[1], 0.01), ("z1", "Z", "dividend", DAYS[1], 0.01)])
    res = run_backtest(ds, _decisions({"a1": "long", "z1": "long"}), lab, EQUAL)
    assert res.trades["status"].to_list() == ["executed", "not_entered:past_data"]
    only_z = run_backtest(ds, _decisions({"z1": "long"}), lab.filter(pl.col("symbol") == "Z"), EQUAL)
    assert only_z.trades["status"].to_list() == ["not_entered:past_data"] and (only_z.nav["nav"] == 1.0).all()
