"""Scaling table: wall time and peak memory of data import, CAR study, HGRM scoring, backtest and
export (report included) at several sizes of the synthetic A-share dataset.

Scales (``--scales``, comma-separated): a number ``F`` is ``F`` times the paper's 62,400 events on
the paper-scale stock universe (5,282 stocks, 530 trading days), so ``0.1``, ``1`` and ``10`` are
6,240, 62,400 and 624,000 events; ``Kxdays`` keeps the paper's events over ``K`` times its trading
days (``4xdays``: 2,120 days); ``demo`` is the bundled demo sample's size (300 stocks, 420 days,
3,000 events). Above 396,150 events the paper universe has no room at the generator's default
5-day minimum gap between a stock's events, so those scales use its minimum, 3 days (the table
notes it).

Steps (``--steps``), each measured in a fresh process (peak memory is that process's VmHWM,
interpreter and libraries included, and for the export that of the process and the chart renderer
it starts, ``_measure.TreePeak``; the time is the step alone, after imports):

- ``import``: the validated import (``load_tables``: parse, convert, every rule) of the five tables
  as a vendor ships them (CSV, local naive publication times, raw type labels); the report also
  carries a plain ``polars.read_csv`` of the same files (the reference of ``bench_targets.py``);
- ``import_cmd``: the whole ``janus data import`` command (in process, through the CLI's ``main``)
  of the same files into an empty workspace: the validated import, then Parquet, manifest and hashes
  written, and the dataset registered in the store;
- ``car``: ``load_dataset`` from the saved files (no re-hashing) then ``car_study`` (CAR, labels and
  split) with the default configs;
- ``score``: ``reward.score`` (HGRM) of every baseline policy's decisions on the labelled events
  (six decisions per included event);
- ``backtest``: ``run_backtest`` of the ``type_prior`` decisions on every non-historical event,
  with the type weights of the historical split;
- ``export``: ``janus export --decisions type_prior`` (in process, through the CLI's ``main``), the
  gate evidence and its report, from the saved dataset.

Generating each dataset (and its labels and decisions, the inputs of ``score`` and ``backtest``) is
done first, in its own process, and never counts towards a step. ``--workspace DIR`` keeps the
generated datasets between runs (one folder per scale). A cell that exceeds ``--timeout`` seconds
prints ``timeout >N s``; one whose resident memory passes ``--max-rss-gib`` (default 12: the machine
is shared) is killed and prints ``killed >N GiB``.

Run: ``uv run --frozen python benchmarks/bench_scaling.py [--scales 0.1,1,10,4xdays]
[--steps import,import_cmd,car,score,backtest,export] [--timeout 900] [--workspace DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _measure import (
    MAX_RSS_GIB,
    TreePeak,
    cell_text,
    load_line,
    markdown_table,
    python_cmd,
    report,
    run_worker,
    status_mib,
    timed,
)

from janus_core.paths import WorkbenchPaths

PAPER_EVENTS = 62_400
PAPER_DAYS = 530
PAPER_STOCKS = 5_282
STEPS = ("import", "import_cmd", "car", "score", "backtest", "export")
STEP_LABELS = {
    "import": "data import (CSV: parse, convert, validate)",
    "import_cmd": "janus data import (+ save, hash, register)",
    "car": "CAR study (load + car_study)",
    "score": "HGRM scoring (6 policies)",
    "backtest": "backtest (type_prior)",
    "export": "export (report included)",
}
DEFAULT_SCALES = ("0.1", "1", "10", "4xdays")
NAME = "synthetic-ashare"
#: The generator's smallest gap between two events of one stock (``SyntheticConfig.min_event_gap``).
MIN_GAP = 3


@dataclass(frozen=True)
class Scale:
    """One column of the table: its label and the synthetic config overrides on the chosen base."""

    label: str
    base: str  # "paper" or "demo"
    overrides: dict[str, int]

    @property
    def title(self) -> str:
        """Column heading: the label and the sizes."""
        gap = " (3-day gap)" if self.overrides.get("min_event_gap") == MIN_GAP else ""
        if self.base == "demo":
            return "demo (3,000 ev, 300 stocks)"
        events = self.overrides.get("n_events", PAPER_EVENTS)
        days = self.overrides.get("n_days", PAPER_DAYS)
        return f"{self.label}: {events:,} ev, {days:,} days{gap}"


def parse_scale(spec: str) -> Scale:
    """``demo``, ``F`` (times the paper's events) or ``Kxdays`` (times the paper's trading days)."""
    spec = spec.strip()
    if spec == "demo":
        return Scale("demo", "demo", {})
    days = re.fullmatch(r"(\d+(?:\.\d+)?)xdays", spec)
    if days:
        return Scale(spec, "paper", {"n_days": round(float(days.group(1)) * PAPER_DAYS)})
    try:
        factor = float(spec)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale {spec!r}: expected demo, a number (x events) or Kxdays") from None
    events = round(factor * PAPER_EVENTS)
    overrides = {"n_events": events}
    news_days = PAPER_DAYS - 150 - 5  # the generator's default warm-up and tail
    if events > PAPER_STOCKS * ((news_days - 1) // 5 + 1):  # over the capacity at the default 5-day gap
        overrides["min_event_gap"] = MIN_GAP
    return Scale(f"{spec}x", "paper", overrides)


def _paths(root: Path) -> WorkbenchPaths:
    return WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "manifests", store=root / "janus.duckdb")


def _env(root: Path) -> dict[str, str]:
    """The environment pointing the workbench (CLI) at a workspace."""
    return {
        "JANUS_DATA_DIR": str(root / "data"),
        "JANUS_MANIFEST_DIR": str(root / "manifests"),
        "JANUS_STORE": str(root / "janus.duckdb"),
    }


# --------------------------------------------------------------------------------------------------
# Preparation (untimed, its own process)
# --------------------------------------------------------------------------------------------------


def prepare(scale: Scale, root: Path) -> None:
    """Generate the dataset, save and register it in ``root``'s workspace, write the tables as a
    vendor would ship them (``root/csv``), and the labelled events and decisions the score and
    backtest steps read (``root/labelled.parquet``, ``decisions_all.parquet``)."""
    import polars as pl

    from janus_core.data.manifest import save_dataset
    from janus_core.data.samples import SYNTHETIC_LICENCE, SYNTHETIC_SOURCE
    from janus_core.data.store import register_dataset
    from janus_core.data.synthetic import SyntheticConfig, generate, production_info
    from janus_core.decide.policies import POLICIES, make_decisions
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import LabelConfig, car_study

    cfg = SyntheticConfig.for_scale(scale.base, **scale.overrides)  # type: ignore[arg-type]
    ds = generate(cfg, progress=False)
    paths = _paths(root)
    save_dataset(ds, paths, source=SYNTHETIC_SOURCE, licence=SYNTHETIC_LICENCE, production=production_info(cfg))
    register_dataset(ds.name, paths)
    csv = root / "csv"
    csv.mkdir(exist_ok=True)
    for table, frame in ds.tables().items():
        if table == "events":  # as a vendor would ship it: local naive times, raw type labels
            frame = (
                frame.with_columns(
                    pl.col("published_at").dt.convert_time_zone(ds.meta.exchange_timezone).dt.replace_time_zone(None)
                )
                .drop("event_type")
                .rename({"event_type_raw": "event_type"})
            )
        frame.write_csv(csv / f"{table}.csv")
    labelled = car_study(ds, CarConfig(), LabelConfig())
    labelled.write_parquet(root / "labelled.parquet")
    pl.concat([make_decisions(p, labelled) for p in POLICIES]).write_parquet(root / "decisions_all.parquet")
    meta = {
        "config": cfg.model_dump(mode="json", include={"n_stocks", "n_days", "n_events", "min_event_gap"}),
        "timezone": ds.meta.exchange_timezone,
        "news_cutoff": ds.meta.news_cutoff,
        "rows": {t: f.height for t, f in ds.tables().items()},
    }
    (root / "prepared.json").write_text(json.dumps(meta, indent=1))


# --------------------------------------------------------------------------------------------------
# Workers: one step, one fresh process. Each step imports what it needs itself, so a worker's peak
# memory holds only its own step's libraries (and the parent that runs the grid stays small).
# --------------------------------------------------------------------------------------------------


def _csv_files(root: Path) -> dict[str, Path]:
    meta = json.loads((root / "prepared.json").read_text())
    return {t: root / "csv" / f"{t}.csv" for t in sorted(meta["rows"])}


def _warm_file_cache(files: dict[str, Path]) -> None:
    """Read the files once in 1 MiB chunks (untimed), so both the step and its reference read them
    from the page cache, without the reads raising this process's peak memory."""
    for f in files.values():
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass


