"""The dataset picker shared by every notebook, and where the workbench's folders resolve from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from data_tables import small_dataset, workspace

from janus_core.data.manifest import save_dataset
from janus_core.data.workspace import DatasetChoices, built_datasets, dataset_choices
from janus_core.paths import WorkbenchPaths, project_root

REPO_ROOT = Path(__file__).resolve().parents[1]


def _saved(tmp_path: Path, *names: str) -> WorkbenchPaths:
    paths = workspace(tmp_path / "ws")
    for name in names:
        save_dataset(
            small_dataset(tmp_path / name, name),
            paths,
            source="hand-made",
            licence="CC0",
            production={"generator": "tests"},
        )
    return paths


def test_only_built_datasets_are_offered_and_the_unbuilt_samples_say_how_to_build(tmp_path):
    paths = _saved(tmp_path, "tiny", "alpha")
    # a committed manifest without its data is not built
    (paths.manifest_dir / "us-megacap.json").write_text("{}")
    (paths.manifest_dir / "orphan.json").write_bytes(
        paths.manifest_path("tiny").read_bytes().replace(b'"tiny/', b'"orphan/')
    )
    assert built_datasets(paths) == ["alpha", "tiny"]
    choices = dataset_choices(None, paths)
    assert choices.options == ("alpha", "tiny")
    assert choices.value == "alpha"  # the default sample is not built: the first built one
    assert choices.problem is None
    assert choices.unbuilt == {
        "synthetic-ashare": "janus data build synthetic-ashare",
        "us-megacap": "janus data build us-megacap",
    }
    assert "`janus data build us-megacap`" in choices.note


def test_a_requested_dataset_is_picked_when_built_and_named_with_its_fix_when_not(tmp_path):
    paths = _saved(tmp_path, "tiny")
    assert dataset_choices("tiny", paths).value == "tiny"
    assert dataset_choices("tiny", paths, default="zeta").value == "tiny"
    missing = dataset_choices("us-megacap", paths)
    assert missing.value == "tiny" and missing.options == ("tiny",)
    assert missing.problem == (
        f"dataset 'us-megacap' is not built under {paths.data_dir} (built: tiny); "
        f"build it with `janus data build us-megacap`"
    )
    assert "janus data import mine" in dataset_choices("mine", paths).problem


def test_nothing_built_gives_no_value_and_the_demo_build_command(tmp_path):
    choices = dataset_choices("", workspace(tmp_path))
    assert isinstance(choices, DatasetChoices)
    assert choices.options == () and choices.value is None
    assert choices.problem is not None and "janus data build synthetic-ashare" in choices.problem


def test_default_folders_resolve_from_the_project_root_whatever_the_working_directory(tmp_path):
    assert project_root() == REPO_ROOT
    env = {k: v for k, v in os.environ.items() if k not in ("JANUS_DATA_DIR", "JANUS_MANIFEST_DIR", "JANUS_STORE")}
    code = (
        "from janus_core.paths import WorkbenchPaths; p = WorkbenchPaths.from_env(); "
        "print(p.data_dir, p.manifest_dir, p.store)"
    )
    for cwd in (REPO_ROOT / "notebooks", tmp_path):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        assert out == [str(REPO_ROOT / "data"), str(REPO_ROOT / "data_manifests"), str(REPO_ROOT / "janus.duckdb")]


def test_environment_variables_still_win(tmp_path, monkeypatch):
    monkeypatch.setenv("JANUS_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", "relative/m")
    monkeypatch.setenv("JANUS_STORE", str(tmp_path / "s.duckdb"))
    paths = WorkbenchPaths.from_env()
    assert paths.data_dir == tmp_path / "d" and paths.store == tmp_path / "s.duckdb"
    assert paths.manifest_dir == Path("relative/m")
    assert paths.cache_dir == tmp_path / "d" / ".cache"
