"""``janus car``: the event study from the command line (the headless counterpart of
``notebooks/car.py``).

``janus car --dataset NAME --out DIR [--model market|market_adjusted|constant_mean]
[--estimation-window 120] [--gap 10] [--event-window 0,2] [--min-estimation-obs 60]
[--no-risk-neutralize] [--round-trip-cost-bps 15] [--tau T] [--neutral-band 0.0005]`` writes
``DIR/car.parquet`` (one row per input event, labelled, with its split and ``window_end_day``),
``DIR/car-summary.json`` and ``DIR/significance.parquet`` (``event_type`` or ``all``, ``test``,
``statistic``, ``p_value``, ``n_events``: every event-study test per event type and pooled; null
statistics where a test is undefined, e.g. without events). Exit 0 on success, 2 on a bad argument or dataset."""

from __future__ import annotations

import argparse
import sys
from typing import get_args

from pydantic import ValidationError

from janus_core.car import CarConfig, Model, car_study, car_summary, estimation_abnormal_returns, write_car_artifacts
from janus_core.labels import LabelConfig
from janus_core.significance import significance_long, significance_table
from janus_core.paths import WorkbenchPaths


def _window(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--event-window {text!r}: expected 'a,b' (e.g. 0,2)") from exc
    return a, b


def _handle(args: argparse.Namespace) -> int:
    from janus_core.data import load_dataset
    from janus_core.manifest import DatasetIntegrityError

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
        ds = load_dataset(args.dataset, WorkbenchPaths.from_env())
    except (FileNotFoundError, ValueError, DatasetIntegrityError) as exc:
        print(f"janus car: cannot load dataset {args.dataset!r}: {exc}", file=sys.stderr)
        return 2
    table = car_study(ds, cfg, label_cfg)
    included = table["excluded_reason"].null_count()
    tests = significance_long(significance_table(table, estimation_abnormal_returns(ds, cfg, table)))
    paths = write_car_artifacts(table, car_summary(table, cfg, label_cfg), args.out, tests)
    print(f"{table.height} events, {included} with a CAR, {table.height - included} excluded -> "
          + ", ".join(str(p) for p in paths))
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    d, ld = CarConfig(), LabelConfig()
    p = subparsers.add_parser("car", help="event study: CAR, labels and exclusions for every event of a dataset")
    p.add_argument("--dataset", required=True, help="dataset name (data_manifests/NAME.json)")
    p.add_argument("--out", required=True, help="output folder for car.parquet, car-summary.json and significance.parquet")
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
