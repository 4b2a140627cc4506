"""The ``janus`` command: non-notebook utilities.

Each research step registers its subcommands in a small module of this package
(``add_parsers(subparsers)``), listed in :data:`COMMANDS`. Only the module of the command being run
is imported (the others appear in ``janus --help`` by name and one-line help), and those modules
import the library inside their handlers, so ``janus --help`` and ``janus gate`` start in a fraction
of a second.

Errors: a bad command line or a user error (unknown dataset or policy, missing file, invalid
setting, a dataset that no longer matches its manifest, ...) prints one line
``janus CMD: message`` on stderr and exits 2; ``--debug`` shows the traceback instead. A closed
output pipe (``janus gate DIR | head -c1``) ends quietly with exit 141 (128 + SIGPIPE).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from janus_core import __version__

#: Subcommand -> (module of this package that registers it, one-line help), in pipeline order.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("data", "import, verify, list, register and build datasets"),
    "car": ("car", "event study: CAR, labels and exclusions for every event of a dataset"),
    "export": ("evidence", "write the Janus gate evidence of a candidate (and its review report)"),
    "verify": ("evidence", "recompute every hash, summary and digest of an evidence folder"),
    "gate": (
        "evidence",
        "the promotion verdict on an evidence folder, locally: the lane's checks and the research policy",
    ),
    "keygen": ("evidence", "make an Ed25519 key pair for signing evidence and datasets"),
    "report": ("report", "render DIR/report.html, the self-contained review report of an evidence folder"),
    "backtest": ("backtest", "backtest a candidate's decisions without hindsight: trades, NAV and the paper's metrics"),
    "decide": ("decide", "a model's decisions on a dataset's events (text baseline, endpoint, callable, DSPy program)"),
    "sweep": ("sweep", "every configuration of a grid through the pipeline (local or Ray), with DSR, PBO and SPA"),
    "notebooks": ("notebooks", "run marimo notebooks headless in one process (make run)"),
}
#: Exit status of a run that ended with an error (argparse uses the same for a bad command line).
EXIT_ERROR = 2
#: Exit status when stdout was closed by the reader (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141
#: Exit status on Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


def command_help(name: str) -> str:
    """The one-line help of subcommand ``name`` (the modules register their parsers with it)."""
    return COMMANDS[name][1]


class JanusArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line: ``janus CMD: error: ... (see --help)``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        text = " ".join(message.split())
        self.exit(EXIT_ERROR, f"{self.prog}: error: {text} (see '{self.prog} --help')\n")


def _selected(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line: the first argument not starting with '-' (the
    top-level options take no values)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _add_debug(parser: argparse.ArgumentParser) -> None:
    """Accept ``--debug`` on ``parser`` and every subcommand parser below it."""
    if not any("--debug" in a.option_strings for a in parser._actions):
        parser.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="on an error, show the full traceback instead of one line",
        )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                _add_debug(sub)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``janus`` parser. With ``argv``, only the module of the subcommand it names is imported
    and registers full parsers; every other subcommand is listed by name and help. Without
    ``argv``, every module registers (the complete parser, e.g. for documentation)."""
    parser = JanusArgumentParser(
        prog="janus",
        description="Janus-Q research workbench utilities. Each command has its own --help.",
        epilog="Errors print one line on stderr and exit 2; add --debug for the traceback.",
    )
    parser.add_argument(
        "--version", action="version", version=f"janus {__version__}", help="print the version and exit"
    )
    parser.add_argument(
        "--debug", action="store_true", default=False, help="on an error, show the full traceback instead of one line"
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=JanusArgumentParser
    )
    wanted = None if argv is None else _selected(argv)
    modules = dict.fromkeys(module for module, _ in COMMANDS.values())
    for module in modules:
        names = [name for name, (m, _) in COMMANDS.items() if m == module]
        if argv is None or wanted in names:
            importlib.import_module(f"janus_core.cli.{module}").add_parsers(subparsers)
        else:
            for name in names:
                subparsers.add_parser(name, help=command_help(name))
    _add_debug(parser)
    return parser


def _chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand parser ``args`` went through (``janus data build``'s for that command)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return _chosen_parser(chosen, args)
    return parser


def _one_line(exc: BaseException) -> str:
    """An exception as one line: pydantic validation errors as ``field: message; ...``, OS errors as
    ``path: reason``, anything else its message with whitespace collapsed."""
    errors = getattr(exc, "errors", None)
    if type(exc).__name__ == "ValidationError" and callable(errors):
        parts = []
        for e in errors():
            msg = e["msg"].removeprefix("Value error, ")
            parts.append(f"{'.'.join(str(p) for p in e['loc'])}: {msg}" if e["loc"] else msg)
        text = "invalid settings: " + "; ".join(parts)
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text or type(exc).__name__


def _is_user_error(exc: BaseException) -> bool:
    """Errors the user can fix (bad input, settings, files, a dataset that changed): ``OSError``,
    ``ValueError`` (including pydantic's) and the library's own error classes."""
    return isinstance(exc, (OSError, ValueError)) or type(exc).__module__.startswith("janus_core")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the process exit code (each handler's
    own code, ``EXIT_ERROR`` after an error, ``EXIT_BROKEN_PIPE`` when the reader went away)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        _chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    where = " ".join(["janus", *(c for c in (args.command, getattr(args, "data_command", None)) if c)])
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        kind = "" if _is_user_error(exc) else f"internal error ({type(exc).__name__}; rerun with --debug): "
        print(f"{where}: {kind}{_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
