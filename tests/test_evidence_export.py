"""The real export on the bundled samples: authority by provenance, verification, the runs table,
the review report rendered with the evidence, the event-study tables and the dataset's source and
licence in the run manifest, byte-identical output across thread counts and hash seeds, and no
half-written folder when the process dies (or the report fails) part-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO_ROOT, workspace_env

from janus_core import pipeline
from janus_core.data import store
from janus_core.evidence import schema
from janus_core.evidence.gate import evaluate_gate, truthfulness_reasons
from janus_core.evidence.verify import verify_evidence
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline import ExportConfig, export
from janus_core.study.labels import car_study


@pytest.fixture(scope="module")
def megacap_workspace(tmp_path_factory) -> WorkbenchPaths:
    from janus_core.data.samples import build_sample

    root = tmp_path_factory.mktemp("megacap")
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")
    build_sample("us-megacap", paths, progress=False)
    return paths


def _tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_synthetic_evidence_is_refused_for_paper(sample_workspace, tmp_path):
    out = tmp_path / "synthetic"
    result = export(ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=out), sample_workspace)
    assert result.evidence["evidence_complete"] is False
    assert result.evidence["reasons"] == ["janus_empirical_authority_missing"]
    event_doc = json.loads((out / schema.EVENT_CAR_REF).read_text())
    assert event_doc["artifact_authority"]["provenance"] == "synthetic_generated"
    assert event_doc["artifact_authority"]["authoritative"] is False
    labelled_rows = (out / "analysis/labelled_car.csv").read_text().count("\n") - 1
    assert event_doc["summary"]["input_event_count"] == labelled_rows
    assert event_doc["summary"]["event_count"] + event_doc["summary"]["excluded_event_count"] == labelled_rows
    verdict = evaluate_gate(out, "paper")
    codes = {r.code for r in verdict.reasons}
    assert not verdict.promotable
    assert {
        "artifact_authority_provenance_invalid",
        "artifact_authority_not_authoritative",
        "promotion_authority_ineligible",
        "janus_event_car_evidence_insufficient",
        "janus_q_evidence_incomplete",
    } <= codes
    assert evaluate_gate(out, "shadow").promotable
    assert verify_evidence(out, sample_workspace) == []
    row = store.runs(sample_workspace).filter(store.runs(sample_workspace)["run_id"] == result.run_id)
    assert row.height == 1 and json.loads(row["gate_verdict"][0])["paper"]["promotable"] is False


def test_megacap_evidence_passes_paper_and_is_refused_for_live(megacap_workspace, tmp_path):
    out = tmp_path / "megacap"
    result = export(
        ExportConfig(dataset="us-megacap", decisions="type_prior", out_dir=out, dspy_bundle=True), megacap_workspace
    )
    assert result.evidence["evidence_complete"] is True
    assert result.evidence["artifact_authority"]["maturity"] == "empirically_validated"
    paper = evaluate_gate(out, "paper")
    assert paper.promotable, [r.model_dump() for r in paper.reasons]
    live = evaluate_gate(out, "live")
    assert not live.promotable
    assert [r.code for r in live.reasons] == ["live_rollout_disabled_by_policy", "approval_token_missing"]
    assert verify_evidence(out, megacap_workspace) == []
    # the lane's truthfulness rule holds for every file that claims authority, the summary included
    for ref in (schema.EVENT_CAR_REF, schema.HGRM_REWARD_REF, schema.EVIDENCE_REF):
        doc = json.loads((out / ref).read_text())
        assert doc["promotion_authority_eligible"] is True and truthfulness_reasons(doc, ref) == [], ref
    manifest = json.loads((out / "run-manifest.json").read_text())
    assert set(manifest["dataset"]["tables"]) >= {"events", "prices", "benchmarks", "securities"}
    assert "janus_core/pipeline/__init__.py" in manifest["sources"] and "notebooks/evidence.py" in manifest["sources"]
    import polars as pl

    metrics = pl.read_csv(out / "analysis/metrics.csv")
    assert sorted(metrics["policy"]) == ["always_long", "janus-q-candidate", "oracle", "random"]
    assert (metrics["sharpe_ci_low"] <= metrics["sharpe"]).all()
    assert (metrics["sharpe"] <= metrics["sharpe_ci_high"]).all()
    nav = pl.read_csv(out / "analysis/nav.csv")
    assert set(nav["kind"]) == {"candidate", "baseline", "benchmark"}
    assert pl.read_csv(out / "analysis/holding_period_sweep.csv")["holding_period"].to_list() == list(range(1, 11))
    assert pl.read_csv(out / "analysis/skipped.csv").height == 0


def test_decisions_file_and_changed_inputs_are_detected(megacap_workspace, tmp_path):
    out = tmp_path / "from-file"
    first = export(
        ExportConfig(dataset="us-megacap", decisions="type_prior", out_dir=out, record_run=False), megacap_workspace
    )
    # write that policy's decisions to a file and export from it: same rewards, different decision ref
    from janus_core.pipeline import compute_inputs

    inputs = compute_inputs(ExportConfig(dataset="us-megacap", decisions="type_prior"), megacap_workspace)
    path = tmp_path / "decisions.parquet"
    inputs.mapped.drop("decision_index", "mapping_status").write_parquet(path)
    second = export(
        ExportConfig(dataset="us-megacap", decisions=str(path), out_dir=tmp_path / "file", record_run=False),
        megacap_workspace,
    )
    a = json.loads((out / schema.HGRM_REWARD_REF).read_text())
    b = json.loads((tmp_path / "file" / schema.HGRM_REWARD_REF).read_text())
    assert a["summary"] == b["summary"] and first.run_id != second.run_id
    assert b["lineage"]["model_refs"][0].startswith("decisions:sha256:")
    # the dataset manifest changes after the export: verify names the input digest
    mpath = megacap_workspace.manifest_path("us-megacap")
    original = mpath.read_bytes()
    try:
        data = json.loads(original)
        data["tables"]["events"]["content_hash"] = "0" * 64
        mpath.write_text(json.dumps(data))
        locations = {p.location for p in verify_evidence(out, megacap_workspace)}
        assert {"dataset.tables.events", "dataset.manifest_sha256"} <= locations
    finally:
        mpath.write_bytes(original)


EXPORT_SCRIPT = """
import sys
from pathlib import Path
from janus_core.pipeline import ExportConfig, export
from janus_core.study.labels import car_study
from janus_core.paths import WorkbenchPaths
export(ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=Path(sys.argv[1]),
                    dspy_bundle=True, record_run=False), WorkbenchPaths.from_env())
