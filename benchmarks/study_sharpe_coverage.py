"""Study (not a speed benchmark): simulated coverage of the Sharpe-ratio intervals at nominal 0.95.

MA(1) daily returns (``janus_core.metrics.ma1_sharpe_coverage``) of the audit's test-window length
(n = 54, theta = 0.6) and a few neighbours, for the studentized circular block bootstrap (the
default) and the stationary-bootstrap percentile interval it replaces. Seeded: the same command
prints the same numbers.

Run: ``uv run --frozen python benchmarks/study_sharpe_coverage.py [--samples 1000] [--n-boot 999]``
(about a minute per 1,000 samples and setting on one core).
"""

from __future__ import annotations

import argparse

from janus_core.backtest.intervals import ma1_sharpe_coverage
from janus_core.backtest.metrics import BootstrapConfig

SETTINGS: tuple[tuple[int, float], ...] = ((54, 0.6), (54, 0.0), (54, 0.3), (120, 0.6), (250, 0.6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--n-boot", type=int, default=999)
    parser.add_argument("--all", action="store_true", help="also the neighbouring settings, not only n=54, theta=0.6")
    args = parser.parse_args()
    for n, theta in SETTINGS if args.all else SETTINGS[:1]:
        for method in ("studentized", "stationary"):
            res = ma1_sharpe_coverage(n, theta, args.samples, BootstrapConfig(n_boot=args.n_boot, method=method))
            print(
                f"n={n} theta={theta} {method:11s} coverage {res['coverage']:.3f} "
                f"(nominal 0.95, {args.samples} samples x {args.n_boot} resamples), "
                f"mean width {res['mean_width']:.2f}, mean block {res['mean_block']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
