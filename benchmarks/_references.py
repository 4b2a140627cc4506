"""Bare NumPy references for the targets of ``bench_targets.py``: the market-model CAR by prefix sums
and the HGRM formula, each split into an untimed setup (arrays out of the frames) and a timed core.

Each core is the textbook formula with no validation, no output frame and no configuration beyond
the constants it needs; the engine's figure is divided by the core's to give the ratio the targets
bound. Each result is compared with the engine's (the maximum absolute difference is printed), so a
reference that drifted from the engine's formula shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from janus_core.data.dataset import Dataset
from janus_core.decide.reward import HgrmConfig
from janus_core.study.car import CarConfig


@dataclass(frozen=True)
class CarArrays:
    """Dense (stock x trading day) returns on one shared calendar and the events located on it."""

    r: np.ndarray  # close-to-close stock return (NaN on the first day)
    m: np.ndarray  # the stock's benchmark return over the same two dates
    ok: np.ndarray  # usable for estimation: finite r and m, the day and the day before tradable
    j: np.ndarray  # event's stock row
    k0: np.ndarray  # event day's column
    car_mm: np.ndarray  # the engine's market-model CAR of the event (for the check)


def car_arrays(ds: Dataset, car_table: pl.DataFrame) -> CarArrays:
    """Setup (untimed): pivot prices and benchmarks onto the dataset's calendar, and locate the
    events the engine included (``car_table``: ``compute_car`` output) by symbol and event day.
    Needs every stock on every day (the synthetic data are); raises otherwise."""
    prices = ds.prices.sort("symbol", "date")
    symbols = prices["symbol"].unique(maintain_order=True)
    days = prices["date"].unique().sort()
    n_sym, n_day = len(symbols), len(days)
    if prices.height != n_sym * n_day:
        raise ValueError("the NumPy reference needs a rectangular panel (every stock on every trading day)")
    close = prices["close"].cast(pl.Float64).to_numpy().reshape(n_sym, n_day)
    tradable = prices["tradable"].fill_null(True).to_numpy().reshape(n_sym, n_day)
    r = np.full_like(close, np.nan)
    r[:, 1:] = close[:, 1:] / close[:, :-1] - 1.0
    bench = (
        ds.benchmarks.filter(pl.col("date").is_in(days.implode()))
        .pivot(on="benchmark", index="date", values="close")
        .join(pl.DataFrame({"date": days}), on="date", how="right")
    )
    bret = {}
    for name in bench.columns:
        if name != "date":
            b = bench[name].cast(pl.Float64).to_numpy()
            bret[name] = np.concatenate([[np.nan], b[1:] / b[:-1] - 1.0])
    bench_of = dict(ds.securities.select("symbol", "benchmark").iter_rows())
    m = np.stack([bret[bench_of[s]] for s in symbols.to_list()])
    ok = np.isfinite(r) & np.isfinite(m) & tradable
    ok[:, 1:] &= tradable[:, :-1]
    inc = car_table.filter(pl.col("excluded_reason").is_null())
    j = inc["symbol"].replace_strict(dict(zip(symbols.to_list(), range(n_sym), strict=True))).to_numpy()
    k0 = inc["event_day"].replace_strict(dict(zip(days.to_list(), range(n_day), strict=True))).to_numpy()
    return CarArrays(r, m, ok, j, k0, inc["car_mm"].to_numpy())


def car_core(x: CarArrays, cfg: CarConfig) -> np.ndarray:
    """Timed core: per-event OLS of r on m over the estimation window ``[k0 + a - gap - L, k0 + a -
    gap)`` (usable days only) from five prefix sums (n, sum m, sum r, sum m^2, sum m r), then
    ``CAR = sum over the window [k0 + a, k0 + b] of (r - alpha - beta m)``."""
    a, b = cfg.event_window
    y = np.where(x.ok, x.r, 0.0)
    z = np.where(x.ok, x.m, 0.0)
    sums = [np.cumsum(v, axis=1) for v in (x.ok.astype(np.float64), z, y, z * z, z * y)]
    sums = [np.concatenate([np.zeros((v.shape[0], 1)), v], axis=1) for v in sums]
    hi = x.k0 + a - cfg.gap
    lo = np.maximum(hi - cfg.estimation_window, 0)
    n, sx, sy, sxx, sxy = (s[x.j, hi] - s[x.j, lo] for s in sums)
    beta = (sxy - sx * sy / n) / (sxx - sx * sx / n)
    alpha = (sy - beta * sx) / n
    cols = x.k0[:, None] + np.arange(a, b + 1)[None, :]
    rows = x.j[:, None]
    return (x.r[rows, cols] - alpha[:, None] - beta[:, None] * x.m[rows, cols]).sum(axis=1)


@dataclass(frozen=True)
class HgrmArrays:
    """One entry per decision, joined to its event's labels (every decision maps to an event)."""

    action: np.ndarray  # +1 long, -1 short, 0 hold
    true_dir: np.ndarray  # +1 positive, -1 negative, 0 neutral
    car: np.ndarray
    c_hat: np.ndarray  # NaN: no prediction
    type_match: np.ndarray  # predicted event type == true type
    type_missing: np.ndarray  # no predicted event type
    format_ok: np.ndarray
    verbose: np.ndarray  # completion longer than the limit
    strong: np.ndarray


