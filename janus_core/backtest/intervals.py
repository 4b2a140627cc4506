"""Honest intervals: block-bootstrap confidence intervals for Sharpe ratios (studentized, Ledoit and
Wolf 2008, with a data-driven block length) and directional accuracy, and their paired differences
against a baseline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from janus_core.backtest.metrics import (
    TRADING_DAYS_PER_YEAR,
    BootstrapConfig,
    _as_array,
    direction_hits,
    resolve_bootstrap_config,
    sharpe_ratio,
)


def default_block(n: int) -> int:
    """``ceil(n ** (1/3))``, at least 1."""
    return max(1, math.ceil(n ** (1.0 / 3.0)))


def block_bootstrap_indices(n: int, cfg: BootstrapConfig, block: int | None = None) -> np.ndarray:
    """An ``(n_boot, n)`` matrix of resampled day indices; ``block`` (default ``cfg.block`` or
    ``ceil(n ** (1/3))``) capped at ``n``.

    Studentized (circular blocks): ``ceil(n/block)`` blocks of ``block`` consecutive days starting
    at uniform random days ``0..n-1``, wrapping to 0 after ``n - 1``, concatenated and cut to
    ``n``. Stationary: day 0 of each resample starts a block; every later day starts a new block
    with probability ``1/block`` (at a uniform random day), else continues the current one (index
    + 1, wrapping). Moving: ``ceil(n/block)`` blocks of ``block`` consecutive days, starts uniform
    on ``0..n-block``, concatenated and cut to ``n``.
    """
    if n < 1:
        raise ValueError("bootstrap: need at least one observation")
    block = min(block or cfg.block or default_block(n), n)
    rng = np.random.default_rng(cfg.seed)
    if cfg.method in ("moving", "studentized"):
        n_blocks = math.ceil(n / block)
        high = n if cfg.method == "studentized" else n - block + 1
        starts = rng.integers(0, high, size=(cfg.n_boot, n_blocks))
        idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(cfg.n_boot, n_blocks * block)
        return idx[:, :n] % n
    starts = rng.integers(0, n, size=(cfg.n_boot, n))
    new_block = rng.random(size=(cfg.n_boot, n)) < 1.0 / block
    new_block[:, 0] = True
    idx = np.empty((cfg.n_boot, n), dtype=np.int64)
    idx[:, 0] = starts[:, 0]
    for t in range(1, n):
        idx[:, t] = np.where(new_block[:, t], starts[:, t], (idx[:, t - 1] + 1) % n)
    return idx


#: Below this many returns arch's optimal block length is undefined (its estimator divides by zero).
MIN_OBS_OPTIMAL_BLOCK = 12


def politis_white_circular_block(x: np.ndarray) -> float:
    """Politis-White (2004, corrected by Patton, Politis and White 2009) optimal block length of the
    circular block bootstrap of the mean of ``x`` (n >= :data:`MIN_OBS_OPTIMAL_BLOCK`): arch's
    ``optimal_block_length(x)["circular"]`` (arch 7, ``_single_optimal_block``), the same arithmetic
    in the same order without arch's import (pandas).

    With ``e = x - mean(x)``, autocovariances ``g_k = e_k' e_0 / n`` and autocorrelations
    ``|e_k' e_0| / sqrt(|e[k+1:]|^2 |e[:-(k+1)]|^2)`` for ``k = 0..m_max`` (``m_max = ceil(sqrt n) +
    k_n``, ``k_n = max(5, floor(log10 n))``), ``m`` is twice the first lag ``i - k_n`` after which
    ``k_n`` autocorrelations lie inside ``2 sqrt(log10(n) / n)`` (at least 1; ``m_max`` when none),
    at most ``m_max``. With the flat-top weights ``lam_k = min(1, 2 (1 - k/m))``, ``G = sum_k 2 lam_k k
    g_k`` and ``s2 = g_0 + sum_k 2 lam_k g_k`` (k = 1..m): ``b = (2 G^2 / (4/3 s2^2)) ** (1/3) n **
    (1/3)``, at most ``ceil(min(3 sqrt n, n / 3))``."""
    nobs = x.shape[0]
    eps = x - x.mean(0)
    b_max = np.ceil(min(3 * np.sqrt(nobs), nobs / 3))
    kn = max(5, int(np.log10(nobs)))
    m_max = int(np.ceil(np.sqrt(nobs))) + kn
    cv = 2 * np.sqrt(np.log10(nobs) / nobs)
    acv = np.zeros(m_max + 1)
    abs_acorr = np.zeros(m_max + 1)
    opt_m: int | None = None
    for i in range(m_max + 1):
        v1 = eps[i + 1 :] @ eps[i + 1 :]
        v2 = eps[: -(i + 1)] @ eps[: -(i + 1)]
        cross_prod = eps[i:] @ eps[: nobs - i]
        acv[i] = cross_prod / nobs
        abs_acorr[i] = np.abs(cross_prod) / np.sqrt(v1 * v2)
        if i >= kn and opt_m is None and np.all(abs_acorr[i - kn : i] < cv):
            opt_m = i - kn
    m = min(2 * max(opt_m, 1) if opt_m is not None else m_max, m_max)
    g = 0.0
    lr_acv = acv[0]
    for k in range(1, m + 1):
        lam = 1 if k / m <= 1 / 2 else 2 * (1 - k / m)
        g += 2 * lam * k * acv[k]
        lr_acv += 2 * lam * acv[k]
    d_cb = 4 / 3 * lr_acv**2
    return min(((2 * g**2) / d_cb) ** (1 / 3) * nobs ** (1 / 3), b_max)


def sharpe_block_length(returns: np.ndarray) -> int:
    """Data-driven block length for the studentized Sharpe bootstrap of ``returns`` (n days, one
    column per series): ``max(ceil(2 n ** (1/3)), max_j ceil(b_j))``, capped at ``max(1, n // 2)``
    (at least two blocks), ``b_j`` the Politis-White optimal circular block length of column j
    (:func:`politis_white_circular_block`; columns without dispersion, or series shorter than
    :data:`MIN_OBS_OPTIMAL_BLOCK`, contribute nothing).

    Politis-White's length is MSE-optimal for the block *variance* of a mean; an interval's
    coverage suffers more from that variance's O(1/b) downward bias (Hall, Horowitz & Jing 1995),
    which the studentization does not remove. At the paper's sample size it is short (about 5
    days at n = 54 on MA(1) returns with theta 0.6; coverage 0.915 to 0.935 at nominal 0.95), so
    the floor is twice the rate-optimal ``n ** (1/3)``: simulated coverage 0.945 to 0.953 on
    MA(1) returns with theta 0, 0.3 and 0.6 at n = 54, 120 and 250 (400 samples each)."""
    r = returns.reshape(returns.shape[0], -1)
    n = r.shape[0]
    block = math.ceil(2.0 * n ** (1.0 / 3.0))
    if n >= MIN_OBS_OPTIMAL_BLOCK:
        for col in r.T:
            if float(np.std(col)) == 0.0:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                b = float(politis_white_circular_block(np.asarray(col, dtype=float)))
            if math.isfinite(b):
                block = max(block, math.ceil(b))
    return max(1, min(block, n // 2))


def _sharpe_moments(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``theta = c' SR`` (per day) and its gradient over the moments ``(mu_1..mu_k, gamma_1..gamma_k)``
    of ``r`` with shape (..., n, k); NaN where a series has no dispersion."""
    mu = r.mean(axis=-2)
    gamma = (r * r).mean(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(np.maximum(gamma - mu * mu, 0.0))
        sigma = np.where(sigma > 0, sigma, np.nan)
        theta = (c * mu / sigma).sum(axis=-1)
        grad = np.concatenate([c * gamma / sigma**3, -c * mu / (2.0 * sigma**3)], axis=-1)
    return theta, grad


def _moment_series(r: np.ndarray) -> np.ndarray:
    """``y_t - mean(y)`` with ``y_t = (r_t, r_t^2)``: shape (..., n, 2k)."""
    y = np.concatenate([r, r * r], axis=-1)
    return y - y.mean(axis=-2, keepdims=True)


def natural_long_run_covariance(r: np.ndarray, block: int) -> np.ndarray:
    """``Psi = (1 / (n b)) sum_{i=0}^{n-1} S_i S_i'`` with ``S_i`` the sum of ``y - mean(y)`` over
    the ``b = block`` days ``i .. i+b-1`` (circular), ``y_t = (r_t, r_t^2)``, ``r`` of shape
    (n, k): the expected block-bootstrap covariance of ``sqrt(n) mean(y)``."""
    y = _moment_series(r)
    n = y.shape[0]
    ext = np.concatenate([y, y[:block]], axis=0)
    csum = np.concatenate([np.zeros((1, y.shape[1])), np.cumsum(ext, axis=0)], axis=0)
    s = csum[block : block + n] - csum[:n]
    return s.T @ s / (n * block)


def studentized_sharpe_ci(returns: np.ndarray, weights: Sequence[float], cfg: BootstrapConfig) -> dict[str, float]:
    """Studentized circular block-bootstrap interval of ``theta = sum_j weights_j SR_j`` over the
    columns of ``returns`` (n days x k series, same days), annualised (module docstring).

    Returns ``estimate``, ``lo``, ``hi``, ``se`` (delta-method HAC standard error), ``n_boot``,
    ``alpha``, ``block``. A series without dispersion (a flat NAV) contributes its Sharpe ratio 0
    as a constant; a statistic with zero standard error (e.g. a series against itself, or no
    dispersion at all) gets the degenerate interval ``[estimate, estimate]``.
    """
    r = returns.reshape(returns.shape[0], -1)
    n = r.shape[0]
    c = np.asarray(weights, dtype=np.float64)
    ann = math.sqrt(TRADING_DAYS_PER_YEAR)
    estimate = float(sum(w * sharpe_ratio(col) for w, col in zip(c, r.T, strict=True)))
    # A series without dispersion has Sharpe ratio 0 (sharpe_ratio's convention) in every resample
    # too: a constant of the statistic, left out of its moments.
    varying = r.std(axis=0) > 0
    r, c = r[:, varying], c[varying]
    block = min(cfg.block or sharpe_block_length(r), n) if r.shape[1] else 1
    out = {
        "estimate": estimate,
        "lo": estimate,
        "hi": estimate,
        "se": 0.0,
        "n_boot": float(cfg.n_boot),
        "alpha": float(cfg.alpha),
        "block": float(block),
    }
    if not r.shape[1]:
        return out
    theta, grad = _sharpe_moments(r, c)
    se0 = math.sqrt(max(float(grad @ natural_long_run_covariance(r, block) @ grad), 0.0) / n)
    if se0 <= 1e-12 * max(1.0, abs(float(theta))):
        return out
    idx = block_bootstrap_indices(n, cfg, block)
    rs = r[idx]  # (n_boot, n, k)
    theta_s, grad_s = _sharpe_moments(rs, c)
    n_blocks = math.ceil(n / block)
    y = _moment_series(rs)
    pad = np.zeros((cfg.n_boot, n_blocks * block - n, y.shape[2]))
    sums = np.concatenate([y, pad], axis=1).reshape(cfg.n_boot, n_blocks, block, y.shape[2]).sum(axis=2)
    psi = np.einsum("bji,bjk->bik", sums, sums) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        se_s = np.sqrt(np.einsum("bi,bik,bk->b", grad_s, psi, grad_s) / n)
        t = np.abs((theta_s - theta) / se_s)
    t = t[np.isfinite(t)]
    if t.size == 0:
        return out
    q = float(np.quantile(t, 1.0 - cfg.alpha))
    out.update(lo=estimate - q * se0 * ann, hi=estimate + q * se0 * ann, se=se0 * ann)
    return out


def _sharpe_rows(r: np.ndarray) -> np.ndarray:
    """Sharpe of each row of a resampled-returns matrix (0 where a row has no dispersion)."""
    sd = r.std(axis=1)
    mean = r.mean(axis=1)
    out = np.zeros(r.shape[0])
    np.divide(mean, sd, out=out, where=sd > 0)
    return out * math.sqrt(TRADING_DAYS_PER_YEAR)


def _interval(estimate: float, draws: np.ndarray, cfg: BootstrapConfig, block: int | None) -> dict[str, float]:
    lo, hi = np.quantile(draws, [cfg.alpha / 2.0, 1.0 - cfg.alpha / 2.0])
    out = {
        "estimate": float(estimate),
        "lo": float(lo),
        "hi": float(hi),
        "se": float(np.std(draws, ddof=1)) if draws.size > 1 else 0.0,
        "n_boot": float(cfg.n_boot),
        "alpha": float(cfg.alpha),
    }
    if block is not None:
        out["block"] = float(block)
    return out


def bootstrap_sharpe_ci(
    returns: Sequence[float] | pl.Series | np.ndarray,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Interval of the Sharpe ratio of daily ``returns``: studentized circular block bootstrap
    (default) or percentile interval of a stationary / moving-block bootstrap (``method``).

    Returns ``estimate`` (Sharpe of the sample), ``lo``, ``hi``, ``se`` (delta-method HAC standard
    error when studentized, else the std of the draws), ``n_boot``, ``alpha`` and the ``block``
    length used.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    r = _as_array(returns, "returns")
    if cfg.method == "studentized":
        return studentized_sharpe_ci(r[:, None], (1.0,), cfg)
    idx = block_bootstrap_indices(r.size, cfg)
    return _interval(sharpe_ratio(r), _sharpe_rows(r[idx]), cfg, min(cfg.block or default_block(r.size), r.size))


def bootstrap_sharpe_diff_ci(
    returns: Sequence[float] | pl.Series | np.ndarray,
    baseline_returns: Sequence[float] | pl.Series | np.ndarray,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Interval of ``SR(returns) - SR(baseline_returns)``, paired on the same days (Ledoit & Wolf
    2008 when studentized: ``c = (1, -1)``).

    Both series must cover the same days in the same order (equal length); each resample draws
    one set of day indices and applies it to both.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    a = _as_array(returns, "returns")
    b = _as_array(baseline_returns, "baseline_returns")
    if a.size != b.size:
        raise ValueError(f"paired Sharpe difference: returns have {a.size} days, baseline {b.size}; must be equal")
    if cfg.method == "studentized":
        return studentized_sharpe_ci(np.column_stack([a, b]), (1.0, -1.0), cfg)
    idx = block_bootstrap_indices(a.size, cfg)
    draws = _sharpe_rows(a[idx]) - _sharpe_rows(b[idx])
    return _interval(sharpe_ratio(a) - sharpe_ratio(b), draws, cfg, min(cfg.block or default_block(a.size), a.size))


def ma1_sharpe_coverage(
    n: int, theta: float, n_samples: int, cfg: BootstrapConfig, daily_sharpe: float = 0.1, seed: int = 0
) -> dict[str, float]:
    """Simulated coverage of :func:`bootstrap_sharpe_ci` under ``cfg`` on MA(1) returns.

    Each sample is ``r_t = 0.01 (daily_sharpe + (e_t + theta e_(t-1)) / sqrt(1 + theta^2))`` with
    ``e`` i.i.d. standard normal, so the true annualised Sharpe ratio is ``daily_sharpe *
    sqrt(252)``; sample ``i`` uses the bootstrap seed ``cfg.seed + i``. Returns ``coverage`` (share
    of intervals containing the truth), ``mean_width``, ``mean_block`` and ``n_samples``.
    """
    rng = np.random.default_rng(seed)
    truth = daily_sharpe * math.sqrt(TRADING_DAYS_PER_YEAR)
    scale = math.sqrt(1.0 + theta * theta)
    hits, widths, blocks = 0, 0.0, 0.0
    for i in range(n_samples):
        e = rng.standard_normal(n + 1)
        r = 0.01 * (daily_sharpe + (e[1:] + theta * e[:-1]) / scale)
        ci = bootstrap_sharpe_ci(r, cfg=cfg.model_copy(update={"seed": cfg.seed + i}))
        hits += ci["lo"] <= truth <= ci["hi"]
        widths += ci["hi"] - ci["lo"]
        blocks += ci["block"]
    return {
        "coverage": hits / n_samples,
        "mean_width": widths / n_samples,
        "mean_block": blocks / n_samples,
        "n_samples": float(n_samples),
    }


def _scored_hits(decisions: pl.DataFrame, labelled: pl.DataFrame) -> pl.DataFrame:
    return _unique_scored_hits(direction_hits(decisions, labelled))


def _unique_scored_hits(hits: pl.DataFrame) -> pl.DataFrame:
    """``event_id, hit`` of the scored rows of a :func:`direction_hits` table (one per event)."""
    hits = hits.filter(pl.col("scored"))
    if hits["event_id"].is_duplicated().any():
        dup = hits.filter(pl.col("event_id").is_duplicated())["event_id"][0]
        raise ValueError(f"decisions: event {dup!r} has more than one decision; DA intervals need one per event")
    return hits.select("event_id", "hit")


#: Resamples whose drawn events are tallied at once (bounds the work arrays to ``rows x n`` values).
_COUNT_ROWS = 128


def resampled_hit_counts(hits: Sequence[np.ndarray], cfg: BootstrapConfig) -> list[np.ndarray]:
    """For each boolean vector of ``hits`` (all of length ``n``), the number of hits among the
    events of every i.i.d. resample (an ``n_boot`` integer array): the resamples draw ``(n_boot,
    n)`` event indices with ``numpy.random.default_rng(cfg.seed).integers(0, n, ...)``, once for
    all vectors (the draws of :func:`bootstrap_da_ci`; drawn as int32, the same stream as int64).

    A resample's DA is its count over ``n``: the mean of ``n`` zeros and ones is an integer sum,
    exact in any order, so ``count / n`` equals the mean of the resampled floats bit for bit.
    Counted in one pass for up to 8 distinct vectors: each event's hits packed as the bits of a
    byte, a resample's drawn bytes tallied (``bincount``), a vector's count the tally of the bytes
    with its bit set."""
    n = hits[0].size
    if any(h.size != n for h in hits):
        raise ValueError("resampled_hit_counts: every hit vector must have the same length")
    idx = np.random.default_rng(cfg.seed).integers(0, n, size=(cfg.n_boot, n), dtype=np.int32)
    masks: dict[bytes, np.ndarray] = {}
    for h in hits:
        masks.setdefault(np.asarray(h, dtype=bool).tobytes(), np.asarray(h, dtype=bool))
    distinct = list(masks)
    counts = {key: np.empty(cfg.n_boot, dtype=np.int64) for key in distinct}
    byte_values = np.arange(256)
    offsets = (np.arange(_COUNT_ROWS, dtype=np.int32) * 256)[:, None]
    for group in range(0, len(distinct), 8):
        keys = distinct[group : group + 8]
        packed = np.zeros(n, dtype=np.uint8)
        for bit, key in enumerate(keys):
            packed |= masks[key].astype(np.uint8) << bit
        for lo in range(0, cfg.n_boot, _COUNT_ROWS):
            drawn = packed[idx[lo : lo + _COUNT_ROWS]]
            rows = drawn.shape[0]
            tally = np.bincount((drawn + offsets[:rows]).ravel(), minlength=rows * 256).reshape(rows, 256)
            for bit, key in enumerate(keys):
                counts[key][lo : lo + rows] = tally[:, (byte_values >> bit) & 1 == 1].sum(axis=1)
    return [counts[np.asarray(h, dtype=bool).tobytes()] for h in hits]


def _hit_vector(hit: pl.Series) -> np.ndarray:
    return hit.cast(pl.Float64).to_numpy()


def _da_interval(hit: np.ndarray, counts: np.ndarray, cfg: BootstrapConfig) -> dict[str, float]:
    """Percentile interval of DA from the hit vector (floats 0/1) and its resampled hit counts."""
    return _interval(float(hit.mean()), counts / hit.size, cfg, None)


def _da_diff_interval(
    paired: pl.DataFrame, counts: np.ndarray, baseline_counts: np.ndarray, cfg: BootstrapConfig
) -> dict[str, float]:
    """Percentile interval of the paired DA difference: ``paired`` (``hit, hit_baseline``, sorted by
    ``event_id``) and the resampled hit counts of both columns (same draws); a resample's difference
    is ``(count - baseline count) / n``, the mean of its ``hit - hit_baseline`` exactly."""
    diff = _hit_vector(paired["hit"]) - _hit_vector(paired["hit_baseline"])
    out = _interval(float(diff.mean()), (counts - baseline_counts) / diff.size, cfg, None)
    out["n_paired"] = float(paired.height)
    return out


def _paired_hits(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    paired = a.join(b, on="event_id", how="inner", suffix="_baseline").sort("event_id")
    if paired.height == 0:
        raise ValueError("bootstrap_da_diff_ci: the two decision tables share no scored event")
    return paired


def bootstrap_da_ci(
    decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Percentile interval of DA, resampling scored events i.i.d. (one decision per event)."""
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    hit = _hit_vector(_scored_hits(decisions, labelled)["hit"])
    if hit.size == 0:
        raise ValueError("bootstrap_da_ci: no scored events")
    return _da_interval(hit, resampled_hit_counts([hit == 1.0], cfg)[0], cfg)


def bootstrap_da_diff_ci(
    decisions: pl.DataFrame,
    baseline_decisions: pl.DataFrame,
    labelled: pl.DataFrame,
    n_boot: int | None = None,
    seed: int | None = None,
    *,
    cfg: BootstrapConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Percentile interval of ``DA(decisions) - DA(baseline)``, paired on the events both scored.

    Events are matched by ``event_id`` (sorted, so the result does not depend on row order); each
    resample draws one set of events and scores both policies on it.
    """
    cfg = resolve_bootstrap_config(cfg, n_boot, seed, overrides)
    paired = _paired_hits(_scored_hits(decisions, labelled), _scored_hits(baseline_decisions, labelled))
    counts = resampled_hit_counts([paired["hit"].to_numpy(), paired["hit_baseline"].to_numpy()], cfg)
    return _da_diff_interval(paired, *counts, cfg)


def sharpe_interval_table(
    returns_by_policy: Mapping[str, Sequence[float] | pl.Series | np.ndarray],
    baseline: str,
    cfg: BootstrapConfig | None = None,
) -> pl.DataFrame:
    """Sharpe interval of every policy and of its paired difference against ``baseline`` (all
    return series must cover the same days). One row per policy, sorted by name: ``policy, sharpe,
    sharpe_ci_low, sharpe_ci_high, sharpe_diff, sharpe_diff_ci_low, sharpe_diff_ci_high`` (the
    baseline's own difference is 0)."""
    cfg = cfg or BootstrapConfig()
    if baseline not in returns_by_policy:
        raise ValueError(f"baseline {baseline!r} is not one of the policies {sorted(returns_by_policy)}")
    rows = []
    for name in sorted(returns_by_policy):
        one = bootstrap_sharpe_ci(returns_by_policy[name], cfg=cfg)
        diff = bootstrap_sharpe_diff_ci(returns_by_policy[name], returns_by_policy[baseline], cfg=cfg)
        rows.append(
            {
                "policy": name,
                "sharpe": one["estimate"],
                "sharpe_ci_low": one["lo"],
                "sharpe_ci_high": one["hi"],
                "sharpe_diff": diff["estimate"],
                "sharpe_diff_ci_low": diff["lo"],
                "sharpe_diff_ci_high": diff["hi"],
            }
        )
    return pl.DataFrame(rows)


def da_interval_table(
    decisions_by_policy: Mapping[str, pl.DataFrame],
    labelled: pl.DataFrame,
    baseline: str,
    cfg: BootstrapConfig | None = None,
) -> pl.DataFrame:
    """DA interval of every policy and of its paired difference against ``baseline`` (on the events
    both scored). One row per policy, sorted by name: ``policy, da, da_ci_low, da_ci_high, da_diff,
    da_diff_ci_low, da_diff_ci_high, n_paired``: :func:`da_hits_interval_table` of each policy's
    :func:`direction_hits`."""
    if baseline not in decisions_by_policy:
        raise ValueError(f"baseline {baseline!r} is not one of the policies {sorted(decisions_by_policy)}")
    hits = {name: direction_hits(d, labelled) for name, d in sorted(decisions_by_policy.items())}
    return da_hits_interval_table(hits, baseline, cfg)


def da_hits_interval_table(
    hits_by_policy: Mapping[str, pl.DataFrame], baseline: str, cfg: BootstrapConfig | None = None
) -> pl.DataFrame:
    """:func:`da_interval_table` from each policy's :func:`direction_hits` table: per policy the
    intervals of :func:`bootstrap_da_ci` and :func:`bootstrap_da_diff_ci`, value for value, their
    resampled hit counts drawn once for every vector of the same length
    (:func:`resampled_hit_counts`; the draws depend only on the seed and that length)."""
    cfg = cfg or BootstrapConfig()
    if baseline not in hits_by_policy:
        raise ValueError(f"baseline {baseline!r} is not one of the policies {sorted(hits_by_policy)}")
    names = sorted(hits_by_policy)
    scored: dict[str, pl.DataFrame] = {}
    one, paired = {}, {}
    for name in names:  # the checks in the order the per-policy intervals make them
        for key in (name, baseline):
            if key not in scored:
                scored[key] = _unique_scored_hits(hits_by_policy[key])
            if key == name and scored[name].height == 0:
                raise ValueError("bootstrap_da_ci: no scored events")
        one[name] = _hit_vector(scored[name]["hit"])
        paired[name] = _paired_hits(scored[name], scored[baseline])
    vectors = [one[name] == 1.0 for name in names]
    vectors += [v for name in names for v in (paired[name]["hit"].to_numpy(), paired[name]["hit_baseline"].to_numpy())]
    counts = {}
    for n in sorted({v.size for v in vectors}):
        at = [i for i, v in enumerate(vectors) if v.size == n]
        counts.update(zip(at, resampled_hit_counts([vectors[i] for i in at], cfg), strict=True))
    rows = []
    for i, name in enumerate(names):
        da = _da_interval(one[name], counts[i], cfg)
        diff = _da_diff_interval(paired[name], counts[len(names) + 2 * i], counts[len(names) + 2 * i + 1], cfg)
        rows.append(
            {
                "policy": name,
                "da": da["estimate"],
                "da_ci_low": da["lo"],
                "da_ci_high": da["hi"],
                "da_diff": diff["estimate"],
                "da_diff_ci_low": diff["lo"],
                "da_diff_ci_high": diff["hi"],
                "n_paired": int(diff["n_paired"]),
            }
        )
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
