"""``janus car``: the event study from the command line (the headless counterpart of
``notebooks/car.py``).

``janus car --dataset NAME --out DIR [--model market|market_adjusted|constant_mean]
[--estimation-window 120] [--gap 10] [--event-window 0,2] [--min-estimation-obs 60]
[--no-risk-neutralize] [--round-trip-cost-bps 15] [--tau T] [--neutral-band 0.0005]`` writes
``DIR/car.parquet`` (one row per input event, labelled, with its split) and
``DIR/car-summary.json``. DIR must be absent, empty or an earlier ``janus car`` output
(:mod:`janus_core.outdir`). Exit 0 on success, 2 on a bad argument, dataset or output folder."""

from __future__ import annotations

import argparse
import sys
from typing import get_args

from pydantic import ValidationError

from janus_core.outdir import OutputRefused, check_output_target
from janus_core.paths import WorkbenchPaths
from janus_core.study.car import CarConfig, Model
from janus_core.study.labels import (
    LabelConfig,
    car_study,
    car_summary,
    is_car_output,
    write_car_artifacts,
)


def _window(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--event-window {text!r}: expected 'a,b' (e.g. 0,2)") from exc
    return a, b


def _handle(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import DatasetIntegrityError, load_dataset

    defaults = CarConfig()
    try:
        cfg = CarConfig(
            model=args.model,
            estimation_window=args.estimation_window,
            gap=args.gap,
            event_window=args.event_window,
            min_estimation_obs=args.min_estimation_obs
            if args.min_estimation_obs is not None
            else min(defaults.min_estimation_obs, args.estimation_window),
            risk_neutralize=not args.no_risk_neutralize,
        )
        label_cfg = LabelConfig(round_trip_cost_bps=args.round_trip_cost_bps, tau=args.tau, neutral_band=args.neutral_band)
    except ValidationError as exc:
        print(f"janus car: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        check_output_target(args.out, "car", is_car_output)
    except OutputRefused as exc:
        print(f"janus car: {exc}", file=sys.stderr)
        return 2
    try:
        ds = load_dataset(args.dataset, WorkbenchPaths.from_env())
    except (FileNotFoundError, ValueError, DatasetIntegrityError) as exc:
        print(f"janus car: cannot load dataset {args.dataset!r}: {exc}", file=sys.stderr)
        return 2
    table = car_study(ds, cfg, label_cfg)
    try:
        table_path, summary_path = write_car_artifacts(table, car_summary(table, cfg, label_cfg), args.out)
    except OutputRefused as exc:
        print(f"janus car: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"janus car: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    included = table["excluded_reason"].null_count()
    print(f"{table.height} events, {included} with a CAR, {table.height - included} excluded -> {table_path}, {summary_path}")
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    d, ld = CarConfig(), LabelConfig()
    p = subparsers.add_parser("car", help="event study: CAR, labels and exclusions for every event of a dataset")
    p.add_argument("--dataset", required=True, help="dataset name (data_manifests/NAME.json)")
    p.add_argument("--out", required=True, help="output folder for car.parquet and car-summary.json")
    p.add_argument("--model", choices=get_args(Model), default=d.model)
    p.add_argument("--estimation-window", type=int, default=d.estimation_window, help="trading days")
    p.add_argument("--gap", type=int, default=d.gap, help="trading days between estimation and event window")
    p.add_argument("--event-window", type=_window, default=d.event_window,
                   help="a,b in trading days (default 0,2; write --event-window=-1,2 for a negative start)")
    p.add_argument("--min-estimation-obs", type=int, default=None, help=f"default {d.min_estimation_obs} (capped at the window)")
    p.add_argument("--no-risk-neutralize", action="store_true", help="keep market-model ARs even when exposures exist")
    p.add_argument("--round-trip-cost-bps", type=float, default=ld.round_trip_cost_bps)
    p.add_argument("--tau", type=float, default=None, help="strength threshold (default: the round-trip cost)")
    p.add_argument("--neutral-band", type=float, default=ld.neutral_band)
    p.set_defaults(handler=_handle)
