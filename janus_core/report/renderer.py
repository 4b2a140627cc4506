"""The charts' renderer: vl-convert (Vega in an embedded JavaScript runtime, fonts bundled, no
network) turns a Vega-Lite spec into SVG text, and :func:`svg_of_spec` renames the element ids.

vl-convert holds the interpreter lock while it draws (tens of milliseconds a chart) and its runtime
takes about half a second to start, on the first conversion of a process. So the report draws its
charts in a process of their own: :func:`start_renderer` starts one (``python -m
janus_core.report.renderer``: :func:`serve`, a fresh interpreter that imports this module and
vl-convert only, talking JSON lines over its stdin and stdout) and its runtime, and returns at
once; :func:`render_later` hands it a spec. The export starts it before it builds the evidence, so the
runtime starts on the other core, and while the charts are drawn the report's Python work goes on.
Without a started renderer (or if its process cannot be started or dies) a chart is drawn in this
process: the same SVG, since vl-convert draws a spec the same way in any process and
:func:`svg_of_spec` renames the ids it numbers per process.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass

import vl_convert as vlc

_ID_DEF = re.compile(r'\bid="([^"]+)"')
_ID_USE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')

#: A one-point chart drawn only to start a renderer's JavaScript runtime.
_START_SPEC = json.dumps(
    {"data": {"values": [{"x": 0}]}, "mark": "point", "encoding": {"x": {"field": "x", "type": "quantitative"}}}
)


def vega_svg(spec: str) -> str:
    """vl-convert's SVG of the Vega-Lite ``spec`` (JSON text), its ids as vl-convert numbers them."""
    return vlc.vegalite_to_svg(spec)


def vega_grammar_svg(spec: str) -> str:
    """vl-convert's SVG of the Vega (not Vega-Lite) ``spec`` (JSON text), drawn by the started
    renderer (waiting for it) or, without one, in this process."""
    return PendingChart("vega", spec, "", _draw_later("vega", spec)).raw()


def rename_ids(svg: str, id_prefix: str) -> str:
    """``svg`` with every element ``id`` it defines, and every reference to one (``url(#id)``,
    ``href="#id"``), renamed to ``{id_prefix}-{n}``, n counted in order of first definition.

    vl-convert numbers ids (e.g. clip paths) with a counter that lives for its whole process, so the
    raw SVG of the same spec differs between calls; after renaming it depends only on the spec, and
    many charts can share one HTML page without their ids colliding."""
    names = {old: f"{id_prefix}-{n}" for n, old in enumerate(dict.fromkeys(_ID_DEF.findall(svg)), start=1)}
    return _ID_USE.sub(lambda m: m.group(1) + names.get(m.group(2), m.group(2)), svg)


def svg_of_spec(spec: str, id_prefix: str) -> str:
    """The chart of the Vega-Lite ``spec`` (JSON text) as inline SVG text, drawn in this process:
    :func:`rename_ids` of :func:`vega_svg`."""
    return rename_ids(vega_svg(spec), id_prefix)


#: What a renderer draws, by request kind: a Vega-Lite spec or a Vega spec (JSON text).
_DRAW = {"vega-lite": vega_svg, "vega": vlc.vega_to_svg}


def serve() -> None:
    """The renderer's process: read one request per line on stdin (JSON: ``kind``, ``spec``), answer
    one line per request on stdout, in order (JSON: ``svg``, or ``error`` and its exception ``type``),
    until stdin closes. The answers go to the stdout this process was given; anything else written to
    stdout (by vl-convert's JavaScript runtime) goes to stderr, so it cannot break the protocol."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"svg": _DRAW[request["kind"]](request["spec"])}
        except Exception as exc:  # noqa: BLE001 - answered, so the report names it
            answer = {"error": str(exc), "type": type(exc).__name__}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def _drawing_error(answer: dict[str, str]) -> Exception:
    """The exception a failed draw raised in the renderer's process, as drawing here raises it:
    vl-convert's ``ValueError`` (an invalid spec) as such, anything else as a ``RuntimeError``."""
    if answer.get("type") == "ValueError":
        return ValueError(answer["error"])
    return RuntimeError(f"{answer.get('type')}: {answer['error']}")


class RendererGone(RuntimeError):
    """The renderer's process ended before it answered (the chart is then drawn in this process)."""


