"""Events: the paper's ten-type taxonomy, event-type normalisation and event identity.

A news event (not a price series) is the unit of decision in Janus-Q. The taxonomy and the published
mean |CAR| per type come from the paper (arXiv:2602.19919) and the authors' published demo.
"""

from __future__ import annotations

import numpy as np
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

#: Days since 1970-01-01 stay below this, so (symbol code, day) packs into one sortable int64 key.
CALENDAR_DAY_SPAN = 1 << 20

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


def _cutoff_minutes(cutoff: str) -> int:
    """Minutes after midnight of an ``"HH:MM"`` cut-off; a clear error for anything else."""
    try:
        hh, mm = cutoff.split(":")
        minutes = int(hh) * 60 + int(mm)
    except ValueError as exc:
        raise ValueError(f"news_cutoff {cutoff!r}: expected 'HH:MM' (e.g. '09:30')") from exc
    if not (0 <= int(hh) < 24 and 0 <= int(mm) < 60):
        raise ValueError(f"news_cutoff {cutoff!r}: hour must be 0-23 and minute 0-59")
    return minutes


def point_in_time_dates(published_at: pl.Expr, exchange_timezone: str, news_cutoff: str) -> tuple[pl.Expr, pl.Expr]:
    """The two calendar dates of the point-in-time rule, as polars expressions over a UTC datetime.

    ``published_date`` is the exchange-local calendar date of publication. ``pit_date`` is the
    earliest calendar date whose session the news can inform: the local date itself when the news
    came out strictly before the cut-off (e.g. 08:00 news trades at that day's 09:30 open), else the
    next calendar day (news at or after 09:30 on day t, up to 09:30 on t+1, trades on t+1; paper,
    janus-q-method.md Stage I.5). The event day is then the first trading day on or after
    ``pit_date`` on the stock's own calendar (:func:`map_event_days`).
    """
    cut = _cutoff_minutes(news_cutoff)
    local = published_at.dt.convert_time_zone(exchange_timezone)
    minutes = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    published_date = local.dt.date()
    pit_date = pl.when(minutes >= cut).then(published_date + pl.duration(days=1)).otherwise(published_date)
    return published_date.alias("published_date"), pit_date.alias("pit_date")


def first_session_index(calendar_keys: np.ndarray, symbol_code: np.ndarray, pit_day: np.ndarray) -> np.ndarray:
    """Row index into a (symbol code, day) calendar of the first session on or after ``pit_day``
    for the same symbol, or -1 when there is none (or the symbol code / day is negative).

    ``calendar_keys`` = ``code * 2**20 + day`` (day = days since 1970-01-01), sorted ascending:
    one binary search per event, vectorised."""
    if len(calendar_keys) == 0:
        return np.full(len(symbol_code), -1, dtype=np.int64)
    wanted = symbol_code * CALENDAR_DAY_SPAN + pit_day
    order = np.argsort(wanted, kind="stable")  # sorted needles: a cache-friendly search
    idx = np.empty(len(wanted), dtype=np.int64)
    idx[order] = np.searchsorted(calendar_keys, wanted[order], side="left")
    same_symbol = calendar_keys[np.minimum(idx, len(calendar_keys) - 1)] // CALENDAR_DAY_SPAN == symbol_code
    found = (idx < len(calendar_keys)) & (symbol_code >= 0) & (pit_day >= 0) & same_symbol
    return np.where(found, idx, -1)


def map_event_days(
    events: pl.DataFrame, prices: pl.DataFrame, exchange_timezone: str, news_cutoff: str
) -> pl.DataFrame:
    """Add ``published_date``, ``pit_date`` and ``event_day`` (Date, null when unmapped) to ``events``.

    Rule (janus-q-method.md, point-in-time): with cut-off c (exchange local time, the dataset
    manifest's ``news_cutoff``), news published in [c on day t, c on the next day) informs the
    first session after it; ``event_day`` = min{d in the stock's own trading calendar : d >=
    pit_date}, where the stock's calendar is the set of dates on which ``prices`` has a row for it
    (rows with ``tradable = false`` included: suspension is handled as an exclusion, not by moving
    the event). ``event_day`` is null when the stock has no price row on or after ``pit_date``.
    ``prices`` must be sorted by (symbol, date) (the canonical order). Row order is preserved.
    """
    published_date, pit_date = point_in_time_dates(pl.col("published_at"), exchange_timezone, news_cutoff)
    out = events.with_columns(published_date, pit_date)
    cal = prices.select(code=pl.col("symbol").rle_id().cast(pl.Int64), day=pl.col("date").cast(pl.Int64))
    symbols = prices.select(pl.col("symbol").unique(maintain_order=True))["symbol"]
    codes = (
        out.select("symbol")
        .join(
            pl.DataFrame({"symbol": symbols, "code": np.arange(len(symbols), dtype=np.int64)}),
            on="symbol",
            how="left",
            maintain_order="left",
        )["code"]
        .fill_null(-1)
        .to_numpy()
    )
    keys = cal["code"].to_numpy() * CALENDAR_DAY_SPAN + cal["day"].to_numpy()
    idx = first_session_index(keys, codes, out["pit_date"].cast(pl.Int64).fill_null(-1).to_numpy())
    day = cal["day"].to_numpy()[np.maximum(idx, 0)] if len(keys) else np.zeros(len(idx), dtype=np.int64)
    event_day = pl.Series("event_day", day).cast(pl.Int32).cast(pl.Date)
    return out.with_columns(event_day=pl.when(pl.Series(idx >= 0)).then(event_day).otherwise(None))