def _step_import(root: Path) -> tuple[float, float, dict[str, Any]]:
    import polars as pl

    from janus_core.data.tables import load_tables

    meta = json.loads((root / "prepared.json").read_text())
    files = _csv_files(root)
    _warm_file_cache(files)
    loaded, wall, cpu = timed(lambda: load_tables(files, timezone=meta["timezone"]))
    if loaded.problems.height:
        raise SystemExit(f"the generated tables should be valid: {loaded.problems.height} problems")
    del loaded
    peak = status_mib("VmHWM")  # the step's peak, before the reference runs
    _, parse, _ = timed(lambda: [pl.read_csv(f, infer_schema=False) for f in files.values()])  # the reference
    return wall, cpu, {"rows": sum(meta["rows"].values()), "csv_parse_s": parse, "peak_mib": peak}


def _step_import_cmd(root: Path) -> tuple[float, float, dict[str, Any]]:
    import janus_core.data.manifest  # noqa: F401  (imported before the clock starts, as the others)
    import janus_core.data.store  # noqa: F401
    import janus_core.data.tables  # noqa: F401
    from janus_core.cli import main as janus

    meta = json.loads((root / "prepared.json").read_text())
    files = _csv_files(root)
    _warm_file_cache(files)
    ws = root / "import-ws"
    shutil.rmtree(ws, ignore_errors=True)
    os.environ.update(_env(ws))
    argv = ["data", "import", "bench-import", *(a for t, f in files.items() for a in (f"--{t}", str(f)))]
    argv += [
        "--timezone",
        meta["timezone"],
        "--news-cutoff",
        meta["news_cutoff"],
        "--provenance",
        "synthetic_generated",
    ]
    code, wall, cpu = timed(lambda: janus(argv))
    if code != 0:
        raise SystemExit(f"janus data import exited {code}")
    shutil.rmtree(ws, ignore_errors=True)
    return wall, cpu, {"rows": sum(meta["rows"].values())}


