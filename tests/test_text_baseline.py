"""The text baseline (janus_core.decide.text_baseline), trained for real on the demo: saved as canonical
JSON and reloaded bit-identically, predicting exactly what scikit-learn's fitted estimators predict,
deterministic across processes, thread counts and hash seeds, and better than random on the test
split's direction accuracy (paired bootstrap interval)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from conftest import REPO_ROOT, workspace_env

from janus_core.backtest import intervals
from janus_core.data.manifest import load_dataset
from janus_core.decide import prompts
from janus_core.decide import text_baseline as tb
from janus_core.decide.decisions import parse_completion, validate_decisions
from janus_core.decide.policies import make_decisions
from janus_core.study.car import CarConfig
from janus_core.study.labels import car_study


@pytest.fixture(scope="module")
def labelled(sample_workspace):
    return car_study(load_dataset("synthetic-ashare", sample_workspace), CarConfig())


@pytest.fixture(scope="module")
def fitted(labelled):
    train = tb.training_events(labelled, "train")
    cfg = tb.TextBaselineConfig()
    est = tb.fit_estimators(train, cfg)
    return est, tb.TextBaseline.from_estimators(est, cfg, train, {"split": "train"})


def test_saved_model_reloads_bit_identically(fitted, tmp_path):
    _, model = fitted
    data = model.to_bytes()
    again = tb.TextBaseline.from_bytes(data)
    assert again.to_bytes() == data and again.sha256 == model.sha256
    path = model.save(tmp_path / "m.json")
    assert path.read_bytes() == data
    loaded = tb.TextBaseline.load(path)
    assert loaded.to_bytes() == data
    json.loads(data)  # plain JSON, no pickle


def test_reloaded_model_predicts_exactly_what_scikit_learn_fitted(fitted, labelled):
    est, model = fitted
    reloaded = tb.TextBaseline.from_bytes(model.to_bytes())
    events = prompts.decision_events(labelled, "test")
    ours = reloaded.scores(events)
    pred = reloaded.predict(events)
    for head in tb.HEADS:
        clf = est.heads[head]
        X = tb._features(est.vectorizer, events, tb.HEAD_USES_TYPE[head])
        want = clf.decision_function(X)
        got = ours[head] if want.ndim == 2 else ours[head][:, 0]
        np.testing.assert_array_equal(got, want)
        assert pred[head].to_list() == [str(c) for c in clf.predict(X)]
        np.testing.assert_allclose(pred[f"p_{head}"].to_numpy(), clf.predict_proba(X).max(axis=1), rtol=1e-12)


def test_fit_is_the_same_bytes_in_another_process_with_other_threads_and_hash_seed(fitted, labelled, sample_workspace):
    _, model = fitted
    assert tb.fit_text_baseline(labelled, training={"split": "train"}).to_bytes() == model.to_bytes()
    code = (
        "from janus_core.study.car import CarConfig\n"
        "from janus_core.study.labels import car_study\n"
        "from janus_core.data.manifest import load_dataset\n"
        "from janus_core.paths import WorkbenchPaths\n"
        "from janus_core.decide.text_baseline import fit_text_baseline\n"
        "lab = car_study(load_dataset('synthetic-ashare', WorkbenchPaths.from_env()), CarConfig())\n"
        "print(fit_text_baseline(lab, training={'split': 'train'}).sha256)\n"
    )
    env = workspace_env(sample_workspace) | {
        "PYTHONHASHSEED": "4321",
        "OPENBLAS_NUM_THREADS": "2",
        "OMP_NUM_THREADS": "2",
        "POLARS_MAX_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == model.sha256


def test_decisions_are_valid_structured_and_parse_back(fitted, labelled):
    _, model = fitted
    events = prompts.decision_events(labelled, "test")
    d = tb.baseline_decisions(model, events)
    assert validate_decisions(d, "text-baseline").height == events.height == d.height
    for row in d.iter_rows(named=True):
        p = parse_completion(row["completion"])
        assert p.format_ok and (p.action, p.predicted_event_type, p.predicted_strength) == (
            row["action"],
            row["predicted_event_type"],
            row["predicted_strength"],
        )
        assert p.predicted_car == pytest.approx(row["predicted_car"], abs=5e-7)
    pred = model.predict(events)
    assert d["action"].to_list() == [tb.action_of(a, b) for a, b in zip(pred["direction"], pred["strength"])]
    assert d.filter(pl.col("predicted_strength") == "weak")["action"].unique().to_list() in ([], ["hold"])


def test_action_rule():
    assert tb.action_of("positive", "strong") == "long"
    assert tb.action_of("negative", "strong") == "short"
    assert tb.action_of("neutral", "strong") == "hold"
    assert tb.action_of("positive", "weak") == "hold"


def test_beats_random_on_the_test_split_direction_accuracy(fitted, labelled):
    _, model = fitted
    events = prompts.decision_events(labelled, "test")
    test = labelled.filter(pl.col("split") == "test")
    ours = tb.baseline_decisions(model, events)
    rand = make_decisions("random", labelled).join(events.select("event_id"), on="event_id", how="semi")
    diff = intervals.bootstrap_da_diff_ci(ours, rand, test)
    assert diff["n_paired"] == events.height
    assert diff["lo"] > 0.0, (
        f"text baseline DA - random DA = {diff['estimate']:.3f} [{diff['lo']:.3f}, {diff['hi']:.3f}]"
    )


def test_type_head_reads_text_only_and_a_one_class_head_is_constant(labelled):
    train = tb.training_events(labelled, "train").with_columns(pl.lit("strong").alias("strength"))
    cfg = tb.TextBaselineConfig()
    model = tb.TextBaseline.from_estimators(tb.fit_estimators(train, cfg), cfg, train, {})
    h = model.payload["heads"]
    assert h["strength"] == {"classes": ["strong"], "coef": [], "intercept": [], "with_event_type": True}
    n_terms = len(model.payload["vectorizer"]["vocabulary"])
    assert len(h["event_type"]["coef"][0]) == n_terms and len(h["direction"]["coef"][0]) == n_terms + 10
    events = prompts.decision_events(labelled, "test", limit=20)
    assert set(model.predict(events)["strength"].to_list()) == {"strong"}
    # the event-type head ignores the dataset's tag: changing it changes nothing there
    relabelled = events.with_columns(pl.lit("dividend").alias("event_type"))
    assert model.predict(relabelled)["event_type"].equals(model.predict(events)["event_type"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not a JSON text-baseline model"),
        (b'{"schema": "other"}', "schema is 'other'"),
        (b'{"schema": "janus-text-baseline-v1"}', "malformed text-baseline model"),
    ],
)
def test_bad_model_files_fail_with_one_line(data, message):
    with pytest.raises(tb.TextBaselineError) as info:
        tb.TextBaseline.from_bytes(data, "m.json")
    assert message in str(info.value) and str(info.value).startswith("m.json: ") and "\n" not in str(info.value)


def test_too_few_training_events_is_a_clear_error(labelled):
    tiny = labelled.filter(pl.col("split") != "train")
    with pytest.raises(tb.TextBaselineError, match="the train split has 0 included event"):
        tb.fit_text_baseline(tiny)
