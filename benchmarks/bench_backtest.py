"""Benchmark: time to backtest a decisions table at the paper's scale (``janus_core.backtest.engine``).

Workload: the paper-scale synthetic dataset (62,400 events; ``SyntheticConfig.for_scale("paper")``),
labelled and split 4:4:1:1; the ``random`` policy's decisions on the test split and on every
non-historical event, backtested with the default config, and the HP = 1..10 sweep on the test
split. Prints the median wall time of the repeats, decisions per second, and the ratio of the sweep
to one backtest (10 backtests: about 10 means no shared work is lost, less would mean caching).

Run: ``uv run --frozen python benchmarks/bench_backtest.py [--repeats R]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import polars as pl

from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.engine import historical_type_weights, run_backtest
from janus_core.backtest.studies import holding_period_sweep
from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.decide.policies import make_decisions
from janus_core.study import labels
from janus_core.study.car import CarConfig, compute_car


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    ds = generate(SyntheticConfig.for_scale("paper"))
    labelled = labels.chronological_split(labels.label(compute_car(ds, CarConfig()), labels.LabelConfig()))
    weights = historical_type_weights(labelled)
    decisions = make_decisions("random", labelled)
    cfg = BacktestConfig()
    runs = {}
    for name, window in (
        ("test split", labelled.filter(pl.col("split") == "test")),
        ("all non-historical", labelled.filter(pl.col("split") != "historical")),
    ):
        dec = decisions.filter(pl.col("event_id").is_in(window["event_id"].implode()))
        seconds = _median_seconds(lambda d=dec, w=window: run_backtest(ds, d, w, cfg, weights), args.repeats)
        runs[name] = (dec, window, seconds)
        print(f"{name}: {dec.height:,} decisions in {seconds:.3f} s ({dec.height / seconds:,.0f} decisions/s)")
    dec, window, single = runs["test split"]
    sweep = _median_seconds(lambda: holding_period_sweep(ds, dec, window, cfg, range(1, 11), weights), args.repeats)
    print(f"HP sweep 1..10 on the test split: {sweep:.3f} s, {sweep / single:.1f}x one backtest")


if __name__ == "__main__":
    main()
