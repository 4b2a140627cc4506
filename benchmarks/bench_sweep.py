"""Benchmark: configurations per second of a robustness sweep (``janus_core.sweep``), with and
without the cache.

Workload: the synthetic sample (``--scale demo``: 3,000 events; ``--scale paper``: 62,400 events),
built into a temporary workspace; the ``type_prior`` policy; a grid of ``--configs`` configurations
(rounded down to a product of grid sizes) that varies only reward and backtest parameters
(``reward.lambda_dir`` x ``reward.alpha`` x ``backtest.round_trip_cost_bps``), so every configuration shares one
CAR table and one labelled table. Prints, for each worker count of ``--workers``:

- the cold sweep (empty cache): seconds and configurations per second;
- the warm sweep (the same grid again, every row from the cache): seconds and configurations per second;

then the cost of the parts measured directly: one CAR computation (``compute_car``), one labelled
table, one configuration evaluated alone (a backtest and the reward scored), and the cold sweep's
time over "one CAR + labels + N configurations" (the issue asks that a sweep varying only reward
and backtest parameters cost little more than one CAR computation plus the scoring; below 1 means
the shared backtests and rewards make it cheaper than scoring every configuration alone). Peak
memory: the maximum resident set of this process and of its largest worker process.

Run: ``uv run --frozen python benchmarks/bench_sweep.py [--scale demo|paper] [--configs N] [--workers 1,2]``.
Nothing is asserted: this prints measurements.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from janus_core import sweep
from janus_core.data.manifest import load_dataset
from janus_core.data.samples import build_sample
from janus_core.paths import WorkbenchPaths
from janus_core.study.car import compute_car


def _grid(n: int) -> sweep.Grid:
    """About ``n`` configurations: lambda_dir x alpha x round_trip_cost_bps, sizes a x a x b with a^2 b <= n."""
    side = max(1, round(n ** (1 / 3)))
    costs = max(1, n // (side * side))
    lambdas = [1.5 + 0.25 * i for i in range(side)]
    alphas = [round(0.05 + 0.9 * i / max(side - 1, 1), 4) for i in range(side)]
    return sweep.parse_grid(
        {
            "reward": {"lambda_dir": lambdas, "alpha": alphas},
            "backtest": {"round_trip_cost_bps": [0.5 * i for i in range(costs)]},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("demo", "paper"), default="demo")
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (local engine)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "manifests", store=root / "janus.duckdb")
        t0 = time.perf_counter()
        build_sample("synthetic-ashare", paths, scale=args.scale, progress=False)
        print(f"built synthetic-ashare ({args.scale}) in {time.perf_counter() - t0:.1f} s")
        grid = _grid(args.configs)
        n = grid.size
        print(f"grid: {n} configurations ({', '.join(f'{k}: {len(v)}' for k, v in grid.parameters.items())})")
        settings = sweep.SweepSettings()
        cold: dict[int, float] = {}
        for workers in (int(w) for w in args.workers.split(",")):
            os.environ["JANUS_SWEEP_CACHE"] = str(root / f"cache-{workers}")
            t0 = time.perf_counter()
            run = sweep.run_sweep(grid, settings, paths, workers=workers)
            cold[workers] = time.perf_counter() - t0
            assert run.computed == n and run.car_computed == 1, (run.computed, run.car_computed)
            t0 = time.perf_counter()
            again = sweep.run_sweep(grid, settings, paths, workers=workers)
            warm = time.perf_counter() - t0
            assert again.computed == 0
            print(
                f"workers {workers}: cold {cold[workers]:.2f} s = {n / cold[workers]:.1f} configs/s; "
                f"cached {warm:.2f} s = {n / warm:.0f} configs/s ({cold[workers] / warm:.0f}x)"
            )

        ds = load_dataset("synthetic-ashare", paths)
        point = sweep.expand_grid(grid)[0]
        t0 = time.perf_counter()
        car = compute_car(ds, point.car)
        t_car = time.perf_counter() - t0
        t0 = time.perf_counter()
        labelled = sweep.labelled_table(ds, car, point.label, point.split, point.car)
        t_label = time.perf_counter() - t0
        decisions = sweep.candidate_decisions(None, settings, labelled)
        t0 = time.perf_counter()
        sweep.evaluate_point(ds, labelled, decisions, point, settings.splits)
        t_one = time.perf_counter() - t0
        alone = t_car + t_label + n * t_one
        print(
            f"parts: one CAR table {t_car:.2f} s, one labelled table {t_label:.3f} s, one configuration alone "
            f"{t_one * 1000:.1f} ms (window, backtest, reward)"
        )
        for workers, seconds in cold.items():
            print(
                f"workers {workers}: cold sweep / (one CAR + labels + {n} configurations alone) = "
                f"{seconds / alone:.2f}; / one CAR computation = {seconds / t_car:.1f}"
            )
        me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory: this process {me:.0f} MiB, largest worker process {kids:.0f} MiB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