class _Worker:
    """One renderer process (:func:`serve`) and the futures of its requests, answered in order by a
    reader thread; every request still open when the process ends fails with :class:`RendererGone`."""

    def __init__(self, command: tuple[str, ...] = (sys.executable, "-m", "janus_core.report.renderer")) -> None:
        self.proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        self.lock = threading.Lock()
        self.waiting: deque[Future[str]] = deque()
        self.alive = True
        threading.Thread(target=self._read, name="janus-renderer-reader", daemon=True).start()

    def close(self) -> None:
        """End the process: close its input (it then exits) and wait for it, a few seconds at most."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()

    def submit(self, kind: str, spec: str) -> Future[str] | None:
        """The future SVG of ``spec``, or None when the process has ended."""
        future: Future[str] = Future()
        with self.lock:
            if not self.alive:
                return None
            self.waiting.append(future)
            try:
                self.proc.stdin.write(json.dumps({"kind": kind, "spec": spec}) + "\n")
                self.proc.stdin.flush()
            except OSError:
                self.waiting.pop()
                self.alive = False
                return None
        return future

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                answer = json.loads(line)
                with self.lock:
                    future = self.waiting.popleft()
                if "svg" in answer:
                    future.set_result(answer["svg"])
                else:
                    future.set_exception(_drawing_error(answer))
        except (ValueError, KeyError, IndexError, OSError):  # an answer out of protocol: no later one can be trusted
            self.proc.kill()
        finally:
            with self.lock:
                self.alive = False
                gone, self.waiting = list(self.waiting), deque()
            for future in gone:
                future.set_exception(RendererGone("the renderer process ended"))


class _Renderer:
    """The renderer process of this process, or None before :func:`start_renderer` and after a
    failure to start one; per process id, so a forked child never writes to its parent's."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.worker: _Worker | None = None
        self.pid: int | None = None

    def current(self) -> _Worker | None:
        with self.lock:
            return self.worker if self.pid == os.getpid() and self.worker is not None and self.worker.alive else None

    def end(self) -> None:
        """Kill this process's renderer process, if any (a later :func:`start_renderer` starts another)."""
        worker = self.current()
        if worker is not None:
            worker.proc.kill()

    def start(self) -> None:
        with self.lock:
            if self.pid == os.getpid() and self.worker is not None and self.worker.alive:
                return
            self.pid = os.getpid()
            self.worker = None
            if not sys.executable:  # an embedded interpreter: no Python to start, charts are drawn here
                return
            try:
                self.worker = _Worker()
            except OSError:  # no process can be started here: charts are drawn in this process
                return
            atexit.register(self.worker.close)
            self.worker.submit("vega-lite", _START_SPEC)  # starts its JavaScript runtime now


_RENDERER = _Renderer()
#: Seconds to wait for the renderer's answer (a chart takes well under one).
_ANSWER_TIMEOUT = 120.0


def start_renderer() -> None:
    """Start this process's renderer (once; a later call while it runs does nothing) and return at
    once: the process and its JavaScript runtime start in the background."""
    _RENDERER.start()


def _draw_later(kind: str, spec: str) -> Future[str]:
    """The future SVG of ``spec`` from the renderer, or, without one, drawn here and now."""
    worker = _RENDERER.current()
    future = worker.submit(kind, spec) if worker is not None else None
    if future is None:
        future = Future()
        try:
            future.set_result(_DRAW[kind](spec))
        except Exception as exc:  # noqa: BLE001 - raised by PendingChart.svg, where the chart is drawn
            future.set_exception(exc)
    return future


@dataclass(frozen=True)
class PendingChart:
    """A chart handed to the renderer (:func:`render_later`): the kind of its spec (``_DRAW``), the
    spec, its id prefix and the future of vl-convert's SVG."""

    kind: str
    spec: str
    id_prefix: str
    drawn: Future[str]

    def raw(self) -> str:
        """vl-convert's SVG, waiting for the renderer; drawn in this process instead when the
        renderer's process ended before it answered, or did not answer within ``_ANSWER_TIMEOUT``
        seconds."""
        try:
            return self.drawn.result(timeout=_ANSWER_TIMEOUT)
        except TimeoutError:  # a renderer this slow is stuck: it is ended, and every chart drawn here
            _RENDERER.end()
        except RendererGone:
            pass
        return _DRAW[self.kind](self.spec)

    def svg(self) -> str:
        """The chart as inline SVG text (:func:`rename_ids`)."""
        return rename_ids(self.raw(), self.id_prefix)


def render_later(spec: str, id_prefix: str) -> PendingChart:
    """The chart of the Vega-Lite ``spec`` with ids prefixed by ``id_prefix``, drawn by the started
    renderer, or here and now without one."""
    return PendingChart("vega-lite", spec, id_prefix, _draw_later("vega-lite", spec))


if __name__ == "__main__":
    serve()
