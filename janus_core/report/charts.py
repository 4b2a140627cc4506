"""Charts: altair chart builders shared by the review report and the notebooks, and ``chart_svg``,
which turns a chart into inline SVG with no network access (vl-convert bundles Vega and its fonts;
:mod:`janus_core.report.renderer` draws it, in a process of its own for the report).

Every builder takes a polars frame with named columns and returns an ``alt.Chart`` (or layered chart)
built from the frame's rows in the order given; callers sort explicitly. Encoding channels are given
as channel objects (``alt.X2("ci_high:Q")``, not the shorthand string): altair turns a string into
one through ``from_dict``, which hashes every schema class it knows (20 ms a channel), for the same spec.
``chart_svg`` renders a chart to SVG text and prefixes every element id it defines so that many
SVGs can live in one HTML page without their ids (clip paths, gradients) colliding.
"""

from __future__ import annotations

import json
import math
import re

import altair as alt
import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.report.renderer import svg_of_spec, vega_grammar_svg


class ChartStyle(BaseModel):
    """Size of a chart's plotting area in pixels (the SVG adds axes and legends around it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = 560
    height: int = 240


def _json_value(v: object) -> object:
    """A JSON-safe cell: dates as ISO strings, NaN and infinities as null (Vega skips them)."""
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _records(frame: pl.DataFrame) -> list[dict]:
    """Rows as plain dicts with JSON-safe values, in the frame's order."""
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def caar_by_type_chart(frame: pl.DataFrame, style: ChartStyle = ChartStyle()) -> alt.LayerChart:
    """CAAR per event type with its confidence band: a point at ``caar`` and a rule from ``ci_low``
    to ``ci_high`` for each ``event_type`` (CAAR_k = mean over events of type k of CAR_i)."""
    data = alt.Data(values=_records(frame.select("event_type", "caar", "ci_low", "ci_high")))
    base = alt.Chart(data).encode(y=alt.Y("event_type:N", sort=None, title="event type"))
    band = base.mark_rule(strokeWidth=2, color="#7a9cc6").encode(
        x=alt.X("ci_low:Q", title="CAAR (confidence band)"), x2=alt.X2("ci_high:Q")
    )
    point = base.mark_point(filled=True, size=50, color="#1f4e8c").encode(x=alt.X("caar:Q"))
    zero = (
        alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#999", strokeDash=[4, 3]).encode(x=alt.X("zero:Q"))
    )
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
    band = base.mark_area(opacity=0.12).encode(y=alt.Y("ci_low:Q", title="CAAR"), y2=alt.Y2("ci_high:Q"))
    line = base.mark_line(point=True).encode(y=alt.Y("caar:Q"))
    return alt.layer(band, line).properties(width=style.width, height=style.height)


def count_bar_chart(
    frame: pl.DataFrame, category: str, colour: str, count: str = "count", style: ChartStyle = ChartStyle()
) -> alt.Chart:
    """Stacked horizontal bars: ``count`` per ``category``, split by ``colour``."""
    data = alt.Data(values=_records(frame.select(category, colour, count)))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", sort=None, title=category.replace("_", " ")),
            x=alt.X(f"{count}:Q", title="events"),
            color=alt.Color(f"{colour}:N", title=colour.replace("_", " ")),
        )
        .properties(width=style.width, height=max(60, 22 * frame[category].n_unique()))
    )


def line_chart(
    frame: pl.DataFrame,
    x: str,
    y: str,
    series: str | None,
    *,
    x_type: str = "Q",
    x_title: str | None = None,
    y_title: str | None = None,
    rule_at: float | None = None,
    dash: str | None = None,
    style: ChartStyle = ChartStyle(),
) -> alt.Chart | alt.LayerChart:
    """A line of ``y`` against ``x`` (one per ``series`` when given; dash pattern by ``dash``, e.g.
    benchmark versus policy), with points on a quantitative x, and optionally a dashed vertical
    reference rule at ``x = rule_at`` (e.g. the trading cost on a tau sweep)."""
    cols = [c for c in dict.fromkeys((x, y, series, dash)) if c is not None]
    data = alt.Data(values=_records(frame.select(cols)))
    enc = {
        "x": alt.X(f"{x}:{x_type}", title=x_title or x),
        "y": alt.Y(f"{y}:Q", title=y_title or y, scale=alt.Scale(zero=False)),
    }
    if series is not None:
        enc["color"] = alt.Color(f"{series}:N", title=series.replace("_", " "))
    if dash is not None:
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=dash.replace("_", " "))
    chart = (
        alt.Chart(data).mark_line(point=x_type != "T").encode(**enc).properties(width=style.width, height=style.height)
    )
    if rule_at is None:
        return chart
    rule = (
        alt.Chart(alt.Data(values=[{"at": rule_at}])).mark_rule(color="#b22", strokeDash=[4, 3]).encode(x=alt.X("at:Q"))
    )
    return alt.layer(chart, rule)


