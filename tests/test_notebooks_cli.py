"""``janus notebooks`` (what ``make run`` uses): several notebooks headless in one process write
exactly what each writes when run alone as ``python notebooks/NAME.py`` (the committed notebook
references), and a notebook that stops stops the run with its exit status."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO_ROOT, workspace_env

from janus_core.paths import WorkbenchPaths


def _pretty(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_two_notebooks_in_one_process_match_their_references(sample_workspace, tmp_path):
    cmd = [sys.executable, "-m", "janus_core.cli", "notebooks", "notebooks/events.py", "notebooks/car.py"]
    cmd += ["--dataset", "synthetic-ashare", "--out", str(tmp_path)]
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, env=workspace_env(sample_workspace), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stderr == ""
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == ["events", "car"]
    for name in ("events", "car"):
        written = json.loads((tmp_path / name / f"{name}-summary.json").read_text())
        assert _pretty(written) == (REPO_ROOT / "tests" / "notebook_refs" / f"{name}.json").read_text(), name


def test_a_notebook_that_stops_stops_the_run(tmp_path):
    env = workspace_env(
        WorkbenchPaths(data_dir=tmp_path / "d", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    )
    cmd = [sys.executable, "-m", "janus_core.cli", "notebooks", "notebooks/events.py", "notebooks/car.py"]
    cmd += ["--dataset", "nope", "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert "dataset 'nope' is not built" in proc.stderr
    assert not (tmp_path / "out" / "car").exists()  # the second notebook never ran


def test_a_missing_notebook_is_one_line(tmp_path):
    cmd = [sys.executable, "-m", "janus_core.cli", "notebooks", "notebooks/nope.py", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "janus notebooks: notebook(s) not found: notebooks/nope.py"


def test_a_python_file_that_is_not_a_notebook_is_refused_before_anything_runs(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("open('ran', 'w').write('x')\n")
    events = REPO_ROOT / "notebooks" / "events.py"
    cmd = [sys.executable, "-m", "janus_core.cli", "notebooks", str(events), str(script)]
    proc = subprocess.run(
        cmd + ["--out", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"janus notebooks: not marimo notebooks (no marimo.App): {script}"
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out").exists()
