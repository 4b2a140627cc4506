"""The report's page model: sections made of typed blocks, the layout config, and the helpers every
section uses to show tables, charts and notes (never to compute statistics)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.report.charts import ChartStyle, chart_spec
from janus_core.report.folder import (
    ANALYSIS_DIR,
    EVENT_CAR_FILE,
    EVIDENCE_FILE,
    HGRM_REWARD_FILE,
    AnalysisTableNames,
    DatasetManifestView,
    EvidenceFolder,
    GateOutcome,
    IntegrityOutcome,
)
from janus_core.report.renderer import PendingChart, render_later

#: Section anchors and titles, in the order the report shows them.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("verdict", "Candidate and verdict"),
    ("integrity", "Evidence integrity"),
    ("provenance", "Dataset and provenance"),
    ("event-study", "The event study"),
    ("labels", "Labels"),
    ("reward", "Reward"),
    ("backtest", "Backtest"),
    ("reproducibility", "Reproducibility"),
)

#: Keys of a dataset description that state where the data came from and under which terms.
LICENCE_KEYS: tuple[str, ...] = ("source", "licence", "license", "produced_by", "generator")


class ReportConfig(BaseModel):
    """How the report is laid out. Nothing here changes what the evidence says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Rows shown per table; longer tables say how many rows were left out and where the rest is.
    max_table_rows: int = 20
    #: Problems listed in the red integrity banner at the top (all of them are listed in section 2).
    banner_max_problems: int = Field(8, ge=1)
    #: Characters shown per table cell (longer text, e.g. news bodies, is cut with an ellipsis).
    max_cell_chars: int = Field(120, ge=8)
    #: Columns shown for wide analysis tables, by file stem (the rest stay in the file).
    table_columns: dict[str, tuple[str, ...]] = {
        "labelled_car": (
            "event_id",
            "symbol",
            "published_at",
            "event_type",
            "event_day",
            "car",
            "car_se",
            "direction",
            "strength",
            "split",
            "excluded_reason",
        ),
        "rewards": (
            "event_id",
            "strategy_id",
            "action",
            "expected_direction",
            "event_type",
            "predicted_event_type",
            "car",
            "direction_gate",
            "event_type_gate",
            "pnl_reward",
            "magnitude_reward",
            "process_reward",
            "final_reward",
            "clipped",
        ),
        "decision_mapping": (
            "decision_index",
            "event_id",
            "strategy_id",
            "action",
            "predicted_event_type",
            "predicted_strength",
            "predicted_car",
            "format_ok",
            "mapping_status",
        ),
    }
    #: Significant digits for floating-point cells.
    significant_digits: int = 4
    #: Bins of the reward histogram.
    histogram_bins: int = 40
    chart: ChartStyle = ChartStyle()
    tables: AnalysisTableNames = AnalysisTableNames()


# --------------------------------------------------------------------------------------------
# Report model: sections made of typed blocks, rendered by one autoescaping template


@dataclass(frozen=True)
class Block:
    """One piece of a section. ``kind`` is one of: ``p`` (paragraph), ``note`` (an explicit
    "not available" or caution note), ``bad``/``good`` (coloured statement), ``kv`` (two-column
    table of ``rows``), ``table`` (``headers`` and ``rows``), ``svg`` (chart markup), ``pre``
    (preformatted text), ``h`` (sub-heading), ``reasons`` (reason code rows)."""

    kind: str
    text: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    markup: str = ""


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, kind: str, text: str = "", **kw: Any) -> None:
        self.blocks.append(Block(kind=kind, text=text, **kw))