def hgrm_arrays(decisions: pl.DataFrame, labels: pl.DataFrame, cfg: HgrmConfig) -> HgrmArrays:
    """Setup (untimed): join each decision to its event's labels and code every column as numbers.
    ``decisions`` as ``bench_reward.workload`` makes them: a decision with a completion is a
    malformed model output, read as a hold with no prediction and a failed format."""
    j = decisions.join(labels, on="event_id", how="left", maintain_order="left")
    codes = {"long": 1, "short": -1, "hold": 0, "positive": 1, "negative": -1, "neutral": 0}
    return HgrmArrays(
        action=j["action"].replace_strict(codes, return_dtype=pl.Int8).to_numpy(),
        true_dir=j["direction"].replace_strict(codes, return_dtype=pl.Int8).to_numpy(),
        car=j["car"].to_numpy(),
        c_hat=j["predicted_car"].fill_null(np.nan).to_numpy(),
        type_match=(j["predicted_event_type"] == j["event_type"]).fill_null(False).to_numpy(),
        type_missing=j["predicted_event_type"].is_null().to_numpy(),
        format_ok=j["format_ok"].to_numpy(),
        verbose=(j["completion"].str.len_chars() > cfg.max_completion_chars).fill_null(False).to_numpy(),
        strong=(j["strength"] == "strong").to_numpy(),
    )


def hgrm_core(x: HgrmArrays, cfg: HgrmConfig) -> np.ndarray:
    """Timed core: the HGRM final reward, the module docstring's formula of
    ``janus_core.decide.reward`` (as ``bench_reward.scalar_reference``, over arrays):
    ``clip(w_dir s_dir + w_evt r_evt + w_fmt r_fmt + g (w_pnl m_evt r_pnl + w_mag r_mag) - pen)``."""
    a, td, c, c_hat = x.action, x.true_dir, x.car, x.c_hat
    no_hat = np.isnan(c_hat)
    band = cfg.neutral_band
    p = np.where(a != 0, a, np.where(no_hat, 0, (c_hat > band).astype(np.int8) - (c_hat < -band)))
    s_dir = np.where(p == td, 1.0, np.where(p * td == -1, -cfg.lambda_dir, cfg.s_dir_neutral))
    r_evt = np.where(x.type_match, 1.0, np.where(x.type_missing, -cfg.lambda_miss, -cfg.lambda_evt))
    m_evt = np.where(x.type_match, 1.0, cfg.alpha)
    r_pnl = np.where(a != 0, np.clip(a * c - cfg.kappa, -cfg.rho, cfg.rho), 0.0)
    r_mag = np.where(no_hat, 0.0, np.exp(-((c_hat - c) ** 2) / (2 * cfg.sigma**2)))
    r_fmt = np.where(x.format_ok, cfg.fmt_ok_reward, cfg.fmt_fail_reward) - np.where(
        x.verbose, cfg.verbosity_penalty, 0.0
    )
    traded = a != 0
    pen = np.where(
        traded & ~x.strong, cfg.penalty_trade_weak, np.where(~traded & x.strong, cfg.penalty_skip_strong, 0.0)
    )
    g = s_dir >= 0
    total = (
        cfg.w_dir * s_dir
        + cfg.w_evt * r_evt
        + cfg.w_fmt * r_fmt
        + g * (cfg.w_pnl * m_evt * r_pnl + cfg.w_mag * r_mag)
        - pen
    )
    return np.clip(total, -cfg.final_clip, cfg.final_clip)