"""


@pytest.mark.slow
def test_bytes_identical_across_threads_and_hash_seeds(sample_workspace, tmp_path):
    trees = []
    for threads, seed in (("1", "0"), ("2", "0"), ("1", "4242"), ("2", "4242")):
        out = tmp_path / f"t{threads}-s{seed}"
        env = workspace_env(sample_workspace) | {"POLARS_MAX_THREADS": threads, "PYTHONHASHSEED": seed}
        env.pop("SOURCE_DATE_EPOCH", None)
        proc = subprocess.run(
            [sys.executable, "-c", EXPORT_SCRIPT, str(out)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        trees.append(_tree(out))
    assert len(trees[0]) >= 10
    for other in trees[1:]:
        assert other.keys() == trees[0].keys()
        differing = [k for k in trees[0] if trees[0][k] != other[k]]
        if "run-manifest.json" in differing:
            # In a shared checkout another engineer may save a source file between two runs: then,
            # and only then, the recorded source digests (and the hashes over them, which the
            # review report shows) may differ.
            assert set(differing) <= {"run-manifest.json", "report.html"}
            a, b = (json.loads(t["run-manifest.json"]) for t in (trees[0], other))
            assert a["sources"] != b["sources"]
            assert {k for k in a if a[k] != b[k]} <= {"sources", "self_hash", "git_commit"}
        else:
            assert differing == []


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from janus_core.evidence import output
from janus_core.evidence import schema
from janus_core.pipeline import ExportConfig, export
from janus_core.study.labels import car_study
from janus_core.paths import WorkbenchPaths
real = output._write_file
calls = []
def slow(path, data):
    real(path, data)
    calls.append(path)
    if len(calls) == 3:
        Path(sys.argv[2]).write_text("ready")
        time.sleep(120)
output._write_file = slow
export(ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=Path(sys.argv[1]),
                    record_run=False), WorkbenchPaths.from_env())
"""


