import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: backtest")


@app.cell
def _():
    import marimo as mo
    import polars as pl

    from janus_core.backtest import engine
    from janus_core.backtest import config
    from janus_core.backtest import study as bt
    from janus_core.backtest.metrics import BootstrapConfig
    from janus_core.data.manifest import load_dataset
    from janus_core.data.workspace import dataset_choices
    from janus_core.decide.policies import POLICIES
    from janus_core.report import charts
    from janus_core.report.formats import display_formats
    from janus_core.study.cache import cached_car_study
    from janus_core.study.car import CarConfig


    def chart_view(chart):
        """An altair chart as marimo's chart element, without selections: it serialises the chart
        without re-validating every inline row (about ten times faster than the default display)."""
        return mo.ui.altair_chart(chart, chart_selection=False, legend_selection=False)


    return (
        BootstrapConfig,
        CarConfig,
        POLICIES,
        bt,
        cached_car_study,
        chart_view,
        charts,
        config,
        dataset_choices,
        display_formats,
        engine,
        load_dataset,
        mo,
        pl,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # Backtest

    The paper's portfolio test of a decisions table: each event's decision enters at the open of
    its event day (the first session after the news), is held for **HP** trading days (the entry
    day is day 1; exit at the close of day HP), with each day's capital split across event types by
    **w_k**, the historical mean |CAR| of the type (historical split only), then equally within a
    type. Long/short, a configurable cost per side and an optional gross position cap; suspended or
    limit-locked entries and exits are skipped and counted, never imputed. Metrics are the paper's
    (Sharpe with population std x sqrt(252), MDD, TR, ARR, Calmar), and because the paper reports
    no uncertainty, every Sharpe ratio and directional accuracy comes with a bootstrap interval and
    a paired difference against a baseline policy.

    Change the backtest settings and press **Run backtests** (they apply together); every backtest
    already computed in this session is reused. The sensitivity sweeps (a hundred backtests) follow on
    their own button.
    Run headless: `python notebooks/backtest.py --dataset NAME [--out DIR]`.
    """)
    return


@app.cell
def _(dataset_choices, mo):
    args = mo.cli_args()
    choices = dataset_choices(args.get("dataset"))
    if choices.problem and mo.app_meta().mode == "script":
        raise SystemExit(choices.problem)
    dataset_picker = mo.ui.dropdown(options=list(choices.options), value=choices.value, label="Dataset")
    mo.vstack([dataset_picker, mo.md(choices.note),
               mo.callout(mo.md(choices.problem), kind="warn") if choices.problem else mo.md("")])
    return args, choices, dataset_picker


@app.cell
def _(
    CarConfig,
    cached_car_study,
    choices,
    dataset_picker,
    engine,
    load_dataset,
    mo,
):
    mo.stop(dataset_picker.value is None, mo.md("_No dataset is built yet: see above._"))
    ds = load_dataset(dataset_picker.value, choices.paths)
    labelled = cached_car_study(ds, CarConfig(), cache_dir=choices.paths.cache_dir)
    type_weights = engine.historical_type_weights(labelled)
    return ds, labelled, type_weights


@app.cell
def _(POLICIES, bt, mo):
    _d = bt.BacktestStudyConfig()
    _splits = ["test", "validation", "train"]
    backtest_form = mo.Html(
        "<p>{policies} {window}</p><p>{holding_period} {round_trip_cost_bps} {position_cap} {weighting}</p>"
    ).batch(
        policies=mo.ui.multiselect(options=list(POLICIES), value=list(_d.policies), label="Policies"),
        window=mo.ui.dropdown(options=_splits, value=_splits[0], label="Backtest window (split)"),
        holding_period=mo.ui.slider(1, 10, value=_d.backtest.holding_period, label="Holding period (days)",
                                    show_value=True),
        round_trip_cost_bps=mo.ui.number(start=0.0, stop=100.0, step=0.5, value=_d.backtest.round_trip_cost_bps,
                                         label="Round-trip cost (bps, half per side)"),
        position_cap=mo.ui.dropdown(options={"none": None, "1x NAV": 1.0, "2x NAV": 2.0, "3x NAV": 3.0},
                                    value="none", label="Position cap"),
        weighting=mo.ui.radio(options=["type", "equal"], value=_d.backtest.weighting, label="Weighting",
                              inline=True),
    ).form(submit_button_label="Run backtests", bordered=False)
    baseline_picker = mo.ui.dropdown(options=list(POLICIES), value=_d.baseline, label="Baseline for differences")
    n_boot_slider = mo.ui.slider(200, 5000, step=100, value=_d.bootstrap.n_boot, label="Bootstrap resamples",
                                 show_value=True, debounce=True)
    mo.vstack([backtest_form, mo.hstack([baseline_picker, n_boot_slider], justify="start")])
    return backtest_form, baseline_picker, n_boot_slider


@app.cell
def _(backtest_form, config, mo):
    _v = backtest_form.value if backtest_form.value is not None else backtest_form.element.value
    mo.stop(not _v["policies"], mo.md("_Pick at least one policy._"))
    window, policies = _v["window"], tuple(sorted(_v["policies"]))
    bt_cfg = config.BacktestConfig(holding_period=_v["holding_period"], round_trip_cost_bps=float(_v["round_trip_cost_bps"]),
                                   position_cap=_v["position_cap"], weighting=_v["weighting"])
    return bt_cfg, policies, window


@app.cell
def _(bt, config, ds, engine, labelled, mo, type_weights):
    @mo.cache
    def decisions_of(snapshot: str, window: str, policy: str):
        """A policy's decisions on the window's events (``bt.policy_decisions``)."""
        return bt.policy_decisions(labelled, window, policy)

    @mo.cache
    def backtest_of(snapshot: str, window: str, policy: str, cfg_json: str):
        """One policy's backtest under one config, keyed on the dataset's content and the config, so
        the main run and every sweep share the points they have in common."""
        return engine.run_backtest(ds, decisions_of(snapshot, window, policy), bt.window_events(labelled, window),
                                   config.BacktestConfig.model_validate_json(cfg_json), type_weights)

    def runner(window: str, policy: str):
        """``backtest_of`` for one policy, as the ``run`` of ``bt.policy_sweep``."""
        return lambda cfg: backtest_of(ds.meta.snapshot_hash, window, policy, cfg.model_dump_json())

    return decisions_of, runner


@app.cell
def _(bt, bt_cfg, decisions_of, ds, labelled, mo, policies, runner, window):
    window_events = bt.window_events(labelled, window)
    mo.stop(window_events.is_empty(), mo.md(f"_No event of {ds.name} falls in the {window} split._"))
    decisions = {_p: decisions_of(ds.meta.snapshot_hash, window, _p) for _p in policies}
    results = {_p: runner(window, _p)(bt_cfg) for _p in policies}
    return decisions, results, window_events


@app.cell
def _(
    bt,
    chart_view,
    charts,
    decisions,
    display_formats,
    ds,
    mo,
    results,
    window,
    window_events,
):
    bench_metrics, nav_table = bt.benchmark_tables(ds, results)
    policy_table = bt.policy_table(results, decisions, window_events)
    mo.vstack([
        mo.md(f"### NAV per policy against the benchmarks ({window} window)"),
        chart_view(charts.line_chart(nav_table, "date", "nav", "series", x_type="T", x_title="date", y_title="NAV")),
        mo.md("### Policies (paper metrics)"),
        mo.ui.table(policy_table, selection=None, format_mapping=display_formats(policy_table)),
        mo.md("Benchmarks, buy and hold:"),
        mo.ui.table(bench_metrics, selection=None, format_mapping=display_formats(bench_metrics)),
    ])
    return bench_metrics, nav_table, policy_table


@app.cell
def _(mo):
    sweep_button = mo.ui.run_button(label="Run the sensitivity sweeps")
    mo.vstack([
        mo.md("### Sensitivity: holding period 1..10, type versus equal weighting, position caps"),
        mo.md("Computed when the notebook opens and on this button after the settings change (14 backtests "
              "per policy; points already computed are reused)."),
        sweep_button,
    ])
    return (sweep_button,)


@app.cell
def _(
    backtest_form,
    bt,
    bt_cfg,
    mo,
    pl,
    policies,
    runner,
    sweep_button,
    window,
):
    _wanted = sweep_button.value or backtest_form.value is None or mo.app_meta().mode == "script"
    mo.stop(not _wanted, mo.md("_Press **Run the sensitivity sweeps** for these settings._"))
    _values = bt.BacktestStudyConfig().sweep_values
    sweeps = {
        _field: pl.concat([bt.policy_sweep(_p, bt_cfg, _field, _values(_field), runner(window, _p))
                           for _p in policies])
        for _field in bt.SWEEPS
    }
    return (sweeps,)


@app.cell
def _(chart_view, charts, display_formats, mo, sweeps):
    mo.vstack([
        mo.md("Holding-period sweep (HP = 1..10)"),
        chart_view(charts.line_chart(sweeps["holding_period"], "holding_period", "sharpe", "policy",
                                     x_title="holding period (days)", y_title="Sharpe ratio")),
        mo.md("Type (w_k) versus equal weighting"),
        mo.ui.table(sweeps["weighting"], selection=None, format_mapping=display_formats(sweeps["weighting"])),
        mo.md("Position cap: none, 1x, 2x, 3x NAV of gross entry notional"),
        mo.ui.table(sweeps["position_cap"], selection=None, format_mapping=display_formats(sweeps["position_cap"])),
    ])
    return


@app.cell
def _(mo, results):
    _active = [_p for _p, _r in sorted(results.items()) if _r.metrics["n_executed"] > 0]
    _default = "type_prior" if "type_prior" in _active else (_active or sorted(results))[0]
    type_policy_picker = mo.ui.dropdown(options=sorted(results), value=_default, label="Per-type results of")
    type_policy_picker
    return (type_policy_picker,)


@app.cell
def _(
    bt,
    chart_view,
    charts,
    display_formats,
    mo,
    pl,
    results,
    type_policy_picker,
):
    per_type = bt.per_type_table(results)
    _shown = per_type.filter(pl.col("policy") == type_policy_picker.value)
    mo.vstack([
        mo.md(f"### P&L by event type: {type_policy_picker.value} (NAV units, net of cost)"),
        chart_view(charts.ranked_bar_chart(_shown, "event_type", "pnl", x_title="P&L", signed=True,
                                           tooltip=("w", "n_decisions", "n_executed", "hit_rate", "mean_net_return"))),
        mo.ui.table(_shown, selection=None, format_mapping=display_formats(_shown)),
    ])
    return


@app.cell
def _(
    BootstrapConfig,
    baseline_picker,
    bt,
    decisions,
    mo,
    n_boot_slider,
    results,
    window_events,
):
    mo.stop(baseline_picker.value not in results, mo.md("_The baseline policy must be one of the picked policies._"))
    boot_cfg = BootstrapConfig(n_boot=n_boot_slider.value)
    intervals = bt.interval_table(results, decisions, window_events, baseline_picker.value, boot_cfg)
    return boot_cfg, intervals


@app.cell
def _(baseline_picker, chart_view, charts, display_formats, intervals, mo):
    _base = baseline_picker.value
    mo.vstack([
        mo.md(f"### Bootstrap intervals (95%; differences paired against `{_base}`)"),
        chart_view(charts.interval_chart(intervals, "policy", "sharpe", "sharpe_ci_low", "sharpe_ci_high",
                                         x_title="Sharpe ratio (stationary block bootstrap of daily returns)")),
        chart_view(charts.interval_chart(intervals, "policy", "sharpe_diff", "sharpe_diff_ci_low",
                                         "sharpe_diff_ci_high",
                                         x_title=f"Sharpe minus {_base}'s (paired on days)", zero_rule=True)),
        chart_view(charts.interval_chart(intervals, "policy", "da", "da_ci_low", "da_ci_high",
                                         x_title="directional accuracy (bootstrap over events)")),
        chart_view(charts.interval_chart(intervals, "policy", "da_diff", "da_diff_ci_low", "da_diff_ci_high",
                                         x_title=f"DA minus {_base}'s (paired on events)", zero_rule=True)),
        mo.ui.table(intervals, selection=None, format_mapping=display_formats(intervals)),
    ])
    return


@app.cell
def _(
    args,
    baseline_picker,
    bench_metrics,
    boot_cfg,
    bt,
    bt_cfg,
    decisions,
    ds,
    intervals,
    nav_table,
    policies,
    policy_table,
    results,
    sweeps,
    window,
    window_events,
):
    study = bt.BacktestStudy(
        dataset=ds,
        config=bt.BacktestStudyConfig(policies=policies, window=window, backtest=bt_cfg,
                                      baseline=baseline_picker.value, bootstrap=boot_cfg),
        window=window_events, decisions=decisions, results=results, benchmarks=bench_metrics,
        nav_table=nav_table, policies=policy_table, sweeps=sweeps, intervals=intervals,
    )
    if args.get("out"):
        study.write(str(args.get("out")))
        print(f"backtest: {len(results)} policies on {ds.name}; outputs written to {args.get('out')}")
    return


if __name__ == "__main__":
    app.run()
