"""Data-layer speed and memory: validated import (parse + convert + every rule), the whole
``janus data import`` command (import, save as Parquet with hashes, register), and verify, at demo or
paper scale, each against the cost of merely parsing or reading the same files, measured in the same run.

Usage: ``python benchmarks/bench_data.py [--scale demo|paper]``. Every step runs in a fresh Python
process (so its peak resident memory is its own; ``ru_maxrss``); the baseline process imports the same
libraries and only parses the CSV files. Prints seconds, peak MiB and the ratios, plus the load
average; no assertions. Issue 13's target: paper-scale validated import under 5 s and under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from janus_core.cli import main as janus
from janus_core.data.manifest import verify_dataset
from janus_core.data.synthetic import EXCHANGE_TIMEZONE, SyntheticConfig, generate
from janus_core.data.tables import load_tables
from janus_core.paths import WorkbenchPaths

TABLES = ("events", "prices", "benchmarks", "securities", "exposures")
NAME = "bench"


def _files(root: Path) -> dict[str, Path]:
    return {t: root / f"{t}.csv" for t in TABLES}


def _paths(root: Path) -> WorkbenchPaths:
    return WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "manifests", store=root / "j.duckdb")


def _write_inputs(scale: str, root: Path) -> int:
    """The synthetic dataset as a vendor would ship it (CSV; events in local naive times with raw
    type labels); returns the number of rows."""
    ds = generate(SyntheticConfig.for_scale(scale), progress=False)
    for table, frame in ds.tables().items():
        if table == "events":
            frame = (
                frame.with_columns(
                    pl.col("published_at").dt.convert_time_zone(ds.meta.exchange_timezone).dt.replace_time_zone(None)
                )
                .drop("event_type")
                .rename({"event_type_raw": "event_type"})
            )
        frame.write_csv(root / f"{table}.csv")
    return sum(f.height for f in ds.tables().values())


def _step(step: str, root: Path) -> None:
    """Run one measured step in this (fresh) process and print its seconds and peak MiB as JSON."""
    files, paths = _files(root), _paths(root)
    start = time.perf_counter()
    if step == "parse_csv":
        frames = [pl.read_csv(f, infer_schema=False) for f in files.values()]
        assert frames
    elif step == "import":
        loaded = load_tables(files, timezone=EXCHANGE_TIMEZONE)
        if loaded.problems.height:
            raise SystemExit(f"benchmark data should be valid: {loaded.problems.height} problems")
    elif step == "janus_data_import":
        os.environ.update(
            JANUS_DATA_DIR=str(paths.data_dir), JANUS_MANIFEST_DIR=str(paths.manifest_dir), JANUS_STORE=str(paths.store)
        )
        args = [f"--{t}={f}" for t, f in files.items()]
        code = janus(
            ["data", "import", NAME, *args, f"--timezone={EXCHANGE_TIMEZONE}", "--provenance=synthetic_generated"]
        )
        if code:
            raise SystemExit(f"janus data import exited {code}")
    elif step == "read_parquet":
        frames = [pl.read_parquet(p) for p in sorted((paths.data_dir / NAME).rglob("*.parquet"))]
        assert frames
    elif step == "verify":
        findings = verify_dataset(NAME, paths)
        if findings:
            raise SystemExit(f"verify should pass: {findings}")
    else:
        raise ValueError(step)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


def _measure(step: str, root: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--step", step, "--root", str(root)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("demo", "paper"), default="paper")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--root", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step is not None:
        _step(args.step, Path(args.root))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = _write_inputs(args.scale, root)
        size = sum(f.stat().st_size for f in _files(root).values()) / 2**20
        load_before = os.getloadavg()
        m = {
            step: _measure(step, root)
            for step in ("parse_csv", "import", "janus_data_import", "read_parquet", "verify")
        }
        load_after = os.getloadavg()
    parse, imp, cli = m["parse_csv"], m["import"], m["janus_data_import"]
    print(f"scale {args.scale}: {rows:,} rows in {len(TABLES)} CSV files ({size:,.0f} MiB)")
    print(f"{'step':34s} {'seconds':>8s} {'peak MiB':>9s}")
    print(f"{'plain CSV parse (reference)':34s} {parse['seconds']:8.2f} {parse['peak_mib']:9.0f}")
    print(
        f"{'validated import (load_tables)':34s} {imp['seconds']:8.2f} {imp['peak_mib']:9.0f}   "
        f"ratio to plain parse {imp['seconds'] / parse['seconds']:4.1f}x time, "
        f"{imp['peak_mib'] / parse['peak_mib']:4.1f}x memory; target < 5 s and < 1024 MiB"
    )
    print(
        f"{'janus data import (+save, register)':34s} {cli['seconds']:8.2f} {cli['peak_mib']:9.0f}   "
        f"ratio to plain parse {cli['seconds'] / parse['seconds']:4.1f}x"
    )
    read, ver = m["read_parquet"], m["verify"]
    print(f"{'plain Parquet read (reference)':34s} {read['seconds']:8.2f} {read['peak_mib']:9.0f}")
    print(
        f"{'verify (every hash)':34s} {ver['seconds']:8.2f} {ver['peak_mib']:9.0f}   "
        f"ratio to plain read {ver['seconds'] / read['seconds']:4.1f}x"
    )
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")


if __name__ == "__main__":
    main()
