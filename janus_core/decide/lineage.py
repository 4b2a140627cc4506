"""Model lineage of a decisions file: which model decided, from which prompts, and over which rows.

``janus decide`` writes its decisions as Parquet with one key-value metadata entry,
``janus.decisions_lineage``, holding canonical JSON (``hashing.canonical_json``)::

    {"schema": "janus-decisions-lineage-v1", "model_id": ..., "model_kind": "text-baseline"|"openai"|"callable",
     "model_fingerprints": [...], "template": {"name", "sha256"}, "fitted_model_sha256": ... | null,
     "sampling": {...} | null, "dataset": {...}, "split": ..., "decisions": n, "malformed": n,
     "model_refs": [...], "decisions_content_hash": HEX}

and, for a compiled DSPy program (``model_kind`` ``dspy``), ``"dspy"``: its compile record
(``dspy_record.DspyProgramRecord``), which ``janus export --dspy-bundle`` turns into the bundle's
compile result.

``decisions_content_hash`` is :func:`decisions_content_hash` of the rows, so the lineage names the
exact rows it describes. ``janus export`` reads it back (:func:`decisions_model_refs`): a file whose
rows no longer match its lineage is refused; the lineage's ``model_refs`` go into the evidence's
``lineage.model_refs`` after the decisions reference. A decisions file without this metadata (CSV,
JSON Lines, a hand-made Parquet file) has no model refs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from janus_core.hashing import H, canonical_json

LINEAGE_KEY = "janus.decisions_lineage"
LINEAGE_SCHEMA = "janus-decisions-lineage-v1"


class LineageError(ValueError):
    """A decisions file's lineage is unreadable or does not describe its rows."""


def _jsonable(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def decisions_content_hash(decisions: pl.DataFrame) -> str:
    """``H(rows)`` over every column, the rows sorted by (event_id, strategy_id) and each row a
    ``{column: value}`` object (dates as ISO text): the same for a frame and for the same frame
    read back by ``decisions.load_decisions``, whatever the row or column order."""
    rows = decisions.sort("event_id", "strategy_id", maintain_order=True).iter_rows(named=True)
    return H([{k: _jsonable(v) for k, v in row.items()} for row in rows])


def model_refs(lineage: Mapping[str, Any]) -> list[str]:
    """The lineage's references, in the order the evidence lists them: model, fingerprints,
    template, fitted model (text baseline), compiled DSPy program (its compiled prompt hash),
    decisions content."""
    refs = [f"model:{lineage['model_id']}"]
    refs += [f"model_fingerprint:{fp}" for fp in lineage.get("model_fingerprints") or []]
    template = lineage.get("template")
    if template:
        refs.append(f"template:{template['name']}:sha256:{template['sha256']}")
    if lineage.get("fitted_model_sha256"):
        refs.append(f"fitted_model:sha256:{lineage['fitted_model_sha256']}")
    if lineage.get("dspy"):
        refs.append(f"dspy_program:sha256:{lineage['dspy']['compiled_prompt_hash']}")
    refs.append(f"decisions_content:sha256:{lineage['decisions_content_hash']}")
    return refs


def seal(lineage: Mapping[str, Any], decisions: pl.DataFrame) -> dict[str, Any]:
    """The lineage with ``schema``, ``decisions_content_hash`` of ``decisions`` and ``model_refs``."""
    body = {k: v for k, v in lineage.items() if k not in ("decisions_content_hash", "model_refs")}
    body = {**body, "schema": LINEAGE_SCHEMA, "decisions_content_hash": decisions_content_hash(decisions)}
    return {**body, "model_refs": model_refs(body)}


def write_decisions(decisions: pl.DataFrame, lineage: Mapping[str, Any], path: str | Path) -> dict[str, Any]:
    """Write ``decisions`` (sorted by event_id, strategy_id) to Parquet at ``path`` with the sealed
    lineage as metadata, atomically (temp file, then rename). Same rows and lineage, same bytes.
    Returns the sealed lineage."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        raise LineageError(f"{path}: decisions with lineage are written as Parquet (.parquet)")
    frame = decisions.sort("event_id", "strategy_id", maintain_order=True)
    sealed = seal(lineage, frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp, metadata={LINEAGE_KEY: canonical_json(sealed)}, statistics=True)
    tmp.replace(path)
    return sealed


def read_lineage(path: str | Path) -> dict[str, Any] | None:
    """The lineage stored in a decisions Parquet file, or None (not Parquet, or no lineage)."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        return None
    try:
        meta = pl.read_parquet_metadata(path)
    except Exception as exc:  # noqa: BLE001 - polars raises several error types for unreadable files
        raise LineageError(f"{path}: cannot read the Parquet metadata ({exc})") from None
    text = meta.get(LINEAGE_KEY)
    if text is None:
        return None
    try:
        lineage = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineageError(f"{path}: metadata {LINEAGE_KEY} is not JSON ({exc})") from None
    if not isinstance(lineage, dict) or lineage.get("schema") != LINEAGE_SCHEMA:
        raise LineageError(f"{path}: metadata {LINEAGE_KEY} is not a {LINEAGE_SCHEMA} object")
    return lineage


def decisions_model_refs(path: str | Path, decisions: pl.DataFrame) -> list[str]:
    """The model refs of a decisions file (empty without lineage), after checking that its
    lineage's content hash is that of ``decisions`` (the file's rows as loaded) and that its refs
    are the ones the lineage implies."""
    lineage = read_lineage(path)
    if lineage is None:
        return []
    actual = decisions_content_hash(decisions)
    if lineage.get("decisions_content_hash") != actual:
        raise LineageError(
            f"{path}: lineage decisions_content_hash {lineage.get('decisions_content_hash')} does not "
            f"match the rows ({actual}); rule: a decisions file's lineage names its own rows"
        )
    refs = lineage.get("model_refs")
    if refs != model_refs(lineage):
        raise LineageError(f"{path}: lineage model_refs {refs} are not the ones its fields imply")
    return list(refs)
