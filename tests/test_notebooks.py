"""Notebook tests, the way nbval tests Jupyter notebooks: every notebook in ``notebooks/`` runs
headless as a script on the demo sample, and its key outputs (``OUT/<name>-summary.json``) are
compared with the committed reference ``tests/notebook_refs/<name>.json``; a change fails with a diff.
``pytest tests/test_notebooks.py --regen-refs`` rewrites the references. ``marimo check`` must be clean,
every notebook must be committed exactly as marimo writes it (so opening one in the editor changes
nothing), and the project config must make them run when opened.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO_ROOT, workspace_env
from marimo._ast import codegen
from marimo._config.manager import get_default_config_manager
from marimo._convert.common.format import sql_to_marimo
from marimo._convert.converters import MarimoConvert

from janus_core.paths import WorkbenchPaths

NOTEBOOKS = sorted(p.stem for p in (REPO_ROOT / "notebooks").glob("*.py"))
REFS = REPO_ROOT / "tests" / "notebook_refs"
#: Extra command-line flags a notebook needs beyond ``--dataset`` and ``--out``.
EXTRA_ARGS: dict[str, list[str]] = {"evidence": ["--decisions", "type_prior"]}
#: Where a notebook writes its summary under ``--out`` when not at the top (the evidence notebook
#: writes each run to ``OUT/<run_id>/`` and points ``OUT/latest`` at the newest).
SUMMARY_DIR: dict[str, str] = {"evidence": "latest"}


def _pretty(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_headless_and_matches_reference(name, sample_workspace, tmp_path, regen_refs):
    out = tmp_path / name
    cmd = [
        sys.executable,
        str(REPO_ROOT / "notebooks" / f"{name}.py"),
        "--dataset",
        "synthetic-ashare",
        "--out",
        str(out),
        *EXTRA_ARGS.get(name, []),
    ]
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, env=workspace_env(sample_workspace), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{name} failed headless:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert proc.stderr == "", f"{name} printed to stderr:\n{proc.stderr[-2000:]}"
    summary_path = out / SUMMARY_DIR.get(name, "") / f"{name}-summary.json"
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
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), f"reference/{name}.json", f"actual/{name}.json"
            )
        )
        pytest.fail(f"{name} outputs changed from the committed reference:\n{diff}")


def test_a_dataset_that_is_not_built_is_one_line_headless(tmp_path):
    env = workspace_env(
        WorkbenchPaths(data_dir=tmp_path / "d", manifest_dir=tmp_path / "m", store=tmp_path / "s.duckdb")
    )
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "notebooks" / "car.py"), "--dataset", "us-megacap"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"dataset 'us-megacap' is not built under {tmp_path / 'd'} (built: none); "
        f"build it with `janus data build us-megacap`"
    ]


def test_marimo_check_is_clean():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "marimo",
            "check",
            "--strict",
            *sorted(str(p) for p in (REPO_ROOT / "notebooks").glob("*.py")),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), f"marimo check:\n{proc.stdout}\n{proc.stderr}"


#: ``mo.md(<one string literal>)``, the cells the editor opens in its markdown editor
#: (frontend ``MarkdownLanguageAdapter``: raw, f- and plain strings, any quotes).
_MARKDOWN = re.compile(r'mo\.md\(\s*(rf|fr|r|f|)("""|\'\'\'|"|\')(.*)\2\s*\)', re.S)


def _markdown_cell(code: str) -> tuple[str, str] | None:
    """``(quote prefix, markdown)`` of a cell the editor shows as markdown, else None."""
    try:
        (stmt,) = ast.parse(code).body
    except (SyntaxError, ValueError):
        return None
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not (
        isinstance(call, ast.Call)
        and ast.unparse(call.func) == "mo.md"
        and len(call.args) == 1
        and not call.keywords
        and isinstance(call.args[0], (ast.Constant, ast.JoinedStr))
    ):
        return None
    match = _MARKDOWN.fullmatch(code.strip())
    return None if match is None else (match.group(1), textwrap.dedent("\n" + match.group(3) + "\n").strip())


def _sql_cell(code: str) -> tuple[str, str, str | None] | None:
    """``(result name, SQL, engine)`` of a ``NAME = mo.sql(f\"\"\"...\"\"\"[, engine=E])`` cell, the cells
    the editor opens in its SQL editor, else None."""
    try:
        (stmt,) = ast.parse(code).body
    except (SyntaxError, ValueError):
        return None
    if not (
        isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) and ast.unparse(stmt.value.func) == "mo.sql"
    ):
        return None
    match = re.search(r'f"""(.*?)"""', code, re.S)
    engine = next((ast.unparse(k.value) for k in stmt.value.keywords if k.arg == "engine"), None)
    return ast.unparse(stmt.targets[0]), textwrap.dedent("\n" + match.group(1) + "\n").strip(), engine


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_as_marimo_writes_it(name):
    """Opening a notebook in ``marimo edit`` must not change the file: it is exactly what marimo's
    serialiser writes for its cells, and every cell the editor opens in its markdown or SQL editor is
    already in the form those editors write back (marimo's Python mirrors of them:
    ``codegen.construct_markdown_call``, ``convert.common.format.sql_to_marimo``)."""
    source = (REPO_ROOT / "notebooks" / f"{name}.py").read_text(encoding="utf-8")
    rewritten = MarimoConvert.from_py(source).to_py()
    assert rewritten == source, "marimo rewrites it:\n" + "".join(
        difflib.unified_diff(source.splitlines(True), rewritten.splitlines(True), "committed", "as marimo writes it")
    )
    for cell in MarimoConvert.from_py(source).to_ir().cells:
        code = cell.code.strip()
        if (md := _markdown_cell(code)) is not None:
            prefix, text = md
            assert code == codegen.construct_markdown_call(text.replace('""', '"\\"'), '"""', prefix), code
        if (sql := _sql_cell(code)) is not None:
            table, query, engine = sql
            assert code == sql_to_marimo(query, table, engine=engine), code


def test_the_format_check_sees_an_editor_rewrite():
    assert _markdown_cell('mo.md(\n    f"""\n    **{x}**\n    """\n)') == ("f", "**{x}**")
    assert codegen.construct_markdown_call("**{x}**", '"""', "f") != 'mo.md(\n    f"""\n    **{x}**\n    """\n)'
    assert _sql_cell('df = mo.sql(\n    f"""\n    SELECT 1\n    """,\n    engine=conn,\n)') == (
        "df",
        "SELECT 1",
        "conn",
    )
    assert (
        sql_to_marimo("SELECT 1", "df", engine="conn")
        != 'df = mo.sql(\n    f"""\n    SELECT 1\n    """,\n    engine=conn,\n)'
    )


def test_notebooks_run_when_opened():
    config = get_default_config_manager(current_path=str(REPO_ROOT / "notebooks" / "events.py")).get_config()
    assert config["runtime"]["auto_instantiate"] is True