def dot_chart(
    frame: pl.DataFrame, category: str, value: str, colour: str, *, x_title: str, style: ChartStyle = ChartStyle()
) -> alt.Chart:
    """One dot per row at ``value`` on the row of its ``category`` (in the frame's order), coloured
    by ``colour``: e.g. the mean reward of each strategy under each ablation variant."""
    data = alt.Data(values=_records(frame.select(category, value, colour)))
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=60)
        .encode(
            y=alt.Y(f"{category}:N", sort=None, title=category.replace("_", " ")),
            x=alt.X(f"{value}:Q", title=x_title),
            color=alt.Color(f"{colour}:N", title=colour.replace("_", " ")),
        )
        .properties(width=style.width, height=max(60, 24 * frame[category].n_unique()))
    )


_PROBE_TEXT = re.compile(r">([^<]*)</text>")


def vega_bins(lo: float, hi: float, maxbins: int) -> tuple[float, float, float]:
    """``(start, stop, step)`` of the bins Vega's ``bin`` transform lays over the data extent
    ``[lo, hi]`` with at most ``maxbins`` bins, asked from Vega itself (vl-convert renders a one-text
    chart that prints its bin signal, in the renderer's process when one is started; JavaScript
    prints each number so that it reads back exactly).

    Vega's rule (vega-statistics ``bin``, base 10, divide [5, 2], nice) takes step = 10^(round(log10
    span) - ceil(log10 maxbins)), grown x10 and shrunk /5, /2 to fit ``maxbins``, then start =
    floor(lo / step + eps) x step; it runs through the JavaScript engine's ``log`` and ``pow``, whose
    last bits differ from Python's (``Math.pow(10, -5)`` is 9.999999999999999e-06 there), so the
    bins are read from Vega rather than recomputed. stop = start + ceil((stop_nice - start) / step)
    x step, as Vega's bin transform re-derives it."""
    spec = {
        "width": 1,
        "height": 1,
        "data": [
            {
                "name": "probe",
                "values": [],
                "transform": [{"type": "bin", "field": "v", "extent": [lo, hi], "maxbins": maxbins, "signal": "bins"}],
            }
        ],
        "marks": [
            {
                "type": "text",
                "encode": {"enter": {"text": {"signal": "bins.start + ' ' + bins.step + ' ' + bins.stop"}}},
            }
        ],
    }
    start, step, stop = (float(x) for x in _PROBE_TEXT.findall(vega_grammar_svg(json.dumps(spec)))[0].split())
    return start, start + math.ceil((stop - start) / step) * step, step


def histogram_counts(frame: pl.DataFrame, value: str, series: str | None = None, *, maxbins: int = 40) -> pl.DataFrame:
    """The bars of a histogram of ``value`` (one row per non-empty bin, and ``series`` when given):
    ``bin_start``, ``bin_end``, ``series``, ``count``, in the order each bar's first row appears in
    ``frame``. The bins are Vega's (:func:`vega_bins` over the extent of the finite values) and a
    value v falls in the bin starting at start + step x floor(1e-14 + (min(max(v, start), stop - step)
    - start) / step), Vega's rule; null and non-finite values are left out, as Vega leaves them out."""
    keys = [series] if series is not None else []
    finite = frame.select(value, *keys).filter(pl.col(value).is_finite())
    out = {"bin_start": pl.Float64, "bin_end": pl.Float64, **({series: frame.schema[series]} if series else {})}
    if finite.height == 0:
        return pl.DataFrame(schema={**out, "count": pl.UInt32})
    values = finite[value].cast(pl.Float64).to_numpy()
    start, stop, step = vega_bins(float(values.min()), float(values.max()), maxbins)
    clamped = np.maximum(start, np.minimum(values, stop - step))
    bin_start = start + step * np.floor(1e-14 + (clamped - start) / step)
    return (
        finite.with_columns(pl.Series("bin_start", bin_start))
        .group_by("bin_start", *keys, maintain_order=True)
        .agg(pl.len().alias("count"))
        .select(
            "bin_start",
            (start + step * (1 + (pl.col("bin_start") - start) / step)).alias("bin_end"),  # Vega's bin1
            *keys,
            "count",
        )
    )


