import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Janus-Q: news events")


@app.cell
def _():
    import json
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl

    from janus_core.data import catalog, store
    from janus_core.data.manifest import dataset_choices, load_dataset
    from janus_core.paths import WorkbenchPaths

    return (
        Path,
        WorkbenchPaths,
        alt,
        catalog,
        dataset_choices,
        json,
        load_dataset,
        mo,
        pl,
        store,
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
def _(ds, mo):
    mo.md(
        f"""
        **{ds.name}** (version {ds.meta.version}, provenance `{ds.meta.provenance}`, exchange time zone
        `{ds.meta.exchange_timezone}`, news cut-off {ds.meta.news_cutoff}, as of {ds.meta.as_of}):
        {ds.events.height:,} events on {ds.events["symbol"].n_unique():,} symbols,
        {ds.prices.height:,} price rows.
        """
    )
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
    event_filter = catalog.EventFilter(
        event_types=tuple(type_filter.value),
        symbols=tuple(s.strip() for s in symbol_filter.value.split(",") if s.strip()),
        start=date_filter.value[0],
        end=date_filter.value[1],
        query=headline_search.value,
    )
    selected = catalog.filter_events(ds.events, event_filter, ds.meta.exchange_timezone)
    return (selected,)


@app.cell
def _(alt, catalog, mo, selected):
    by_type = catalog.counts_by(selected, "event_type")
    _chart = (
        alt.Chart(by_type)
        .mark_bar()
        .encode(
            x=alt.X("n:Q", title="events"),
            y=alt.Y("event_type:N", sort="-x", title=None),
            tooltip=["event_type", "n"],
        )
        .properties(title="Events by type", height=260)
    )
    mo.vstack([mo.md(f"### {selected.height:,} events selected"), _chart])
    return (by_type,)


@app.cell
def _(alt, catalog, ds, selected):
    monthly = catalog.monthly_counts(selected, ds.meta.exchange_timezone)
    (
        alt.Chart(monthly)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month):T", title="month (exchange local)"),
            y=alt.Y("n:Q", stack=True, title="events"),
            color=alt.Color("event_type:N", title="type"),
            tooltip=["month", "event_type", "n"],
        )
        .properties(title="Events over time", height=240)
    )
    return (monthly,)


@app.cell
def _(alt, catalog, mo, selected):
    by_symbol = catalog.counts_by(selected, "symbol")
    sentiment = catalog.sentiment_by_type(selected)
    _symbols = (
        alt.Chart(by_symbol.head(20))
        .mark_bar()
        .encode(x="n:Q", y=alt.Y("symbol:N", sort="-x"), tooltip=["symbol", "n"])
        .properties(title="Most covered symbols (top 20)", height=300)
    )
    _sentiment = (
        alt.Chart(sentiment)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", stack="normalize", title="share"),
            y=alt.Y("event_type:N", title=None),
            color=alt.Color(
                "sentiment:N",
                scale=alt.Scale(
                    domain=["negative", "neutral", "positive", "missing"],
                    range=["#d62728", "#9e9e9e", "#2ca02c", "#e0e0e0"],
                ),
            ),
            tooltip=["event_type", "sentiment", "n", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(title="Sentiment by type", height=300)
    )
    mo.hstack([_symbols, _sentiment])
    return by_symbol, sentiment


@app.cell
def _(mo, selected):
    event_table = mo.ui.table(
        selected.select("event_id", "published_local", "symbol", "event_type", "sentiment", "headline"),
        selection="single",
        page_size=10,
        label="Select an event to see its price path",
    )
    event_table
    return (event_table,)


@app.cell
def _(alt, catalog, ds, event_table, mo, selected):
    _picked = event_table.value
    focus_id = _picked["event_id"][0] if _picked.height else (selected["event_id"][0] if selected.height else None)
    path = catalog.price_path(ds, focus_id) if focus_id is not None else None
    if path is None:
        _view = mo.md("_No event selected._")
    else:
        _line = (
            alt.Chart(path)
            .mark_line(point=True)
            .encode(
                x=alt.X("rel_day:Q", title="trading days from publication"),
                y=alt.Y("value:Q", scale=alt.Scale(zero=False), title="close, rebased to day -1"),
                color=alt.Color("series:N"),
                tooltip=["date", "rel_day", "series", alt.Tooltip("value:Q", format=".4f"), "tradable"],
            )
        )
        _rule = alt.Chart(path.filter(path["rel_day"] == 0).head(1)).mark_rule(strokeDash=[4, 4]).encode(x="rel_day:Q")
        _view = (_line + _rule).properties(title=f"Price path around event {focus_id}", height=260)
    _view
    return (path,)


@app.cell
def _(ds, paths, store):
    conn = store.connect(paths, read_only=True)
    events_view = store.view_name(ds.name, "events")
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
        engine=conn,
    )
    return (sql_counts,)


@app.cell
def _(
    Path,
    args,
    by_symbol,
    by_type,
    ds,
    json,
    monthly,
    path,
    pl,
    selected,
    sentiment,
    sql_counts,
):
    summary = {
        "dataset": ds.name,
        "provenance": ds.meta.provenance,
        "event_count": selected.height,
        "symbol_count": by_symbol.height,
        "events_by_type": {r["event_type"]: r["n"] for r in by_type.sort("event_type").iter_rows(named=True)},
        "months": monthly["month"].n_unique(),
        "sentiment_share": {
            f"{r['event_type']}/{r['sentiment']}": round(r["share"], 4) for r in sentiment.iter_rows(named=True)
        },
        "sql_counts_match": pl.DataFrame(sql_counts).sort("event_type")["n"].to_list()
        == by_type.sort("event_type")["n"].to_list(),
        "price_path_rows": 0 if path is None else path.height,
    }
    if args.get("out"):
        _out = Path(str(args.get("out")))
        _out.mkdir(parents=True, exist_ok=True)
        (_out / "events-summary.json").write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
        print(f"events: {selected.height:,} events of {ds.name}; summary written to {_out / 'events-summary.json'}")
    return


if __name__ == "__main__":
    app.run()