@pytest.mark.parametrize("had_old", [False, True])
def test_killed_export_leaves_no_half_written_evidence(sample_workspace, tmp_path, had_old):
    out = tmp_path / "out"
    before: dict[str, bytes] = {}
    if had_old:
        export(
            ExportConfig(dataset="synthetic-ashare", decisions="always_long", out_dir=out, record_run=False),
            sample_workspace,
        )
        before = _tree(out)
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(out), str(ready)],
        cwd=REPO_ROOT,
        env=workspace_env(sample_workspace),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "export never reached its third file"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    if had_old:
        assert _tree(out) == before
        assert verify_evidence(out) == []
    else:
        assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.tmp-")]
    assert len(leftovers) == 1  # the killed export's private temp folder, never at OUT
    assert [p.rule for p in verify_evidence(tmp_path / leftovers[0])][0].startswith("a hidden temp folder")
    # the next run removes it and says so
    result = export(
        ExportConfig(dataset="synthetic-ashare", decisions="always_long", out_dir=out, record_run=False, report=False),
        sample_workspace,
    )
    assert result.notes == [f"removed stale temp folder {tmp_path / leftovers[0]} of killed process {proc.pid}"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_export_prints_where_the_evidence_went(megacap_workspace, tmp_path, monkeypatch, capsys):
    from test_evidence_helpers import run_cli

    for key, value in workspace_env(megacap_workspace).items():
        if key.startswith("JANUS_"):
            monkeypatch.setenv(key, value)
    out = tmp_path / "cli"
    assert (
        run_cli(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                "sentiment",
                "--out",
                str(out),
                "--reward-profile",
                "lane_scaffold",
                "--candidate-id",
                "cli-cand",
                "--dspy-bundle",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert f"evidence written to {out}" in printed and "historical_market_replay" in printed
    assert f"review report for paper: {out / 'report.html'}" in printed
    assert "NOT PROMOTABLE to paper: the research verdict did not pass." in (out / "report.html").read_text()
    assert (out / "dspy" / "dspy-eval-report.json").is_file()
    summary = json.loads((out / "evidence-summary.json").read_text())
    assert summary["reward_profile"] == "lane_scaffold" and summary["decisions"] == "policy:sentiment"
    assert run_cli(["verify", str(out)]) == 0
    # the lane's checks pass on real replay data; the losing candidate fails the research verdict
    capsys.readouterr()
    assert run_cli(["gate", str(out), "--target", "paper"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["lane"]["promotable"] is True and verdict["research"]["pass"] is False
    assert "research_too_few_trades" in {r["code"] for r in verdict["research"]["reasons"]}
    bare = tmp_path / "cli-bare"
    assert (
        run_cli(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                "sentiment",
                "--out",
                str(bare),
                "--no-record",
                "--no-report",
            ]
        )
        == 0
    )
    assert "review report" not in capsys.readouterr().out and not (bare / "report.html").exists()
    live = tmp_path / "cli-live"
    assert (
        run_cli(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                "sentiment",
                "--out",
                str(live),
                "--no-record",
                "--target",
                "live",
            ]
        )
        == 0
    )
    assert "NOT PROMOTABLE to live" in (live / "report.html").read_text()


def test_unknown_decisions_source_is_a_clear_error(megacap_workspace, tmp_path):
    """Not a policy name: read as a decisions file, and the error names the file."""
    for source in (str(tmp_path / "missing.parquet"), "typo_policy"):
        with pytest.raises(ValueError, match=source.rsplit("/", 1)[-1]):
            export(
                ExportConfig(dataset="us-megacap", decisions=source, out_dir=tmp_path / "x", record_run=False),
                megacap_workspace,
            )
    assert not (tmp_path / "x").exists()


def test_export_renders_the_review_report_and_it_verifies(sample_workspace, tmp_path):
    """The report comes with the export, for paper by default; it is rendered before the folder is
    published, yet has the same bytes as a report rendered afterwards in place; verify accepts it."""
    from janus_core.report.render import render_report

    out = tmp_path / "with-report"
    export(
        ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=out, record_run=False),
        sample_workspace,
    )
    report = out / schema.REPORT_REF
    html = report.read_text(encoding="utf-8")
    assert "Target: paper." in html and "NOT PROMOTABLE to paper" in html and 'id="tampered"' not in html
    for table in ("caar_path", "significance_by_type"):
        assert (out / "analysis" / f"{table}.csv").is_file()
        assert f"no analysis/{table}.* in the folder" not in html
    assert "Verified: every file digest" in html and "also match the dataset manifest" in html
    assert verify_evidence(out, sample_workspace) == []
    manifest = json.loads((out / "run-manifest.json").read_text())
    assert schema.REPORT_REF not in manifest["files"]
    exported = report.read_bytes()
    assert render_report(out, "paper", paths=sample_workspace).read_bytes() == exported
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "temp folder left behind"

    live = tmp_path / "live"
    export(
        ExportConfig(
            dataset="synthetic-ashare", decisions="type_prior", out_dir=live, record_run=False, report_target="live"
        ),
        sample_workspace,
    )
    assert "Target: live." in (live / schema.REPORT_REF).read_text(encoding="utf-8")
    assert json.loads((live / "run-manifest.json").read_text())["run_id"] == manifest["run_id"]
    none = tmp_path / "no-report"
    export(
        ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=none, record_run=False, report=False),
        sample_workspace,
    )
    assert not (none / schema.REPORT_REF).exists()
    assert _tree(none) == {k: v for k, v in _tree(out).items() if k != schema.REPORT_REF}


def test_a_failing_report_publishes_nothing(sample_workspace, tmp_path, monkeypatch):

    out = tmp_path / "out"
    export(
        ExportConfig(dataset="synthetic-ashare", decisions="always_long", out_dir=out, record_run=False, report=False),
        sample_workspace,
    )
    before = _tree(out)

    def broken(folder, *args, **kwargs):
        (Path(folder) / "report.html").write_text("half")
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(pipeline, "render_report", broken)
    for target in (out, tmp_path / "fresh"):
        with pytest.raises(RuntimeError, match="renderer crashed"):
            export(
                ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=target, record_run=False),
                sample_workspace,
            )
    assert _tree(out) == before
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_run_manifest_records_the_datasets_source_and_licence(megacap_workspace, tmp_path):
    out = tmp_path / "megacap"
    export(
        ExportConfig(dataset="us-megacap", decisions="type_prior", out_dir=out, record_run=False, report=False),
        megacap_workspace,
    )
    dataset_manifest = json.loads(megacap_workspace.manifest_path("us-megacap").read_text())
    recorded = json.loads((out / "run-manifest.json").read_text())["dataset"]
    for key in ("source", "licence", "provenance", "as_of"):
        assert recorded[key] == dataset_manifest[key] and recorded[key], key
    # a later change of the dataset's stated licence is named by verify
    mpath = megacap_workspace.manifest_path("us-megacap")
    original = mpath.read_bytes()
    try:
        mpath.write_text(json.dumps({**dataset_manifest, "licence": "proprietary"}))
        locations = {p.location for p in verify_evidence(out, megacap_workspace)}
        assert "dataset.licence" in locations and "dataset.source" not in locations
    finally:
        mpath.write_bytes(original)


