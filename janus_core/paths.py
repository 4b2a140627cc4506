"""Where the workbench keeps datasets, manifests and the DuckDB research store.

Defaults are relative to the working directory (the repository root when run via ``make``) and can
be overridden with ``JANUS_DATA_DIR``, ``JANUS_MANIFEST_DIR`` and ``JANUS_STORE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel


class WorkbenchPaths(BaseModel):
    """Folders the workbench reads and writes. ``data_dir/NAME/`` holds a dataset's Parquet tables;
    ``manifest_dir/NAME.json`` its manifest; ``store`` is the DuckDB research store file."""

    data_dir: Path
    manifest_dir: Path
    store: Path

    @classmethod
    def from_env(cls) -> "WorkbenchPaths":
        return cls(
            data_dir=Path(os.environ.get("JANUS_DATA_DIR", "data")),
            manifest_dir=Path(os.environ.get("JANUS_MANIFEST_DIR", "data_manifests")),
            store=Path(os.environ.get("JANUS_STORE", "janus.duckdb")),
        )

    def dataset_dir(self, name: str) -> Path:
        return self.data_dir / name

    def manifest_path(self, name: str) -> Path:
        return self.manifest_dir / f"{name}.json"
