"""``janus notebooks NOTEBOOK.py [NOTEBOOK.py ...] --out DIR [--dataset NAME] [--decisions POLICY]``:
run marimo notebooks headless, one after the other, in this one Python process.

Each notebook runs exactly as ``python NOTEBOOK.py --dataset NAME --out DIR/STEM [--decisions POLICY]``
would run it (its ``__main__``, with those command-line arguments), so its outputs and printed lines
are the same; the libraries they share (marimo, polars, altair, scipy, ...) are imported once instead
of once per notebook, which is most of a headless notebook's start-up time. ``make run`` uses it. A
notebook that stops (``SystemExit``, an error) stops the run with its exit status.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from janus_core.cli import command_help
from janus_core.cli.options import add_dataset


def run_headless(notebook: Path, args: list[str]) -> None:
    """Run ``notebook`` as its script (``__main__``) with command-line arguments ``args``."""
    saved = sys.argv
    sys.argv = [str(notebook), *args]
    try:
        runpy.run_path(str(notebook), run_name="__main__")
    finally:
        sys.argv = saved


def _handle(args: argparse.Namespace) -> int:
    notebooks = [Path(n) for n in args.notebook]
    missing = [str(n) for n in notebooks if not n.is_file()]
    if missing:
        raise FileNotFoundError(f"notebook(s) not found: {', '.join(missing)}")
    not_marimo = [str(n) for n in notebooks if "marimo.App(" not in n.read_text(encoding="utf-8", errors="replace")]
    if not_marimo:  # any other Python file would run as a script, not as a notebook
        raise ValueError(f"not marimo notebooks (no marimo.App): {', '.join(not_marimo)}")
    for notebook in notebooks:
        extra = ["--decisions", args.decisions] if args.decisions is not None else []
        run_headless(notebook, ["--dataset", args.dataset, "--out", str(Path(args.out) / notebook.stem), *extra])
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``janus notebooks``."""
    parser = subparsers.add_parser(
        "notebooks",
        help=command_help("notebooks"),
        description="Run marimo notebooks headless, one after the other, in one Python process; each as "
        "python NOTEBOOK.py --dataset NAME --out DIR/NAME [--decisions POLICY] would run it.",
    )
    parser.add_argument("notebook", nargs="+", help="marimo notebook files (notebooks/NAME.py), run in this order")
    parser.add_argument("--out", required=True, metavar="DIR", help="each notebook writes to DIR/NAME")
    add_dataset(parser)
    parser.add_argument(
        "--decisions", default=None, metavar="POLICY", help="decisions of the candidate (the evidence notebook)"
    )
    parser.set_defaults(handler=_handle)