def test_event_study_tables_in_the_export_agree_with_the_labelled_cars(sample_workspace, tmp_path):
    """analysis/significance_by_type and analysis/caar_path against scipy on analysis/labelled_car."""
    import polars as pl
    from scipy import stats

    out = tmp_path / "es"
    export(
        ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=out, record_run=False, report=False),
        sample_workspace,
    )
    cars = pl.read_csv(out / "analysis/labelled_car.csv").filter(pl.col("excluded_reason").is_null())
    sig = pl.read_csv(out / "analysis/significance_by_type.csv")
    path = pl.read_csv(out / "analysis/caar_path.csv")
    assert sorted(sig["event_type"]) == sorted([*set(cars["event_type"]), "all"])
    window = json.loads((out / "run-manifest.json").read_text())["config"]["car"]["event_window"]
    assert sorted(set(path["rel_day"])) == list(range(int(window[0]), int(window[1]) + 1))
    for group in ("all", "dividend", "risk_warning"):
        sample = cars["car"] if group == "all" else cars.filter(pl.col("event_type") == group)["car"]
        ref = stats.ttest_1samp(sample.to_numpy(), 0.0)
        row = sig.filter(pl.col("event_type") == group).row(0, named=True)
        assert row["n"] == sample.len()
        assert (row["caar"], row["t_cs"]) == pytest.approx((sample.mean(), ref.statistic), rel=1e-8, abs=1e-11)
        end = path.filter((pl.col("event_type") == group) & (pl.col("rel_day") == int(window[1]))).row(0, named=True)
        assert end["caar"] == pytest.approx(sample.mean(), rel=1e-8, abs=1e-11)


