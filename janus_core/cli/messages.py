"""One-line error messages for the ``janus`` subcommands: a library error becomes ``janus CMD: what``
on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (with the count of the rest for a multi-line one, such as
    a data validation error listing every problem); an ``OSError`` as ``path: reason``."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{where}: {exc.strerror}" if where else exc.strerror
    if hasattr(exc, "errors") and callable(exc.errors):  # pydantic.ValidationError: name the first field
        try:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err.get("loc", ()))
            more = len(exc.errors()) - 1
            return f"{loc}: {err.get('msg')}" + (f" (and {more} more)" if more else "")
        except (IndexError, TypeError, AttributeError):
            pass
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    head = lines[0]
    if len(lines) > 1 and head.rstrip().endswith(":"):  # "N data problem(s):" then one per line
        head = f"{head.rstrip()} {lines[1].strip()}" + (f" (and {len(lines) - 2} more)" if len(lines) > 2 else "")
    return head


def fail(command: str, exc: BaseException, code: int = 1) -> int:
    """Print ``janus COMMAND: <one line>`` on stderr and return the exit code."""
    print(f"janus {command}: {one_line(exc)}", file=sys.stderr)
    return code
