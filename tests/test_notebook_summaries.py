"""The notebooks' headless summaries are library calls on typed results: each is computed here
directly on the demo sample (no notebook run) and compared with the committed reference
``tests/notebook_refs/<name>.json`` that ``tests/test_notebooks.py`` compares the headless runs with,
so the library and the notebooks cannot drift apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest
from conftest import REPO_ROOT

from janus_core.backtest import engine, studies
from janus_core.backtest.study import BacktestStudyConfig, backtest_study
from janus_core.data import store
from janus_core.data.catalog import explore_events, sql_engine
from janus_core.data.manifest import load_dataset
from janus_core.data.store import view_name
from janus_core.decide.reward import HgrmConfig
from janus_core.decide.study import reward_study
from janus_core.evidence.output import point_latest
from janus_core.evidence.verify import verify_evidence
from janus_core.pipeline import ExportConfig, export, wall_clock
from janus_core.study import cache
from janus_core.study.cache import cache_key, cached_car_study
from janus_core.study.car import CarConfig
from janus_core.study.event_study import event_study
from janus_core.study.labels import LabelConfig, SplitConfig, car_study

REFS = REPO_ROOT / "tests" / "notebook_refs"


def _as_written(summary: dict) -> str:
    """A summary as the notebooks write it (sorted keys, 2-space indent) and the test reads it back."""
    return (
        json.dumps(
            json.loads(json.dumps(summary, sort_keys=True, indent=2)), sort_keys=True, indent=2, ensure_ascii=False
        )
        + "\n"
    )


def _reference(name: str) -> str:
    return (REFS / f"{name}.json").read_text()


@pytest.fixture(scope="module")
def demo(sample_workspace):
    return load_dataset("synthetic-ashare", sample_workspace)


def test_events_summary(demo, sample_workspace, tmp_path):
    conn = sql_engine(demo.name, sample_workspace)
    try:
        counts = conn.sql(
            f'SELECT event_type, count(*) AS n FROM "{view_name(demo.name, "events")}" GROUP BY event_type'
        ).pl()
    finally:
        conn.close()
    events = explore_events(demo)
    assert _as_written(events.write(tmp_path, counts)) == _reference("events")
    assert (tmp_path / "events-summary.json").read_text() == _reference("events")


def test_car_summary(demo, sample_workspace):
    study = event_study(demo, CarConfig(), LabelConfig(), cache_dir=sample_workspace.cache_dir)
    assert _as_written(study.summary()) == _reference("car")


def test_cached_car_study_is_the_study(demo, tmp_path):
    cfg, label = CarConfig(), LabelConfig(neutral_band=0.001)
    fresh = car_study(demo, cfg, label)
    first = cached_car_study(demo, cfg, label, cache_dir=tmp_path)
    assert list((tmp_path / "car").glob("*.parquet")) and first.equals(fresh)
    again = cached_car_study(demo, cfg, label, cache_dir=tmp_path)
    assert again.equals(fresh) and again.schema == fresh.schema
    other = cached_car_study(demo, cfg, LabelConfig(neutral_band=0.002), cache_dir=tmp_path)
    assert len(list((tmp_path / "car").glob("*.parquet"))) == 2
    assert not other["direction"].equals(fresh["direction"])
    # an unreadable entry is recomputed and replaced
    for entry in (tmp_path / "car").glob("*.parquet"):
        entry.write_bytes(b"not parquet")
    assert cached_car_study(demo, cfg, label, cache_dir=tmp_path).equals(fresh)
    key = cache_key(demo, cfg, label, SplitConfig())
    assert pl.read_parquet(tmp_path / "car" / f"{key}.parquet").equals(fresh)


@pytest.fixture(scope="module")
def labelled(demo, sample_workspace):
    return cached_car_study(demo, CarConfig(), cache_dir=sample_workspace.cache_dir)


def test_reward_summary(demo, labelled, tmp_path):
    study = reward_study(demo, labelled, HgrmConfig())
    written = study.write(tmp_path)
    assert _as_written(written) == _reference("reward")
    assert json.loads((tmp_path / "reward-summary.json").read_text()) == written
    assert {k: v for k, v in written.items() if k != "training_records"} == study.summary()


def test_backtest_summary(demo, labelled, tmp_path):
    study = backtest_study(demo, labelled)
    written = study.write(tmp_path)
    assert _as_written(written) == _reference("backtest")
    assert {p.name for p in tmp_path.iterdir()} == {
        "nav.parquet",
        "holding_period_sweep.parquet",
        "metrics.parquet",
        "per_type.parquet",
        "backtest-summary.json",
    }


def test_backtest_study_config_refuses_unknown_policies_and_a_missing_baseline():
    with pytest.raises(ValueError, match="rule: one or more of"):
        BacktestStudyConfig(policies=("oracle", "typeprior"))
    with pytest.raises(ValueError, match="baseline: 'random' is not among"):
        BacktestStudyConfig(policies=("oracle",))
    with pytest.raises(ValueError):
        BacktestStudyConfig(windw="test")


def test_evidence_summary_run_folders_latest_and_a_wall_clock_run_record(sample_workspace, tmp_path):
    root = tmp_path / "evidence"
    before = wall_clock()
    first = export(
        ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=root, run_folders=True),
        sample_workspace,
    )
    assert first.out_dir == root / first.run_id
    assert _as_written(first.summary) == _reference("evidence")
    assert json.loads((first.out_dir / "evidence-summary.json").read_text()) == first.summary
    latest = root / "latest"
    assert latest.is_symlink() and os.readlink(latest) == first.run_id
    assert verify_evidence(latest, sample_workspace) == []
    second = export(
        ExportConfig(
            dataset="synthetic-ashare",
            decisions="type_prior",
            out_dir=root,
            run_folders=True,
            candidate_id="another-candidate",
            report=False,
        ),
        sample_workspace,
    )
    assert second.run_id != first.run_id and os.readlink(latest) == second.run_id
    assert (root / first.run_id / "evidence-summary.json").is_file()
    runs = store.runs(sample_workspace).filter(pl.col("run_id").is_in([first.run_id, second.run_id]))
    assert runs["run_id"].to_list() == [first.run_id, second.run_id]  # ordered by created_at
    assert runs["out_dir"].to_list() == [str(root / first.run_id), str(root / second.run_id)]
    generated = json.loads((first.out_dir / "run-manifest.json").read_text())["generated_at"]
    assert all(before <= t <= wall_clock() for t in runs["created_at"].to_list())
    assert generated not in runs["created_at"].to_list()


def test_point_latest_replaces_the_link(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    point_latest(tmp_path, "a")
    point_latest(tmp_path, "b")
    assert os.readlink(tmp_path / "latest") == "b" and (tmp_path / "latest").resolve() == (tmp_path / "b").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "latest"]


def test_backtest_study_backtests_each_policy_and_config_once(demo, labelled, monkeypatch):
    calls: list[tuple[str, str]] = []
    real = engine.run_backtest

    def counting(ds, decisions, window, cfg, weights=None):
        calls.append((decisions["strategy_id"][0], cfg.model_dump_json()))
        return real(ds, decisions, window, cfg, weights)

    monkeypatch.setattr(engine, "run_backtest", counting)
    cfg = BacktestStudyConfig(policies=("type_prior", "random"))
    study = backtest_study(demo, labelled, cfg)
    assert len(calls) == len(set(calls)) == 2 * (1 + 9 + 1 + 3)  # main run; sweep points not shared with it
    direct = studies.config_sweep(
        demo,
        study.decisions["random"],
        study.window,
        cfg.backtest,
        "holding_period",
        cfg.holding_periods,
        engine.historical_type_weights(labelled),
    )
    assert study.sweeps["holding_period"].filter(pl.col("policy") == "random").drop("policy").equals(direct)


def test_the_cache_key_follows_data_configs_and_code(demo, monkeypatch):
    base = cache.cache_key(demo, CarConfig(), LabelConfig(), SplitConfig())
    assert base != cache.cache_key(demo, CarConfig(gap=5), LabelConfig(), SplitConfig())
    assert base != cache.cache_key(demo, CarConfig(), LabelConfig(neutral_band=0.001), SplitConfig())
    monkeypatch.setattr(cache, "code_digest", lambda: "another version of the library")
    assert base != cache.cache_key(demo, CarConfig(), LabelConfig(), SplitConfig())


def test_the_events_sql_engine_never_opens_the_store(demo, sample_workspace, tmp_path):
    paths = sample_workspace.model_copy(update={"store": tmp_path / "absent.duckdb"})
    conn = sql_engine(demo.name, paths)
    try:
        query = f'SELECT count(*) FROM "{view_name(demo.name, "events")}"'
        assert conn.execute(query).fetchone()[0] == demo.events.height
        # another process can write the store while the notebook's SQL engine is open
        code = (
            "import sys; from janus_core.data import store; from janus_core.paths import WorkbenchPaths; "
            "store.connect(WorkbenchPaths(data_dir=sys.argv[1], manifest_dir=sys.argv[1], store=sys.argv[2]))"
            ".close()"
        )
        subprocess.run([sys.executable, "-c", code, str(tmp_path), str(sample_workspace.store)], check=True)
    finally:
        conn.close()
    assert not paths.store.exists()
