import marimo

__generated_with = "0.25.2"
app = marimo.App(
    width="medium",
    app_title="Janus-Q: news events",
    sql_output="lazy-polars",
)


@app.cell
def _():
    import marimo as mo

    from janus_core.data import catalog
    from janus_core.data.manifest import load_dataset
    from janus_core.data.store import view_name
    from janus_core.data.workspace import dataset_choices
    from janus_core.report import charts
    from janus_core.report.formats import display_formats


    def chart_view(chart):
        """An altair chart as marimo's chart element, without selections: it serialises the chart
        without re-validating every inline row (about ten times faster than the default display)."""
        return mo.ui.altair_chart(chart, chart_selection=False, legend_selection=False)

    return (
        catalog,
        chart_view,
        charts,
        dataset_choices,
        display_formats,
        load_dataset,
        mo,
        view_name,
    )


@app.cell
def _(mo):
    mo.md(r"""
    # News events

    In Janus-Q a **news event**, not a price series, is the unit of decision. This notebook explores a
    dataset's events before any return is computed: how many of each of the paper's ten types, on which
    stocks and when, with what sentiment, and how the stock moved around one of them.

    Run headless: `python notebooks/events.py --dataset NAME [--out DIR]`.
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
def _(ds, mo):
    mo.md(f"""
    **{ds.name}** (version {ds.meta.version}, provenance `{ds.meta.provenance}`, exchange time zone
    `{ds.meta.exchange_timezone}`, news cut-off {ds.meta.news_cutoff}, as of {ds.meta.as_of}):
    {ds.events.height:,} events on {ds.events["symbol"].n_unique():,} symbols, {ds.prices.height:,} price rows.
    """)
    return


@app.cell
def _(catalog, ds, mo):
    _local = catalog.with_local_time(ds.events, ds.meta.exchange_timezone)
    type_filter = mo.ui.multiselect(
        options=sorted(ds.events["event_type"].unique().to_list()), label="Event types (none = all)"
    )
    symbol_filter = mo.ui.text(label="Symbols (comma separated)", placeholder="e.g. 600001.SH")
    date_filter = mo.ui.date_range(
        start=_local["published_date"].min(), stop=_local["published_date"].max(), label="Published (local)"
    )
    headline_search = mo.ui.text(label="Headline contains", placeholder="e.g. dividend")
    mo.hstack([type_filter, symbol_filter, date_filter, headline_search], wrap=True)
    return date_filter, headline_search, symbol_filter, type_filter


@app.cell
def _(catalog, date_filter, ds, headline_search, symbol_filter, type_filter):
    events = catalog.explore_events(ds, catalog.EventFilter(
        event_types=tuple(type_filter.value),
        symbols=tuple(s.strip() for s in symbol_filter.value.split(",") if s.strip()),
        start=date_filter.value[0],
        end=date_filter.value[1],
        query=headline_search.value,
    ))
    return (events,)


@app.cell
def _(chart_view, charts, events, mo):
    mo.vstack([
        mo.md(f"### {events.selected.height:,} events selected"),
        chart_view(charts.ranked_bar_chart(events.by_type, "event_type", "n", x_title="events")),
        mo.md("### Events over time (exchange-local months)"),
        chart_view(charts.monthly_bar_chart(events.monthly, "month", "n", "event_type", y_title="events")),
    ])
    return


@app.cell
def _(chart_view, charts, events, mo):
    mo.hstack([
        mo.vstack([mo.md("### Most covered symbols (top 20)"),
                   chart_view(charts.ranked_bar_chart(events.by_symbol.head(20), "symbol", "n", x_title="events",
                                                      style=charts.ChartStyle(width=280)))]),
        mo.vstack([mo.md("### Sentiment by type"),
                   chart_view(charts.stacked_bar_chart(
                       events.sentiment, "event_type", "share", "sentiment", x_title="share", normalize=True,
                       style=charts.ChartStyle(width=280),
                       palette={"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c",
                                "missing": "#e0e0e0"}))]),
    ])
    return


@app.cell
def _(display_formats, events, mo):
    _shown = events.selected.select("event_id", "published_local", "symbol", "event_type", "sentiment", "headline")
    event_table = mo.ui.table(_shown, selection="single", page_size=10, format_mapping=display_formats(_shown),
                              label="Select an event to see its price path")
    event_table
    return (event_table,)


@app.cell
def _(chart_view, charts, event_table, events, mo):
    _focus = events.focus(event_table.value["event_id"][0] if event_table.value.height else None)
    _path = events.path(_focus)
    mo.md("_No event selected._") if _path is None else mo.vstack([
        mo.md(f"### Price path around event `{_focus}` (closes rebased to day -1; dashed: day 0)"),
        chart_view(charts.line_chart(_path, "rel_day", "value", "series", x_title="trading days from publication",
                                     y_title="close, rebased to day -1", rule_at=0)),
    ])
    return


@app.cell
def _(catalog, choices, ds, view_name):
    conn = catalog.sql_engine(ds.name, choices.paths)
    events_view = view_name(ds.name, "events")
    return conn, events_view


@app.cell
def _(conn, events_view, mo):
    sql_counts = mo.sql(
        f"""
        SELECT event_type, count(*) AS n, count(DISTINCT symbol) AS symbols
        FROM {events_view}
        GROUP BY event_type
        ORDER BY n DESC, event_type
        """,
        engine=conn
    )
    return (sql_counts,)


@app.cell
def _(args, events, sql_counts):
    if args.get("out"):
        _summary = events.write(str(args.get("out")), sql_counts.collect())
        print(f"events: {_summary['event_count']:,} events of {_summary['dataset']}; summary written to "
              f"{args.get('out')}/events-summary.json")
    return


if __name__ == "__main__":
    app.run()
