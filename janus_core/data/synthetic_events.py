"""The synthetic sample's news (:mod:`janus_core.data.synthetic`): publication times inside the
point-in-time interval of each event day, sentiment, source, templated headline and body, and the
lane's event id; drawn from the text stream in the order written in :func:`event_table`."""

from __future__ import annotations

import numpy as np
import polars as pl

from janus_core.data import portable
from janus_core.data.events import EVENT_TYPES, derive_event_id
from janus_core.data.tables import event_ts_iso

#: Time zone of the generated market (publication times are drawn in its local time).
EXCHANGE_TIMEZONE = "Asia/Shanghai"
SOURCES: tuple[str, ...] = ("exchange_filing", "newswire", "financial_media")

#: Headline templates per event type: (positive variants, negative variants).
HEADLINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "personal_behavior": (
        ("{name} chairman pledges to raise personal holdings", "{name} founder praised for governance reform"),
        ("{name} chairman placed under investigation", "{name} executive's remarks spark controversy"),
    ),
    "equity_change": (
        ("{name} controlling shareholder plans to raise stake by {pct}%", "{name} announces buyback of up to {amt} million yuan"),
        ("{name} major shareholder plans to cut stake by {pct}%", "{name} holders to sell after lock-up expiry"),
    ),
    "asset_change": (
        ("{name} to acquire {industry} assets for {amt} million yuan", "{name} completes major asset restructuring"),
        ("{name} terminates major asset restructuring", "{name} writes down {amt} million yuan of assets"),
    ),
    "dividend": (
        ("{name} proposes cash dividend of {div} yuan per 10 shares", "{name} plans {bonus} bonus shares per 10 shares"),
        ("{name} proposes no dividend for the year", "{name} cuts cash dividend to {div} yuan per 10 shares"),
    ),
    "risk_warning": (
        ("{name} risk warning lifted, ST designation removed", "{name} to drop *ST tag after audit"),
        ("{name} to receive *ST risk warning", "{name} warns of possible delisting"),
    ),
    "financing": (
        ("{name} private placement of {amt} million yuan approved", "{name} obtains {amt} million yuan credit line"),
        ("{name} private placement plan rejected", "{name} to issue dilutive convertible bonds of {amt} million yuan"),
    ),
    "financial_status": (
        ("{name} expects net profit to rise {pct}%", "{name} quarterly revenue beats expectations"),
        ("{name} expects net loss for the year", "{name} net profit falls {pct}% year on year"),
    ),
    "violation": (
        ("{name} regulatory probe closed without penalty", "{name} settles disclosure case"),
        ("{name} fined by CSRC for disclosure violations", "{name} under CSRC investigation"),
    ),
    "industry": (
        ("{industry} sector wins policy support, {name} to benefit", "{industry} demand surges, {name} raises output"),
        ("{industry} faces tighter regulation, {name} exposed", "{industry} prices slump, pressure on {name}"),
    ),
    "rating_adjustment": (
        ("Broker upgrades {name} to Buy", "{name} target price raised {pct}%"),
        ("Broker downgrades {name} to Sell", "{name} target price cut {pct}%"),
    ),
}  # fmt: skip


