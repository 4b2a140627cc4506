"""Reading an evidence folder for the report: the gate documents, the run manifest and the analysis
tables, plus the typed outcomes (integrity, gate, dataset manifest) the report shows."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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


class AnalysisTables:
    """The analysis tables of a folder (``analysis/<stem>.<suffix>``, :data:`TABLE_SUFFIXES`), each
    parsed from the bytes ``files`` holds only when a section asks for it: :meth:`get` gives the first
    readable file of a stem in path order. :meth:`errors` names every file that cannot be read as a
    table (reading, and dropping, those no section asked for), so an unreadable table is named
    whether or not it is drawn. :meth:`release` drops the frames read so far (a section's tables,
    once it is drawn; a table asked for again is parsed again, to the same frame).

    One thread draws the sections, then the errors are read; :meth:`read_ahead` may parse the large
    tables in a background thread meanwhile (the same frames and errors, only sooner)."""

    def __init__(self, files: EvidenceFiles) -> None:
        self._files = files
        prefix = f"{ANALYSIS_DIR}/"
        self._names: dict[str, list[str]] = {}
        for name in files.names():
            rest = name[len(prefix) :]
            if name.startswith(prefix) and "/" not in rest and Path(rest).suffix.lower() in TABLE_SUFFIXES:
                self._names.setdefault(Path(rest).stem, []).append(name)
        self._frames: dict[str, pl.DataFrame] = {}
        self._errors: dict[str, str | None] = {}  # file -> why it cannot be read (None: it can)
        self._ahead: list[str] = []  # stems still to read ahead, in order
        self._pending: dict[str, Future[list[tuple[str, pl.DataFrame | None, str | None]]]] = {}
        self._reader: ThreadPoolExecutor | None = None

    def read_ahead(self, stems: Sequence[str]) -> None:
        """Parse the tables of ``stems`` in a background thread, in order, one stem ahead of the
        sections: the next is started when :meth:`get` takes the one before it, so at most one table
        waits in memory. polars parses without the interpreter lock, so the parsing runs on another
        core while the sections are drawn and the folder is verified. Call :meth:`close` when done."""
        self._ahead = [s for s in stems if s in self._names]
        if self._ahead:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="janus-report-tables")
            self._next_ahead()

    def _next_ahead(self) -> None:
        if self._ahead and self._reader is not None:
            stem = self._ahead.pop(0)
            self._pending[stem] = self._reader.submit(self._first_readable, self._names[stem])

    def _first_readable(self, names: list[str]) -> list[tuple[str, pl.DataFrame | None, str | None]]:
        """Each file of a stem tried in path order up to the first that reads: (name, frame, error)."""
        tried = []
        for name in names:
            frame, error = self._parse(name)
            tried.append((name, frame, error))
            if frame is not None:
                break
        return tried

    def close(self) -> None:
        """Stop the read-ahead thread (waiting for the table it is parsing)."""
        if self._reader is not None:
            self._reader.shutdown(wait=True)
            self._reader = None

    def _parse(self, name: str) -> tuple[pl.DataFrame | None, str | None]:
        """The table of one file and None, or None and why it cannot be read (never raised)."""
        rest = name[len(ANALYSIS_DIR) + 1 :]
        try:
            return _read_table(rest, self._files.bytes(name) or b""), None
        except Exception as exc:  # any unreadable table is reported by name, never fatal
            return None, f"{ANALYSIS_DIR}/{rest}: cannot be read as a table ({type(exc).__name__}: {exc})"

    def _read(self, name: str) -> pl.DataFrame | None:
        """The table of one file, or None (its error recorded) when it cannot be read."""
        frame, self._errors[name] = self._parse(name)
        return frame

    def _take_ahead(self, stem: str) -> None:
        """The read-ahead result of ``stem`` recorded as if read now; the next stem is started."""
        tried = self._pending.pop(stem).result()
        for name, frame, error in tried:
            self._errors[name] = error
            if frame is not None:
                self._frames[stem] = frame
        self._next_ahead()

    def get(self, stem: str) -> pl.DataFrame | None:
        """The table of ``stem``: its first file, in path order, that reads as a table (None when none)."""
        if stem in self._pending:
            self._take_ahead(stem)
        if stem in self._frames:
            return self._frames[stem]
        for name in self._names.get(stem, []):
            if self._errors.get(name, None) is not None:
                continue  # known unreadable
            frame = self._read(name)
            if frame is not None:
                self._frames[stem] = frame
                return frame
        return None

    def release(self) -> None:
        """Drop the frames read so far (their errors are kept)."""
        self._frames.clear()

    def errors(self) -> list[str]:
        """Why each unreadable table file cannot be read, in path order (every file read once at most)."""
        for stem in list(self._pending):
            self._take_ahead(stem)
            self._frames.pop(stem, None)
        names = sorted(n for names in self._names.values() for n in names)
        for name in names:
            if name not in self._errors:
                self._read(name)
        return [why for name in names if (why := self._errors[name]) is not None]


@dataclass(frozen=True)
class EvidenceFolder:
    """What the report reads from an evidence folder. ``documents`` maps each contract file (and the
    run manifest) to its parsed JSON or ``None``; ``document_errors`` names every one that could not be
    read; ``analysis`` holds the analysis tables by file stem, parsed when asked for
    (:class:`AnalysisTables`); ``files`` is (relative path, SHA-256, size) of every file in the folder
    except the report itself, sorted by path."""

    out_dir: Path
    documents: dict[str, Any]
    document_errors: list[str]
    analysis: AnalysisTables
    files: list[tuple[str, str, int]]

    @property
    def load_errors(self) -> list[str]:
        """Every file that could not be read: the documents, then the analysis tables in path order."""
        return self.document_errors + self.analysis.errors()

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


def load_evidence_folder(out_dir: str | Path, files: EvidenceFiles | None = None) -> EvidenceFolder:
    """Read an evidence folder without judging it: every readable contract file and the run
    manifest; the analysis tables are parsed when a section asks for them (:class:`AnalysisTables`);
    unreadable files are named in ``load_errors`` (never raised). ``files`` are the folder's bytes
    when the caller already holds them (by default read from disk)."""
    out_dir = Path(out_dir)
    files = files if files is not None else EvidenceFiles.read(out_dir)
    documents: dict[str, Any] = {}
    errors: list[str] = []
    for rel in (EVENT_CAR_FILE, HGRM_REWARD_FILE, EVIDENCE_FILE, RUN_MANIFEST_FILE):
        documents[rel], error = _document(files, rel)
        if error is not None:
            errors.append(error)
    listing = [
        (rel, files.sha256(rel) or "", len(files.bytes(rel) or b"")) for rel in files.names() if rel != REPORT_FILE
    ]
    return EvidenceFolder(
        out_dir=out_dir, documents=documents, document_errors=errors, analysis=AnalysisTables(files), files=listing
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
