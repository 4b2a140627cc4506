"""The chart builders the notebooks share with the report: each gives a valid Vega-Lite spec over the
rows it was given, with the encodings its docstring promises, and renders offline."""

from __future__ import annotations

import json
from datetime import date

import altair as alt
import charts_reference
import numpy as np
import polars as pl
import pytest

from janus_core.report import charts
from janus_core.report.formats import display_formats


def _spec(chart) -> dict:
    return chart.to_dict(validate=True)


def _values(spec: dict) -> list[dict]:
    layers = spec.get("layer", [spec])
    return next(layer["data"]["values"] for layer in [spec, *layers] if "data" in layer)


TYPES = pl.DataFrame(
    {"event_type": ["dividend", "violation", "financing"], "n": [5, 2, 9], "pnl": [0.01, -0.02, 0.005]}
)


def test_ranked_bars_sort_by_value_and_colour_by_sign():
    spec = _spec(charts.ranked_bar_chart(TYPES, "event_type", "pnl", x_title="P&L", signed=True, tooltip=("n",)))
    assert spec["encoding"]["y"]["sort"] == "-x"
    colour = spec["encoding"]["color"]
    assert colour["condition"]["value"] == charts.GAIN and colour["value"] == charts.LOSS
    assert _values(spec) == TYPES.select("event_type", "pnl", "n").to_dicts()
    assert "color" not in _spec(charts.ranked_bar_chart(TYPES, "event_type", "n", x_title="events"))["encoding"]


def test_stacked_bars_normalise_and_keep_a_fixed_palette():
    shares = pl.DataFrame(
        {"event_type": ["a", "a", "b"], "sentiment": ["negative", "positive", "missing"], "share": [0.25, 0.75, 1.0]}
    )
    palette = {"negative": "#d62728", "positive": "#2ca02c", "missing": "#e0e0e0"}
    spec = _spec(
        charts.stacked_bar_chart(
            shares, "event_type", "share", "sentiment", x_title="share", normalize=True, palette=palette
        )
    )
    assert spec["encoding"]["x"]["stack"] == "normalize"
    assert spec["encoding"]["color"]["scale"] == {"domain": list(palette), "range": list(palette.values())}


def test_grouped_monthly_binned_and_box_charts():
    grouped = pl.DataFrame({"action": ["hold", "long"], "variable": ["oracle", "best constant"], "value": [2.5, 0.1]})
    spec = _spec(charts.grouped_bar_chart(grouped, "action", "value", "variable", x_title="r"))
    assert spec["encoding"]["yOffset"] == {"field": "variable", "type": "nominal"}
    monthly = pl.DataFrame({"month": [date(2024, 1, 1), date(2024, 2, 1)], "event_type": ["a", "b"], "n": [3, 4]})
    spec = _spec(charts.monthly_bar_chart(monthly, "month", "n", "event_type", y_title="events"))
    assert spec["encoding"]["x"]["timeUnit"] == "yearmonth" and _values(spec)[0]["month"] == "2024-01-01"
    bins = pl.DataFrame({"event_type": ["a", "a"], "bin_start": [-0.1, 0.0], "bin_end": [0.0, 0.1], "n": [2, 3]})
    spec = _spec(charts.binned_histogram_chart(bins, "bin_start", "bin_end", "n", "event_type", x_title="CAR"))
    assert spec["encoding"]["x"]["bin"] == "binned" and spec["encoding"]["x2"] == {"field": "bin_end"}
    quantiles = pl.DataFrame(
        {
            "strategy_id": ["x", "y"],
            "n": [3, 3],
            "min": [0.0, 1.0],
            "q25": [0.5, 1.5],
            "median": [1.0, 2.0],
            "q75": [1.5, 2.5],
            "max": [2.0, 3.0],
        }
    )
    spec = _spec(charts.box_chart(quantiles, "strategy_id", x_title="reward"))
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rule", "bar", "tick"]


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.ranked_bar_chart(TYPES, "event_type", "n", x_title="events"),
        lambda: charts.stacked_bar_chart(TYPES, "event_type", "n", "event_type", x_title="events"),
    ],
)
def test_new_builders_render_offline(build):
    assert charts.chart_svg(build(), "t").startswith("<svg")


def test_display_formats_round_floats_for_people_and_group_integer_digits():
    frame = pl.DataFrame({"name": ["a"], "n": [12345], "caar": [0.005680605980490262], "t": [12.3456789]})
    formats = display_formats(frame)
    assert formats == {"n": "{:,d}", "caar": "{:.4g}", "t": "{:.4g}"}
    assert [formats[c].format(frame[c][0]) for c in formats] == ["12,345", "0.005681", "12.35"]


def _row_level_histogram(frame: pl.DataFrame, value: str, series: str | None, bins: int) -> object:
    """The reference: the histogram as it was drawn before pre-aggregation, every row shipped to Vega
    and binned and counted there (``count()``)."""
    cols = [c for c in (value, series) if c is not None]
    data = alt.Data(values=charts._records(frame.select(cols)))
    enc = {
        "x": alt.X(f"{value}:Q", bin=alt.Bin(maxbins=bins), title="t"),
        "y": alt.Y("count():Q", title="count"),
    }
    if series is not None:
        enc["color"] = alt.Color(f"{series}:N", title=series.replace("_", " "))
    return alt.Chart(data).mark_bar().encode(**enc).properties(width=560, height=240)


