"""Report: the self-contained review report a reviewer reads before approving a promotion.

``render_report(out_dir, target)`` reads an evidence folder written by the export (the three gate
files of the lane contract, ``run-manifest.json`` and the tables under ``analysis/``), checks it with
``verify.verify_evidence``, asks ``gate.evaluate_gate`` what the lane would decide, and writes
``out_dir/report.html``: one HTML file with inline CSS, tables as plain HTML and charts as inline SVG
rendered offline by vl-convert. It loads nothing from the network, at render or at view time.

Sections, in order: candidate and verdict; evidence integrity; dataset and provenance; the event
study; labels; reward; backtest; reproducibility. A tampered folder (any verification problem, an
unreadable file) is announced in a red banner above everything else. A missing analysis table shows
as an explicit "not available in this evidence" note in its section.

The bytes depend only on the evidence folder's contents and the config: no clock, no random ids
(chart element ids are renamed per chart, in order), every listing sorted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
import numpy as np
import polars as pl
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from janus_core.charts import (
    ChartStyle,
    caar_by_type_chart,
    caar_path_chart,
    chart_svg,
    count_bar_chart,
    dot_chart,
    histogram_chart,
    interval_chart,
    line_chart,
)
from janus_core.evidence import REPORT_REF
from janus_core.gate import TARGETS, TRUTHFUL_MATURITY, TRUTHFUL_PROVENANCE, GatePolicy, evaluate_gate
from janus_core.hashing import sha256_bytes, sha256_file
from janus_core.paths import WorkbenchPaths
from janus_core.verify import verify_evidence

Target = Literal["shadow", "paper", "live"]

EVENT_CAR_FILE = "gates/janus-event-car-v1.json"
HGRM_REWARD_FILE = "gates/janus-hgrm-reward-v1.json"
EVIDENCE_FILE = "gates/janus-q-evidence-v1.json"
RUN_MANIFEST_FILE = "run-manifest.json"
ANALYSIS_DIR = "analysis"
REPORT_FILE = REPORT_REF

#: Every reason code of the lane contract (lane-contract.md), in plain words for the reviewer.
REASON_TEXT: dict[str, str] = {
    # janus-q-evidence-v1 summary
    "janus_event_count_missing": "The evidence contains no events, so there is no event study to rely on.",
    "janus_reward_count_missing": "The evidence contains no reward rows: no decision of the candidate was scored.",
    "janus_reward_event_mapping_incomplete": (
        "Some of the candidate's decisions could not be matched to exactly one event, so not every reward "
        "is backed by an event's CAR."
    ),
    "janus_empirical_authority_missing": (
        "At least one of the event-CAR and reward artifacts is not authoritative empirical evidence "
        "(for example it was built from synthetic data)."
    ),
    # authority and lineage truthfulness
    "artifact_authority_missing": "An artifact does not declare its authority (provenance, maturity, authoritative).",
    "artifact_authority_provenance_invalid": (
        "An artifact's provenance is not a historical market replay or an observed paper/live run, "
        "so it cannot count as evidence (synthetic or placeholder data never can)."
    ),
    "artifact_authority_maturity_invalid": "An artifact's maturity is not 'empirically_validated'.",
    "artifact_authority_not_authoritative": "An artifact is marked as not authoritative.",
    "artifact_authority_placeholder": "An artifact is marked as a placeholder.",
    "promotion_authority_ineligible": "An artifact is marked as not eligible to support a promotion.",
    "lineage_dataset_snapshot_ref_missing": "An artifact's lineage does not name the dataset snapshot it was built from.",
    "lineage_job_run_id_missing": "An artifact's lineage does not name the job run that produced it.",
    "lineage_runtime_version_refs_missing": "An artifact's lineage names no runtime (software) version.",
    "lineage_model_refs_missing": "An artifact's lineage names no model.",
    # gate 6, profitability evidence
    "janus_q_evidence_schema_invalid": "The Janus-Q evidence summary does not match its schema; checking stopped there.",
    "janus_q_evidence_incomplete": "The Janus-Q evidence summary says the evidence is incomplete.",
    "janus_event_car_schema_invalid": "The event-CAR artifact does not match the janus-event-car-v1 schema.",
    "janus_event_car_count_below_threshold": "There are fewer events than the gate-6 policy requires.",
    "janus_hgrm_reward_schema_invalid": "The reward artifact does not match the janus-hgrm-reward-v1 schema.",
    "janus_hgrm_reward_count_below_threshold": "There are fewer reward rows than the gate-6 policy requires.",
    # promotion prerequisites
    "required_artifacts_missing": "Artifacts the promotion target requires are missing.",
    "janus_event_car_artifact_missing": "The event-CAR artifact file is missing.",
    "janus_event_car_count_below_minimum": "There are fewer events than the promotion policy's minimum.",
    "janus_hgrm_reward_artifact_missing": "The reward artifact file is missing.",
    "janus_hgrm_reward_count_below_minimum": "There are fewer reward rows than the promotion policy's minimum.",
    "janus_q_evidence_missing": "The Janus-Q evidence summary file is missing.",
    "janus_event_car_evidence_insufficient": (
        "The event-CAR artifact is not truthful evidence (its authority or lineage falls short)."
    ),
    "janus_hgrm_reward_evidence_insufficient": (
        "The reward artifact is not truthful evidence (its authority or lineage falls short)."
    ),
    # live target policy
    "live_rollout_disabled_by_policy": "Live rollout is switched off by policy; no evidence can promote to live.",
    "approval_token_missing": "Promotion to live needs a human approval token, and none was given.",
}

UNKNOWN_REASON_TEXT = "This code is not in the lane contract this report knows; treat it as blocking."

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

#: Numeric columns of the reward rows that are inputs or indices, not reward components.
NON_COMPONENT_COLUMNS: tuple[str, ...] = ("decision_index", "car", "predicted_car")

#: Keys of a dataset description that state where the data came from and under which terms.
LICENCE_KEYS: tuple[str, ...] = ("source", "licence", "license", "produced_by", "generator")



def reason_sentence(code: str) -> str:
    """The plain-English sentence for a lane reason code. A code qualified by an artifact
    (``prefix:code`` or ``prefix.code``) uses its last part; an unknown code says it is unknown."""
    if code in REASON_TEXT:
        return REASON_TEXT[code]
    for sep in (":", "."):
        tail = code.rsplit(sep, 1)[-1]
        if tail in REASON_TEXT:
            return REASON_TEXT[tail]
    return UNKNOWN_REASON_TEXT


class AnalysisTableNames(BaseModel):
    """File stems of the analysis tables each section shows (``analysis/<stem>.csv``, or ``.parquet``,
    ``.jsonl``, ``.json``); the names the export writes (``janus_core.evidence`` module docstring)."""

    model_config = ConfigDict(frozen=True)

    car_labels: str = "labelled_car"
    caar_by_type: str = "caar_by_type"
    caar_path: str = "caar_path"
    significance: str = "significance_by_type"
    exclusions: str = "exclusions"
    decision_mapping: str = "decision_mapping"
    tau_sweep: str = "tau_sweep"
    reward_rows: str = "rewards"
    ablations: str = "ablations"
    constant_policy: str = "constant_policy_check"
    nav: str = "nav"
    holding_period: str = "holding_period_sweep"
    metrics: str = "metrics"
    skipped: str = "skipped"


class ReportConfig(BaseModel):
    """How the report is laid out. Nothing here changes what the evidence says."""

    model_config = ConfigDict(frozen=True)

    #: Rows shown per table; longer tables say how many rows were left out and where the rest is.
    max_table_rows: int = 20
    #: Problems listed in the red integrity banner at the top (all of them are listed in section 2).
    banner_max_problems: int = Field(8, ge=1)
    #: Characters shown per table cell (longer text, e.g. news bodies, is cut with an ellipsis).
    max_cell_chars: int = Field(120, ge=8)
    #: Columns shown for wide analysis tables, by file stem (the rest stay in the file).
    table_columns: dict[str, tuple[str, ...]] = {
        "labelled_car": ("event_id", "symbol", "published_at", "event_type", "event_day", "car",
                         "car_se", "direction", "strength", "split", "excluded_reason"),
        "rewards": ("event_id", "strategy_id", "action", "expected_direction", "event_type", "predicted_event_type",
                    "car", "direction_gate", "event_type_gate", "pnl_reward", "magnitude_reward", "process_reward",
                    "final_reward", "clipped"),
        "decision_mapping": ("decision_index", "event_id", "strategy_id", "action", "predicted_event_type",
                             "predicted_strength", "predicted_car", "format_ok", "mapping_status"),
    }
    #: Significant digits for floating-point cells.
    significant_digits: int = 4
    #: Bins of the reward histogram.
    histogram_bins: int = 40
    #: Two-sided confidence level of the CAAR bands (t distribution with n - 1 degrees of freedom).
    confidence_level: float = Field(0.95, gt=0.0, lt=1.0)
    chart: ChartStyle = ChartStyle()
    tables: AnalysisTableNames = AnalysisTableNames()


def caar_confidence_band(caar_table: pl.DataFrame, level: float) -> pl.DataFrame:
    """Add the cross-sectional t test of CAAR_k = 0 per event type to a table with columns
    ``event_type``, ``n``, ``caar`` and ``std_car`` (sample standard deviation of CAR, ddof 1):

    se_k = std_k / sqrt(n_k);  t_k = CAAR_k / se_k;  p_k = 2 * (1 - F(|t_k|; n_k - 1));
    band_k = CAAR_k -/+ F^-1((1 + level) / 2; n_k - 1) * se_k   (F: Student t CDF).

    Adds ``se``, ``t_stat``, ``p_value``, ``ci_low``, ``ci_high``; all null when n_k < 2 or std_k is
    0 or null (no test is possible). Row order is kept."""
    n = caar_table["n"].cast(pl.Float64).to_numpy()
    caar = caar_table["caar"].cast(pl.Float64).to_numpy()
    std = caar_table["std_car"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    ok = (n >= 2) & np.isfinite(std) & (std > 0)
    df = np.where(ok, n - 1, 1.0)
    se = np.where(ok, std / np.sqrt(np.where(ok, n, 1.0)), np.nan)
    t = caar / se
    p = 2.0 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf((1.0 + level) / 2.0, df) * se

    def col(x: np.ndarray) -> pl.Series:
        return pl.Series(np.where(ok, x, np.nan)).fill_nan(None)

    return caar_table.with_columns(
        se=col(se), t_stat=col(t), p_value=col(p), ci_low=col(caar - half), ci_high=col(caar + half)
    )


# --------------------------------------------------------------------------------------------
# Reading the evidence folder


@dataclass(frozen=True)
class EvidenceFolder:
    """What the report reads from an evidence folder. ``documents`` maps each contract file (and the
    run manifest) to its parsed JSON or ``None``; ``load_errors`` names every file that could not be
    read; ``analysis`` holds the analysis tables by file stem; ``files`` is (relative path, SHA-256,
    size) of every file in the folder except the report itself, sorted by path."""

    out_dir: Path
    documents: dict[str, Any]
    load_errors: list[str]
    analysis: dict[str, pl.DataFrame]
    files: list[tuple[str, str, int]]

    @property
    def event_car(self) -> dict:
        return self.documents.get(EVENT_CAR_FILE) or {}

    @property
    def hgrm_reward(self) -> dict:
        return self.documents.get(HGRM_REWARD_FILE) or {}

    @property
    def evidence(self) -> dict:
        return self.documents.get(EVIDENCE_FILE) or {}

    @property
    def run_manifest(self) -> dict:
        return self.documents.get(RUN_MANIFEST_FILE) or {}


def _read_table(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".csv":
        return pl.read_csv(path, infer_schema_length=None)
    if suffix == ".jsonl":
        return pl.read_ndjson(path, infer_schema_length=None)
    return pl.DataFrame(json.loads(path.read_text(encoding="utf-8")))


TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl", ".json")


def load_evidence_folder(out_dir: str | Path) -> EvidenceFolder:
    """Read an evidence folder without judging it: every readable contract file, the run manifest and
    every analysis table; unreadable files are named in ``load_errors`` (never raised)."""
    out_dir = Path(out_dir)
    documents: dict[str, Any] = {}
    errors: list[str] = []
    for rel in (EVENT_CAR_FILE, HGRM_REWARD_FILE, EVIDENCE_FILE, RUN_MANIFEST_FILE):
        path = out_dir / rel
        if not path.is_file():
            documents[rel] = None
            errors.append(f"{rel}: file is missing")
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            documents[rel] = None
            errors.append(f"{rel}: not valid JSON ({exc})")
            continue
        if not isinstance(doc, dict):
            documents[rel] = None
            errors.append(f"{rel}: top level is {type(doc).__name__}, expected a JSON object")
            continue
        documents[rel] = doc
    analysis: dict[str, pl.DataFrame] = {}
    adir = out_dir / ANALYSIS_DIR
    if adir.is_dir():
        for path in sorted(p for p in adir.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES):
            try:
                analysis.setdefault(path.stem, _read_table(path))
            except Exception as exc:  # any unreadable table is reported by name, never fatal
                errors.append(f"{ANALYSIS_DIR}/{path.name}: cannot be read as a table ({type(exc).__name__}: {exc})")
    files = []
    if out_dir.is_dir():
        for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(out_dir).as_posix()
            if rel == REPORT_FILE:
                continue
            files.append((rel, sha256_file(path), path.stat().st_size))
    return EvidenceFolder(out_dir=out_dir, documents=documents, load_errors=errors, analysis=analysis, files=files)


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


@dataclass(frozen=True)
class GateOutcome:
    """What the report shows of the gate: the target, whether promotable and the reasons as
    (code, detail) pairs; ``error`` is set when the gate could not be evaluated (then not promotable)."""

    target: str
    promotable: bool
    reasons: tuple[tuple[str, str], ...]
    error: str | None = None


@dataclass(frozen=True)
class DatasetManifestView:
    """The dataset manifest as found when the report was rendered: its path, parsed JSON and the
    SHA-256 of its bytes (compared with the digest the run manifest recorded at export)."""

    path: str
    manifest: dict
    sha256: str


@dataclass(frozen=True)
class IntegrityOutcome:
    """The verification result: each problem as text; ``error`` when verification itself failed;
    ``inputs_checked_against`` names the dataset manifest the recorded input digests were compared
    with (None: the folder was judged alone)."""

    problems: tuple[str, ...]
    error: str | None = None
    inputs_checked_against: str | None = None

    @property
    def clean(self) -> bool:
        return not self.problems and self.error is None


def _number(value: Any) -> float | None:
    """A number from the evidence (decimal strings included), or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _stat(column: pl.Series, stat: str) -> float | None:
    """Mean, min or max of a numeric column's non-null values with numpy's sequential reduction, so
    the digits never depend on how many threads read the table (None when there is no value)."""
    values = column.drop_nulls().cast(pl.Float64).to_numpy()
    if values.size == 0:
        return None
    return float({"mean": np.mean, "min": np.min, "max": np.max}[stat](values))


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


