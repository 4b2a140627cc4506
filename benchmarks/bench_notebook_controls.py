"""Reaction time of every notebook control on the demo sample, measured in marimo's own kernel.

Each notebook is opened in a marimo edit-mode session (the kernel process ``marimo edit`` starts,
with the project's config), run once as when it opens, and then each control is changed the way the
browser changes it (an ``UpdateUIElementCommand`` with the element's new frontend value; a form is
submitted with all its fields). The reaction time is the wall time from sending the change to the
kernel's end-of-run notification, i.e. every dependent cell recomputed and its output serialised
(the browser's own drawing is not included). One change per control, in the order listed, each
from the state the previous one left; nothing is asserted (this is a measurement, not a test).

    uv run --frozen python benchmarks/bench_notebook_controls.py [NOTEBOOK ...]

Uses the workspace of ``JANUS_DATA_DIR``/``JANUS_MANIFEST_DIR``/``JANUS_STORE`` (default: the project's
``data/``) with ``synthetic-ashare`` built (and ``us-megacap``, when built, for the dataset pickers); the
evidence notebook's export writes under ``out/bench-evidence/``.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from marimo._config.manager import get_default_config_manager
from marimo._messaging.notification import CellNotification, CompletedRunNotification
from marimo._messaging.serde import deserialize_kernel_message
from marimo._runtime.commands import AppMetadata, UpdateUIElementCommand
from marimo._runtime.patches import extract_docstring_from_header
from marimo._session.consumer import SessionConsumer
from marimo._session.model import ConnectionState, SessionMode
from marimo._session.notebook import load_notebook
from marimo._session.requests import InstantiateNotebookRequest
from marimo._session.session import SessionImpl
from marimo._session.startup import SessionStartup
from marimo._types.ids import ConsumerId

from janus_core.data.workspace import dataset_choices

ROOT = Path(__file__).resolve().parents[1]
DATASET = "synthetic-ashare"
#: A second dataset to switch to, when built (``janus data build us-megacap``).
OTHER = "us-megacap"
_ELEMENT = re.compile(r"<marimo-ui-element object-id='([^']+)'[^>]*><marimo-([a-z-]+)([^>]*)>")
_LABEL = re.compile(r"data-label='([^']*)'")


class _Consumer(SessionConsumer):
    """Collects the kernel's notifications: errors per run and the end of each run."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.errors: list[str] = []
        self.ran: set[str] = set()

    @property
    def consumer_id(self) -> ConsumerId:
        return ConsumerId("bench")

    def notify(self, notification: Any) -> None:
        data = deserialize_kernel_message(notification)
        if isinstance(data, CellNotification) and data.status == "running":
            self.ran.add(data.cell_id)
        if isinstance(data, CellNotification) and data.output is not None and data.output.channel == "marimo-error":
            # a cell below an ``mo.stop`` (e.g. nothing exported yet) reports that as an "error": not one
            self.errors.extend(str(e) for e in data.output.data if "AncestorStopped" not in type(e).__name__)
        if isinstance(data, CompletedRunNotification):
            self.done.set()

    def on_attach(self, session: Any, event_bus: Any) -> None:
        return None

    def on_detach(self) -> None:
        return None

    def connection_state(self) -> ConnectionState:
        return ConnectionState.OPEN


