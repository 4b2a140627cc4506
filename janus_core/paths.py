"""Where the workbench keeps datasets, manifests, the DuckDB research store and its caches.

``JANUS_DATA_DIR``, ``JANUS_MANIFEST_DIR`` and ``JANUS_STORE`` override the folders (a relative value
is taken from the working directory, as a shell user expects). Without them the defaults resolve
from the project root (:func:`project_root`), so a notebook opened from ``notebooks/`` or a command
run from any folder of the checkout finds the same ``data/``, ``data_manifests/`` and ``janus.duckdb``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

#: Files that mark the workbench's project root (the checkout holding ``janus_core``).
_ROOT_MARKERS: tuple[str, ...] = ("pyproject.toml", "janus_core")


def project_root() -> Path:
    """The checkout holding this ``janus_core`` package: the parent of the package folder when it
    has a ``pyproject.toml`` next to it (a source checkout or an editable install), else the working
    directory (an installed wheel has no project folder to anchor on)."""
    here = Path(__file__).resolve().parent.parent
    if all((here / marker).exists() for marker in _ROOT_MARKERS):
        return here
    return Path.cwd()


class WorkbenchPaths(BaseModel):
    """Folders the workbench reads and writes. ``data_dir/NAME/`` holds a dataset's Parquet tables;
    ``manifest_dir/NAME.json`` its manifest; ``store`` is the DuckDB research store file;
    ``cache_dir`` (``data_dir/.cache``) holds derived results that can be recomputed at any time."""

    data_dir: Path
    manifest_dir: Path
    store: Path

    @classmethod
    def from_env(cls) -> "WorkbenchPaths":
        """The folders from the environment variables, else the defaults under :func:`project_root`."""
        root = project_root()

        def resolve(variable: str, default: str) -> Path:
            value = os.environ.get(variable, "").strip()
            return Path(value) if value else root / default

        return cls(
            data_dir=resolve("JANUS_DATA_DIR", "data"),
            manifest_dir=resolve("JANUS_MANIFEST_DIR", "data_manifests"),
            store=resolve("JANUS_STORE", "janus.duckdb"),
        )

    @property
    def cache_dir(self) -> Path:
        """Recomputable derived results (e.g. CAR studies shared between notebooks)."""
        return self.data_dir / ".cache"

    def dataset_dir(self, name: str) -> Path:
        return self.data_dir / name

    def manifest_path(self, name: str) -> Path:
        return self.manifest_dir / f"{name}.json"
