"""``janus car``: the event study from the command line (the headless counterpart of
``notebooks/car.py``).

``janus car [--dataset NAME] --out DIR [--model market|market_adjusted|constant_mean]
[--estimation-window 120] [--gap 10] [--event-window 0,2] [--min-estimation-obs 60]
[--no-risk-neutralize] [--round-trip-cost-bps 15] [--tau T] [--neutral-band 0.0005]`` writes
``DIR/car.parquet`` (one row per input event, labelled, with its split and ``window_end_day``),
``DIR/car-summary.json`` and ``DIR/significance.parquet`` (DIR must be absent, empty or an earlier
``janus car`` output, :mod:`janus_core.outdir`) (``event_type`` or ``all``, ``test``,
``statistic``, ``p_value``, ``n_events``: every event-study test per event type and pooled; null
statistics where a test is undefined, e.g. without events). Exit 0 on success, 2 on a bad argument or
dataset (one line on stderr, from the ``janus`` error handler)."""

from __future__ import annotations

import argparse
from typing import get_args

from janus_core.cli import command_help
from janus_core.cli.options import add_dataset


def _window(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--event-window {text!r}: expected 'a,b' (e.g. 0,2)") from exc
    return a, b


def _handle(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import load_dataset
    from janus_core.outdir import check_output_target
    from janus_core.paths import WorkbenchPaths
    from janus_core.study.car import CarConfig, estimation_abnormal_returns
    from janus_core.study.labels import (
        LabelConfig,
        car_study,
        car_summary,
        is_car_output,
        write_car_artifacts,
    )
    from janus_core.study.significance import significance_long, significance_table

    defaults = CarConfig()
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
    check_output_target(args.out, "car", is_car_output)  # before any work: never over a foreign folder
    ds = load_dataset(args.dataset, WorkbenchPaths.from_env())
    table = car_study(ds, cfg, label_cfg)
    tests = significance_long(significance_table(table, estimation_abnormal_returns(ds, cfg, table)))
    written = write_car_artifacts(table, car_summary(table, cfg, label_cfg), args.out, tests)
    included = table["excluded_reason"].null_count()
    print(
        f"{table.height} events, {included} with a CAR, {table.height - included} excluded -> "
        + ", ".join(str(p) for p in written)
    )
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import LabelConfig
    from janus_core.study.panel import Model

    d, ld = CarConfig(), LabelConfig()
    p = subparsers.add_parser("car", help=command_help("car"), description=command_help("car"))
    add_dataset(p)
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder for car.parquet, car-summary.json and significance.parquet",
    )
    p.add_argument(
        "--model", choices=get_args(Model), default=d.model, help=f"normal-return model (default: {d.model})"
    )
    p.add_argument(
        "--estimation-window",
        type=int,
        default=d.estimation_window,
        metavar="DAYS",
        help=f"estimation window in trading days (default: {d.estimation_window})",
    )
    p.add_argument(
        "--gap",
        type=int,
        default=d.gap,
        metavar="DAYS",
        help=f"trading days between estimation and event window (default: {d.gap})",
    )
    p.add_argument(
        "--event-window",
        type=_window,
        default=d.event_window,
        metavar="A,B",
        help="event window in trading days (default 0,2; write --event-window=-1,2 for a negative start)",
    )
    p.add_argument(
        "--min-estimation-obs",
        type=int,
        default=None,
        metavar="N",
        help=f"fewest estimation returns for a CAR (default: {d.min_estimation_obs}, capped at the window)",
    )
    p.add_argument("--no-risk-neutralize", action="store_true", help="keep market-model ARs even when exposures exist")
    p.add_argument(
        "--round-trip-cost-bps",
        type=float,
        default=ld.round_trip_cost_bps,
        metavar="BPS",
        help=f"round-trip trading cost in basis points (default: {ld.round_trip_cost_bps:g})",
    )
    p.add_argument("--tau", type=float, default=None, help="strength threshold on |CAR| (default: the round-trip cost)")
    p.add_argument(
        "--neutral-band",
        type=float,
        default=ld.neutral_band,
        metavar="BAND",
        help=f"|CAR| below this is labelled neutral (default: {ld.neutral_band:g})",
    )
    p.set_defaults(handler=_handle)
