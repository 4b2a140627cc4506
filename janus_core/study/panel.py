"""The symbol x date panel the CAR engine works on (returns, benchmark returns, tradability, as
dense arrays) and the market-model fit by prefix sums: per-event OLS moments over the estimation window
without a per-event regression."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import polars as pl

from janus_core.data.dataset import Dataset
from janus_core.data.events import CALENDAR_DAY_SPAN, first_session_index

#: The normal-return models of the event study (``CarConfig.model``).
Model = Literal["market", "market_adjusted", "constant_mean"]
T = TypeVar("T")


@dataclass(frozen=True)
class Panel:
    """Prices and benchmark returns as symbol x own-trading-day matrices (padded with NaN).

    Row j is the j-th symbol (in the sorted order of ``prices``); column k its k-th trading day.
    ``r`` is the stock's close-to-close return, ``m`` the return of its benchmark over the same two
    dates. ``start`` and ``length`` place the price rows of each symbol (``first_sessions`` locates
    events)."""

    symbols: pl.Series
    start: np.ndarray  # first price row of each symbol
    length: np.ndarray  # rows per symbol
    day_index: np.ndarray  # (n_sym, width) index into ``days``; -1 padding
    days: np.ndarray  # sorted distinct trading days (days since epoch)
    close: pl.Series  # the close of every price row (Float64; the prices' own column, no copy)
    tradable: np.ndarray  # bool
    r: np.ndarray
    m: np.ndarray
    has_benchmark: np.ndarray  # bool per symbol
    industry: np.ndarray  # int group code per symbol

    @property
    def rectangular(self) -> bool:
        """Every symbol trades on every day of ``days`` (columns are dates)."""
        return bool(self.length.size and (self.length == len(self.days)).all())

    @classmethod
    def build(cls, ds: Dataset) -> "Panel":
        """Pack ``ds.prices`` (canonical: sorted by symbol, date) and the benchmarks into matrices.

        Raises ``ValueError`` when prices are empty or not sorted by (symbol, date) without
        duplicates, or a symbol appears twice in ``securities``."""
        if ds.prices.height == 0:
            raise ValueError("prices: the table is empty, no event study is possible")
        prices = ds.prices
        code = prices["symbol"].rle_id().to_numpy()  # run id of the symbol (prices are sorted)
        day = prices["date"].to_physical().to_numpy()  # days since 1970-01-01 (int32)
        length = np.bincount(code)
        start = np.concatenate([[0], np.cumsum(length)[:-1]])
        symbols = prices["symbol"].gather(start)
        bad = np.flatnonzero((code[1:] == code[:-1]) & (day[1:] <= day[:-1]))
        if bad.size or not symbols.is_sorted() or symbols.n_unique() != len(symbols):
            row = int(bad[0]) + 1 if bad.size else 0
            raise ValueError(
                f"prices row {row}: columns symbol, date must be sorted by (symbol, date) without duplicates"
            )
        bench = ds.benchmarks.select("benchmark", day=pl.col("date").cast(pl.Int64), close=pl.col("close"))
        days, lut, first = _calendar(day, bench["day"].to_numpy())
        pad = _padder(code, start, length)
        close_col = prices["close"].cast(pl.Float64)
        close = pad(close_col.to_numpy(), np.nan, np.float64)
        tradable_col = prices["tradable"]
        tradable = pad(
            (tradable_col.fill_null(True) if tradable_col.null_count() else tradable_col).to_numpy(), False, bool
        )
        day_index = pad(lut[day - first], -1, np.int32)
        r = np.full_like(close, np.nan)
        np.divide(close[:, 1:], close[:, :-1], out=r[:, 1:])
        r[:, 1:] -= 1.0
        per_sym = _securities(ds, symbols)
        m, has_benchmark = _benchmark_returns(bench, per_sym, days, lut, first, day_index, length)
        if "industry" in per_sym.columns:
            industry = per_sym["industry"].fill_null("\x00none").rank("dense").cast(pl.Int64).to_numpy() - 1
        else:
            industry = np.zeros(len(length), dtype=np.int64)
        return cls(symbols, start, length, day_index, days, close_col, tradable, r, m, has_benchmark, industry)

    def calendar_keys(self) -> np.ndarray:
        """``code * 2**20 + day`` of every price row, in price-row order (sorted): the calendar of
        :func:`janus_core.data.events.first_session_index` (built when asked, never kept)."""
        code = np.repeat(np.arange(len(self.length), dtype=np.int64), self.length)
        return code * CALENDAR_DAY_SPAN + self.days[self.day_index[code, np.arange(code.size) - self.start[code]]]

    def first_sessions(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Price row of symbol ``code``'s first session on or after ``day`` (days since 1970-01-01),
        -1 when there is none or the code or day is negative: ``first_session_index`` on
        :meth:`calendar_keys`, or, when every symbol trades on every day, one search of the dates."""
        if not self.rectangular:
            return first_session_index(self.calendar_keys(), code, day)
        k = np.searchsorted(self.days, day, side="left")
        return np.where((code >= 0) & (day >= 0) & (k < len(self.days)), code * len(self.days) + k, -1)

    def close_at(self, j: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The close of row j's k-th trading day (float64, NaN for a null close); ``k`` is clipped to
        the row's days, so a cell past them gives some close of the row: mask it."""
        row = self.start[j] + np.clip(k, 0, np.maximum(self.length[j] - 1, 0))
        return self.close.gather(row).to_numpy()

    def estimation_ok(self, model: Model, rows: slice = slice(None)) -> np.ndarray:
        """Days usable for estimation (of the panel rows ``rows``): finite returns (benchmark too
        unless constant_mean) and both the day and the previous row tradable."""
        tradable = self.tradable[rows]
        ok = np.isfinite(self.r[rows]) & tradable
        ok[:, 1:] &= tradable[:, :-1]
        if model != "constant_mean":
            ok &= np.isfinite(self.m[rows])
        return ok


def _calendar(day: np.ndarray, bdays: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The sorted distinct trading days of ``prices`` and a lookup table from (day - first) to the
    day's index in them (-1 for other days), spanning the benchmark dates too."""
    first = int(min(day.min(), bdays.min() if len(bdays) else day.min()))
    last = int(max(day.max(), bdays.max() if len(bdays) else day.max()))
    lut = np.full(last - first + 1, -1, dtype=np.int32)
    lut[day - first] = 0
    days = np.flatnonzero(lut == 0) + first
    lut[:] = -1
    lut[days - first] = np.arange(len(days), dtype=np.int32)
    return days, lut, first


def _padder(code: np.ndarray, start: np.ndarray, length: np.ndarray):
    """A function packing a per-price-row column into the (symbol, own trading day) matrix, padded
    with ``fill`` (a reshape when every symbol has the same number of rows)."""
    n_sym, width = len(length), int(length.max())
    if (length == width).all():

        def pad(values: np.ndarray, fill: object, dtype: type) -> np.ndarray:
            return values.astype(dtype, copy=False).reshape(n_sym, width)

        return pad
    pos = np.arange(len(code)) - start[code]

    def pad_ragged(values: np.ndarray, fill: object, dtype: type) -> np.ndarray:
        out = np.full((n_sym, width), fill, dtype=dtype)
        out[code, pos] = values
        return out

    return pad_ragged


def _securities(ds: Dataset, symbols: pl.Series) -> pl.DataFrame:
    """Benchmark (and industry) of each panel symbol, in panel order; ValueError on a repeated symbol."""
    sec_cols = ["symbol", "benchmark"] + (["industry"] if "industry" in ds.securities.columns else [])
    sec = ds.securities.select(sec_cols)
    dup = sec["symbol"].is_duplicated()
    if dup.any():
        row = int(dup.arg_true()[0])
        raise ValueError(f"securities row {row}: column symbol must be unique ({sec['symbol'][row]!r} repeats)")
    return pl.DataFrame({"symbol": symbols}).join(sec, on="symbol", how="left", maintain_order="left")


def _benchmark_returns(
    bench: pl.DataFrame,
    per_sym: pl.DataFrame,
    days: np.ndarray,
    lut: np.ndarray,
    first: int,
    day_index: np.ndarray,
    length: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each symbol's benchmark return over the same two dates as its own return (the panel's ``m``)
    and whether it has a benchmark with data."""
    bdays = bench["day"].to_numpy()
    bnames = bench["benchmark"].unique().sort()
    bcode_of = {name: i for i, name in enumerate(bnames.to_list())}
    bmat = np.full((len(bnames) + 1, len(days)), np.nan)  # last row: "no benchmark"
    bidx = lut[bdays - first]
    on_cal = bidx >= 0
    bcodes = bench["benchmark"].replace_strict(bcode_of, return_dtype=pl.Int64).to_numpy()
    bmat[bcodes[on_cal], bidx[on_cal]] = bench["close"].to_numpy()[on_cal]
    sym_bench = per_sym["benchmark"].replace_strict(bcode_of, default=len(bnames), return_dtype=pl.Int64).to_numpy()
    if (length == len(days)).all():  # every stock on every day: benchmark returns by row
        bret = np.full_like(bmat, np.nan)
        np.divide(bmat[:, 1:], bmat[:, :-1], out=bret[:, 1:])
        bret[:, 1:] -= 1.0
        m = bret[sym_bench]
    else:
        bclose = bmat[sym_bench[:, None], np.maximum(day_index, 0)]
        bclose[day_index < 0] = np.nan
        m = np.full(day_index.shape, np.nan)
        np.divide(bclose[:, 1:], bclose[:, :-1], out=m[:, 1:])
        m[:, 1:] -= 1.0
    return m, sym_bench < len(bnames)


#: Dataset snapshots whose panel (and what the risk model derives from it) are kept in memory, least
#: recently used dropped first; and the derived entries kept per snapshot. A panel at paper scale is
#: ~60 MB, the risk model's factor returns and per-cell neutralised fits ~30 MB; prefix sums are never
#: kept (``fit_events`` builds them block by block of rows); :func:`release_snapshot` drops one
#: snapshot.
SNAPSHOTS_KEPT = 2
DERIVED_KEPT = 4


class SnapshotState:
    """The panel of one dataset snapshot and what is derived from it alone (the style exposures on
    the panel, the risk model's cross-sections), computed once and reused by every study on the
    snapshot."""

    def __init__(self, tables: tuple[object, ...], panel: Panel):
        self.tables = tables  # held so the identities in the key stay unique while cached
        self.panel = panel
        self._derived: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def derived(self, key: tuple, compute: Callable[[], T]) -> T:
        """The value under ``key``, computed by ``compute`` the first time (LRU, :data:`DERIVED_KEPT`)."""
        with self._lock:
            if key in self._derived:
                self._derived.move_to_end(key)
                return self._derived[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._derived[key] = value
            while len(self._derived) > DERIVED_KEPT:
                self._derived.popitem(last=False)
        return value


_SNAPSHOTS: OrderedDict[tuple, SnapshotState] = OrderedDict()
_SNAPSHOTS_LOCK = threading.Lock()


def _snapshot_tables(ds: Dataset) -> tuple[object, ...]:
    """The tables a panel is built from (their identities are part of the snapshot key)."""
    return (ds.prices, ds.benchmarks, ds.securities, ds.exposures)


def _snapshot_key(ds: Dataset) -> tuple:
    """The snapshot hash with the identities of :func:`_snapshot_tables` (:func:`snapshot_state`)."""
    return (ds.meta.snapshot_hash, *(id(t) for t in _snapshot_tables(ds)))


def snapshot_state(ds: Dataset) -> SnapshotState:
    """The :class:`SnapshotState` of ``ds``, kept in memory (:data:`SNAPSHOTS_KEPT` snapshots).

    Keyed by the snapshot hash together with the identity of the very table objects the panel is
    built from (prices, benchmarks, securities, exposures; held by the entry, polars frames are
    immutable): the same loaded snapshot hits, while a dataset whose tables were replaced (same
    manifest metadata, other frames) never reads another table's panel. Every cached value is what
    the computation would produce, so results do not depend on the cache."""
    tables = _snapshot_tables(ds)
    key = _snapshot_key(ds)
    with _SNAPSHOTS_LOCK:
        state = _SNAPSHOTS.get(key)
        if state is not None:
            _SNAPSHOTS.move_to_end(key)
            return state
    state = SnapshotState(tables, Panel.build(ds))
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS[key] = state
        while len(_SNAPSHOTS) > SNAPSHOTS_KEPT:
            _SNAPSHOTS.popitem(last=False)
    return state


def release_snapshot(ds: Dataset) -> None:
    """Drop the kept panel and prefix sums of ``ds`` (its :func:`snapshot_state` entry), when a
    caller has run every study it will run on this loaded dataset (the export: 300-450 MB at paper
    scale freed before the evidence is rendered). A later study on ``ds`` rebuilds them."""
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS.pop(_snapshot_key(ds), None)


def clear_snapshot_cache() -> None:
    """Drop every kept panel and prefix sum (benchmarks measuring a cold start; freeing memory)."""
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS.clear()


@dataclass(frozen=True)
class Fit:
    """Normal-return model estimates for a batch of windows (arrays of equal length)."""

    n: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    mean_m: np.ndarray
    cxx: np.ndarray


def _columns(mat: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``mat[:, idx]``: a view when ``idx`` is a run of consecutive columns (the usual case), else
    a gather."""
    if len(idx) and idx[-1] - idx[0] == len(idx) - 1:
        return mat[:, idx[0] : idx[-1] + 1]
    return np.take(mat, idx, axis=1)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library is not glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_heap() -> None:
    """Give the C heap's free pages back to the operating system (glibc ``malloc_trim(0)``; nothing
    elsewhere). NumPy arrays below glibc's mmap threshold (which rises to the largest array freed so
    far, ~22 MB for a paper-scale panel column) come from the heap, and the pages of freed ones stay
    resident: after a study the per-event temporaries (15 MB each at 624,000 events) would keep the
    process at its peak, and polars, which allocates from its own allocator, cannot reuse them.
    Touches no value."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


#: Panel rows (symbols) per block when prefix sums are built: every fit reads them block by block,
#: so no panel-wide prefix sum is ever held (a block's six prefix sums at 531 days are ~6.5 MB).
ROW_BLOCK = 256


def row_blocks(n_rows: int) -> list[slice]:
    """The panel's rows in blocks of :data:`ROW_BLOCK` (consecutive, in order)."""
    return [slice(s, min(s + ROW_BLOCK, n_rows)) for s in range(0, n_rows, ROW_BLOCK)]


#: ``returns(rows)``: the stock returns of a block of panel rows and the days usable for estimation.
Returns = Callable[[slice], tuple[np.ndarray, np.ndarray]]


def plain_returns(panel: Panel, model: Model) -> Returns:
    """The panel's own returns ``r`` on the days ``panel.estimation_ok(model)``, by block of rows."""
    return lambda rows: (panel.r[rows], panel.estimation_ok(model, rows))


class Moments:
    """Prefix sums along each symbol's calendar of one block of panel rows: ``fit(j, lo, hi)`` fits
    on days lo..hi-1 of the block's row j. Each row's running sums are the same whatever rows share
    its block (a row is summed alone, in day order)."""

    def __init__(self, model: Model, r: np.ndarray, m: np.ndarray, ok: np.ndarray):
        """Moments of the stock returns ``r`` (the panel's, or the factor-adjusted ones of the
        neutralised fit) against the benchmark returns ``m`` on the days ``ok`` (rows of one block)."""
        if model == "market_adjusted":
            y = np.where(ok, r - m, 0.0)
            x = np.zeros_like(y)
        else:
            y = np.where(ok, r, 0.0)
            x = np.where(ok, m, 0.0) if model == "market" else np.zeros_like(y)
        self.model = model

        def prefix(body: np.ndarray, dtype: type = np.float64) -> np.ndarray:
            """Zero column, then the running sum of ``body`` along each row (in day order)."""
            out = np.empty((body.shape[0], body.shape[1] + 1), dtype=dtype)
            out[:, 0] = 0
            np.cumsum(body, axis=1, dtype=dtype, out=out[:, 1:])
            return out

        # The day count is an exact integer: int32 (a panel row has far fewer than 2**31 days), half
        # the memory of a float64 prefix; ``_fit`` turns the differences into float64 as before.
        self.c = {"n": prefix(ok, np.int32), "sy": prefix(y), "syy": prefix(y * y)}
        if model == "market":
            self.c.update(sx=prefix(x), sxx=prefix(x * x), sxy=prefix(x * y))

    def fit(self, j: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Fit:
        """Fit the model on days [lo, hi) of the block's rows j (indices broadcast together)."""
        return self._fit({k: v[j, hi] - v[j, lo] for k, v in self.c.items()})

    def fit_columns(self, lo: np.ndarray, hi: np.ndarray, sigma: bool = False) -> Fit:
        """Fit alpha and beta (and ``sigma`` when asked, else left empty) for every row of the block
        and column c on days [lo[c], hi[c])."""
        return self._fit({k: _columns(v, hi) - _columns(v, lo) for k, v in self.c.items() if sigma or k != "syy"})

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


def fit_events(
    panel: Panel,
    model: Model,
    pool: ThreadPoolExecutor,
    j: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    returns: Returns,
) -> Fit:
    """The model fitted on days [lo_i, hi_i) of panel row j_i for every event i (1-D arrays), from
    the prefix sums of ``returns`` built block by block of rows (:class:`Moments`; blocks in
    parallel, each writing only its own events, so the result does not depend on the thread count)."""
    order = np.argsort(j, kind="stable")
    blocks = row_blocks(panel.r.shape[0])
    bounds = np.searchsorted(j[order], [b.start for b in blocks] + [panel.r.shape[0]])
    out = {name: np.empty(len(j)) for name in ("alpha", "beta", "sigma", "mean_m", "cxx")}
    n = np.zeros(len(j), dtype=np.int64)

    def fit_block(b: int) -> None:
        idx = order[bounds[b] : bounds[b + 1]]
        if not len(idx):
            return
        rows = blocks[b]
        r, ok = returns(rows)
        fit = Moments(model, r, panel.m[rows], ok).fit(j[idx] - rows.start, lo[idx], hi[idx])
        n[idx] = fit.n
        for name, values in out.items():
            values[idx] = getattr(fit, name)

    list(pool.map(fit_block, range(len(blocks))))
    return Fit(n, **out)
