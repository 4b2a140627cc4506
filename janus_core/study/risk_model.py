"""The risk model of the event study's neutralisation (formulas in ``janus_core.study.car``'s
docstring, "Risk neutralisation"): style exposures placed on the panel, every stock's rolling-model
AR on every date, and the per-date cross-sectional regression on the exposures and industry
dummies that gives the factor returns."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from janus_core.data.dataset import Dataset
from janus_core.data.events import CALENDAR_DAY_SPAN
from janus_core.study.panel import Model, Moments, Panel, Returns, row_blocks


class RiskModelSettings(NamedTuple):
    """The event-study settings the risk model depends on (``CarConfig.risk_model``); also the key
    under which a snapshot keeps it."""

    model: Model
    estimation_window: int
    gap: int
    min_estimation_obs: int
    min_cross_section_dof: int


@dataclass(frozen=True)
class PanelExposures:
    """The style exposures as of every panel cell (:func:`exposures_on_panel`), one entry per factor:
    an (n_sym, width) matrix, or, when the exposures rows are the price rows of a rectangular panel,
    the exposures column itself (cell (j, k) is its row ``j * width + k``), so no copy is kept."""

    width: int
    factors: list[np.ndarray | pl.Series]

    def matrix(self, f: int) -> np.ndarray:
        """Factor ``f`` on every cell, as a new writable (n_sym, width) array."""
        v = self.factors[f]
        return v.to_numpy(writable=True).reshape(-1, self.width) if isinstance(v, pl.Series) else v.copy()

    def cells(self, f: int, j: np.ndarray, posc: np.ndarray) -> np.ndarray:
        """Factor ``f`` at row j_i's cells ``posc[i]`` (N x W, a new writable array)."""
        v = self.factors[f]
        if isinstance(v, pl.Series):
            flat = (j[:, None] * self.width + posc).reshape(-1)
            return v.gather(flat).to_numpy(writable=True).reshape(posc.shape)
        return gather_cells(v, j, posc)

    def rows(self, f: int, rows: slice) -> np.ndarray:
        """Factor ``f`` on the panel rows ``rows`` (read only)."""
        v = self.factors[f]
        if isinstance(v, pl.Series):
            start, stop, _ = rows.indices(len(v) // self.width if self.width else 0)
            return v.slice(start * self.width, (stop - start) * self.width).to_numpy().reshape(-1, self.width)
        return v[rows]


def exposures_on_panel(panel: Panel, ds: Dataset, factors: list[str]) -> PanelExposures:
    """Style exposures as of each (symbol, trading day) cell, one (n_sym, width) matrix per factor:
    the latest exposure row of the same symbol dated on or before the cell's date (point in time);
    NaN where there is none. When the exposures rows are the price rows of a rectangular panel, the
    exposures columns are used as they are (:class:`PanelExposures`)."""
    assert ds.exposures is not None
    ex = ds.exposures
    n_sym, width = panel.r.shape
    rectangular = bool((panel.length == width).all())
    aligned = (
        ex.height == int(panel.length.sum())
        and ex["symbol"].equals(ds.prices["symbol"])
        and ex["date"].equals(ds.prices["date"])
    )
    keys = None if aligned and rectangular else panel.calendar_keys()
    if aligned:
        row = None
    else:
        coded = (
            ex.select("symbol", day=pl.col("date").cast(pl.Int64))
            .with_row_index("row")
            .join(
                pl.DataFrame({"symbol": panel.symbols, "j": np.arange(n_sym, dtype=np.int64)}), on="symbol", how="inner"
            )
            .sort("j", "day", "row")
        )
        ex_keys = coded["j"].to_numpy() * CALENDAR_DAY_SPAN + coded["day"].to_numpy()
        found = np.searchsorted(ex_keys, keys, side="right") - 1
        safe = np.maximum(found, 0)
        ok = (found >= 0) & (len(ex_keys) > 0)
        if len(ex_keys):
            ok &= ex_keys[safe] // CALENDAR_DAY_SPAN == keys // CALENDAR_DAY_SPAN
        row = np.where(ok, coded["row"].cast(pl.Int64).to_numpy()[safe] if len(ex_keys) else 0, -1)
    out: list[np.ndarray | pl.Series] = []
    for f in factors:
        col = ex[f].cast(pl.Float64)
        col = col.fill_null(np.nan) if col.null_count() else col
        if row is None and rectangular:
            out.append(col)
            continue
        v = col.to_numpy()
        if row is not None:
            v = np.where(row >= 0, v[np.maximum(row, 0)] if len(v) else np.nan, np.nan)
        if rectangular:
            out.append(v.reshape(n_sym, width))
        else:
            assert keys is not None
            code = keys // CALENDAR_DAY_SPAN
            mat = np.full((n_sym, width), np.nan)
            mat[code, np.arange(len(code)) - panel.start[code]] = v
            out.append(mat)
    return PanelExposures(width, out)


def _cell_abnormal_returns(panel: Panel, settings: RiskModelSettings, pool: ThreadPoolExecutor) -> np.ndarray:
    """The AR of every stock on every panel column under its rolling model, fitted on
    [c - gap - L, c - gap); NaN where the cell is not usable in the cross-section (too few
    estimation days, missing return, not tradable). Shape (n_sym, width). Computed in blocks of
    rows (:func:`janus_core.study.panel.row_blocks`; in parallel, each block writes its own rows, so
    the result does not depend on the thread count), each from its own prefix sums, so temporaries
    stay small."""
    n_sym, width = panel.r.shape
    cols = np.arange(width)
    lo = np.clip(cols - settings.gap - settings.estimation_window, 0, width)
    hi = np.clip(cols - settings.gap, 0, width)
    out = np.empty((n_sym, width))

    def block_ar(rows: slice) -> None:
        fit = Moments(settings.model, panel.r[rows], panel.m[rows], panel.estimation_ok(settings.model, rows))
        fit = fit.fit_columns(lo, hi)
        block = panel.r[rows] - fit.alpha
        if settings.model != "constant_mean":
            block -= fit.beta * panel.m[rows]
        block[(fit.n < settings.min_estimation_obs) | ~panel.tradable[rows]] = np.nan
        out[rows] = block

    list(pool.map(block_ar, row_blocks(n_sym)))
    return out


#: Events per block of :meth:`CrossSections.residual`.
_RESIDUAL_BLOCK = 65_536


def gather_cells(mat: np.ndarray, j: np.ndarray, posc: np.ndarray) -> np.ndarray:
    """``mat[j[:, None], posc]``: row j_i's cells at the columns ``posc[i]`` (N x W). A row whose
    columns are one consecutive run is copied as a slice (a window view of ``mat``), the others by
    flat index; the values are the same either way."""
    n, w = posc.shape
    if w == 0 or w > mat.shape[1]:
        return mat[j[:, None], posc]
    first = posc[:, 0]
    run = (posc == first[:, None] + np.arange(w)).all(axis=1)
    out = np.lib.stride_tricks.sliding_window_view(mat, w, axis=1)[j, np.where(run, first, 0)]
    if not run.all():
        out[~run] = mat.take(j[~run, None] * mat.shape[1] + posc[~run])
    return out


@dataclass(frozen=True)
class CrossSections:
    """The risk model's factor returns of every panel date (module docstring): style factor returns
    ``gamma`` (date x factor) and industry factor returns ``factor_g`` (industry x date), indexed by
    the global day index (``Panel.days``), NaN where a date has no solvable cross-section or an
    industry no stock; ``expo`` holds the style exposures on the panel."""

    gamma: np.ndarray
    factor_g: np.ndarray
    expo: PanelExposures

    def residual(
        self, ar: np.ndarray, industry: np.ndarray, j: np.ndarray, posc: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        """AR_RM = AR - f_(g(i),t) - x(i,t)' gamma_t for the cells (j, posc) on global days ``day``
        (same shape as ``ar``; -1 = no day, NaN out). The exposure return is summed over the
        factors in order from 0.0, in place. Computed per block of ``_RESIDUAL_BLOCK`` events
        (each cell on its own, so the values do not depend on the blocks), which keeps the
        temporaries small at 10x events."""
        by_factor = np.ascontiguousarray(self.gamma.T)  # factor x day
        out = np.empty(ar.shape)
        for lo in range(0, len(ar), _RESIDUAL_BLOCK):
            b = slice(lo, lo + _RESIDUAL_BLOCK)
            d = np.maximum(day[b], 0)
            exposure_return = np.zeros(d.shape)
            for f in range(len(self.expo.factors)):
                term = self.expo.cells(f, j[b], posc[b])
                term *= by_factor[f].take(d)  # gamma_(d, f) of every cell
                exposure_return += term
            neutral = ar[b] - gather_cells(self.factor_g, industry[j[b]], d)
            neutral -= exposure_return
            out[b] = np.where(day[b] >= 0, neutral, np.nan)
        return out

    def adjusted_returns(self, panel: Panel, rows: slice = slice(None)) -> np.ndarray:
        """Factor-adjusted stock returns r(i,t) - f_(g(i),t) - x(i,t)' gamma_t on every cell of the
        panel rows ``rows``, NaN where the risk model does not apply (the input of the neutralised
        estimation fit)."""
        if panel.rectangular:  # every row's columns are the dates: the date's factor returns broadcast
            out = panel.r[rows] - self.factor_g[panel.industry[rows]]
            for f in range(len(self.expo.factors)):
                out -= self.expo.rows(f, rows) * self.gamma[:, f]
            return out
        day_index = panel.day_index[rows]
        d = np.maximum(day_index, 0)
        out = panel.r[rows] - self.factor_g[panel.industry[rows, None], d]
        for f in range(len(self.expo.factors)):
            out -= self.expo.rows(f, rows) * self.gamma[d, f]
        out[day_index < 0] = np.nan
        return out

    def neutral_returns(self, panel: Panel, model: Model) -> Returns:
        """The factor-adjusted returns by block of rows, usable on the estimation days that have a
        risk model (the returns of the neutralised fit, :func:`janus_core.study.panel.fit_events`)."""

        def returns(rows: slice) -> tuple[np.ndarray, np.ndarray]:
            adjusted = self.adjusted_returns(panel, rows)
            return adjusted, panel.estimation_ok(model, rows) & np.isfinite(adjusted)

        return returns


def _cross_section_grid(
    panel: Panel, cells: np.ndarray, expo: PanelExposures
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
    """The stock x date grid of the cross-section: ``y`` (the cells' AR) and ``x`` (the exposures),
    zero outside the usable cells ``w`` (finite AR and exposures); returns ``y, x, w, ~w``. ``cells``
    is overwritten on a rectangular panel (its columns are the dates already)."""
    n_sym, n_days = panel.r.shape[0], len(panel.days)
    if panel.rectangular:  # columns are the dates
        y = cells
        x = [expo.matrix(f) for f in range(len(expo.factors))]
        w = np.isfinite(y)
        for v in x:
            w &= np.isfinite(v)
        outside = ~w
        y[outside] = 0.0
        for v in x:
            v[outside] = 0.0
    else:
        cell = cells
        ok = np.isfinite(cell) & (panel.day_index >= 0)
        mats = [expo.rows(f, slice(None)) for f in range(len(expo.factors))]
        for e in mats:
            ok &= np.isfinite(e)
        sj, sk = np.nonzero(ok)
        dd = panel.day_index[sj, sk]
        w = np.zeros((n_sym, n_days), dtype=bool)
        w[sj, dd] = True
        y = np.zeros((n_sym, n_days))
        y[sj, dd] = cell[sj, sk]
        x = []
        for e in mats:
            grid = np.zeros((n_sym, n_days))
            grid[sj, dd] = e[sj, sk]
            x.append(grid)
        del cell, ok
        outside = ~w
    return y, x, w, outside


def cross_sections(
    panel: Panel,
    ds: Dataset,
    settings: RiskModelSettings,
    pool: ThreadPoolExecutor,
    expo: PanelExposures,
) -> CrossSections:
    """Fit the risk model's cross-section on every date of the panel (module docstring), from every
    stock's rolling-model AR of that date and the style exposures ``expo`` on the panel
    (:func:`exposures_on_panel`, read only)."""
    n_sym, width = panel.r.shape
    cells = _cell_abnormal_returns(panel, settings, pool)
    k = len(ds.style_factors())
    n_days, n_grp = len(panel.days), int(panel.industry.max()) + 1
    y, x, w, outside = _cross_section_grid(panel, cells, expo)
    del cells
    gid = (panel.industry[:, None] * n_days + np.arange(n_days)[None, :]).astype(np.int32)
    flat = gid.ravel()
    cnt = np.bincount(flat, weights=w.ravel(), minlength=n_days * n_grp)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_y = np.bincount(flat, weights=y.ravel(), minlength=n_days * n_grp) / cnt
        mean_x = [np.bincount(flat, weights=v.ravel(), minlength=n_days * n_grp) / cnt for v in x]
    # Frisch-Waugh-Lovell: demean within (industry, date), in place, then per-date normal equations.
    y -= mean_y[gid]
    y[outside] = 0.0
    for v, mv in zip(x, mean_x):
        v -= mv[gid]
        v[outside] = 0.0
    del gid, flat, outside
    xtx = np.empty((n_days, k, k))
    xty = np.empty((n_days, k))
    for f in range(k):
        xty[:, f] = np.einsum("sd,sd->d", x[f], y)
        for h in range(f, k):
            xtx[:, f, h] = xtx[:, h, f] = np.einsum("sd,sd->d", x[f], x[h])
    del x, y
    cnt_g = cnt.reshape(n_grp, n_days)
    dof = w.sum(axis=0) - (cnt_g > 0).sum(axis=0) - k
    gamma = np.full((n_days, k), np.nan)
    solvable = dof >= settings.min_cross_section_dof
    if solvable.any():
        # Pseudo-inverse: with collinear exposures (e.g. a factor constant within industries) the
        # least-squares residual is still unique, and so is the neutralised AR.
        gamma[solvable] = (np.linalg.pinv(xtx[solvable], hermitian=True) @ xty[solvable][..., None])[..., 0]
    # Industry factor return f(g, d) = mean_g(y) - mean_g(x)' gamma_d.
    factor_g = mean_y.reshape(n_grp, n_days) - sum(
        mv.reshape(n_grp, n_days) * gamma[:, f][None, :] for f, mv in enumerate(mean_x)
    )
    factor_g[cnt_g == 0] = np.nan

    return CrossSections(gamma, factor_g, expo)


@dataclass(frozen=True)
class NeutralFits:
    """The fit on the factor-adjusted returns (``CrossSections.neutral_returns``) of every panel
    cell's estimation window, [c - gap - L, c - gap) for column c: its disturbance SD ``sigma`` and
    valid days ``n`` (n_sym x width). An event whose window starts at column c (``k0 + a``) has this
    window exactly, so its neutralised fit is a lookup, the same values as its own fit."""

    sigma: np.ndarray
    n: np.ndarray


def neutral_window_fits(
    panel: Panel, settings: RiskModelSettings, pool: ThreadPoolExecutor, xs: CrossSections
) -> NeutralFits:
    """:class:`NeutralFits` of every cell, from the prefix sums of the factor-adjusted returns built
    block by block of rows (in parallel; each block writes its own rows)."""
    n_sym, width = panel.r.shape
    cols = np.arange(width)
    lo = np.clip(cols - settings.gap - settings.estimation_window, 0, width)
    hi = np.clip(cols - settings.gap, 0, width)
    sigma = np.empty((n_sym, width))
    n = np.empty((n_sym, width), dtype=np.int16 if width < 2**15 else np.int64)  # n <= width
    returns = xs.neutral_returns(panel, settings.model)

    def block(rows: slice) -> None:
        adjusted, ok = returns(rows)
        fit = Moments(settings.model, adjusted, panel.m[rows], ok).fit_columns(lo, hi, sigma=True)
        sigma[rows], n[rows] = fit.sigma, fit.n

    list(pool.map(block, row_blocks(n_sym)))
    return NeutralFits(sigma, n)
