"""The folder layout is the architecture: no import cycles inside ``janus_core``, every module imports
only from its own step or the steps below it, no function-level imports of ``janus_core`` outside the
CLI's lazy subcommand loading, and reading evidence never loads the computation."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "janus_core"

#: The layers, bottom up; a module may import from its own layer and the layers before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("janus_core", "janus_core.hashing", "janus_core.paths"),
    ("janus_core.data",),
    ("janus_core.study",),
    ("janus_core.decide",),
    ("janus_core.backtest",),
    ("janus_core.evidence",),
    ("janus_core.research",),
    ("janus_core.sweep",),
    ("janus_core.report",),
    ("janus_core.pipeline", "janus_core.provenance"),
    ("janus_core.cli",),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    best = -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix != "janus_core" and (module == prefix or module.startswith(prefix + ".")):
                best = i
    return 0 if best < 0 else best


def janus_imports(path: Path) -> list[tuple[str, ast.AST, bool]]:
    """``(imported module, node, at top level)`` for every import of a ``janus_core`` module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    top |= {id(n) for node in tree.body if isinstance(node, ast.If) for n in node.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("janus_core"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.append((full if full in MODULES else node.module, node, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(a.name, node, id(node) in top) for a in node.names if a.name.startswith("janus_core")]
    return found


def import_graph() -> dict[str, set[str]]:
    return {m: {dep for dep, _, _ in janus_imports(p) if dep in MODULES and dep != m} for m, p in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_every_import_goes_down_the_layers():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {dep} (layer {layer_of(dep)})"
        for module, deps in import_graph().items()
        for dep in deps
        if layer_of(dep) > layer_of(module)
    ]
    assert upward == []


def test_no_function_level_imports_of_janus_core():
    """Only the CLI imports lazily (one subcommand's library on demand, so ``janus --help`` is fast)."""
    inner = [
        f"{path.relative_to(ROOT)}:{node.lineno} imports {dep}"
        for module, path in MODULES.items()
        if not module.startswith("janus_core.cli")
        for dep, node, at_top in janus_imports(path)
        if not at_top
    ]
    assert inner == []


@pytest.mark.parametrize("module", ["janus_core.evidence.gate", "janus_core"])
def test_reading_evidence_does_not_load_the_computation(module):
    code = (
        f"import sys, {module}; heavy = sorted(m for m in ('polars', 'scipy', 'altair', 'numpy', 'duckdb') "
        f"if m in sys.modules); print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_public_api_resolves():
    import janus_core

    assert janus_core.__all__ == ["__version__", *sorted(n for n in janus_core.__all__ if n != "__version__")]
    for name in janus_core.__all__:
        assert getattr(janus_core, name) is not None, name
    with pytest.raises(AttributeError):
        janus_core.no_such_entry_point  # noqa: B018


#: The house rules' sizes: a module longer than this is two modules.
MAX_MODULE_LINES = 600
#: A function longer than this is split, unless its docstring has a line starting with LONG_MARKER.
MAX_FUNCTION_LINES = 80
LONG_MARKER = "Long because:"


def long_functions(source: str, where: str) -> list[str]:
    """``where:line name (N lines)`` of every function of ``source`` longer than
    :data:`MAX_FUNCTION_LINES` whose docstring gives no reason (a line starting with :data:`LONG_MARKER`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            reasoned = any(line.strip().startswith(LONG_MARKER) for line in doc.splitlines())
            if length > MAX_FUNCTION_LINES and not reasoned:
                found.append(f"{where}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_size_check_finds_a_long_function_and_accepts_a_reason():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n", "m.py") == [f"m.py:1 f ({MAX_FUNCTION_LINES + 1} lines)"]
    assert long_functions(f"def f():\n{body[: body.rindex(chr(10))]}\n", "m.py") == []
    reason = f'    """Builds one table.\n\n    {LONG_MARKER} one linear builder."""\n'
    assert long_functions(f"def f():\n{reason}{body}\n", "m.py") == []


def test_modules_and_functions_are_small():
    """Every module at most MAX_MODULE_LINES lines; every function at most MAX_FUNCTION_LINES lines
    unless its docstring states why (a line starting with LONG_MARKER). Lists every offender."""
    offenders = []
    for path in MODULES.values():
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            offenders.append(f"{rel}: module of {lines} lines")
        offenders += long_functions(source, rel)
    assert not offenders, (
        f"{len(offenders)} over the size rules (module <= {MAX_MODULE_LINES} lines, function <= "
        f"{MAX_FUNCTION_LINES} lines or a '{LONG_MARKER}' line in its docstring):\n" + "\n".join(offenders)
    )