class _Builder:
    """Builds the sections from a loaded folder, the integrity and the gate outcome."""

    def __init__(self, folder: EvidenceFolder, integrity: IntegrityOutcome, gate: GateOutcome, config: ReportConfig,
                 dataset_manifest: DatasetManifestView | None):
        self.f = folder
        self.dataset_manifest = dataset_manifest
        self.integrity = integrity
        self.gate = gate
        self.cfg = config
        self._chart_count = 0

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
        self._chart_count += 1
        section.add("svg", markup=chart_svg(build(), f"chart{self._chart_count}"))

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

    def show_table(self, section: Section, key: str, what: str, caption: str = "") -> pl.DataFrame | None:
        frame, rel = self.analysis(key)
        if frame is None:
            self.missing(section, what, rel)
            return None
        self.table(section, frame, rel, caption)
        return frame

    def authority(self) -> dict[str, dict]:
        return {
            rel: (doc or {}).get("artifact_authority") or {}
            for rel, doc in ((EVENT_CAR_FILE, self.f.documents.get(EVENT_CAR_FILE)),
                             (HGRM_REWARD_FILE, self.f.documents.get(HGRM_REWARD_FILE)),
                             (EVIDENCE_FILE, self.f.documents.get(EVIDENCE_FILE)))
        }

    def is_synthetic(self) -> bool:
        provs = {a.get("provenance") for a in self.authority().values()}
        ds = self.run_dataset()
        return "synthetic_generated" in provs or ds.get("provenance") == "synthetic_generated"

    def run_dataset(self) -> dict:
        ds = self.f.run_manifest.get("dataset")
        return ds if isinstance(ds, dict) else {}

    # sections ----------------------------------------------------------------------------
    def verdict(self) -> Section:
        s = Section(*SECTIONS[0])
        rw, ec, ev = self.f.hgrm_reward, self.f.event_car, self.f.evidence
        self.kv(s, [
            ("candidate", rw.get("candidate_id")),
            ("run", rw.get("run_id") or ec.get("run_id")),
            ("dataset", self.run_dataset().get("name")),
            ("evidence generated at", ec.get("generated_at") or rw.get("generated_at")),
            ("promotion target", self.gate.target),
        ])
        if self.gate.error is not None:
            s.add("bad", f"NOT PROMOTABLE to {self.gate.target}: the gate could not be evaluated ({self.gate.error}).")
        elif self.gate.promotable and self.integrity.clean:
            s.add("good", f"PROMOTABLE to {self.gate.target}: the local gate found no blocking reason.")
            s.add("p", "The local gate mirrors the promotion lane's Janus checks; the lane itself makes the decision.")
        elif self.gate.promotable:
            s.add("bad", f"NOT PROMOTABLE to {self.gate.target}: the gate passed, but the evidence failed verification "
                         "(see the banner above), so its verdict cannot be trusted.")
        else:
            s.add("bad", f"NOT PROMOTABLE to {self.gate.target}.")
        s.add("h", "Why: the gate's reasons")
        if self.gate.reasons:
            s.add("reasons", headers=("reason code", "in plain words", "detail"),
                  rows=tuple((c, reason_sentence(c), d) for c, d in self.gate.reasons))
        else:
            s.add("p", "The gate reported no reasons.")
        s.add("h", "The evidence summary's own reasons (janus-q-evidence-v1)")
        codes = ev.get("reasons")
        if isinstance(codes, list) and codes:
            s.add("reasons", headers=("reason code", "in plain words", "detail"),
                  rows=tuple((str(c), reason_sentence(str(c)), "") for c in codes))
        elif isinstance(codes, list):
            s.add("p", f"None: evidence_complete is {self.fmt(ev.get('evidence_complete'))}.")
        else:
            s.add("note", "The evidence summary is missing or carries no reasons list.")
        return s

    def integrity_section(self) -> Section:
        s = Section(*SECTIONS[1])
        if self.integrity.error is not None:
            s.add("bad", f"Verification could not run: {self.integrity.error}. Treat this evidence as unverified.")
        if self.integrity.problems:
            s.add("bad", f"Verification found {len(self.integrity.problems)} problem(s): this evidence folder was "
                         "changed after it was written, or is incomplete.")
            s.add("table", headers=("problem",), rows=tuple((p,) for p in self.integrity.problems))
        if self.integrity.clean:
            s.add("good", "Verified: every file digest, hash, summary and lineage field of the folder was "
                          "recomputed and matches.")
            if self.integrity.inputs_checked_against is not None:
                s.add("p", "The input table digests recorded at export also match the dataset manifest "
                           f"{self.integrity.inputs_checked_against}.")
            else:
                s.add("note", "The recorded input table digests were not compared with a dataset manifest: this "
                              "report was rendered from the evidence folder alone.")
        return s

    def provenance(self) -> Section:
        s = Section(*SECTIONS[2])
        ds = self.run_dataset()
        if ds:
            self.kv(s, [(k, v) for k, v in sorted(ds.items())
                        if not isinstance(v, (dict, list)) and k not in LICENCE_KEYS])
        else:
            s.add("note", f"Dataset description: not available in this evidence (no 'dataset' in {RUN_MANIFEST_FILE}).")
        tables = ds.get("tables")
        if isinstance(tables, dict) and tables:
            cols = sorted({k for t in tables.values() if isinstance(t, dict) for k, v in t.items()
                           if not isinstance(v, (dict, list))})
            rows = tuple((name, *(self.fmt(t.get(c)) if isinstance(t, dict) else "—" for c in cols))
                         for name, t in sorted(tables.items()))
            s.add("h", "Input tables")
            s.add("table", headers=("table", *cols), rows=rows)
        else:
            s.add("note", f"Input table digests: not available in this evidence (no dataset.tables in {RUN_MANIFEST_FILE}).")
        s.add("h", "Source and licence")
        self.licence(s, ds)
        s.add("h", "Authority")
        if self.is_synthetic():
            s.add("bad", "Synthetic data: this evidence was built from generated data. Synthetic evidence is never "
                         "authoritative and cannot support a promotion, whatever its numbers say.")
        rows = []
        for rel, a in self.authority().items():
            doc = self.f.documents.get(rel) or {}
            rows.append((rel, self.fmt(a.get("provenance")), self.fmt(a.get("maturity")),
                         self.fmt(a.get("authoritative")), self.fmt(a.get("placeholder")),
                         self.fmt(doc.get("promotion_authority_eligible")), self.fmt(a.get("notes"))))
        s.add("table", headers=("artifact", "provenance", "maturity", "authoritative", "placeholder",
                                "promotion eligible", "notes"), rows=tuple(rows))
        children = [(rel, a) for rel, a in self.authority().items() if rel in (EVENT_CAR_FILE, HGRM_REWARD_FILE)]
        truthful = all(
            a.get("provenance") in TRUTHFUL_PROVENANCE and a.get("maturity") == TRUTHFUL_MATURITY
            and a.get("authoritative") is True and a.get("placeholder") is False
            and (self.f.documents.get(rel) or {}).get("promotion_authority_eligible") is True
            for rel, a in children
        )
        if truthful:
            s.add("good", "Both lane artifacts claim authoritative, empirically validated evidence from "
                          f"{', '.join(sorted({str(a['provenance']) for _, a in children}))}.")
        else:
            s.add("p", "At least one artifact does not claim authoritative, empirically validated provenance, "
                       "so the lane will not count it as evidence.")
        return s

    def licence(self, s: Section, ds: dict) -> None:
        """Source and licence as the run manifest recorded them at export; only when it recorded
        neither, as the dataset manifest consulted at render time states them."""
        recorded = [(k, ds[k]) for k in LICENCE_KEYS if ds.get(k) is not None]
        if recorded:
            s.add("p", f"As recorded in {RUN_MANIFEST_FILE} at export, from the dataset manifest whose SHA-256 "
                       f"was {self.fmt(ds.get('manifest_sha256'))}:")
            self.kv(s, recorded)
            return
        view = self.dataset_manifest
        if view is None:
            s.add("note", f"Source and licence: not recorded in {RUN_MANIFEST_FILE}, and no dataset manifest was "
                          "consulted when this report was rendered.")
            return
        found = [(k, view.manifest[k]) for k in LICENCE_KEYS if k in view.manifest]
        match = view.sha256 == ds.get("manifest_sha256")
        s.add("p" if match else "bad",
              f"Not recorded in {RUN_MANIFEST_FILE}; taken from the dataset manifest {view.path}, whose SHA-256 "
              + ("matches" if match else "DOES NOT match")
              + f" the manifest_sha256 recorded at export ({self.fmt(ds.get('manifest_sha256'))}).")
        if found:
            self.kv(s, found)
        else:
            s.add("note", f"The dataset manifest {view.path} states no source or licence either.")

    def event_study(self) -> Section:
        s = Section(*SECTIONS[3])
        ec = self.f.event_car
        meth = ec.get("methodology")
        s.add("h", "Methodology")
        if isinstance(meth, dict) and meth:
            self.kv(s, sorted(meth.items()))
        else:
            s.add("note", f"Methodology: not available in this evidence (no methodology in {EVENT_CAR_FILE}).")
        summ = ec.get("summary")
        if isinstance(summ, dict):
            s.add("h", "Summary")
            self.kv(s, sorted(summ.items()))
        level = self.cfg.confidence_level
        s.add("h", f"CAAR by event type, with {level:.0%} confidence bands")
        frame, rel = self.analysis("caar_by_type")
        if frame is None:
            self.missing(s, "CAAR by event type", rel)
        elif not self.lacks(s, frame, rel, ("event_type", "n", "caar", "std_car")):
            tested = caar_confidence_band(frame.drop("t_stat", strict=False), level).sort("event_type")
            s.add("p", f"CAAR_k is the mean CAR of the included events of type k; the band is CAAR_k -/+ "
                       f"t(n-1) x std/sqrt(n), computed here from {rel}.")
            self.chart(s, lambda: caar_by_type_chart(tested, self.cfg.chart))
            s.add("h", "Significance by event type (cross-sectional t test of CAAR = 0)")
            self.table(s, tested.select("event_type", "n", "caar", *[c for c in ("mean_abs_car",) if c in tested.columns],
                                        "std_car", "se", "t_stat", "p_value", "ci_low", "ci_high"), rel)
        s.add("h", "CAAR through the event window, with confidence bands")
        path, path_rel = self.analysis("caar_path")
        if path is None:
            self.missing(s, "CAAR path by event day", path_rel)
        elif not self.lacks(s, path, path_rel, ("event_type", "rel_day", "caar", "ci_low", "ci_high")):
            self.chart(s, lambda: caar_path_chart(path.sort("event_type", "rel_day"), self.cfg.chart))
            self.table(s, path, path_rel)
        s.add("h", "Event-study test statistics (parametric and non-parametric)")
        self.show_table(s, "significance", "Test statistics by event type")
        s.add("h", "Exclusions")
        ex, ex_rel = self.analysis("exclusions")
        if ex is None:
            self.missing(s, "Exclusions", ex_rel)
        else:
            reason = next((c for c in ("excluded_reason", "reason") if c in ex.columns), None)
            if reason is not None:
                counts = ex.group_by(reason).len("events").sort(reason)
                s.add("p", f"{ex.height} input event(s) were excluded from the event study, by reason:")
                self.table(s, counts, f"{ex_rel} grouped by {reason}")
            self.table(s, ex, ex_rel)
        return s

    def labels(self) -> Section:
        s = Section(*SECTIONS[4])
        records = self.f.event_car.get("records")
        s.add("h", "Direction and strength split")
        if isinstance(records, list) and records:
            frame = pl.DataFrame(
                {"semantic_direction": [str(r.get("semantic_direction")) for r in records],
                 "strength_label": [str(r.get("strength_label")) for r in records]}
            )
            split = frame.group_by("semantic_direction", "strength_label").len("count").sort(
                "semantic_direction", "strength_label")
            self.chart(s, lambda: count_bar_chart(split, "semantic_direction", "strength_label", style=self.cfg.chart))
            self.table(s, split, f"computed from {EVENT_CAR_FILE}")
        else:
            s.add("note", f"Direction and strength split: not available in this evidence (no records in {EVENT_CAR_FILE}).")
        s.add("h", "Strength threshold tau against trading cost")
        meth = self.f.event_car.get("methodology") or {}
        rcfg = self.f.hgrm_reward.get("reward_config") or {}
        flat = _flatten(meth, "methodology") if isinstance(meth, dict) else []
        tau_pairs = [(k, v) for k, v in flat if any(w in k.rsplit(".", 1)[-1] for w in ("tau", "strength", "cost"))]
        cost_pairs = [(f"reward_config.{k}", v) for k, v in sorted(rcfg.items())
                      if isinstance(rcfg, dict) and ("cost" in k or "kappa" in k or "tau" in k)]
        if tau_pairs or cost_pairs:
            self.kv(s, tau_pairs + cost_pairs)
        else:
            s.add("note", "The threshold and cost settings are not stated in this evidence.")
        tau = _number(meth.get("strength_threshold")) if isinstance(meth, dict) else None
        label_cfg = meth.get("label_config") if isinstance(meth, dict) else None
        bps = _number(label_cfg.get("round_trip_cost_bps")) if isinstance(label_cfg, dict) else None
        if tau is not None and bps:
            cost = bps / 10_000.0
            s.add("p", f"An event is labelled strong when |CAR| >= tau = {self.fmt(tau)}. The round-trip trading "
                       f"cost is {self.fmt(bps)} bps = {self.fmt(cost)}, so tau is {self.fmt(tau / cost)} x the cost: "
                       + ("a strong event's move at least pays for a round trip." if tau >= cost else
                          "tau is BELOW the cost, so some events labelled strong cannot pay for a round trip."))
        frame, rel = self.analysis("tau_sweep")
        if frame is None:
            self.missing(s, "Strength threshold sweep", rel)
        else:
            if not self.lacks(s, frame, rel, ("tau", "strong_share")):
                cost = frame["cost"][0] if "cost" in frame.columns and frame.height else None
                self.chart(s, lambda: line_chart(frame, "tau", "strong_share", None, x_title="tau",
                                                 y_title="share of events labelled strong",
                                                 rule_at=cost, style=self.cfg.chart))
            self.table(s, frame, rel)
        s.add("h", "Labelled CAR table")
        self.show_table(s, "car_labels", "Labelled CAR table")
        return s

    def reward(self) -> Section:
        s = Section(*SECTIONS[5])
        rw = self.f.hgrm_reward
        self.kv(s, [("reward version", rw.get("reward_version")), ("candidate", rw.get("candidate_id"))])
        s.add("h", "Reward configuration")
        rcfg = rw.get("reward_config")
        if isinstance(rcfg, dict) and rcfg:
            self.kv(s, sorted(rcfg.items()))
        else:
            s.add("note", f"Reward configuration: not available in this evidence (no reward_config in {HGRM_REWARD_FILE}).")
        if isinstance(rw.get("summary"), dict):
            s.add("h", "Summary")
            self.kv(s, sorted(rw["summary"].items()))
        rewards = rw.get("rewards")
        s.add("h", "Distribution of the final reward")
        if isinstance(rewards, list) and rewards:
            comps = self._reward_components(rewards)
            finals = comps.select("final_reward") if "final_reward" in comps.columns else None
            if finals is not None:
                self.chart(s, lambda: histogram_chart(finals, "final_reward", bins=self.cfg.histogram_bins,
                                                      title="final reward", style=self.cfg.chart))
            s.add("h", "Components")
            rows_frame, rows_rel = self.analysis("reward_rows")
            if rows_frame is not None:
                comps = rows_frame.select([c for c, t in rows_frame.schema.items()
                                           if t.is_numeric() and c not in NON_COMPONENT_COLUMNS])
                src = rows_rel
            else:
                src = f"computed from {HGRM_REWARD_FILE}"
            s.add("p", f"Every numeric reward component over the {comps.height} reward rows ({src}).")
            desc = pl.DataFrame({
                "component": comps.columns,
                **{stat: [_stat(comps[c], stat) for c in comps.columns] for stat in ("mean", "min", "max")},
                "non_zero": [int((comps[c] != 0).sum()) for c in comps.columns],
            }, schema={"component": pl.String, "mean": pl.Float64, "min": pl.Float64, "max": pl.Float64,
                       "non_zero": pl.Int64})
            self.table(s, desc, f"summarised from {src}")
            gates = pl.DataFrame({
                "direction_gate": [str(r.get("direction_gate")) for r in rewards],
                "event_type_gate": [str(r.get("event_type_gate")) for r in rewards],
            }).group_by("direction_gate", "event_type_gate").len("rewards").sort("direction_gate", "event_type_gate")
            s.add("h", "Gates")
            self.table(s, gates, f"computed from {HGRM_REWARD_FILE}")
        else:
            s.add("note", f"Reward rows: not available in this evidence (no rewards in {HGRM_REWARD_FILE}).")
        s.add("h", "Decision mapping (every decision and the event it maps to)")
        frame, rel = self.analysis("decision_mapping")
        if frame is None:
            self.missing(s, "Decision mapping", rel)
        else:
            if "mapping_status" in frame.columns:
                self.table(s, frame.group_by("mapping_status").len("decisions").sort("mapping_status"),
                           f"{rel} grouped by mapping_status")
            self.table(s, frame, rel)
        s.add("h", "Ablations")
        frame, rel = self.analysis("ablations")
        if frame is None:
            self.missing(s, "Ablation table", rel)
        else:
            if not self.lacks(s, frame, rel, ("variant", "strategy_id", "mean_final_reward")):
                s.add("p", "Mean final reward of each strategy with the full HGRM and with each component switched "
                           "off (the paper's Table 4 variants).")
                self.chart(s, lambda: dot_chart(frame.with_columns(pl.col("mean_final_reward").cast(pl.Float64)),
                                                "variant", "mean_final_reward", "strategy_id",
                                                x_title="mean final reward", style=self.cfg.chart))
            self.table(s, frame, rel)
        s.add("h", "Reward-hacking check (can a policy that ignores the news pay?)")
        frame, rel = self.analysis("constant_policy")
        if frame is None:
            self.missing(s, "Reward-hacking check", rel)
        else:
            if frame.height and {"flagged", "skilled_mean_reward", "margin_vs_skilled", "margin_vs_zero"} <= set(frame.columns):
                flagged = frame.filter(pl.col("flagged").cast(pl.Boolean))
                skilled = float(frame["skilled_mean_reward"].cast(pl.Float64)[0])
                vs_skilled = float(frame["margin_vs_skilled"].cast(pl.Float64).min())
                vs_zero = float(frame["margin_vs_zero"].cast(pl.Float64).min())
                if flagged.height:
                    s.add("bad", f"{flagged.height} of {frame.height} policies that ignore the news (constant, random, "
                                 f"label-shuffled) reach the skilled baseline's mean reward ({skilled:.4f}) or zero: "
                                 "the reward can be gamed without reading the news.")
                else:
                    s.add("good", f"None of the {frame.height} policies that ignore the news (always long, short or "
                                  "hold with any fixed type and CAR guess, random, label-shuffled) reaches the skilled "
                                  f"baseline's mean reward ({skilled:.4f}) or zero; smallest margins {vs_skilled:.4f} "
                                  f"and {vs_zero:.4f}.")
            self.table(s, frame, rel)
        s.add("h", "Reward rows")
        frame, rel = self.analysis("reward_rows")
        if frame is None:
            self.missing(s, "Reward rows", rel)
        else:
            series = next((c for c in ("policy", "strategy_id") if c in frame.columns), None)
            if "final_reward" in frame.columns and series is not None and frame[series].n_unique() > 1:
                self.chart(s, lambda: histogram_chart(frame.select(series, pl.col("final_reward").cast(pl.Float64)),
                                                      "final_reward", series, bins=self.cfg.histogram_bins,
                                                      title="final reward", style=self.cfg.chart))
            self.table(s, frame, rel)
        return s

    @staticmethod
    def _reward_components(rewards: list[dict]) -> pl.DataFrame:
        """Numeric reward components (decimal strings in the artifact) as Float64 columns, in the
        order of the first record's keys."""
        names = [k for k, v in rewards[0].items() if k.endswith("_reward") or k.endswith("_reward_unclipped")
                 or k in ("s_dir", "r_evt", "r_fmt", "r_pnl", "r_mag", "m_evt", "strength_penalty")]
        cols: dict[str, list[float | None]] = {}
        for name in names:
            vals: list[float | None] = []
            for r in rewards:
                v = r.get(name)
                try:
                    vals.append(None if v is None else float(v))
                except (TypeError, ValueError):
                    vals.append(None)
            cols[name] = vals
        return pl.DataFrame(cols, schema={n: pl.Float64 for n in names})

    def backtest(self) -> Section:
        s = Section(*SECTIONS[6])
        s.add("h", "NAV against benchmarks and baselines")
        frame, rel = self.analysis("nav")
        if frame is None:
            self.missing(s, "NAV table", rel)
        elif not self.lacks(s, frame, rel, ("series", "date", "nav")):
            kind = "kind" if "kind" in frame.columns else None
            order = [c for c in (kind, "series", "date") if c is not None]
            self.chart(s, lambda: line_chart(frame.sort(order), "date", "nav", "series", x_type="T", x_title="date",
                                             y_title="NAV", dash=kind, style=self.cfg.chart))
            keys = [c for c in (kind, "series") if c is not None]
            ends = frame.sort(order).group_by(keys, maintain_order=True).agg(
                pl.col("date").first().alias("first_date"), pl.col("date").last().alias("last_date"),
                pl.len().alias("days"), pl.col("nav").last().alias("final_nav"), pl.col("nav").min().alias("min_nav"))
            s.add("p", f"Daily NAV per series is in {rel}; first and last day per series:")
            self.table(s, ends, f"{rel} summarised per series")
        s.add("h", "Holding-period sweep")
        frame, rel = self.analysis("holding_period")
        if frame is None:
            self.missing(s, "Holding-period sweep", rel)
        else:
            series = next((c for c in ("policy", "series") if c in frame.columns), None)
            hp = next((c for c in ("holding_period", "hp") if c in frame.columns), None)
            if hp is not None and "sharpe" in frame.columns:
                self.chart(s, lambda: line_chart(frame, hp, "sharpe", series, x_title="holding period (days)",
                                                 y_title="Sharpe ratio", style=self.cfg.chart))
            else:
                s.add("note", f"{rel} lacks holding_period and sharpe columns, so no chart is drawn from it.")
            self.table(s, frame, rel)
        s.add("h", "Sharpe and directional accuracy with bootstrap intervals")
        frame, rel = self.analysis("metrics")
        if frame is None:
            self.missing(s, "Metrics with bootstrap intervals", rel)
        else:
            label = next((c for c in ("policy", "series", "strategy_id") if c in frame.columns), None)
            for metric, title in (("sharpe", "Sharpe ratio"), ("da", "directional accuracy"),
                                  ("sharpe_diff", "Sharpe ratio minus the baseline's"),
                                  ("da_diff", "directional accuracy minus the baseline's")):
                lo, hi = f"{metric}_ci_low", f"{metric}_ci_high"
                if label is not None and all(c in frame.columns for c in (metric, lo, hi)):
                    self.chart(s, lambda m=metric, a=lo, b=hi, t=title: interval_chart(
                        frame, label, m, a, b, x_title=f"{t} (bootstrap interval)", zero_rule=m.endswith("_diff"),
                        style=self.cfg.chart))
                else:
                    s.add("note", f"{rel} lacks {metric}, {lo} or {hi}: no interval chart for the {title}.")
            self.table(s, frame, rel)
        return s

    def reproducibility(self) -> Section:
        s = Section(*SECTIONS[7])
        ec, rw, ev, rm = self.f.event_car, self.f.hgrm_reward, self.f.evidence, self.f.run_manifest
        s.add("h", "Manifest hashes")
        self.kv(s, [
            (f"{EVENT_CAR_FILE} manifest_hash", ec.get("manifest_hash")),
            (f"{HGRM_REWARD_FILE} manifest_hash", rw.get("manifest_hash")),
            (f"{EVIDENCE_FILE} event_car.manifest_hash", (ev.get("event_car") or {}).get("manifest_hash")),
            (f"{EVIDENCE_FILE} hgrm_reward.manifest_hash", (ev.get("hgrm_reward") or {}).get("manifest_hash")),
        ])
        for rel, doc in ((EVENT_CAR_FILE, ec), (HGRM_REWARD_FILE, rw)):
            lin = doc.get("lineage")
            s.add("h", f"Lineage of {rel}")
            if isinstance(lin, dict) and lin:
                self.kv(s, sorted(lin.items()))
            else:
                s.add("note", f"Lineage: not available in this evidence (no lineage in {rel}).")
        s.add("h", "SHA-256 of every file in the evidence folder")
        s.add("table", headers=("file", "sha256", "bytes"),
              rows=tuple((rel, digest, str(size)) for rel, digest, size in self.f.files))
        for key, title in (("git", "Source revision"), ("versions", "Package versions"),
                           ("packages", "Package versions"), ("sources", "Source hashes"),
                           ("source_hashes", "Source hashes")):
            val = rm.get(key)
            if isinstance(val, dict) and val:
                s.add("h", title)
                self.kv(s, sorted(val.items()))
        scalars = [(k, v) for k, v in sorted(rm.items()) if not isinstance(v, (dict, list))]
        if scalars:
            s.add("h", "Run")
            self.kv(s, scalars)
        s.add("h", "Configuration")
        if "config" in rm:
            s.add("pre", json.dumps(rm["config"], sort_keys=True, indent=2, ensure_ascii=False))
        else:
            s.add("note", f"Configuration: not available in this evidence (no config in {RUN_MANIFEST_FILE}).")
        s.add("h", "How to re-run")
        s.add("p", "From a clone of the workbench at the source revision above, with the same dataset:")
        s.add("pre", "\n".join(self.rerun_commands()))
        return s

    def rerun_commands(self) -> list[str]:
        """The shell commands that re-create this folder from the source revision and the dataset.
        The export flags come from the recorded ``config.export``; overrides the command line cannot
        carry (car, label, policy, reward, split) are re-run through the library with the same config."""
        rm = self.f.run_manifest
        ds = self.run_dataset()
        name = ds.get("name", "DATASET")
        cfg = rm.get("config") if isinstance(rm.get("config"), dict) else {}
        export = cfg.get("export") if isinstance(cfg.get("export"), dict) else {}
        generated = rm.get("generated_at") or self.f.event_car.get("generated_at")
        epoch = ""
        if isinstance(generated, str):
            try:
                stamp = datetime.fromisoformat(generated.replace("Z", "+00:00"))
                epoch = f"SOURCE_DATE_EPOCH={int(stamp.timestamp())} "
            except ValueError:
                epoch = ""
        lines = []
        if isinstance(rm.get("git_commit"), str):
            lines.append(f"git checkout {rm['git_commit']}")
        lines.append("uv sync --frozen")
        if ds.get("provenance") == "synthetic_generated":
            lines.append(f"uv run --frozen janus data build {name}")
        lines.append(f"uv run --frozen janus data verify {name}")
        overrides = sorted(k for k in ("car", "label", "policy", "reward", "split") if export.get(k))
        if overrides:
            lines.append(f"# this export overrides {', '.join(overrides)}: re-run it with the recorded export config")
            lines.append(f"{epoch}uv run --frozen python -c 'import json; from janus_core.evidence import export, "
                         "ExportConfig; from janus_core.paths import WorkbenchPaths; "
                         "c = json.load(open(\"THIS_FOLDER/run-manifest.json\"))[\"config\"][\"export\"]; "
                         "export(ExportConfig(**c, out_dir=\"OUT\", record_run=False), WorkbenchPaths.from_env())'")
        else:
            flags = [f"--dataset {name}", f"--decisions {export.get('decisions', 'POLICY-or-PATH')}"]
            if export.get("reward_profile"):
                flags.append(f"--reward-profile {export['reward_profile']}")
            if export.get("candidate_id"):
                flags.append(f"--candidate-id {export['candidate_id']}")
            if export.get("strategy_id"):
                flags.append(f"--strategy-id {export['strategy_id']}")
            lines.append(f"{epoch}uv run --frozen janus export {' '.join(flags)} --out OUT")
        lines += [
            "uv run --frozen janus verify OUT",
            f"uv run --frozen janus gate OUT --target {self.gate.target}",
            f"uv run --frozen janus report OUT --target {self.gate.target}",
            "# then compare: the SHA-256 of every file of OUT must equal the table above",
        ]
        return lines

    def build(self) -> list[Section]:
        return [self.verdict(), self.integrity_section(), self.provenance(), self.event_study(), self.labels(),
                self.reward(), self.backtest(), self.reproducibility()]


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Janus-Q review report: {{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1em 2em 4em; color: #1d2330; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #d6dbe4; padding-bottom: .2em;
margin-top: 2em; } h3 { font-size: 1.05em; margin: 1.4em 0 .4em; }
nav ol { columns: 2; padding-left: 1.4em; } nav a { color: #1f4e8c; }
table { border-collapse: collapse; margin: .4em 0 1em; font-size: .86em; }
th, td { border: 1px solid #d6dbe4; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #eef1f6; } td { overflow-wrap: break-word; } td.rcode { white-space: nowrap; }
.scroll { overflow-x: auto; max-width: 100%; }
td.code, td.rcode, code { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
table.kv td:first-child { font-weight: 600; background: #f7f8fb; }
.banner { background: #b3261e; color: #fff; padding: .8em 1.2em; border-radius: 4px; margin: 1em 0; }
.banner ul { margin: .4em 0 0; } .banner a { color: #fff; }
.bad { background: #fbe9e7; border-left: 6px solid #b3261e; padding: .5em .9em; font-weight: 600; }
.good { background: #e8f5e9; border-left: 6px solid #2e7d32; padding: .5em .9em; font-weight: 600; }
.note { background: #fff8e1; border-left: 6px solid #f9a825; padding: .4em .9em; }
pre { background: #f4f5f8; padding: .7em; overflow-x: auto; font-size: .82em; }
caption { caption-side: bottom; text-align: left; color: #5a6272; font-size: .9em; padding-top: .2em; }
.chart { overflow-x: auto; } .meta { color: #5a6272; }
</style>
</head>
<body>
{% if integrity_alert %}
<div class="banner" id="tampered" role="alert"><strong>EVIDENCE INTEGRITY FAILURE.</strong>
This evidence folder did not verify: it was changed after the export wrote it, it is incomplete, or it
could not be checked. Do not rely on anything below until every problem is explained.
<ul>{% for p in integrity_alert[:banner_max] %}<li>{{ p }}</li>{% endfor %}
{% if integrity_alert|length > banner_max %}<li>and {{ integrity_alert|length - banner_max }} more: see
<a href="#integrity">Evidence integrity</a>.</li>{% endif %}</ul></div>
{% endif %}
<h1>Janus-Q review report</h1>
<p class="meta">Evidence folder run {{ run_id }}, generated at {{ generated_at }}. Target: {{ target }}.
This file is self-contained: it loads nothing from any network.</p>
<nav><ol>{% for s in sections %}<li><a href="#{{ s.anchor }}">{{ s.title }}</a></li>{% endfor %}</ol></nav>
{% for s in sections %}
<section id="{{ s.anchor }}">
<h2>{{ loop.index }}. {{ s.title }}</h2>
{% for b in s.blocks %}
{% if b.kind == "p" %}<p>{{ b.text }}</p>
{% elif b.kind == "h" %}<h3>{{ b.text }}</h3>
{% elif b.kind in ("note", "bad", "good") %}<p class="{{ b.kind }}">{{ b.text }}</p>
{% elif b.kind == "kv" %}<table class="kv">{% for k, v in b.rows %}<tr><td>{{ k }}</td><td class="code">{{ v }}</td></tr>{% endfor %}</table>
{% elif b.kind in ("table", "reasons") %}<div class="scroll"><table{% if b.kind == "reasons" %} class="reasons"{% endif %}>{% if b.text %}<caption>{{ b.text }}</caption>{% endif %}
<thead><tr>{% for h in b.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in b.rows %}<tr>{% for v in row %}<td{% if b.kind == "reasons" and loop.first %} class="rcode"{% elif v|length > 30 and " " not in v %} class="code"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
{% elif b.kind == "svg" %}<div class="chart">{{ b.markup }}</div>
{% elif b.kind == "pre" %}<pre>{{ b.text }}</pre>
{% endif %}
{% endfor %}
</section>
{% endfor %}
</body>
</html>
"""


def build_report_html(folder: EvidenceFolder, integrity: IntegrityOutcome, gate: GateOutcome,
                      config: ReportConfig | None = None, dataset_manifest: DatasetManifestView | None = None) -> str:
    """The report's HTML for a loaded folder and its verification and gate outcomes (pure: no I/O)."""
    config = config or ReportConfig()
    sections = _Builder(folder, integrity, gate, config, dataset_manifest).build()
    for sec in sections:
        sec.blocks = [Block(b.kind, b.text, b.headers, b.rows, Markup(b.markup)) if b.kind == "svg" else b
                      for b in sec.blocks]
    alert = list(integrity.problems)
    if integrity.error is not None:
        alert.insert(0, f"verification could not run: {integrity.error}")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    ec = folder.event_car
    return env.from_string(_TEMPLATE).render(
        sections=sections,
        integrity_alert=alert,
        title=str(folder.hgrm_reward.get("candidate_id") or ec.get("run_id") or folder.out_dir.name),
        run_id=_fmt(ec.get("run_id") or folder.hgrm_reward.get("run_id"), 4),
        generated_at=_fmt(ec.get("generated_at") or folder.hgrm_reward.get("generated_at"), 4),
        target=gate.target,
        banner_max=config.banner_max_problems,
    )


# --------------------------------------------------------------------------------------------
# Rendering an evidence folder


def check_integrity(out_dir: Path, folder: EvidenceFolder, paths: WorkbenchPaths | None) -> IntegrityOutcome:
    """``verify.verify_evidence`` on the folder (which leaves out the derived report file itself),
    plus every file the report could not read. A crash of the verifier is reported as an error
    (fail closed)."""
    try:
        found = verify_evidence(out_dir, paths=paths)
    except Exception as exc:  # the report must render for any folder, however broken; it says so
        return IntegrityOutcome(problems=tuple(folder.load_errors), error=f"{type(exc).__name__}: {exc}")
    problems = [str(p) for p in found]
    seen = set(problems)
    problems += [e for e in folder.load_errors if e not in seen]
    name = (folder.run_manifest.get("dataset") or {}).get("name") if isinstance(
        folder.run_manifest.get("dataset"), dict) else None
    # The manifest is named by file name only, so the report bytes do not depend on where the workspace lives.
    checked = Path(paths.manifest_path(name)).name if paths is not None and isinstance(name, str) else None
    return IntegrityOutcome(problems=tuple(problems), inputs_checked_against=checked)


def gate_outcome(out_dir: Path, target: str, policy: GatePolicy | None) -> GateOutcome:
    """``gate.evaluate_gate`` for ``target``; a crash is reported as not promotable (fail closed)."""
    try:
        verdict = evaluate_gate(out_dir, target, policy)
    except Exception as exc:  # the report must render for any folder, however broken; it says so
        return GateOutcome(target=target, promotable=False, reasons=(), error=f"{type(exc).__name__}: {exc}")
    return GateOutcome(target=verdict.target, promotable=verdict.promotable,
                       reasons=tuple((r.code, r.detail) for r in verdict.reasons))


def dataset_manifest_view(folder: EvidenceFolder, paths: WorkbenchPaths | None) -> DatasetManifestView | None:
    """The current manifest of the folder's dataset under ``paths``, when there is one."""
    name = (folder.run_manifest.get("dataset") or {}).get("name") if isinstance(
        folder.run_manifest.get("dataset"), dict) else None
    if paths is None or not isinstance(name, str):
        return None
    path = Path(paths.manifest_path(name))
    if not path.is_file():
        return None
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return DatasetManifestView(path=path.name, manifest=manifest if isinstance(manifest, dict) else {},
                               sha256=sha256_bytes(data))


def render_report(out_dir: str | Path, target: Target = "paper", *, paths: WorkbenchPaths | None = None,
                  policy: GatePolicy | None = None, config: ReportConfig | None = None) -> Path:
    """Verify the evidence folder ``out_dir``, evaluate the gate for ``target`` and write
    ``out_dir/report.html`` (module docstring). With ``paths`` the recorded input digests are also
    checked against the current dataset manifest, and the dataset's source and licence are read from
    it. Returns the report's path."""
    if target not in TARGETS:
        raise ValueError(f"target {target!r}: rule: one of {list(TARGETS)}")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"{out_dir}: evidence folder not found; rule: render_report needs an export folder")
    folder = load_evidence_folder(out_dir)
    html = build_report_html(
        folder,
        check_integrity(out_dir, folder, paths),
        gate_outcome(out_dir, target, policy),
        config,
        dataset_manifest_view(folder, paths),
    )
    dest = out_dir / REPORT_FILE
    tmp = out_dir / f".{REPORT_FILE}.tmp"
    try:
        tmp.write_bytes(html.encode("utf-8"))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
