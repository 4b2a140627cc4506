"""Hand-built inputs for the evidence tests: a small labelled CAR table (five included events, one
excluded), decisions of one strategy (mapped, on an excluded event, on an unknown event) and a
consistent :class:`EvidenceInputs`, so record builders, verification and the gate can be tested
without the event-study pipeline. Shared by ``test_evidence*.py``, ``test_verify.py``,
``test_gate.py`` and ``test_dspy_bundle.py``."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from janus_core import pipeline
from janus_core.data.events import derive_event_id
from janus_core.decide import reward
from janus_core.evidence import output, records, schema
from janus_core.hashing import H

UTC = timezone.utc
EVENTS = [
    # symbol, published_at, seq, source, headline, event_type, car, direction, strength, excluded
    (
        "600001.SH",
        datetime(2024, 11, 12, 1, 0, tzinfo=UTC),
        1,
        "newswire",
        "Dividend raised",
        "dividend",
        0.0125,
        "positive",
        "strong",
        None,
    ),
    (
        "600001.SH",
        datetime(2024, 11, 12, 1, 0, tzinfo=UTC),
        2,
        "newswire",
        "CFO resigns",
        "personal_behavior",
        -0.0031,
        "negative",
        "strong",
        None,
    ),
    (
        "600002.SH",
        datetime(2024, 11, 13, 2, 30, 0, 120000, tzinfo=UTC),
        None,
        "exchange_filing",
        "Risk warning imposed",
        "risk_warning",
        -0.0512,
        "negative",
        "strong",
        None,
    ),
    (
        "600003.SH",
        datetime(2024, 11, 14, 6, 0, tzinfo=UTC),
        None,
        None,
        "Industry outlook",
        "industry",
        0.0,
        "neutral",
        "weak",
        None,
    ),
    (
        "600004.SH",
        datetime(2024, 11, 15, 7, 45, tzinfo=UTC),
        1,
        "financial_media",
        "Something odd",
        "unknown",
        0.0009,
        "positive",
        "weak",
        None,
    ),
    (
        "600005.SH",
        datetime(2024, 11, 15, 8, 0, tzinfo=UTC),
        None,
        "newswire",
        "Rating cut",
        "rating_adjustment",
        None,
        None,
        None,
        "too_few_estimation_days",
    ),
]


def labelled_table() -> pl.DataFrame:
    """The labelled CAR table in the columns ``labels.label`` returns."""
    rows = []
    for i, (sym, ts, seq, src, head, etype, car, direction, strength, excl) in enumerate(EVENTS):
        ts_text = schema.iso_utc(ts)
        inc = excl is None
        rows.append(
            {
                "event_id": derive_event_id(ts_text, sym, seq, src, f"{head}\n"),
                "symbol": sym,
                "published_at": ts,
                "seq": seq,
                "source": src,
                "headline": head,
                "body": None,
                "event_type": etype,
                "event_day": date(2024, 11, 12 + i) if inc else None,
                "model": "market",
                "alpha": 0.0001 * i if inc else None,
                "beta": 1.0 + 0.1 * i if inc else None,
                "sigma": 0.015 if inc else None,
                "estimation_days": 120 if inc else 12,
                "car": car,
                "car_mm": car + 0.001 if inc else None,
                "price_t": 10.0 + i if inc else None,
                "price_t_plus_1": (10.0 + i) * (1 + car + 0.002) if inc else None,
                "raw_return": car + 0.002 if inc else None,
                "abnormal_return": car + 0.001 if inc else None,
                "risk_neutralized_return": car if inc else None,
                "direction": direction,
                "strength": strength,
                "excluded_reason": excl,
            }
        )
    return pl.DataFrame(
        rows,
        schema_overrides={
            "published_at": pl.Datetime("us", "UTC"),
            "seq": pl.Int64,
            "body": pl.String,
            "event_day": pl.Date,
            "estimation_days": pl.Int64,
            "car": pl.Float64,
            "car_mm": pl.Float64,
            "price_t": pl.Float64,
            "price_t_plus_1": pl.Float64,
            "raw_return": pl.Float64,
            "abnormal_return": pl.Float64,
            "risk_neutralized_return": pl.Float64,
            "alpha": pl.Float64,
            "beta": pl.Float64,
            "sigma": pl.Float64,
            "direction": pl.String,
            "strength": pl.String,
            "excluded_reason": pl.String,
        },
    )


def decisions_table(labelled: pl.DataFrame, *, unmapped: bool = True, excluded: bool = True) -> pl.DataFrame:
    """Decisions of strategy ``s1``: one per included event and, when asked, one on the excluded event
    (``excluded``) and one on an event id the table does not know (``unmapped``)."""
    ids = labelled["event_id"].to_list()
    rows = [
        (ids[0], "long", "dividend", "raised payout"),
        (ids[1], "long", "personal_behavior", None),
        (ids[2], "short", "risk_warning", "ST risk"),
        (ids[3], "hold", None, None),
        (ids[4], "short", "industry", "odd"),
    ]
    if excluded:
        rows.append((ids[5], "long", "rating_adjustment", None))
    if unmapped:
        rows.append(("f" * 24, "long", None, None))
    return pl.DataFrame(
        [
            {"event_id": e, "strategy_id": "s1", "action": a, "predicted_event_type": t, "rationale": r}
            for e, a, t, r in rows
        ],
        schema={
            "event_id": pl.String,
            "strategy_id": pl.String,
            "action": pl.String,
            "predicted_event_type": pl.String,
            "rationale": pl.String,
        },
    )


def make_inputs(
    provenance: str = "synthetic_generated", *, complete: bool = False, labelled: pl.DataFrame | None = None
) -> pipeline.EvidenceInputs:
    """Consistent export inputs from the hand-built tables, scored with the lane scaffold reward;
    ``complete`` leaves out the decisions that cannot map (on the excluded and an unknown event)."""
    labelled = labelled_table() if labelled is None else labelled
    cfg = reward.reward_profile("lane_scaffold")
    mapped = records.map_decisions(decisions_table(labelled, unmapped=not complete, excluded=not complete), labelled)
    scored = pipeline.score_mapped(mapped, labelled, lambda d: reward.score(d, labelled, cfg))
    tables = {"events": {"sha256": "a" * 64, "content_hash": "b" * 64, "rows": labelled.height}}
    return pipeline.EvidenceInputs(
        labelled=labelled,
        mapped=mapped,
        scored=scored,
        dataset_name="handbuilt",
        dataset_version="1",
        provenance=provenance,
        as_of="2024-11-20T23:59:59Z",
        snapshot_hash=H({"events": "b" * 64}),
        manifest_sha256=None,
        tables=tables,
        source="hand-built test tables",
        licence="CC0-1.0 (test fixture)",
        resolved={
            "export": {"dataset": "handbuilt", "reward_profile": "lane_scaffold"},
            "car": {"model": "market"},
            "label": {"tau": "0.0015"},
            "reward": cfg.model_dump(mode="json"),
            "policy": None,
        },
        decisions_ref="decisions:handbuilt",
        candidate_id="cand-1",
        reward_profile="lane_scaffold",
        reward_config=reward.reward_config_payload(cfg),
        methodology={
            "abnormal_return_model": "market_model_ols",
            "risk_neutralization_model": "none",
            "estimation_window": "120",
            "gap": "10",
            "event_window": ["0", "2"],
            "strength_threshold": "0.0015",
            "paper_alignment": ["arXiv:2602.19919 Stage I"],
        },
    )


def write_folder(
    out: Path, provenance: str = "synthetic_generated", *, complete: bool = False, dspy: bool = False
) -> Path:
    """Render and write an evidence folder from :func:`make_inputs`; returns ``out``."""
    files, _, _ = pipeline.render_export(
        make_inputs(provenance, complete=complete), generated="2024-11-20T23:59:59Z", dspy=dspy
    )
    output.write_tree_atomically(out, files)
    return out


def run_cli(argv: list[str]) -> int:
    """Run a ``janus`` subcommand in-process through the real entry point (its one-line error
    handler included; only the named command's module is imported)."""
    from janus_core.cli import main

    return main(argv)
