"""``janus report DIR [--target paper] [--policy FILE] [--evidence-only]``: render ``DIR/report.html``,
the self-contained review report of an evidence folder (:mod:`janus_core.report`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from janus_core.evidence.gate import TARGETS, GatePolicy
from janus_core.evidence.schema import (
    EVENT_CAR_REF,
    EVIDENCE_REF,
    HGRM_REWARD_REF,
    RUN_MANIFEST_REF,
)
from janus_core.paths import WorkbenchPaths
from janus_core.report.render import render_report

GATE_REFS: tuple[str, ...] = (EVENT_CAR_REF, HGRM_REWARD_REF, EVIDENCE_REF)


def _run(args: argparse.Namespace) -> int:
    out_dir = Path(args.dir)
    if not out_dir.is_dir():
        print(f"janus report: {out_dir}: evidence folder not found", file=sys.stderr)
        return 2
    if not any((out_dir / ref).is_file() for ref in (RUN_MANIFEST_REF, *GATE_REFS)):
        print(f"janus report: {out_dir}: not an evidence folder (no {RUN_MANIFEST_REF} and no gate file); rule: the "
              f"report is written only into an export's own folder", file=sys.stderr)
        return 2
    try:
        policy = GatePolicy.from_file(args.policy) if args.policy else None
    except ValueError as exc:
        print(f"janus report: {exc}", file=sys.stderr)
        return 2
    paths = None if args.evidence_only else WorkbenchPaths.from_env()
    path = render_report(out_dir, args.target, paths=paths, policy=policy)
    print(path)
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="render DIR/report.html, the self-contained review report of an evidence folder",
        description="Verify an evidence folder, evaluate the local gate for the target and write DIR/report.html "
                    "(one offline HTML file: inline CSS, plain tables, charts as inline SVG).",
    )
    p.add_argument("dir", help="the evidence folder an export wrote")
    p.add_argument("--target", choices=TARGETS, default="paper", help="promotion target (default: paper)")
    p.add_argument("--policy", help="gate policy JSON file (default: the lane's policy)")
    p.add_argument("--evidence-only", action="store_true",
                   help="judge the folder alone: do not check the recorded input digests against the dataset "
                        "manifest under JANUS_MANIFEST_DIR, nor read the dataset's source and licence from it")
    p.set_defaults(handler=_run)
