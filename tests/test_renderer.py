"""The charts' renderer process (``janus_core.report.renderer``): a chart drawn there is the chart drawn
in this process, byte for byte; a failed draw raises as it does here; a renderer whose process dies
is replaced by drawing here."""

from __future__ import annotations

import json
import sys
from datetime import date

import polars as pl
import pytest

from janus_core.report import charts, renderer

FRAME = pl.DataFrame(
    {
        "event_type": ["earnings", "merger", "guidance", "earnings"],
        "n": [5, 3, 8, 2],
        "value": [0.5, -0.25, 1.75, None],
        "day": [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5)],
    }
)

BUILDERS = [
    lambda: charts.ranked_bar_chart(FRAME, "event_type", "n", x_title="events"),
    lambda: charts.stacked_bar_chart(FRAME, "event_type", "n", "event_type", x_title="events"),
    lambda: charts.histogram_chart(FRAME, "value", bins=10, title="t"),
]


@pytest.fixture(scope="module")
def started():
    renderer.start_renderer()
    worker = renderer._RENDERER.current()
    assert worker is not None, "the renderer process did not start"
    return worker


@pytest.mark.parametrize("build", BUILDERS)
def test_a_chart_drawn_by_the_renderer_process_is_the_chart_drawn_here(started, build):
    spec = charts.chart_spec(build())
    pending = renderer.render_later(spec, "c")
    assert pending.svg() == renderer.svg_of_spec(spec, "c")
    assert pending.svg().startswith("<svg")


@pytest.mark.parametrize("extent", [(-0.3, 1.7, 40), (0.0, 1e-6, 10), (-5.0, 5.0, 7)])
def test_vega_bins_are_the_same_asked_from_the_renderer_or_here(started, monkeypatch, extent):
    there = charts.vega_bins(*extent)
    monkeypatch.setattr(renderer._RENDERER, "current", lambda: None)  # no renderer: asked here
    assert charts.vega_bins(*extent) == there


def test_an_invalid_spec_raises_the_same_error_from_the_renderer_as_here(started):
    bad = json.dumps({"mark": 5})
    with pytest.raises(ValueError) as here:
        renderer.svg_of_spec(bad, "c")
    with pytest.raises(ValueError) as there:
        renderer.render_later(bad, "c").svg()
    assert str(there.value) == str(here.value)


def test_a_renderer_whose_process_died_is_replaced_by_drawing_here(started):
    spec = charts.chart_spec(BUILDERS[0]())
    expected = renderer.svg_of_spec(spec, "c")
    started.proc.kill()
    started.proc.wait()
    assert renderer.render_later(spec, "c").svg() == expected  # drawn here: the process is gone
    renderer.start_renderer()  # a new renderer process is started
    worker = renderer._RENDERER.current()
    assert worker is not None and worker is not started
    pending = renderer.render_later(spec, "c")
    assert pending.svg() == expected


GARBLED = "import sys; sys.stdin.readline(); print('not json', flush=True); sys.stdin.read()"
SILENT = "import sys, time; sys.stdin.readline(); time.sleep(60)"


def _with_worker(monkeypatch, code: str) -> renderer._Worker:
    worker = renderer._Worker((sys.executable, "-c", code))
    monkeypatch.setattr(renderer._RENDERER, "current", lambda: worker if worker.alive else None)
    monkeypatch.setattr(renderer._RENDERER, "end", lambda: worker.proc.kill())
    return worker


def test_an_answer_out_of_protocol_ends_the_renderer_and_the_chart_is_drawn_here(monkeypatch):
    worker = _with_worker(monkeypatch, GARBLED)
    spec = charts.chart_spec(BUILDERS[0]())
    pending = renderer.render_later(spec, "c")
    assert pending.svg() == renderer.svg_of_spec(spec, "c")
    with pytest.raises(renderer.RendererGone):
        pending.drawn.result()
    assert worker.proc.wait(timeout=10) is not None and not worker.alive


def test_a_renderer_that_does_not_answer_is_ended_and_the_chart_drawn_here(monkeypatch):
    worker = _with_worker(monkeypatch, SILENT)
    monkeypatch.setattr(renderer, "_ANSWER_TIMEOUT", 0.5)
    spec = charts.chart_spec(BUILDERS[1]())
    assert renderer.render_later(spec, "c").svg() == renderer.svg_of_spec(spec, "c")
    assert worker.proc.wait(timeout=10) is not None


NOISY = (
    "import os, janus_core.report.renderer as r; "
    "r._DRAW['vega-lite'] = lambda spec: (print('noise on stdout'), os.write(1, b'more noise\\n'), '<svg/>')[2]; "
    "r.serve()"
)


def test_what_the_renderer_writes_to_stdout_besides_its_answers_cannot_break_the_protocol(monkeypatch):
    worker = _with_worker(monkeypatch, NOISY)
    assert [renderer.render_later("{}", "c").raw() for _ in range(3)] == ["<svg/>"] * 3
    assert worker.alive


def test_without_a_python_to_start_the_charts_are_drawn_here(monkeypatch):
    monkeypatch.setattr(renderer.sys, "executable", "")
    monkeypatch.setattr(renderer, "_RENDERER", renderer._Renderer())
    renderer.start_renderer()
    assert renderer._RENDERER.current() is None
    spec = charts.chart_spec(BUILDERS[0]())
    assert renderer.render_later(spec, "c").svg() == renderer.svg_of_spec(spec, "c")
