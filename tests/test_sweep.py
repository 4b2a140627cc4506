"""Robustness sweeps (janus_core.sweep): grid validation, expansion and config hashes, one row
against a direct computation, the cache (a re-run computes nothing, an extended grid only the new
cells), failing configurations and dead workers reported, the overfitting statistics against direct
calls."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import polars as pl
import pytest

from janus_core import sweep
from janus_core.backtest import config, studies
from janus_core.backtest import engine as backtest
from janus_core.backtest.metrics import decision_metrics
from janus_core.backtest.overfitting import probability_of_backtest_overfitting
from janus_core.data.manifest import load_dataset
from janus_core.decide import reward
from janus_core.decide.policies import make_decisions
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.labels import LabelConfig, SplitConfig, car_study

SMALL = """
[car]
event_window = [[0, 1], [0, 2]]
[backtest]
round_trip_cost_bps = [0, 10]
[reward]
lambda_dir = [2.0, 3.0]
"""


@pytest.fixture()
def paths(sample_workspace, tmp_path, monkeypatch):
    """The session's demo workspace with a private store and sweep cache."""
    monkeypatch.setenv("JANUS_SWEEP_CACHE", str(tmp_path / "cache"))
    return sample_workspace.model_copy(update={"store": tmp_path / "janus.duckdb"})


# --------------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cars]\ngap = [1]", "[cars]: unknown table"),
        ("[car]\ngapp = [1]", "car.gapp: unknown parameter"),
        ("[car]\nthreads = [1, 2]", "car.threads: set by the sweep"),
        ("[backtest]\nlabel_window = [[0, 1]]", "backtest.label_window: set by the sweep"),
        ("[backtest]\nstart = 2024-01-01", "backtest.start: set by the sweep"),
        (
            "[car]\nestimation_window = [120, 3]",
            "car.estimation_window = 3: Input should be greater than or equal to 5",
        ),
        ("[reward]\nalpha = [0.5, 1.5]", "reward.alpha = 1.5: Input should be less than 1"),
        ("[backtest]\nweighting = ['type', 'size']", "backtest.weighting = 'size'"),
        ("[backtest]\nround_trip_cost_bps = [5, 5.0]", "backtest.round_trip_cost_bps: value 5.0 listed twice"),
        ("[backtest]\nround_trip_cost_bps = []", "backtest.round_trip_cost_bps: empty list"),
        (
            "[backtest]\nround_trip_cost_bps = {start = 0, stop = 10}",
            "backtest.round_trip_cost_bps: a range is {start, stop, step}",
        ),
        (
            "[backtest]\nround_trip_cost_bps = {start = 10, stop = 0, step = 5}",
            "backtest.round_trip_cost_bps: range needs step > 0",
        ),
        (
            "[backtest]\nround_trip_cost_bps = {start = 0, stop = 1, step = 1e-9}",
            "backtest.round_trip_cost_bps: range has 1000000001 values",
        ),
        ("[labels]\nneutral_band = ['x']", "labels.neutral_band = 'x'"),
        ("[car]\n", "no parameter"),
        ("[car\ngap = 1", "not valid TOML"),
        ("car = 3\n", "car: must be a table"),
    ],
)
def test_bad_grids_are_refused_naming_the_parameter(text, message):
    with pytest.raises(sweep.GridError) as err:
        sweep.parse_grid(text, where="g.toml")
    assert str(err.value).startswith("g.toml: ")
    assert message in str(err.value)


