"""Frozen reference of the CAR engine's fits before the prefix sums were built block by block of
panel rows (``janus_core.study.panel.fit_events``): the panel-wide prefix sums kept per snapshot, the
cell ARs of the risk model fitted in blocks of columns, and the neutralised fit on the panel-wide
factor-adjusted returns. ``tests/test_car_blocks.py`` checks the block-wise code against it."""

from __future__ import annotations

import numpy as np

from janus_core.study.panel import Fit, Model, Panel, _columns
from janus_core.study.risk_model import CrossSections, RiskModelSettings


class PanelMoments:
    """Prefix sums of the whole panel: ``window(j, lo, hi)`` sums days lo..hi-1."""

    def __init__(self, panel: Panel, model: Model, r: np.ndarray | None = None, ok: np.ndarray | None = None):
        r = panel.r if r is None else r
        ok = panel.estimation_ok(model) if ok is None else ok
        if model == "market_adjusted":
            y = np.where(ok, r - panel.m, 0.0)
            x = np.zeros_like(y)
        else:
            y = np.where(ok, r, 0.0)
            x = np.where(ok, panel.m, 0.0) if model == "market" else np.zeros_like(y)
        self.model = model

        def prefix(body: np.ndarray, dtype: type = np.float64) -> np.ndarray:
            out = np.zeros((y.shape[0], y.shape[1] + 1), dtype=dtype)
            np.cumsum(body, axis=1, out=out[:, 1:])
            return out

        self.c = {"n": prefix(ok.astype(np.int32), np.int32), "sy": prefix(y), "syy": prefix(y * y)}
        if model == "market":
            self.c.update(sx=prefix(x), sxx=prefix(x * x), sxy=prefix(x * y))

    def fit(self, j: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Fit:
        return self._fit({k: v[j, hi] - v[j, lo] for k, v in self.c.items()})

    def fit_columns(self, lo: np.ndarray, hi: np.ndarray) -> Fit:
        return self._fit({k: _columns(v, hi) - _columns(v, lo) for k, v in self.c.items() if k != "syy"})

    def _fit(self, s: dict[str, np.ndarray]) -> Fit:
        n = np.rint(s["n"])
        with np.errstate(divide="ignore", invalid="ignore"):
            my = s["sy"] / n
            cyy = s["syy"] - s["sy"] * my if "syy" in s else None
            if self.model == "market":
                mx = s["sx"] / n
                cxx = s["sxx"] - s["sx"] * mx
                cxy = s["sxy"] - s["sx"] * my
                beta = cxy / cxx
                alpha = my - beta * mx
                sigma = np.empty(0) if cyy is None else np.sqrt(np.maximum(cyy - beta * cxy, 0.0) / (n - 2))
            else:
                mx = np.zeros_like(my)
                cxx = np.full_like(my, np.nan)
                sigma = np.empty(0) if cyy is None else np.sqrt(np.maximum(cyy, 0.0) / (n - 1))
                beta = np.ones_like(my) if self.model == "market_adjusted" else np.zeros_like(my)
                alpha = np.zeros_like(my) if self.model == "market_adjusted" else my
        return Fit(n.astype(np.int64), alpha, beta, sigma, mx, cxx)


def cell_abnormal_returns(panel: Panel, settings: RiskModelSettings, block: int = 64) -> np.ndarray:
    """Every cell's rolling-model AR, fitted in blocks of ``block`` columns on the panel-wide sums."""
    moments = PanelMoments(panel, settings.model)
    n_sym, width = panel.r.shape
    cols = np.arange(width)
    out = np.empty((n_sym, width))
    for i0 in range(0, width, block):
        c = cols[i0 : i0 + block]
        fit = moments.fit_columns(
            np.clip(c - settings.gap - settings.estimation_window, 0, width), np.clip(c - settings.gap, 0, width)
        )
        cells = _columns(panel.r, c) - fit.alpha
        if settings.model != "constant_mean":
            cells -= fit.beta * _columns(panel.m, c)
        cells[(fit.n < settings.min_estimation_obs) | ~_columns(panel.tradable, c)] = np.nan
        out[:, i0 : i0 + len(c)] = cells
    return out


def adjusted_returns(panel: Panel, xs: CrossSections) -> np.ndarray:
    """The factor-adjusted returns of every panel cell by the general gather (every date looked up
    through ``day_index``), with the exposures as panel matrices."""
    d = np.maximum(panel.day_index, 0)
    out = panel.r - xs.factor_g[panel.industry[:, None], d]
    for f in range(len(xs.expo.factors)):
        out -= xs.expo.matrix(f) * xs.gamma[d, f]
    out[panel.day_index < 0] = np.nan
    return out


def neutral_fit(panel: Panel, xs: CrossSections, model: Model, j: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Fit:
    """The neutralised fit from the panel-wide factor-adjusted returns."""
    adjusted = adjusted_returns(panel, xs)
    return PanelMoments(panel, model, adjusted, panel.estimation_ok(model) & np.isfinite(adjusted)).fit(j, lo, hi)
