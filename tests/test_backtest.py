"""Tests for janus_core.backtest.engine on a tiny hand-made dataset with known answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from janus_core.backtest.engine import (
    SKIP_REASONS,
    BacktestConfig,
    benchmark_navs,
    compare_policies,
    config_sweep,
    historical_type_weights,
    holding_period_sweep,
    nav_long,
    position_cap_sweep,
    run_backtest,
    weighting_comparison,
)
from janus_core.backtest.metrics import nav_metrics
from janus_core.data.dataset import Dataset, DatasetMeta

DAYS = [dt.date(2024, 1, d) for d in (2, 3, 4, 5, 8, 9, 10)]  # trading calendar (weekdays)
SH = dt.timezone(dt.timedelta(hours=8))


def _prices() -> pl.DataFrame:
    """A rises 10 -> 10.5 -> 11 over 01-03..01-04; B, C, D move by known steps; C is suspended
    (untradable) on 01-04; D has no price row on 01-05."""
    rows = []
    a = {DAYS[0]: (9.9, 10.0), DAYS[1]: (10.0, 10.5), DAYS[2]: (10.8, 11.0), DAYS[3]: (11.0, 10.9),
         DAYS[4]: (10.9, 11.2), DAYS[5]: (11.2, 11.0), DAYS[6]: (11.0, 11.1)}
    for d, (o, c) in a.items():
        rows.append(("A", d, o, c, True))
    for i, d in enumerate(DAYS):
        rows.append(("B", d, 20.0 + i, 20.5 + i, True))
        rows.append(("C", d, 5.0, 5.0 + 0.1 * i, d != DAYS[2]))
        if d != DAYS[3]:
            rows.append(("D", d, 8.0, 8.0 - 0.05 * i, True))
    return pl.DataFrame(rows, schema={"symbol": pl.String, "date": pl.Date, "open": pl.Float64,
                                      "close": pl.Float64, "tradable": pl.Boolean}, orient="row").sort("symbol", "date")


def _dataset(prices: pl.DataFrame | None = None) -> Dataset:
    meta = DatasetMeta(name="tiny", version="1", provenance="synthetic_generated",
                       exchange_timezone="Asia/Shanghai", as_of="2024-01-31T00:00:00+08:00")
    bench = pl.DataFrame({"benchmark": ["CSI300"] * len(DAYS), "date": DAYS,
                          "close": [100.0, 101.0, 99.0, 98.0, 100.0, 102.0, 103.0]})
    securities = pl.DataFrame({"symbol": ["A", "B", "C", "D"], "benchmark": ["CSI300"] * 4})
    events = pl.DataFrame({"event_id": ["x"], "symbol": ["A"]})  # not read by the backtest
    return Dataset(meta=meta, events=events, prices=_prices() if prices is None else prices,
                   benchmarks=bench, securities=securities)


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
        schema={"event_id": pl.String, "symbol": pl.String, "published_at": pl.Datetime("us", "UTC"),
                "event_type": pl.String, "event_day": pl.Date, "car": pl.Float64},
    )


def _decisions(actions: dict[str, str], strategy: str = "s") -> pl.DataFrame:
    return pl.DataFrame({"event_id": list(actions), "strategy_id": [strategy] * len(actions),
                         "action": list(actions.values())})


EQUAL = BacktestConfig(weighting="equal", cost_bps=10.0)


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
    assert t["executed"] and t["skip_reason"] is None
    assert (t["entry_date"], t["exit_date"], t["entry_open"], t["exit_close"]) == (DAYS[1], DAYS[2], 10.0, 11.0)
    assert t["gross_return"] == pytest.approx(0.1)
    assert t["net_return"] == pytest.approx(0.1 - 0.001 * (1 + 1.1))
    assert t["pnl"] == pytest.approx(nav2 - 1.0)
    assert t["cost"] == pytest.approx(0.0021)
    expected = nav_metrics([1.0, nav1, nav2])
    assert {k: res.metrics[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert res.metrics["n_executed"] == 1 and res.metrics["total_cost"] == pytest.approx(0.0021)
    summary = res.summary()
    assert summary["total_return"] == round(nav2 - 1.0, 4) and summary["n_executed"] == 1


def test_one_short_trade_exact_nav_and_holding_period_one():
    ds = _dataset()
    lab = _labelled([("e1", "A", "dividend", DAYS[1], 0.05)])
    res = run_backtest(ds, _decisions({"e1": "short"}), lab, EQUAL.model_copy(update={"holding_period": 1}))
    # HP = 1: open-to-close of the entry day; short 0.1 shares at 10, cover at 10.5.
    nav1 = 1.0 - 0.05 - 0.001 - 0.1 * 10.5 * 0.001
    np.testing.assert_allclose(res.nav["nav"].to_numpy(), [1.0, nav1], atol=1e-15)
    assert res.trades["exit_date"].to_list() == [DAYS[1]]
    assert res.trades["gross_return"][0] == pytest.approx(-0.05)


def test_every_skip_reason_is_counted_and_never_imputed():
    ds = _dataset()
    late_public = dt.datetime(2024, 1, 3, 9, 45, tzinfo=SH).astimezone(dt.UTC)  # after the 01-03 open
    lab = _labelled([
        ("e_hold", "A", "dividend", DAYS[1], 0.01),
        ("e_excl", "A", "dividend", None, None),
        ("e_past", "B", "dividend", DAYS[6], 0.01),      # HP 2 would exit after the last price date
        ("e_late", "B", "dividend", DAYS[1], 0.01),
        ("e_gap", "D", "dividend", DAYS[2], 0.01),        # D has no row on 01-05 (holding day 2)
        ("e_untr_in", "C", "dividend", DAYS[2], 0.01),    # C suspended on 01-04 (entry)
        ("e_untr_out", "C", "dividend", DAYS[1], 0.01),   # ... which is this trade's exit day
        ("e_ok", "B", "dividend", DAYS[3], 0.01),
    ]).with_columns(
        pl.when(pl.col("event_id") == "e_late").then(pl.lit(late_public)).otherwise("published_at").alias("published_at")
    )
    acts = {e: ("hold" if e == "e_hold" else "long") for e in lab["event_id"]}
    res = run_backtest(ds, _decisions(acts), lab, EQUAL.model_copy(update={"end": DAYS[6]}))
    reasons = dict(zip(res.trades["event_id"], res.trades["skip_reason"], strict=True))
    assert reasons == {"e_hold": "hold", "e_excl": "event_excluded", "e_past": "past_data",
                       "e_late": "not_public_at_entry", "e_gap": "no_price", "e_untr_in": "untradable_entry",
                       "e_untr_out": "untradable_exit", "e_ok": None}
    assert res.trades.height == len(acts)  # every decision once
    m = res.metrics
    assert m["n_executed"] == 1
    assert sum(m[f"skipped_{r}"] for r in SKIP_REASONS) == len(acts) - 1
    assert m["skipped_untradable_entry"] == 1 and m["skipped_untradable_exit"] == 1 and m["skipped_no_price"] == 1
    # only e_ok moved the NAV: B bought at the 01-05 open, sold at the 01-08 close
    only = run_backtest(ds, _decisions({"e_ok": "long"}), lab.filter(pl.col("event_id") == "e_ok"),
                        EQUAL.model_copy(update={"start": DAYS[1], "end": DAYS[6]}))
    assert res.nav["nav"][-1] == pytest.approx(only.nav["nav"][-1], abs=1e-15)


def test_outside_window_and_type_weight_skips():
    ds = _dataset()
    lab = _labelled([("e1", "A", "dividend", DAYS[1], 0.01), ("e2", "B", "unknown", DAYS[2], 0.01),
                     ("e3", "B", "violation", DAYS[4], 0.01)])
    cfg = BacktestConfig(end=DAYS[2], cost_bps=0.0)
    res = run_backtest(ds, _decisions({"e1": "long", "e2": "long", "e3": "long"}), lab, cfg,
                       type_weights={"dividend": 0.02, "violation": 0.03})
    assert res.trades["skip_reason"].to_list() == [None, "no_type_weight", "outside_window"]


def _cohort_dataset_labelled():
    lab = _labelled([("d1", "A", "dividend", DAYS[1], 0.01), ("d2", "B", "dividend", DAYS[1], 0.01),
                     ("v1", "D", "violation", DAYS[1], 0.01), ("n1", "B", "violation", DAYS[2], -0.01)])
    return _dataset(), lab


def test_type_weighting_splits_by_w_then_equally_within_type():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    w = {"dividend": 0.01, "violation": 0.03}
    res = run_backtest(ds, dec, lab, BacktestConfig(cost_bps=0.0), type_weights=w)
    weight = dict(zip(res.trades["event_id"], res.trades["weight"], strict=True))
    # 01-03 cohort: dividend gets 0.01 / 0.04 = 1/4, split over two trades; violation 3/4.
    assert weight["d1"] == pytest.approx(0.125) and weight["d2"] == pytest.approx(-0.125)
    assert weight["v1"] == pytest.approx(0.75)
    assert weight["n1"] == pytest.approx(-1.0)  # alone on 01-04: the whole day's capital
    eq = run_backtest(ds, dec, lab, BacktestConfig(cost_bps=0.0, weighting="equal"))
    weight = dict(zip(eq.trades["event_id"], eq.trades["weight"], strict=True))
    assert [weight[k] for k in ("d1", "d2", "v1", "n1")] == pytest.approx([1 / 3, -1 / 3, 1 / 3, -1.0])
    assert res.per_type["event_type"].to_list() == ["dividend", "violation"]
    assert res.per_type["w"].to_list() == [0.01, 0.03]
    assert res.per_type["n_executed"].to_list() == [2, 2]


def test_nav_equals_sum_of_trade_pnl():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    for hp in (1, 2, 3):
        res = run_backtest(ds, dec, lab, BacktestConfig(holding_period=hp, cost_bps=7.0),
                           type_weights={"dividend": 0.02, "violation": 0.03})
        assert res.nav["nav"][-1] - 1.0 == pytest.approx(res.trades["pnl"].sum(), abs=1e-14)
        assert res.nav["cost"].sum() == pytest.approx(res.trades["cost"].sum(), abs=1e-15)


def test_position_cap_is_respected():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    free = run_backtest(ds, dec, lab, BacktestConfig(weighting="equal"))
    assert free.metrics["max_gross_exposure"] == pytest.approx(2.0, rel=0.1)  # two overlapping cohorts
    capped = run_backtest(ds, dec, lab, BacktestConfig(weighting="equal", position_cap=1.5))
    assert capped.nav["gross_exposure"].max() <= 1.5 + 1e-12
    assert capped.nav["gross_exposure"].max() == pytest.approx(1.5)
    nav_prev = capped.nav["nav"][1]  # NAV at the close before the 01-04 cohort
    scale = dict(zip(capped.trades["event_id"], capped.trades["cap_scale"], strict=True))
    assert scale["d1"] == 1.0 and scale["n1"] == pytest.approx((1.5 * nav_prev - 1.0) / nav_prev)
    tight = run_backtest(ds, dec, lab, BacktestConfig(weighting="equal", position_cap=1.0))
    tight_prev = tight.nav["nav"][1]
    tight_scale = dict(zip(tight.trades["event_id"], tight.trades["cap_scale"], strict=True))
    assert tight_scale["n1"] == pytest.approx(max(0.0, tight_prev - 1.0) / tight_prev)
    assert tight.nav["gross_exposure"].max() <= 1.0 + 1e-12
    # a losing first cohort (short A while it rises) leaves no room under a 1x cap: counted, not traded
    full = run_backtest(ds, _decisions({"d1": "short", "n1": "short"}), lab,
                        BacktestConfig(weighting="equal", position_cap=1.0))
    assert full.nav["nav"][1] < 1.0
    assert full.trades["skip_reason"].to_list() == [None, "position_cap"]
    assert full.metrics["skipped_position_cap"] == 1 and full.nav["n_positions"].to_list() == [0, 1, 1, 0]


def test_deterministic_under_row_order():
    ds, lab = _cohort_dataset_labelled()
    dec = _decisions({"d1": "long", "d2": "short", "v1": "long", "n1": "short"})
    cfg = BacktestConfig(position_cap=2.0)
    w = {"dividend": 0.02, "violation": 0.03}
    a = run_backtest(ds, dec, lab, cfg, type_weights=w)
    b = run_backtest(_dataset(_prices().reverse()), dec.reverse(), lab.reverse(), cfg,
                     type_weights=dict(reversed(list(w.items()))))
    assert a.nav.equals(b.nav) and a.trades.equals(b.trades) and a.per_type.equals(b.per_type)
    assert a.metrics == b.metrics


def test_historical_type_weights_use_historical_split_only():
    lab = pl.DataFrame({"event_type": ["a", "a", "b", "b", "a"], "car": [0.01, -0.03, 0.02, None, 0.5],
                        "split": ["historical", "historical", "historical", "historical", "test"]})
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
        (pl.DataFrame({"event_id": ["d1", "d1"], "strategy_id": ["s", "s"], "action": ["long", "short"]}),
         "row 1, column 'event_id' 'd1' appears more than once"),
        (pl.DataFrame({"event_id": ["d1", "d2"], "strategy_id": ["s", "t"], "action": ["long", "long"]}),
         "one strategy at a time"),
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
    results = {name: run_backtest(ds, _decisions({"d1": act, "n1": act}, name), lab, EQUAL)
               for name, act in (("short", "short"), ("long", "long"), ("hold", "hold"))}
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


def test_synthetic_demo_oracle_beats_type_prior_beats_random(synthetic_labelled):
    from janus_core.decide.policies import make_decisions

    ds, labelled = synthetic_labelled
    test = labelled.filter(pl.col("split") == "test")
    weights = historical_type_weights(labelled)
    sharpe = {}
    for policy in ("oracle", "type_prior", "random"):
        dec = make_decisions(policy, labelled).filter(pl.col("event_id").is_in(test["event_id"].implode()))
        res = run_backtest(ds, dec, test, BacktestConfig(), type_weights=weights)
        assert res.trades.height == dec.height and res.metrics["n_executed"] > 0
        assert res.nav["nav"][-1] - 1.0 == pytest.approx(res.trades["pnl"].sum(), abs=1e-12)
        sharpe[policy] = res.metrics["sharpe"]
    assert sharpe["oracle"] > sharpe["type_prior"] > sharpe["random"], sharpe


def test_synthetic_demo_is_deterministic(synthetic_labelled):
    from janus_core.decide.policies import make_decisions

    ds, labelled = synthetic_labelled
    test = labelled.filter(pl.col("split") == "test")
    dec = make_decisions("type_prior", labelled).filter(pl.col("event_id").is_in(test["event_id"].implode()))
    cfg = BacktestConfig(position_cap=1.5)
    w = historical_type_weights(labelled)
    a = run_backtest(ds, dec, test, cfg, type_weights=w)
    b = run_backtest(ds, dec.sample(fraction=1.0, shuffle=True, seed=3),
                     test.sample(fraction=1.0, shuffle=True, seed=4), cfg, type_weights=dict(reversed(w.items())))
    assert a.nav.equals(b.nav) and a.trades.equals(b.trades) and a.metrics == b.metrics
    assert a.metrics["max_gross_exposure"] <= 1.5 + 1e-12
    with pytest.raises(ValueError, match="no event with a CAR in the 'historical' split"):
        run_backtest(ds, dec, test, cfg)  # the window alone has no history: fail closed


_DIGEST_SCRIPT = """
import hashlib, sys
import polars as pl
from janus_core.study import labels
from janus_core.backtest.engine import BacktestConfig, historical_type_weights, run_backtest
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
        proc = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT], env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.add(proc.stdout.strip())
    assert len(digests) == 1, digests


def test_duplicate_price_rows_are_rejected():
    prices = _prices()
    dup = pl.concat([prices, prices.filter((pl.col("symbol") == "A") & (pl.col("date") == DAYS[2]))]).sort("symbol", "date")
    lab = _labelled([("e1", "A", "dividend", DAYS[1], 0.05)])
    with pytest.raises(ValueError, match=r"prices: \(symbol, date\) \('A', 2024-01-04\) appears twice"):
        run_backtest(_dataset(dup), _decisions({"e1": "long"}), lab, EQUAL)


def test_empty_decisions_give_a_flat_nav():
    ds, lab = _cohort_dataset_labelled()
    empty = _decisions({}).cast({"event_id": pl.String, "strategy_id": pl.String, "action": pl.String})
    res = run_backtest(ds, empty, lab, EQUAL)
    assert res.trades.height == 0 and (res.nav["nav"] == 1.0).all()
    assert res.nav["date"].to_list() == DAYS[:4]  # base day, window 01-03..01-04, one more day to exit
