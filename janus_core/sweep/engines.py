"""The engines a sweep runs its tasks on: a local ``spawn`` process pool or a Ray cluster."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from janus_core.data.dataset import Dataset
from janus_core.data.manifest import load_dataset
from janus_core.paths import WorkbenchPaths
from janus_core.study.car import CarConfig
from janus_core.study.labels import LabelConfig, SplitConfig
from janus_core.sweep.cache import cache_path
from janus_core.sweep.evaluate import Outcome, evaluate_chunk, prepare_labelled
from janus_core.sweep.grid import SweepPoint, SweepSettings

# --------------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------------
Engine = Literal["local", "ray"]


@dataclass(frozen=True)
class PrepareTask:
    """Phase 1: the labelled tables of one CAR config (``labelled_keys`` in ``specs`` order)."""

    car_key: str
    car: CarConfig
    car_cached: bool
    labelled_keys: tuple[str, ...]
    specs: tuple[tuple[LabelConfig, SplitConfig], ...]


@dataclass(frozen=True)
class EvalTask:
    """Phase 2: configurations (``row_keys`` for ``points``) sharing the labelled table ``labelled_key``."""

    labelled_key: str
    row_keys: tuple[str, ...]
    points: tuple[SweepPoint, ...]


class WorkerDied(RuntimeError):
    """A worker process ended while running a task (killed, out of memory, crashed)."""


#: Per-process state of a local worker (set by :func:`init_local_worker`).
_LOCAL: dict[str, Any] = {}


def init_local_worker(
    dataset: str, paths: WorkbenchPaths, cache: Path, decisions: pl.DataFrame | None, settings: SweepSettings
) -> None:
    _LOCAL.clear()
    _LOCAL.update(ds=load_dataset(dataset, paths), cache=cache, decisions=decisions, settings=settings, labelled={})


def local_prepare(task: PrepareTask) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    car_table = pl.read_parquet(cache_path(_LOCAL["cache"], "car", task.car_key)) if task.car_cached else None
    return prepare_labelled(_LOCAL["ds"], task.car, car_table, task.specs)


def local_evaluate(task: EvalTask) -> list[Outcome]:
    memo: dict[str, pl.DataFrame] = _LOCAL["labelled"]
    if task.labelled_key not in memo:
        memo.clear()  # chunks arrive grouped by labelled table: keep one in memory
        memo[task.labelled_key] = pl.read_parquet(cache_path(_LOCAL["cache"], "labelled", task.labelled_key))
    return evaluate_chunk(_LOCAL["ds"], memo[task.labelled_key], _LOCAL["decisions"], _LOCAL["settings"], task.points)


class LocalEngine:
    """A ``spawn`` process pool of ``workers`` processes (each running ``initializer(*initargs)``
    first); a broken pool (a worker died) is replaced on the next :meth:`map`. ``inline`` runs the
    tasks in this process instead, one after the other (``run_sweep`` with one worker: no process
    start-up, but a task that kills its process kills the sweep)."""

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        inline: bool = False,
    ) -> None:
        self.workers = max(1, workers)
        self.inline = inline
        self.initialized = False
        self.initializer = initializer
        self.initargs = initargs
        self.pool: cf.ProcessPoolExecutor | None = None

    def _pool(self) -> cf.ProcessPoolExecutor:
        if self.pool is None:
            self.pool = cf.ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=self.initializer,
                initargs=self.initargs,
            )
        return self.pool

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` as tasks complete; a task that raised yields its exception, one whose
        worker died a :class:`WorkerDied`."""
        if self.inline:
            yield from self._map_inline(fn, tasks)
            return
        # The workers are started while submitting, with SIGINT ignored (inherited across spawn): a
        # Ctrl-C reaches only this process, which stops the pool (:meth:`close`) with the cache intact.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            pool = self._pool()
            futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        for fut in cf.as_completed(futures):
            try:
                yield futures[fut], fut.result()
            except cf.process.BrokenProcessPool as exc:
                self.close()
                yield futures[fut], WorkerDied(f"worker died: {exc}")
            except Exception as exc:  # noqa: BLE001 - the task's own error, reported in its rows
                yield futures[fut], exc

    def _map_inline(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if not self.initialized and self.initializer is not None:
            self.initializer(*self.initargs)
        self.initialized = True
        for i, task in enumerate(tasks):
            try:
                value = fn(task)
            except Exception as exc:  # noqa: BLE001 - the task's own error, as from a pool
                value = exc
            yield i, value

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down; with ``cancel`` (an interrupt) drop the queued tasks and end the
        running ones at once."""
        if self.pool is not None:
            pool, self.pool = self.pool, None
            if cancel:
                processes = list(getattr(pool, "_processes", {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for proc in processes:
                    proc.terminate()
                for proc in processes:
                    proc.join()
            else:
                pool.shutdown(wait=True)


def ray_prepare(
    ds: Dataset, car_cfg: CarConfig, car_table: pl.DataFrame | None, specs: Sequence[tuple[LabelConfig, SplitConfig]]
) -> tuple[Any, ...]:
    table, labelled = prepare_labelled(ds, car_cfg, car_table, specs)
    return (table, *labelled)


def ray_evaluate(
    ds: Dataset,
    labelled: pl.DataFrame,
    decisions: pl.DataFrame | None,
    settings: SweepSettings,
    points: Sequence[SweepPoint],
) -> list[Outcome]:
    return evaluate_chunk(ds, labelled, decisions, settings, points)


def disable_uv_run_hook() -> None:
    """Turn off Ray's "uv run" runtime-environment hook for a local cluster. Its workers run this
    interpreter and environment, so re-creating the environment per worker from the working directory
    is not needed, and it breaks when the driver was started through a relative path to uv (a
    bootstrapped ``.tools/bin/uv``: the workers look for it inside Ray's copy of the working directory
    and never start). Ray reads the switch at import and at ``ray.init``, so both are set."""
    os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
    from ray._private import ray_constants  # the switch ray.init reads (no public API for it)

    ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False


class RayEngine:
    """Tasks on a Ray cluster: ``ray.init(address=...)``, or a local cluster of ``workers`` CPUs
    (shut down again by :meth:`close`; a cluster already initialised in this process is used as it
    is and left running). Inputs go through the object store. The cluster's nodes need this
    workbench installed in the same version (the tasks are this module's functions)."""

    def __init__(self, address: str | None, workers: int) -> None:
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # read when Ray is first imported
        import ray  # Ray is loaded only for this engine

        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                ray.init(address=address, **kwargs)
            else:
                disable_uv_run_hook()
                ray.init(num_cpus=max(1, workers), **kwargs)
        self.remote: dict[Callable[..., Any], Any] = {}

    def put(self, value: Any) -> Any:
        return self.ray.put(value)

    def submit(self, fn: Callable[..., Any], *args: Any, num_returns: int = 1) -> Any:
        """``fn(*args)`` as a Ray task (no retries: a dead worker is reported, not hidden); its ref,
        or a list of ``num_returns`` refs."""
        if fn not in self.remote:
            self.remote[fn] = self.ray.remote(max_retries=0)(fn)
        return self.remote[fn].options(num_returns=num_returns).remote(*args)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` of ``fn(task)`` as tasks complete (as :meth:`LocalEngine.map`)."""
        return self.wait_all({self.submit(fn, t): i for i, t in enumerate(tasks)})

    def wait_all(self, refs: Mapping[Any, int]) -> Iterator[tuple[int, Any]]:
        """``(index, value)`` as the refs complete; a task that raised yields its exception (the cause
        Ray wrapped), one whose worker died a :class:`WorkerDied`."""
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield refs[ref], self.ray.get(ref)
                except (
                    self.ray.exceptions.WorkerCrashedError,
                    self.ray.exceptions.NodeDiedError,
                    self.ray.exceptions.ActorDiedError,
                    self.ray.exceptions.ObjectLostError,
                ) as exc:
                    yield refs[ref], WorkerDied(f"worker died: {type(exc).__name__}")
                except self.ray.exceptions.RayTaskError as exc:  # the task's own error, as the local engine has it
                    cause = getattr(exc, "cause", None)
                    yield refs[ref], cause if isinstance(cause, BaseException) else exc

    def close(self, cancel: bool = False) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
