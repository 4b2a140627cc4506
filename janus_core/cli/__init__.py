"""The ``janus`` command: non-notebook utilities. Each research step registers its own subcommands
in a small module of this package (``add_parsers(subparsers)``) and is listed in ``COMMAND_MODULES``."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES: tuple[str, ...] = ("data", "report", "evidence", "car", "backtest")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="janus", description="Janus-Q research workbench utilities")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"janus_core.cli.{name}").add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; each handler returns the process exit code."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
