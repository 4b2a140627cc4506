"""What a quarantine import (or a quarantined decisions file) left out, carried into the evidence.

A quarantine import keeps the good rows and sets the rejected ones aside (``data/NAME/VERSION/rejected/``);
a decisions file read with ``on_invalid="quarantine"`` likewise. Evidence built on such inputs says so:
the run manifest gets a ``quarantine`` section (:func:`quarantine_record`), the companion summary a
reason (:data:`janus_core.evidence.schema.REASON_QUARANTINED`, the workbench's own code, not the lane's)
whenever rows of the candidate's universe were rejected, and the review report lists them.

The candidate's universe is every security the study covers (the symbols of the dataset's events) and
every security its decisions name. A rejected row belongs to it when it is an event, a benchmark row
(every market model reads a benchmark), a decision, or a securities, prices or exposures row whose
``symbol`` is in the universe or cannot be read (fail closed).

``quarantine`` section of the run manifest::

    {"dataset": {"on_invalid": "quarantine" | "fail" | null,
                 "tables": {table: {"accepted": n, "rejected": n}},
                 "rejected_securities": [symbol, ...],
                 "universe_rows_rejected": {table: n},
                 "universe_symbols": [symbol, ...]},      # the first 50 affected symbols, sorted
     "decisions": {"read": n, "accepted": n, "rejected": n},
     "universe_rows_rejected": n}                          # the dataset's, plus every rejected decision
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

QUARANTINE_KEY = "quarantine"
#: Rows of a decisions file rejected in quarantine mode, with their reasons.
REJECTED_DECISIONS_REF = "analysis/rejected_decisions.csv"
#: Symbols listed in the record (the count covers all of them).
LISTED_SYMBOLS = 50
#: Tables whose every rejected row belongs to the universe.
ALWAYS_IN_UNIVERSE: tuple[str, ...] = ("events", "benchmarks")


def _symbols(frame: pl.DataFrame) -> list[str | None]:
    if "symbol" not in frame.columns:
        return [None] * frame.height
    return [None if v is None else str(v).strip() or None for v in frame["symbol"].cast(pl.String, strict=False)]


def quarantine_record(
    manifest: Mapping[str, Any],
    rejected: Mapping[str, pl.DataFrame],
    universe: Iterable[str],
    decisions: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The run manifest's ``quarantine`` section (module docstring) from the dataset manifest, its
    rejected rows and the universe's symbols; ``decisions`` holds the decisions file's ``read``,
    ``accepted`` and ``rejected`` counts (None: the decisions did not come from a file)."""
    universe = set(universe)
    tables_entry = manifest.get("tables") if isinstance(manifest.get("tables"), Mapping) else {}
    rejected_entry = manifest.get("rejected") if isinstance(manifest.get("rejected"), Mapping) else {}
    counts = {
        t: {
            "accepted": int((tables_entry.get(t) or {}).get("rows") or 0),
            "rejected": int((rejected_entry.get(t) or {}).get("rows") or 0),
        }
        for t in sorted(set(tables_entry) | set(rejected_entry))
    }
    in_universe: dict[str, int] = {}
    affected: set[str] = set()
    for table, frame in sorted(rejected.items()):
        symbols = _symbols(frame)
        hit = [s for s in symbols if table in ALWAYS_IN_UNIVERSE or s is None or s in universe]
        if hit:
            in_universe[table] = len(hit)
            affected |= {s for s in hit if s is not None}
    securities = rejected.get("securities")
    production = manifest.get("production") if isinstance(manifest.get("production"), Mapping) else {}
    dataset = {
        "on_invalid": production.get("on_invalid"),
        "tables": counts,
        "rejected_securities": sorted({s for s in _symbols(securities) if s is not None})
        if securities is not None
        else [],
        "universe_rows_rejected": in_universe,
        "universe_symbols": sorted(affected)[:LISTED_SYMBOLS],
    }
    dec = (
        {"read": 0, "accepted": 0, "rejected": 0}
        if decisions is None
        else {k: int(decisions[k]) for k in ("read", "accepted", "rejected")}
    )
    return {"dataset": dataset, "decisions": dec, "universe_rows_rejected": sum(in_universe.values()) + dec["rejected"]}


def universe_rows_rejected(record: Any) -> int:
    """The count the companion summary's reason follows (0 for evidence without the section)."""
    value = record.get("universe_rows_rejected") if isinstance(record, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def record_problems(record: Any) -> list[tuple[str, str]]:
    """``(location, rule)`` for a ``quarantine`` section whose counts do not add up."""
    if not isinstance(record, Mapping):
        return [("quarantine", "not an object")]
    out: list[tuple[str, str]] = []
    dataset = record.get("dataset") if isinstance(record.get("dataset"), Mapping) else {}
    decisions = record.get("decisions") if isinstance(record.get("decisions"), Mapping) else {}
    rows = dataset.get("universe_rows_rejected") if isinstance(dataset.get("universe_rows_rejected"), Mapping) else {}
    try:
        total = sum(int(v) for v in rows.values()) + int(decisions.get("rejected", 0))
        if int(decisions.get("read", 0)) != int(decisions.get("accepted", 0)) + int(decisions.get("rejected", 0)):
            out.append(("quarantine.decisions", "read is not accepted + rejected"))
    except (TypeError, ValueError):
        return [("quarantine", "counts are not integers")]
    if record.get("universe_rows_rejected") != total:
        out.append(
            (
                "quarantine.universe_rows_rejected",
                f"is {record.get('universe_rows_rejected')!r}, the tables and decisions give {total}",
            )
        )
    return out
