"""The analysis tables the cross-record claims (:mod:`janus_core.evidence.claims`) and the row-count
checks of :func:`janus_core.evidence.verify.verify_evidence` read: CSV parsed as all-text columns, once
per folder (``EvidenceFiles.memo``), an unreadable table named by the reason polars gives."""

from __future__ import annotations

import io

import polars as pl

from janus_core.evidence.snapshot import EvidenceFiles

#: ``(file, location, rule)`` of every problem found.
Found = list[tuple[str, str, str]]

#: The analysis tables the claims are checked against.
LABELLED_CSV, MAPPING_CSV, EXCLUSIONS_CSV = (
    "analysis/labelled_car.csv",
    "analysis/decision_mapping.csv",
    "analysis/exclusions.csv",
)
#: The columns the checks read of a table named here (the whole file is parsed, so a table that is
#: not readable CSV is named as before, and its row count kept; the other columns, e.g. the news
#: text of the labelled CAR table, are dropped at once). Other tables are kept whole.
CLAIM_COLUMNS: dict[str, tuple[str, ...]] = {
    LABELLED_CSV: ("event_id", "car", "direction", "strength", "excluded_reason", "event_type"),
    EXCLUSIONS_CSV: ("event_id",),
}


def csv_text_table(files: EvidenceFiles, rel: str) -> tuple[pl.DataFrame | None, str | None]:
    """An analysis table as all-text columns (those of :data:`CLAIM_COLUMNS` it has, for a table named
    there) and None, ``(None, None)`` when absent, ``(None, why)`` when not readable CSV; parsed once
    per folder (``files.memo``), for every check that reads it."""

    def parse() -> tuple[pl.DataFrame | None, str | None]:
        data = files.bytes(rel)
        if data is None:
            return None, None
        try:
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            return None, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        keep = CLAIM_COLUMNS.get(rel)
        return (frame if keep is None else frame.select(c for c in frame.columns if c in keep)), None

    return files.memo(("csv_text_table", rel), parse)


def read_csv_table(files: EvidenceFiles, rel: str, found: Found) -> pl.DataFrame | None:
    """An analysis table as all-text columns (:func:`csv_text_table`), None when absent; an
    unreadable one is named in ``found``."""
    frame, why = csv_text_table(files, rel)
    if why is not None:
        found.append((rel, "file", f"not readable CSV ({why})"))
    return frame
