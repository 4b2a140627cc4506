"""Options shared by several ``janus`` subcommands: one spelling, one default and one help text for
each idea.

- ``--dataset NAME`` (default ``synthetic-ashare``): ``janus export``, ``janus car``;
- ``--target shadow|paper|live`` (default ``paper``): ``janus export``, ``janus gate``, ``janus report``;
- ``--gate-policy FILE``: ``janus gate``, ``janus report``, ``janus export`` (its DSPy metrics policy);
- ``--no-dataset``: ``janus verify``, ``janus report``.

(``janus data`` subcommands take the dataset as their positional ``NAME``.)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from janus_core.evidence.gate import GatePolicy

TARGET_CHOICES: tuple[str, ...] = ("shadow", "paper", "live")
DEFAULT_TARGET = "paper"
DEFAULT_DATASET = "synthetic-ashare"


def evidence_dir(text: str) -> Path:
    """The evidence folder ``text``; ``FileNotFoundError`` naming it when it is not a folder."""
    path = Path(text)
    if not path.is_dir():
        raise FileNotFoundError(f"{text}: evidence folder not found")
    return path


def gate_policy(text: str | None) -> "GatePolicy":
    """The ``GatePolicy`` in JSON file ``text`` (None: the lane's defaults)."""
    from janus_core.evidence.gate import GatePolicy

    if text is None:
        return GatePolicy()
    if not Path(text).is_file():
        raise FileNotFoundError(f"{text}: gate policy file not found")
    return GatePolicy.from_file(text)


def add_target(parser: argparse.ArgumentParser, what: str) -> None:
    """``--target`` (one spelling and default for every command that takes it)."""
    parser.add_argument(
        "--target",
        choices=TARGET_CHOICES,
        default=DEFAULT_TARGET,
        help=f"promotion target {what} (default: {DEFAULT_TARGET})",
    )


def add_gate_policy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gate-policy",
        default=None,
        metavar="FILE",
        help="JSON file of GatePolicy fields (default: the lane's policy)",
    )


def add_no_dataset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-dataset",
        action="store_true",
        help="judge the folder alone: do not check its recorded input digests against the "
        "dataset's manifest under JANUS_MANIFEST_DIR",
    )


def add_dataset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        metavar="NAME",
        help=f"dataset name, data_manifests/NAME.json (default: {DEFAULT_DATASET})",
    )
