"""The two phases of a sweep on an engine (package docstring, "Engines"): phase 1 computes the
missing labelled tables (one task per CAR config), phase 2 the configurations in chunks sharing a
labelled table; :class:`SweepRows` keeps the rows as they arrive, cached and counted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from janus_core.data.manifest import load_dataset
from janus_core.paths import WorkbenchPaths
from janus_core.sweep.cache import Keys, atomic_write, cache_path, read_row, write_row
from janus_core.sweep.engines import (
    EvalTask,
    LocalEngine,
    PrepareTask,
    RayEngine,
    WorkerDied,
    local_evaluate,
    local_prepare,
    ray_evaluate,
    ray_prepare,
)
from janus_core.sweep.evaluate import Outcome, error_row, error_status
from janus_core.sweep.grid import SweepPoint, SweepSettings


class Progress(BaseModel):
    """Counts reported after each finished configuration (cached ones count at the start)."""

    model_config = ConfigDict(frozen=True)

    total: int
    done: int
    failed: int
    cached: int


class SweepRows:
    """The result rows of a sweep by row key: those in the cache at the start, then each computed
    one as it finishes (:meth:`finish` caches it), with the progress counts reported to
    ``progress`` after each."""

    def __init__(self, keys: Sequence[Keys], root: Path, progress: Callable[[Progress], None] | None) -> None:
        self.root, self.progress = root, progress
        self.rows: dict[str, Outcome] = {}
        for k in dict.fromkeys(k.row for k in keys):
            path = cache_path(root, "rows", k)
            if path.is_file():
                self.rows[k] = read_row(path)
        self.total = len(keys)
        self.cached = sum(1 for k in keys if k.row in self.rows)
        self.done = self.cached
        self.failed = sum(1 for k in keys if k.row in self.rows and self.rows[k.row][0]["status"] != "ok")
        self.report()
        #: Row key -> the indices of the configurations that still need it.
        self.todo: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            if k.row not in self.rows:
                self.todo.setdefault(k.row, []).append(i)
        #: Labelled key -> the row keys still to compute on that labelled table.
        self.by_labelled: dict[str, list[str]] = {}
        for row_key, idx in self.todo.items():
            self.by_labelled.setdefault(keys[idx[0]].labelled, []).append(row_key)

    def report(self) -> None:
        if self.progress is not None:
            self.progress(Progress(total=self.total, done=self.done, failed=self.failed, cached=self.cached))

    def finish(self, row_key: str, outcome: Outcome, cache: bool = True) -> None:
        """Keep ``outcome`` as the row of ``row_key`` (cached unless ``cache`` is false) and report."""
        self.rows[row_key] = outcome
        if cache:
            write_row(cache_path(self.root, "rows", row_key), outcome)
        n = len(self.todo[row_key])
        self.done += n
        self.failed += n if outcome[0]["status"] != "ok" else 0
        self.report()


def _chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Phases:
    """Phase 1 (missing labelled tables) and phase 2 (the configurations) on ``runner``; on Ray the
    dataset, the decisions and the labelled tables go through the object store once."""

    def __init__(
        self,
        runner: LocalEngine | RayEngine,
        points: Sequence[SweepPoint],
        keys: Sequence[Keys],
        rows: SweepRows,
        root: Path,
        settings: SweepSettings,
    ) -> None:
        self.runner, self.points, self.keys, self.rows = runner, points, keys, rows
        self.root, self.settings = root, settings
        self.counts = {"car": 0, "labelled": 0}
        self.prepare_errors: dict[str, str] = {}
        self.died: set[str] = set()  # labelled tables whose worker died: their rows are not cached
        self.labelled_refs: dict[str, Any] = {}
        self.ds_ref: Any = None
        self.dec_ref: Any = None

    def run(self, decisions: pl.DataFrame | None, paths: WorkbenchPaths, chunk: int) -> dict[str, int]:
        """Both phases; the numbers of CAR and labelled tables computed (``car``, ``labelled``)."""
        prepare = self.prepare_tasks()
        if isinstance(self.runner, RayEngine):
            self.ds_ref = self.runner.put(load_dataset(self.settings.dataset, paths))
            self.dec_ref = self.runner.put(decisions)
        self.run_prepare(prepare)
        self.run_evaluate(self.eval_tasks(chunk))
        return self.counts

    def prepare_tasks(self) -> list[PrepareTask]:
        """One :class:`PrepareTask` per CAR config with a labelled table missing from the cache."""
        first_of = {k.labelled: i for i, k in reversed(list(enumerate(self.keys)))}
        missing = [lk for lk in self.rows.by_labelled if not cache_path(self.root, "labelled", lk).is_file()]
        by_car: dict[str, list[str]] = {}
        for lk in missing:
            by_car.setdefault(self.keys[first_of[lk]].car, []).append(lk)
        return [
            PrepareTask(
                car_key=ck,
                car=self.points[first_of[lks[0]]].car,
                car_cached=cache_path(self.root, "car", ck).is_file(),
                labelled_keys=tuple(lks),
                specs=tuple((self.points[first_of[lk]].label, self.points[first_of[lk]].split) for lk in lks),
            )
            for ck, lks in by_car.items()
        ]

    def run_prepare(self, prepare: Sequence[PrepareTask]) -> None:
        """Phase 1: the CAR and labelled tables into the cache, or each labelled key's error."""
        outs: dict[int, list[Any]] = {}
        if isinstance(self.runner, RayEngine):
            refs: dict[Any, int] = {}
            for i, task in enumerate(prepare):
                car_table = (
                    self.runner.put(pl.read_parquet(cache_path(self.root, "car", task.car_key)))
                    if task.car_cached
                    else None
                )
                out = self.runner.submit(
                    ray_prepare, self.ds_ref, task.car, car_table, list(task.specs), num_returns=1 + len(task.specs)
                )
                outs[i] = out
                refs[out[0]] = i
            results: Iterable[tuple[int, Any]] = self.runner.wait_all(refs)
        else:
            results = self.runner.map(local_prepare, prepare)
        for i, value in results:
            self._prepared(prepare[i], value, outs.get(i))

    def _prepared(self, task: PrepareTask, value: Any, out: list[Any] | None) -> None:
        """Cache one phase-1 result (``out``: its Ray refs), or record its error per labelled key."""
        if isinstance(value, BaseException):
            for lk in task.labelled_keys:
                self.prepare_errors[lk] = f"error: {value}" if isinstance(value, WorkerDied) else error_status(value)
                if isinstance(value, WorkerDied):
                    self.died.add(lk)
            return
        try:
            if out is not None:  # Ray: the CAR table, then the labelled tables' refs
                car_table = value
                labelled = self.runner.ray.get(out[1:])
                self.labelled_refs.update(zip(task.labelled_keys, out[1:], strict=True))
            else:
                car_table, labelled = value
        except Exception as exc:  # noqa: BLE001 - a failed CAR/label task is reported in its rows
            for lk in task.labelled_keys:
                self.prepare_errors[lk] = error_status(exc)
            return
        if not task.car_cached:
            atomic_write(cache_path(self.root, "car", task.car_key), car_table)
            self.counts["car"] += 1
        for lk, frame in zip(task.labelled_keys, labelled, strict=True):
            atomic_write(cache_path(self.root, "labelled", lk), frame)
            self.counts["labelled"] += 1

    def eval_tasks(self, chunk: int) -> list[EvalTask]:
        """Phase 2's tasks, ``chunk`` configurations each; the rows of a labelled table that could
        not be built are finished with its error instead."""
        tasks: list[EvalTask] = []
        todo = self.rows.todo
        for lk, row_keys in self.rows.by_labelled.items():
            if lk in self.prepare_errors:
                for rk in row_keys:
                    self.rows.finish(rk, (error_row(self.prepare_errors[lk]), None), cache=lk not in self.died)
                continue
            for part in _chunks(row_keys, chunk):
                points = tuple(self.points[todo[rk][0]] for rk in part)
                tasks.append(EvalTask(labelled_key=lk, row_keys=tuple(part), points=points))
        return tasks

    def submit(self, batch: Sequence[EvalTask]) -> Iterable[tuple[int, Any]]:
        """``(index, value)`` of the tasks of ``batch`` as they complete."""
        if not isinstance(self.runner, RayEngine):
            return self.runner.map(local_evaluate, batch)
        refs = {}
        for i, t in enumerate(batch):
            lref = self.labelled_refs.get(t.labelled_key)
            if lref is None:
                lref = self.labelled_refs[t.labelled_key] = self.runner.put(
                    pl.read_parquet(cache_path(self.root, "labelled", t.labelled_key))
                )
            args = (self.ds_ref, lref, self.dec_ref, self.settings, list(t.points))
            refs[self.runner.submit(ray_evaluate, *args)] = i
        return self.runner.wait_all(refs)

    def run_evaluate(self, tasks: Sequence[EvalTask]) -> None:
        """Phase 2: every row finished; a chunk whose worker died is retried one configuration per
        task, one at a time, so that a death is that configuration's."""
        retry: list[EvalTask] = []
        for i, value in self.submit(tasks):
            task = tasks[i]
            if isinstance(value, WorkerDied):
                pairs = zip(task.row_keys, task.points, strict=True)
                retry += [EvalTask(task.labelled_key, (rk,), (pt,)) for rk, pt in pairs]
                continue
            if isinstance(value, BaseException):
                value = [(error_row(error_status(value)), None)] * len(task.row_keys)
            for rk, outcome in zip(task.row_keys, value, strict=True):
                self.rows.finish(rk, outcome)
        for task in retry:
            for _, value in self.submit([task]):
                if isinstance(value, WorkerDied):
                    self.rows.finish(task.row_keys[0], (error_row(f"error: {value}"), None), cache=False)
                elif isinstance(value, BaseException):
                    self.rows.finish(task.row_keys[0], (error_row(error_status(value)), None))
                else:
                    self.rows.finish(task.row_keys[0], value[0])
