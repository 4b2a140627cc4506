"""Labels y = {c, d, s, e} of Stage I (janus-q-method.md, Stage I.4) and the chronological split.

- c = CAR (``car`` from :func:`janus_core.study.car.compute_car`);
- d = direction: ``positive`` when c > band, ``negative`` when c < -band, else ``neutral``
  (band = ``neutral_band``);
- s = strength: ``strong`` when |c| >= tau, else ``weak``; tau defaults to the round-trip trading
  cost (the paper's framework figure: "> trade cost / < trade cost");
- e = the normalised event type (already on the CAR table).

Excluded events (null ``car``) get null direction and strength.

The chronological split (:func:`chronological_split`) is purged and embargoed at each boundary: an
event whose CAR window reaches into the next split, or whose event day falls in the embargo after
a split's first date, leaves its split with a reason (``split_excluded_reason``), so no kept
event's label uses prices of a later split.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from janus_core.data.dataset import Dataset
from janus_core.hashing import dumps
from janus_core.outdir import check_output_target
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.exclusion import included

SPLITS: tuple[str, ...] = ("historical", "train", "validation", "test")


class LabelConfig(BaseModel):
    """Label thresholds; every default with its reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Round-trip cost of an A-share trade, in basis points: stamp duty 5 bps (sell side, since
    #: 2023-08-28) + broker commission about 2.5 bps per side + exchange/transfer fees about 0.5 bps
    #: + a few bps of spread/slippage = about 15 bps; also the cut the paper's illustration draws
    #: (0.0015).
    round_trip_cost_bps: float = Field(15.0, ge=0.0)
    #: Strength threshold on |CAR|. None ties it to the round-trip cost (tau = cost / 10,000): a
    #: "strong" event is one whose reaction would have paid for the trade.
    tau: float | None = Field(None, ge=0.0)
    #: |CAR| at or below this is "neutral". 5 bps: a third of the round-trip cost and about one
    #: price tick (0.01 CNY) on a typical 10-20 CNY A-share, i.e. indistinguishable from zero.
    neutral_band: float = Field(0.0005, ge=0.0)

    @property
    def effective_tau(self) -> float:
        """tau, or the round-trip cost as a fraction when tau is None."""
        return self.tau if self.tau is not None else self.round_trip_cost_bps / 10_000.0


def label(car_table: pl.DataFrame, cfg: LabelConfig) -> pl.DataFrame:
    """Add ``direction`` (positive|negative|neutral) and ``strength`` (strong|weak) from ``car``
    (module docstring); null for excluded events (null ``car``)."""
    if "car" not in car_table.columns:
        raise ValueError("car table: column 'car' is missing (expected the output of car.compute_car)")
    c = pl.col("car")
    tau = cfg.effective_tau
    return car_table.with_columns(
        direction=pl.when(c.is_null())
        .then(None)
        .when(c > cfg.neutral_band)
        .then(pl.lit("positive"))
        .when(c < -cfg.neutral_band)
        .then(pl.lit("negative"))
        .otherwise(pl.lit("neutral")),
        strength=pl.when(c.is_null()).then(None).when(c.abs() >= tau).then(pl.lit("strong")).otherwise(pl.lit("weak")),
    )


def mean_abs_car_by_type(labelled: pl.DataFrame) -> dict[str, float]:
    """``w_k = (1 / n_k) * sum_i |c_i|`` over the included events (non-null ``car``) of each type k,
    keys sorted by type. Sums are exactly rounded (``math.fsum``), so the weights never depend on row
    order or the thread count."""
    groups = (
        labelled.filter(pl.col("car").is_not_null()).group_by("event_type").agg(pl.col("car").abs()).sort("event_type")
    )
    return {
        k: math.fsum(v) / len(v) for k, v in zip(groups["event_type"].to_list(), groups["car"].to_list(), strict=True)
    }


def historical_mean_abs_car(labelled: pl.DataFrame, start: date, end: date) -> dict[str, float]:
    """Mean |CAR| per event type (:func:`mean_abs_car_by_type`) over the included events published
    (exchange-local date, ``published_date``) in [start, end], inclusive: the paper's backtest weights
    w_k, estimated on one split only so that no later information leaks into them."""
    for col in ("published_date", "event_type", "car"):
        if col not in labelled.columns:
            raise ValueError(f"labelled: column {col!r} is missing (expected the output of car.compute_car)")
    if start > end:
        raise ValueError(f"historical_mean_abs_car: start {start} is after end {end}")
    return mean_abs_car_by_type(labelled.filter(pl.col("published_date").is_between(start, end)))


#: Why an event with a CAR is left out of its chronological split (``split_excluded_reason``).
SPLIT_EXCLUSION_REASONS: tuple[str, ...] = (
    "purged",  # its CAR window ends on or after the first date of the next split
    "embargoed",  # its event day is among the first embargo_days trading days of its split
)


class SplitConfig(BaseModel):
    """The paper's chronological 4:4:1:1 split (historical statistics : train : validation : test),
    purged and embargoed at each boundary (:func:`chronological_split`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Shares of events (by publication date) per split, in ``SPLITS`` order.
    ratios: tuple[float, float, float, float] = (4.0, 4.0, 1.0, 1.0)
    #: "paper": the paper's fixed boundaries; "quantile": date quantiles of this dataset's events;
    #: "auto": the paper's boundaries when each of its four splits holds events of this dataset,
    #: else quantiles.
    mode: Literal["auto", "paper", "quantile"] = "auto"
    #: First publication date of train, validation and test in the paper (janus-q-method.md,
    #: "Dataset facts"): historical 2023-01-01..2023-10-24, train 2023-10-25..2024-08-27,
    #: validation 2024-08-28..2024-11-11, test 2024-11-12..2025-01-25.
    paper_starts: tuple[date, date, date] = (date(2023, 10, 25), date(2024, 8, 28), date(2024, 11, 12))
    #: Purge: an event whose CAR window ends on or after the first date of the next split leaves
    #: its split ("purged"); its label holds prices of the next split's period, which the next
    #: split's model is evaluated on (leakage across the boundary).
    purge: bool = True
    #: Embargo after each boundary, in trading days: events whose event day is among the first
    #: ``embargo_days`` trading days on or after a split's first date leave that split
    #: ("embargoed"). None = the CAR event window's length, so no kept event of the next split has
    #: a window that starts (for a negative window start) or reacts inside the boundary's
    #: overlap; 0 = no embargo.
    embargo_days: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "SplitConfig":
        if any(r < 0 for r in self.ratios) or sum(self.ratios) <= 0:
            raise ValueError(f"SplitConfig.ratios {self.ratios}: must be non-negative with a positive sum")
        if not (self.paper_starts[0] < self.paper_starts[1] < self.paper_starts[2]):
            raise ValueError(f"SplitConfig.paper_starts {self.paper_starts}: must be strictly increasing")
        return self


def split_starts(published_date: pl.Series, cfg: SplitConfig) -> tuple[tuple[date, date, date], str]:
    """First date of train, validation and test, and which rule chose them ("paper" or "quantile").

    Quantile rule: with the events sorted by publication date and N of them, the split starts are
    the dates of the events at positions floor(N * cumulative share) for the cumulative shares of
    (historical), (historical + train) and (historical + train + validation); all events of one
    date fall in the same split (the later one), so a boundary never cuts a day."""
    dates = published_date.drop_nulls().sort()
    if dates.is_empty():
        raise ValueError("chronological_split: no event has a publication date")
    if cfg.mode != "quantile":
        starts = cfg.paper_starts
        bounds = (dates[0], *starts, dates[-1])
        populated = all(
            ((dates >= lo) & (dates < hi)).any() if i < 3 else (dates >= lo).any()
            for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))
        )
        if cfg.mode == "paper" or populated:
            return starts, "paper"
    total = sum(cfg.ratios)
    cum = [sum(cfg.ratios[: i + 1]) / total for i in range(3)]
    n = len(dates)
    picked = tuple(dates[min(int(n * c), n - 1)] for c in cum)
    return (picked[0], picked[1], picked[2]), "quantile"


def chronological_split(
    labelled: pl.DataFrame,
    cfg: SplitConfig | None = None,
    calendar: pl.Series | None = None,
    window_days: int | None = None,
) -> pl.DataFrame:
    """Add ``split_period`` in {historical, train, validation, test} by exchange-local publication
    date (``published_date``): historical < s1 <= train < s2 <= validation < s3 <= test, with
    (s1, s2, s3) from :func:`split_starts` (outer splits open-ended); ``split``, the same period
    or null when the event is purged or embargoed; and ``split_excluded_reason``
    (:data:`SPLIT_EXCLUSION_REASONS`, null when kept).

    Purge and embargo apply to the events with a CAR (``excluded_reason`` null, when the column
    exists); the others keep ``split = split_period``, since they are in no split's data anyway.

    - Purged (``cfg.purge``): the event's ``window_end_day`` (``car.compute_car``) is on or after
      the next split's first date s_k, i.e. its label uses a price of the next period.
    - Embargoed: the event's day (``event_day``, else ``published_date``) is on or before e_k, the
      ``embargo``-th trading day of ``calendar`` on or after s_k (the first ``embargo`` trading days
      of the split). ``embargo = cfg.embargo_days``, or the event window's length when None:
      ``window_days``, else the length of the ``ar`` paths. ``calendar`` (the dataset's trading
      dates; ``car.car_study`` passes them) defaults to the distinct ``event_day`` and
      ``window_end_day`` values of the table, which can only miss trading days, so the embargo is
      then at least ``embargo`` trading days long.

    Raises ``ValueError`` naming the missing column when ``window_end_day`` (purge) or the window
    length (embargo) is needed and absent."""
    cfg = cfg or SplitConfig()
    if "published_date" not in labelled.columns:
        raise ValueError("labelled: column 'published_date' is missing (expected the output of car.compute_car)")
    (s1, s2, s3), _ = split_starts(labelled["published_date"], cfg)
    d = pl.col("published_date")
    period = (
        pl.when(d < s1)
        .then(pl.lit("historical"))
        .when(d < s2)
        .then(pl.lit("train"))
        .when(d < s3)
        .then(pl.lit("validation"))
        .otherwise(pl.lit("test"))
    )
    next_start = pl.when(d < s1).then(pl.lit(s1)).when(d < s2).then(pl.lit(s2)).when(d < s3).then(pl.lit(s3))
    out = labelled.with_columns(period.alias("split_period"))
    with_car = pl.col("excluded_reason").is_null() if "excluded_reason" in labelled.columns else pl.lit(True)
    purged = _purged(labelled, cfg, next_start)
    embargoed = _embargoed(labelled, cfg, calendar, window_days, (s1, s2, s3))
    reason = (
        pl.when(with_car & purged)
        .then(pl.lit("purged"))
        .when(with_car & embargoed)
        .then(pl.lit("embargoed"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    out = out.with_columns(reason.alias("split_excluded_reason")).with_columns(
        split=pl.when(pl.col("split_excluded_reason").is_null()).then(pl.col("split_period"))
    )
    return out.select(
        pl.exclude("split", "split_period", "split_excluded_reason"), "split", "split_period", "split_excluded_reason"
    )


def _purged(labelled: pl.DataFrame, cfg: SplitConfig, next_start: pl.Expr) -> pl.Expr:
    """True where the event's CAR window ends on or after the next split's first date (with
    ``cfg.purge``; :func:`chronological_split`)."""
    if not cfg.purge:
        return pl.lit(False)
    if "window_end_day" not in labelled.columns:
        raise ValueError(
            "labelled: column 'window_end_day' is missing; purging needs each event's CAR window end "
            "(car.compute_car), or set SplitConfig(purge=False)"
        )
    return (pl.col("window_end_day") >= next_start).fill_null(False)


def _embargoed(
    labelled: pl.DataFrame,
    cfg: SplitConfig,
    calendar: pl.Series | None,
    window_days: int | None,
    starts: tuple[date, date, date],
) -> pl.Expr:
    """True where the event's day is within the first ``embargo`` trading days of its split
    (train, validation or test; :func:`chronological_split`)."""
    embargo = cfg.embargo_days
    if embargo is None:
        if window_days is None:
            if "ar" not in labelled.columns:
                raise ValueError(
                    "labelled: column 'ar' is missing; the default embargo is the event window's length "
                    "(pass window_days or set SplitConfig.embargo_days)"
                )
            window_days = int(labelled["ar"].list.len().max() or 0)
        embargo = window_days
    if embargo <= 0:
        return pl.lit(False)
    if calendar is None:
        calendar = pl.concat(
            [labelled[c].drop_nulls() for c in ("event_day", "window_end_day") if c in labelled.columns]
            or [labelled["published_date"].drop_nulls()]
        )
    days = calendar.cast(pl.Date).unique().sort()
    ends = []
    for start in starts:
        after = days.filter(days >= start)
        ends.append(after[min(embargo, len(after)) - 1] if len(after) else start)
    d = pl.col("published_date")
    day = pl.coalesce(pl.col("event_day"), d) if "event_day" in labelled.columns else d
    s1, s2, s3 = starts
    return (
        pl.when(d < s1)
        .then(False)
        .when(d < s2)
        .then(day <= ends[0])
        .when(d < s3)
        .then(day <= ends[1])
        .otherwise(day <= ends[2])
    )


def tau_sweep(car_table: pl.DataFrame, taus: Sequence[float], round_trip_cost_bps: float) -> pl.DataFrame:
    """How the strength threshold trades coverage against cost: for each tau, over the included
    events, ``strong_count``, ``strong_share`` (= strong / included), ``mean_abs_car_strong``
    (mean |CAR| of the strong events) and ``mean_net_strong`` = mean(|CAR| - cost) of the strong
    events, the average gross edge left after the round-trip cost if one traded exactly the strong
    events in the direction of their CAR (an upper bound: it uses the realised CAR)."""
    if any(t < 0 for t in taus):
        raise ValueError(f"tau_sweep: taus must be non-negative, got {taus}")
    cost = round_trip_cost_bps / 10_000.0
    abs_car = included(car_table)["car"].abs()
    n = len(abs_car)
    rows = []
    for tau in sorted(taus):
        strong = abs_car.filter(abs_car >= tau)
        rows.append(
            {
                "tau": float(tau),
                "strong_count": len(strong),
                "strong_share": len(strong) / n if n else None,
                "mean_abs_car_strong": strong.mean() if len(strong) else None,
                "mean_net_strong": strong.mean() - cost if len(strong) else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={"tau": pl.Float64, "strong_count": pl.Int64, "strong_share": pl.Float64,
                "mean_abs_car_strong": pl.Float64, "mean_net_strong": pl.Float64},
    )  # fmt: skip


def group_means(frame: pl.DataFrame, key: str, values: dict[str, pl.Expr]) -> pl.DataFrame:
    """Per value of ``key`` (sorted ascending): the mean of each expression in ``values`` over its
    non-null entries (null when there are none). Sums run with numpy over the rows in their input
    order, so the last bit never depends on the thread count (polars' parallel group-by sums do)."""
    f = frame.select(pl.col(key), *[e.alias(n) for n, e in values.items()]).with_row_index("_row").sort(key, "_row")
    if f.height == 0:
        return pl.DataFrame({key: f[key], **{n: pl.Series(n, [], dtype=pl.Float64) for n in values}})
    keys = f[key]
    starts = (keys != keys.shift(1)).fill_null(True).arg_true().to_numpy()
    out: dict[str, pl.Series] = {key: keys.gather(starts)}
    for name in values:
        col = f[name].cast(pl.Float64)
        sums = np.add.reduceat(col.fill_null(0.0).to_numpy(), starts)
        counts = np.add.reduceat(col.is_not_null().to_numpy().astype(np.int64), starts)
        means = np.divide(sums, counts, out=np.full(len(starts), np.nan), where=counts > 0)
        out[name] = pl.Series(name, means, dtype=pl.Float64).fill_nan(None)
    return pl.DataFrame(out)


#: Decimals of the headline numbers in the CAR summary (enough to see a change, stable across BLAS).
SUMMARY_DECIMALS = 6


def car_study(
    ds: Dataset, cfg: CarConfig, label_cfg: LabelConfig | None = None, split_cfg: SplitConfig | None = None
) -> pl.DataFrame:
    """The labelled CAR table: :func:`compute_car`, then ``labels.label`` and
    ``labels.chronological_split`` (columns ``direction``, ``strength``, ``split``, ``split_period``,
    ``split_excluded_reason``; purged at ``window_end_day``, embargoed on the dataset's trading
    calendar, by default for the event window's length)."""
    return chronological_split(
        label(compute_car(ds, cfg), label_cfg or LabelConfig()), split_cfg, ds.prices["date"].unique(), cfg.window_days
    )


def _nested_counts(table: pl.DataFrame, key: str, sub: str) -> dict[str, dict[str, int]]:
    """Row counts per non-null ``key``, then per ``sub`` (both sorted)."""
    out: dict[str, dict[str, int]] = {}
    for k, sub_value, n in table.filter(pl.col(key).is_not_null()).group_by(key, sub).len().sort(key, sub).rows():
        out.setdefault(str(k), {})[str(sub_value)] = int(n)
    return out


def car_summary(table: pl.DataFrame, cfg: CarConfig, label_cfg: LabelConfig) -> dict[str, object]:
    """Small deterministic digest of a labelled CAR table: counts by exclusion reason, direction,
    strength and split, the purged and embargoed events per reason and chronological period
    (``split_excluded``: the purge at a boundary counts in the period before it, the embargo in the
    period after it), and rounded headline numbers (mean CAR and mean |CAR| per event type)."""

    def counts(col: str) -> dict[str, int]:
        rows = table.group_by(pl.col(col).fill_null("null")).len().sort(col).rows()
        return {str(k): int(v) for k, v in rows}

    inc = included(table)
    by_type = (
        inc.group_by("event_type")
        .agg(n=pl.len(), mean_car=pl.col("car").mean(), mean_abs_car=pl.col("car").abs().mean())
        .sort("event_type")
    )
    rnd = lambda x: None if x is None else round(float(x), SUMMARY_DECIMALS)  # noqa: E731
    return {
        "config": {
            "car": cfg.model_dump(mode="json"),
            "label": label_cfg.model_dump(mode="json"),
            "tau": label_cfg.effective_tau,
        },
        "event_count": table.height,
        "included_count": inc.height,
        "excluded_reason": counts("excluded_reason"),
        "direction": counts("direction"),
        "strength": counts("strength"),
        "split": counts("split") if "split" in table.columns else {},
        "split_excluded": _nested_counts(table, "split_excluded_reason", "split_period")
        if "split_excluded_reason" in table.columns
        else {},
        "neutralized": bool(table["neutralized"].any()) if table.height else False,
        "mean_car": rnd(inc["car"].mean()),
        "mean_abs_car": rnd(inc["car"].abs().mean()),
        "by_type": {
            r["event_type"]: {"n": r["n"], "mean_car": rnd(r["mean_car"]), "mean_abs_car": rnd(r["mean_abs_car"])}
            for r in by_type.iter_rows(named=True)
        },
    }


def is_car_output(path: Path) -> bool:
    """An earlier ``janus car`` output folder: its ``car-summary.json`` is a JSON object with the
    summary's ``config``, ``event_count`` and ``included_count``."""
    try:
        obj = json.loads((path / "car-summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and {"config", "event_count", "included_count"} <= set(obj)


def write_car_artifacts(
    table: pl.DataFrame, summary: dict[str, object], out_dir: Path | str, significance: pl.DataFrame | None = None
) -> tuple[Path, ...]:
    """Write ``out_dir/car.parquet`` (the table), ``out_dir/car-summary.json`` (canonical JSON) and,
    when given, ``out_dir/significance.parquet`` (e.g. ``significance.significance_long``); same inputs
    give the same bytes. Returns the paths written, in that order.

    ``out_dir`` must be absent, empty or an earlier car output (:func:`is_car_output`), else
    :class:`janus_core.outdir.OutputRefused`; each file replaces its predecessor atomically."""
    out = Path(out_dir)
    check_output_target(out, "car", is_car_output)
    out.mkdir(parents=True, exist_ok=True)
    table_path, summary_path = out / "car.parquet", out / "car-summary.json"
    writers = [
        (table_path, lambda p: table.write_parquet(p, statistics=False)),
        (summary_path, lambda p: p.write_bytes(dumps(summary))),
    ]
    if significance is not None:
        writers.append((out / "significance.parquet", lambda p: significance.write_parquet(p, statistics=False)))
    for path, write in writers:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return tuple(path for path, _ in writers)
