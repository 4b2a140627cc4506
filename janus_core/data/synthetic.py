"""Synthetic A-share sample: a seeded, fully vectorised market with injected event reactions.

The generator builds a :class:`~janus_core.data.dataset.Dataset` whose event reactions are *known*, so every
Stage I estimator (market model, risk neutralisation, CAR) can be checked against the truth.

Market
------
- Calendar: weekdays from ``start_date``, minus fixed-date holidays (New Year, Labour Day, National
  Day) and the Spring Festival closures listed in the config; ``n_days`` trading days in total.
- Benchmarks CSI300 / CSI500 / CSI1000: daily returns ``r_b = mu_b + L z`` with ``L`` the Cholesky
  factor of the configured covariance (correlated indices), closes ``C_b(t) = base_b prod(1 + r_b)``.
- Stocks in three size tiers (large -> CSI300, mid -> CSI500, small -> CSI1000), one industry each.
- Style exposures ``X(i,k,t)`` (size, value, momentum, volatility): a per-stock level (size shifted
  by tier) plus a stationary AR(1) drift ``x_t = phi x_(t-1) + sqrt(1 - phi^2) eta_t`` with
  ``eta ~ N(0, exposure_drift_sd^2)``, standardised cross-sectionally on each date.
- Daily simple returns::

      r(i,t) = alpha_i + beta_i r_b(i)(t) + sum_k X(i,k,t) f_k(t) + g_ind(i)(t) + eps(i,t) + AR(i,t)

  with Student-t ``eps`` (``t_dof`` degrees of freedom, scaled to the tier's volatility), factor
  returns ``f_k`` and industry returns ``g`` normal, and ``AR`` the injected event reaction.
- Price limits: returns are clipped to +/-``limit``; a configured share of ordinary days are
  one-price limit moves (``r = +/-limit``, open = close). A day is *limit-locked* (``tradable``
  false) when ``|r| >= limit_lock_threshold``.
- Suspensions: episodes of geometric length start at rate ``suspension_rate`` per stock-day. On a
  suspended day the price row is **kept and marked untradable**: open = close = the previous close,
  volume 0 (so the suspended-day return is exactly 0 and no return is imputed); the price catches up
  with the latent path in one step on the resumption day (unlike the exchange's limit rules).
- Opens: ``open(t) = close(t-1) (1 + omega r(t) + u(t))``, ``u ~ N(0, open_noise)``, clipped to the
  limit: the overnight gap carries part of the day's move, including pre-open news.
- Prices are adjusted prices (not rounded to the tick).

Events
------
Each event has a point-in-time event day ``d``: news published from 09:30 on trading day ``t`` up to
(not including) 09:30 on the next trading day trades on that next trading day, i.e. ``d`` is the
first trading day whose 09:30 (Asia/Shanghai) is strictly after ``published_at`` (the rule of
:func:`janus_core.data.events.map_event_days`). Publication times follow a mix of intraday, after-close,
pre-open and non-trading-day (weekend / holiday) slots inside that interval. An event injects the
abnormal return path ``AR(d + j) = injection_profile[j] * c`` for j = 0, 1, 2 with total
``c = s m``: sign ``s = +1`` with the type's probability, magnitude ``m ~ Gamma(k, mean_type / k)``
so that ``E|c| = PUBLISHED_MEAN_ABS_CAR[type]``. The truth is kept on the events table as
``injected_event_day`` (Date) and ``injected_car`` (Float64). Events on one stock are at least
``min_event_gap`` trading days apart; suspensions and one-price limit moves never touch the days
``d - 1 .. d + 2`` of an event (so every injected path is observed; only the plain +/-limit clip
can cut an extreme day, which is rare).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.signal import lfilter
from tqdm import tqdm

from janus_core.data.dataset import Dataset, DatasetMeta
from janus_core.data.events import EVENT_TYPES, PUBLISHED_MEAN_ABS_CAR, derive_event_id
from janus_core.data.tables import event_ts_iso

GENERATOR_VERSION = "1"
EXCHANGE_TIMEZONE = "Asia/Shanghai"
NEWS_CUTOFF = "09:30"
BENCHMARKS: tuple[str, ...] = ("CSI300", "CSI500", "CSI1000")
SIZE_TIERS: tuple[str, ...] = ("large", "mid", "small")
STYLE_FACTORS: tuple[str, ...] = ("size", "value", "momentum", "volatility")
INDUSTRIES: tuple[str, ...] = (
    "Banks", "Non-bank Finance", "Real Estate", "Pharmaceuticals", "Food & Beverage",
    "Household Appliances", "Electronics", "Computers", "Communications", "Media", "Automobiles",
    "Machinery", "Electrical Equipment", "Defense", "Chemicals", "Steel", "Nonferrous Metals",
    "Coal", "Utilities", "Transportation", "Construction", "Building Materials", "Agriculture",
    "Textiles", "Retail", "Leisure Services",
)  # fmt: skip
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


class SyntheticConfig(BaseModel):
    """Every constant of the synthetic A-share generator (defaults: demo scale).

    ``n_days`` counts all trading days, the first ``warmup_days`` of which carry no news (room for
    an estimation window of up to ``warmup_days`` minus the gap); the last ``tail_days`` carry no
    news either (room for the event window and a short holding period). With the defaults the
    calendar starts 2022-05-23, news starts on 2022-12-26 (after 150 warm-up days: room for a 120-day
    estimation window and a 30-day gap), and prices end 2024-01-25 (demo) or 2024-07-10 (paper): the
    paper scale has the paper's counts, not its 2023-01 to 2025-02 dates.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "synthetic-ashare"
    seed: int = 20260221
    scale: Literal["demo", "paper"] = "demo"
    n_stocks: int = Field(300, ge=3)
    n_days: int = Field(420, ge=30)
    n_events: int = Field(3000, ge=0)
    warmup_days: int = Field(150, ge=2)
    tail_days: int = Field(5, ge=3)
    start_date: dt.date = dt.date(2022, 5, 23)
    #: Fixed-date exchange holidays (month, day), every year.
    fixed_holidays: tuple[tuple[int, int], ...] = (
        (1, 1), (5, 1), (5, 2), (5, 3), (10, 1), (10, 2), (10, 3), (10, 4), (10, 5), (10, 6), (10, 7),
    )  # fmt: skip
    #: Spring Festival closures (first, last calendar day), inclusive.
    spring_festival: tuple[tuple[dt.date, dt.date], ...] = (
        (dt.date(2022, 1, 31), dt.date(2022, 2, 4)),
        (dt.date(2023, 1, 23), dt.date(2023, 1, 27)),
        (dt.date(2024, 2, 9), dt.date(2024, 2, 16)),
        (dt.date(2025, 1, 28), dt.date(2025, 2, 4)),
        (dt.date(2026, 2, 16), dt.date(2026, 2, 20)),
    )
    #: Share of stocks per size tier (large, mid, small).
    tier_shares: tuple[float, float, float] = (0.2, 0.3, 0.5)
    n_industries: int = Field(26, ge=1, le=len(INDUSTRIES))
    #: Benchmark (CSI300, CSI500, CSI1000) daily mean, volatility, correlation, first close.
    bench_mean: tuple[float, float, float] = (0.0002, 0.0002, 0.0001)
    bench_vol: tuple[float, float, float] = (0.011, 0.013, 0.015)
    bench_corr: tuple[float, float, float] = (0.92, 0.85, 0.95)  # (300-500, 300-1000, 500-1000)
    bench_base: tuple[float, float, float] = (4000.0, 6000.0, 6500.0)
    alpha_sd: float = 0.0003
    beta_mean: float = 1.0
    beta_sd: float = 0.25
    beta_bounds: tuple[float, float] = (0.3, 2.0)
    #: Idiosyncratic daily volatility per tier (large, mid, small) and its cross-stock dispersion.
    idio_vol: tuple[float, float, float] = (0.012, 0.016, 0.020)
    idio_vol_dispersion: float = 0.2
    t_dof: float = Field(4.0, gt=2.0)
    #: Mean style exposure level per tier (size factor only; other factors have mean 0).
    tier_size_level: tuple[float, float, float] = (1.5, 0.0, -1.0)
    exposure_level_sd: float = 1.0
    exposure_drift_sd: float = 0.5
    exposure_phi: float = Field(0.99, ge=0.0, lt=1.0)
    factor_vol: tuple[float, float, float, float] = (0.004, 0.003, 0.004, 0.005)
    industry_vol: float = 0.006
    price_range: tuple[float, float] = (3.0, 120.0)
    open_omega: float = 0.3
    open_noise: float = 0.003
    volume_median: tuple[float, float, float] = (2.0e7, 8.0e6, 3.0e6)
    limit: float = 0.10
    limit_lock_threshold: float = 0.095
    limit_lock_rate: float = Field(0.003, ge=0.0, le=1.0)
    suspension_rate: float = Field(0.001, ge=0.0, le=1.0)
    suspension_mean_days: float = Field(3.0, ge=1.0)
    suspension_max_days: int = Field(20, ge=1)
    #: Relative news intensity per tier (large caps get more coverage).
    tier_news_weight: tuple[float, float, float] = (2.0, 1.2, 0.8)
    #: Share of events per type (normalised); order of ``events.EVENT_TYPES``.
    type_shares: tuple[float, ...] = (0.06, 0.16, 0.12, 0.10, 0.04, 0.10, 0.18, 0.05, 0.08, 0.11)
    #: Probability that an event's injected reaction is positive, per type (``EVENT_TYPES`` order).
    type_positive_prob: tuple[float, ...] = (0.45, 0.45, 0.55, 0.80, 0.25, 0.45, 0.50, 0.10, 0.55, 0.55)
    #: Mean |injected CAR| per type; defaults to the paper's published figures.
    type_mean_abs_car: tuple[float, ...] = tuple(PUBLISHED_MEAN_ABS_CAR[t] for t in EVENT_TYPES)
    #: Gamma shape of the injected |CAR| (coefficient of variation 1/sqrt(k)).
    magnitude_shape: float = Field(2.0, gt=0.0)
    #: Share of the injected CAR realised on days d, d+1, d+2.
    injection_profile: tuple[float, float, float] = (0.60, 0.25, 0.15)
    min_event_gap: int = Field(5, ge=3)
    #: Probability that the headline sentiment agrees with the injected sign; the rest is split
    #: between neutral and the opposite sign by ``sentiment_neutral_share``.
    sentiment_accuracy: float = Field(0.8, ge=0.0, le=1.0)
    sentiment_neutral_share: float = Field(0.6, ge=0.0, le=1.0)
    #: Publication slot mix: intraday on t, after close on t, pre-open on d, non-trading day.
    slot_shares: tuple[float, float, float, float] = (0.25, 0.45, 0.20, 0.10)

    @model_validator(mode="after")
    def _check(self) -> "SyntheticConfig":
        n = len(EVENT_TYPES)
        for field in ("type_shares", "type_positive_prob", "type_mean_abs_car"):
            if len(getattr(self, field)) != n:
                raise ValueError(f"SyntheticConfig.{field}: needs {n} values (one per event type)")
        if abs(sum(self.injection_profile) - 1.0) > 1e-12:
            raise ValueError("SyntheticConfig.injection_profile: shares must sum to 1")
        news_days = self.n_days - self.warmup_days - self.tail_days
        if news_days < self.min_event_gap:
            raise ValueError(f"SyntheticConfig: n_days={self.n_days} leaves {news_days} news days")
        capacity = self.n_stocks * ((news_days - 1) // self.min_event_gap + 1)
        if self.n_events > capacity:
            raise ValueError(
                f"SyntheticConfig: n_events={self.n_events} exceeds the capacity {capacity} of "
                f"{self.n_stocks} stocks x {news_days} news days at min_event_gap={self.min_event_gap}"
            )
        return self

    @classmethod
    def for_scale(cls, scale: Literal["demo", "paper"], **overrides: object) -> "SyntheticConfig":
        """Demo: 300 stocks, 420 trading days, 3,000 events (seconds end to end). Paper: the paper's
        5,282 stocks, 530 trading days, 62,400 events."""
        sizes: dict[str, dict[str, object]] = {
            "demo": {"n_stocks": 300, "n_days": 420, "n_events": 3000},
            "paper": {"n_stocks": 5282, "n_days": 530, "n_events": 62400},
        }
        if scale not in sizes:
            raise ValueError(f"unknown scale {scale!r}; expected 'demo' or 'paper'")
        return cls(scale=scale, **{**sizes[scale], **overrides})


def trading_calendar(cfg: SyntheticConfig) -> np.ndarray:
    """The first ``cfg.n_days`` weekdays on or after ``start_date`` that are not holidays
    (``datetime64[D]`` array)."""
    span = int(cfg.n_days * 1.6) + 60
    days = np.arange(np.datetime64(cfg.start_date, "D"), np.datetime64(cfg.start_date, "D") + span)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3 = Thu when Mon = 0)
    month_day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    holiday = np.zeros(days.shape, dtype=bool)
    for m, d in cfg.fixed_holidays:
        holiday |= (months == m) & (month_day == d)
    for first, last in cfg.spring_festival:
        holiday |= (days >= np.datetime64(first, "D")) & (days <= np.datetime64(last, "D"))
    open_days = days[(weekday < 5) & ~holiday]
    if open_days.size < cfg.n_days:
        raise ValueError("trading_calendar: calendar span too short")
    return open_days[: cfg.n_days]


