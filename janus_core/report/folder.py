"""Reading an evidence folder for the report: the gate documents, the run manifest and the analysis
tables, plus the typed outcomes (integrity, gate, dataset manifest) the report shows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.evidence.jsonio import MAX_JSON_DEPTH, json_depth_ok
from janus_core.evidence.research_policy import ResearchVerdict
from janus_core.evidence.schema import REPORT_REF
from janus_core.hashing import sha256_file

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
        data = path.read_bytes()
        if not json_depth_ok(data):
            documents[rel] = None
            errors.append(f"{rel}: not valid JSON (nested deeper than {MAX_JSON_DEPTH} levels)")
            continue
        try:
            doc = json.loads(data.decode("utf-8"))
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