def histogram_chart(
    frame: pl.DataFrame,
    value: str,
    series: str | None = None,
    *,
    bins: int = 40,
    title: str | None = None,
    style: ChartStyle = ChartStyle(),
) -> alt.Chart:
    """Histogram of ``value`` with at most ``bins`` bins (stacked by ``series`` when given).

    Only the bars reach the chart (:func:`histogram_counts`), never the rows: each bar is one data
    point at the middle of its bin with its count, binned again by Vega over the extent of the rows
    (given explicitly), so the chart and its SVG are those of the row-level histogram."""
    keys = [series] if series is not None else []
    counts = histogram_counts(frame, value, series, maxbins=bins)
    weight = next(c for c in ("count", "_count", "__count") if c not in (value, series))
    bars = counts.select(
        ((pl.col("bin_start") + pl.col("bin_end")) / 2).alias(value), *keys, pl.col("count").alias(weight)
    )
    finite = frame[value].filter(frame[value].is_finite())
    extent = [float(finite.min()), float(finite.max())] if finite.len() else alt.Undefined
    enc = {
        "x": alt.X(f"{value}:Q", bin=alt.Bin(maxbins=bins, extent=extent), title=title or value),
        "y": alt.Y(f"sum({weight}):Q", title="count"),
    }
    if series is not None:
        enc["color"] = alt.Color(f"{series}:N", title=series.replace("_", " "))
    data = alt.Data(values=_records(bars))
    return alt.Chart(data).mark_bar().encode(**enc).properties(width=style.width, height=style.height)


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
    rule = base.mark_rule(strokeWidth=2, color="#7a9cc6").encode(
        x=alt.X(f"{low}:Q", title=x_title), x2=alt.X2(f"{high}:Q")
    )
    point = base.mark_point(filled=True, size=50, color="#1f4e8c").encode(x=alt.X(f"{estimate}:Q"))
    layers = [rule, point]
    if zero_rule:
        layers.append(
            alt.Chart(alt.Data(values=[{"zero": 0}]))
            .mark_rule(color="#999", strokeDash=[4, 3])
            .encode(x=alt.X("zero:Q"))
        )
    return alt.layer(*layers).properties(width=style.width, height=max(60, 24 * frame.height))


#: Colours of :func:`ranked_bar_chart` with ``signed``: gains and losses.
GAIN, LOSS = "#2ca02c", "#d62728"


def _tooltip(frame: pl.DataFrame, columns: list[str]) -> list[alt.Tooltip]:
    """Tooltips for ``columns``: floats with 4 decimals, integers as they are, dates as dates, the
    rest as text."""
    out = []
    for c in columns:
        dtype = frame.schema[c]
        if dtype.is_float():
            out.append(alt.Tooltip(f"{c}:Q", format=".4f"))
        elif dtype.is_integer():
            out.append(alt.Tooltip(f"{c}:Q", format=","))
        elif dtype.is_temporal():
            out.append(alt.Tooltip(f"{c}:T"))
        else:
            out.append(alt.Tooltip(f"{c}:N"))
    return out


def ranked_bar_chart(
    frame: pl.DataFrame,
    category: str,
    value: str,
    *,
    x_title: str,
    signed: bool = False,
    tooltip: tuple[str, ...] = (),
    style: ChartStyle = ChartStyle(),
) -> alt.Chart:
    """Horizontal bars of ``value`` per ``category``, largest at the top (e.g. events per type);
    ``signed`` colours gains green and losses red (e.g. P&L or CAAR per type)."""
    cols = list(dict.fromkeys((category, value, *tooltip)))
    data = alt.Data(values=_records(frame.select(cols)))
    enc = {
        "x": alt.X(f"{value}:Q", title=x_title),
        "y": alt.Y(f"{category}:N", sort="-x", title=None),
        "tooltip": _tooltip(frame, cols),
    }
    if signed:
        enc["color"] = alt.condition(f"datum.{value} > 0", alt.value(GAIN), alt.value(LOSS))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(**enc)
        .properties(width=style.width, height=max(60, 22 * frame[category].n_unique()))
    )


