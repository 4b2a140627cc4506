"""The dataset picker's options, shared by every notebook."""

from __future__ import annotations

from janus_core.data.manifest import dataset_choices
from janus_core.paths import WorkbenchPaths


def test_dataset_choices_lists_manifests_plus_the_request(tmp_path):
    paths = WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    paths.manifest_dir.mkdir()
    for name in ("zeta", "alpha"):
        (paths.manifest_dir / f"{name}.json").write_text("{}")
    assert dataset_choices(paths, None) == (["alpha", "synthetic-ashare", "zeta"], "synthetic-ashare")
    assert dataset_choices(paths, "alpha") == (["alpha", "zeta"], "alpha")
    assert dataset_choices(paths, "", default="zeta") == (["alpha", "zeta"], "zeta")
