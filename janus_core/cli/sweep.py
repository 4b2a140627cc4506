"""``janus sweep``: every configuration of a grid through the research pipeline, on this machine or a
Ray cluster, with the overfitting statistics of the search (``janus_core.sweep``).

``janus sweep --dataset NAME --grid GRID.toml --decisions POLICY|PATH --out DIR [--engine local|ray]
[--address ADDR] [--workers N] [--splits test] [--strategy-id ID] [--candidate-id ID]
[--benchmark NAME] [--no-record]``:

1. parses and validates the grid (unknown parameters and invalid values are refused before anything
   runs, naming the parameter) and expands it;
2. evaluates every configuration (cached ones are read from the sweep cache, ``JANUS_SWEEP_CACHE``
   or ``.janus-cache/sweep`` next to the store) on a process pool (``local``, ``--workers``
   processes; one worker runs in this process) or a Ray cluster (``ray``: ``--address``, else a
   local cluster of ``--workers`` CPUs), with a progress bar on stderr (completed and failed
   counts, ETA);
3. writes ``DIR/results.parquet``, ``DIR/returns.parquet``, ``DIR/overfitting.json`` and
   ``DIR/sweep-manifest.json`` into a temporary sibling folder renamed to DIR (an existing DIR is
   replaced only when it is an earlier sweep folder), records the sweep in the store's ``sweeps``
   table and its configurations in the trials ledger (kind ``sweep``; ``--no-record`` leaves the
   store alone) and prints one summary line.

Ctrl-C stops the workers; every configuration finished so far stays cached, so the same command
resumes (exit 130). Exit 0 on success (failed configurations are rows, not an exit status), 2 on a
user mistake (one line on stderr naming the flag, file or parameter).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from janus_core.cli import EXIT_INTERRUPTED, command_help
from janus_core.cli.options import add_dataset


def _handle(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from janus_core import sweep
    from janus_core.paths import WorkbenchPaths

    if args.address and args.engine != "ray":
        raise ValueError(f"--address {args.address}: only the ray engine connects to a cluster (add --engine ray)")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers {args.workers}: must be at least 1")
    paths = WorkbenchPaths.from_env()
    out = Path(args.out)
    sweep.check_out_dir(out)
    grid = sweep.parse_grid(Path(args.grid), where=args.grid)
    settings = sweep.SweepSettings(
        dataset=args.dataset,
        decisions=args.decisions,
        strategy_id=args.strategy_id,
        candidate_id=args.candidate_id,
        splits=tuple(sorted({s.strip() for s in args.splits.split(",") if s.strip()})),
        benchmark=args.benchmark,
    )
    workers = args.workers or os.cpu_count() or 1
    bar = tqdm(total=grid.size, unit="config", desc="janus sweep", file=sys.stderr, dynamic_ncols=True, disable=None)
    last = {"done": 0}

    def progress(p: sweep.Progress) -> None:
        if last["done"] == 0 and p.cached:
            bar.reset(total=p.total)
            bar.update(p.done)
        else:
            bar.update(p.done - last["done"])
        last["done"] = p.done
        bar.set_postfix(ok=p.done - p.failed, failed=p.failed, cached=p.cached, refresh=False)

    try:
        run = sweep.run_sweep(
            grid, settings, paths, engine=args.engine, workers=workers, address=args.address, progress=progress
        )
    except KeyboardInterrupt:
        bar.close()
        print(
            f"janus sweep: interrupted after {last['done']} of {grid.size} configurations; the finished ones "
            f"are cached in {sweep.cache_dir(paths)}: run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    bar.close()
    report = sweep.publish_sweep(run, out, paths, record=not args.no_record)
    failed = report["n_failed"]
    best = report.get("best") or {}
    dsr = report.get("dsr", {}).get("dsr")
    pbo = report.get("pbo", {}).get("pbo")
    spa = report.get("spa", {}).get("pvalue_consistent")
    fmt = lambda x, spec: "n/a" if x is None else format(x, spec)
    print(
        f"{run.results.height} configurations of {run.candidate_id} on {run.dataset} ({args.engine}): "
        f"{run.results.height - failed} ok, {failed} failed, {run.computed} computed, "
        f"{run.results.height - run.computed} from the cache; best Sharpe {fmt(best.get('sharpe'), '.2f')}, "
        f"DSR {fmt(dsr, '.3f')}, PBO {fmt(pbo, '.3f')}, SPA p {fmt(spa, '.3f')} -> {out}"
    )
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sweep", help=command_help("sweep"), description=command_help("sweep"))
    add_dataset(p)
    p.add_argument(
        "--grid",
        required=True,
        metavar="GRID.toml",
        help="TOML grid: values per parameter under [car], [labels], [reward], [backtest]",
    )
    p.add_argument("--decisions", required=True, help="a baseline policy name or a decisions file path")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (written to a temp folder, then renamed)")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: a process pool on this machine; ray: a Ray cluster (default: local)",
    )
    p.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="Ray cluster address (default: start a local cluster of --workers CPUs)",
    )
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes or CPUs (default: all cores)")
    p.add_argument("--splits", default="test", help="comma-separated chronological splits scored (default test)")
    p.add_argument("--strategy-id", default=None, help="pick one strategy of a decisions file")
    p.add_argument("--candidate-id", default=None, help="name in the trials ledger (default: policy or strategy id)")
    p.add_argument("--benchmark", default=None, help="benchmark of the SPA test (default: the most followed one)")
    p.add_argument("--no-record", action="store_true", help="do not record the sweep in the research store")
    p.set_defaults(handler=_handle)