def stacked_bar_chart(
    frame: pl.DataFrame,
    category: str,
    value: str,
    colour: str,
    *,
    x_title: str,
    normalize: bool = False,
    palette: dict[str, str] | None = None,
    style: ChartStyle = ChartStyle(),
) -> alt.Chart:
    """Horizontal bars of ``value`` per ``category`` (in the frame's order) stacked by ``colour``;
    ``normalize`` stacks shares of 100% (e.g. sentiment within each event type); ``palette`` fixes
    the colour of each ``colour`` value (in that order)."""
    cols = list(dict.fromkeys([category, value, colour]))
    data = alt.Data(values=_records(frame.select(cols)))
    scale = alt.Scale(domain=list(palette), range=list(palette.values())) if palette else alt.Undefined
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", stack="normalize" if normalize else "zero", title=x_title),
            y=alt.Y(f"{category}:N", sort=None, title=None),
            color=alt.Color(f"{colour}:N", title=colour.replace("_", " "), scale=scale),
            tooltip=_tooltip(frame, cols),
        )
        .properties(width=style.width, height=max(60, 22 * frame[category].n_unique()))
    )


def grouped_bar_chart(
    frame: pl.DataFrame, category: str, value: str, group: str, *, x_title: str, style: ChartStyle = ChartStyle()
) -> alt.Chart:
    """Horizontal bars of ``value`` per ``category``, one bar per ``group`` side by side (e.g. the
    best constant policy's reward next to the oracle's, per action)."""
    cols = list(dict.fromkeys([category, value, group]))
    data = alt.Data(values=_records(frame.select(cols)))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", sort=None, title=category.replace("_", " ")),
            x=alt.X(f"{value}:Q", title=x_title),
            color=alt.Color(f"{group}:N", title=None),
            yOffset=f"{group}:N",
            tooltip=_tooltip(frame, cols),
        )
        .properties(width=style.width, height=max(60, 16 * frame.height))
    )


def monthly_bar_chart(
    frame: pl.DataFrame, month: str, value: str, colour: str, *, y_title: str, style: ChartStyle = ChartStyle()
) -> alt.Chart:
    """Vertical bars of ``value`` per calendar ``month`` (a date column), stacked by ``colour``."""
    cols = list(dict.fromkeys([month, value, colour]))
    data = alt.Data(values=_records(frame.select(cols)))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"yearmonth({month}):T", title=month),
            y=alt.Y(f"{value}:Q", stack="zero", title=y_title),
            color=alt.Color(f"{colour}:N", title=colour.replace("_", " ")),
            tooltip=_tooltip(frame, cols),
        )
        .properties(width=style.width, height=style.height)
    )


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
            x2=alt.X2(f"{end}:Q"),
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
        base.mark_rule().encode(x=alt.X("min:Q", title=x_title), x2=alt.X2("max:Q")),
        base.mark_bar(size=14).encode(x=alt.X("q25:Q"), x2=alt.X2("q75:Q")),
        base.mark_tick(size=18, thickness=2).encode(x=alt.X("median:Q"), color=alt.ColorValue("black")),
    ).properties(width=style.width, height=max(60, 30 * frame.height))


def chart_spec(chart: alt.TopLevelMixin) -> str:
    """The Vega-Lite spec of ``chart`` as JSON text (keys sorted), what the renderer draws."""
    # the specs are fixed by the builders above (and vl-convert rejects an invalid one); altair's
    # schema validation would walk every inline data row, seconds for a few thousand rows
    return json.dumps(chart.to_dict(validate=False), sort_keys=True)


def chart_svg(chart: alt.TopLevelMixin, id_prefix: str) -> str:
    """``chart`` as inline SVG text, drawn in this process, every element id renamed to
    ``{id_prefix}-{n}`` (:func:`janus_core.report.renderer.svg_of_spec`)."""
    return svg_of_spec(chart_spec(chart), id_prefix)
