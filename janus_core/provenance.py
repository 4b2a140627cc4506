"""Provenance of a run: when the evidence says it was generated, the code (git commit, the source hash
of every module and notebook) and the package versions it ran with."""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import janus_core
from janus_core.evidence.schema import iso_utc
from janus_core.hashing import sha256_file

#: Distributions whose versions the run manifest records (and the lineage's ``runtime_version_refs``).
RUNTIME_PACKAGES: tuple[str, ...] = ("polars", "numpy", "scipy", "statsmodels", "pydantic", "pyarrow", "duckdb")
#: Extra distributions recorded in the run manifest only.
MANIFEST_PACKAGES: tuple[str, ...] = ("marimo", "altair")


def generated_at(as_of: str, source_date_epoch: int | None) -> str:
    """``generated_at``: ``source_date_epoch`` (seconds, UTC) if given, else ``SOURCE_DATE_EPOCH``
    from the environment, else the dataset's as-of time (ISO-8601; without an offset it is UTC)."""
    epoch = source_date_epoch
    if epoch is None and os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        epoch = int(os.environ["SOURCE_DATE_EPOCH"].strip())
    if epoch is not None:
        return iso_utc(datetime.fromtimestamp(epoch, tz=timezone.utc))
    return iso_utc(datetime.fromisoformat(as_of.replace("Z", "+00:00")))


def repo_root() -> Path:
    """The folder holding the ``janus_core`` package (the repository root in a checkout)."""
    return Path(janus_core.__file__).resolve().parent.parent


def git_commit(root: Path) -> str:
    """``git rev-parse HEAD`` of ``root``, or ``"unknown"`` outside a repository."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else "unknown"


def source_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every ``janus_core`` module and every notebook, keyed by path relative to ``root``
    (all of them, not only the ones imported, so the record does not depend on import order)."""
    files = sorted(root.glob("janus_core/**/*.py")) + sorted(root.glob("notebooks/*.py"))
    return {f.relative_to(root).as_posix(): sha256_file(f) for f in files if "__pycache__" not in f.parts}


def package_versions(names: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``names`` (``"not-installed"`` when absent)."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not-installed"
    return out


def runtime_version_refs() -> list[str]:
    """``name==version`` of Python, ``janus_core`` and the numerical packages, sorted."""
    refs = [f"python=={platform.python_version()}", f"janus_core=={janus_core.__version__}"]
    refs += [f"{k}=={v}" for k, v in package_versions(RUNTIME_PACKAGES).items()]
    return sorted(refs)
