import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: event study (CAR)")


@app.cell
def _():
    import marimo as mo

    from janus_core.data.manifest import load_dataset
    from janus_core.data.workspace import dataset_choices
    from janus_core.report import charts
    from janus_core.report.formats import display_formats
    from janus_core.study import significance
    from janus_core.study.car import CarConfig
    from janus_core.study.event_study import event_study
    from janus_core.study.labels import LabelConfig


    def chart_view(chart):
        """An altair chart as marimo's chart element, without selections: it serialises the chart
        without re-validating every inline row (about ten times faster than the default display)."""
        return mo.ui.altair_chart(chart, chart_selection=False, legend_selection=False)

    return (
        CarConfig,
        LabelConfig,
        chart_view,
        charts,
        dataset_choices,
        display_formats,
        event_study,
        load_dataset,
        mo,
        significance,
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
    Change the settings and press **Run event study**: the study reruns once for all of them, and a
    study computed before (here or in another notebook) is read from the workspace's cache.
    Run headless: `python notebooks/car.py --dataset NAME --out DIR` writes `DIR/car.parquet` and
    `DIR/car-summary.json` (also `janus car --dataset NAME --out DIR`).
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
def _(choices, dataset_picker, load_dataset, mo):
    mo.stop(dataset_picker.value is None, mo.md("_No dataset is built yet: see above._"))
    ds = load_dataset(dataset_picker.value, choices.paths)
    return (ds,)


@app.cell
def _(CarConfig, LabelConfig, mo):
    _d, _l = CarConfig(), LabelConfig()
    study_form = mo.Html(
        "<p>{model} {estimation_window} {gap}</p><p>{window_start} {window_end} {risk_neutralize}</p>"
        "<p>{round_trip_cost_bps} {tau} {neutral_band}</p>"
    ).batch(
        model=mo.ui.dropdown(options=["market", "market_adjusted", "constant_mean"], value=_d.model, label="Model"),
        estimation_window=mo.ui.slider(60, 250, step=10, value=_d.estimation_window, show_value=True,
                                       label="Estimation window (days)"),
        gap=mo.ui.slider(0, 30, value=_d.gap, show_value=True, label="Gap (days)"),
        window_start=mo.ui.number(start=-5, stop=0, value=_d.event_window[0], label="Event window from"),
        window_end=mo.ui.number(start=0, stop=10, value=_d.event_window[1], label="to"),
        risk_neutralize=mo.ui.checkbox(value=_d.risk_neutralize, label="Risk-neutralise (when exposures exist)"),
        round_trip_cost_bps=mo.ui.number(start=0, stop=100, step=0.5, value=_l.round_trip_cost_bps,
                                         label="Round-trip cost (bps)"),
        tau=mo.ui.number(start=0, stop=0.1, step=0.0005, value=0, label="tau (0 = the cost)"),
        neutral_band=mo.ui.number(start=0, stop=0.01, step=0.0001, value=_l.neutral_band, label="Neutral band"),
    ).form(submit_button_label="Run event study", bordered=False)
    study_form
    return (study_form,)


@app.cell
def _(CarConfig, LabelConfig, study_form):
    _v = study_form.value if study_form.value is not None else study_form.element.value
    car_cfg = CarConfig(
        model=_v["model"],
        estimation_window=_v["estimation_window"],
        gap=_v["gap"],
        event_window=(int(_v["window_start"]), int(_v["window_end"])),
        min_estimation_obs=min(CarConfig().min_estimation_obs, _v["estimation_window"]),
        risk_neutralize=_v["risk_neutralize"],
    )
    label_cfg = LabelConfig(round_trip_cost_bps=_v["round_trip_cost_bps"], tau=_v["tau"] or None,
                            neutral_band=_v["neutral_band"])
    return car_cfg, label_cfg


@app.cell
def _(car_cfg, choices, ds, event_study, label_cfg):
    study = event_study(ds, car_cfg, label_cfg, cache_dir=choices.paths.cache_dir)
    return (study,)


@app.cell
def _(mo, study):
    _table = study.table
    _included = _table.filter(_table["excluded_reason"].is_null()).height
    mo.md(f"""
    **{study.dataset}**: {_table.height:,} events, **{_included:,}** with a CAR
    ({_table.height - _included:,} excluded). Model `{study.car.model}`, estimation
    {study.car.estimation_window} days, gap {study.car.gap}, window {list(study.car.event_window)},
    risk-neutralised: {bool(_table["neutralized"].any())}. tau = {study.label.effective_tau:.4f},
    neutral band = {study.label.neutral_band:.4f}.
    """)
    return


@app.cell
def _(chart_view, charts, mo, significance, study):
    mo.vstack([
        mo.md("### CAAR by event type through the event window (95% band)"),
        chart_view(charts.caar_path_chart(study.aar, style=charts.ChartStyle(height=320))),
        mo.md("### CAR distribution (clipped to +/-0.3)"),
        chart_view(charts.binned_histogram_chart(significance.car_distribution(study.table, bins=60, limit=0.3),
                                                 "bin_start", "bin_end", "n", "event_type", x_title="CAR")),
    ])
    return


@app.cell
def _(display_formats, mo, study):
    mo.vstack([
        mo.md("### Significance (full window): cross-sectional t, Patell Z, BMP, Kolari-Pynnonen, "
              "Corrado rank, generalised sign"),
        mo.ui.table(study.tests, selection=None, page_size=12, format_mapping=display_formats(study.tests)),
        mo.md("AAR tests by event day"),
        mo.ui.table(study.daily_tests, selection=None, page_size=12,
                    format_mapping=display_formats(study.daily_tests)),
        mo.md("### Exclusions"),
        mo.ui.table(study.exclusions(), selection=None),
    ])
    return


@app.cell
def _(chart_view, charts, mo, study):
    _sweep, _tau = study.tau_sweep(), study.label.effective_tau
    _style = charts.ChartStyle(width=320, height=220)
    mo.vstack([
        mo.md("### The strong/weak split against trading cost (dashed: the chosen tau)"),
        mo.hstack([
            chart_view(charts.line_chart(_sweep, "tau", "strong_share", None, rule_at=_tau, style=_style,
                                         y_title="share of events labelled strong")),
            chart_view(charts.line_chart(_sweep, "tau", "mean_net_strong", None, rule_at=_tau, style=_style,
                                         y_title="mean |CAR| - cost of strong events")),
        ]),
    ])
    return


@app.cell
def _(args, study):
    if args.get("out"):
        _paths = study.write(str(args.get("out")))
        print(f"car: {study.table.height:,} events -> {_paths[0]}, {_paths[1]}")
    return


if __name__ == "__main__":
    app.run()
