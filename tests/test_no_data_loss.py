"""Nothing lost: output commands write only where they destroy nothing that is not their own earlier
output, imports never overwrite a dataset (versions stay recoverable), input paths are literal, and
temp folders of killed runs are cleaned up at the next run and refused by ``verify`` (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from data_tables import isolated_workspace, janus_data, raw_tables, write_all
from test_evidence_helpers import run_cli, write_folder

from janus_core.data import manifest as mf
from janus_core.evidence import output
from janus_core.evidence.verify import verify_evidence
from janus_core.outdir import (
    OutputRefused,
    clean_stale_temp_folders,
    hidden_temp_folder,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------------
# janus export --out
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "README.md").write_text("my project\n")
    (folder / "src" / "main.py").write_text("print('hi')\n")
    (folder / "input.csv").write_text("a,b\n1,2\n")
    return folder


@pytest.mark.parametrize("target", [".", "project", "input.csv"])
def test_export_refuses_what_is_not_an_earlier_export(project, monkeypatch, capsys, target):
    """The issue's repro: ``--out .`` in a project folder and ``--out input.csv`` both exited 0 after
    deleting the folder or replacing the file; now one line, exit 2, every byte still there."""
    monkeypatch.chdir(project if target != "project" else project.parent)
    before = _tree(project)
    out = "input.csv" if target == "input.csv" else target
    code = run_cli(["export", "--dataset", "synthetic-ashare", "--decisions", "always_long", "--out", out])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("janus export: "), err
    assert "not an earlier export" in err[0] or "not a folder" in err[0]
    assert _tree(project) == before
    assert not [p for p in project.parent.iterdir() if p.name.startswith(".")]


def test_export_target_rule(tmp_path):
    earlier = write_folder(tmp_path / "earlier")
    output.check_export_target(earlier)  # an earlier export: replaceable
    output.check_export_target(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    output.check_export_target(tmp_path / "empty")
    broken = write_folder(tmp_path / "broken")
    manifest = broken / "run-manifest.json"
    manifest.write_text(manifest.read_text().replace('"run_id"', '"run_idx"', 1))  # self_hash no longer holds
    (tmp_path / "link").symlink_to(earlier)
    for path in (broken, tmp_path / "link", manifest):
        with pytest.raises(OutputRefused):
            output.check_export_target(path)


def test_a_folder_that_appears_during_the_export_is_not_replaced(tmp_path):
    """Checked again right before the rename: a folder someone created meanwhile stays untouched."""
    out = tmp_path / "out"

    def meanwhile(folder: Path) -> None:
        out.mkdir()
        (out / "theirs.txt").write_text("keep me")

    with pytest.raises(OutputRefused):
        output.write_tree_atomically(out, {"a.json": b"{}\n"}, meanwhile)
    assert _tree(out) == {"theirs.txt": b"keep me"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_temp_folders_are_cleaned_at_the_next_export(tmp_path):
    """A killed export leaves ``.out.tmp-PID-*``; one killed mid-swap leaves the previous export in
    ``.out.old-PID-*/previous`` and no ``out``: the next run restores that one, removes the others and
    says so; a temp folder of a running process is left alone."""
    earlier = write_folder(tmp_path / "earlier")
    pid = _dead_pid()
    (tmp_path / f".out.tmp-{pid}-abc").mkdir()
    (tmp_path / f".out.tmp-{pid}-abc" / "half.json").write_text("{")
    (tmp_path / f".out.old-{pid}-def").mkdir()
    earlier.rename(tmp_path / f".out.old-{pid}-def" / "previous")
    live = tmp_path / f".out.tmp-{__import__('os').getppid()}-ghi"
    live.mkdir()
    assert hidden_temp_folder(live) and hidden_temp_folder(tmp_path / f".out.old-{pid}-def" / "previous")
    notes = clean_stale_temp_folders(tmp_path / "out")
    assert any(n.startswith(f"restored {tmp_path / 'out'}") for n in notes)
    assert sum(n.startswith("removed stale temp folder") for n in notes) == 2
    assert any("running process" in n for n in notes)
    assert verify_evidence(tmp_path / "out") == []  # the restored previous export, intact
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "out"]


def test_verify_refuses_a_hidden_temp_folder(tmp_path):
    folder = write_folder(tmp_path / f".out.tmp-{_dead_pid()}-x")
    problems = verify_evidence(folder)
    assert len(problems) == 1 and "hidden temp folder" in problems[0].rule
    assert run_cli(["verify", str(folder), "--no-dataset"]) == 1


# --------------------------------------------------------------------------------------------------
# janus car --out, janus report DIR
# --------------------------------------------------------------------------------------------------
def test_car_and_report_refuse_foreign_folders(project, capsys):
    from janus_core.cli import main

    before = _tree(project)
    assert main(["car", "--dataset", "synthetic-ashare", "--out", str(project)]) == 2
    assert main(["car", "--dataset", "synthetic-ashare", "--out", str(project / "input.csv")]) == 2
    assert main(["report", str(project)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith(("janus car: ", "janus report: ")) for line in err), err
    assert _tree(project) == before


# --------------------------------------------------------------------------------------------------
# janus data import: never overwrite, versions recoverable, literal paths, stale temp folders
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def paths(tmp_path, monkeypatch):
    return isolated_workspace(tmp_path / "ws", monkeypatch)


def _import(files: dict[str, Path], *extra: str, name: str = "mine") -> int:
    argv = ["import", name]
    for table, path in files.items():
        argv += [f"--{table}", str(path)]
    return janus_data(*argv, "--timezone", "Asia/Shanghai", "--provenance", "historical_market_replay", *extra)


def test_import_never_overwrites_and_keeps_versions_recoverable(paths, tmp_path, capsys):
    first = write_all(raw_tables(), tmp_path / "a", "csv")
    assert _import(first) == 0
    v1_manifest = paths.manifest_path("mine").read_bytes()
    v1_files = _tree(paths.dataset_dir("mine"))
    other = raw_tables()
    other["prices"][0]["close"] = "123.0"
    second = write_all(other, tmp_path / "b", "csv")
    capsys.readouterr()
    assert _import(second) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists" in err[0] and "--replace" in err[0]
    assert paths.manifest_path("mine").read_bytes() == v1_manifest and _tree(paths.dataset_dir("mine")) == v1_files
    assert _import(first) == 2  # even the same files: an existing name needs --replace

    assert _import(second, "--replace") == 0
    assert "imported mine version 2" in capsys.readouterr().out
    current = json.loads(paths.manifest_path("mine").read_text())
    assert current["version"] == "2" and current["tables"]["prices"]["path"] == "mine/2/prices.parquet"
    assert {k: v for k, v in _tree(paths.dataset_dir("mine")).items() if k.startswith("1/")} == v1_files
    assert (paths.dataset_dir("mine") / "1" / "manifest.json").read_bytes() == v1_manifest
    assert mf.verify_dataset("mine", paths) == []
    assert mf.load_dataset("mine", paths).prices.filter(pl.col("close") == 123.0).height == 1
    assert _import(second, "--replace", "--dataset-version", "1") == 2  # a version id is never reused
    assert "never reused" in capsys.readouterr().err

    assert janus_data("versions", "mine") == 0
    assert capsys.readouterr().out == "mine\tversion 1\nmine\tversion 2\tcurrent\n"
    assert janus_data("restore", "mine", "1") == 0
    assert paths.manifest_path("mine").read_bytes() == v1_manifest
    assert mf.load_dataset("mine", paths).prices.filter(pl.col("close") == 123.0).height == 0
    assert janus_data("restore", "mine", "7") == 1


def test_a_dataset_saved_before_versioned_folders_stays_recoverable(paths, tmp_path):
    """An old-layout dataset (tables directly in ``data/NAME/``) keeps its manifest and tables when a
    new version is imported with --replace."""
    files = write_all(raw_tables(), tmp_path / "a", "csv")
    assert _import(files) == 0
    folder = paths.dataset_dir("mine")
    legacy = json.loads(paths.manifest_path("mine").read_text())
    for entry in legacy["tables"].values():  # rewrite it as the old layout wrote it
        (folder / "1" / Path(entry["path"]).name).rename(folder / Path(entry["path"]).name)
        entry["path"] = f"mine/{Path(entry['path']).name}"
    (folder / "1" / "manifest.json").unlink()
    (folder / "1").rmdir()
    legacy["manifest_hash"] = mf.H({k: v for k, v in legacy.items() if k != "manifest_hash"})
    mf.write_json(legacy, paths.manifest_path("mine"))
    assert mf.verify_dataset("mine", paths) == []
    assert _import(files, "--replace") == 0
    assert json.loads(paths.manifest_path("mine").read_text())["version"] == "2"
    assert json.loads((folder / "1" / "manifest.json").read_text()) == legacy
    assert janus_data("restore", "mine", "1") == 0 and mf.verify_dataset("mine", paths) == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_input_paths_are_taken_literally(paths, tmp_path, fmt):
    """The issue's repro: ``--events 'evg[1].csv'`` read ``evg1.csv`` (a glob) while the manifest
    recorded the hash of ``evg[1].csv``."""
    files = write_all(raw_tables(), tmp_path / "in", fmt)
    literal = tmp_path / "in" / f"evg[1].{fmt}"
    files["events"].rename(literal)
    decoy = [{**row, "headline": "DECOY"} for row in raw_tables()["events"]]
    write_all({"events": decoy}, tmp_path / "decoy", fmt)["events"].rename(tmp_path / "in" / f"evg1.{fmt}")
    files["events"] = literal
    assert _import(files) == 0
    manifest = json.loads(paths.manifest_path("mine").read_text())
    assert manifest["production"]["inputs"]["events"]["sha256"] == mf.sha256_file(literal)
    assert "DECOY" not in mf.load_dataset("mine", paths).events["headline"].to_list()


def test_stale_import_temp_folders_are_removed_at_the_next_import(paths, tmp_path):
    pid = _dead_pid()
    paths.data_dir.mkdir(parents=True)
    (paths.data_dir / f".mine.tmp-{pid}").mkdir()  # the layout before versioned folders
    (paths.data_dir / "mine").mkdir()
    (paths.data_dir / "mine" / f".1.tmp-{pid}-x").mkdir()
    paths.manifest_dir.mkdir(parents=True)
    (paths.manifest_dir / f".mine.json.tmp-{pid}").write_text("{")
    assert _import(write_all(raw_tables(), tmp_path / "a", "csv")) == 0
    assert sorted(p.name for p in paths.data_dir.iterdir()) == ["mine"]
    assert sorted(p.name for p in (paths.data_dir / "mine").iterdir()) == ["1"]
    assert sorted(p.name for p in paths.manifest_dir.iterdir()) == ["mine.json"]
