import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: event study (CAR)")


@app.cell
def _():
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl

    from janus_core.data.manifest import dataset_choices, load_dataset
    from janus_core.paths import WorkbenchPaths
    from janus_core.study import labels, significance
    from janus_core.study.car import CarConfig, estimation_abnormal_returns
    from janus_core.study.labels import car_study, car_summary, write_car_artifacts

    return (
        CarConfig,
        Path,
        WorkbenchPaths,
        alt,
        car_study,
        car_summary,
        dataset_choices,
        estimation_abnormal_returns,
        labels,
        load_dataset,
        mo,
        pl,
        significance,
        write_car_artifacts,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # Event study: from news to CAR

    Stage I of Janus-Q turns every news event into a label from the market's reaction. For each
    event, a normal-return model is fitted on an estimation window that ends a gap before the event;
    the abnormal return AR = r - (alpha + beta r_m) is optionally neutralised against style and industry
    factors, and summed over the event window into the **CAR**. Direction (with a neutral band) and
    strength (|CAR| against tau, tied by default to the round-trip trading cost) complete the label.

    Every input event appears once in the table, with its CAR or the reason it was excluded.
    Run headless: `python notebooks/car.py --dataset NAME --out DIR` writes `DIR/car.parquet` and
    `DIR/car-summary.json` (also `janus car --dataset NAME --out DIR`).
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
def _(dataset_picker, load_dataset, paths):
    ds = load_dataset(dataset_picker.value, paths)
    return (ds,)


@app.cell
def _(CarConfig, labels, mo):
    _d, _l = CarConfig(), labels.LabelConfig()
    model_picker = mo.ui.dropdown(options=["market", "market_adjusted", "constant_mean"], value=_d.model, label="Model")
    estimation_slider = mo.ui.slider(60, 250, step=10, value=_d.estimation_window, label="Estimation window (days)")
    gap_slider = mo.ui.slider(0, 30, value=_d.gap, label="Gap (days)")
    window_start = mo.ui.number(start=-5, stop=0, value=_d.event_window[0], label="Event window from")
    window_end = mo.ui.number(start=0, stop=10, value=_d.event_window[1], label="to")
    neutralize_box = mo.ui.checkbox(value=_d.risk_neutralize, label="Risk-neutralise (when exposures exist)")
    cost_input = mo.ui.number(start=0, stop=100, step=0.5, value=_l.round_trip_cost_bps, label="Round-trip cost (bps)")
    tau_input = mo.ui.number(start=0, stop=0.1, step=0.0005, value=0, label="tau (0 = the cost)")
    band_input = mo.ui.number(start=0, stop=0.01, step=0.0001, value=_l.neutral_band, label="Neutral band")
    mo.vstack(
        [
            mo.hstack([model_picker, estimation_slider, gap_slider], wrap=True),
            mo.hstack([window_start, window_end, neutralize_box], wrap=True),
            mo.hstack([cost_input, tau_input, band_input], wrap=True),
        ]
    )
    return (
        band_input,
        cost_input,
        estimation_slider,
        gap_slider,
        model_picker,
        neutralize_box,
        tau_input,
        window_end,
        window_start,
    )


@app.cell
def _(
    CarConfig,
    band_input,
    cost_input,
    estimation_slider,
    gap_slider,
    labels,
    model_picker,
    neutralize_box,
    tau_input,
    window_end,
    window_start,
):
    car_cfg = CarConfig(
        model=model_picker.value,
        estimation_window=estimation_slider.value,
        gap=gap_slider.value,
        event_window=(int(window_start.value), int(window_end.value)),
        min_estimation_obs=min(CarConfig().min_estimation_obs, estimation_slider.value),
        risk_neutralize=neutralize_box.value,
    )
    label_cfg = labels.LabelConfig(
        round_trip_cost_bps=cost_input.value, tau=tau_input.value or None, neutral_band=band_input.value
    )
    return car_cfg, label_cfg


@app.cell
def _(
    car_cfg,
    car_study,
    ds,
    estimation_abnormal_returns,
    label_cfg,
    significance,
):
    table = car_study(ds, car_cfg, label_cfg)
    aar = significance.aar_caar(table, first_day=car_cfg.event_window[0])
    _est = estimation_abnormal_returns(ds, car_cfg, table)
    tests = significance.significance_table(table, _est)
    daily_tests = significance.daily_significance(table, _est, first_day=car_cfg.event_window[0])
    return aar, daily_tests, table, tests


@app.cell
def _(car_cfg, ds, label_cfg, mo, table):
    _inc = table.filter(table["excluded_reason"].is_null())
    mo.md(
        f"""
        **{ds.name}**: {table.height:,} events, **{_inc.height:,}** with a CAR
        ({table.height - _inc.height:,} excluded). Model `{car_cfg.model}`, estimation
        {car_cfg.estimation_window} days, gap {car_cfg.gap}, window {list(car_cfg.event_window)},
        risk-neutralised: {bool(table["neutralized"].any())}. tau = {label_cfg.effective_tau:.4f},
        neutral band = {label_cfg.neutral_band:.4f}.
        """
    )
    return


@app.cell
def _(aar, alt, mo):
    _base = alt.Chart(alt.Data(values=aar.to_dicts())).encode(
        x=alt.X("rel_day:O", title="event day"), color=alt.Color("event_type:N", title="type")
    )
    _band = _base.mark_area(opacity=0.15).encode(y=alt.Y("ci_low:Q", title="CAAR"), y2="ci_high:Q")
    _line = _base.mark_line(point=True).encode(y="caar:Q", tooltip=["event_type:N", "rel_day:O", "n:Q", "aar:Q", "caar:Q", "caar_t:Q"])
    mo.vstack([mo.md("### CAAR by event type (95% band)"), alt.layer(_band, _line).properties(height=320)])
    return


@app.cell
def _(alt, mo, significance, table):
    _hist = (
        alt.Chart(alt.Data(values=significance.car_distribution(table, bins=60, limit=0.3).to_dicts()))
        .mark_bar(opacity=0.7)
        .encode(
            x=alt.X("bin_start:Q", bin="binned", title="CAR (clipped to +/-0.3)"),
            x2="bin_end:Q",
            y=alt.Y("n:Q", stack=True, title="events"),
            color=alt.Color("event_type:N", title="type"),
            tooltip=["event_type:N", "bin_start:Q", "bin_end:Q", "n:Q"],
        )
        .properties(height=260)
    )
    mo.vstack([mo.md("### CAR distribution"), _hist])
    return


@app.cell
def _(daily_tests, mo, tests):
    mo.vstack(
        [
            mo.md(
                "### Significance (full window): cross-sectional t, Patell Z, BMP, Kolari-Pynnonen, "
                "Corrado rank, generalised sign"
            ),
            mo.ui.table(tests, selection=None, page_size=12),
            mo.md("AAR tests by event day"),
            mo.ui.table(daily_tests, selection=None, page_size=12),
        ]
    )
    return


@app.cell
def _(labels, mo, pl, table):
    exclusions = (
        table.group_by(pl.col("excluded_reason").fill_null("(included)"))
        .len()
        .sort("len", "excluded_reason", descending=[True, False])
    )
    _split = (
        table.group_by("split_period", pl.col("split_excluded_reason").fill_null("(kept)"))
        .len()
        .sort(pl.col("split_period").replace_strict({s: i for i, s in enumerate(labels.SPLITS)}), "split_excluded_reason")
    )
    mo.vstack([
        mo.md("### Exclusions"),
        mo.ui.table(exclusions, selection=None),
        mo.md("### Chronological split: events purged (CAR window reaches the next split) or embargoed "
              "(first trading days of a split); they stay in the table with `split` null"),
        mo.ui.table(_split, selection=None),
    ])
    return


@app.cell
def _(alt, label_cfg, labels, mo, table):
    _cost = label_cfg.round_trip_cost_bps / 10_000
    sweep = labels.tau_sweep(table, [i * _cost / 4 for i in range(0, 41)], label_cfg.round_trip_cost_bps)
    _base = alt.Chart(alt.Data(values=sweep.to_dicts())).encode(x=alt.X("tau:Q", title="tau"))
    _share = _base.mark_line().encode(y=alt.Y("strong_share:Q", title="share of events labelled strong"))
    _net = _base.mark_line(color="#c44e52").encode(y=alt.Y("mean_net_strong:Q", title="mean |CAR| - cost of strong events"))
    _rule = alt.Chart(alt.Data(values=[{"tau": label_cfg.effective_tau}])).mark_rule(strokeDash=[4, 3]).encode(x="tau:Q")
    mo.vstack(
        [
            mo.md("### The strong/weak split against trading cost (dashed: the chosen tau)"),
            mo.hstack([alt.layer(_share, _rule).properties(height=220), alt.layer(_net, _rule).properties(height=220)]),
        ]
    )
    return


@app.cell
def _(
    Path,
    args,
    car_cfg,
    car_summary,
    label_cfg,
    table,
    tests,
    write_car_artifacts,
):
    summary = car_summary(table, car_cfg, label_cfg)
    summary["significance_all"] = {
        k: (round(v, 3) if isinstance(v, float) else v)
        for k, v in tests.filter(tests["event_type"] == "all").row(0, named=True).items()
        if k in ("n", "t_cs", "patell_z", "bmp_t", "kp_t", "corrado_z", "gsign_z")
    }
    if args.get("out"):
        _paths = write_car_artifacts(table, summary, Path(str(args.get("out"))))
        print(f"car: {table.height:,} events -> {_paths[0]}, {_paths[1]}")
    return


if __name__ == "__main__":
    app.run()
