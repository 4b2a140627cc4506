"""Frozen references of the event-study statistics that ``janus_core.study.significance`` replaced
with faster forms: the tests compare the library against these."""

from __future__ import annotations

import numpy as np
from scipy import stats


def same_day_correlation(est_ar: np.ndarray, event_day: np.ndarray, est_dates: np.ndarray | None = None) -> float:
    """The Kolari-Pynnonen r as ``significance.same_day_correlation`` computed it up to issue 13:
    per event-day cluster, the rows aligned on the union of their dates, then the pair sums of
    Pearson's correlation over pairwise-present days by ``np.einsum`` (one-pass moments); pairs
    with fewer than 3 common days or no variation count 0; r = sum / (N(N-1)/2)."""
    n = est_ar.shape[0]
    if n < 2 or est_ar.shape[1] == 0:
        return 0.0
    order = np.argsort(event_day, kind="stable")
    days = event_day[order]
    bounds = np.flatnonzero(np.r_[True, days[1:] != days[:-1], True])
    pair_sum = 0.0
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi - lo < 2:
            continue
        rows = order[lo:hi]
        values = est_ar[rows]
        if est_dates is not None:  # align the cluster on the union of its dates
            dates = est_dates[rows]
            present = dates >= 0
            grid = np.unique(dates[present])
            aligned = np.full((len(rows), len(grid)), np.nan)
            r_idx, c_idx = np.nonzero(present)
            aligned[r_idx, np.searchsorted(grid, dates[r_idx, c_idx])] = values[r_idx, c_idx]
            values = aligned
        mask = np.isfinite(values).astype(float)
        x = np.where(mask > 0, values, 0.0)
        count = np.einsum("it,jt->ij", mask, mask)
        s_i = np.einsum("it,jt->ij", x, mask)
        s_ii = np.einsum("it,jt->ij", x * x, mask)
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = np.einsum("it,jt->ij", x, x) - s_i * s_i.T / count
            var = s_ii - s_i**2 / count
            corr = cov / np.sqrt(var * var.T)
        defined = (count >= 3) & (var > 0) & (var.T > 0) & np.isfinite(corr)
        upper = np.triu(np.ones_like(count, dtype=bool), k=1)
        pair_sum += float(corr[defined & upper].sum())
    return float(pair_sum / (n * (n - 1) / 2.0))


def corrado_ranks(est_ar: np.ndarray, event_ar: np.ndarray) -> np.ndarray:
    """U_it = rank / (1 + M_i) - 1/2 with scipy's ``rankdata`` (average ranks, NaN omitted), as
    ``significance.corrado_ranks`` computed it up to issue 13."""
    combined = np.concatenate([est_ar, event_ar], axis=1)
    ranks = stats.rankdata(combined, axis=1, nan_policy="omit")
    m = np.isfinite(combined).sum(axis=1, keepdims=True)
    return ranks / (1.0 + m) - 0.5
