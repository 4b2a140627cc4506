"""The chart builders of ``janus_core.report.charts`` that named encoding channels by shorthand strings
(``x2="ci_high:Q"``) or ``alt.value``, as they stood before the builders passed channel objects
(``alt.X2("ci_high:Q")``; commit 253ab5f), kept verbatim as the reference the library's builders must
match spec for spec (tests/test_charts.py). altair turns each such string into a channel object
through ``from_dict``, which hashes every schema class it knows: 20 ms a channel."""

from __future__ import annotations

import altair as alt
import polars as pl

from janus_core.report.charts import ChartStyle, _records, _tooltip


def caar_by_type_chart(frame: pl.DataFrame, style: ChartStyle = ChartStyle()) -> alt.LayerChart:
    """CAAR per event type with its confidence band: a point at ``caar`` and a rule from ``ci_low``
    to ``ci_high`` for each ``event_type`` (CAAR_k = mean over events of type k of CAR_i)."""
    data = alt.Data(values=_records(frame.select("event_type", "caar", "ci_low", "ci_high")))
    base = alt.Chart(data).encode(y=alt.Y("event_type:N", sort=None, title="event type"))
    band = base.mark_rule(strokeWidth=2, color="#7a9cc6").encode(
        x=alt.X("ci_low:Q", title="CAAR (confidence band)"), x2="ci_high:Q"
    )
    point = base.mark_point(filled=True, size=50, color="#1f4e8c").encode(x="caar:Q")
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#999", strokeDash=[4, 3]).encode(x="zero:Q")
    return alt.layer(band, point, zero).properties(width=style.width, height=max(style.height, 22 * frame.height))


def caar_path_chart(frame: pl.DataFrame, style: ChartStyle = ChartStyle()) -> alt.LayerChart:
    """CAAR through event time per event type: a line of ``caar`` against ``rel_day`` with a shaded
    band from ``ci_low`` to ``ci_high``, one colour per ``event_type``."""
    data = alt.Data(values=_records(frame.select("event_type", "rel_day", "caar", "ci_low", "ci_high")))
    base = alt.Chart(data).encode(
        x=alt.X(
            "rel_day:Q",
            title="trading days relative to the event",
            axis=alt.Axis(values=sorted(frame["rel_day"].unique().to_list()), format="d"),
        ),
        color=alt.Color("event_type:N", title="event type"),
    )
    band = base.mark_area(opacity=0.12).encode(y=alt.Y("ci_low:Q", title="CAAR"), y2="ci_high:Q")
    line = base.mark_line(point=True).encode(y="caar:Q")
    return alt.layer(band, line).properties(width=style.width, height=style.height)


def interval_chart(
    frame: pl.DataFrame,
    label: str,
    estimate: str,
    low: str,
    high: str,
    *,
    x_title: str,
    zero_rule: bool = False,
    style: ChartStyle = ChartStyle(),
) -> alt.LayerChart:
    """Point estimates with interval rules, one row per ``label`` (e.g. Sharpe with its bootstrap
    interval per policy); ``zero_rule`` adds a dashed line at 0 (for differences)."""
    data = alt.Data(values=_records(frame.select(label, estimate, low, high)))
    base = alt.Chart(data).encode(y=alt.Y(f"{label}:N", sort=None, title=label.replace("_", " ")))
    rule = base.mark_rule(strokeWidth=2, color="#7a9cc6").encode(x=alt.X(f"{low}:Q", title=x_title), x2=f"{high}:Q")
    point = base.mark_point(filled=True, size=50, color="#1f4e8c").encode(x=f"{estimate}:Q")
    layers = [rule, point]
    if zero_rule:
        layers.append(
            alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#999", strokeDash=[4, 3]).encode(x="zero:Q")
        )
    return alt.layer(*layers).properties(width=style.width, height=max(60, 24 * frame.height))


#: Colours of :func:`ranked_bar_chart` with ``signed``: gains and losses.
GAIN, LOSS = "#2ca02c", "#d62728"


def binned_histogram_chart(
    frame: pl.DataFrame,
    start: str,
    end: str,
    count: str,
    series: str,
    *,
    x_title: str,
    style: ChartStyle = ChartStyle(),
) -> alt.Chart:
    """A histogram already binned (one row per non-empty bin ``[start, end)`` with its ``count``),
    stacked by ``series``: e.g. ``significance.car_distribution``."""
    cols = list(dict.fromkeys([series, start, end, count]))
    data = alt.Data(values=_records(frame.select(cols)))
    return (
        alt.Chart(data)
        .mark_bar(opacity=0.8)
        .encode(
            x=alt.X(f"{start}:Q", bin="binned", title=x_title),
            x2=f"{end}:Q",
            y=alt.Y(f"{count}:Q", stack=True, title="count"),
            color=alt.Color(f"{series}:N", title=series.replace("_", " ")),
            tooltip=_tooltip(frame, cols),
        )
        .properties(width=style.width, height=style.height)
    )


def box_chart(frame: pl.DataFrame, category: str, *, x_title: str, style: ChartStyle = ChartStyle()) -> alt.LayerChart:
    """A box per ``category`` from precomputed quantiles (columns ``min, q25, median, q75, max``, e.g.
    ``reward.reward_quantiles``): a rule from min to max, a bar from q25 to q75, a tick at the median;
    categories ordered by median, highest first."""
    cols = [category, "min", "q25", "median", "q75", "max"]
    data = alt.Data(values=_records(frame.select(cols)))
    y = alt.Y(
        f"{category}:N", title=category.replace("_", " "), sort=alt.EncodingSortField("median", order="descending")
    )
    base = alt.Chart(data).encode(y=y, color=alt.Color(f"{category}:N", legend=None), tooltip=_tooltip(frame, cols))
    return alt.layer(
        base.mark_rule().encode(x=alt.X("min:Q", title=x_title), x2="max:Q"),
        base.mark_bar(size=14).encode(x="q25:Q", x2="q75:Q"),
        base.mark_tick(size=18, thickness=2).encode(x="median:Q", color=alt.value("black")),
    ).properties(width=style.width, height=max(60, 30 * frame.height))