def _step_car(root: Path) -> tuple[float, float, dict[str, Any]]:
    from janus_core.data.manifest import load_dataset
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import LabelConfig, car_study

    paths = _paths(root)
    table, wall, cpu = timed(
        lambda: car_study(load_dataset(NAME, paths, verify_files=False), CarConfig(), LabelConfig())
    )
    return wall, cpu, {"events": table.height}


def _step_score(root: Path) -> tuple[float, float, dict[str, Any]]:
    import polars as pl

    from janus_core.decide.reward import HgrmConfig, score

    labelled = pl.read_parquet(root / "labelled.parquet")
    decisions = pl.read_parquet(root / "decisions_all.parquet")
    out, wall, cpu = timed(lambda: score(decisions, labelled, HgrmConfig()))
    return wall, cpu, {"decisions": out.height}


def _step_backtest(root: Path) -> tuple[float, float, dict[str, Any]]:
    import polars as pl

    from janus_core.backtest.config import BacktestConfig
    from janus_core.backtest.engine import historical_type_weights, run_backtest
    from janus_core.data.manifest import load_dataset

    ds = load_dataset(NAME, _paths(root), verify_files=False)
    labelled = pl.read_parquet(root / "labelled.parquet")
    decisions = pl.read_parquet(root / "decisions_all.parquet").filter(pl.col("strategy_id") == "type_prior")

    def run() -> int:
        weights = historical_type_weights(labelled)
        window = labelled.filter(pl.col("split") != "historical")
        dec = decisions.filter(pl.col("event_id").is_in(window["event_id"].implode()))
        run_backtest(ds, dec, window, BacktestConfig(), weights)
        return dec.height

    n, wall, cpu = timed(run)
    return wall, cpu, {"decisions": n}


def _step_export(root: Path) -> tuple[float, float, dict[str, Any]]:
    import janus_core.pipeline  # noqa: F401  (imported before the clock starts)
    import janus_core.report.render  # noqa: F401
    from janus_core.cli import main as janus

    os.environ.update(_env(root))
    out = root / "export-out"
    shutil.rmtree(out, ignore_errors=True)
    with TreePeak() as tree:  # the export starts the report's chart renderer, a process of its own
        code, wall, cpu = timed(lambda: janus(["export", "--decisions", "type_prior", "--out", str(out)]))
    if code != 0:
        raise SystemExit(f"janus export exited {code}")
    return (
        wall,
        cpu,
        {
            "files": sum(1 for p in out.rglob("*") if p.is_file()),
            "peak_mib": tree.peak_mib,
            "own_peak_mib": status_mib("VmHWM"),
            "renderer_peak_mib": tree.children_mib,
        },
    )


WORKERS = {
    "import": _step_import,
    "import_cmd": _step_import_cmd,
    "car": _step_car,
    "score": _step_score,
    "backtest": _step_backtest,
    "export": _step_export,
}


