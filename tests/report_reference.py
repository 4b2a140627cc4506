"""``read_analysis_tables`` of ``janus_core.report.folder`` as it stood before the analysis tables were
parsed when a section asks for them (``folder.AnalysisTables``; commit 253ab5f), kept verbatim as the
reference the lazy tables must match frame for frame and error for error (tests/test_report_tables.py)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.report.folder import ANALYSIS_DIR, TABLE_SUFFIXES, _read_table


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
