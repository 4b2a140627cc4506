"""Synthetic A-share sample: a seeded, vectorised market with injected event reactions.

The generator builds a :class:`~janus_core.data.dataset.Dataset` whose event reactions are *known*, so every
Stage I estimator (market model, risk neutralisation, CAR) can be checked against the truth.

Same bits on every CPU
----------------------
The tables are bit-identical on any x86-64 or ARM machine: random numbers are raw 64-bit integers
from PCG64 turned into variates by :mod:`janus_core.portable` (no numpy ``exp``/``log`` SIMD kernels,
no BLAS, no libm inside the samplers), every formula below is evaluated with correctly rounded
elementwise operations in a fixed order (sums over stocks or factors as running sums, the 3 x 3
Cholesky factor in plain Python), and prices, index closes and volumes are then stored as whole ticks
and lots. ``tests/test_synthetic.py`` recomputes a small market value by value in plain Python and
compares the bits.

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
- Opens: ``open(t) = close(t-1) (1 + g(t))``, ``g = clip(omega r_obs(t) + u(t), +/-limit)``,
  ``u ~ N(0, open_noise)``: the overnight gap carries part of the day's move, including pre-open news.
- Ticks: the latent close path ``price0 prod(1 + r)`` is rounded (half to even) to whole ticks of
  ``10^-price_decimals`` (at least one tick), and so is each open; ``r_obs`` is the return between
  observed (tick) closes. Index closes are rounded to ``10^-index_decimals``; volumes are
  ``volume_median(tier) exp(volume_dispersion z)`` rounded to whole lots of ``volume_lot`` shares.

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
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tqdm import tqdm

from janus_core.data import portable
from janus_core.data.dataset import Dataset, DatasetMeta
from janus_core.data.events import EVENT_TYPES, PUBLISHED_MEAN_ABS_CAR
from janus_core.data.synthetic_events import EXCHANGE_TIMEZONE, event_table, publication_times

GENERATOR_VERSION = "2"
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
    #: Degrees of freedom of the Student-t idiosyncratic returns (an integer: the t variate is built
    #: from ``t_dof + 1`` normals, see :func:`janus_core.portable.student_t`).
    t_dof: int = Field(4, ge=3)
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
    #: Log-normal dispersion of daily volume around the tier median.
    volume_dispersion: float = 0.5
    #: Volume is a whole number of lots of this many shares (at least one lot on a trading day).
    volume_lot: int = Field(100, ge=1)
    #: Stock prices are whole ticks of 10^-price_decimals (0.01 yuan); index closes of 10^-index_decimals.
    price_decimals: int = Field(2, ge=0, le=6)
    index_decimals: int = Field(2, ge=0, le=6)
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
    #: Gamma shape of the injected |CAR| (coefficient of variation 1/sqrt(k)); an integer (Erlang,
    #: see :func:`janus_core.portable.erlang`).
    magnitude_shape: int = Field(2, ge=1)
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


def session_days(cfg: SyntheticConfig) -> np.ndarray:
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
        raise ValueError("session_days: calendar span too short")
    return open_days[: cfg.n_days]


def _allocate_events(cfg: SyntheticConfig, bits: np.random.BitGenerator, tier: np.ndarray, capacity: int) -> np.ndarray:
    """Events per stock: each event picks a stock with probability proportional to its tier's news
    weight; the events above a stock's ``capacity`` pick again among the stocks with room."""
    weight = np.asarray(cfg.tier_news_weight)[tier]
    counts = np.bincount(portable.categorical(bits, weight, cfg.n_events), minlength=tier.size)
    while (excess := int(np.maximum(counts - capacity, 0).sum())) > 0:
        counts = np.minimum(counts, capacity)
        room = np.where(counts < capacity, weight, 0.0)
        counts = counts + np.bincount(portable.categorical(bits, room, excess), minlength=tier.size)
    return counts