def test_a_combination_its_configs_reject_is_refused_before_anything_runs():
    with pytest.raises(sweep.GridError, match=r"grid: car.estimation_window = 40: min_estimation_obs 60 exceeds"):
        sweep.parse_grid("[car]\nestimation_window = [40, 120]\n")  # against the other defaults already
    grid = sweep.parse_grid("[car]\nestimation_window = [80, 120]\nmin_estimation_obs = [100]\n")
    with pytest.raises(
        sweep.GridError,
        match=r"car.estimation_window = 80, car.min_estimation_obs = 100: "
        r"min_estimation_obs 100 exceeds estimation_window 80",
    ):
        sweep.expand_grid(grid)
    grid = sweep.parse_grid("[car]\nevent_window = [[0, 5], [0, 1]]\n[backtest]\nentry_offset_days = [2]\n")
    with pytest.raises(
        sweep.GridError, match=r"entry_offset_days = 2, car.event_window = \(0, 1\): .*ends before the entry day 2"
    ):
        sweep.expand_grid(grid)


def test_a_missing_grid_file_is_one_line(tmp_path):
    with pytest.raises(sweep.GridError, match=r"nope.toml: cannot read the grid file"):
        sweep.parse_grid(tmp_path / "nope.toml")


def test_ranges_lists_tuples_and_none():
    grid = sweep.parse_grid("""
[labels]
neutral_band = {start = 0.1, stop = 0.3, step = 0.1}
[car]
gap = {start = 5, stop = 15, step = 5}
event_window = [0, 2]
[backtest]
position_cap = ["none", 1.0]
""")
    assert grid.parameters == {
        "backtest.position_cap": (None, 1.0),
        "car.event_window": ((0, 2),),
        "car.gap": (5, 10, 15),
        "labels.neutral_band": (0.1, 0.2, 0.3),
    }
    assert all(isinstance(v, int) for v in grid.parameters["car.gap"])
    assert sweep.parse_grid("[car]\nevent_window = [[0, 1], [0, 2]]\n").parameters["car.event_window"] == (
        (0, 1),
        (0, 2),
    )
    assert grid.size == 2 * 1 * 3 * 3


def test_expansion_is_ordered_and_config_hashes_follow_the_resolved_configs():
    points = sweep.expand_grid(sweep.parse_grid(SMALL))
    assert len(points) == 8
    assert [p.params["reward.lambda_dir"] for p in points[:2]] == [2.0, 3.0]  # the last parameter fastest
    assert [p.params["car.event_window"] for p in points[:4]] == [(0, 1), (0, 1), (0, 2), (0, 2)]
    assert [p.params["backtest.round_trip_cost_bps"] for p in points] == [0.0] * 4 + [10.0] * 4  # names in order
    assert points[0].backtest_config().holding_period == 2 and points[-1].backtest_config().holding_period == 3
    fixed = sweep.SweepSettings().fixed("policy:type_prior")
    keys = [sweep.point_keys(p, "ds", "code", fixed) for p in points]
    assert len({k.config_hash for k in keys}) == 8
    assert len({k.car for k in keys}) == 2 and len({k.labelled for k in keys}) == 2
    # 5 and 5.0 are one value; another decision source is another configuration
    a = sweep.expand_grid(sweep.parse_grid("[backtest]\nround_trip_cost_bps = 5\n"))[0]
    b = sweep.expand_grid(sweep.parse_grid("[backtest]\nround_trip_cost_bps = 5.0\n"))[0]
    assert sweep.point_keys(a, "ds", "c", fixed) == sweep.point_keys(b, "ds", "c", fixed)
    other = sweep.SweepSettings(decisions="oracle").fixed("policy:oracle")
    assert sweep.point_keys(a, "ds", "c", fixed).config_hash != sweep.point_keys(a, "ds", "c", other).config_hash
    # the CAR key ignores the thread count, which never changes a result
    threaded = sweep.SweepPoint(
        params=a.params, car=CarConfig(threads=3), label=a.label, split=a.split, reward=a.reward, backtest=a.backtest
    )
    assert sweep.point_keys(threaded, "ds", "c", fixed) == sweep.point_keys(a, "ds", "c", fixed)