def test_export_returns_the_research_run_its_files_were_written_from(megacap_workspace, tmp_path):
    """The typed ResearchRun is what the files say: the labelled table is the analysis CSV, the research
    tables are the analysis tables, the reward rows are the gate file's, and a second run is equal."""
    out = tmp_path / "run"
    cfg = ExportConfig(dataset="us-megacap", decisions="type_prior", out_dir=out, record_run=False, report=False)
    result = export(cfg, megacap_workspace)
    run = result.run
    assert run.car == cfg.car and run.label == cfg.label and run.dataset.meta.snapshot_hash
    labelled_csv = pl.read_csv(out / "analysis/labelled_car.csv")
    assert labelled_csv.height == run.labelled.height == run.summary()["input_event_count"]
    caar = pl.read_csv(out / "analysis/caar_by_type.csv")
    assert caar["n"].to_list() == run.research["caar_by_type"]["n"].to_list()
    rewards = json.loads((out / schema.HGRM_REWARD_REF).read_text())["rewards"]
    assert len(rewards) == run.mapped.height and run.summary()["mapped_decision_count"] == run.scored.height
    again = pipeline.run_research(cfg, megacap_workspace)
    assert again.labelled.equals(run.labelled) and again.scored.equals(run.scored)
    with pytest.raises(ValueError, match="estimation_windw"):
        ExportConfig(car={"estimation_windw": 60})


