"""Shared pytest fixtures and options.

``--regen-refs`` rewrites the committed notebook references in ``tests/notebook_refs/`` instead of
comparing against them (what ``nbval --sanitize``-style reference updates do for Jupyter).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-refs",
        action="store_true",
        default=False,
        help="regenerate the notebook reference outputs in tests/notebook_refs/ instead of comparing",
    )


@pytest.fixture(scope="session")
def regen_refs(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-refs"))


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory: pytest.TempPathFactory):
    """A private workspace (data dir, manifest dir, DuckDB store) holding the demo-scale
    ``synthetic-ashare`` dataset, built once per test session with the library's own builder.

    Returns the ``WorkbenchPaths``; ``env`` for subprocesses is ``workspace_env(paths)``.
    """
    from janus_core.data.samples import build_sample
    from janus_core.paths import WorkbenchPaths

    root = tmp_path_factory.mktemp("workspace")
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")
    build_sample("synthetic-ashare", paths, progress=False)
    return paths


def workspace_env(paths) -> dict[str, str]:
    """Environment for a subprocess that must see ``paths`` as its workbench folders."""
    import os

    env = dict(os.environ)
    env.update(
        JANUS_DATA_DIR=str(paths.data_dir),
        JANUS_MANIFEST_DIR=str(paths.manifest_dir),
        JANUS_STORE=str(paths.store),
    )
    return env