# --------------------------------------------------------------------------------------------------
# One configuration against a direct computation
# --------------------------------------------------------------------------------------------------
def test_a_row_is_the_library_pipeline_on_the_test_split(paths):
    point = sweep.expand_grid(
        sweep.parse_grid(
            "[car]\nevent_window = [[0, 1]]\n[backtest]\nround_trip_cost_bps = [10]\n[reward]\nlambda_dir = [3.0]\n"
        )
    )[0]
    ds = load_dataset("synthetic-ashare", paths)
    car_cfg = CarConfig(event_window=(0, 1))
    labelled = car_study(ds, car_cfg, LabelConfig(), SplitConfig())
    decisions = make_decisions("type_prior", labelled)
    row, returns = sweep.evaluate_chunk(
        ds,
        sweep.labelled_table(ds, compute_car(ds, point.car), point.label, point.split, point.car),
        None,
        sweep.SweepSettings(),
        [point],
    )[0]
    chosen, start, end = studies.split_window(labelled, decisions, ["test"])
    cfg = config.BacktestConfig(label_window=(0, 1), round_trip_cost_bps=10.0, start=start, end=end)
    direct = backtest.run_backtest(ds, chosen, labelled, cfg)
    scored = reward.score(chosen, labelled, reward.HgrmConfig(lambda_dir=3.0))
    assert row["status"] == "ok"
    for key in ("sharpe", "max_drawdown", "total_return", "annualized_return", "calmar"):
        assert row[key] == direct.metrics[key], key
    assert row["n_trades"] == direct.metrics["n_executed"] and row["n_decisions"] == chosen.height
    assert row["mean_reward"] == pytest.approx(float(scored["final_reward"].mean()), rel=0, abs=1e-15)
    assert row["da"] == decision_metrics(chosen, labelled)["da"]
    assert (row["window_start"], row["window_end"]) == (start, end)
    assert returns["daily_return"].to_list() == direct.nav["daily_return"].drop_nulls().to_list()


# --------------------------------------------------------------------------------------------------
# The sweep: cache, failures, dead workers
# --------------------------------------------------------------------------------------------------
def test_rerun_computes_nothing_and_an_extended_grid_only_the_new_cells(paths):
    settings = sweep.SweepSettings()
    first = sweep.run_sweep(sweep.parse_grid(SMALL), settings, paths, workers=1)
    assert (first.computed, first.car_computed, first.labelled_computed) == (8, 2, 2)
    assert first.results["status"].to_list() == ["ok"] * 8
    assert first.results["config_hash"].is_sorted()
    again = sweep.run_sweep(sweep.parse_grid(SMALL), settings, paths, workers=1)
    assert (again.computed, again.car_computed, again.labelled_computed) == (0, 0, 0)
    assert again.results.equals(first.results) and again.returns.equals(first.returns)
    extended = sweep.run_sweep(
        sweep.parse_grid(SMALL.replace("round_trip_cost_bps = [0, 10]", "round_trip_cost_bps = [0, 10, 20]")),
        settings,
        paths,
        workers=1,
    )
    assert (extended.computed, extended.car_computed, extended.labelled_computed) == (4, 0, 0)
    old = extended.results.join(first.results.select("config_hash"), on="config_hash", how="semi")
    assert old.drop("backtest.round_trip_cost_bps").equals(first.results.drop("backtest.round_trip_cost_bps"))
    # a new label config on a cached CAR table computes the labels only
    labels = sweep.run_sweep(sweep.parse_grid(SMALL + "[labels]\nneutral_band = [0.001]\n"), settings, paths, workers=1)
    assert (labels.computed, labels.car_computed, labels.labelled_computed) == (8, 0, 2)


