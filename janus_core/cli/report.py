"""``janus report DIR [--target paper] [--gate-policy FILE] [--no-dataset]``: render
``DIR/report.html``, the self-contained review report of an evidence folder (:mod:`janus_core.report`)."""

from __future__ import annotations

import argparse

from janus_core.cli import command_help
from janus_core.cli.options import (
    add_gate_policy,
    add_no_dataset,
    add_target,
    evidence_dir,
    gate_policy,
)


def _run(args: argparse.Namespace) -> int:
    from janus_core.evidence.schema import (
        EVENT_CAR_REF,
        EVIDENCE_REF,
        HGRM_REWARD_REF,
        RUN_MANIFEST_REF,
    )
    from janus_core.paths import WorkbenchPaths
    from janus_core.report.render import render_report

    out_dir = evidence_dir(args.dir)
    if not any((out_dir / ref).is_file() for ref in (RUN_MANIFEST_REF, EVENT_CAR_REF, HGRM_REWARD_REF, EVIDENCE_REF)):
        raise ValueError(
            f"{out_dir}: not an evidence folder (no {RUN_MANIFEST_REF} and no gate file); rule: the "
            f"report is written only into an export's own folder"
        )
    policy = gate_policy(args.gate_policy)
    paths = None if args.no_dataset else WorkbenchPaths.from_env()
    print(render_report(out_dir, args.target, paths=paths, policy=policy))
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help=command_help("report"),
        description="Verify an evidence folder, evaluate the local gate for the target and write DIR/report.html "
        "(one offline HTML file: inline CSS, plain tables, charts as inline SVG).",
    )
    p.add_argument("dir", metavar="DIR", help="the evidence folder an export wrote")
    add_target(p, "the report judges the evidence for")
    add_gate_policy(p)
    add_no_dataset(p)
    p.set_defaults(handler=_run)