def _allocate_events(cfg: SyntheticConfig, rng: np.random.Generator, tier: np.ndarray, capacity: int) -> np.ndarray:
    """Events per stock: multinomial by tier news weight, overflow above ``capacity`` re-drawn
    among stocks with room."""
    weight = np.asarray(cfg.tier_news_weight)[tier]
    counts = rng.multinomial(cfg.n_events, weight / weight.sum())
    while (excess := int(np.maximum(counts - capacity, 0).sum())) > 0:
        counts = np.minimum(counts, capacity)
        room = weight * (counts < capacity)
        counts = counts + rng.multinomial(excess, room / room.sum())
    return counts


def _event_days(
    cfg: SyntheticConfig, rng: np.random.Generator, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(stock index, event-day index) per event. Per stock with n events: sorted uniforms
    ``y_j`` on [0, M), ``M = news_days - (n - 1) gap``, and ``d_j = warmup + floor(y_j) + j gap``,
    so consecutive event days are at least ``gap`` apart."""
    news_days = cfg.n_days - cfg.warmup_days - cfg.tail_days
    gap = cfg.min_event_gap
    stock = np.repeat(np.arange(counts.size), counts)
    span = (news_days - (counts - 1) * gap)[stock].astype(np.float64)
    y = rng.random(stock.size) * span
    order = np.lexsort((y, stock))
    stock, y = stock[order], y[order]
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(stock.size) - first[stock]
    return stock, cfg.warmup_days + np.floor(y).astype(np.int64) + rank * gap


def _publication_times(
    cfg: SyntheticConfig, rng: np.random.Generator, calendar: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Local (Asia/Shanghai) publication times ``datetime64[s]`` inside [t 09:30, d 09:30), t the
    trading day before d: intraday on t, after close on t, pre-open on d, or on a non-trading day
    between (falls back to after close when t and d are adjacent calendar days)."""
    n = day.size
    d = calendar[day].astype("datetime64[s]")
    t = calendar[day - 1].astype("datetime64[s]")
    gap_days = ((d - t) // np.timedelta64(1, "D")).astype(np.int64)
    slot = rng.choice(4, size=n, p=np.asarray(cfg.slot_shares) / sum(cfg.slot_shares))
    slot = np.where((slot == 3) & (gap_days <= 1), 1, slot)
    u = rng.random(n)
    hour = np.timedelta64(3600, "s")
    intraday = t + np.timedelta64(9 * 3600 + 1800, "s") + (u * 5.5 * 3600).astype("timedelta64[s]")
    after_close = t + 15 * hour + (u * 9 * 3600).astype("timedelta64[s]")
    pre_open = d + 6 * hour + (u * (3.5 * 3600 - 1)).astype("timedelta64[s]")
    between = np.floor(rng.random(n) * np.maximum(gap_days - 1, 1)).astype(np.int64) + 1
    non_trading = t + between.astype("timedelta64[D]") + 8 * hour + (u * 14 * 3600).astype("timedelta64[s]")
    return np.choose(slot, [intraday, after_close, pre_open, non_trading])


def _suspensions(
    cfg: SyntheticConfig, rng: np.random.Generator, protected: np.ndarray
) -> np.ndarray:
    """Boolean (days, stocks) suspension mask: episodes start with probability ``suspension_rate``
    per stock-day (never on day 0), last Geometric(1 / mean) days capped at the maximum; episodes
    touching a protected (event) day are dropped."""
    n_days, n_stocks = protected.shape
    starts = np.argwhere(rng.random((n_days, n_stocks)) < cfg.suspension_rate)
    starts = starts[starts[:, 0] > 0]
    length = np.minimum(rng.geometric(1.0 / cfg.suspension_mean_days, starts.shape[0]), cfg.suspension_max_days)
    episode = np.repeat(np.arange(starts.shape[0]), length)
    offset = np.arange(episode.size) - np.repeat(np.cumsum(length) - length, length)
    rows = starts[episode, 0] + offset
    cols = starts[episode, 1]
    inside = rows < n_days
    bad = np.zeros(starts.shape[0], dtype=bool)
    np.logical_or.at(bad, episode[inside], protected[rows[inside], cols[inside]])
    keep = inside & ~bad[episode]
    mask = np.zeros((n_days, n_stocks), dtype=bool)
    mask[rows[keep], cols[keep]] = True
    return mask


def _fill_forward_index(valid: np.ndarray) -> np.ndarray:
    """For each (day, stock), the last day index <= day where ``valid`` holds (day 0 always valid)."""
    idx = np.where(valid, np.arange(valid.shape[0])[:, None], 0)
    return np.maximum.accumulate(idx, axis=0)


def _symbols(n: int) -> list[str]:
    """A-share-like codes, sorted: alternately Shanghai 600000+ (``.SH``) and Shenzhen 000001+
    (``.SZ``)."""
    codes = [f"{600000 + i // 2:06d}.SH" if i % 2 == 0 else f"{1 + i // 2:06d}.SZ" for i in range(n)]
    return sorted(codes)


def _headlines(
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


def generate(cfg: SyntheticConfig, *, progress: bool = False) -> Dataset:
    """Generate the synthetic dataset for ``cfg`` (deterministic in ``cfg``; see module docstring).

    Every random component draws from its own stream spawned from ``SeedSequence(cfg.seed)``.
    """
    steps = tqdm(total=6, desc=f"synthetic {cfg.scale}", disable=not progress, unit="step")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(8)]
    rng_sec, rng_mkt, rng_exp, rng_ret, rng_evt, rng_lim, rng_susp, rng_txt = streams
    T, N, K = cfg.n_days, cfg.n_stocks, len(STYLE_FACTORS)

    # Calendar and securities.
    calendar = trading_calendar(cfg)
    symbols = _symbols(N)
    tier = rng_sec.choice(3, size=N, p=np.asarray(cfg.tier_shares) / sum(cfg.tier_shares))
    industry = rng_sec.integers(0, cfg.n_industries, N)
    alpha = rng_sec.normal(0.0, cfg.alpha_sd, N)
    beta = np.clip(rng_sec.normal(cfg.beta_mean, cfg.beta_sd, N), *cfg.beta_bounds)
    sigma = np.asarray(cfg.idio_vol)[tier] * np.exp(rng_sec.normal(0.0, cfg.idio_vol_dispersion, N))
    price0 = np.exp(rng_sec.uniform(np.log(cfg.price_range[0]), np.log(cfg.price_range[1]), N))
    names = [f"{INDUSTRIES[industry[i]].split()[0]} Syn {i + 1:04d}" for i in range(N)]
    steps.update()

    # Benchmarks: correlated index returns.
    c12, c13, c23 = cfg.bench_corr
    corr = np.array([[1.0, c12, c13], [c12, 1.0, c23], [c13, c23, 1.0]])
    vol = np.asarray(cfg.bench_vol)
    chol = np.linalg.cholesky(corr * np.outer(vol, vol))
    r_bench = np.asarray(cfg.bench_mean) + rng_mkt.standard_normal((T, 3)) @ chol.T
    r_bench[0] = 0.0
    bench_close = np.asarray(cfg.bench_base) * np.cumprod(1.0 + r_bench, axis=0)

    # Style exposures (standardised per date), factor and industry returns.
    level = rng_exp.normal(0.0, cfg.exposure_level_sd, (N, K))
    level[:, 0] += np.asarray(cfg.tier_size_level)[tier]
    eta = rng_exp.standard_normal((T, N, K)) * cfg.exposure_drift_sd * np.sqrt(1.0 - cfg.exposure_phi**2)
    init = rng_exp.standard_normal((N, K)) * cfg.exposure_drift_sd
    drift = lfilter([1.0], [1.0, -cfg.exposure_phi], eta, axis=0, zi=(cfg.exposure_phi * init)[None])[0]
    raw = level[None] + drift
    exposures = (raw - raw.mean(axis=1, keepdims=True)) / raw.std(axis=1, keepdims=True)
    f = rng_exp.standard_normal((T, K)) * np.asarray(cfg.factor_vol)
    g = rng_exp.standard_normal((T, cfg.n_industries)) * cfg.industry_vol
    steps.update()

    # Base returns.
    scale_t = np.sqrt(cfg.t_dof / (cfg.t_dof - 2.0))
    eps = rng_ret.standard_t(cfg.t_dof, (T, N)) * (sigma / scale_t)
    r = alpha + beta * r_bench[:, tier] + np.einsum("tnk,tk->tn", exposures, f) + g[:, industry] + eps
    steps.update()

    # Events: allocation, days, types, injected reactions.
    news_days = cfg.n_days - cfg.warmup_days - cfg.tail_days
    counts = _allocate_events(cfg, rng_evt, tier, (news_days - 1) // cfg.min_event_gap + 1)
    ev_stock, ev_day = _event_days(cfg, rng_evt, counts)
    n_ev = ev_stock.size
    ev_type = rng_evt.choice(len(EVENT_TYPES), size=n_ev, p=np.asarray(cfg.type_shares) / sum(cfg.type_shares))
    ev_positive = rng_evt.random(n_ev) < np.asarray(cfg.type_positive_prob)[ev_type]
    k = cfg.magnitude_shape
    magnitude = rng_evt.gamma(k, np.asarray(cfg.type_mean_abs_car)[ev_type] / k)
    ev_car = np.where(ev_positive, magnitude, -magnitude)
    injected = np.zeros((T, N))
    protected = np.zeros((T, N), dtype=bool)
    for j, share in enumerate(cfg.injection_profile):
        np.add.at(injected, (ev_day + j, ev_stock), share * ev_car)
    for j in (-1, 0, 1, 2):
        protected[ev_day + j, ev_stock] = True
    r = r + injected

    # Limits: one-price limit moves on unprotected days, then the +/- limit clip.
    lock = (rng_lim.random((T, N)) < cfg.limit_lock_rate) & ~protected
    lock[0] = False
    lock_sign = np.where(rng_lim.random((T, N)) < 0.5, 1.0, -1.0)
    r = np.where(lock, lock_sign * cfg.limit, np.clip(r, -cfg.limit, cfg.limit))
    r[0] = 0.0
    latent = price0 * np.cumprod(1.0 + r, axis=0)
    steps.update()

    # Suspensions, observed prices and flags.
    suspended = _suspensions(cfg, rng_susp, protected)
    close = np.take_along_axis(latent, _fill_forward_index(~suspended), axis=0)
    prev_close = np.vstack([close[:1], close[:-1]])
    r_obs = close / prev_close - 1.0
    gap_open = np.clip(cfg.open_omega * r_obs + rng_lim.normal(0.0, cfg.open_noise, (T, N)), -cfg.limit, cfg.limit)
    open_ = np.where(suspended, prev_close, np.where(lock, close, prev_close * (1.0 + gap_open)))
    open_[0] = close[0]
    tradable = ~suspended & (np.abs(r_obs) < cfg.limit_lock_threshold)
    volume = np.where(
        suspended, 0.0, np.asarray(cfg.volume_median)[tier] * np.exp(rng_lim.normal(0.0, 0.5, (T, N)))
    )
    steps.update()

    # Event text and timestamps.
    local_ts = _publication_times(cfg, rng_txt, calendar, ev_day)
    sentiment_draw = rng_txt.random(n_ev)
    agree = sentiment_draw < cfg.sentiment_accuracy
    neutral = ~agree & (rng_txt.random(n_ev) < cfg.sentiment_neutral_share)
    sentiment = np.where(agree == ev_positive, "positive", "negative")
    sentiment = np.where(neutral, "neutral", sentiment)
    source = np.asarray(SOURCES)[rng_txt.integers(0, len(SOURCES), n_ev)]
    ev_names = [names[s] for s in ev_stock]
    ev_industries = [INDUSTRIES[industry[s]] for s in ev_stock]
    headlines = _headlines(rng_txt, ev_type, ev_positive, ev_names, ev_industries)
    ev_symbols = [symbols[s] for s in ev_stock]
    bodies = [
        f"{h}. {nm} ({sym}), a {ind} company in the {SIZE_TIERS[tier[s]]}-cap tier, disclosed the matter "
        f"via {src.replace('_', ' ')}. Synthetic text generated for the Janus-Q workbench."
        for h, nm, sym, ind, s, src in zip(headlines, ev_names, ev_symbols, ev_industries, ev_stock, source)
    ]

    dates = pl.Series("date", calendar, dtype=pl.Date)
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
            "headline": headlines,
            "body": bodies,
            "sentiment": sentiment,
            "source": source,
            "injected_event_day": dates.gather(ev_day).alias("injected_event_day"),
            "injected_car": ev_car,
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
    events = events.select(
        event_ids, "symbol", "published_at", "event_type", "event_type_raw", "headline", "seq", "body",
        "sentiment", "source", "injected_car", "injected_event_day",
    ).sort("published_at", "symbol", "event_id")  # fmt: skip

    sym_col = pl.Series("symbol", symbols).gather(np.repeat(np.arange(N), T))
    date_col = dates.gather(np.tile(np.arange(T), N))
    prices = pl.DataFrame(
        {
            "symbol": sym_col,
            "date": date_col,
            "open": open_.T.ravel(),
            "close": close.T.ravel(),
            "volume": volume.T.ravel(),
            "tradable": tradable.T.ravel(),
        }
    )
    benchmarks = pl.DataFrame(
        {
            "benchmark": np.repeat(np.asarray(BENCHMARKS), T),
            "date": pl.concat([dates] * 3),
            "close": bench_close.T.ravel(),
        }
    ).sort("benchmark", "date")
    securities = pl.DataFrame(
        {
            "symbol": symbols,
            "benchmark": np.asarray(BENCHMARKS)[tier],
            "name": names,
            "industry": np.asarray(INDUSTRIES)[industry],
            "size_tier": np.asarray(SIZE_TIERS)[tier],
            "true_alpha": alpha,
            "true_beta": beta,
        }
    )
    exposure_frame = pl.DataFrame(
        {"symbol": sym_col, "date": date_col}
        | {name: exposures[:, :, j].T.ravel() for j, name in enumerate(STYLE_FACTORS)}
    ).select("symbol", "date", *sorted(STYLE_FACTORS))
    meta = DatasetMeta(
        name=cfg.name,
        version=GENERATOR_VERSION,
        provenance="synthetic_generated",
        exchange_timezone=EXCHANGE_TIMEZONE,
        news_cutoff=NEWS_CUTOFF,
        as_of=str(calendar[-1]),
    )
    steps.update()
    steps.close()
    return Dataset(
        meta=meta, events=events, prices=prices, benchmarks=benchmarks, securities=securities, exposures=exposure_frame
    )


def production_info(cfg: SyntheticConfig) -> dict[str, object]:
    """How the dataset was produced, for the manifest: generator, version, seed and full config."""
    return {
        "generator": "janus_core.data.synthetic.generate",
        "generator_version": GENERATOR_VERSION,
        "seed": cfg.seed,
        "scale": cfg.scale,
        "config": cfg.model_dump(mode="json"),
    }
