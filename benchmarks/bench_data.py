"""Data-layer speed: import (parse + validate), save (Parquet + hashes) and verify at demo or paper
scale, against the cost of merely parsing the same files.

Usage: ``python benchmarks/bench_data.py [--scale demo|paper]``. Prints measured seconds and the
ratios "validated import / plain CSV parse" and "verify / plain Parquet read"; no assertions.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from janus_core.data.manifest import save_dataset, verify_dataset
from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.data.tables import load_tables
from janus_core.paths import WorkbenchPaths


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("demo", "paper"), default="paper")
    args = parser.parse_args()
    ds = generate(SyntheticConfig.for_scale(args.scale), progress=False)
    rows = sum(f.height for f in ds.tables().values())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {}
        for table, frame in ds.tables().items():
            if table == "events":  # as a vendor would ship it: local naive times, raw type labels
                frame = (
                    frame.with_columns(
                        pl.col("published_at")
                        .dt.convert_time_zone(ds.meta.exchange_timezone)
                        .dt.replace_time_zone(None)
                    )
                    .drop("event_type")
                    .rename({"event_type_raw": "event_type"})
                )
            files[table] = root / f"{table}.csv"
            frame.write_csv(files[table])
        _, t_parse = _timed(lambda: [pl.read_csv(f, infer_schema=False) for f in files.values()])
        loaded, t_load = _timed(lambda: load_tables(files, timezone=ds.meta.exchange_timezone))
        paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "manifests", store=root / "j.duckdb")
        _, t_save = _timed(
            lambda: save_dataset(ds, paths, source="bench", licence="bench", production={}, register=False)
        )
        parquet = sorted((paths.data_dir / ds.name).glob("*.parquet"))
        _, t_read = _timed(lambda: [pl.read_parquet(p) for p in parquet])
        findings, t_verify = _timed(lambda: verify_dataset(ds.name, paths))
    if loaded.problems.height or findings:
        raise SystemExit(f"benchmark data should be valid: {loaded.problems.height} problems, {findings}")
    print(f"scale {args.scale}: {rows:,} rows in {len(files)} tables")
    print(f"plain CSV parse      {t_parse:6.2f} s")
    print(
        f"validated import     {t_load:6.2f} s   ratio to plain parse {t_load / t_parse:5.1f}x  "
        f"({rows / t_load:,.0f} rows/s)"
    )
    print(f"save (parquet+hash)  {t_save:6.2f} s")
    print(f"plain Parquet read   {t_read:6.2f} s")
    print(f"verify (all hashes)  {t_verify:6.2f} s   ratio to plain read  {t_verify / t_read:5.1f}x")


if __name__ == "__main__":
    main()
