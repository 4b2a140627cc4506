"""Events: the paper's ten-type taxonomy, event-type normalisation and event identity.

A news event (not a price series) is the unit of decision in Janus-Q. The taxonomy and the published
mean |CAR| per type come from the paper (arXiv:2602.19919) and the authors' published demo.
"""

from __future__ import annotations

import polars as pl

from janus_core.hashing import H

#: The ten event types of the paper, as slugs (janus-q-method.md, "The ten event types").
EVENT_TYPES: tuple[str, ...] = (
    "personal_behavior",
    "equity_change",
    "asset_change",
    "dividend",
    "risk_warning",
    "financing",
    "financial_status",
    "violation",
    "industry",
    "rating_adjustment",
)
UNKNOWN_EVENT_TYPE = "unknown"

EVENT_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "personal_behavior": ("Personal Behavior", "个人言行"),
    "equity_change": ("Equity Change", "股权变动"),
    "asset_change": ("Asset Change", "资产变动"),
    "dividend": ("Dividend", "分红转送"),
    "risk_warning": ("Risk Warning", "风险警示与消除"),
    "financing": ("Financing", "融资"),
    "financial_status": ("Financial Status", "财务状况"),
    "violation": ("Violation", "违法违规"),
    "industry": ("Industry", "行业"),
    "rating_adjustment": ("Rating Adjustment", "评级调整"),
}

#: Historical mean |CAR| by type, the paper's backtest weights (authors' published demo).
PUBLISHED_MEAN_ABS_CAR: dict[str, float] = {
    "risk_warning": 0.0511,
    "violation": 0.0308,
    "equity_change": 0.0287,
    "asset_change": 0.0257,
    "financial_status": 0.0255,
    "dividend": 0.0253,
    "financing": 0.0243,
    "industry": 0.0243,
    "personal_behavior": 0.0197,
    "rating_adjustment": 0.0194,
}

_ALIASES: dict[str, str] = {
    **{slug: slug for slug in EVENT_TYPES},
    **{name.lower(): slug for slug, (name, _) in EVENT_TYPE_NAMES.items()},
    **{zh: slug for slug, (_, zh) in EVENT_TYPE_NAMES.items()},
    "personal behaviour": "personal_behavior",
    "personal_behaviour": "personal_behavior",
    "dividends": "dividend",
    "bonus_shares": "dividend",
    "share_transfer": "dividend",
    "risk warning": "risk_warning",
    "st": "risk_warning",
    "equity": "equity_change",
    "asset": "asset_change",
    "financial status": "financial_status",
    "earnings": "financial_status",
    "violations": "violation",
    "regulatory_violation": "violation",
    "rating": "rating_adjustment",
    "rating change": "rating_adjustment",
    "analyst_rating": "rating_adjustment",
    "industry news": "industry",
}


def normalise_event_type(raw: str | None) -> str:
    """Map a raw event-type label (slug, English or Chinese name, common alias; case, spaces and
    hyphens ignored) to one of ``EVENT_TYPES``, or ``"unknown"``."""
    if raw is None:
        return UNKNOWN_EVENT_TYPE
    key = raw.strip().lower()
    for candidate in (key, key.replace("-", "_"), key.replace("-", " "), key.replace(" ", "_")):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    return UNKNOWN_EVENT_TYPE


def normalise_event_types(raw: pl.Series) -> pl.Series:
    """Vectorised :func:`normalise_event_type` over a string column (unique values mapped once)."""
    uniques = raw.unique()
    mapping = {u: normalise_event_type(u) for u in uniques.to_list()}
    return raw.replace_strict(mapping, return_dtype=pl.String).alias("event_type")


def derive_event_id(event_ts: str, symbol: str, seq: int | None, source: str | None, payload: str) -> str:
    """The lane's event id: the first 24 hex characters of
    ``H({"event_ts", "symbol", "seq", "source", "payload"})`` (lane-contract.md)."""
    return H({"event_ts": event_ts, "symbol": symbol, "seq": seq, "source": source, "payload": payload})[:24]