def _histogram_cases() -> list[tuple[pl.DataFrame, str | None, int]]:
    rng = np.random.default_rng(7)
    cases = []
    for n, scale, loc in ((2, 1e-3, 1.0), (3, 1e-9, -5.5), (40, 0.1, 100.0), (500, 1.0, 0.0), (300, 1e4, 3.0)):
        x = loc + rng.normal(0, scale, n)
        frame = pl.DataFrame({"v": x, "s": rng.choice(["a", "b", "c"], n)})
        cases += [(frame, None, 40), (frame, "s", int(rng.integers(2, 60)))]
    ties = pl.DataFrame({"v": np.round(rng.integers(-20, 20, 300) * 0.05, 10)})  # values on bin edges
    cases += [(ties, None, 40), (ties, None, 10)]
    cases += [
        (pl.DataFrame({"v": [0.0, 0.0, 0.0]}), None, 40),  # one value: span from |v| or 1
        (pl.DataFrame({"v": [5.0, 5.0]}), None, 40),
        (pl.DataFrame({"v": [None, 1.0, float("nan"), 2.0, float("inf"), -float("inf")]}), None, 40),
        (pl.DataFrame({"v": [None, 1.0, 2.0, 3.0], "s": ["z", None, "a", "a"]}), "s", 40),  # null series
        (pl.DataFrame({"v": [None, None]}, schema={"v": pl.Float64}), None, 40),  # nothing to count
        (pl.DataFrame({"v": []}, schema={"v": pl.Float64}), None, 40),  # empty frame
        (pl.DataFrame({"v": [1, 2, 2, 3, 10]}), None, 40),  # integers
    ]
    return cases


def test_pre_aggregated_histogram_renders_the_row_level_svg():
    """Only the bars reach Vega, yet the SVG is byte for byte that of the row-level histogram, on
    random data of several scales, ties on bin edges, nulls, NaN, infinities, one value and none."""
    for frame, series, bins in _histogram_cases():
        expected = charts.chart_svg(_row_level_histogram(frame, "v", series, bins), "c")
        got = charts.chart_svg(charts.histogram_chart(frame, "v", series, bins=bins, title="t"), "c")
        assert got == expected, (frame.head(5), series, bins)


def test_histogram_counts_add_up_to_the_finite_rows_in_first_seen_order():
    frame = pl.DataFrame(
        {"v": [0.5, 3.2, 0.51, None, 3.3, float("nan"), 9.0], "s": ["b", "a", "b", "a", "a", "b", "b"]}
    )
    counts = charts.histogram_counts(frame, "v", "s", maxbins=5)
    assert counts["count"].sum() == 5
    assert counts["s"].to_list() == ["b", "a", "b"]  # the order each bar's first row appears
    start, stop, step = charts.vega_bins(0.5, 9.0, 5)
    assert counts["bin_start"].to_list() == [start, start + step * ((3.2 - start) // step), stop - step]
    assert charts.histogram_counts(frame.clear(), "v").height == 0


def _frames_with_edges(columns: dict[str, pl.DataType]) -> list[pl.DataFrame]:
    """Frames of ``columns``: several rows (ties, a null, a NaN), one row, none."""
    rows = {
        c: (["b", "a", "a", None] if t == pl.String else [0.5, -0.25, -0.25, float("nan")]) for c, t in columns.items()
    }
    full = pl.DataFrame(rows, schema=columns)
    return [full, full.head(1), full.clear()]


@pytest.mark.parametrize(
    ("name", "columns", "kwargs"),
    [
        (
            "caar_by_type_chart",
            {"event_type": pl.String, "caar": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64},
            {},
        ),
        (
            "caar_path_chart",
            {
                "event_type": pl.String,
                "rel_day": pl.Float64,
                "caar": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
            },
            {},
        ),
        (
            "interval_chart",
            {"policy": pl.String, "sharpe": pl.Float64, "lo": pl.Float64, "hi": pl.Float64},
            {"label": "policy", "estimate": "sharpe", "low": "lo", "high": "hi", "x_title": "Sharpe"},
        ),
        (
            "interval_chart",
            {"policy": pl.String, "sharpe": pl.Float64, "lo": pl.Float64, "hi": pl.Float64},
            {"label": "policy", "estimate": "sharpe", "low": "lo", "high": "hi", "x_title": "d", "zero_rule": True},
        ),
        (
            "binned_histogram_chart",
            {"series": pl.String, "start": pl.Float64, "end": pl.Float64, "n": pl.Float64},
            {"start": "start", "end": "end", "count": "n", "series": "series", "x_title": "CAR"},
        ),
        (
            "box_chart",
            {
                "k": pl.String,
                "min": pl.Float64,
                "q25": pl.Float64,
                "median": pl.Float64,
                "q75": pl.Float64,
                "max": pl.Float64,
            },
            {"category": "k", "x_title": "reward"},
        ),
    ],
)
def test_channel_objects_give_the_spec_of_the_shorthand_strings(name, columns, kwargs):
    """The builders that pass channel objects give, spec for spec, what the shorthand strings gave
    (tests/charts_reference.py): the same JSON, so the same SVG."""
    for frame in _frames_with_edges(columns):
        try:
            new = getattr(charts, name)(frame, **kwargs).to_dict(validate=False)
        except Exception as exc:  # noqa: BLE001 - then the reference must fail the same way
            with pytest.raises(type(exc)):
                getattr(charts_reference, name)(frame, **kwargs).to_dict(validate=False)
            continue
        old = getattr(charts_reference, name)(frame, **kwargs).to_dict(validate=False)
        assert json.dumps(new, sort_keys=True) == json.dumps(old, sort_keys=True)
    frame = _frames_with_edges(columns)[0].head(3)  # no NaN: Vega-Lite specs are JSON
    new_svg = charts.chart_svg(getattr(charts, name)(frame, **kwargs), "c")
    assert new_svg == charts.chart_svg(getattr(charts_reference, name)(frame, **kwargs), "c")
