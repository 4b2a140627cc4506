"""Frozen references of the event-study statistics that ``janus_core.study.significance`` replaced
with faster forms: the tests compare the library against these."""

from __future__ import annotations

import numpy as np
from scipy import sparse, stats

from janus_core.study import significance as sg


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


def pair_correlation_sums(
    x: np.ndarray, present: np.ndarray, spans: list[tuple[int, int]], work: np.ndarray, upper: np.ndarray
) -> tuple[list[float], float]:
    """``significance._pair_correlation_sums`` as of 253ab5f (one 3c x G moments matrix, the
    missing-day sums transposed into [k, a, b], three digit products per block), frozen when issue
    13 reshaped it; the library's must give the same bits.

    Sums of Pearson's correlation over the pairs a < b of rows of one cluster (c x G: ``x`` zero
    where not ``present``), each over the columns both have: for each span [lo, hi) of rows (a
    group) the pairs inside it, and all pairs. One-pass moments: n_ab = sum_t m_a m_b,
    S_a|b = sum_t x_a m_b, Q_a|b = sum_t x_a^2 m_b, P_ab = sum_t x_a x_b,
    corr = (P - S_a|b S_b|a / n) / sqrt(V_a|b V_b|a) with V_a|b = Q_a|b - S_a|b^2 / n; a pair with
    fewer than 3 common columns or a variance that is not positive counts 0. ``work``: scratch of
    at least 5 * min(c, sg._PAIR_BLOCK) * c floats (reused, so its pages are touched once); ``upper``:
    1.0 above the diagonal of a min(c, sg._PAIR_BLOCK) square, else 0.0.

    Long because: the pair matrices are formed block by block in place.

    Deterministic by construction: S, Q and n are the row totals less the sums over b's missing
    days (a sparse product, summed in column order); P is formed from the integer digits of
    :func:`_digits` (terms of order 2^-2b dropped), whose matrix products are exact float64
    integers, so they give the same bits whatever the BLAS kernel, thread count or CPU."""
    c, width = x.shape
    bits = sg._digit_bits(width)
    d1, d2, scale = sg._digits(x, bits)
    moments = np.concatenate([x, x * x, present.astype(np.float64)])  # 3c x G: S, Q and n of each row
    # [k, a, b]: moment k of row a over the days of row b (the total less the days b misses)
    b_idx, t_idx = np.nonzero(~present)
    missing = sparse.csr_array((np.ones(len(b_idx)), t_idx, np.searchsorted(b_idx, np.arange(c + 1))), shape=(c, width))
    over = moments.sum(axis=1).reshape(3, c, 1) - (missing @ moments.T).T.reshape(3, c, c)
    group_sums, total = [0.0] * len(spans), 0.0
    for r0 in range(0, c - 1, sg._PAIR_BLOCK):
        r1 = min(r0 + sg._PAIR_BLOCK, c)
        h, w = r1 - r0, c - r0
        p, inv_n, mean, var, tmp = (work[k * h * w : (k + 1) * h * w].reshape(h, w) for k in range(5))
        s_ab, q_ab, n = over[0, r0:r1, r0:], over[1, r0:r1, r0:], over[2, r0:r1, r0:]
        s_ba, q_ba = over[0, r0:, r0:r1].T, over[1, r0:, r0:r1].T
        np.matmul(d1[r0:r1], d1[r0:].T, out=p)
        np.matmul(d1[r0:r1], d2[r0:].T, out=mean)
        np.matmul(d2[r0:r1], d1[r0:].T, out=tmp)
        mean += tmp
        mean *= 2.0**-bits
        p += mean
        p *= scale[r0:r1, None]
        p *= scale[None, r0:]  # P_ab
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(1.0, n, out=inv_n)
            inv_n[n < 3] = np.nan
            np.multiply(s_ab, inv_n, out=mean)  # mean of a over the common days
            np.multiply(mean, s_ab, out=var)
            np.subtract(q_ab, var, out=var)
            np.maximum(var, 0.0, out=var)  # V_a|b
            np.multiply(s_ba, s_ba, out=tmp)
            tmp *= inv_n
            np.subtract(q_ba, tmp, out=tmp)
            np.maximum(tmp, 0.0, out=tmp)  # V_b|a
            var *= tmp
            np.sqrt(var, out=var)
            np.multiply(mean, s_ba, out=tmp)
            p -= tmp
            p /= var  # the correlation; not finite where a variance is 0 or n < 3
        p[~np.isfinite(p)] = 0.0
        p[:, :h] *= upper[:h, :h]  # pairs a < b only
        total += float(p.sum())
        for k, (lo, hi) in enumerate(spans):
            if lo < r1 and hi > r0:
                group_sums[k] += float(p[max(lo, r0) - r0 : min(hi, r1) - r0, max(lo, r0) - r0 : hi - r0].sum())
    return group_sums, total