class Notebook:
    """A notebook open in an edit-mode kernel session."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.consumer = _Consumer()
        self.session: SessionImpl | None = None

    async def open(self, cli_args: dict[str, str]) -> float:
        path = ROOT / "notebooks" / f"{self.name}.py"
        manager = load_notebook(str(path))
        config = get_default_config_manager(current_path=str(path))
        self.session = await SessionImpl.create(
            startup=SessionStartup(),
            initialization_id="_bench_",
            session_consumer=self.consumer,
            mode=SessionMode.EDIT,
            app_metadata=AppMetadata(
                query_params={},
                filename=str(path),
                cli_args=cli_args,
                argv=None,
                app_config=manager.app.config,
                docstring=extract_docstring_from_header(manager.app._app._header),
            ),
            app_file_manager=manager,
            config_manager=config,
            virtual_file_storage=None,
            redirect_console_to_browser=False,
            ttl_seconds=None,
            auto_instantiate=True,
        )
        started = time.perf_counter()
        self.consumer.done.clear()
        self.session.instantiate(InstantiateNotebookRequest(object_ids=[], values=[]), http_request=None)
        await self.consumer.done.wait()
        return time.perf_counter() - started

    def elements(self) -> dict[str, tuple[str, str]]:
        """Label (unescaped text) -> (object id, element kind) of every UI element on the page; for a
        form, the label is ``form:`` plus its submit button's label."""
        assert self.session is not None
        found: dict[str, tuple[str, str]] = {}
        for note in self.session.session_view.cell_notifications.values():
            out = note.output
            if out is None or not isinstance(out.data, str):
                continue
            for oid, kind, attrs in _ELEMENT.findall(out.data):
                if kind == "form":
                    label = re.search(r"data-submit-button-label='([^']*)'", attrs)
                    key = "form:" + json.loads(html.unescape(label.group(1))) if label else f"form:{oid}"
                else:
                    label = _LABEL.search(attrs)
                    text = json.loads(html.unescape(label.group(1))) if label else ""
                    key = re.sub(r"<[^>]+>", "", text or "").strip() or f"{kind}:{oid}"
                found.setdefault(key, (oid, kind))
        return found

    async def change(self, label: str, value: Any) -> tuple[float, list[str], int]:
        """Send ``value`` to the element labelled ``label``; seconds until the run ends, the errors and
        the number of cells that ran."""
        assert self.session is not None
        oid, _ = self.elements()[label]
        self.consumer.done.clear()
        self.consumer.errors.clear()
        self.consumer.ran.clear()
        started = time.perf_counter()
        self.session.put_control_request(
            UpdateUIElementCommand(object_ids=[oid], values=[value]), from_consumer_id=None
        )
        await self.consumer.done.wait()
        return time.perf_counter() - started, list(self.consumer.errors), len(self.consumer.ran)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


CAR_FORM = {
    "model": ["market"],
    "estimation_window": 120,
    "gap": 10,
    "window_start": 0,
    "window_end": 2,
    "risk_neutralize": True,
    "round_trip_cost_bps": 15.0,
    "tau": 0,
    "neutral_band": 0.0005,
}
BACKTEST_FORM = {
    "policies": ["oracle", "type_prior", "sentiment", "always_long", "always_hold", "random"],
    "window": ["test"],
    "holding_period": 2,
    "cost_bps": 5.0,
    "position_cap": ["none"],
    "weighting": "type",
}


#: A run button's frontend value counts its clicks.
_CLICKS = itertools.count(1)


def _with(form: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**form, **changes}


#: Per notebook: (what is changed, element label, new frontend value), applied in order.
CHANGES: dict[str, list[tuple[str, str, Any]]] = {
    "events": [
        ("event types: dividend", "Event types (none = all)", ["dividend"]),
        ("symbols: 600001.SH", "Symbols (comma separated)", "600001.SH"),
        ("symbols: cleared", "Symbols (comma separated)", ""),
        ("headline contains: profit", "Headline contains", "profit"),
        ("published: first half", "Published (local)", ["2023-01-01", "2023-06-30"]),
        ("table row selected", "Select an event to see its price path", ["3"]),
    ],
    "car": [
        ("model: market_adjusted", "form:Run event study", _with(CAR_FORM, model=["market_adjusted"])),
        ("estimation window 150", "form:Run event study", _with(CAR_FORM, estimation_window=150)),
        ("gap 5", "form:Run event study", _with(CAR_FORM, gap=5)),
        ("event window from -1", "form:Run event study", _with(CAR_FORM, window_start=-1)),
        ("event window to 5", "form:Run event study", _with(CAR_FORM, window_end=5)),
        ("risk-neutralise off", "form:Run event study", _with(CAR_FORM, risk_neutralize=False)),
        ("round-trip cost 20 bps", "form:Run event study", _with(CAR_FORM, round_trip_cost_bps=20.0)),
        ("tau 0.002", "form:Run event study", _with(CAR_FORM, tau=0.002)),
        ("neutral band 0.001", "form:Run event study", _with(CAR_FORM, neutral_band=0.001)),
        ("three settings at once", "form:Run event study", _with(CAR_FORM, estimation_window=100, gap=8, window_end=3)),
        ("back to the defaults (cached)", "form:Run event study", CAR_FORM),
    ],
    "backtest": [
        step
        for what, value in (
            ("holding period 3", _with(BACKTEST_FORM, holding_period=3)),
            ("cost 10 bps per side", _with(BACKTEST_FORM, cost_bps=10.0)),
            ("position cap 2x NAV", _with(BACKTEST_FORM, position_cap=["2x NAV"])),
            ("weighting equal", _with(BACKTEST_FORM, weighting="equal")),
            ("window validation", _with(BACKTEST_FORM, window=["validation"])),
            ("three settings at once", _with(BACKTEST_FORM, holding_period=4, cost_bps=7.5, weighting="equal")),
            ("back to the defaults (memoised)", BACKTEST_FORM),
        )
        for step in (
            (what, "form:Run backtests", value),
            ("  then Run the sensitivity sweeps", "Run the sensitivity sweeps", next(_CLICKS)),
        )
    ]
    + [
        (
            "policies: drop random (baseline gone)",
            "form:Run backtests",
            _with(BACKTEST_FORM, policies=BACKTEST_FORM["policies"][:-1]),
        ),
        ("policies: all again", "form:Run backtests", BACKTEST_FORM),
        ("baseline always_long", "Baseline for differences", ["always_long"]),
        ("bootstrap resamples 1000", "Bootstrap resamples", 1000),
        ("per-type results of oracle", "Per-type results of", ["oracle"]),
    ],
    "evidence": [
        (
            "Run export (the export itself)",
            "form:Run export",
            {
                "dataset": [DATASET],
                "decisions": ["type_prior"],
                "reward_profile": ["hgrm"],
                "candidate_id": "janus-q-candidate",
                "dspy_bundle": False,
            },
        ),
        ("reasons for target: live", "Reasons for target", ["live"]),
    ],
}


