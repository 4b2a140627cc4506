"""Overfitting statistics: return moments, the Probabilistic and Deflated Sharpe Ratios (Bailey and
Lopez de Prado 2014) and the probability of backtest overfitting by combinatorially symmetric
cross-validation (Bailey, Borwein, Lopez de Prado and Zhu 2017)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri

from janus_core.backtest.metrics import (
    EULER_MASCHERONI,
    TRADING_DAYS_PER_YEAR,
    _as_array,
)


# Selection bias: the Deflated Sharpe Ratio and the probability of backtest overfitting
# --------------------------------------------------------------------------------------------------
def return_moments(returns: Sequence[float] | pl.Series | np.ndarray) -> dict[str, float]:
    """Per-period moments of ``returns`` the PSR needs: ``sharpe`` (``mean / std``, population std,
    not annualised; 0 without dispersion), ``skew`` and ``kurtosis`` (population, not in excess: 3
    for a normal; 0 and 3 without dispersion) and ``n_returns``."""
    r = _as_array(returns, "returns")
    if r.size < 2:
        raise ValueError(f"returns: need at least 2 values, got {r.size}")
    d = r - r.mean()
    var = float(np.mean(d * d))
    if var == 0.0:
        return {"sharpe": 0.0, "skew": 0.0, "kurtosis": 3.0, "n_returns": float(r.size)}
    sd = math.sqrt(var)
    return {
        "sharpe": float(r.mean()) / sd,
        "skew": float(np.mean(d**3)) / sd**3,
        "kurtosis": float(np.mean(d**4)) / var**2,
        "n_returns": float(r.size),
    }


def expected_max_sharpe(n_trials: int, sharpe_variance: float, mean_sharpe: float = 0.0) -> float:
    """Expected maximum of ``n_trials`` independent Sharpe ratio estimates with mean
    ``mean_sharpe`` and variance ``sharpe_variance`` (Bailey & Lopez de Prado 2014):
    ``mean + sqrt(V) ((1 - g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e)))``, ``g`` Euler-Mascheroni.
    One trial is no selection: ``mean``. Units are those of the inputs (per period in the DSR)."""
    if n_trials < 1:
        raise ValueError(f"expected_max_sharpe: n_trials is {n_trials}; need at least 1")
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0.0):
        raise ValueError(f"expected_max_sharpe: sharpe_variance is {sharpe_variance!r}; need a finite value >= 0")
    if n_trials == 1:
        return float(mean_sharpe)
    g = EULER_MASCHERONI
    z = (1.0 - g) * ndtri(1.0 - 1.0 / n_trials) + g * ndtri(1.0 - 1.0 / (n_trials * math.e))
    return float(mean_sharpe + math.sqrt(sharpe_variance) * z)


def probabilistic_sharpe_ratio(sharpe: float, benchmark: float, n_returns: int, skew: float, kurtosis: float) -> float:
    """``PSR = Z((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))`` (Bailey &
    Lopez de Prado 2012): the probability that the true Sharpe ratio exceeds ``benchmark`` given
    the estimate ``sharpe`` from ``n_returns`` returns; Sharpe ratios per period, ``kurtosis`` not
    in excess. Z is the standard normal CDF (``scipy.special.ndtr``, what ``scipy.stats.norm.cdf`` calls; its
    inverse ``ndtri``), without importing scipy.stats."""
    if n_returns < 2:
        raise ValueError(f"probabilistic_sharpe_ratio: n_returns is {n_returns}; need at least 2")
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if not denom > 0.0:
        raise ValueError(
            f"probabilistic_sharpe_ratio: 1 - skew SR + (kurtosis - 1) / 4 SR^2 is {denom!r}; "
            "need a positive variance (check skew and kurtosis)"
        )
    return float(ndtr((sharpe - benchmark) * math.sqrt(n_returns - 1) / math.sqrt(denom)))


def deflated_sharpe_ratio(
    sharpe: float, n_returns: int, skew: float, kurtosis: float, n_trials: int, trial_sharpe_variance: float
) -> dict[str, float]:
    """The Deflated Sharpe Ratio (Bailey & Lopez de Prado 2014): ``DSR = PSR(SR_0)`` with ``SR_0 =
    expected_max_sharpe(n_trials, trial_sharpe_variance)``, the Sharpe ratio the best of
    ``n_trials`` skill-less trials would show. Everything per period (divide an annualised Sharpe
    ratio by ``sqrt(252)`` and its variance by 252). Returns ``dsr``, ``sharpe0`` (``SR_0``),
    ``sharpe``, ``n_trials``, ``trial_sharpe_variance``, ``n_returns``."""
    sr0 = expected_max_sharpe(n_trials, trial_sharpe_variance)
    return {
        "dsr": probabilistic_sharpe_ratio(sharpe, sr0, n_returns, skew, kurtosis),
        "sharpe0": sr0,
        "sharpe": float(sharpe),
        "n_trials": float(n_trials),
        "trial_sharpe_variance": float(trial_sharpe_variance),
        "n_returns": float(n_returns),
    }


def deflated_sharpe_of_returns(
    returns: Sequence[float] | pl.Series | np.ndarray, n_trials: int, annual_sharpe_variance: float | None
) -> dict[str, float]:
    """:func:`deflated_sharpe_ratio` of daily ``returns`` selected among ``n_trials`` trials whose
    annualised Sharpe ratios have variance ``annual_sharpe_variance`` (converted to per day by
    dividing by 252; None, as with a single trial, counts as 0). ``sharpe0`` and ``sharpe`` are
    returned annualised here, next to the per-day ``skew`` and ``kurtosis`` used."""
    m = return_moments(returns)
    var = (annual_sharpe_variance or 0.0) / TRADING_DAYS_PER_YEAR
    d = deflated_sharpe_ratio(m["sharpe"], int(m["n_returns"]), m["skew"], m["kurtosis"], max(n_trials, 1), var)
    ann = math.sqrt(TRADING_DAYS_PER_YEAR)
    return {
        **d,
        "sharpe": d["sharpe"] * ann,
        "sharpe0": d["sharpe0"] * ann,
        "trial_sharpe_variance": float(annual_sharpe_variance or 0.0),
        "skew": m["skew"],
        "kurtosis": m["kurtosis"],
    }


def cscv_logits(returns: np.ndarray, n_splits: int = 16) -> np.ndarray:
    """The CSCV logits of Bailey, Borwein, Lopez de Prado & Zhu (2017), one per split combination.

    ``returns``: T x N, one column per trial on the same T periods. The rows are cut into
    ``n_splits`` (S, even) contiguous groups of near-equal size (``numpy.array_split``); for each of
    the C(S, S/2) ways to pick S/2 groups as the in-sample set J (the rest, J-bar, out of sample,
    combinations in ``itertools.combinations`` order): the Sharpe ratio (mean / population std,
    0 without dispersion) of every trial on J and on J-bar; ``n*`` the best in sample (the first on
    ties); ``w = rank(R-bar_n*) / (N + 1)`` its relative out-of-sample rank (average ranks for
    ties, 1 = worst); logit ``log(w / (1 - w))``.
    """
    from itertools import combinations

    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"cscv: returns must be a T x N matrix, got shape {m.shape}")
    t, n = m.shape
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"cscv: n_splits is {n_splits}; need an even number >= 2")
    if n < 2 or t < n_splits:
        raise ValueError(f"cscv: need at least 2 trials and n_splits ({n_splits}) periods, got T={t}, N={n}")
    bad = np.argwhere(~np.isfinite(m))
    if bad.size:
        raise ValueError(f"cscv: returns row {int(bad[0, 0])}, column {int(bad[0, 1])} is not finite")
    groups = np.array_split(np.arange(t), n_splits)
    s1 = np.stack([m[g].sum(axis=0) for g in groups])
    s2 = np.stack([(m[g] ** 2).sum(axis=0) for g in groups])
    cnt = np.array([g.size for g in groups], dtype=np.float64)
    chosen = np.zeros((math.comb(n_splits, n_splits // 2), n_splits))
    for i, combo in enumerate(combinations(range(n_splits), n_splits // 2)):
        chosen[i, list(combo)] = 1.0

    def sharpe(sel: np.ndarray) -> np.ndarray:
        k = (sel @ cnt)[:, None]
        mean = sel @ s1 / k
        var = np.maximum(sel @ s2 / k - mean * mean, 0.0)
        out = np.zeros_like(mean)
        np.divide(mean, np.sqrt(var), out=out, where=var > 0)
        return out

    r_in, r_out = sharpe(chosen), sharpe(1.0 - chosen)
    best = np.argmax(r_in, axis=1)
    x = r_out[np.arange(best.size), best][:, None]
    rank = (r_out < x).sum(axis=1) + ((r_out == x).sum(axis=1) + 1) / 2.0
    w = rank / (n + 1.0)
    return np.log(w / (1.0 - w))


def probability_of_backtest_overfitting(returns: np.ndarray, n_splits: int = 16) -> dict[str, float]:
    """PBO by CSCV (Bailey, Borwein, Lopez de Prado & Zhu 2017): the share of split combinations
    whose in-sample best trial ranks at or below the out-of-sample median (logit <= 0,
    :func:`cscv_logits`). Returns ``pbo``, ``n_combinations``, ``n_splits``, ``n_trials``,
    ``n_periods`` and ``mean_logit``."""
    logits = cscv_logits(returns, n_splits)
    t, n = np.asarray(returns).shape
    return {
        "pbo": float(np.mean(logits <= 0.0)),
        "n_combinations": float(logits.size),
        "n_splits": float(n_splits),
        "n_trials": float(n),
        "n_periods": float(t),
        "mean_logit": float(np.mean(logits)),
    }
