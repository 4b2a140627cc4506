"""Shared measuring helpers of the benchmark scripts: one measurement per fresh process, its peak
memory from ``/proc/self/status``, a timeout per cell, the load average, and Markdown tables.

A worker process prints one JSON line last (``report``); the parent runs it with ``run_worker``,
which returns that dict, or ``{"timeout": seconds}`` / ``{"memory_gib": cap}`` when the worker was
killed at the timeout or the memory cap, or ``{"error": message}`` when it failed. Peak memory is
``VmHWM`` (the process's own high-water mark: unlike ``ru_maxrss`` it does not inherit the parent's
peak across fork + exec), interpreter and libraries included.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Keys every worker report carries.
REPORT_KEYS = ("wall", "cpu", "peak_mib")


def status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now; VmHWM: peak), MiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``, its wall seconds and its CPU seconds (all threads of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def median_seconds(fn: Callable[[], object], repeats: int, warmup: bool = False) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn`` (after one untimed call with ``warmup``)."""
    if warmup:
        fn()
    return statistics.median(timed(fn)[1] for _ in range(repeats))


def report(wall: float, cpu: float, **extra: Any) -> None:
    """Print the worker's JSON line: wall and CPU seconds of the measured step, this process's peak
    RSS (MiB; unless ``extra`` has ``peak_mib``, read before a reference ran in the same process) and
    any extra figures."""
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": status_mib("VmHWM"), **extra}), flush=True)


def _descendants(pid: int) -> list[int]:
    """The process ids of every process below ``pid`` (children of all its threads, recursively)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *_descendants(kid)]
    return found


def _status_of(pid: int, field: str) -> float:
    """A memory figure (``VmRSS``, ``VmHWM``) of process ``pid`` in MiB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreePeak:
    """Peak resident memory of this process and the processes it starts (e.g. the report's chart
    renderer), while the ``with`` block runs: ``peak_mib`` is the largest sum of their VmRSS sampled
    every ``interval`` seconds, and never less than this process's own VmHWM (a sample can miss a
    short peak; the process's own high-water mark cannot); ``children_mib`` the largest VmHWM of the
    processes below it still running at the end of the block (their own peaks), so ``this VmHWM +
    children_mib`` bounds the combined peak from above."""

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.sampled = 0.0
        self.children_mib = 0.0
        self.peak_mib = float("nan")
        self._stop = threading.Event()

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            self.sampled = max(self.sampled, sum(_status_of(p, "VmRSS") for p in [me, *_descendants(me)]))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.children_mib = max([_status_of(p, "VmHWM") for p in _descendants(os.getpid())], default=0.0)
        self._stop.set()
        self._thread.join()
        self.peak_mib = max(self.sampled, status_mib("VmHWM"))


#: Default cap on a worker's resident memory: the machine is shared, and an unoptimised step at 10x
#: events could otherwise take all of it.
MAX_RSS_GIB = 12.0


def _rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` (MiB; 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_worker(
    cmd: Sequence[str],
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    max_rss_gib: float = MAX_RSS_GIB,
) -> dict[str, Any]:
    """Run one worker process; its last JSON line, plus ``process_s`` (the whole process: start-up,
    imports, untimed setup and the step). A worker still running after ``timeout`` seconds is killed
    (``{"timeout": timeout}``), one whose resident memory passes ``max_rss_gib`` too
    (``{"memory_gib": max_rss_gib}``); a failed one gives ``{"error": ...}`` (exit code and the last
    line of stderr). Output goes through files, so a chatty worker cannot block on a full pipe."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})}, cwd=cwd
        )
        killed: dict[str, Any] = {}
        while proc.poll() is None:
            if time.perf_counter() - t0 > timeout:
                killed = {"timeout": timeout}
            elif _rss_mib(proc.pid) > max_rss_gib * 1024:
                killed = {"memory_gib": max_rss_gib}
            if killed:
                proc.kill()
                proc.wait()
                return killed
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        lines = [ln for ln in out.read().strip().splitlines() if ln.startswith("{")]
        stderr = err.read().strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {(stderr or ['(no stderr)'])[-1]}"}
    return {**json.loads(lines[-1]), "process_s": elapsed}


def python_cmd(script: str | Path, *args: str) -> list[str]:
    """The command running ``script`` with this interpreter (the same environment)."""
    return [sys.executable, str(script), *args]


def load_line() -> str:
    """The 1, 5 and 15 minute load averages and the core count, for the printout."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def cell_text(result: dict[str, Any]) -> str:
    """A result as a table cell: ``12.3 s, 456 MiB``, ``timeout >600 s``, ``killed >12 GiB``,
    ``error`` or ``-``."""
    if not result:
        return "-"
    if "timeout" in result:
        return f"timeout >{result['timeout']:.0f} s"
    if "memory_gib" in result:
        return f"killed >{result['memory_gib']:g} GiB"
    if "error" in result:
        return "error"
    return f"{result['wall']:.2f} s, {result['peak_mib']:,.0f} MiB"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table (first column left-aligned, the others right-aligned)."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