def _event_days(
    cfg: SyntheticConfig, bits: np.random.BitGenerator, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(stock index, event-day index) per event. Per stock with n events: sorted uniforms
    ``y_j`` on [0, M), ``M = news_days - (n - 1) gap``, and ``d_j = warmup + floor(y_j) + j gap``,
    so consecutive event days are at least ``gap`` apart."""
    news_days = cfg.n_days - cfg.warmup_days - cfg.tail_days
    gap = cfg.min_event_gap
    stock = np.repeat(np.arange(counts.size), counts)
    span = (news_days - (counts - 1) * gap)[stock].astype(np.float64)
    y = portable.uniform(bits, stock.size) * span
    order = np.lexsort((y, stock))
    stock, y = stock[order], y[order]
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(stock.size) - first[stock]
    return stock, cfg.warmup_days + np.floor(y).astype(np.int64) + rank * gap


def _suspensions(cfg: SyntheticConfig, bits: np.random.BitGenerator, protected: np.ndarray) -> np.ndarray:
    """Boolean (days, stocks) suspension mask: episodes start with probability ``suspension_rate``
    per stock-day (never on day 0), last Geometric(1 / mean) days capped at the maximum (one length
    drawn per start, starts in (day, stock) order); episodes touching a protected (event) day are
    dropped."""
    n_days, n_stocks = protected.shape
    starts = np.argwhere(portable.uniform(bits, (n_days, n_stocks)) < cfg.suspension_rate)
    starts = starts[starts[:, 0] > 0]
    length = np.minimum(
        portable.geometric(bits, 1.0 / cfg.suspension_mean_days, starts.shape[0]), cfg.suspension_max_days
    )
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


def _cholesky(matrix: list[list[float]]) -> list[list[float]]:
    """Lower Cholesky factor of a small positive definite matrix, in plain Python floats (the
    Cholesky-Banachiewicz order, sums left to right), so the factor does not depend on a LAPACK build."""
    n = len(matrix)
    low = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            acc = matrix[i][j]
            for k in range(j):
                acc = acc - low[i][k] * low[j][k]
            if i == j:
                if not acc > 0.0:
                    raise ValueError("SyntheticConfig: the benchmark covariance is not positive definite")
                low[i][j] = math.sqrt(acc)
            else:
                low[i][j] = acc / low[j][j]
    return low


def _sequential_sum(x: np.ndarray, axis: int) -> np.ndarray:
    """Sum along ``axis`` in index order (a running sum, never the pairwise / SIMD-blocked order of
    ``np.sum``), keeping the axis with length 1."""
    return np.take(np.add.accumulate(x, axis=axis), [-1], axis=axis)


def _to_ticks(value: np.ndarray, decimals: int) -> np.ndarray:
    """``rint(value * 10^decimals)`` (half to even) as a float of whole ticks, at least one tick."""
    return np.maximum(np.rint(value * float(10**decimals)), 1.0)


@dataclass(frozen=True)
class _Securities:
    """The drawn stocks: codes, tiers, industries, market-model truth, idiosyncratic volatility,
    first prices and names."""

    symbols: list[str]
    tier: np.ndarray
    industry: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    price0: np.ndarray
    names: list[str]


def _securities(cfg: SyntheticConfig, bits: np.random.BitGenerator) -> _Securities:
    """Tiers, industries, ``alpha``, ``beta`` (clipped), volatilities and log-uniform first prices,
    drawn in this order from the securities stream."""
    n = cfg.n_stocks
    normal = portable.standard_normal
    tier = portable.categorical(bits, cfg.tier_shares, n)
    industry = portable.integers(bits, cfg.n_industries, n)
    alpha = normal(bits, n) * cfg.alpha_sd
    beta = np.clip(normal(bits, n) * cfg.beta_sd + cfg.beta_mean, *cfg.beta_bounds)
    sigma = np.asarray(cfg.idio_vol)[tier] * portable.exp(normal(bits, n) * cfg.idio_vol_dispersion)
    log_lo, log_hi = portable.log(np.asarray(cfg.price_range))
    price0 = portable.exp(portable.uniform(bits, n) * (log_hi - log_lo) + log_lo)
    names = [f"{INDUSTRIES[industry[i]].split()[0]} Syn {i + 1:04d}" for i in range(n)]
    return _Securities(_symbols(n), tier, industry, alpha, beta, sigma, price0, names)


def _benchmark_returns(cfg: SyntheticConfig, bits: np.random.BitGenerator) -> tuple[np.ndarray, np.ndarray]:
    """(daily returns, closes) of the three indices: ``r_b = mu_b + L z`` (``L z`` summed left to
    right, ``r_b(0) = 0``), closes ``base_b prod(1 + r_b)`` in whole index ticks."""
    c12, c13, c23 = cfg.bench_corr
    corr = [[1.0, c12, c13], [c12, 1.0, c23], [c13, c23, 1.0]]
    vol = cfg.bench_vol
    chol = _cholesky([[corr[i][j] * vol[i] * vol[j] for j in range(3)] for i in range(3)])
    z_mkt = portable.standard_normal(bits, (cfg.n_days, 3))
    r_bench = np.empty((cfg.n_days, 3))
    for i in range(3):
        lz = z_mkt[:, 0] * chol[i][0]
        for j in range(1, i + 1):
            lz = lz + z_mkt[:, j] * chol[i][j]
        r_bench[:, i] = lz + cfg.bench_mean[i]
    r_bench[0] = 0.0
    bench_ticks = _to_ticks(np.cumprod(1.0 + r_bench, axis=0) * np.asarray(cfg.bench_base), cfg.index_decimals)
    return r_bench, bench_ticks / float(10**cfg.index_decimals)


def _style_exposures(
    cfg: SyntheticConfig, bits: np.random.BitGenerator, tier: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exposures (days, stocks, factors), factor returns, industry returns): an AR(1) drift around a
    per-stock level (size shifted by tier), standardised per date with running sums."""
    T, N, K = cfg.n_days, cfg.n_stocks, len(STYLE_FACTORS)
    normal = portable.standard_normal
    level = normal(bits, (N, K)) * cfg.exposure_level_sd
    level[:, 0] = level[:, 0] + np.asarray(cfg.tier_size_level)[tier]
    eta = normal(bits, (T, N, K)) * (cfg.exposure_drift_sd * math.sqrt(1.0 - cfg.exposure_phi * cfg.exposure_phi))
    drift = normal(bits, (N, K)) * cfg.exposure_drift_sd
    raw = np.empty((T, N, K))
    for t in range(T):
        drift = drift * cfg.exposure_phi + eta[t]
        raw[t] = level + drift
    del eta
    mean = _sequential_sum(raw, axis=1) / float(N)
    dev = raw - mean
    sd = np.sqrt(_sequential_sum(dev * dev, axis=1) / float(N))
    exposures = dev / sd
    del raw, dev
    f = normal(bits, (T, K)) * np.asarray(cfg.factor_vol)
    g = normal(bits, (T, cfg.n_industries)) * cfg.industry_vol
    return exposures, f, g


@dataclass(frozen=True)
class _Events:
    """The drawn events: stock and event-day indices, type index, sign, total injected CAR."""

    stock: np.ndarray
    day: np.ndarray
    type: np.ndarray
    positive: np.ndarray
    car: np.ndarray


def _draw_events(cfg: SyntheticConfig, bits: np.random.BitGenerator, tier: np.ndarray) -> _Events:
    """Allocation to stocks, event days, types, signs and Gamma(k) magnitudes, in this order."""
    news_days = cfg.n_days - cfg.warmup_days - cfg.tail_days
    counts = _allocate_events(cfg, bits, tier, (news_days - 1) // cfg.min_event_gap + 1)
    stock, day = _event_days(cfg, bits, counts)
    n_ev = stock.size
    ev_type = portable.categorical(bits, cfg.type_shares, n_ev)
    positive = portable.uniform(bits, n_ev) < np.asarray(cfg.type_positive_prob)[ev_type]
    k = cfg.magnitude_shape
    magnitude = portable.erlang(bits, k, n_ev) * (np.asarray(cfg.type_mean_abs_car)[ev_type] / float(k))
    return _Events(stock, day, ev_type, positive, np.where(positive, magnitude, -magnitude))


def _observed_prices(
    cfg: SyntheticConfig,
    lim: np.random.BitGenerator,
    susp: np.random.BitGenerator,
    r: np.ndarray,
    protected: np.ndarray,
    sec: _Securities,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(open, close, tradable, volume), each (days, stocks): one-price limit moves on unprotected days
    and the +/- limit clip, the latent tick path, suspensions (kept rows at the previous close), opens
    from the overnight gap, limit-locked flags and volumes in whole lots."""
    T, N = r.shape
    normal = portable.standard_normal
    lock = (portable.uniform(lim, (T, N)) < cfg.limit_lock_rate) & ~protected
    lock[0] = False
    lock_sign = np.where(portable.uniform(lim, (T, N)) < 0.5, 1.0, -1.0)
    r = np.where(lock, lock_sign * cfg.limit, np.clip(r, -cfg.limit, cfg.limit))
    r[0] = 0.0
    latent_ticks = _to_ticks(sec.price0 * np.cumprod(1.0 + r, axis=0), cfg.price_decimals)
    suspended = _suspensions(cfg, susp, protected)
    ticks = np.take_along_axis(latent_ticks, _fill_forward_index(~suspended), axis=0)
    prev_ticks = np.vstack([ticks[:1], ticks[:-1]])
    r_obs = ticks / prev_ticks - 1.0
    noise = normal(lim, (T, N)) * cfg.open_noise
    gap_open = np.clip(r_obs * cfg.open_omega + noise, -cfg.limit, cfg.limit)
    open_ticks = np.where(suspended, prev_ticks, np.where(lock, ticks, _to_ticks(prev_ticks * (1.0 + gap_open), 0)))
    open_ticks[0] = ticks[0]
    per_unit = float(10**cfg.price_decimals)
    tradable = ~suspended & (np.abs(r_obs) < cfg.limit_lock_threshold)
    lots = _to_ticks(
        np.asarray(cfg.volume_median)[sec.tier]
        * portable.exp(normal(lim, (T, N)) * cfg.volume_dispersion)
        / float(cfg.volume_lot),
        0,
    )
    volume = np.where(suspended, 0.0, lots * float(cfg.volume_lot))
    return open_ticks / per_unit, ticks / per_unit, tradable, volume


def generate(cfg: SyntheticConfig, *, progress: bool = False) -> Dataset:
    """Generate the synthetic dataset for ``cfg`` (deterministic in ``cfg`` and bit-identical on every
    CPU; see the module docstring).

    Every random component draws raw 64-bit integers from its own PCG64 stream spawned from
    ``SeedSequence(cfg.seed)`` (securities, market, exposures, returns, events, limits, suspensions,
    text) and turns them into variates with :mod:`janus_core.portable`, in the order written below.
    Daily returns: ``r = alpha + beta r_b + sum_k X_k f_k + g + eps + AR``, added left to right.
    """
    steps = tqdm(total=6, desc=f"synthetic {cfg.scale}", disable=not progress, unit="step")
    streams = [np.random.PCG64(s) for s in np.random.SeedSequence(cfg.seed).spawn(8)]
    b_sec, b_mkt, b_exp, b_ret, b_evt, b_lim, b_susp, b_txt = streams
    T, N = cfg.n_days, cfg.n_stocks
    calendar = session_days(cfg)
    sec = _securities(cfg, b_sec)
    steps.update()
    r_bench, bench_close = _benchmark_returns(cfg, b_mkt)
    exposures, f, g = _style_exposures(cfg, b_exp, sec.tier)
    steps.update()
    scale_t = math.sqrt(cfg.t_dof / (cfg.t_dof - 2.0))
    eps = portable.student_t(b_ret, cfg.t_dof, (T, N)) * (sec.sigma / scale_t)
    style = exposures[:, :, 0] * f[:, 0:1]
    for j in range(1, len(STYLE_FACTORS)):
        style = style + exposures[:, :, j] * f[:, j : j + 1]
    r = sec.alpha + sec.beta * r_bench[:, sec.tier] + style + g[:, sec.industry] + eps
    steps.update()
    ev = _draw_events(cfg, b_evt, sec.tier)
    injected = np.zeros((T, N))
    protected = np.zeros((T, N), dtype=bool)
    for j, share in enumerate(cfg.injection_profile):  # event days of a stock are >= 3 apart: no overlaps
        injected[ev.day + j, ev.stock] = ev.car * share
    for j in (-1, 0, 1, 2):
        protected[ev.day + j, ev.stock] = True
    steps.update()
    open_, close, tradable, volume = _observed_prices(cfg, b_lim, b_susp, r + injected, protected, sec)
    steps.update()
    dates = pl.Series("date", calendar, dtype=pl.Date)
    events = event_table(
        b_txt,
        publication_times(cfg.slot_shares, b_txt, calendar, ev.day),
        ev.stock,
        ev.type,
        ev.positive,
        ev.car,
        dates.gather(ev.day).alias("injected_event_day"),
        sentiment_accuracy=cfg.sentiment_accuracy,
        sentiment_neutral_share=cfg.sentiment_neutral_share,
        symbols=sec.symbols,
        names=sec.names,
        industries=[INDUSTRIES[i] for i in sec.industry],
        tiers=[SIZE_TIERS[t] for t in sec.tier],
    )
    tables = _market_tables(sec, dates, open_, close, tradable, volume, bench_close, exposures)
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
    return Dataset(meta=meta, events=events, **tables)


def _market_tables(
    sec: _Securities,
    dates: pl.Series,
    open_: np.ndarray,
    close: np.ndarray,
    tradable: np.ndarray,
    volume: np.ndarray,
    bench_close: np.ndarray,
    exposures: np.ndarray,
) -> dict[str, pl.DataFrame]:
    """The prices, benchmarks, securities and exposures frames (stock-major rows, dates ascending)."""
    T, N = open_.shape
    sym_col = pl.Series("symbol", sec.symbols).gather(np.repeat(np.arange(N), T))
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
            "symbol": sec.symbols,
            "benchmark": np.asarray(BENCHMARKS)[sec.tier],
            "name": sec.names,
            "industry": np.asarray(INDUSTRIES)[sec.industry],
            "size_tier": np.asarray(SIZE_TIERS)[sec.tier],
            "true_alpha": sec.alpha,
            "true_beta": sec.beta,
        }
    )
    exposure_frame = pl.DataFrame(
        {"symbol": sym_col, "date": date_col}
        | {name: exposures[:, :, j].T.ravel() for j, name in enumerate(STYLE_FACTORS)}
    ).select("symbol", "date", *sorted(STYLE_FACTORS))
    return {"prices": prices, "benchmarks": benchmarks, "securities": securities, "exposures": exposure_frame}


def production_info(cfg: SyntheticConfig) -> dict[str, object]:
    """How the dataset was produced, for the manifest: generator, version, seed and full config."""
    return {
        "generator": "janus_core.data.synthetic.generate",
        "generator_version": GENERATOR_VERSION,
        "seed": cfg.seed,
        "scale": cfg.scale,
        "config": cfg.model_dump(mode="json"),
    }
