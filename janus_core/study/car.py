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
ARs are demeaned within (date, industry) before the style regression. The cross-section holds
every usable stock of the date, the event stocks included (their own reaction moves the date's
factor returns by about 1/(stocks in their industry) of it). Every date of the panel gets a
cross-section.

Test statistics under neutralisation (one model throughout, ``janus_core.significance``): the
estimation window is neutralised exactly like the event window. ``sigma_neutral`` is the residual SD
of the OLS of the factor-adjusted returns r - f_(g,t) - x' gamma_t on [1, r_m] (the configured
model's regressors) over the estimation days that have a risk model (``neutral_estimation_days``;
fewer than ``min_estimation_obs`` excludes the event ``no_risk_model``). The forecast-error
variances use it for the disturbance, while the estimation-error terms keep the plain fit's sigma
(alpha and beta come from the plain fit, so their error does too):
  s^2(AR_t) = sigma_neutral^2 + sigma^2 * (h/n + k*(m_t - mean_m)^2 / Cxx)
  s^2(CAR)  = W*sigma_neutral^2 + sigma^2 * (h*W^2/n + k*(sum_t m_t - W*mean_m)^2 / Cxx)
:func:`estimation_abnormal_returns` gives the neutralised estimation-window ARs for the rank, sign
and Kolari-Pynnonen tests. alpha, beta, sigma and the event-window ARs do not depend on this. On
placebo events (no effect) every test then rejects at its nominal rate, neutralised or not
(``tests/test_significance.py``); with the plain market-model sigma the standardised neutralised
CAR has an SD of about 0.88 and Patell and Corrado reject about half as often as they should.