def test_export_frees_the_market_tables_and_a_study_of_them_then_refuses(megacap_workspace, tmp_path):
    """Once the research is done the export empties its dataset's prices and exposures (columns kept);
    everything the run produced stays, and a new study of the emptied dataset fails with the rule
    instead of finding nothing."""
    cfg = ExportConfig(
        dataset="us-megacap", decisions="type_prior", out_dir=tmp_path / "o", record_run=False, report=False
    )
    run = export(cfg, megacap_workspace).run
    full = pipeline.run_research(cfg, megacap_workspace)
    assert full.dataset.prices.height > 0 and run.dataset.prices.height == 0
    assert run.dataset.prices.schema == full.dataset.prices.schema
    assert run.snapshot.dataset is run.dataset and run.snapshot.manifest == full.snapshot.manifest
    assert (run.dataset.exposures is None) == (full.dataset.exposures is None)
    assert run.dataset.events.equals(full.dataset.events) and run.dataset.meta == full.dataset.meta
    assert run.labelled.equals(full.labelled) and run.scored.equals(full.scored)
    assert sorted(run.research) == sorted(full.research)
    with pytest.raises(ValueError, match="prices: the table is empty"):
        car_study(run.dataset, cfg.car, cfg.label)


def test_one_trading_cost_flows_from_the_labels(megacap_workspace):
    """One cost fact: the labels' round-trip cost is the reward's kappa and the backtest's cost; a
    second, different value anywhere is refused before anything runs."""
    with pytest.raises(ValueError, match="one trading cost"):
        ExportConfig(label={"round_trip_cost_bps": 20}, reward={"round_trip_cost_bps": 15})
    with pytest.raises(ValueError, match="one trading cost"):
        ExportConfig(analysis={"backtest": {"round_trip_cost_bps": 10}})
    run = pipeline.run_research(
        ExportConfig(dataset="us-megacap", decisions="type_prior", record_run=False, label={"round_trip_cost_bps": 20}),
        megacap_workspace,
    )
    assert run.label.effective_tau == 0.002 and run.reward.round_trip_cost_bps == 20 and run.reward.kappa == 0.002


def test_a_candidate_exported_after_its_sweep_carries_the_sweeps_pbo(megacap_workspace, tmp_path):
    """The export's overfitting table names the newest sweep of the same candidate on the same data
    snapshot and carries its probability of backtest overfitting; another candidate's sweep is not its."""
    from janus_core.data.manifest import load_dataset

    snapshot = load_dataset("us-megacap", megacap_workspace).meta.snapshot_hash
    row = {
        "sweep_id": "s-older",
        "created_at": "2026-01-01T00:00:00Z",
        "dataset": "us-megacap",
        "dataset_snapshot_hash": snapshot,
        "candidate_id": "swept",
        "decisions_ref": "policy:type_prior",
        "engine": "local",
        "n_configurations": 4,
        "n_ok": 4,
        "n_failed": 0,
        "grid": "{}",
        "results_sha256": "0" * 64,
        "best_config_hash": "1" * 64,
        "overfitting": json.dumps({"pbo": {"pbo": 0.75}}),
        "out_dir": "x",
    }
    store.record_sweep(row, megacap_workspace)
    store.record_sweep(
        {
            **row,
            "sweep_id": "s-newer",
            "created_at": "2026-02-01T00:00:00Z",
            "overfitting": json.dumps({"pbo": {"pbo": 0.25}}),
        },
        megacap_workspace,
    )
    store.record_sweep(
        {**row, "sweep_id": "s-other", "candidate_id": "someone-else", "created_at": "2026-03-01T00:00:00Z"},
        megacap_workspace,
    )
    out = tmp_path / "swept"
    export(
        ExportConfig(
            dataset="us-megacap",
            decisions="type_prior",
            candidate_id="swept",
            out_dir=out,
            record_run=False,
            report=False,
        ),
        megacap_workspace,
    )
    over = pl.read_csv(out / "analysis/overfitting.csv").row(0, named=True)
    assert over["sweep_id"] == "s-newer" and over["pbo"] == 0.25
    none = tmp_path / "unswept"
    export(
        ExportConfig(
            dataset="us-megacap",
            decisions="type_prior",
            candidate_id="never-swept",
            out_dir=none,
            record_run=False,
            report=False,
        ),
        megacap_workspace,
    )
    assert pl.read_csv(none / "analysis/overfitting.csv")["pbo"].is_null().all()