def publication_times(
    slot_shares: tuple[float, ...], bits: np.random.BitGenerator, calendar: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Local (Asia/Shanghai) publication times ``datetime64[s]`` inside [t 09:30, d 09:30), t the
    trading day before d: intraday on t, after close on t, pre-open on d, or on a non-trading day
    between (falls back to after close when t and d are adjacent calendar days). Offsets inside a
    slot are whole seconds ``floor(u * slot length)``."""
    n = day.size
    d = calendar[day].astype("datetime64[s]")
    t = calendar[day - 1].astype("datetime64[s]")
    gap_days = ((d - t) // np.timedelta64(1, "D")).astype(np.int64)
    slot = portable.categorical(bits, slot_shares, n)
    slot = np.where((slot == 3) & (gap_days <= 1), 1, slot)
    u = portable.uniform(bits, n)

    def offset(seconds: int) -> np.ndarray:
        return np.floor(u * float(seconds)).astype(np.int64).astype("timedelta64[s]")

    hour = np.timedelta64(3600, "s")
    intraday = t + np.timedelta64(9 * 3600 + 1800, "s") + offset(5 * 3600 + 1800)
    after_close = t + 15 * hour + offset(9 * 3600)
    pre_open = d + 6 * hour + offset(3 * 3600 + 1800 - 1)
    between = np.floor(portable.uniform(bits, n) * np.maximum(gap_days - 1, 1)).astype(np.int64) + 1
    non_trading = t + between.astype("timedelta64[D]") + 8 * hour + offset(14 * 3600)
    return np.choose(slot, [intraday, after_close, pre_open, non_trading])


def headlines(
    rng: np.random.Generator,
    types: np.ndarray,
    positive: np.ndarray,
    names: list[str],
    industries: list[str],
) -> list[str]:
    """Templated headlines: a type- and sign-specific template with random figures."""
    variant = rng.integers(0, 2, types.size)
    pct = rng.integers(1, 31, types.size)
    amt = rng.integers(50, 5001, types.size)
    div = rng.integers(1, 51, types.size) / 10
    bonus = rng.integers(1, 11, types.size)
    out = []
    for i in range(types.size):
        template = HEADLINES[EVENT_TYPES[types[i]]][0 if positive[i] else 1][variant[i]]
        out.append(
            template.format(
                name=names[i], industry=industries[i], pct=pct[i], amt=amt[i], div=f"{div[i]:.1f}", bonus=bonus[i]
            )
        )
    return out


def event_table(
    bits: np.random.BitGenerator,
    local_ts: np.ndarray,
    stock: np.ndarray,
    ev_type: np.ndarray,
    positive: np.ndarray,
    car: np.ndarray,
    injected_day: pl.Series,
    *,
    sentiment_accuracy: float,
    sentiment_neutral_share: float,
    symbols: list[str],
    names: list[str],
    industries: list[str],
    tiers: list[str],
) -> pl.DataFrame:
    """The events table: per event (stock index ``stock``, local publication time ``local_ts``), a
    sentiment that agrees with the sign with probability ``sentiment_accuracy`` (else neutral with
    probability ``sentiment_neutral_share``, else the opposite), a source, a headline and a body;
    ``seq`` numbers a stock's events in time order and ``event_id = derive_event_id(published_at,
    symbol, seq, source, headline + "\\n" + body)``. ``industries`` and ``tiers`` are per stock. Rows in
    canonical order (published_at, symbol, event_id); the truth kept as ``injected_car`` and
    ``injected_event_day``."""
    rng_txt = np.random.Generator(bits)
    n_ev = stock.size
    sentiment_draw = portable.uniform(bits, n_ev)
    agree = sentiment_draw < sentiment_accuracy
    neutral = ~agree & (portable.uniform(bits, n_ev) < sentiment_neutral_share)
    sentiment = np.where(agree == positive, "positive", "negative")
    sentiment = np.where(neutral, "neutral", sentiment)
    source = np.asarray(SOURCES)[rng_txt.integers(0, len(SOURCES), n_ev)]
    ev_names = [names[s] for s in stock]
    ev_industries = [industries[s] for s in stock]
    heads = headlines(rng_txt, ev_type, positive, ev_names, ev_industries)
    ev_symbols = [symbols[s] for s in stock]
    bodies = [
        f"{h}. {nm} ({sym}), a {ind} company in the {tiers[s]}-cap tier, disclosed the matter "
        f"via {src.replace('_', ' ')}. Synthetic text generated for the Janus-Q workbench."
        for h, nm, sym, ind, s, src in zip(heads, ev_names, ev_symbols, ev_industries, stock, source)
    ]
    published = (
        pl.Series("published_at", local_ts.astype("datetime64[us]"))
        .dt.replace_time_zone(EXCHANGE_TIMEZONE)
        .dt.convert_time_zone("UTC")
    )
    events = pl.DataFrame(
        {
            "symbol": ev_symbols,
            "published_at": published,
            "event_type": np.asarray(EVENT_TYPES)[ev_type],
            "headline": heads,
            "body": bodies,
            "sentiment": sentiment,
            "source": source,
            "injected_event_day": injected_day,
            "injected_car": car,
        }
    ).sort("symbol", "published_at")
    events = events.with_columns(
        pl.col("event_type").alias("event_type_raw"),
        (pl.int_range(pl.len()).over("symbol") + 1).cast(pl.Int64).alias("seq"),
    )
    identity = events.select(
        event_ts_iso(pl.col("published_at")), "symbol", "seq", "source",
        pl.col("headline") + pl.lit("\n") + pl.col("body"),
    )  # fmt: skip
    event_ids = pl.Series("event_id", [derive_event_id(*row) for row in identity.iter_rows()], dtype=pl.String)
    return events.select(
        event_ids, "symbol", "published_at", "event_type", "event_type_raw", "headline", "seq", "body",
        "sentiment", "source", "injected_car", "injected_event_day",
    ).sort("published_at", "symbol", "event_id")  # fmt: skip
