"""``janus decide`` end to end: the text baseline, a Python callable and an OpenAI-compatible
endpoint (a test server on 127.0.0.1) decide on the demo, write a decisions file with lineage that
``janus export`` accepts, and the evidence's ``model_refs`` name the model."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import polars as pl
import pytest
from chat_server import ChatServer, answer

from janus_core.backtest.metrics import BootstrapConfig, decision_metrics
from janus_core.cli import main
from janus_core.data.manifest import load_dataset
from janus_core.decide.decisions import DECISION_SCHEMA, load_decisions
from janus_core.decide.lineage import (
    LINEAGE_KEY,
    LineageError,
    decisions_content_hash,
    read_lineage,
    write_decisions,
)
from janus_core.decide.models import (
    RECORD_COLUMNS,
    DecideConfig,
    DecideError,
    ModelSpec,
    decide,
    parse_model_spec,
)
from janus_core.decide.policies import make_decisions
from janus_core.decide.prompts import (
    TEMPLATE_DIR,
    decision_events,
    load_template,
    messages,
)
from janus_core.evidence.verify import verify_evidence
from janus_core.hashing import H, sha256_file
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline import ExportConfig, export
from janus_core.research import bootstrap_mean_ci, compare_decisions
from janus_core.study.car import CarConfig
from janus_core.study.labels import car_study


@pytest.fixture
def ws(sample_workspace, tmp_path, monkeypatch):
    """The demo workspace with a private research store (so completion caches do not mix)."""
    paths = WorkbenchPaths(
        data_dir=sample_workspace.data_dir, manifest_dir=sample_workspace.manifest_dir, store=tmp_path / "store.duckdb"
    )
    monkeypatch.setenv("JANUS_DATA_DIR", str(paths.data_dir))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", str(paths.manifest_dir))
    monkeypatch.setenv("JANUS_STORE", str(paths.store))
    return paths


@pytest.fixture(scope="module")
def labelled(sample_workspace):
    return car_study(load_dataset("synthetic-ashare", sample_workspace), CarConfig())


def _export(paths, decisions, out):
    return export(
        ExportConfig(dataset="synthetic-ashare", decisions=str(decisions), out_dir=out, record_run=False, report=False),
        paths,
    )


def _model_refs(evidence_dir, doc="janus-event-car-v1.json"):
    return json.loads((evidence_dir / "gates" / doc).read_text())["lineage"]["model_refs"]


def test_cli_text_baseline_then_export_names_the_fitted_model(ws, tmp_path, capsys):
    out = tmp_path / "d" / "tb.parquet"
    assert main(["decide", "--dataset", "synthetic-ashare", "--model", "text-baseline", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    model_file = tmp_path / "d" / "tb.text-baseline.json"
    assert model_file.is_file() and str(model_file) in printed
    first = out.read_bytes()

    lineage = read_lineage(out)
    assert lineage["fitted_model_sha256"] == sha256_file(model_file)
    assert lineage["template"] == {"name": "decision-v1", "sha256": load_template().sha256}
    assert lineage["model_id"] == "text-baseline" and lineage["split"] == "test" and lineage["malformed"] == 0
    loaded = load_decisions(out)
    assert lineage["decisions_content_hash"] == decisions_content_hash(loaded)
    assert list(loaded.columns[: len(DECISION_SCHEMA)]) == list(DECISION_SCHEMA)
    assert set(RECORD_COLUMNS) <= set(loaded.columns)
    row = loaded.row(0, named=True)
    assert row["prompt_hash"] == H(messages(row["prompt_system"], row["prompt_user"]))
    assert row["template_hash"] == load_template().sha256

    result = _export(ws, out, tmp_path / "ev")
    refs = _model_refs(tmp_path / "ev", "janus-hgrm-reward-v1.json")
    assert refs == _model_refs(tmp_path / "ev")
    assert refs[:5] == [
        f"decisions:sha256:{sha256_file(out)}",
        "model:text-baseline",
        f"template:decision-v1:sha256:{load_template().sha256}",
        f"fitted_model:sha256:{sha256_file(model_file)}",
        f"decisions_content:sha256:{lineage['decisions_content_hash']}",
    ]
    assert refs[5].startswith("car:") and refs[6].startswith("reward:hgrm:") and len(refs) == 7
    assert verify_evidence(tmp_path / "ev", ws) == []
    assert result.evidence["hgrm_reward"]["reward_count"] == loaded.height

    # same inputs, same bytes; the saved model reloaded gives the same decisions file
    assert main(["decide", "--dataset", "synthetic-ashare", "--model", "text-baseline", "--out", str(out)]) == 0
    assert out.read_bytes() == first
    again = tmp_path / "again.parquet"
    assert (
        main(["decide", "--dataset", "synthetic-ashare", "--model", f"text-baseline:{model_file}", "--out", str(again)])
        == 0
    )
    assert again.read_bytes() == first


def test_tampered_rows_are_refused_by_the_export(ws, tmp_path, capsys):
    out = tmp_path / "tb.parquet"
    result = decide(DecideConfig(model="text-baseline", limit=30), ws)
    write_decisions(result.decisions, result.lineage, out)
    meta = pl.read_parquet_metadata(out)
    # flip the action and its completion together, so the completion check passes and only the
    # lineage (the hash of the rows) can tell
    flipped = pl.read_parquet(out).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("hold")).otherwise(pl.col("action")).alias("action")
    )
    first = flipped.row(0, named=True)
    said = re.sub(r"action: \w+", "action: hold", first["completion"], count=1)
    flipped = flipped.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(said)).otherwise(pl.col("completion")).alias("completion")
    )
    flipped.write_parquet(out, metadata={LINEAGE_KEY: meta[LINEAGE_KEY]})
    with pytest.raises(LineageError) as info:
        _export(ws, out, tmp_path / "ev")
    assert "does not match the rows" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "ev").exists()
    assert (
        main(
            [
                "export",
                "--dataset",
                "synthetic-ashare",
                "--decisions",
                str(out),
                "--out",
                str(tmp_path / "ev"),
                "--no-record",
                "--no-report",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"janus export: {out}: lineage decisions_content_hash")


def test_a_decisions_file_without_lineage_still_exports(ws, tmp_path, labelled):
    plain = tmp_path / "plain.parquet"
    test_ids = decision_events(labelled, "test", limit=20).select("event_id")
    make_decisions("type_prior", labelled).join(test_ids, on="event_id", how="semi").write_parquet(plain)
    assert read_lineage(plain) is None
    _export(ws, plain, tmp_path / "ev")
    refs = _model_refs(tmp_path / "ev")
    assert refs[0] == f"decisions:sha256:{sha256_file(plain)}" and refs[1].startswith("car:") and len(refs) == 3


def test_text_baseline_refuses_the_splits_it_was_fitted_on(ws):
    with pytest.raises(DecideError, match="fitted on the train split; decide on a later split"):
        decide(DecideConfig(model="text-baseline", split="train"), ws)


def test_callable_models_decide_and_malformed_output_is_kept(ws):
    good = decide(DecideConfig(model="decide_models:always_long", limit=6), ws)
    d = good.decisions
    assert d["action"].to_list() == ["long"] * 6 and d["format_ok"].all()
    source = __import__("decide_models").__file__
    assert d["model_fingerprint"].unique().to_list() == [hashlib.sha256(open(source, "rb").read()).hexdigest()]
    assert good.lineage["model_id"] == "callable:decide_models:always_long"

    bad = decide(DecideConfig(model="decide_models:chatty", limit=6), ws)
    assert bad.lineage["malformed"] == 6 and not bad.decisions["format_ok"].any()
    assert bad.decisions["action"].unique().to_list() == ["hold"]
    assert bad.decisions["format_error"].str.contains("sections must be").all()

    with pytest.raises(
        DecideError, match=r"model 'decide_models:broken' raised on event \w+: RuntimeError: model crashed"
    ):
        decide(DecideConfig(model="decide_models:broken", limit=2), ws)
    with pytest.raises(DecideError, match="returned int"):
        decide(DecideConfig(model="decide_models:not_text", limit=2), ws)
    with pytest.raises(DecideError, match="has no callable 'nothing'"):
        decide(DecideConfig(model="decide_models:nothing", limit=2), ws)


def test_openai_model_decides_caches_and_exports(ws, tmp_path):
    with ChatServer() as srv:
        spec = f"openai:test-model@{srv.url}"
        cfg = DecideConfig(model=spec, limit=8, endpoint={"backoff_s": 0.0, "concurrency": 3})
        first = decide(cfg, ws)
        assert (first.stats.requests, first.stats.cache_hits) == (8, 0)
        a = tmp_path / "a.parquet"
        write_decisions(first.decisions, first.lineage, a)
        second = decide(cfg, ws)
        assert (second.stats.requests, second.stats.cache_hits, second.stats.cache_hit_rate) == (0, 8, 1.0)
        b = tmp_path / "b.parquet"
        write_decisions(second.decisions, second.lineage, b)
        assert a.read_bytes() == b.read_bytes()
        assert decide(cfg.model_copy(update={"refresh": True}), ws).stats.requests == 8

        edited = tmp_path / "decision-v1-edit.txt"
        edited.write_text((TEMPLATE_DIR / "decision-v1.txt").read_text().replace("Decision day:", "Trading day:"))
        changed = decide(cfg.model_copy(update={"prompt": cfg.prompt.model_copy(update={"template": str(edited)})}), ws)
        assert changed.stats.requests == 8 and changed.lineage["template"]["name"] == "decision-v1-edit"
        assert decide(cfg.model_copy(update={"endpoint": {**cfg.endpoint, "seed": 1}}), ws).stats.requests == 8
        assert srv.requests == 8 + 0 + 8 + 8 + 8

    for row in first.decisions.iter_rows(named=True):
        assert row["completion"] == answer(row["prompt_system"] + "\n" + row["prompt_user"])
        assert row["model_fingerprint"] == "fp_test_1" and row["model_id"] == f"openai:test-model@{srv.url}"
    lineage = read_lineage(a)
    assert lineage["model_fingerprints"] == ["fp_test_1"]
    assert lineage["sampling"] == {"temperature": 0.0, "seed": 20260219, "max_tokens": 1024}
    export(ExportConfig(dataset="synthetic-ashare", decisions=str(a), out_dir=tmp_path / "ev", record_run=False), ws)
    refs = _model_refs(tmp_path / "ev")
    assert refs[1:3] == [f"model:openai:test-model@{srv.url}", "model_fingerprint:fp_test_1"]
    assert verify_evidence(tmp_path / "ev", ws) == []
    report = (tmp_path / "ev" / "report.html").read_text()
    assert f"model:openai:test-model@{srv.url}" in report
    assert "Malformed completions: 0 of 8 decisions" in report


def test_endpoint_failures_become_malformed_decisions(ws, labelled, tmp_path):
    events = decision_events(labelled, "test", limit=10)
    failing = set(events["headline"].to_list()[2:5])
    with ChatServer(
        lambda prompt, attempt: "500" if any(f"Headline: {h}\n" in prompt for h in failing) else "ok"
    ) as srv:
        result = decide(
            DecideConfig(model=f"openai:m@{srv.url}", limit=10, endpoint={"backoff_s": 0.0, "max_retries": 1}), ws
        )
    assert srv.requests == 7 + 3 * 2
    d = result.decisions
    failed = d.filter(pl.col("completion").is_null())
    assert set(failed["event_id"].to_list()) == set(events["event_id"].to_list()[2:5])
    assert result.stats.failures == failed.height == result.lineage["malformed"] == 3
    assert (failed["format_error"] == "endpoint: HTTP 500 after 2 attempt(s)").all()
    assert (failed["action"] == "hold").all() and not failed["format_ok"].any()
    out = tmp_path / "failed.parquet"
    write_decisions(d, result.lineage, out)
    ev = export(
        ExportConfig(dataset="synthetic-ashare", decisions=str(out), out_dir=tmp_path / "ev", record_run=False), ws
    )
    assert ev.evidence["hgrm_reward"]["reward_count"] == 10  # failed completions are scored, not dropped
    assert "Malformed completions: 3 of 10 decisions" in (tmp_path / "ev" / "report.html").read_text()


def test_cli_errors_are_one_line(ws, tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cases = [
        (["--model", "gpt-4", "--out", str(tmp_path / "x.parquet")], "expected text-baseline"),
        (["--model", "openai:m", "--out", str(tmp_path / "x.parquet")], "expected openai:MODEL@URL"),
        (["--model", "text-baseline", "--out", str(tmp_path / "x.csv")], "name it *.parquet"),
        (
            ["--model", f"openai:m@http://127.0.0.1:{port}/v1", "--out", str(tmp_path / "x.parquet"), "--limit", "2"],
            "is unreachable",
        ),
        (
            ["--model", "text-baseline", "--concurrency", "2", "--out", str(tmp_path / "x.parquet")],
            "apply to openai:MODEL@URL models only",
        ),
        (["--model", "text-baseline", "--template", "nope", "--out", str(tmp_path / "x.parquet")], "no such file"),
    ]
    for extra, message in cases:
        assert main(["decide", "--dataset", "synthetic-ashare", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("janus decide: ") and message in err[-1], err
    assert not (tmp_path / "x.parquet").exists()


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("text-baseline", ModelSpec("text-baseline")),
        ("text-baseline:models/m.json", ModelSpec("text-baseline", path="models/m.json")),
        (
            "openai:qwen2.5:7b@http://127.0.0.1:11434/v1",
            ModelSpec("openai", model="qwen2.5:7b", url="http://127.0.0.1:11434/v1"),
        ),
        ("openai:gpt@https://api.example.com/v1", ModelSpec("openai", model="gpt", url="https://api.example.com/v1")),
        ("my_pkg.models:decide", ModelSpec("callable", target="my_pkg.models:decide")),
    ],
)
def test_model_specs(spec, parsed):
    assert parse_model_spec(spec) == parsed


def test_bootstrap_mean_ci_matches_a_plain_python_resampling():
    values = np.array([0.3, -1.2, 2.5, 0.0, 0.7, 1.1, -0.4])
    mean, lo, hi = bootstrap_mean_ci(values, n_boot=400, alpha=0.1, seed=3)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(values), size=(400, len(values)))
    draws = sorted(sum(values[j] for j in row) / len(values) for row in idx.tolist())
    assert mean == pytest.approx(sum(values) / len(values))
    assert lo == pytest.approx(float(np.quantile(draws, 0.05))) and hi == pytest.approx(float(np.quantile(draws, 0.95)))
    # a known answer: the interval of a large normal sample covers the mean +- 1.96 sd / sqrt(n)
    big = np.random.default_rng(0).normal(1.0, 2.0, 4000)
    m, lo2, hi2 = bootstrap_mean_ci(big, n_boot=2000, alpha=0.05, seed=0)
    assert (hi2 - lo2) == pytest.approx(2 * 1.96 * big.std(ddof=1) / np.sqrt(big.size), rel=0.1)


def test_compare_decisions_reports_the_library_metrics(ws):
    result = decide(DecideConfig(model="text-baseline"), ws)
    labelled = result.labelled
    ids = result.decisions.select("event_id")
    named = {
        "text-baseline": result.decisions,
        **{p: make_decisions(p, labelled).join(ids, on="event_id", how="semi") for p in ("random", "sentiment")},
    }
    table = compare_decisions(named, labelled, boot=BootstrapConfig(n_boot=300))
    assert table["policy"].to_list() == ["random", "sentiment", "text-baseline"]
    for row in table.iter_rows(named=True):
        m = decision_metrics(named[row["policy"]], labelled)
        assert row["da"] == pytest.approx(m["da"]) and row["eta"] == pytest.approx(m["eta"])
        assert row["da_lo"] <= row["da"] <= row["da_hi"] and row["reward_lo"] <= row["mean_reward"] <= row["reward_hi"]
        assert row["n"] == ids.height
    assert table.filter(pl.col("policy") == "random")["da_diff"].item() == 0.0


def test_text_baseline_on_the_real_megacap_sample_exports_with_complete_lineage(tmp_path_factory, monkeypatch):
    from janus_core.data.samples import build_sample

    root = tmp_path_factory.mktemp("megacap")
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "manifests", store=root / "janus.duckdb")
    build_sample("us-megacap", paths, progress=False)
    for key, value in (
        ("JANUS_DATA_DIR", paths.data_dir),
        ("JANUS_MANIFEST_DIR", paths.manifest_dir),
        ("JANUS_STORE", paths.store),
    ):
        monkeypatch.setenv(key, str(value))
    out = root / "mc.parquet"
    assert main(["decide", "--dataset", "us-megacap", "--model", "text-baseline", "--out", str(out)]) == 0
    assert (
        main(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                str(out),
                "--out",
                str(root / "ev"),
                "--no-record",
                "--no-report",
            ]
        )
        == 0
    )
    refs = _model_refs(root / "ev")
    assert f"fitted_model:sha256:{sha256_file(root / 'mc.text-baseline.json')}" in refs
    evidence = json.loads((root / "ev" / "gates" / "janus-q-evidence-v1.json").read_text())
    assert evidence["evidence_complete"] is True
    assert verify_evidence(root / "ev", paths) == []
