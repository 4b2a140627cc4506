"""The Ray engine on a real local Ray cluster (2 CPUs, no mock): byte-identical results to the local
engine, a failing configuration reported in its row, a dead worker reported."""

from __future__ import annotations

import os

import polars as pl
import pytest

from janus_core import sweep

ray = pytest.importorskip("ray")

GRID = """
[car]
gap = [10, 400]
event_window = [[0, 1], [0, 2]]
[backtest]
round_trip_cost_bps = [0, 10]
"""


@pytest.fixture(scope="module")
def cluster():
    sweep.disable_uv_run_hook()  # as the engine does: a bootstrapped relative uv would stop the workers
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _paths(sample_workspace, tmp_path, monkeypatch, name):
    monkeypatch.setenv("JANUS_SWEEP_CACHE", str(tmp_path / f"cache-{name}"))
    return sample_workspace.model_copy(update={"store": tmp_path / f"{name}.duckdb"})


def test_ray_and_local_write_identical_results(cluster, sample_workspace, tmp_path, monkeypatch):
    grid = sweep.parse_grid(GRID)
    settings = sweep.SweepSettings(spa_reps=100)
    local_paths = _paths(sample_workspace, tmp_path, monkeypatch, "local")
    local = sweep.run_sweep(grid, settings, local_paths, engine="local", workers=1)
    sweep.publish_sweep(local, tmp_path / "local", local_paths)
    ray_paths = _paths(sample_workspace, tmp_path, monkeypatch, "ray")
    remote = sweep.run_sweep(grid, settings, ray_paths, engine="ray", workers=2)
    assert (remote.computed, remote.car_computed, remote.labelled_computed) == (8, 4, 4)
    sweep.publish_sweep(remote, tmp_path / "ray", ray_paths)
    for name in ("results.parquet", "returns.parquet", "overfitting.json"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    # the failing configurations (no estimation window left with a 400-day gap) are rows, not a crash
    failed = remote.results.filter(pl.col("status") != "ok")
    assert failed.height == 4 and set(failed["car.gap"]) == {400}
    assert failed["status"][0].startswith("error: ValueError: labelled: no included event")
    # Ray resumes from the cache it wrote: the labelled tables go to the object store from disk
    again = sweep.run_sweep(grid, settings, ray_paths, engine="ray", workers=2)
    assert again.computed == 0 and again.results.equals(remote.results)
    extended = sweep.run_sweep(
        sweep.parse_grid(GRID.replace("[0, 10]", "[0, 10, 20]")), settings, ray_paths, engine="ray", workers=2
    )
    assert (extended.computed, extended.car_computed, extended.labelled_computed) == (4, 0, 0)


def test_a_dead_ray_worker_is_reported_and_the_other_tasks_finish(cluster):
    def exit_on_two(x: int) -> int:  # a local function: Ray ships it by value
        if x == 2:
            os._exit(3)
        return x * 10

    engine = sweep.RayEngine(None, 2)
    out = dict(engine.map(exit_on_two, [0, 1, 2, 3]))
    assert isinstance(out[2], sweep.WorkerDied) and "WorkerCrashedError" in str(out[2])
    assert {i: v for i, v in out.items() if i != 2} == {0: 0, 1: 10, 3: 30}
    engine.close()
    assert ray.is_initialized()  # a cluster it did not start is left running