def worker(step: str, root: Path) -> None:
    """Run one step in this (fresh) process and print its JSON report line."""
    wall, cpu, extra = WORKERS[step](root)
    report(wall, cpu, step=step, **extra)


# --------------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------------


def scale_root(workspace: Path, scale: Scale) -> Path:
    """The folder of one scale's generated dataset."""
    return workspace / re.sub(r"[^A-Za-z0-9.]+", "_", scale.label)


def ensure_prepared(scale: Scale, workspace: Path, timeout: float) -> tuple[Path, dict[str, Any]]:
    """Generate the scale's dataset unless ``workspace`` holds it already; returns its folder and
    the preparation report (``{"reused": True}`` when it was there)."""
    root = scale_root(workspace, scale)
    if (root / "prepared.json").is_file():
        return root, {"reused": True}
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    spec = json.dumps({"label": scale.label, "base": scale.base, "overrides": scale.overrides})
    t0 = time.perf_counter()
    result = run_worker(python_cmd(__file__, "--prepare", spec, str(root)), timeout, max_rss_gib=MAX_RSS_GIB)
    result["prepare_s"] = time.perf_counter() - t0
    return root, result


def measure(
    plan: list[tuple[Scale, list[str]]], timeout: float, workspace: Path, max_rss_gib: float = MAX_RSS_GIB, log=print
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every (scale, step) cell of ``plan`` (each scale with its steps): ``results[scale.label][step]``
    is a worker report (or a timeout, memory or error marker). Progress lines go to ``log``."""
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for scale, steps in plan:
        root, prep = ensure_prepared(scale, workspace, timeout)
        row = results.setdefault(scale.label, {})
        if not ({"timeout", "memory_gib", "error"} & set(prep)):
            how = "reused" if prep.get("reused") else f"generated in {prep['prepare_s']:.1f} s (not timed)"
            log(f"  {scale.title}: dataset {how} in {root}")
        else:
            log(f"  {scale.title}: preparing the dataset failed: {cell_text(prep)} {prep.get('error', '')}")
            continue
        for step in steps:
            row[step] = run_worker(python_cmd(__file__, "--worker", step, str(root)), timeout, max_rss_gib=max_rss_gib)
            note = f" ({row[step]['error']})" if "error" in row[step] else ""
            log(f"    {step:<9} {cell_text(row[step])}{note}")
    return results


def table(scales: list[Scale], steps: list[str], results: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The Markdown table: one row per step, one column per scale; cells ``time s, peak MiB``."""
    header = ["step (time, peak RSS)", *(s.title for s in scales)]
    rows = [[STEP_LABELS[step], *(cell_text(results.get(s.label, {}).get(step, {})) for s in scales)] for step in steps]
    return markdown_table(header, rows)


def parse_list(text: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    """A comma-separated option value; with ``allowed``, each item must be one of them."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if allowed is not None and t not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)}; choose from {', '.join(allowed or ())}")
    return items


def add_grid_options(parser: argparse.ArgumentParser, default_scales: str) -> None:
    """The options shared with ``bench_targets.py``: scales, steps, timeout, workspace."""
    parser.add_argument("--scales", default=default_scales, help="comma-separated: demo, F (x events), Kxdays")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of {', '.join(STEPS)}")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per cell (and per dataset build)")
    parser.add_argument("--workspace", type=Path, default=None, help="keep/reuse the generated datasets here")
    parser.add_argument(
        "--max-rss-gib", type=float, default=MAX_RSS_GIB, help="kill a cell whose resident memory passes this"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_grid_options(parser, ",".join(DEFAULT_SCALES))
    parser.add_argument("--prepare", nargs=2, metavar=("SCALE_JSON", "ROOT"), help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=2, metavar=("STEP", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        spec = json.loads(args.prepare[0])
        prepare(Scale(spec["label"], spec["base"], spec["overrides"]), Path(args.prepare[1]))
        report(0.0, 0.0)
        return 0
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return 0
    try:
        scales = [parse_scale(s) for s in parse_list(args.scales)]
        steps = parse_list(args.steps, STEPS)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    tmp = None
    workspace = args.workspace
    if workspace is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_scaling_")
        workspace = Path(tmp.name)
    print(f"scaling benchmark; at the start: {load_line()}")
    results = measure([(s, steps) for s in scales], args.timeout, workspace, args.max_rss_gib)
    print()
    print(table(scales, steps, results))
    print(f"\nat the end: {load_line()}; per cell: timeout {args.timeout:.0f} s, memory cap {args.max_rss_gib:g} GiB")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
