"""The ``janus`` command line: a table of wrong invocations (each one line on stderr, non-zero exit,
no traceback), ``--debug``, ``--version``, a closed output pipe, help on every option, one spelling
per idea, and light imports for ``--help`` and ``gate``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("polars", "numpy", "scipy", "altair", "duckdb", "pyarrow", "statsmodels", "marimo")


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    (root / "empty-evidence").mkdir()
    (root / "bad-policy.json").write_text("{not json")
    return {
        "root": str(root),
        "missing": str(root / "missing"),
        "empty": str(root / "empty-evidence"),
        "bad_policy": str(root / "bad-policy.json"),
        "out": str(root / "out"),
    }


def janus(argv: list[str], root: str, **kw) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        JANUS_DATA_DIR=f"{root}/data",
        JANUS_MANIFEST_DIR=f"{root}/manifests",
        JANUS_STORE=f"{root}/store.duckdb",
    )
    return subprocess.run(
        [sys.executable, "-m", "janus_core.cli", *argv], env=env, capture_output=True, text=True, **kw
    )


IMPORT = [
    "data",
    "import",
    "x",
    "--events",
    "{missing}.csv",
    "--prices",
    "{missing}.csv",
    "--benchmarks",
    "{missing}.csv",
    "--securities",
    "{missing}.csv",
    "--provenance",
    "synthetic_generated",
]

#: (argv, exit code, a fragment of the one stderr line)
WRONG: list[tuple[list[str], int, str]] = [
    ([], 2, "janus: error: the following arguments are required: COMMAND"),
    (["bogus"], 2, "invalid choice: 'bogus'"),
    (["gate"], 2, "janus gate: error: the following arguments are required: DIR"),
    (["gate", "{missing}"], 2, "janus gate: {missing}: evidence folder not found"),
    (["gate", "{empty}", "--target", "moon"], 2, "invalid choice: 'moon'"),
    (["gate", "{empty}", "--frobnicate"], 2, "janus gate: error: unrecognized arguments: --frobnicate"),
    (["gate", "{empty}", "--policy", "p.json"], 2, "unrecognized arguments: --policy"),
    (["gate", "{empty}", "--gate-policy", "{missing}.json"], 2, "{missing}.json: gate policy file not found"),
    (["gate", "{empty}", "--gate-policy", "{bad_policy}"], 2, "the gate policy must be a JSON object"),
    (["verify", "{missing}"], 2, "janus verify: {missing}: evidence folder not found"),
    (["report", "{missing}"], 2, "janus report: {missing}: evidence folder not found"),
    (["report", "{empty}", "--evidence-only"], 2, "unrecognized arguments: --evidence-only"),
    (
        ["export", "--decisions", "typeprior", "--out", "{out}"],
        2,
        "not a baseline policy (oracle, type_prior, sentiment, always_long, always_hold, random)",
    ),
    (
        ["export", "--dataset", "synthetic_ashare", "--decisions", "type_prior", "--out", "{out}"],
        2,
        "janus export: no manifest",
    ),
    (["export", "--decisions", "type_prior"], 2, "the following arguments are required: --out"),
    (
        ["export", "--decisions", "type_prior", "--out", "{out}", "--report-target", "live"],
        2,
        "unrecognized arguments: --report-target live",
    ),
    (["car", "--dataset", "nope", "--out", "{out}"], 2, "janus car: no manifest"),
    (["car", "--out", "{out}", "--event-window", "zero"], 2, "expected 'a,b'"),
    (["car", "--out", "{out}", "--event-window", "2,0"], 2, "invalid settings: event_window (2, 0)"),
    (["car", "--out", "{out}", "--estimation-window", "ten"], 2, "invalid int value: 'ten'"),
    (["data"], 2, "janus data: error: the following arguments are required: COMMAND"),
    (["data", "verify", "nope"], 2, "janus data verify: no manifest"),
    (["data", "build", "nope"], 2, "invalid choice: 'nope'"),
    (["data", "register", "nope"], 1, "no manifest"),
    ([*IMPORT, "--timezone", "Asia/Shanghai"], 2, "file(s) not found: --events {missing}.csv"),
    ([*IMPORT, "--timezone", "Mars/Olympus"], 2, "Mars/Olympus"),
    ([*IMPORT, "--timezone", "Asia/Shanghai", "--version", "2"], 2, "unrecognized arguments: --version 2"),
]


@pytest.mark.parametrize(("argv", "code", "fragment"), WRONG, ids=[" ".join(w[0]) or "(nothing)" for w in WRONG])
def test_wrong_invocation_is_one_line_and_non_zero(ws, argv, code, fragment):
    result = janus([a.format(**ws) for a in argv], ws["root"])
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert fragment.format(**ws) in lines[0]


def test_debug_shows_the_traceback(ws):
    result = janus(["--debug", "gate", ws["missing"]], ws["root"])
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "FileNotFoundError" in result.stderr
    result = janus(["gate", ws["missing"], "--debug"], ws["root"])  # accepted after the command too
    assert "Traceback" in result.stderr


def test_version(ws):
    from janus_core import __version__

    result = janus(["--version"], ws["root"])
    assert result.returncode == 0 and result.stdout == f"janus {__version__}\n"


def test_closed_output_pipe_ends_quietly(ws):
    """``janus gate DIR | head -c1`` when the reader is gone before the verdict is written."""
    env = dict(os.environ, JANUS_MANIFEST_DIR=f"{ws['root']}/manifests")
    proc = subprocess.Popen(
        [sys.executable, "-m", "janus_core.cli", "gate", ws["empty"]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait() == 141 and err == b""


def test_gate_output_is_the_verdict_json(ws):
    result = janus(["gate", ws["empty"]], ws["root"])
    assert result.returncode == 1 and result.stderr == ""
    verdict = json.loads(result.stdout)
    assert verdict["target"] == "paper" and verdict["promotable"] is False


def _parsers(parser: argparse.ArgumentParser, name: str = "janus"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_has_help_and_one_spelling_per_idea():
    from janus_core.cli import build_parser

    options: dict[str, dict[str, argparse.Action]] = {}
    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
            for opt in action.option_strings:
                options.setdefault(opt, {})[name] = action
    for old in ("--evidence-only", "--report-target", "--policy", "--version"):
        assert old not in options or set(options[old]) == {"janus"}, old
    for opt, commands in [
        ("--target", {"janus export", "janus gate", "janus report"}),
        ("--no-dataset", {"janus verify", "janus report", "janus gate"}),
        ("--gate-policy", {"janus gate", "janus report", "janus export"}),
        (
            "--dataset",
            {"janus export", "janus car", "janus decide", "janus backtest", "janus sweep", "janus notebooks"},
        ),
    ]:
        assert set(options[opt]) == commands, opt
        assert len({(a.default, tuple(a.choices or ()), a.required) for a in options[opt].values()}) == 1, opt


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["--help"], set()),
        # the gate verifies the folder first (hashes, claims, the runs registry: polars, numpy, duckdb),
        # but never renders charts or runs statistics
        (["gate", "{empty}", "--no-dataset"], {"polars", "numpy", "duckdb"}),
    ],
)
def test_help_and_gate_do_not_import_the_heavy_libraries(ws, argv, allowed):
    code = (
        "import sys, contextlib, io\n"
        "from janus_core.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({[a.format(**ws) for a in argv]!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(ws["root"]))
    assert result.returncode == 0, result.stderr
    assert set(eval(result.stdout.strip())) <= allowed  # noqa: S307 - a printed list of module names


def test_store_commands_exit_without_noise(sample_workspace, tmp_path):
    """Commands that open the DuckDB store close it: nothing on stderr at exit (no "nanobind: leaked")."""
    from conftest import workspace_env

    env = workspace_env(sample_workspace)
    for argv in (
        ["data", "register", "synthetic-ashare"],
        ["data", "list"],
        ["export", "--decisions", "always_long", "--out", str(tmp_path / "ev"), "--no-report"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "janus_core.cli", *argv], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0 and result.stderr == "", (argv, result.stderr)
    from janus_core.data import store

    assert store.runs(sample_workspace).height >= 1  # the export recorded its run
