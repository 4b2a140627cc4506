"""Benchmark: time to backtest a decisions table at the paper's scale (``janus_core.backtest.engine``)
and to build the export's backtest tables (``janus_core.research.backtest_tables``).

Workload: the paper-scale synthetic dataset (62,400 events; ``SyntheticConfig.for_scale("paper")``),
labelled and split 4:4:1:1 with the export's defaults; the ``random`` policy's decisions on the test
split and on every non-historical event, backtested with the default config, and the HP = 1..10 sweep
on the test split; then ``backtest_tables`` as the export calls it (the ``type_prior`` candidate and
the default baselines: 4 backtests, the HP sweep, the Sharpe and DA intervals). Every repeat runs on
fresh copies of the frames, so nothing is remembered from the previous one (a first call, as in an
export); the sweep's ratio to one backtest is below 10 by the work its backtests share.

Reference, measured in the same run: drawing the DA bootstrap's resample indices of the test split
(``default_rng(seed).integers(0, n, (n_boot, n))``), work no implementation can skip while the random
streams stay the same. Prints the median wall time of the repeats, decisions per second, the ratio
of the sweep to one backtest, the ratio of ``backtest_tables`` to the reference, and the load average.

Run: ``uv run --frozen python benchmarks/bench_backtest.py [--repeats R]``.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import polars as pl

from benchmarks._measure import load_line, median_seconds
from janus_core import research
from janus_core.backtest.config import BacktestConfig
from janus_core.backtest.engine import historical_type_weights, run_backtest
from janus_core.backtest.metrics import BootstrapConfig
from janus_core.backtest.studies import holding_period_sweep
from janus_core.data.dataset import Dataset
from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.decide.policies import make_decisions
from janus_core.pipeline.config import ExportConfig
from janus_core.study import labels


def _fresh(ds: Dataset, labelled: pl.DataFrame) -> tuple[Dataset, pl.DataFrame]:
    """Copies of the dataset and labelled frames: the backtest remembers nothing about them."""
    return dataclasses.replace(ds, prices=ds.prices.clone()), labelled.clone()


def _fresh_with(
    ds: Dataset, decisions: pl.DataFrame, labelled: pl.DataFrame
) -> tuple[Dataset, pl.DataFrame, pl.DataFrame]:
    fresh_ds, fresh_labelled = _fresh(ds, labelled)
    return fresh_ds, decisions, fresh_labelled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"at the start: {load_line()}")

    ds = generate(SyntheticConfig.for_scale("paper"))
    export = ExportConfig(out_dir="unused")
    labelled = labels.car_study(ds, export.car, export.label, export.split)
    weights = historical_type_weights(labelled)
    decisions = make_decisions("random", labelled)
    cfg = BacktestConfig()
    runs = {}
    for name, window in (
        ("test split", labelled.filter(pl.col("split") == "test")),
        ("all non-historical", labelled.filter(pl.col("split") != "historical")),
    ):
        dec = decisions.filter(pl.col("event_id").is_in(window["event_id"].implode()))
        seconds = median_seconds(
            lambda d=dec, w=window: run_backtest(*_fresh_with(ds, d, w), cfg, weights), args.repeats
        )
        runs[name] = (dec, window, seconds)
        print(f"{name}: {dec.height:,} decisions in {seconds:.3f} s ({dec.height / seconds:,.0f} decisions/s)")
    dec, window, single = runs["test split"]
    sweep = median_seconds(
        lambda: holding_period_sweep(*_fresh_with(ds, dec, window), cfg, range(1, 11), weights), args.repeats
    )
    print(f"HP sweep 1..10 on the test split: {sweep:.3f} s, {sweep / single:.1f}x one backtest")

    analysis = export.analysis
    policies = {
        export.candidate_id: make_decisions(export.decisions, labelled, export.policy),
        **research.baseline_decisions(labelled, tuple(analysis.baselines), export.policy),
    }

    def tables() -> None:
        research.backtest_tables(
            *_fresh(ds, labelled),
            {k: v.clone() for k, v in policies.items()},
            export.candidate_id,
            analysis,
            export.car,
            export.label.round_trip_cost_bps,
        )

    seconds = median_seconds(tables, args.repeats)
    boot = BootstrapConfig(**analysis.bootstrap)
    n = labelled.filter(pl.col("split").is_in(list(analysis.backtest_splits)) & pl.col("car").is_not_null()).height
    draw = median_seconds(lambda: np.random.default_rng(boot.seed).integers(0, n, size=(boot.n_boot, n)), args.repeats)
    print(
        f"backtest_tables ({len(policies)} policies, HP sweep, Sharpe and DA intervals): {seconds:.3f} s; "
        f"reference (the DA bootstrap's {boot.n_boot} x {n:,} index draws): {draw:.3f} s; ratio {seconds / draw:.1f}"
    )
    print(f"at the end: {load_line()}")


if __name__ == "__main__":
    main()
