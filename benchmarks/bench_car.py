"""Benchmark: the event-study engine at paper scale against the `eventstudy` package and a per-event
statsmodels OLS loop.

Workload: the paper-scale synthetic A-share dataset (``SyntheticConfig.for_scale("paper")``: 62,400
events, 5,282 stocks, 530 trading days, style exposures), saved as a dataset (Parquet + manifest)
in a temporary workspace; market model, 120-day estimation window, 10-day gap, [0, +2] window,
default labels.

Prints, from one run on the same events:
- engine end to end (``load_dataset`` from the files, without re-hashing them, then
  ``car.car_study``: CAR, labels and split), each run in a fresh process: median wall time over
  the repeats, and the engine alone (in-memory dataset) for reference; with and without risk
  neutralisation;
- peak memory: the peak resident set size (VmHWM) of the fresh worker processes, each doing one
  end-to-end run (interpreter and libraries included), next to the RSS after imports;
- the engine in memory (``compute_car``, market model, cold: the snapshot cache cleared; and warm)
  against the same market-model CAR in plain NumPy (:func:`numpy_core`: matrices from the price
  frames, prefix sums, closed-form fit, CAR; events located outside the timing), with the ratio;
- a first study and a second one on the same snapshot with another event window, tau or model
  (the panel and the risk model's factor returns kept per snapshot; the prefix sums are rebuilt by
  every study, block by block of stocks, and never kept), with the ratio;
- the peak memory of ``compute_car`` on 10x the paper's events (624,000) in a fresh process (the
  peak counter reset after the dataset is generated, so the figure is the dataset plus the study);
- speed ratios against (a) ``eventstudy.Multiple.from_list`` with ``Single.market_model`` and (b) a
  per-event ``statsmodels.OLS`` loop over pre-built arrays. Both run on a random subsample of events
  and are extrapolated linearly to all events (the output says so), and the subsample's CARs are
  compared with the engine's.

Run (the bench group provides eventstudy):
``uv run --frozen --group bench python benchmarks/bench_car.py [--repeats 5] [--es-sample 500] [--sm-sample 3000]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from janus_core.data.manifest import load_dataset
from janus_core.paths import WorkbenchPaths
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.labels import LabelConfig, car_study
from janus_core.study.panel import Panel, clear_snapshot_cache

NAME = "synthetic-ashare"
TARGETS = {
    "median_s": 1.0,
    "peak_gib": 1.0,
    "vs_eventstudy": 25.0,
    "vs_statsmodels": 10.0,
    "vs_numpy_core": 2.0,
    "second_over_first": 0.5,
    "x10_peak_gib": 1.0,
}


def _status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now; VmHWM: peak). VmHWM
    belongs to the process image, so unlike ``ru_maxrss`` it does not inherit the parent's peak
    across fork + exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _paths(root: Path) -> WorkbenchPaths:
    return WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")


def worker(root: Path, neutralize: bool) -> None:
    """One fresh process, one end-to-end run from the files; prints a JSON line with the wall
    time, the CPU time and the peak RSS."""
    paths = _paths(root)
    cfg = CarConfig(risk_neutralize=neutralize)
    after_imports = _status_mib("VmRSS")
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    ds = load_dataset(NAME, paths, verify_files=False)
    table = car_study(ds, cfg, LabelConfig())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status_mib("VmHWM")
    print(
        json.dumps(
            {"wall": wall, "cpu": cpu, "peak_mib": peak, "after_imports_mib": after_imports, "events": table.height}
        )
    )


def worker_x10(n_events: int) -> None:
    """One fresh process: generate the paper-scale dataset with ``n_events`` events, reset the peak
    RSS counter, run ``compute_car``; prints a JSON line with the time and the peak RSS."""
    from janus_core.data.synthetic import SyntheticConfig, generate

    # at 10x events the generator needs a shorter minimum gap between a stock's events (default 5 days; 3 is its least)
    ds = generate(SyntheticConfig.for_scale("paper", n_events=n_events, min_event_gap=3))
    gc.collect()
    before = _status_mib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:  # "5" resets VmHWM to the current RSS (Linux >= 4.0)
        fh.write("5")
    t0 = time.perf_counter()
    table = compute_car(ds, CarConfig())
    wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "peak_mib": _status_mib("VmHWM"), "before_mib": before, "events": table.height}))


def numpy_core(ds, cfg: CarConfig, j: np.ndarray, k0: np.ndarray) -> np.ndarray:
    """The market-model CAR of every located event (symbol row ``j``, event-day column ``k0``) in
    plain NumPy on a rectangular dataset: price and benchmark matrices from the frames, returns,
    the valid-day mask (finite returns, the day and the previous one tradable), five prefix sums,
    the closed-form OLS of each estimation window and the CAR over the event window."""
    prices = ds.prices
    n_sym = prices["symbol"].n_unique()
    close = prices["close"].to_numpy().reshape(n_sym, -1)
    tradable = prices["tradable"].fill_null(True).to_numpy().reshape(n_sym, -1)
    bench = ds.benchmarks.sort("benchmark", "date")
    names = bench["benchmark"].unique().sort().to_list()
    bclose = bench["close"].to_numpy().reshape(len(names), -1)
    code = {n: i for i, n in enumerate(names)}
    sym_bench = np.array([code[b] for b in ds.securities.sort("symbol")["benchmark"].to_list()])
    r = np.full(close.shape, np.nan)
    r[:, 1:] = close[:, 1:] / close[:, :-1] - 1.0
    bret = np.full(bclose.shape, np.nan)
    bret[:, 1:] = bclose[:, 1:] / bclose[:, :-1] - 1.0
    m = bret[sym_bench]
    ok = np.isfinite(r) & np.isfinite(m) & tradable
    ok[:, 1:] &= tradable[:, :-1]
    y, x = np.where(ok, r, 0.0), np.where(ok, m, 0.0)
    zero = np.zeros((n_sym, 1))
    sums = [np.concatenate([zero, np.cumsum(v, axis=1)], axis=1) for v in (ok.astype(float), x, y, x * x, x * y)]
    a, b = cfg.event_window
    lo = np.clip(k0 + a - cfg.gap - cfg.estimation_window, 0, None)
    hi = np.clip(k0 + a - cfg.gap, 0, None)
    n, sx, sy, sxx, sxy = (s[j, hi] - s[j, lo] for s in sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = (sxy - sx * sy / n) / (sxx - sx * sx / n)
        alpha = sy / n - beta * sx / n
    cols = k0[:, None] + np.arange(a, b + 1)[None, :]
    return (r[j[:, None], cols] - alpha[:, None] - beta[:, None] * m[j[:, None], cols]).sum(axis=1)


def in_memory_figures(ds, repeats: int) -> dict[str, float]:
    """compute_car (market model) cold and warm against :func:`numpy_core`; first vs second study on
    the same snapshot; prints them and returns the ratios."""
    cfg = CarConfig(risk_neutralize=False)
    table = compute_car(ds, cfg)
    inc = table.filter(pl.col("excluded_reason").is_null())
    panel = Panel.build(ds)
    j = np.searchsorted(panel.symbols.to_numpy(), inc["symbol"].to_numpy())
    k0 = np.searchsorted(panel.days, inc["event_day"].cast(pl.Int64).to_numpy())
    cold, warm, core = [], [], []
    for _ in range(repeats):
        clear_snapshot_cache()
        t0 = time.perf_counter()
        compute_car(ds, cfg)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        compute_car(ds, cfg)
        warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = numpy_core(ds, cfg, j, k0)
        core.append(time.perf_counter() - t0)
    diff = float(np.max(np.abs(ref - inc["car_mm"].to_numpy())))
    c, w, r = statistics.median(cold), statistics.median(warm), statistics.median(core)
    print(
        f"compute_car in memory (market model), median of {repeats}: cold {c:.3f} s, warm {w:.3f} s; plain NumPy "
        f"core {r:.3f} s (max |CAR - engine| {diff:.1e}); ratio cold {c / r:.2f}x, warm {w / r:.2f}x"
    )
    out = {"cold_vs_core": c / r, "warm_vs_core": w / r}
    for what, second in (
        ("another event window", CarConfig(event_window=(0, 4))),
        ("another model", CarConfig(model="market_adjusted")),
        ("another tau (labels)", None),
    ):
        clear_snapshot_cache()
        t0 = time.perf_counter()
        car_study(ds, CarConfig(), LabelConfig())
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        if second is None:
            car_study(ds, CarConfig(), LabelConfig(tau=0.02))
        else:
            car_study(ds, second, LabelConfig())
        again = time.perf_counter() - t0
        out[f"second: {what}"] = again / first
        print(
            f"car_study (neutralised) first {first:.3f} s, second on the same snapshot with {what} {again:.3f} s: "
            f"ratio {again / first:.2f}"
        )
    return out


def _run_worker(root: Path, neutralize: bool) -> dict:
    cmd = [sys.executable, __file__, "--worker", str(root)]
    if not neutralize:
        cmd.append("--no-neutralize")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def statsmodels_loop(ds, cfg: CarConfig, table: pl.DataFrame, sample: np.ndarray) -> tuple[float, float]:
    """Per-event statsmodels OLS over pre-built arrays (the engine's panel); returns (seconds,
    max |CAR difference| against the engine)."""
    import statsmodels.api as sm

    panel = Panel.build(ds)
    ok = panel.estimation_ok(cfg.model)
    rows = table[sample.tolist()]
    sym_j = dict(zip(panel.symbols.to_list(), range(len(panel.symbols)), strict=True))
    day_to_col = [
        {d: k for k, d in enumerate(panel.days[panel.day_index[j, : panel.length[j]]])}
        for j in range(len(panel.symbols))
    ]
    jobs = []
    for sym, day in zip(rows["symbol"].to_list(), rows["event_day"].cast(pl.Int64).to_list(), strict=True):
        j = sym_j[sym]
        jobs.append((j, day_to_col[j][day]))
    a, b = cfg.event_window
    t0 = time.perf_counter()
    cars = []
    for j, k0 in jobs:
        est = np.arange(max(k0 + a - cfg.gap - cfg.estimation_window, 0), k0 + a - cfg.gap)
        est = est[ok[j, est]]
        res = sm.OLS(panel.r[j, est], sm.add_constant(panel.m[j, est])).fit()
        win = np.arange(k0 + a, k0 + b + 1)
        cars.append(float(np.sum(panel.r[j, win] - res.params[0] - res.params[1] * panel.m[j, win])))
    elapsed = time.perf_counter() - t0
    return elapsed, float(np.max(np.abs(np.array(cars) - rows["car_mm"].to_numpy())))


def eventstudy_run(ds, cfg: CarConfig, table: pl.DataFrame, sample: np.ndarray) -> tuple[float, float, int]:
    """``eventstudy.Multiple.from_list`` with ``Single.market_model`` on the sample; returns
    (seconds, max |CAR difference| against the engine's market-model CAR on events without
    untradable estimation days, number of events it computed)."""
    import eventstudy as es

    panel = Panel.build(ds)
    if not panel.rectangular:
        raise RuntimeError("eventstudy needs one shared calendar; the dataset is not rectangular")
    bench_of = dict(ds.securities.select("symbol", "benchmark").iter_rows())
    dates = (panel.days[1:]).astype("datetime64[D]")
    returns: dict[str, np.ndarray] = {"date": dates}
    for j, sym in enumerate(panel.symbols.to_list()):
        returns[sym] = panel.r[j, 1:]
    for bench in sorted(set(bench_of.values())):
        j = next(i for i, s in enumerate(panel.symbols.to_list()) if bench_of[s] == bench)
        returns[f"__{bench}"] = panel.m[j, 1:]
    es.Single._save_parameter("returns", returns)
    rows = table[sample.tolist()]
    events = [
        {"event_date": np.datetime64(d, "D"), "security_ticker": s, "market_ticker": f"__{bench_of[s]}"}
        for s, d in zip(rows["symbol"].to_list(), rows["event_day"].to_list(), strict=True)
    ]
    a, b = cfg.event_window
    t0 = time.perf_counter()
    agg = es.Multiple.from_list(
        events, es.Single.market_model, event_window=(a, b), estimation_size=cfg.estimation_window, buffer_size=cfg.gap
    )
    elapsed = time.perf_counter() - t0
    clean = (rows["estimation_days"] == cfg.estimation_window).to_numpy()
    got = np.array([s.CAR[-1] for s in agg.sample])
    diff = float(np.nanmax(np.abs(got[clean] - rows["car_mm"].to_numpy()[clean]))) if clean.any() else float("nan")
    return elapsed, diff, len(agg.sample)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--es-sample", type=int, default=500, help="events timed with eventstudy")
    parser.add_argument("--sm-sample", type=int, default=3000, help="events timed with the statsmodels loop")
    parser.add_argument("--workspace", type=Path, default=None, help="reuse/keep the paper-scale dataset here")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-neutralize", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--x10-events", type=int, default=624_000, help="events of the 10x memory run (0 skips it)")
    parser.add_argument("--x10-worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--only-new", action="store_true", help="only the in-memory, snapshot and 10x figures")
    args = parser.parse_args()
    if args.x10_worker is not None:
        worker_x10(args.x10_worker)
        return 0
    if args.worker is not None:
        worker(args.worker, not args.no_neutralize)
        return 0

    from janus_core.data.samples import build_sample

    tmp = None
    root = args.workspace
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_car_")
        root = Path(tmp.name)
    paths = _paths(root)
    if not paths.manifest_path(NAME).is_file():
        t0 = time.perf_counter()
        build_sample(NAME, paths, scale="paper", progress=False)
        print(f"built the paper-scale dataset in {time.perf_counter() - t0:.1f} s -> {paths.data_dir / NAME}")
    cfg = CarConfig()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (other processes share the cores); config: model={cfg.model}, estimation={cfg.estimation_window}, "
        f"gap={cfg.gap}, window={list(cfg.event_window)}"
    )

    ds = load_dataset(NAME, paths)
    print(
        f"dataset: {ds.events.height:,} events, {ds.prices['symbol'].n_unique():,} stocks, "
        f"{ds.prices['date'].n_unique():,} trading days, exposures: {ds.exposures is not None}"
    )
    t0 = time.perf_counter()
    load_dataset(NAME, paths, verify_files=True)
    print(f"load_dataset with file hashing: {time.perf_counter() - t0:.3f} s (once; the timings below skip hashing)")

    ratios = in_memory_figures(ds, args.repeats)
    rows = [
        ("compute_car cold / NumPy core (x)", ratios["cold_vs_core"], "<=", TARGETS["vs_numpy_core"]),
        ("compute_car warm / NumPy core (x)", ratios["warm_vs_core"], "<=", TARGETS["vs_numpy_core"]),
        *[(k + " / first", v, "<", TARGETS["second_over_first"]) for k, v in ratios.items() if k.startswith("second")],
    ]
    if args.x10_events:
        proc = subprocess.run(
            [sys.executable, __file__, "--x10-worker", str(args.x10_events)], capture_output=True, text=True, check=True
        )
        x10 = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"10x events ({x10['events']:,}): compute_car {x10['wall']:.2f} s, peak RSS {x10['peak_mib']:.0f} MiB "
            f"(dataset in memory before the study: {x10['before_mib']:.0f} MiB)"
        )
        rows.append(("10x events peak RSS (GiB)", x10["peak_mib"] / 1024, "<", TARGETS["x10_peak_gib"]))
    for name, value, op, target in rows:
        ok = value <= target if op == "<=" else value < target
        print(f"  {name:<52} {value:8.3f}   target {op} {target:<5} {'PASS' if ok else 'FAIL'}")
    if args.only_new:
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        return 0

    results = {}
    for neutralize in (True, False):
        runs = [_run_worker(root, neutralize) for _ in range(args.repeats)]
        engine = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            compute_car(ds, CarConfig(risk_neutralize=neutralize))
            engine.append(time.perf_counter() - t0)
        label = "neutralised" if neutralize else "market model only"
        med = statistics.median(r["wall"] for r in runs)
        results[neutralize] = med
        results[f"peak{neutralize}"] = max(r["peak_mib"] for r in runs)
        results[f"engine{neutralize}"] = statistics.median(engine)
        print(
            f"[{label}] end to end (files -> labelled CAR table, fresh process each), median of {args.repeats}: "
            f"{med:.3f} s (runs {', '.join(format(r['wall'], '.3f') for r in runs)}; CPU {statistics.median(r['cpu'] for r in runs):.3f} s); "
            f"engine alone (in memory, compute_car): {statistics.median(engine):.3f} s; peak RSS "
            f"{results[f'peak{neutralize}']:.0f} MiB (after imports {runs[0]['after_imports_mib']:.0f} MiB)"
        )

    table = compute_car(ds, CarConfig(risk_neutralize=False))
    included = np.flatnonzero(table["excluded_reason"].is_null().to_numpy())
    rng = np.random.default_rng(0)
    n_events = table.height

    sm_sample = np.sort(rng.choice(included, min(args.sm_sample, len(included)), replace=False))
    sm_s, sm_diff = statsmodels_loop(ds, cfg, table, sm_sample)
    sm_full = sm_s / len(sm_sample) * n_events
    print(
        f"statsmodels per-event OLS loop: {sm_s:.2f} s for {len(sm_sample):,} events (subsample), "
        f"extrapolated to {n_events:,}: {sm_full:.1f} s; max |CAR - engine| {sm_diff:.2e}"
    )

    try:
        es_sample = np.sort(rng.choice(included, min(args.es_sample, len(included)), replace=False))
        es_s, es_diff, es_n = eventstudy_run(ds, cfg, table, es_sample)
        es_full = es_s / len(es_sample) * n_events
        print(
            f"eventstudy {__import__('eventstudy').__version__ if hasattr(__import__('eventstudy'), '__version__') else ''}"
            f"Multiple.from_list(Single.market_model): {es_s:.2f} s for {len(es_sample):,} events (subsample, "
            f"{es_n} computed), extrapolated to {n_events:,}: {es_full:.1f} s; max |CAR - engine| on events "
            f"without untradable estimation days {es_diff:.2e} (eventstudy does not skip untradable days)"
        )
    except ImportError as exc:
        es_full = float("nan")
        print(f"eventstudy could not run: {exc!r} (run with: uv run --frozen --group bench ...)")

    peak_gib = max(results["peakTrue"], results["peakFalse"]) / 1024
    mm_s, rn_s = results[False], results[True]
    rows = [
        ("median end to end, market model (s)", mm_s, "<", TARGETS["median_s"], mm_s < TARGETS["median_s"]),
        ("median end to end, neutralised (s)", rn_s, "<", TARGETS["median_s"], rn_s < TARGETS["median_s"]),
        ("peak memory, either run (GiB)", peak_gib, "<", TARGETS["peak_gib"], peak_gib < TARGETS["peak_gib"]),
    ]
    for what, base in (("end to end", mm_s), ("engine alone", results["engineFalse"])):
        rows.append(
            (
                f"vs eventstudy, {what} (x)",
                es_full / base,
                ">=",
                TARGETS["vs_eventstudy"],
                es_full / base >= TARGETS["vs_eventstudy"],
            )
        )
        rows.append(
            (
                f"vs statsmodels loop, {what} (x)",
                sm_full / base,
                ">=",
                TARGETS["vs_statsmodels"],
                sm_full / base >= TARGETS["vs_statsmodels"],
            )
        )
    print(
        "\nsummary (speed-ups: the comparators' extrapolated full-sample market-model time over the engine's "
        "market-model time, end to end from the files or the engine alone on the in-memory dataset):"
    )
    for name, value, op, target, ok in rows:
        print(f"  {name:<44} {value:10.3f}   target {op} {target:<6} {'PASS' if ok else 'FAIL'}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