def test_a_failing_configuration_is_reported_in_its_row_and_the_sweep_completes(paths):
    # a 400-day gap leaves no estimation window in the 420-day sample: every event is excluded
    grid = sweep.parse_grid("[car]\ngap = [10, 400]\n[backtest]\nround_trip_cost_bps = [5, 10]\n")
    seen = []
    run = sweep.run_sweep(grid, sweep.SweepSettings(), paths, workers=1, progress=seen.append)
    by_gap = dict(zip(run.results["car.gap"], run.results["status"], strict=False))
    assert by_gap[10] == "ok"
    assert (
        run.results.filter(pl.col("car.gap") == 400)["status"].to_list()
        == ["error: ValueError: labelled: no included event in the splits ['test']; nothing to backtest"] * 2
    )
    assert run.results.filter(pl.col("status") != "ok")["sharpe"].null_count() == 2
    assert seen[-1] == sweep.Progress(total=4, done=4, failed=2, cached=0)
    assert run.returns["config_hash"].unique().len() == 2
    # the error rows are cached: the same inputs fail again without being run
    again = sweep.run_sweep(grid, sweep.SweepSettings(), paths, workers=1)
    assert again.computed == 0 and again.results.equals(run.results)


def _exit_on_two(x: int) -> int:
    if x == 2:
        os._exit(3)
    return x * 10


def test_the_local_engine_reports_a_dead_worker_and_finishes_the_rest():
    engine = sweep.LocalEngine(1)
    try:
        out = dict(engine.map(_exit_on_two, [2]))
        assert isinstance(out[0], sweep.WorkerDied)
        assert dict(engine.map(_exit_on_two, [0, 1, 3])) == {0: 0, 1: 10, 2: 30}  # a fresh pool
    finally:
        engine.close()


def test_a_worker_killed_mid_sweep_is_retried_and_every_row_completes(paths, tmp_path, monkeypatch):
    grid = sweep.parse_grid("[backtest]\nround_trip_cost_bps = {start = 0, stop = 35, step = 5}\n")
    killed = []

    def kill_one(p: sweep.Progress) -> None:
        import multiprocessing

        if p.done >= 1 and not killed:
            children = multiprocessing.active_children()
            if children:
                os.kill(children[0].pid, signal.SIGKILL)
                killed.append(children[0].pid)
                time.sleep(0.2)

    run = sweep.run_sweep(grid, sweep.SweepSettings(), paths, workers=2, chunk_size=1, progress=kill_one)
    assert killed
    assert run.results["status"].to_list() == ["ok"] * 8
    monkeypatch.setenv("JANUS_SWEEP_CACHE", str(tmp_path / "clean-cache"))
    clean = sweep.run_sweep(grid, sweep.SweepSettings(), paths, workers=1)
    assert clean.computed == 8 and clean.results.equals(run.results)


# --------------------------------------------------------------------------------------------------
# Overfitting statistics
# --------------------------------------------------------------------------------------------------
def test_overfitting_report_against_direct_calls(paths):
    from arch.bootstrap import SPA

    from janus_core.backtest.overfitting import deflated_sharpe_of_returns

    run = sweep.run_sweep(sweep.parse_grid(SMALL), sweep.SweepSettings(spa_reps=200), paths, workers=1)
    ds = load_dataset("synthetic-ashare", paths)
    report = sweep.overfitting_report(run, ds)
    ok = run.results.filter(pl.col("status") == "ok")
    best = ok.sort("sharpe", descending=True).row(0, named=True)
    assert report["best"]["config_hash"] == best["config_hash"]
    best_r = run.returns.filter(pl.col("config_hash") == best["config_hash"])["daily_return"]
    direct = deflated_sharpe_of_returns(best_r, 8, float(np.var(ok["sharpe"].to_numpy(), ddof=1)))
    assert report["dsr"]["dsr"] == pytest.approx(direct["dsr"], abs=1e-12)
    assert report["dsr"]["n_trials"] == 8
    # the aligned matrix, rebuilt by hand
    bench_name = sweep.default_benchmark(ds)
    bench = ds.benchmarks.filter(pl.col("benchmark") == bench_name).sort("date")
    bench = bench.select("date", (pl.col("close") / pl.col("close").shift(1) - 1).alias("b")).drop_nulls()
    wide = run.returns.pivot(on="config_hash", index="date", values="daily_return").join(bench, on="date").drop_nulls()
    wide = wide.sort("date")
    hashes = sorted(c for c in wide.columns if c not in ("date", "b"))
    columns, kept = [], []
    for h in hashes:
        col = wide[h].to_numpy()
        if not any(np.array_equal(col, c) for c in columns):
            columns.append(col)
            kept.append(h)
    matrix = np.column_stack(columns)
    assert report["aligned"]["n_dates"] == wide.height
    assert report["aligned"]["n_distinct_return_series"] == len(kept) == 4  # the reward never moves the NAV
    assert report["pbo"]["pbo"] == probability_of_backtest_overfitting(matrix, 16)["pbo"]
    spa = SPA(-wide["b"].to_numpy(), -matrix, reps=200, seed=0)
    spa.compute()
    assert report["spa"]["pvalue_consistent"] == pytest.approx(float(spa.pvalues["consistent"]), abs=0)
    assert report["spa"]["pvalue_lower"] == pytest.approx(float(spa.pvalues["lower"]), abs=0)
    assert report["spa"]["pvalue_upper"] == pytest.approx(float(spa.pvalues["upper"]), abs=0)


