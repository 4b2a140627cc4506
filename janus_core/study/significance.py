"""Event-study aggregation and test statistics over the CAR table of :mod:`janus_core.car`.

Notation: N events i in a group (e.g. one event type), event window of W days, AR_it the abnormal
return of event i on event day t, CAR_i = sum_t AR_it, s(CAR_i) its forecast-error SD (``car_se``:
sigma_i * sqrt(W + W^2/n_i + (sum_t m_t - W mean_m)^2 / Cxx_i) for the market model; MacKinlay 1997,
eq. 4.4.10; Campbell, Lo and MacKinlay 1997, ch. 4), SCAR_i = CAR_i / s(CAR_i).

One model throughout: every test runs on the abnormal returns it is given and on their own
variance and estimation window. With risk neutralisation (``car.compute_car``) the event-window
ARs, ``car_se`` / ``ar_se`` (from the neutralised disturbance SD ``sigma_neutral``, with
d_i counted on ``neutral_estimation_days`` in Patell's variance) and the estimation-window ARs of
``car.estimation_abnormal_returns`` are all neutralised; without it all are the plain model's. A
placebo study (random event dates, no effect) holds every test's rejection rate at its nominal level
either way (``tests/test_significance.py``).

- AAR_t = (1/N) sum_i AR_it; CAAR_t = sum_(tau <= t) AAR_tau (MacKinlay 1997, eq. 4.4.16-17).
- Cross-sectional t (Brown and Warner 1985): t = mean(CAR) / (sd(CAR) / sqrt(N)), sd with ddof 1;
  t(N-1) reference.
- Patell Z (Patell 1976; CLM ch. 4 J2): Z = sum_i SCAR_i / sqrt(sum_i d_i / (d_i - 2)), with d_i
  the residual degrees of freedom of event i's estimation (n_i - 2 for the market model, n_i - 1
  otherwise); N(0,1) reference.
- BMP (Boehmer, Musumeci and Poulsen 1991): t = mean(SCAR) / (sd(SCAR) / sqrt(N)); robust to an
  event-induced variance increase; t(N-1) reference.
- Kolari-Pynnonen (2010) adjustment of BMP for cross-correlation when events cluster on the same
  date: t_KP = t_BMP * sqrt((1 - r) / (1 + (N - 1) r)), r the average pairwise correlation of the
  estimation-window abnormal returns. Events on different event days are taken as uncorrelated; for
  events sharing an event day, the pair's correlation is Pearson's over the calendar dates on which
  both have an estimation-window AR (pairwise-present days; a pair with fewer than 3 such days
  counts 0), so r = sum over same-day pairs / (N(N-1)/2).
- Corrado rank test (Corrado 1989, with Campbell and Wasley 1993 for missing days and multi-day
  windows): rank every event's ARs over its estimation + event window, K_it = rank / (1 + M_i)
  (M_i = non-missing days), U_it = K_it - 1/2, Ubar_t = mean over events, S_U = sqrt(mean over all
  L + W days of Ubar_t^2); Z = sum_(t in window) Ubar_t / (sqrt(W) S_U); N(0,1) reference.
- Generalised sign test (Cowan 1992): p = mean over events of the share of positive estimation-
  window ARs; w = number of positive CARs; Z = (w - N p) / sqrt(N p (1 - p)); N(0,1) reference.

All p-values are two-sided.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse, special
from threadpoolctl import threadpool_limits

from janus_core.study.exclusion import included

ALL_GROUP = "all"


def _included(car_table: pl.DataFrame) -> pl.DataFrame:
    for col in ("excluded_reason", "ar", "car"):
        if col not in car_table.columns:
            raise ValueError(f"car table: column {col!r} is missing (expected the output of car.compute_car)")
    return included(car_table)


def aar_caar(
    car_table: pl.DataFrame, first_day: int = 0, by: str = "event_type", confidence: float = 0.95
) -> pl.DataFrame:
    """AAR and CAAR per group (``by``, plus the pooled group ``"all"``) and event day
    (``rel_day`` = ``first_day`` + position in the window), over the included events.

    Columns: ``by``, ``rel_day``, ``n``, ``aar``, ``caar``, ``caar_sd`` (cross-sectional SD of the
    events' cumulative ARs up to that day), ``caar_t`` = caar / (caar_sd / sqrt(n)), ``ci_low``,
    ``ci_high`` (the t(n-1) ``confidence`` interval of CAAR). Sorted by group then day."""
    inc = _included(car_table).select(pl.col(by).cast(pl.String), "ar")
    pooled = pl.concat([inc, inc.with_columns(pl.lit(ALL_GROUP).alias(by))])
    long = (
        pooled.with_columns(rel_day=pl.int_ranges(pl.lit(first_day), pl.col("ar").list.len() + first_day))
        .with_columns(cum=pl.col("ar").list.eval(pl.element().cum_sum()))
        .explode("ar", "rel_day", "cum")
    )
    out = (
        long.group_by(by, "rel_day")
        .agg(n=pl.len(), aar=pl.col("ar").mean(), caar=pl.col("cum").mean(), caar_sd=pl.col("cum").std(ddof=1))
        .sort(by, "rel_day")
    )
    n = out["n"].to_numpy().astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = out["caar_sd"].to_numpy() / np.sqrt(n)
        q = special.stdtrit(np.maximum(n - 1, 1), 0.5 + confidence / 2)
    caar = out["caar"].to_numpy()
    return out.with_columns(
        caar_t=pl.Series(caar / se).fill_nan(None),
        ci_low=pl.Series(caar - q * se).fill_nan(None),
        ci_high=pl.Series(caar + q * se).fill_nan(None),
    )


def cross_sectional_t(car: np.ndarray) -> float:
    """t = mean(CAR) / (sd(CAR, ddof=1) / sqrt(N)) (Brown and Warner 1985)."""
    n = len(car)
    if n < 2:
        return float("nan")
    return float(np.mean(car) / (np.std(car, ddof=1) / np.sqrt(n)))


def patell_z(scar: np.ndarray, dof: np.ndarray) -> float:
    """Z = sum SCAR_i / sqrt(sum d_i / (d_i - 2)) (Patell 1976)."""
    if len(scar) == 0:
        return float("nan")
    return float(np.sum(scar) / np.sqrt(np.sum(dof / (dof - 2.0))))


def bmp_t(scar: np.ndarray) -> float:
    """t = mean(SCAR) / (sd(SCAR, ddof=1) / sqrt(N)) (Boehmer, Musumeci and Poulsen 1991)."""
    return cross_sectional_t(scar)


def kolari_pynnonen(t_bmp: float, rbar: float, n: int) -> float:
    """t_KP = t_BMP * sqrt((1 - r) / (1 + (N - 1) r)) (Kolari and Pynnonen 2010)."""
    denom = 1.0 + (n - 1) * rbar
    if n < 2 or denom <= 0:
        return float("nan")
    return float(t_bmp * np.sqrt((1.0 - rbar) / denom))


def _digit_bits(length: int) -> int:
    """The largest b with ``length`` * 2^(2b) <= 2^53: a sum of ``length`` products of two
    integers of magnitude <= 2^b is then an exact float64 integer, whatever the order of summation."""
    return (53 - int(np.ceil(np.log2(max(length, 2))))) // 2


def _digits(x: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row of ``x`` (finite) in two integer digits of ``bits`` bits and a power-of-two
    scale: x_it = scale_i (d1_it + 2^-b d2_it) + O(scale_i 2^-2b), scale_i = 2^(e_i - b) with 2^e_i
    the power of two just above max_t |x_it|, |d1| <= 2^b, |d2| <= 2^(b-1) (each rounded to nearest)."""
    e = np.frexp(np.abs(x).max(axis=1, initial=0.0))[1]
    scaled = np.ldexp(x, (bits - e)[:, None])
    d1 = np.rint(scaled)
    return d1, np.rint(np.ldexp(scaled - d1, bits)), np.ldexp(1.0, e - bits)


#: Rows of a day cluster whose pairs are formed at once (bounds the temporaries at large clusters).
_PAIR_BLOCK = 256


def _pair_correlation_sums(
    x: np.ndarray, present: np.ndarray, spans: list[tuple[int, int]], work: np.ndarray, upper: np.ndarray
) -> tuple[list[float], float]:
    """Sums of Pearson's correlation over the pairs a < b of rows of one cluster (c x G: ``x`` zero
    where not ``present``), each over the columns both have: for each span [lo, hi) of rows (a
    group) the pairs inside it, and all pairs. One-pass moments: n_ab = sum_t m_a m_b,
    S_a|b = sum_t x_a m_b, Q_a|b = sum_t x_a^2 m_b, P_ab = sum_t x_a x_b,
    corr = (P - S_a|b S_b|a / n) / sqrt(V_a|b V_b|a) with V_a|b = Q_a|b - S_a|b^2 / n; a pair with
    fewer than 3 common columns or a variance that is not positive counts 0. ``work``: scratch of
    at least 5 * min(c, _PAIR_BLOCK) * c floats (reused, so its pages are touched once); ``upper``:
    1.0 above the diagonal of a min(c, _PAIR_BLOCK) square, else 0.0.

    Long because: the pair matrices are formed block by block in place.

    Deterministic by construction: S, Q and n are the row totals (each row summed on its own) less
    the sums over b's missing days (a sparse product, summed in column order); P is formed from the integer digits of
    :func:`_digits` (terms of order 2^-2b dropped), whose matrix products are exact float64
    integers, so they give the same bits whatever the BLAS kernel, thread count or CPU."""
    c, width = x.shape
    bits = _digit_bits(width)
    d1, d2, scale = _digits(x, bits)
    xx, counted = x * x, present.astype(np.float64)
    moments = np.empty((width, 3 * c))  # G x 3c: S, Q and n of each row, by day
    moments[:, :c], moments[:, c : 2 * c], moments[:, 2 * c :] = x.T, xx.T, counted.T
    totals = np.stack([x.sum(axis=1), xx.sum(axis=1), counted.sum(axis=1)])  # 3 x c, each row summed alone
    # over[b, k, a]: moment k of row a over the days of row b (the total less the days b misses)
    b_idx, t_idx = np.nonzero(~present)
    missing = sparse.csr_array((np.ones(len(b_idx)), t_idx, np.searchsorted(b_idx, np.arange(c + 1))), shape=(c, width))
    over = (missing @ moments).reshape(c, 3, c)
    np.subtract(totals[None], over, out=over)
    group_sums, total = [0.0] * len(spans), 0.0
    for r0 in range(0, c - 1, _PAIR_BLOCK):
        r1 = min(r0 + _PAIR_BLOCK, c)
        h, w = r1 - r0, c - r0
        p, inv_n, mean, var, tmp = (work[k * h * w : (k + 1) * h * w].reshape(h, w) for k in range(5))
        s_ab, q_ab = over[r0:, 0, r0:r1].T, over[r0:, 1, r0:r1].T
        s_ba, q_ba, n = over[r0:r1, 0, r0:], over[r0:r1, 1, r0:], over[r0:r1, 2, r0:]  # n is symmetric
        np.matmul(d1[r0:r1], d1[r0:].T, out=p)
        np.matmul(d1[r0:r1], d2[r0:].T, out=mean)
        if h == w:  # one block: d2 d1' is the transpose of d1 d2'
            tmp[...] = mean.T
        else:
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


def _on_common_dates(values: np.ndarray, dates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """A cluster's estimation-window ARs as ``(x, present)`` on columns that are the same date for
    every row (x zero where not present): as given when ``dates`` is None or the same for every
    row, else on the union of the rows' dates (negative = none)."""
    present = np.isfinite(values)
    if dates is not None:
        present &= dates >= 0
        if not (dates == dates[:1]).all():
            grid = np.unique(dates[present])
            r_idx, c_idx = np.nonzero(present)
            at = np.searchsorted(grid, dates[r_idx, c_idx])
            aligned = np.zeros((len(values), len(grid)))
            aligned[r_idx, at] = values[r_idx, c_idx]
            on_grid = np.zeros(aligned.shape, dtype=bool)
            on_grid[r_idx, at] = True
            return aligned, on_grid
    return np.where(present, values, 0.0), present


def same_day_pair_sums(
    est_ar: np.ndarray, cluster: np.ndarray, group: np.ndarray, n_groups: int, est_dates: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Sums of the pairwise correlations of the Kolari-Pynnonen r (module docstring) over the pairs
    of events in the same ``cluster`` (the event day): per ``group`` code (0 .. n_groups - 1) the
    sum over the pairs inside that group, and the sum over all pairs. ``est_ar`` N x L, NaN =
    missing; a pair's correlation is :func:`_pair_correlation_sums`' over the days both have: the same
    calendar dates when ``est_dates`` (integer dates, same shape, negative = none) is given, else
    the same column; a pair with fewer than 3 common days or no variation counts 0. Each cluster's
    pair matrix is built once, whatever the number of groups."""
    n, length = est_ar.shape
    by_group, total = np.zeros(n_groups), 0.0
    if n < 2 or length == 0:
        return by_group, total
    order = np.argsort(cluster, kind="stable")
    keys = cluster[order]
    bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
    largest = int(np.diff(bounds).max())
    work = np.empty(5 * min(largest, _PAIR_BLOCK) * largest)
    upper = np.triu(np.ones((min(largest, _PAIR_BLOCK),) * 2), k=1)
    with threadpool_limits(limits=1, user_api="blas"):  # small products: one thread is fastest
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if hi - lo < 2:
                continue
            rows = order[lo:hi]
            values, present = _on_common_dates(est_ar[rows], None if est_dates is None else est_dates[rows])
            by_code = np.argsort(group[rows], kind="stable")  # each group's rows together
            codes = group[rows][by_code]
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
            sums, pair_total = _pair_correlation_sums(
                values[by_code], present[by_code], list(zip(starts[:-1], starts[1:])), work, upper
            )
            by_group[codes[starts[:-1]]] += sums
            total += pair_total
    return by_group, total


def same_day_correlation(est_ar: np.ndarray, event_day: np.ndarray, est_dates: np.ndarray | None = None) -> float:
    """Average pairwise correlation r of the estimation-window ARs (rows = events, NaN = missing)
    over all N(N-1)/2 pairs, counting only pairs that share ``event_day`` (module docstring;
    :func:`same_day_pair_sums`)."""
    n = est_ar.shape[0]
    if n < 2:
        return 0.0
    total = same_day_pair_sums(est_ar, event_day, np.zeros(n, dtype=np.int64), 1, est_dates)[1]
    return float(total / (n * (n - 1) / 2.0))


def row_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks within each row of ``a``, 1 for the smallest, tied values sharing the mean of their
    positions, NaN where ``a`` is NaN (NaNs left out): ``scipy.stats.rankdata(a, axis=1,
    nan_policy="omit")``, from one sort of each row on integer keys in the order of the floats
    (-0.0 as 0.0, NaN last)."""
    n, w = a.shape
    nan = np.isnan(a)
    key = (a + 0.0).view(np.int64)  # + 0.0: -0.0 ties with 0.0
    key = np.where(key < 0, key ^ np.int64(0x7FFF_FFFF_FFFF_FFFF), key)
    key[nan] = np.iinfo(np.int64).max
    order = np.argsort(key, axis=1)
    ordered = np.take_along_axis(key, order, axis=1)
    pos = np.broadcast_to(np.arange(1.0, w + 1.0), (n, w))
    tied = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != np.iinfo(np.int64).max)
    if tied.any():  # a tie group's ranks are the mean of its first and last position
        starts = np.ones((n, w), dtype=bool)
        starts[:, 1:] = ~tied
        ends = np.ones((n, w), dtype=bool)
        ends[:, :-1] = ~tied
        first = np.maximum.accumulate(np.where(starts, pos, 0.0), axis=1)
        last = np.minimum.accumulate(np.where(ends, pos, np.inf)[:, ::-1], axis=1)[:, ::-1]
        pos = (first + last) / 2.0
    ranks = np.empty((n, w))
    np.put_along_axis(ranks, order, pos, axis=1)
    ranks[nan] = np.nan
    return ranks


#: Events ranked at a time by :func:`corrado_ranks`.
_RANK_CHUNK = 4096


def corrado_ranks(est_ar: np.ndarray, event_ar: np.ndarray) -> np.ndarray:
    """U_it = rank(A_it) / (1 + M_i) - 1/2 over each event's estimation + event window (N x (L+W);
    NaN where the AR is missing; :func:`row_ranks`), the input of :func:`corrado_z_from_ranks`.
    Formed ``_RANK_CHUNK`` events at a time (each row on its own), so the temporaries stay small."""
    out = np.empty((len(est_ar), est_ar.shape[1] + event_ar.shape[1]))
    for lo in range(0, len(est_ar), _RANK_CHUNK):
        combined = np.concatenate([est_ar[lo : lo + _RANK_CHUNK], event_ar[lo : lo + _RANK_CHUNK]], axis=1)
        m = np.isfinite(combined).sum(axis=1, keepdims=True)
        out[lo : lo + _RANK_CHUNK] = row_ranks(combined) / (1.0 + m) - 0.5
    return out


def corrado_z_from_ranks(u: np.ndarray, columns: list[int]) -> float:
    """Z = sum_(t in columns) Ubar_t / (sqrt(len(columns)) S_U), S_U = sqrt(mean_t Ubar_t^2) over
    all L + W days (Corrado 1989; Campbell and Wasley 1993)."""
    if len(u) == 0:
        return float("nan")
    with np.errstate(invalid="ignore"):
        ubar = np.nanmean(u, axis=0)
    s_u = np.sqrt(np.nanmean(ubar**2))
    return float(np.nansum(ubar[columns]) / (np.sqrt(len(columns)) * s_u))


def corrado_z(est_ar: np.ndarray, event_ar: np.ndarray, days: list[int] | None = None) -> float:
    """Corrado (1989) rank statistic over the event-window columns ``days`` (default: all; one
    column gives the single-day statistic Ubar_t / S_U), in the Campbell and Wasley (1993) form of
    the module docstring. ``est_ar`` (N x L) and ``event_ar`` (N x W), NaN = missing."""
    if len(event_ar) == 0:
        return float("nan")
    length, w = est_ar.shape[1], event_ar.shape[1]
    chosen = list(range(w)) if days is None else days
    return corrado_z_from_ranks(corrado_ranks(est_ar, event_ar), [length + d for d in chosen])


def generalized_sign_z(est_ar: np.ndarray, car: np.ndarray) -> float:
    """Z = (w - N p) / sqrt(N p (1 - p)) (Cowan 1992; module docstring)."""
    n = len(car)
    if n == 0:
        return float("nan")
    with np.errstate(invalid="ignore"):
        p = float(np.nanmean((est_ar > 0).sum(axis=1) / np.isfinite(est_ar).sum(axis=1)))
    w = float((car > 0).sum())
    return float((w - n * p) / np.sqrt(n * p * (1.0 - p)))


def _matrix(values: pl.Series) -> np.ndarray:
    """Equal-length Float64 lists (or a fixed-width array column) as an (N x len) array, nulls
    as NaN."""
    if isinstance(values.dtype, pl.List):
        values = values.list.to_array(int(values.list.len().max() or 0))
    width = values.dtype.size if isinstance(values.dtype, pl.Array) else 0
    return values.to_numpy().astype(float, copy=False).reshape(len(values), width)


class _Inputs:
    """Arrays of the included events, built once and shared by every group of a table."""

    def __init__(self, car_table: pl.DataFrame, estimation_ar: pl.DataFrame, by: str):
        inc = _included(car_table)
        same_rows = inc["event_id"].equals(estimation_ar["event_id"])  # as estimation_abnormal_returns gives them
        if same_rows and not set(estimation_ar.columns).intersection(inc.columns) - {"event_id"}:  # no join
            inc = inc.hstack(estimation_ar.drop("event_id").get_columns())
        else:
            inc = inc.join(estimation_ar, on="event_id", how="left", maintain_order="left")
        if inc["ar_estimation"].null_count():
            raise ValueError("estimation_ar: an included event has no estimation-window ARs (wrong dataset or config?)")
        names = inc[by].cast(pl.String)
        groups = names.unique().sort()  # UTF-8 byte order: numpy's code point order
        self.groups, self.code = groups.to_numpy(), groups.search_sorted(names).cast(pl.Int64).to_numpy()
        self.car = inc["car"].to_numpy()
        self.car_se = inc["car_se"].to_numpy()
        days = inc["estimation_days"].to_numpy().astype(float)
        if "neutralized" in inc.columns and "neutral_estimation_days" in inc.columns:
            days = np.where(inc["neutralized"].to_numpy(), inc["neutral_estimation_days"].to_numpy(), days)
        self.dof = days - np.where(inc["model"].to_numpy() == "market", 2.0, 1.0)
        self.est, self.ev, self.se = _matrix(inc["ar_estimation"]), _matrix(inc["ar"]), _matrix(inc["ar_se"])
        self.est_dates = (  # days since epoch, -1 = none
            inc["estimation_dates"].arr.explode().to_physical().fill_null(-1).to_numpy().reshape(self.est.shape)
            if "estimation_dates" in inc.columns
            else None
        )
        self.day = inc["event_day"].cast(pl.Int64).to_numpy()
        self.u = corrado_ranks(self.est, self.ev) if len(inc) else np.empty((0, 0))

    def rbar(self, pooled: bool = True) -> dict[str, float]:
        """The Kolari-Pynnonen r of each group of :meth:`masks` (module docstring), from one pair
        matrix per event day (or per group and event day when no pooled group is asked for)."""
        n = np.bincount(self.code, minlength=len(self.groups)).astype(float)
        cluster = self.day if pooled else self.day * len(self.groups) + self.code
        sums, total = same_day_pair_sums(self.est, cluster, self.code, len(self.groups), self.est_dates)
        out = {g: float(sums[k] / (n[k] * (n[k] - 1) / 2.0)) if n[k] > 1 else 0.0 for k, g in enumerate(self.groups)}
        if pooled:
            out[ALL_GROUP] = float(total / (len(self.code) * (len(self.code) - 1) / 2.0)) if len(self.code) > 1 else 0.0
        return out

    def masks(self, pooled: bool = True):
        """(group name, its rows) for each group in sorted order, then the pooled ``"all"``: the
        row indices in table order, or every row (a slice: the arrays themselves, not copies)."""
        for k, g in enumerate(self.groups.tolist()):
            yield g, np.flatnonzero(self.code == k)
        if pooled:
            yield ALL_GROUP, slice(None)


def _two_sided(stat: float, df: float | None) -> float:
    return float(2 * (special.ndtr(-abs(stat)) if df is None else special.stdtr(df, -abs(stat))))


def significance_table(
    car_table: pl.DataFrame, estimation_ar: pl.DataFrame, by: str = "event_type", pooled: bool = True
) -> pl.DataFrame:
    """Every test of the module docstring for the full event window, per group of ``by`` and (with
    ``pooled``) for the pooled group ``"all"``: ``n``, ``caar``, ``t_cs``, ``p_cs``, ``patell_z``, ``p_patell``,
    ``bmp_t``, ``p_bmp``, ``rbar``, ``kp_t``, ``p_kp``, ``corrado_z``, ``p_corrado``, ``gsign_z``,
    ``p_gsign``, ``same_day_clusters`` (event days with more than one event). ``estimation_ar``
    comes from :func:`janus_core.study.car.estimation_abnormal_returns`."""
    x = _Inputs(car_table, estimation_ar, by)
    length, w = x.est.shape[1], x.ev.shape[1]
    rows = []
    rbars = x.rbar(pooled)
    for group, mask in x.masks(pooled):
        n = len(x.car[mask])
        car, scar = x.car[mask], x.car[mask] / x.car_se[mask]
        t_cs, z_p, t_b = cross_sectional_t(car), patell_z(scar, x.dof[mask]), bmp_t(scar)
        rbar = rbars[group]
        t_kp = kolari_pynnonen(t_b, rbar, n)
        z_c = corrado_z_from_ranks(x.u[mask], list(range(length, length + w)))
        z_s = generalized_sign_z(x.est[mask], car)
        df = max(n - 1, 1)
        rows.append(
            {
                by: group, "n": n, "caar": float(np.mean(car)) if n else None,
                "t_cs": t_cs, "p_cs": _two_sided(t_cs, df), "patell_z": z_p, "p_patell": _two_sided(z_p, None),
                "bmp_t": t_b, "p_bmp": _two_sided(t_b, df), "rbar": rbar, "kp_t": t_kp, "p_kp": _two_sided(t_kp, df),
                "corrado_z": z_c, "p_corrado": _two_sided(z_c, None), "gsign_z": z_s, "p_gsign": _two_sided(z_s, None),
                "same_day_clusters": int((np.unique(x.day[mask], return_counts=True)[1] > 1).sum()) if n else 0,
            }
        )  # fmt: skip
    return pl.DataFrame(rows).with_columns(pl.selectors.float().fill_nan(None))


#: The tests of :func:`significance_table` in long form: (test name, statistic column, p-value column).
TEST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("cross_sectional_t", "t_cs", "p_cs"),
    ("patell_z", "patell_z", "p_patell"),
    ("bmp_t", "bmp_t", "p_bmp"),
    ("kolari_pynnonen_t", "kp_t", "p_kp"),
    ("corrado_z", "corrado_z", "p_corrado"),
    ("generalized_sign_z", "gsign_z", "p_gsign"),
)


def significance_long(table: pl.DataFrame, by: str = "event_type") -> pl.DataFrame:
    """:func:`significance_table` in long form, one row per group and test: ``by`` (a group or
    ``"all"``), ``test`` (names of ``TEST_COLUMNS``), ``statistic``, ``p_value`` (two-sided; null
    when undefined) and ``n_events``, in the table's group order and ``TEST_COLUMNS`` order."""
    frames = [
        table.select(
            pl.col(by).cast(pl.String),
            pl.lit(name).alias("test"),
            pl.col(stat).cast(pl.Float64).alias("statistic"),
            pl.col(p).cast(pl.Float64).alias("p_value"),
            pl.col("n").cast(pl.Int64).alias("n_events"),
        ).with_row_index("_group")
        for name, stat, p in TEST_COLUMNS
    ]
    return pl.concat(frames).with_row_index("_row").sort("_group", "_row").drop("_group", "_row")


def daily_significance(
    car_table: pl.DataFrame, estimation_ar: pl.DataFrame, first_day: int = 0, by: str = "event_type"
) -> pl.DataFrame:
    """The tests of the module docstring for each event day's AAR, per group of ``by`` and the
    pooled ``"all"``: with SAR_it = AR_it / s(AR_it) (``ar_se``) in place of SCAR_i, the
    single-day Corrado statistic Ubar_t / S_U and the sign test on AR_it > 0. Columns: ``by``,
    ``rel_day``, ``n``, ``aar``, ``t_cs``, ``patell_z``, ``bmp_t``, ``kp_t``, ``corrado_z``,
    ``gsign_z``, with two-sided p-values ``p_*`` for each."""
    x = _Inputs(car_table, estimation_ar, by)
    length = x.est.shape[1]
    rows = []
    rbars = x.rbar()
    for group, mask in x.masks():
        n = len(x.car[mask])
        est, ev, se, dof, u = x.est[mask], x.ev[mask], x.se[mask], x.dof[mask], x.u[mask]
        rbar = rbars[group]
        df = max(n - 1, 1)
        for t in range(ev.shape[1]):
            sar = ev[:, t] / se[:, t]
            t_cs, z_p, t_b = cross_sectional_t(ev[:, t]), patell_z(sar, dof), bmp_t(sar)
            t_kp = kolari_pynnonen(t_b, rbar, n)
            z_c, z_s = corrado_z_from_ranks(u, [length + t]), generalized_sign_z(est, ev[:, t])
            rows.append(
                {
                    by: group, "rel_day": first_day + t, "n": n, "aar": float(np.mean(ev[:, t])) if n else None,
                    "t_cs": t_cs, "p_cs": _two_sided(t_cs, df), "patell_z": z_p, "p_patell": _two_sided(z_p, None),
                    "bmp_t": t_b, "p_bmp": _two_sided(t_b, df), "kp_t": t_kp, "p_kp": _two_sided(t_kp, df),
                    "corrado_z": z_c, "p_corrado": _two_sided(z_c, None), "gsign_z": z_s, "p_gsign": _two_sided(z_s, None),
                }
            )  # fmt: skip
    return pl.DataFrame(rows).with_columns(pl.selectors.float().fill_nan(None))


def car_distribution(
    car_table: pl.DataFrame, bins: int = 60, limit: float = 0.3, by: str = "event_type"
) -> pl.DataFrame:
    """Histogram of the included events' CAR per group of ``by``: ``bins`` equal bins over
    [-limit, limit] (CARs outside are clipped into the end bins). Columns: ``by``, ``bin_start``,
    ``bin_end``, ``n``; only non-empty bins, sorted by group and bin."""
    if bins < 1 or limit <= 0:
        raise ValueError(f"car_distribution: need bins >= 1 and limit > 0, got bins={bins}, limit={limit}")
    width = 2 * limit / bins
    inc = _included(car_table).select(pl.col(by).cast(pl.String), "car")
    binned = inc.with_columns(
        bin=((pl.col("car").clip(-limit, limit) + limit) / width).floor().cast(pl.Int64).clip(0, bins - 1)
    )
    return (
        binned.group_by(by, "bin")
        .agg(n=pl.len())
        .sort(by, "bin")
        .select(by, bin_start=pl.col("bin") * width - limit, bin_end=(pl.col("bin") + 1) * width - limit, n="n")
    )


def caar_confidence_band(caar_table: pl.DataFrame, level: float) -> pl.DataFrame:
    """Add the cross-sectional t test of CAAR_k = 0 per event type to a table with columns
    ``event_type``, ``n``, ``caar`` and ``std_car`` (sample standard deviation of CAR, ddof 1):

    se_k = std_k / sqrt(n_k);  t_k = CAAR_k / se_k;  p_k = 2 * (1 - F(|t_k|; n_k - 1));
    band_k = CAAR_k -/+ F^-1((1 + level) / 2; n_k - 1) * se_k   (F: Student t CDF).

    Adds ``se``, ``t_stat``, ``p_value``, ``ci_low``, ``ci_high``; all null when n_k < 2 or std_k is
    0 or null (no test is possible). Row order is kept."""
    n = caar_table["n"].cast(pl.Float64).to_numpy()
    caar = caar_table["caar"].cast(pl.Float64).to_numpy()
    std = caar_table["std_car"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    ok = (n >= 2) & np.isfinite(std) & (std > 0)
    df = np.where(ok, n - 1, 1.0)
    se = np.where(ok, std / np.sqrt(np.where(ok, n, 1.0)), np.nan)
    t = caar / se
    p = 2.0 * special.stdtr(df, -np.abs(t))
    half = special.stdtrit(df, (1.0 + level) / 2.0) * se

    def col(x: np.ndarray) -> pl.Series:
        return pl.Series(np.where(ok, x, np.nan)).fill_nan(None)

    return caar_table.with_columns(
        se=col(se), t_stat=col(t), p_value=col(p), ci_low=col(caar - half), ci_high=col(caar + half)
    )


def caar_by_type(labelled: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """The one per-type CAAR statistic: over the included events (``excluded_reason`` null) of each
    event type k, ``n``, CAAR_k = mean(CAR), ``mean_abs_car``, ``std_car`` (ddof 1), then the
    cross-sectional t test of :func:`caar_confidence_band` at ``level`` (``se``, ``t_stat``,
    ``p_value``, ``ci_low``, ``ci_high``) and the ``confidence`` level itself. Sorted by event type."""
    inc = included(labelled)
    out = (
        inc.group_by("event_type")
        .agg(
            pl.len().alias("n"),
            pl.col("car").mean().alias("caar"),
            pl.col("car").abs().mean().alias("mean_abs_car"),
            pl.col("car").std(ddof=1).alias("std_car"),
        )
        .sort("event_type")
    )
    return caar_confidence_band(out, level).with_columns(pl.lit(level).alias("confidence"))