def _reward_changes(nb: Notebook) -> list[tuple[str, str, Any]]:
    """The reward form's changes, built from its fields' current values on the page."""
    assert nb.session is not None
    form_id, _ = nb.elements()["form:Score"]
    base = None
    for note in nb.session.session_view.cell_notifications.values():
        out = note.output
        if out is not None and isinstance(out.data, str) and form_id in out.data:
            base = _form_defaults(out.data)
    assert base is not None, "reward form not found"
    return [
        ("alpha 0.6", "form:Score", _with(base, alpha=0.6)),
        ("kappa 0.002", "form:Score", _with(base, kappa=0.002)),
        ("direction gate off", "form:Score", _with(base, use_direction_gate=False)),
        ("profile lane_scaffold", "form:Score", _with(base, profile="lane_scaffold")),
        ("events: test split", "form:Score", _with(base, split=["test"])),
        ("three constants at once", "form:Score", _with(base, alpha=0.4, sigma=0.03, w_pnl=20.0)),
        ("back to the defaults", "form:Score", base),
    ]


def _form_defaults(page: str) -> dict[str, Any]:
    """A batch form's fields and their initial frontend values, from the element tags in ``page``."""
    values: dict[str, Any] = {}
    for match in re.finditer(r"<marimo-(slider|number|checkbox|radio|dropdown)([^>]*)>", page):
        attrs = match.group(2)
        label = _LABEL.search(attrs)
        initial = re.search(r"data-initial-value='([^']*)'", attrs)
        if not (label and initial):
            continue
        name = re.sub(r"<[^>]+>", "", json.loads(html.unescape(label.group(1)))).strip()
        if name == "Profile":
            name = "profile"
        elif name == "Events (split)":
            name = "split"
        elif name.startswith("tau override"):
            name = "tau"
        values[name] = json.loads(html.unescape(initial.group(1)))
    return values


async def bench(name: str) -> list[tuple[str, float, int, int]]:
    nb = Notebook(name)
    rows: list[tuple[str, float, int, int]] = []
    try:
        extra = {"out": str(ROOT / "out" / "bench-evidence")} if name == "evidence" else {}
        opened = await nb.open({"dataset": DATASET, **extra})
        rows.append(("open (first run of every cell)", opened, len(nb.consumer.errors), len(nb.consumer.ran)))
        changes = _reward_changes(nb) if name == "reward" else CHANGES[name]
        if name != "evidence" and OTHER in dataset_choices().options:
            changes = [
                *changes,
                (f"dataset {OTHER}", "Dataset", [OTHER]),
                (f"dataset {DATASET} again", "Dataset", [DATASET]),
            ]
        for what, label, value in changes:
            seconds, errors, ran = await nb.change(label, value)
            rows.append((what, seconds, len(errors), ran))
            for e in errors[:2]:
                print(f"  {name}/{what}: error {e[:200]}", file=sys.stderr)
    finally:
        nb.close()
    return rows


def main(names: list[str]) -> None:
    for name in names or ["events", "car", "reward", "backtest", "evidence"]:
        rows = asyncio.run(bench(name))
        print(f"{name}.py")
        for what, seconds, errors, ran in rows:
            flag = "" if errors == 0 else f", {errors} cell error(s)"
            print(f"  {what:<40s} {seconds:6.2f} s  ({ran} cells ran{flag})")


if __name__ == "__main__":
    main(sys.argv[1:])
