"""Output folders that never destroy what is not ours, and the hidden temp folders of atomic writes.

Every command that writes a folder (``janus export --out``, ``janus car --out``, ``janus report``,
``janus data import``) follows one rule: it writes only to

- a path that does not exist,
- an empty folder (nothing to lose), or
- a folder that is *recognisably an earlier output of the same kind* (for an evidence export: its
  ``run-manifest.json`` present and valid; for ``janus car``: its ``car-summary.json``),

and otherwise refuses with :class:`OutputRefused`, a one-line message. There is no ``--force``: a
folder that is not ours is for its owner to remove.

Atomic writes go through hidden sibling temp folders named ``.NAME.tmp-PID-RANDOM`` (and
``.NAME.old-PID-RANDOM`` for the previous output while it is being swapped out). The process id
lets the next run tell a folder left by a killed process from one in use:
:func:`clean_stale_temp_folders` removes the stale ones (restoring a previous output a run was
killed in the middle of swapping out) and returns what it did, so the command can report it.
:func:`hidden_temp_folder` tells whether a path is (inside) such a folder: ``verify`` refuses them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

#: ``.NAME.tmp-PID-RANDOM`` / ``.NAME.old-PID-RANDOM`` (the PID of the process that made it).
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)(?:-[A-Za-z0-9_]+)?$")


class OutputRefused(ValueError):
    """An output path is not ours to replace (one-line message naming the path and the rule)."""


def check_output_target(path: str | Path, kind: str, recognise: Callable[[Path], bool]) -> None:
    """Raise :class:`OutputRefused` unless ``path`` may be written as an output of ``kind``: it does not
    exist, it is an empty folder, or it is a folder ``recognise(path)`` accepts (an earlier output of
    the same kind). A file, a symlink or any other folder is refused."""
    p = Path(path)
    if not os.path.lexists(p):
        return
    if p.is_symlink():
        raise OutputRefused(
            f"{p}: is a symbolic link; rule: {kind} writes only to an absent path or an earlier {kind} folder"
        )
    if not p.is_dir():
        raise OutputRefused(
            f"{p}: exists and is not a folder; rule: {kind} writes only to an absent path or an "
            f"earlier {kind} folder, never over a file"
        )
    try:
        empty = not any(p.iterdir())
    except OSError as exc:
        raise OutputRefused(
            f"{p}: cannot be read ({exc.strerror or exc}); rule: {kind} checks a folder before replacing it"
        ) from exc
    if empty or recognise(p):
        return
    raise OutputRefused(
        f"{p}: exists and is not an earlier {kind} folder; rule: {kind} writes only to an absent "
        f"path, an empty folder or its own earlier output; choose another path or remove it yourself"
    )


def temp_sibling(path: Path, kind: str = "tmp") -> Path:
    """Create and return a hidden sibling folder ``.NAME.KIND-PID-RANDOM`` of ``path``."""
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.{kind}-{os.getpid()}-", dir=path.parent))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def hidden_temp_folder(path: str | Path) -> bool:
    """True when ``path`` or its parent is a hidden temp folder of an atomic write (``.NAME.tmp-*`` or
    ``.NAME.old-*``): an unfinished or abandoned output, never evidence."""
    p = Path(os.path.abspath(path))
    return any(_TEMP_RE.match(part.name) is not None for part in (p, p.parent))


def clean_stale_temp_folders(path: str | Path) -> list[str]:
    """Remove the hidden temp folders (or files) of ``path`` (siblings ``.NAME.tmp-PID[-*]`` /
    ``.NAME.old-PID[-*]``) whose process is no longer running, and say what was done, one line each.

    A stale ``.old`` folder holds the previous output a killed run was swapping out (in its
    ``previous`` subfolder, or as the folder itself): when ``path`` is missing, that previous output
    is moved back into place instead of deleted. Folders of a
    running process are left alone and reported."""
    target = Path(os.path.abspath(path))
    parent = target.parent
    if not parent.is_dir():
        return []
    notes: list[str] = []
    for entry in sorted(parent.iterdir()):
        m = _TEMP_RE.match(entry.name)
        if m is None or m.group("name") != target.name:
            continue
        pid = int(m.group("pid"))
        if _pid_alive(pid):
            if pid != os.getpid():
                notes.append(f"left {entry}: temp folder of running process {pid}")
            continue
        if m.group("kind") == "old" and entry.is_dir() and not os.path.lexists(target):
            # the previous output a killed run was swapping out: put it back rather than delete it
            previous = entry / "previous" if (entry / "previous").is_dir() else entry
            os.rename(previous, target)
            notes.append(f"restored {target} from {entry}, left by killed process {pid}")
            if previous == entry:
                continue
        is_folder = entry.is_dir() and not entry.is_symlink()
        if is_folder:
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        notes.append(f"removed stale temp {'folder' if is_folder else 'file'} {entry} of killed process {pid}")
    return notes
