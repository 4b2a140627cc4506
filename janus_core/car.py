"""Event study, Stage I of Janus-Q: abnormal returns and the cumulative abnormal return (CAR) of
every news event, vectorised over all events at once.

Normal-return models (MacKinlay 1997; Campbell, Lo and MacKinlay 1997, ch. 4), fitted on an
estimation window of ``L`` trading days that ends ``gap`` days before the event window [a, b]:

- ``market``: OLS r(i,t) = alpha + beta * r(m(i),t) + e, against the stock's own benchmark m(i)
  (``securities.benchmark``). AR = r - alpha_hat - beta_hat * r_m;
  sigma^2 = SSR / (n - 2).
- ``market_adjusted``: alpha = 0, beta = 1, AR = r - r_m; sigma^2 = sample variance (ddof 1) of
  r - r_m over the estimation window.
- ``constant_mean``: AR = r - mean(r over the window); sigma^2 = sample variance (ddof 1).

Closed-form OLS from window moments: with n, Sx, Sy, Sxx, Sxy, Syy the sums over the valid days of
the window, Cxx = Sxx - Sx^2/n, Cxy = Sxy - Sx*Sy/n, Cyy = Syy - Sy^2/n, beta = Cxy/Cxx,
alpha = Sy/n - beta*Sx/n, SSR = Cyy - beta*Cxy. Every window's moments are differences of prefix
sums over a symbol x trading-day matrix (one row per stock, its own calendar in columns), with a
prefix count of the valid days, so no per-event regression is ever run.

Forecast-error variance of day t (Patell 1976; CLM eq. 4.4.10) and of the CAR over W days:
  s^2(AR_t) = sigma^2 * (1 + h/n + k*(m_t - mean_m)^2 / Cxx)
  s^2(CAR)  = sigma^2 * (W + h*W^2/n + k*(sum_t m_t - W*mean_m)^2 / Cxx)
with h = 1 when alpha is estimated (market, constant_mean), k = 1 when beta is (market), else 0.

Calendar and tradability (never imputed):
- Windows count trading days on the stock's own calendar: the dates on which ``prices`` has a row
  for it. A day's return is close / previous close - 1 on that calendar and the benchmark return
  spans the same two dates, so a missing row never shortens or shifts a return.
- An estimation day counts (towards ``estimation_days``) only when both it and the previous row are
  tradable and both returns are finite; non-tradable days are left out, not filled.
- An event whose event day (offset 0) is not tradable is excluded ``untradable``. Other
  non-tradable days inside the event window keep their recorded close-to-close return (the
  exchange's close, not an imputed value) and are counted in ``untradable_window_days`` so a
  researcher can filter on them.

Risk neutralisation (when ``risk_neutralize`` and the dataset has exposures): for each date t, the
cross-sectional OLS of every stock's market-model AR on the style exposures (as of t, the latest
exposure row on or before t) and industry dummies (``securities.industry``; a null industry is its
own group) estimates the date's factor returns (gamma_t, f_(g,t)); the event's neutralised AR is
AR_RM(i,t) = AR_MM(i,t) - f_(g(i),t) - x(i,t)' gamma_t, the residual of that regression (the
cross-section uses each stock's rolling market model, fitted on the same-length window ending
``gap`` days before t). Industry dummies enter by the Frisch-Waugh-Lovell theorem: exposures and
ARs are demeaned within (date, industry) before the style regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.data import Dataset
from janus_core.events import map_event_days

Model = Literal["market", "market_adjusted", "constant_mean"]

#: The closed set of exclusion reasons, in the order they are checked (the first that applies wins).
EXCLUSION_REASONS: tuple[str, ...] = (
    "duplicate",  # same event_id as an earlier event (in output order); the first one is kept
    "no_prices",  # the symbol has no row in ``prices``
    "unknown_benchmark",  # the model needs a benchmark and the symbol has none with data
    "event_window_past_data",  # no trading day on/after the event, or the window ends after the last price
    "untradable",  # the event day (offset 0) is not tradable
    "too_few_estimation_days",  # fewer than ``min_estimation_obs`` valid days in the estimation window
    "missing_returns",  # a return in the event window is missing (e.g. benchmark close absent that day)
    "no_risk_model",  # neutralising, but no exposures or no cross-section for a window day
)

#: Days since 1970-01-01 fit below this, so (symbol code, day) packs into one sortable int64 key.
_DAY_SPAN = 1 << 20


class CarConfig(BaseModel):
    """Event-study parameters. The paper publishes no window lengths; the defaults follow common
    event-study practice for daily news studies (janus-q-method.md, Stage I.4)."""

    model_config = ConfigDict(frozen=True)

    #: Normal-return model. "market" is the paper's (Stage I.1).
    model: Model = "market"
    #: Estimation window length in trading days. 120 (about six months) is the short end of the
    #: usual 120-250 range: it fits the paper's two-year sample and keeps early events usable.
    estimation_window: int = Field(120, ge=5)
    #: Trading days between the estimation window and the event window, so that pre-event
    #: leakage of the news does not contaminate alpha and beta (usual range 10-30).
    gap: int = Field(10, ge=0)
    #: Event window [a, b] in trading days relative to the event day (0 = first session after the
    #: news). [0, 2] matches the backtest's default 2-day hold entered at the event day's open.
    event_window: tuple[int, int] = (0, 2)
    #: Minimum valid days in the estimation window: half the default window, so a stock with long
    #: suspensions or a short history is excluded rather than fitted on a handful of days. At
    #: least 5, so Patell's variance df/(df-2) exists.
    min_estimation_obs: int = Field(60, ge=5)
    #: Neutralise market-model ARs against the style exposures and industries when the dataset
    #: has exposures (the paper's AR_RM, Stage I.2); ignored when it has none.
    risk_neutralize: bool = True
    #: Minimum residual degrees of freedom of a date's cross-sectional regression (stocks minus
    #: industry groups minus style factors); fewer and that date has no risk model. 10 keeps
    #: factor returns from being fitted on a near-saturated cross-section.
    min_cross_section_dof: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _check(self) -> "CarConfig":
        a, b = self.event_window
        if a > b:
            raise ValueError(f"event_window {self.event_window}: start must not exceed end")
        if self.min_estimation_obs > self.estimation_window:
            raise ValueError(
                f"min_estimation_obs {self.min_estimation_obs} exceeds estimation_window {self.estimation_window}"
            )
        return self

    @property
    def window_days(self) -> int:
        return self.event_window[1] - self.event_window[0] + 1


@dataclass(frozen=True)
class Panel:
    """Prices and benchmark returns as symbol x own-trading-day matrices (padded with NaN).

    Row j is the j-th symbol in sorted order; column k its k-th trading day. ``r`` is the stock's
    close-to-close return, ``m`` the return of its benchmark over the same two dates."""

    symbols: pl.Series
    length: np.ndarray  # rows per symbol
    day: np.ndarray  # int64 days since epoch, -1 padding
    close: np.ndarray
    tradable: np.ndarray  # bool
    r: np.ndarray
    m: np.ndarray
    has_benchmark: np.ndarray  # bool per symbol
    industry: np.ndarray  # int group code per symbol

    @classmethod
    def build(cls, ds: Dataset) -> "Panel":
        """Pack ``ds.prices`` (canonical: sorted by symbol, date) and the benchmarks into matrices.

        Raises ``ValueError`` when prices are not sorted by (symbol, date) without duplicates, or a
        symbol appears twice in ``securities``."""
        p = ds.prices.select(
            code=pl.col("symbol").rle_id(),
            day=pl.col("date").cast(pl.Int64),
            close=pl.col("close"),
            tradable=pl.col("tradable").fill_null(True),
        )
        code = p["code"].to_numpy()
        day = p["day"].to_numpy()
        n_rows = len(code)
        symbols = ds.prices["symbol"].unique(maintain_order=True)
        if n_rows:
            same = code[1:] == code[:-1]
            bad = np.flatnonzero(same & (day[1:] <= day[:-1]))
            if bad.size or not symbols.is_sorted():
                row = int(bad[0]) + 1 if bad.size else 0
                raise ValueError(
                    f"prices row {row}: columns symbol, date must be sorted by (symbol, date) without duplicates"
                )
        n_sym = len(symbols)
        length = np.bincount(code, minlength=n_sym) if n_rows else np.zeros(0, dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(length)[:-1]]) if n_sym else np.zeros(0, dtype=np.int64)
        width = max(int(length.max()) if n_sym else 0, 1)
        pos = np.arange(n_rows) - start[code]

        def pad(values: np.ndarray, fill: float | bool | int, dtype: type) -> np.ndarray:
            out = np.full((n_sym, width), fill, dtype=dtype)
            out[code, pos] = values
            return out

        close = pad(p["close"].to_numpy().astype(np.float64), np.nan, np.float64)
        tradable = pad(p["tradable"].to_numpy(), False, bool)
        days = pad(day, -1, np.int64)
        r = np.full_like(close, np.nan)
        r[:, 1:] = close[:, 1:] / close[:, :-1] - 1.0

        sec = ds.securities.select("symbol", "benchmark", *(["industry"] if "industry" in ds.securities.columns else []))
        dup = sec["symbol"].is_duplicated()
        if dup.any():
            row = int(dup.arg_true()[0])
            raise ValueError(f"securities row {row}: column symbol must be unique ({sec['symbol'][row]!r} repeats)")
        per_sym = pl.DataFrame({"symbol": symbols}).join(sec, on="symbol", how="left", maintain_order="left")

        bench = ds.benchmarks.select("benchmark", day=pl.col("date").cast(pl.Int64), close=pl.col("close"))
        bnames = bench["benchmark"].unique().sort()
        all_days = np.unique(np.concatenate([day, bench["day"].to_numpy()]))
        bmat = np.full((len(bnames) + 1, len(all_days)), np.nan)  # last row: "no benchmark"
        bcode_of = {name: i for i, name in enumerate(bnames.to_list())}
        bcodes = bench["benchmark"].replace_strict(bcode_of, return_dtype=pl.Int64).to_numpy()
        bmat[bcodes, np.searchsorted(all_days, bench["day"].to_numpy())] = bench["close"].to_numpy()
        sym_bench = (
            per_sym["benchmark"].replace_strict(bcode_of, default=len(bnames), return_dtype=pl.Int64).to_numpy()
        )
        has_benchmark = sym_bench < len(bnames)
        didx = np.searchsorted(all_days, np.where(days >= 0, days, all_days[0]))
        bclose = bmat[sym_bench[:, None], didx]
        bclose[days < 0] = np.nan
        m = np.full_like(close, np.nan)
        m[:, 1:] = bclose[:, 1:] / bclose[:, :-1] - 1.0
        if "industry" in per_sym.columns:
            industry = per_sym["industry"].fill_null("\x00none").rank("dense").cast(pl.Int64).to_numpy() - 1
        else:
            industry = np.zeros(n_sym, dtype=np.int64)
        return cls(symbols, length, days, close, tradable, r, m, has_benchmark, industry)

    def estimation_ok(self, model: Model) -> np.ndarray:
        """Days usable for estimation: finite returns (benchmark too unless constant_mean) and both
        the day and the previous row tradable."""
        ok = np.isfinite(self.r) & self.tradable
        ok[:, 1:] &= self.tradable[:, :-1]
        if model != "constant_mean":
            ok &= np.isfinite(self.m)
        return ok


@dataclass(frozen=True)
class Fit:
    """Normal-return model estimates for a batch of windows (arrays of equal length)."""

    n: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    mean_m: np.ndarray
    cxx: np.ndarray


class _Moments:
    """Prefix sums along each symbol's calendar: ``window(j, lo, hi)`` sums days lo..hi-1."""

    def __init__(self, panel: Panel, model: Model):
        ok = panel.estimation_ok(model)
        if model == "market_adjusted":
            y = np.where(ok, panel.r - panel.m, 0.0)
            x = np.zeros_like(y)
        else:
            y = np.where(ok, panel.r, 0.0)
            x = np.where(ok, panel.m, 0.0) if model == "market" else np.zeros_like(y)
        self.model = model

        def prefix(v: np.ndarray) -> np.ndarray:
            out = np.zeros((v.shape[0], v.shape[1] + 1))
            np.cumsum(v, axis=1, out=out[:, 1:])
            return out

        self.c = {"n": prefix(ok.astype(np.float64)), "sy": prefix(y), "syy": prefix(y * y)}
        if model == "market":
            self.c.update(sx=prefix(x), sxx=prefix(x * x), sxy=prefix(x * y))

    def fit(self, j: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Fit:
        """Fit the model on days [lo, hi) of symbols j (indices broadcast together)."""
        s = {k: v[j, hi] - v[j, lo] for k, v in self.c.items()}
        n = np.rint(s["n"])
        with np.errstate(divide="ignore", invalid="ignore"):
            my = s["sy"] / n
            cyy = s["syy"] - s["sy"] * my
            if self.model == "market":
                mx = s["sx"] / n
                cxx = s["sxx"] - s["sx"] * mx
                cxy = s["sxy"] - s["sx"] * my
                beta = cxy / cxx
                alpha = my - beta * mx
                sigma = np.sqrt(np.maximum(cyy - beta * cxy, 0.0) / (n - 2))
            else:
                mx = np.zeros_like(my)
                cxx = np.full_like(my, np.nan)
                sigma = np.sqrt(np.maximum(cyy, 0.0) / (n - 1))
                beta = np.ones_like(my) if self.model == "market_adjusted" else np.zeros_like(my)
                alpha = np.zeros_like(my) if self.model == "market_adjusted" else my
        return Fit(n.astype(np.int64), alpha, beta, sigma, mx, cxx)


def _forecast_se(cfg: CarConfig, fit: Fit, m_window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forecast-error SD of each event-window AR and of the CAR (formulas in the module docstring)."""
    w = m_window.shape[1]
    h = 0.0 if cfg.model == "market_adjusted" else 1.0
    n = fit.n[:, None].astype(np.float64)
    s2 = fit.sigma[:, None] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        day_var = 1.0 + h / n
        car_var = w + h * w * w / fit.n.astype(np.float64)
        if cfg.model == "market":
            day_var = day_var + (m_window - fit.mean_m[:, None]) ** 2 / fit.cxx[:, None]
            car_var = car_var + (m_window.sum(axis=1) - w * fit.mean_m) ** 2 / fit.cxx
        return np.sqrt(s2 * day_var), fit.sigma * np.sqrt(car_var)


@dataclass(frozen=True)
class _Located:
    """Events placed on the panel: symbol row j and event-day column k0 (-1 when unmapped)."""

    j: np.ndarray
    k0: np.ndarray
    known: np.ndarray  # symbol has prices


def _locate(panel: Panel, symbol: pl.Series, event_day: pl.Series) -> _Located:
    code = (
        pl.DataFrame({"symbol": symbol})
        .join(
            pl.DataFrame({"symbol": panel.symbols, "j": np.arange(len(panel.symbols), dtype=np.int64)}),
            on="symbol",
            how="left",
            maintain_order="left",
        )["j"]
        .fill_null(-1)
        .to_numpy()
    )
    known = code >= 0
    j = np.maximum(code, 0)
    day = event_day.cast(pl.Int64).fill_null(-1).to_numpy()
    valid = panel.day.ravel() >= 0
    keys = (np.arange(panel.day.shape[0])[:, None] * _DAY_SPAN + panel.day).ravel()[valid]
    cols = np.tile(np.arange(panel.day.shape[1]), panel.day.shape[0])[valid]
    k0 = np.full(len(j), -1, dtype=np.int64)
    if len(keys):
        wanted = j * _DAY_SPAN + day
        idx = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
        hit = known & (day >= 0) & (keys[idx] == wanted)
        k0 = np.where(hit, cols[idx], -1)
    return _Located(j, k0, known)


def compute_car(ds: Dataset, cfg: CarConfig) -> pl.DataFrame:
    """One row per input event, sorted by (published_at, symbol, event_id) (ties keep input order),
    with its event day, model estimates, AR path and CAR, or an ``excluded_reason`` from
    :data:`EXCLUSION_REASONS`. All event columns are passed through.

    Output columns (beyond the events'): ``published_date``, ``pit_date``, ``event_day``, ``model``,
    ``alpha``, ``beta``, ``sigma``, ``estimation_days``, ``ar`` (neutralised when neutralisation
    applies, else = ``ar_mm``), ``ar_mm``, ``ar_se`` (forecast-error SD per day), ``car``,
    ``car_mm``, ``car_se``, ``price_t`` (close of the trading day before the window starts),
    ``price_t_plus_1`` (close on the window's last day), ``raw_return`` = price_t_plus_1 / price_t
    - 1, ``abnormal_return`` (= car_mm), ``risk_neutralized_return`` (= car when neutralised, else
    null), ``neutralized``, ``untradable_window_days``, ``excluded_reason``. Model outputs are null
    for excluded events.
    """
    a, b = cfg.event_window
    w = cfg.window_days
    events = ds.events.sort("published_at", "symbol", "event_id", maintain_order=True)
    events = map_event_days(events, ds.prices, ds.meta.exchange_timezone, ds.meta.news_cutoff)
    panel = Panel.build(ds)
    loc = _locate(panel, events["symbol"], events["event_day"])
    n_ev = len(events)
    j, k0 = loc.j, loc.k0
    length = np.where(loc.known, panel.length[j] if panel.length.size else 0, 0)
    width = panel.day.shape[1]

    moments = _Moments(panel, cfg.model)
    lo = np.clip(k0 + a - cfg.gap - cfg.estimation_window, 0, width)
    hi = np.clip(k0 + a - cfg.gap, 0, width)
    mapped = k0 >= 0
    hi = np.where(mapped, np.maximum(hi, lo), lo)
    fit = moments.fit(j, lo, hi)

    offsets = np.arange(a, b + 1)
    pos = k0[:, None] + offsets[None, :]
    in_range = mapped[:, None] & (pos >= 0) & (pos < length[:, None])
    posc = np.clip(pos, 0, width - 1)
    r_win = np.where(in_range, panel.r[j[:, None], posc], np.nan)
    m_win = np.where(in_range, panel.m[j[:, None], posc], np.nan)
    ar_mm = r_win - fit.alpha[:, None] - fit.beta[:, None] * (m_win if cfg.model != "constant_mean" else 0.0)
    ar_se, car_se = _forecast_se(cfg, fit, np.nan_to_num(m_win) if cfg.model != "market" else m_win)
    tradable_win = np.where(in_range, panel.tradable[j[:, None], posc], False)
    event_tradable = np.where(mapped, panel.tradable[j, np.maximum(k0, 0)], False)

    neutralize = cfg.risk_neutralize and ds.exposures is not None and bool(ds.style_factors())
    ar = ar_mm
    if neutralize:
        ar = _neutralize(panel, ds, cfg, moments, j, posc, in_range, ar_mm)

    t_pos, t1_pos = k0 + a - 1, k0 + b
    price_t = np.where(mapped & (t_pos >= 0) & (t_pos < length), panel.close[j, np.clip(t_pos, 0, width - 1)], np.nan)
    price_t1 = np.where(mapped & (t1_pos < length), panel.close[j, np.clip(t1_pos, 0, width - 1)], np.nan)

    needs_benchmark = cfg.model != "constant_mean"
    has_bench = np.where(loc.known, panel.has_benchmark[j] if panel.length.size else False, False)
    conditions = [
        events["event_id"].is_first_distinct().not_().to_numpy(),
        ~loc.known,
        loc.known & needs_benchmark & ~has_bench,
        ~mapped | (k0 + b >= length),
        ~event_tradable,
        fit.n < cfg.min_estimation_obs,
        ~np.isfinite(ar_mm).all(axis=1),
        ~np.isfinite(ar).all(axis=1),
    ]
    reason_code = np.select(conditions, list(range(len(EXCLUSION_REASONS))), default=-1)
    included = reason_code < 0
    reason = np.array([None, *EXCLUSION_REASONS], dtype=object)[reason_code + 1]

    def scalar(v: np.ndarray) -> np.ndarray:
        return np.where(included, v, np.nan)

    def lists(name: str, mat: np.ndarray) -> pl.Series:
        s = pl.Series(name, np.where(included[:, None], mat, 0.0).reshape(n_ev, w)).cast(pl.List(pl.Float64))
        return pl.select(pl.when(pl.Series(included)).then(s).otherwise(None).alias(name)).to_series()

    car_mm = ar_mm.sum(axis=1)
    car = ar.sum(axis=1)
    out = events.with_columns(
        model=pl.lit(cfg.model),
        alpha=pl.Series(scalar(fit.alpha)).fill_nan(None),
        beta=pl.Series(scalar(fit.beta)).fill_nan(None),
        sigma=pl.Series(scalar(fit.sigma)).fill_nan(None),
        estimation_days=pl.Series(np.where(mapped & loc.known, fit.n, 0), dtype=pl.Int64),
        ar=lists("ar", ar),
        ar_mm=lists("ar_mm", ar_mm),
        ar_se=lists("ar_se", ar_se),
        car=pl.Series(scalar(car)).fill_nan(None),
        car_mm=pl.Series(scalar(car_mm)).fill_nan(None),
        car_se=pl.Series(scalar(car_se)).fill_nan(None),
        price_t=pl.Series(scalar(price_t)).fill_nan(None),
        price_t_plus_1=pl.Series(scalar(price_t1)).fill_nan(None),
        neutralized=pl.lit(neutralize),
        untradable_window_days=pl.Series(np.where(included, (~tradable_win).sum(axis=1), 0), dtype=pl.Int64),
        excluded_reason=pl.Series(reason.tolist(), dtype=pl.String),
    )
    return out.with_columns(
        raw_return=pl.col("price_t_plus_1") / pl.col("price_t") - 1.0,
        abnormal_return=pl.col("car_mm"),
        risk_neutralized_return=pl.col("car") if neutralize else pl.lit(None, dtype=pl.Float64),
    )


def _neutralize(
    panel: Panel,
    ds: Dataset,
    cfg: CarConfig,
    moments: _Moments,
    j: np.ndarray,
    posc: np.ndarray,
    in_range: np.ndarray,
    ar_mm: np.ndarray,
) -> np.ndarray:
    """Risk-neutralised event-window ARs (module docstring); NaN where no risk model applies."""
    n_sym, width = panel.day.shape
    factors = ds.style_factors()
    k = len(factors)
    # Rolling market model for every (stock, day) cell: window [c - gap - L, c - gap).
    cols = np.arange(width)
    lo = np.clip(cols - cfg.gap - cfg.estimation_window, 0, width)
    hi = np.clip(cols - cfg.gap, 0, width)
    fit = moments.fit(np.arange(n_sym)[:, None], lo[None, :], hi[None, :])
    m = panel.m if cfg.model != "constant_mean" else 0.0
    cell_ar = panel.r - fit.alpha - fit.beta * m
    cell_ok = np.isfinite(cell_ar) & (fit.n >= cfg.min_estimation_obs) & panel.tradable

    # Exposures as of each cell (latest row on or before the cell's date, same symbol).
    assert ds.exposures is not None
    ex = (
        ds.exposures.join(pl.DataFrame({"symbol": panel.symbols, "j": np.arange(n_sym)}), on="symbol", how="inner")
        .select("j", day=pl.col("date").cast(pl.Int64), *factors)
        .sort("j", "day")
    )
    ex_keys = ex["j"].to_numpy() * _DAY_SPAN + ex["day"].to_numpy()
    ex_vals = ex.select(pl.col(factors).cast(pl.Float64)).to_numpy()
    cell_keys = np.arange(n_sym)[:, None] * _DAY_SPAN + panel.day
    idx = np.searchsorted(ex_keys, cell_keys, side="right") - 1
    has_ex = (idx >= 0) & (panel.day >= 0)
    has_ex &= np.where(has_ex, ex_keys[np.maximum(idx, 0)] // _DAY_SPAN, -1) == np.arange(n_sym)[:, None]
    ex_idx = np.where(has_ex, idx, -1)

    all_days = np.unique(panel.day[panel.day >= 0])
    n_days = len(all_days)
    n_grp = int(panel.industry.max()) + 1 if n_sym else 1
    didx = np.searchsorted(all_days, np.maximum(panel.day, all_days[0] if n_days else 0))

    use = cell_ok & (ex_idx >= 0)
    ex_finite = np.isfinite(ex_vals).all(axis=1) if len(ex_vals) else np.zeros(0, bool)
    use &= np.where(ex_idx >= 0, ex_finite[np.maximum(ex_idx, 0)] if len(ex_vals) else False, False)
    cj, ck = np.nonzero(use)
    y = cell_ar[cj, ck]
    x = ex_vals[ex_idx[cj, ck]]
    d = didx[cj, ck]
    g = panel.industry[cj]
    gid = d * n_grp + g
    cnt = np.bincount(gid, minlength=n_days * n_grp).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_y = np.bincount(gid, weights=y, minlength=n_days * n_grp) / cnt
        mean_x = np.stack([np.bincount(gid, weights=x[:, f], minlength=n_days * n_grp) for f in range(k)], axis=1) / cnt[:, None]
    yd = y - mean_y[gid]
    xd = x - mean_x[gid]
    # Per-date normal equations of the demeaned style regression (one small matmul per date).
    order = np.argsort(d, kind="stable")
    xd, yd = xd[order], yd[order]
    bounds = np.searchsorted(d[order], np.arange(n_days + 1))
    xtx = np.zeros((n_days, k, k))
    xty = np.zeros((n_days, k))
    for day_i in range(n_days):
        block = xd[bounds[day_i] : bounds[day_i + 1]]
        xtx[day_i] = block.T @ block
        xty[day_i] = block.T @ yd[bounds[day_i] : bounds[day_i + 1]]
    groups_present = (cnt.reshape(n_days, n_grp) > 0).sum(axis=1)
    dof = np.diff(bounds) - groups_present - k
    gamma = np.full((n_days, k), np.nan)
    solvable = dof >= cfg.min_cross_section_dof
    if solvable.any():
        gamma[solvable] = np.linalg.solve(xtx[solvable], xty[solvable][..., None])[..., 0]
    factor_g = mean_y.reshape(n_days, n_grp) - np.einsum("dgk,dk->dg", mean_x.reshape(n_days, n_grp, k), gamma)
    factor_g[cnt.reshape(n_days, n_grp) == 0] = np.nan

    ev_d = didx[j[:, None], posc]
    ev_ex = ex_idx[j[:, None], posc]
    ev_x = np.where((ev_ex >= 0)[..., None], ex_vals[np.maximum(ev_ex, 0)] if len(ex_vals) else np.nan, np.nan)
    exposure_return = np.einsum("ewk,ewk->ew", ev_x, gamma[ev_d])
    neutral = ar_mm - factor_g[ev_d, panel.industry[j][:, None]] - exposure_return
    return np.where(in_range, neutral, np.nan)