# --------------------------------------------------------------------------------------------------
# Reading a sweep
# --------------------------------------------------------------------------------------------------
def _toy_results() -> pl.DataFrame:
    """A 3 x 3 grid with sharpe = a + 10 b (known answers), one failed cell."""
    rows = []
    for a in (1, 2, 3):
        for b in (0.0, 0.5, 1.0):
            ok = not (a == 3 and b == 1.0)
            rows.append(
                {
                    "config_hash": f"h{a}{b}",
                    "car.gap": a,
                    "backtest.round_trip_cost_bps": b,
                    "sharpe": a + 10 * b if ok else None,
                    "n_returns": 50,
                    "skew": 0.1,
                    "kurtosis": 3.5,
                    "status": "ok" if ok else "error: ValueError: x",
                }
            )
    return pl.DataFrame(rows)


def test_heatmap_neighbours_and_deflated_table_on_known_answers():
    res = _toy_results()
    heat = sweep.heatmap_table(res, "car.gap", "backtest.round_trip_cost_bps", "sharpe")
    assert (
        heat.height == 8
        and heat.filter((pl.col("car.gap") == 2) & (pl.col("backtest.round_trip_cost_bps") == 0.5))["sharpe"][0] == 7
    )
    fixed = sweep.heatmap_table(res, "car.gap", "backtest.round_trip_cost_bps", "sharpe", {"car.gap": 1})
    assert fixed["sharpe"].to_list() == [1.0, 6.0, 11.0]
    near = sweep.neighbours(res, "h20.5")
    assert sorted(zip(near["parameter"], near["value"], near["delta"], strict=True)) == [
        ("backtest.round_trip_cost_bps", "0.0", -5.0),
        ("backtest.round_trip_cost_bps", "1.0", 5.0),
        ("car.gap", "1", -1.0),
        ("car.gap", "3", 1.0),
    ]
    corner = sweep.neighbours(res, "h21.0")  # its neighbour h31.0 failed: reported, no delta
    failed = corner.filter(pl.col("status") != "ok")
    assert failed.height == 1 and failed["delta"][0] is None
    table = sweep.deflated_table(res)
    ok = res.filter(pl.col("status") == "ok")
    var = float(np.var(ok["sharpe"].to_numpy(), ddof=1)) / 252
    from janus_core.backtest.overfitting import deflated_sharpe_ratio

    for r in table.iter_rows(named=True):
        d = deflated_sharpe_ratio(r["sharpe"] / np.sqrt(252), 50, 0.1, 3.5, 8, var)
        assert r["dsr"] == pytest.approx(d["dsr"], abs=1e-12) and r["survives"] == (d["dsr"] >= 0.95)
    assert table.height == 8 and table["dsr"].is_sorted(descending=True)
