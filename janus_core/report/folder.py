"""Reading an evidence folder for the report: the gate documents, the run manifest and the analysis
tables, plus the typed outcomes (integrity, gate, dataset manifest) the report shows."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.evidence.jsonio import MAX_JSON_DEPTH, json_depth_ok
from janus_core.evidence.research_policy import ResearchVerdict
from janus_core.evidence.schema import REPORT_REF
from janus_core.evidence.snapshot import EvidenceFiles

Target = Literal["shadow", "paper", "live"]

EVENT_CAR_FILE = "gates/janus-event-car-v1.json"
HGRM_REWARD_FILE = "gates/janus-hgrm-reward-v1.json"
EVIDENCE_FILE = "gates/janus-q-evidence-v1.json"
RUN_MANIFEST_FILE = "run-manifest.json"
ANALYSIS_DIR = "analysis"
REPORT_FILE = REPORT_REF


class AnalysisTableNames(BaseModel):
    """File stems of the analysis tables each section shows (``analysis/<stem>.csv``, or ``.parquet``,
    ``.jsonl``, ``.json``); the names the export writes (``janus_core.evidence`` module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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


def _read_table(name: str, data: bytes) -> pl.DataFrame:
    suffix = Path(name).suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(io.BytesIO(data))
    if suffix == ".csv":
        return pl.read_csv(io.BytesIO(data), infer_schema_length=None)
    if suffix == ".jsonl":
        return pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
    return pl.DataFrame(json.loads(data.decode("utf-8")))


TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl", ".json")


def _document(files: EvidenceFiles, rel: str) -> tuple[dict | None, str | None]:
    """A contract file parsed (shared with verify and the gate), or why it cannot be read."""
    data = files.bytes(rel)
    if data is None:
        return None, f"{rel}: file is missing"
    doc, _ = files.json(rel)
    if doc is not None:
        return doc, None
    if not json_depth_ok(data):
        return None, f"{rel}: not valid JSON (nested deeper than {MAX_JSON_DEPTH} levels)"
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{rel}: not valid JSON ({exc})"
    return None, f"{rel}: top level is {type(parsed).__name__}, expected a JSON object"


def read_analysis_tables(files: EvidenceFiles) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """Every analysis table of the folder by file stem (the first of a stem, in path order), and why
    each unreadable one could not be read (never raised). Reads only the bytes ``files`` holds, so
    it may run in a worker thread (polars parses without the interpreter lock)."""
    analysis: dict[str, pl.DataFrame] = {}
    errors: list[str] = []
    prefix = f"{ANALYSIS_DIR}/"
    for name in files.names():
        rest = name[len(prefix) :]
        if not name.startswith(prefix) or "/" in rest or Path(rest).suffix.lower() not in TABLE_SUFFIXES:
            continue
        try:
            analysis.setdefault(Path(rest).stem, _read_table(rest, files.bytes(name) or b""))
        except Exception as exc:  # any unreadable table is reported by name, never fatal
            errors.append(f"{ANALYSIS_DIR}/{rest}: cannot be read as a table ({type(exc).__name__}: {exc})")
    return analysis, errors


def load_evidence_folder(
    out_dir: str | Path,
    files: EvidenceFiles | None = None,
    tables: tuple[dict[str, pl.DataFrame], list[str]] | None = None,
) -> EvidenceFolder:
    """Read an evidence folder without judging it: every readable contract file, the run manifest and
    every analysis table; unreadable files are named in ``load_errors`` (never raised). ``files`` are
    the folder's bytes when the caller already holds them (by default read from disk); ``tables``
    their :func:`read_analysis_tables` when already read."""
    out_dir = Path(out_dir)
    files = files if files is not None else EvidenceFiles.read(out_dir)
    documents: dict[str, Any] = {}
    errors: list[str] = []
    for rel in (EVENT_CAR_FILE, HGRM_REWARD_FILE, EVIDENCE_FILE, RUN_MANIFEST_FILE):
        documents[rel], error = _document(files, rel)
        if error is not None:
            errors.append(error)
    analysis, table_errors = tables if tables is not None else read_analysis_tables(files)
    listing = [
        (rel, files.sha256(rel) or "", len(files.bytes(rel) or b"")) for rel in files.names() if rel != REPORT_FILE
    ]
    return EvidenceFolder(
        out_dir=out_dir, documents=documents, load_errors=errors + table_errors, analysis=analysis, files=listing
    )


@dataclass(frozen=True)
class GateOutcome:
    """What the report shows of the gate: the target, whether promotable and the reasons as
    (code, detail) pairs; ``error`` is set when the gate could not be evaluated (then not promotable)."""

    target: str
    promotable: bool
    reasons: tuple[tuple[str, str], ...]
    error: str | None = None
    #: The workbench's research verdict (None when it could not be evaluated: then not promotable).
    research: ResearchVerdict | None = None

    @property
    def research_passed(self) -> bool:
        return self.research is not None and self.research.passed


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