def _number(value: Any) -> float | None:
    """A number from the evidence (decimal strings included), or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _flatten(obj: dict, prefix: str) -> list[tuple[str, Any]]:
    """(dotted key, value) for every non-object leaf of a nested dict, keys sorted."""
    out: list[tuple[str, Any]] = []
    for k, v in sorted(obj.items()):
        key = f"{prefix}.{k}"
        out += _flatten(v, key) if isinstance(v, dict) else [(key, v)]
    return out


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(value: Any, digits: int) -> str:
    """A cell as text: floats to ``digits`` significant digits, booleans yes/no, null as a dash,
    containers as canonical JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return format(value, f".{digits}g")
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Page:
    """Builds sections from a loaded folder (the helpers every section uses). The sections that judge
    the folder (verdict, integrity, provenance, reproducibility) also read ``integrity``, ``gate`` and
    ``dataset_manifest``, which :class:`janus_core.report.sections.ReportBuilder` sets."""

    integrity: IntegrityOutcome
    gate: GateOutcome
    dataset_manifest: DatasetManifestView | None

    def __init__(self, folder: EvidenceFolder, config: ReportConfig):
        self.f = folder
        self.cfg = config
        self._chart_count = 0
        self._pending: list[tuple[Section, int, PendingChart]] | None = None

    # helpers -----------------------------------------------------------------------------
    def fmt(self, value: Any) -> str:
        return _fmt(value, self.cfg.significant_digits)

    def kv(self, section: Section, pairs: Iterable[tuple[str, Any]]) -> None:
        section.add("kv", rows=tuple((k, self.fmt(v)) for k, v in pairs))

    def table(self, section: Section, frame: pl.DataFrame, source: str, caption: str = "") -> None:
        """Show ``frame`` (at most ``max_table_rows`` rows; for a file named in ``table_columns`` only
        those columns), saying what was left out and where the full table is."""
        whole_file = re.fullmatch(rf"{ANALYSIS_DIR}/([^/ ]+)\.[a-z]+", source)
        wanted = self.cfg.table_columns.get(whole_file.group(1), ()) if whole_file else ()
        cols = [c for c in wanted if c in frame.columns] or frame.columns
        shown = frame.select(cols).head(self.cfg.max_table_rows)
        limit = self.cfg.max_cell_chars
        rows = tuple(tuple(_clip(self.fmt(v), limit) for v in row) for row in shown.iter_rows())
        section.add("table", caption or f"Source: {source}", headers=tuple(cols), rows=rows)
        left_out = []
        if frame.height > shown.height:
            left_out.append(f"the first {shown.height} of {frame.height} rows")
        if len(cols) < frame.width:
            left_out.append(f"{len(cols)} of {frame.width} columns")
        if left_out:
            section.add("p", f"Showing {' and '.join(left_out)}; the full table is {source}.")

    def chart(self, section: Section, build: Callable[[], Any]) -> None:
        """Add the chart ``build()`` makes to ``section`` as inline SVG, drawn by the renderer
        (:func:`janus_core.report.renderer.render_later`). Within :meth:`drawing_charts` the SVG is
        put in place when drawing ends, so the sections' work goes on meanwhile; else at once.
        Either way a chart's SVG depends only on its spec and its position on the page."""
        self._chart_count += 1
        pending = render_later(chart_spec(build()), f"chart{self._chart_count}")
        if self._pending is None:
            section.add("svg", markup=pending.svg())
            return
        self._pending.append((section, len(section.blocks), pending))
        section.add("svg")

    @contextmanager
    def drawing_charts(self) -> Iterator[None]:
        """Within the block, :meth:`chart` does not wait for the renderer; on leaving, every chart's
        SVG is put in its place."""
        self._pending = []
        try:
            yield
            for section, at, pending in self._pending:
                section.blocks[at] = Block(kind="svg", markup=pending.svg())
        finally:
            self._pending = None

    def object_rows(self, section: Section, rows: list[Any], what: str, file: str) -> list[dict[str, Any]]:
        """The entries of ``rows`` (the ``what`` of ``file``) that are JSON objects, the only ones a
        summary can read; when some are not, a note says how many were left out (verification names
        each of them in section 2)."""
        kept = [r for r in rows if isinstance(r, dict)]
        if len(kept) < len(rows):
            section.add(
                "note",
                f"{len(rows) - len(kept)} of the {len(rows)} {what} in {file} are not JSON objects: they are "
                "left out of what follows (section 2 lists the evidence's problems).",
            )
        return kept

    def missing(self, section: Section, what: str, rel: str) -> None:
        """The explicit note for a table the folder lacks, with the export's reason when
        ``analysis/skipped`` gives one."""
        stem = Path(rel).name.split(".")[0]
        reason = ""
        skipped = self.f.analysis.get(self.cfg.tables.skipped)
        if skipped is not None and {"table", "reason"} <= set(skipped.columns):
            hits = skipped.filter(pl.col("table") == stem)["reason"].to_list()
            reason = f" The export skipped it: {'; '.join(str(h) for h in hits)}." if hits else ""
        section.add("note", f"{what}: not available in this evidence (no {rel} in the folder).{reason}")

    def analysis(self, key: str) -> tuple[pl.DataFrame | None, str]:
        stem = getattr(self.cfg.tables, key)
        rel = f"{ANALYSIS_DIR}/{stem}.*"
        for name, _, _ in self.f.files:
            if name.startswith(f"{ANALYSIS_DIR}/{stem}."):
                rel = name
                break
        return self.f.analysis.get(stem), rel

    def lacks(self, section: Section, frame: pl.DataFrame, rel: str, cols: Sequence[str]) -> bool:
        absent = [c for c in cols if c not in frame.columns]
        if absent:
            section.add("note", f"{rel} lacks the column(s) {', '.join(absent)}, so no chart is drawn from it.")
        return bool(absent)

    def show_table(
        self,
        section: Section,
        key: str,
        what: str,
        caption: str = "",
        draw: Callable[[Section, pl.DataFrame, str], None] | None = None,
    ) -> pl.DataFrame | None:
        """The analysis table ``key``: the explicit note when the folder lacks it (``what`` names it),
        else ``draw(section, frame, rel)`` (its charts and sentences, when given) and the table."""
        frame, rel = self.analysis(key)
        if frame is None:
            self.missing(section, what, rel)
            return None
        if draw is not None:
            draw(section, frame, rel)
        self.table(section, frame, rel, caption)
        return frame

    def authority(self) -> dict[str, dict]:
        return {
            rel: (doc or {}).get("artifact_authority") or {}
            for rel, doc in (
                (EVENT_CAR_FILE, self.f.documents.get(EVENT_CAR_FILE)),
                (HGRM_REWARD_FILE, self.f.documents.get(HGRM_REWARD_FILE)),
                (EVIDENCE_FILE, self.f.documents.get(EVIDENCE_FILE)),
            )
        }

    def is_synthetic(self) -> bool:
        provs = {a.get("provenance") for a in self.authority().values()}
        ds = self.run_dataset()
        return "synthetic_generated" in provs or ds.get("provenance") == "synthetic_generated"

    def run_dataset(self) -> dict:
        ds = self.f.run_manifest.get("dataset")
        return ds if isinstance(ds, dict) else {}

    # sections ----------------------------------------------------------------------------
