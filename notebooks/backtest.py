import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: backtest")


@app.cell
def _():
    import json
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl

    from janus_core.backtest import config, metrics, studies
    from janus_core.backtest import engine as backtest
    from janus_core.backtest import intervals as boot_intervals
    from janus_core.data.manifest import dataset_choices, load_dataset
    from janus_core.decide import policies
    from janus_core.paths import WorkbenchPaths
    from janus_core.report.charts import interval_chart, line_chart
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import car_study

    return (
        alt,
        backtest,
        boot_intervals,
        car_study,
        CarConfig,
        config,
        dataset_choices,
        interval_chart,
        json,
        line_chart,
        load_dataset,
        metrics,
        mo,
        Path,
        pl,
        policies,
        studies,
        WorkbenchPaths,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # Backtest

    The paper's portfolio test of a decisions table: each event's decision enters at the open of
    its event day (the first session after the news), is held for **HP** trading days (the entry
    day is day 1; exit at the close of day HP), with each day's capital split across event types by
    **w_k**, the historical mean |CAR| of the type (historical split only), then equally within a
    type. Long/short, the round-trip cost (the labels' one cost, half per side) and an optional gross position cap; suspended or
    limit-locked entries and exits are skipped and counted, never imputed. Metrics are the paper's
    (Sharpe with population std x sqrt(252), MDD, TR, ARR, Calmar), and because the paper reports
    no uncertainty, every Sharpe ratio and directional accuracy comes with a bootstrap interval and
    a paired difference against a baseline policy.

    Run headless: `python notebooks/backtest.py --dataset NAME [--out DIR]`.
    """)
    return


@app.cell
def _(WorkbenchPaths, dataset_choices, mo):
    args = mo.cli_args()
    paths = WorkbenchPaths.from_env()
    _options, _value = dataset_choices(paths, args.get("dataset"))
    dataset_picker = mo.ui.dropdown(options=_options, value=_value, label="Dataset")
    dataset_picker
    return args, dataset_picker, paths


@app.cell
def _(CarConfig, backtest, car_study, dataset_picker, load_dataset, paths):
    ds = load_dataset(dataset_picker.value, paths)
    labelled = car_study(ds, CarConfig())
    type_weights = backtest.historical_type_weights(labelled)
    return ds, labelled, type_weights


@app.cell
def _(
    backtest,
    config,
    labelled,
    metrics,
    mo,
    policies,
):
    _bt = config.BacktestConfig()
    _boot = metrics.BootstrapConfig()
    _splits = [s for s in ("test", "validation", "train") if s in set(labelled["split"].to_list())]
    policy_picker = mo.ui.multiselect(options=list(policies.POLICIES), value=list(policies.POLICIES), label="Policies")
    split_picker = mo.ui.dropdown(options=_splits, value=_splits[0], label="Backtest window (split)")
    hp_slider = mo.ui.slider(1, 10, value=_bt.holding_period, label="Holding period (days)", show_value=True)
    cost_input = mo.ui.number(start=0.0, stop=100.0, step=0.5, value=_bt.round_trip_cost_bps, label="Round-trip cost (bps)")
    cap_picker = mo.ui.dropdown(options={"none": None, "1x NAV": 1.0, "2x NAV": 2.0, "3x NAV": 3.0},
                                value="none", label="Position cap")
    weighting_picker = mo.ui.radio(options=["type", "equal"], value=_bt.weighting, label="Weighting", inline=True)
    baseline_picker = mo.ui.dropdown(options=list(policies.POLICIES), value="random", label="Baseline for differences")
    n_boot_slider = mo.ui.slider(200, 5000, step=100, value=_boot.n_boot, label="Bootstrap resamples", show_value=True)
    mo.vstack([
        mo.hstack([policy_picker, split_picker], wrap=True),
        mo.hstack([hp_slider, cost_input, cap_picker, weighting_picker], wrap=True),
        mo.hstack([baseline_picker, n_boot_slider], wrap=True),
    ])
    return (
        baseline_picker,
        cap_picker,
        cost_input,
        hp_slider,
        n_boot_slider,
        policy_picker,
        split_picker,
        weighting_picker,
    )


@app.cell
def _(
    backtest,
    cap_picker,
    config,
    cost_input,
    hp_slider,
    labelled,
    pl,
    policies,
    policy_picker,
    split_picker,
    weighting_picker,
):
    bt_cfg = config.BacktestConfig(
        holding_period=hp_slider.value,
        round_trip_cost_bps=float(cost_input.value),
        position_cap=cap_picker.value,
        weighting=weighting_picker.value,
    )
    window = labelled.filter(pl.col("split") == split_picker.value)
    _ids = window["event_id"].implode()
    decisions_by_policy = {
        _p: policies.make_decisions(_p, labelled).filter(pl.col("event_id").is_in(_ids))
        for _p in sorted(policy_picker.value)
    }
    return bt_cfg, decisions_by_policy, window


@app.cell
def _(backtest, bt_cfg, decisions_by_policy, ds, mo, type_weights, window):
    results = {
        _p: backtest.run_backtest(ds, _d, window, bt_cfg, type_weights)
        for _p, _d in mo.status.progress_bar(
            sorted(decisions_by_policy.items()), title="Backtesting policies", remove_on_exit=True
        )
    }
    return (results,)


@app.cell
def _(
    backtest,
    ds,
    metrics,
    mo,
    pl,
    results,
    studies,
):
    mo.stop(not results, mo.md("_Pick at least one policy._"))
    navs = studies.nav_long(results)
    _dates = navs["date"]
    bench = studies.benchmark_navs(ds, _dates.min(), _dates.max())
    bench_metrics = pl.DataFrame([
        {"benchmark": _b, **metrics.nav_metrics(bench.filter(pl.col("benchmark") == _b)["nav"])}
        for _b in sorted(bench["benchmark"].unique().to_list())
    ])
    nav_table = pl.concat([
        navs.select(pl.col("policy").alias("series"), pl.lit("policy").alias("kind"), "date", "nav", "daily_return",
                    "gross_exposure", "n_positions", "cost"),
        bench.select(pl.col("benchmark").alias("series"), pl.lit("benchmark").alias("kind"), "date", "nav"),
    ], how="diagonal").sort("kind", "series", "date")
    return bench_metrics, nav_table


@app.cell
def _(line_chart, mo, nav_table, split_picker):
    mo.vstack([
        mo.md(f"### NAV per policy against the benchmarks ({split_picker.value} window)"),
        line_chart(nav_table, "date", "nav", "series", x_type="T", x_title="date", y_title="NAV"),
    ])
    return


@app.cell
def _(
    backtest,
    bench_metrics,
    decisions_by_policy,
    metrics,
    mo,
    pl,
    results,
    studies,
    window,
):
    _decision = pl.DataFrame([
        {"policy": _p, **{k: metrics.decision_metrics(_d, window)[k] for k in ("da", "eta", "mae", "rmse")}}
        for _p, _d in sorted(decisions_by_policy.items())
    ], schema_overrides={"da": pl.Float64, "eta": pl.Float64, "mae": pl.Float64, "rmse": pl.Float64})
    policy_table = studies.compare_policies(results).join(_decision, on="policy", how="left", maintain_order="left")
    mo.vstack([mo.md("### Policies (paper metrics)"), policy_table, mo.md("Benchmarks, buy and hold:"), bench_metrics])
    return (policy_table,)


@app.cell
def _(
    backtest,
    bt_cfg,
    decisions_by_policy,
    ds,
    line_chart,
    mo,
    pl,
    studies,
    type_weights,
    window,
):
    hp_sweep = pl.concat([
        studies.holding_period_sweep(ds, _d, window, bt_cfg, range(1, 11), type_weights)
        .select(pl.lit(_p).alias("policy"), pl.all())
        for _p, _d in mo.status.progress_bar(
            sorted(decisions_by_policy.items()), title="Holding-period sweep", remove_on_exit=True
        )
    ])
    mo.vstack([
        mo.md("### Holding-period sweep (HP = 1..10)"),
        line_chart(hp_sweep, "holding_period", "sharpe", "policy", x_title="holding period (days)",
                   y_title="Sharpe ratio"),
    ])
    return (hp_sweep,)


@app.cell
def _(
    backtest,
    bt_cfg,
    decisions_by_policy,
    ds,
    mo,
    pl,
    studies,
    type_weights,
    window,
):
    weighting_table = pl.concat([
        studies.weighting_comparison(ds, _d, window, bt_cfg, type_weights).select(pl.lit(_p).alias("policy"), pl.all())
        for _p, _d in sorted(decisions_by_policy.items())
    ])
    mo.vstack([mo.md("### Type (w_k) versus equal weighting"), weighting_table])
    return (weighting_table,)


@app.cell
def _(
    backtest,
    bt_cfg,
    decisions_by_policy,
    ds,
    mo,
    pl,
    studies,
    type_weights,
    window,
):
    cap_table = pl.concat([
        studies.position_cap_sweep(ds, _d, window, bt_cfg, type_weights=type_weights)
        .select(pl.lit(_p).alias("policy"), pl.all())
        for _p, _d in sorted(decisions_by_policy.items())
    ])
    mo.vstack([mo.md("### Position cap: none, 1x, 2x, 3x NAV of gross entry notional"), cap_table])
    return (cap_table,)


@app.cell
def _(mo, results):
    type_policy_picker = mo.ui.dropdown(options=sorted(results), value=sorted(results)[0], label="Per-type results of")
    type_policy_picker
    return (type_policy_picker,)


@app.cell
def _(alt, mo, pl, results, type_policy_picker):
    per_type = pl.concat([
        _r.per_type.select(pl.lit(_p).alias("policy"), pl.all()) for _p, _r in sorted(results.items())
    ])
    _shown = per_type.filter(pl.col("policy") == type_policy_picker.value)
    _chart = (
        alt.Chart(_shown)
        .mark_bar()
        .encode(
            x=alt.X("pnl:Q", title="P&L (NAV units, net of cost)"),
            y=alt.Y("event_type:N", sort="-x", title=None),
            color=alt.condition("datum.pnl > 0", alt.value("#2ca02c"), alt.value("#d62728")),
            tooltip=["event_type", "w", "n_decisions", "n_executed", alt.Tooltip("hit_rate:Q", format=".1%"),
                     alt.Tooltip("mean_net_return:Q", format=".4f"), alt.Tooltip("pnl:Q", format=".4f")],
        )
        .properties(title=f"P&L by event type: {type_policy_picker.value}", height=260)
    )
    mo.vstack([mo.md(f"### Per event type: {type_policy_picker.value}"), _chart, _shown])
    return (per_type,)


@app.cell
def _(
    baseline_picker,
    boot_intervals,
    decisions_by_policy,
    metrics,
    mo,
    n_boot_slider,
    results,
    window,
):
    mo.stop(baseline_picker.value not in results, mo.md("_The baseline policy must be one of the picked policies._"))
    boot_cfg = metrics.BootstrapConfig(n_boot=n_boot_slider.value)
    _returns = {_p: _r.nav["daily_return"].drop_nulls() for _p, _r in results.items()}
    intervals = boot_intervals.sharpe_interval_table(_returns, baseline_picker.value, boot_cfg).join(
        boot_intervals.da_interval_table(decisions_by_policy, window, baseline_picker.value, boot_cfg),
        on="policy", how="left", maintain_order="left",
    )
    return boot_cfg, intervals


@app.cell
def _(baseline_picker, interval_chart, intervals, mo):
    mo.vstack([
        mo.md(f"### Bootstrap intervals (95%; differences paired against `{baseline_picker.value}`)"),
        interval_chart(intervals, "policy", "sharpe", "sharpe_ci_low", "sharpe_ci_high",
                       x_title="Sharpe ratio (stationary block bootstrap of daily returns)"),
        interval_chart(intervals, "policy", "sharpe_diff", "sharpe_diff_ci_low", "sharpe_diff_ci_high",
                       x_title=f"Sharpe minus {baseline_picker.value}'s (paired on days)"),
        interval_chart(intervals, "policy", "da", "da_ci_low", "da_ci_high",
                       x_title="directional accuracy (bootstrap over events)"),
        interval_chart(intervals, "policy", "da_diff", "da_diff_ci_low", "da_diff_ci_high",
                       x_title=f"DA minus {baseline_picker.value}'s (paired on events)"),
        intervals,
    ])
    return


@app.cell
def _(
    Path,
    args,
    baseline_picker,
    bench_metrics,
    boot_cfg,
    bt_cfg,
    cap_table,
    ds,
    hp_sweep,
    intervals,
    json,
    nav_table,
    per_type,
    policy_table,
    results,
    split_picker,
    weighting_table,
):
    def _r(x, digits=4):
        return None if x is None else round(float(x), digits)

    _iv = {row["policy"]: row for row in intervals.iter_rows(named=True)}
    summary = {
        "dataset": ds.name,
        "provenance": ds.meta.provenance,
        "window": split_picker.value,
        "config": bt_cfg.model_dump(mode="json"),
        "n_days": next(iter(results.values())).metrics["n_days"],
        "baseline": baseline_picker.value,
        "policies": {
            row["policy"]: {
                "sharpe": _r(row["sharpe"]),
                "max_drawdown": _r(row["max_drawdown"]),
                "total_return": _r(row["total_return"]),
                "n_executed": row["n_executed"],
                "da": _r(row["da"]),
                "eta": _r(row["eta"]),
                "sharpe_ci": [_r(_iv[row["policy"]]["sharpe_ci_low"], 3), _r(_iv[row["policy"]]["sharpe_ci_high"], 3)],
                "sharpe_diff_ci": [_r(_iv[row["policy"]]["sharpe_diff_ci_low"], 3),
                                   _r(_iv[row["policy"]]["sharpe_diff_ci_high"], 3)],
            }
            for row in policy_table.iter_rows(named=True)
        },
        "skipped": {
            _p: {k.removeprefix("skipped_"): v for k, v in _res.metrics.items() if k.startswith("skipped_") and v}
            for _p, _res in sorted(results.items())
        },
        "holding_period_sharpe": {
            _p: [_r(v, 3) for v in hp_sweep.filter(hp_sweep["policy"] == _p)["sharpe"].to_list()]
            for _p in sorted(results)
        },
        "weighting_sharpe": {
            f"{row['policy']}/{row['weighting']}": _r(row["sharpe"], 3) for row in weighting_table.iter_rows(named=True)
        },
        "position_cap_sharpe": {
            f"{row['policy']}/{row['position_cap'] or 'none'}": _r(row["sharpe"], 3)
            for row in cap_table.iter_rows(named=True)
        },
        "benchmark_sharpe": {row["benchmark"]: _r(row["sharpe"]) for row in bench_metrics.iter_rows(named=True)},
        "bootstrap_n_boot": boot_cfg.n_boot,
    }
    if args.get("out"):
        _out = Path(str(args.get("out")))
        _out.mkdir(parents=True, exist_ok=True)
        nav_table.write_parquet(_out / "nav.parquet")
        hp_sweep.write_parquet(_out / "holding_period_sweep.parquet")
        policy_table.join(intervals.drop("sharpe"), on="policy", how="left", maintain_order="left").write_parquet(
            _out / "metrics.parquet"
        )
        per_type.write_parquet(_out / "per_type.parquet")
        (_out / "backtest-summary.json").write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
        print(f"backtest: {len(results)} policies on {ds.name}; outputs written to {_out}")
    return


if __name__ == "__main__":
    app.run()
