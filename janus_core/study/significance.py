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
from scipy import stats

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
        q = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
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


def same_day_correlation(est_ar: np.ndarray, event_day: np.ndarray, est_dates: np.ndarray | None = None) -> float:
    """Average pairwise correlation r of the estimation-window ARs (rows = events, NaN = missing)
    over all N(N-1)/2 pairs, counting only pairs that share ``event_day`` (module docstring).

    A pair's correlation is Pearson's over the days on which both ARs are present: the same
    calendar dates when ``est_dates`` (integer dates, same shape, negative = none) is given, else
    the same column. A pair with fewer than 3 common days or no variation on them counts as 0."""
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
        # einsum's own loops (not BLAS), so the sums never depend on the thread count.
        count = np.einsum("it,jt->ij", mask, mask)  # common days of each pair
        s_i = np.einsum("it,jt->ij", x, mask)  # [i, j]: sum of x_i over the days both have
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
    """U_it = rank(A_it) / (1 + M_i) - 1/2 over each event's estimation + event window (N x (L+W);
    NaN where the AR is missing), the input of :func:`corrado_z_from_ranks`."""
    combined = np.concatenate([est_ar, event_ar], axis=1)
    ranks = stats.rankdata(combined, axis=1, nan_policy="omit")
    m = np.isfinite(combined).sum(axis=1, keepdims=True)
    return ranks / (1.0 + m) - 0.5


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
    return values.to_numpy().astype(float).reshape(len(values), width)


class _Inputs:
    """Arrays of the included events, built once and shared by every group of a table."""

    def __init__(self, car_table: pl.DataFrame, estimation_ar: pl.DataFrame, by: str):
        inc = _included(car_table).join(estimation_ar, on="event_id", how="left", maintain_order="left")
        if inc["ar_estimation"].null_count():
            raise ValueError("estimation_ar: an included event has no estimation-window ARs (wrong dataset or config?)")
        names = inc[by].cast(pl.String).to_numpy()
        self.groups, self.code = np.unique(names, return_inverse=True)
        self.car = inc["car"].to_numpy()
        self.car_se = inc["car_se"].to_numpy()
        days = inc["estimation_days"].to_numpy().astype(float)
        if "neutralized" in inc.columns and "neutral_estimation_days" in inc.columns:
            days = np.where(inc["neutralized"].to_numpy(), inc["neutral_estimation_days"].to_numpy(), days)
        self.dof = days - np.where(inc["model"].to_numpy() == "market", 2.0, 1.0)
        self.est, self.ev, self.se = _matrix(inc["ar_estimation"]), _matrix(inc["ar"]), _matrix(inc["ar_se"])
        self.est_dates = (  # days since epoch, -1 = none
            inc["estimation_dates"]
            .arr.eval(pl.element().cast(pl.Int64).fill_null(-1))
            .to_numpy()
            .reshape(self.est.shape)
            if "estimation_dates" in inc.columns
            else None
        )
        self.day = inc["event_day"].cast(pl.Int64).to_numpy()
        self.u = corrado_ranks(self.est, self.ev) if len(inc) else np.empty((0, 0))

    def masks(self, pooled: bool = True):
        """(group name, row mask) for each group in sorted order, then the pooled ``"all"``."""
        for k, g in enumerate(self.groups.tolist()):
            yield g, self.code == k
        if pooled:
            yield ALL_GROUP, np.ones(len(self.code), dtype=bool)


def _two_sided(stat: float, df: float | None) -> float:
    return float(2 * (stats.norm.sf(abs(stat)) if df is None else stats.t.sf(abs(stat), df)))


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
    for group, mask in x.masks(pooled):
        n = int(mask.sum())
        car, scar = x.car[mask], x.car[mask] / x.car_se[mask]
        t_cs, z_p, t_b = cross_sectional_t(car), patell_z(scar, x.dof[mask]), bmp_t(scar)
        rbar = same_day_correlation(x.est[mask], x.day[mask], None if x.est_dates is None else x.est_dates[mask])
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
    for group, mask in x.masks():
        n = int(mask.sum())
        est, ev, se, dof, u = x.est[mask], x.ev[mask], x.se[mask], x.dof[mask], x.u[mask]
        rbar = same_day_correlation(est, x.day[mask], None if x.est_dates is None else x.est_dates[mask])
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
    p = 2.0 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf((1.0 + level) / 2.0, df) * se

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
