"""Notebook tests, the way nbval tests Jupyter notebooks: every notebook in ``notebooks/`` runs
headless as a script on the demo sample, and its key outputs (``OUT/<name>-summary.json``) are
compared with the committed reference ``tests/notebook_refs/<name>.json``; a change fails with a diff.
``pytest tests/test_notebooks.py --regen-refs`` rewrites the references. ``marimo check`` must be clean.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, workspace_env

NOTEBOOKS = sorted(p.stem for p in (REPO_ROOT / "notebooks").glob("*.py"))
REFS = REPO_ROOT / "tests" / "notebook_refs"
#: Extra command-line flags a notebook needs beyond ``--dataset`` and ``--out``.
EXTRA_ARGS: dict[str, list[str]] = {"evidence": ["--decisions", "type_prior"]}


def _pretty(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_headless_and_matches_reference(name, sample_workspace, tmp_path, regen_refs):
    out = tmp_path / name
    cmd = [sys.executable, str(REPO_ROOT / "notebooks" / f"{name}.py"), "--dataset", "synthetic-ashare",
           "--out", str(out), *EXTRA_ARGS.get(name, [])]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=workspace_env(sample_workspace), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{name} failed headless:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    summary_path = out / f"{name}-summary.json"
    assert summary_path.is_file(), f"{name} wrote no {summary_path.name}; stderr:\n{proc.stderr[-2000:]}"
    actual = _pretty(json.loads(summary_path.read_text()))
    ref = REFS / f"{name}.json"
    if regen_refs:
        REFS.mkdir(parents=True, exist_ok=True)
        ref.write_text(actual)
        return
    assert ref.is_file(), f"no reference {ref.relative_to(REPO_ROOT)}; run pytest with --regen-refs -k {name}"
    expected = ref.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"reference/{name}.json", f"actual/{name}.json"))
        pytest.fail(f"{name} outputs changed from the committed reference:\n{diff}")


def test_marimo_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "marimo", "check", "--strict", *sorted(
        str(p) for p in (REPO_ROOT / "notebooks").glob("*.py"))], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), f"marimo check:\n{proc.stdout}\n{proc.stderr}"