The CAR window of an event ends on ``window_end_day`` (the stock's trading day at offset b), the
last price its label uses; ``labels.chronological_split`` purges on it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.data.dataset import Dataset
from janus_core.data.events import (
    point_in_time_dates,
)
from janus_core.study.exclusion import included
from janus_core.study.panel import (
    Fit,
    Model,
    Panel,
    SnapshotState,
    fit_events,
    plain_returns,
    release_free_heap,
    snapshot_state,
)
from janus_core.study.risk_model import (
    CrossSections,
    RiskModelSettings,
    cross_sections,
    exposures_on_panel,
    gather_cells,
    neutral_window_fits,
)

#: The closed set of exclusion reasons, in the order they are checked (the first that applies wins).
EXCLUSION_REASONS: tuple[str, ...] = (
    "duplicate",  # same event_id as an earlier event (in output order); the first one is kept
    "no_prices",  # the symbol has no row in ``prices``
    "unknown_benchmark",  # the model needs a benchmark and the symbol has none with data
    "event_window_past_data",  # no trading day on/after the event, or the window ends after the last price
    "untradable",  # the event day (offset 0) is not tradable
    "too_few_estimation_days",  # fewer than ``min_estimation_obs`` valid days in the estimation window
    "missing_returns",  # a return in the event window is missing (e.g. benchmark close absent that day)
    "no_risk_model",  # neutralising, but no risk model for a window day or too few estimation days with one
)


class CarConfig(BaseModel):
    """Event-study parameters. The paper publishes no window lengths; the defaults follow common
    event-study practice for daily news studies (janus-q-method.md, Stage I.4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    #: Worker threads for the panel-wide array work; 0 = one per CPU core. Results are identical
    #: for every value (each task writes its own slice; no reduction crosses threads).
    threads: int = Field(0, ge=0)

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
    def risk_model(self) -> RiskModelSettings:
        """The settings the risk model's cross-sections depend on."""
        return RiskModelSettings(
            self.model, self.estimation_window, self.gap, self.min_estimation_obs, self.min_cross_section_dof
        )

    @property
    def window_days(self) -> int:
        return self.event_window[1] - self.event_window[0] + 1


def _forecast_se(
    cfg: CarConfig, fit: Fit, m_window: np.ndarray, sigma_neutral: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast-error SD of each event-window AR and of the CAR (formulas in the module docstring).
    With ``sigma_neutral`` (risk neutralisation) the disturbance term uses it and the estimation-
    error terms keep the model's ``fit.sigma``."""
    w = m_window.shape[1]
    h = 0.0 if cfg.model == "market_adjusted" else 1.0
    n = fit.n[:, None].astype(np.float64)
    s2 = fit.sigma[:, None] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if sigma_neutral is not None:
            est_day = h / n
            est_car = h * w * w / fit.n.astype(np.float64)
            if cfg.model == "market":
                est_day = est_day + (m_window - fit.mean_m[:, None]) ** 2 / fit.cxx[:, None]
                est_car = est_car + (m_window.sum(axis=1) - w * fit.mean_m) ** 2 / fit.cxx
            day_se = np.sqrt(sigma_neutral[:, None] ** 2 + s2 * est_day) * np.ones_like(m_window)
            return day_se, np.sqrt(w * sigma_neutral**2 + fit.sigma**2 * est_car)
        day_var = 1.0 + h / n
        car_var = w + h * w * w / fit.n.astype(np.float64)
        if cfg.model == "market":
            day_var = day_var + (m_window - fit.mean_m[:, None]) ** 2 / fit.cxx[:, None]
            car_var = car_var + (m_window.sum(axis=1) - w * fit.mean_m) ** 2 / fit.cxx
        return np.sqrt(s2 * day_var) * np.ones_like(m_window), fit.sigma * np.sqrt(car_var)


@dataclass(frozen=True)
class _Located:
    """Events placed on the panel: symbol row j and event-day column k0 (-1 when unmapped)."""

    j: np.ndarray
    k0: np.ndarray
    known: np.ndarray  # symbol has prices


def _locate(panel: Panel, symbol: pl.Series, pit_date: pl.Series) -> _Located:
    """Event day = the stock's first session on or after ``pit_date`` (events.map_event_days)."""
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
    row = panel.first_sessions(code, pit_date.cast(pl.Int64).fill_null(-1).to_numpy())
    j = np.maximum(code, 0)
    k0 = np.where(row >= 0, row - panel.start[j], -1)
    return _Located(j, k0, code >= 0)


def _neutralizes(ds: Dataset, cfg: CarConfig) -> bool:
    """Risk neutralisation applies: switched on and the dataset has style exposures."""
    return cfg.risk_neutralize and ds.exposures is not None and bool(ds.style_factors())


def compute_car(ds: Dataset, cfg: CarConfig) -> pl.DataFrame:
    """One row per input event, sorted by (published_at, symbol, event_id) (ties keep input order),
    with its event day, model estimates, AR path and CAR, or an ``excluded_reason`` from
    :data:`EXCLUSION_REASONS`. All event columns are passed through.

    Output columns (beyond the events'): ``published_date``, ``pit_date``, ``event_day``,
    ``window_end_day`` (last day of the event window; null when it is past the data), ``model``,
    ``alpha``, ``beta``, ``sigma``, ``estimation_days``, ``sigma_neutral`` and
    ``neutral_estimation_days`` (the neutralised disturbance SD and its days; null / 0 when not
    neutralised), ``ar`` (neutralised when neutralisation
    applies, else = ``ar_mm``), ``ar_mm``, ``ar_se`` (forecast-error SD per day), ``car``,
    ``car_mm``, ``car_se`` (of ``car``), ``price_t`` (close of the trading day before the window starts),
    ``price_t_plus_1`` (close on the window's last day), ``raw_return`` = price_t_plus_1 / price_t
    - 1, ``abnormal_return`` (= car_mm), ``risk_neutralized_return`` (= car when neutralised, else
    null), ``neutralized``, ``untradable_window_days``, ``excluded_reason``. Model outputs are null
    for excluded events.
    """
    with ThreadPoolExecutor(max_workers=cfg.threads or os.cpu_count() or 1) as pool:
        out = _compute_car(ds, cfg, pool)
    release_free_heap()  # the per-event arrays the frame was built from are freed now
    return out


#: The output order of :func:`compute_car` (nulls first, ties in input order).
STUDY_ORDER: tuple[str, ...] = ("published_at", "symbol", "event_id")


def _study_order(events: pl.DataFrame) -> pl.DataFrame:
    """``events`` sorted by :data:`STUDY_ORDER` (stable). Events already in that order (the usual
    case: the dataset's canonical order) are not copied: the stable arg-sort is checked against the
    identity before any gather (at 624,000 events the gather copies 230 MB of text columns)."""
    order = events.select(pl.arg_sort_by(list(STUDY_ORDER), maintain_order=True)).to_series().to_numpy()
    return events if np.array_equal(order, np.arange(events.height)) else events[order]


def _compute_car(ds: Dataset, cfg: CarConfig, pool: ThreadPoolExecutor) -> pl.DataFrame:
    state = snapshot_state(ds)
    panel = state.panel
    # The risk model first: its panel-wide temporaries are freed before any per-event array exists.
    xs = _risk_model(state, ds, cfg, pool) if _neutralizes(ds, cfg) else None
    events = _study_order(ds.events).with_columns(
        point_in_time_dates(pl.col("published_at"), ds.meta.exchange_timezone, ds.meta.news_cutoff)
    )
    win = _windows(panel, _locate(panel, events["symbol"], events["pit_date"]), cfg)
    lo, hi = _estimation_windows(panel, win, cfg)
    fit = fit_events(panel, cfg.model, pool, win.j, lo, hi, plain_returns(panel, cfg.model))
    neutral = None if xs is None else (xs, *_neutral_fit(state, cfg, pool, xs, win, lo, hi))
    del lo, hi
    r_win = np.where(win.in_range, panel.r[win.j[:, None], win.posc], np.nan)
    m_win = np.where(win.in_range, panel.m[win.j[:, None], win.posc], np.nan)
    ar_mm = r_win - fit.alpha[:, None] - fit.beta[:, None] * (m_win if cfg.model != "constant_mean" else 0.0)
    del r_win
    m_se = np.nan_to_num(m_win) if cfg.model != "market" else m_win
    del m_win
    if neutral is None:
        n_ev = len(events)
        no_neutral = (np.full(n_ev, np.nan), np.zeros(n_ev, dtype=np.int64), False)
        out = _Estimates(_output_fit(fit), ar_mm, ar_mm, *_forecast_se(cfg, fit, m_se), *no_neutral)
    else:
        out = _neutralised(panel, cfg, win, fit, neutral, ar_mm, m_se)
    del m_se, fit  # the forecast SDs are computed: only the output's arrays stay while the frame is built
    release_free_heap()  # the freed temporaries' pages, before the output frame is built
    return _car_frame(events, panel, cfg, win, out)


@dataclass(frozen=True)
class _Windows:
    """Every event's place on the panel: symbol row ``j``, event-day column ``k0`` (-1 unmapped),
    its row ``length`` and the event-window cells ``posc`` (clipped columns) with ``in_range``
    marking the real ones."""

    loc: _Located
    j: np.ndarray
    k0: np.ndarray
    length: np.ndarray
    mapped: np.ndarray
    posc: np.ndarray
    in_range: np.ndarray


def _windows(panel: Panel, loc: _Located, cfg: CarConfig) -> _Windows:
    a, b = cfg.event_window
    width = panel.r.shape[1]
    j, k0 = loc.j, loc.k0
    length = np.where(loc.known, panel.length[j], 0)
    mapped = k0 >= 0
    pos = k0[:, None] + np.arange(a, b + 1)[None, :]
    in_range = mapped[:, None] & (pos >= 0) & (pos < length[:, None])
    return _Windows(loc, j, k0, length, mapped, np.clip(pos, 0, width - 1), in_range)


def _estimation_windows(panel: Panel, win: _Windows, cfg: CarConfig) -> tuple[np.ndarray, np.ndarray]:
    """Each event's estimation window [lo, hi) in panel columns (empty when unmapped)."""
    width = panel.r.shape[1]
    start = win.k0 + cfg.event_window[0] - cfg.gap
    lo = np.clip(start - cfg.estimation_window, 0, width)
    hi = np.clip(start, 0, width)
    return lo, np.where(win.mapped, np.maximum(hi, lo), lo)


def _output_fit(fit: Fit) -> Fit:
    """``fit`` without ``mean_m`` and ``cxx`` (empty): once the forecast SDs are computed the output
    reads only n, alpha, beta and sigma, so the others are freed before the frame is built."""
    return Fit(fit.n, fit.alpha, fit.beta, fit.sigma, np.empty(0), np.empty(0))


@dataclass(frozen=True)
class _Estimates:
    """The model outputs of every event: the plain fit, neutralised (``ar``) and market-model
    (``ar_mm``) ARs, their forecast-error SDs and the neutralised disturbance SD and days."""

    fit: Fit
    ar: np.ndarray
    ar_mm: np.ndarray
    ar_se: np.ndarray
    car_se: np.ndarray
    sigma_neutral: np.ndarray
    neutral_n: np.ndarray
    neutralized: bool


def _risk_model(state: SnapshotState, ds: Dataset, cfg: CarConfig, pool: ThreadPoolExecutor) -> CrossSections:
    """The risk model's cross-sections, kept per snapshot under ``cfg.risk_model`` (they depend on
    nothing else); the prefix sums they and the fits are built from are never kept (block by block,
    ``panel.fit_events``), so a snapshot holds its panel and the factor returns only."""
    panel = state.panel

    def compute() -> CrossSections:
        expo = state.derived(("exposures",), lambda: exposures_on_panel(panel, ds, ds.style_factors()))
        return cross_sections(panel, ds, cfg.risk_model, pool, expo)

    return state.derived(("risk_model", *cfg.risk_model), compute)


def _neutral_fit(
    state: SnapshotState,
    cfg: CarConfig,
    pool: ThreadPoolExecutor,
    xs: CrossSections,
    win: _Windows,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The disturbance SD and valid days of each event's fit on the factor-adjusted returns (the
    only parts of that fit the study uses). An event's estimation window is the window of the cell
    at its window's first column ``k0 + a``, so it is read from the snapshot's
    :class:`NeutralFits` (kept per snapshot under ``cfg.risk_model``); an unmapped event reads any
    cell (its values are masked in the output: it is excluded and has 0 neutral days), and a
    mapped event whose first column is off the panel is fitted on its own (``fit_events``)."""
    panel = state.panel
    key = ("neutral_fits", *cfg.risk_model)
    fits = state.derived(key, lambda: neutral_window_fits(panel, cfg.risk_model, pool, xs))
    width = panel.r.shape[1]
    first = win.k0 + cfg.event_window[0]
    on_panel = (first >= 0) & (first < width)
    cell = np.where(win.mapped & on_panel, first, 0)
    sigma, n = fits.sigma[win.j, cell], fits.n[win.j, cell].astype(np.int64)
    own = np.flatnonzero(win.mapped & ~on_panel)
    if own.size:
        fit = fit_events(panel, cfg.model, pool, win.j[own], lo[own], hi[own], xs.neutral_returns(panel, cfg.model))
        sigma[own], n[own] = fit.sigma, fit.n
    return sigma, n


def _neutralised(
    panel: Panel,
    cfg: CarConfig,
    win: _Windows,
    fit: Fit,
    neutral: tuple[CrossSections, np.ndarray, np.ndarray],
    ar_mm: np.ndarray,
    m_se: np.ndarray,
) -> _Estimates:
    """Risk-neutralised ARs and test-statistic SDs (module docstring) from the plain ``fit``, the
    market-model ARs ``ar_mm`` and ``neutral``: the risk model's cross-sections (:func:`_risk_model`)
    with the disturbance SD and day count of the fit on the factor-adjusted returns."""
    xs, sigma_neutral, rm_n = neutral
    ev_day = np.where(win.in_range, panel.day_index[win.j[:, None], win.posc], -1)
    ar = xs.residual(ar_mm, panel.industry, win.j, win.posc, ev_day)
    del ev_day
    neutral_n = np.where(win.mapped & win.loc.known, rm_n, 0)
    ar_se, car_se = _forecast_se(cfg, fit, m_se, sigma_neutral)
    return _Estimates(_output_fit(fit), ar, ar_mm, ar_se, car_se, sigma_neutral, neutral_n, True)


def _exclusion_codes(events: pl.DataFrame, panel: Panel, cfg: CarConfig, win: _Windows, est: _Estimates) -> np.ndarray:
    """Index into :data:`EXCLUSION_REASONS` of each event's first failing rule; -1 when included."""
    b = cfg.event_window[1]
    known, mapped = win.loc.known, win.mapped
    event_tradable = np.where(mapped, panel.tradable[win.j, np.maximum(win.k0, 0)], False)
    conditions = [
        events["event_id"].is_first_distinct().not_().to_numpy(),
        ~known,
        known & (cfg.model != "constant_mean") & ~(known & panel.has_benchmark[win.j]),
        ~mapped | (win.k0 + b >= win.length),
        ~event_tradable,
        est.fit.n < cfg.min_estimation_obs,
        ~np.isfinite(est.ar_mm).all(axis=1),
        ~np.isfinite(est.ar).all(axis=1) | (est.neutralized & (est.neutral_n < cfg.min_estimation_obs)),
    ]
    return np.select(conditions, list(range(len(EXCLUSION_REASONS))), default=-1)


def _list_column(name: str, mat: np.ndarray, valid: np.ndarray) -> pl.Series:
    """``List[Float64]`` column of the rows of ``mat``, null where not ``valid`` (a NaN inside a
    valid row stays NaN): the 2-D array becomes an ``Array`` column (zero copy), cast to ``List``
    and masked by one when/then."""
    rows = pl.Series(name, np.ascontiguousarray(mat, dtype=np.float64)).cast(pl.List(pl.Float64))
    return pl.select(pl.when(pl.Series(valid, dtype=pl.Boolean)).then(rows)).to_series().alias(name)


def _nullable(values: np.ndarray, valid: np.ndarray) -> pl.Series:
    """Float64 column with nulls where not ``valid`` (and where the value is NaN)."""
    return pl.Series(np.where(valid, values, np.nan), nan_to_null=True)


def _car_frame(events: pl.DataFrame, panel: Panel, cfg: CarConfig, win: _Windows, est: _Estimates) -> pl.DataFrame:
    """The output table of :func:`compute_car`: the events with their event days, estimates,
    AR paths, CARs and exclusion reason."""
    a, b = cfg.event_window
    width = panel.r.shape[1]
    j, k0, length, mapped = win.j, win.k0, win.length, win.mapped
    has_end = mapped & (k0 + b >= 0) & (k0 + b < length)
    event_day = panel.days[panel.day_index[j, np.clip(k0, 0, width - 1)]]
    end_day = panel.days[panel.day_index[j, np.clip(k0 + b, 0, width - 1)]]
    reason_code = _exclusion_codes(events, panel, cfg, win, est)
    included = reason_code < 0
    t_pos, t1_pos = k0 + a - 1, k0 + b
    price_t = np.where(mapped & (t_pos >= 0) & (t_pos < length), panel.close_at(j, t_pos), np.nan)
    price_t1 = np.where(mapped & (t1_pos < length), panel.close_at(j, t1_pos), np.nan)
    tradable_win = np.where(win.in_range, panel.tradable[j[:, None], win.posc], False)
    fit = est.fit
    reasons = pl.Series([*EXCLUSION_REASONS, None], dtype=pl.String)
    out = events.with_columns(
        event_day=_nullable(event_day, mapped).cast(pl.Int32).cast(pl.Date),
        window_end_day=_nullable(end_day, has_end).cast(pl.Int32).cast(pl.Date),
        model=pl.lit(cfg.model),
        alpha=_nullable(fit.alpha, included),
        beta=_nullable(fit.beta, included),
        sigma=_nullable(fit.sigma, included),
        estimation_days=pl.Series(np.where(mapped & win.loc.known, fit.n, 0), dtype=pl.Int64),
        sigma_neutral=_nullable(est.sigma_neutral, included),
        neutral_estimation_days=pl.Series(est.neutral_n, dtype=pl.Int64),
        ar=_list_column("ar", est.ar, included),
        ar_mm=_list_column("ar_mm", est.ar_mm, included),
        ar_se=_list_column("ar_se", est.ar_se, included),
        car=_nullable(est.ar.sum(axis=1), included),
        car_mm=_nullable(est.ar_mm.sum(axis=1), included),
        car_se=_nullable(est.car_se, included),
        price_t=_nullable(price_t, included),
        price_t_plus_1=_nullable(price_t1, included),
        neutralized=pl.lit(est.neutralized),
        untradable_window_days=pl.Series(np.where(included, (~tradable_win).sum(axis=1), 0), dtype=pl.Int64),
        excluded_reason=reasons.gather(np.where(included, len(EXCLUSION_REASONS), reason_code)),
    )
    return out.with_columns(
        raw_return=pl.col("price_t_plus_1") / pl.col("price_t") - 1.0,
        abnormal_return=pl.col("car_mm"),
        risk_neutralized_return=pl.col("car") if est.neutralized else pl.lit(None, dtype=pl.Float64),
    )


def estimation_abnormal_returns(ds: Dataset, cfg: CarConfig, car_table: pl.DataFrame) -> pl.DataFrame:
    """Abnormal returns over each included event's estimation window, computed exactly like its
    event-window ARs, for the rank and sign tests and the Kolari-Pynnonen correlation
    (``janus_core.significance``): AR(i,t) = r - alpha_i - beta_i * r_m with the event's own fit,
    and, when the table is risk-neutralised, AR_RM(i,t) = AR(i,t) - f_(g(i),t) - x(i,t)' gamma_t with
    the factor returns of date t (module docstring), so the tests compare like with like.

    Columns: ``event_id``, ``ar_estimation`` (Array[Float64, estimation_window], oldest first; NaN
    on days that were not valid for estimation or, neutralised, have no risk model) and
    ``estimation_dates`` (Array[Date, estimation_window], the trading date of each column; null
    before the stock's first price). ``car_table`` must come from :func:`compute_car` on ``ds``
    with ``cfg``; raises ``ValueError`` when its ``neutralized`` flag disagrees with ``cfg``."""
    a = cfg.event_window[0]
    inc = included(car_table).select("event_id", "symbol", "event_day", "alpha", "beta")
    neutralize = _neutralizes(ds, cfg)
    if "neutralized" in car_table.columns and inc.height:
        flags = included(car_table)["neutralized"]
        if not (flags == neutralize).all():
            raise ValueError(
                f"car table: column neutralized is not {neutralize} for every included event (the config and dataset "
                f"give {neutralize}; pass the CarConfig the table was computed with)"
            )
    state = snapshot_state(ds)
    panel = state.panel
    code = (
        inc.select("symbol")
        .join(
            pl.DataFrame({"symbol": panel.symbols, "j": np.arange(len(panel.symbols), dtype=np.int64)}),
            on="symbol",
            how="left",
            maintain_order="left",
        )["j"]
        .fill_null(-1)
        .to_numpy()
    )
    row = panel.first_sessions(code, inc["event_day"].cast(pl.Int64).to_numpy())
    if (row < 0).any():
        bad = int(np.flatnonzero(row < 0)[0])
        raise ValueError(f"car table row {bad}: event {inc['event_id'][bad]!r} is not on the dataset's calendar")
    j = code
    first = row - panel.start[j] + a - cfg.gap - cfg.estimation_window  # panel column of each window's first day
    length = cfg.estimation_window
    alpha, beta = inc["alpha"].to_numpy(), inc["beta"].to_numpy()
    xs = None
    if neutralize and inc.height:
        with ThreadPoolExecutor(max_workers=cfg.threads or os.cpu_count() or 1) as pool:
            xs = _risk_model(state, ds, cfg, pool)
    ok = panel.estimation_ok(cfg.model)
    ar, day = np.empty((len(inc), length)), np.empty((len(inc), length), dtype=panel.day_index.dtype)
    chunk = 4096  # events at a time: the temporaries stay small (and their pages are reused)
    for lo in range(0, len(inc), chunk):
        rows = slice(lo, lo + chunk)
        pos = first[rows, None] + np.arange(length)[None, :]
        jc, valid, posc = j[rows], pos >= 0, np.maximum(pos, 0)
        day[rows] = np.where(valid, gather_cells(panel.day_index, jc, posc), -1)
        valid &= gather_cells(ok, jc, posc)
        m = gather_cells(panel.m, jc, posc) if cfg.model != "constant_mean" else 0.0
        block = gather_cells(panel.r, jc, posc) - alpha[rows, None] - beta[rows, None] * m
        if xs is not None:  # invalid cells are NaN below
            block = xs.residual(block, panel.industry, jc, posc, day[rows])
        ar[rows] = np.where(valid, block, np.nan)
    on_calendar = np.append(panel.days, 0).astype(np.int32)  # day -1 (none) reads the last entry
    dates = pl.Series(on_calendar[day.reshape(-1)])
    dates = pl.select(pl.when(pl.Series(day.reshape(-1) >= 0)).then(dates.cast(pl.Date))).to_series()
    return pl.DataFrame(
        {
            "event_id": inc["event_id"],
            "ar_estimation": pl.Series(ar.reshape(len(inc), length), dtype=pl.Array(pl.Float64, length)),
            "estimation_dates": dates.reshape((len(inc), length)),
        }
    )
