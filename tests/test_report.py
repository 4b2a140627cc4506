"""The review report (issue 6): sections in order, every reason code in plain words, the integrity
banner on a tampered folder, missing analysis tables as explicit notes, offline-only markup, byte
determinism, the CAAR bands against scipy/statsmodels, and the ``janus report`` command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import REPO_ROOT
from report_fixtures import CARS, write_evidence_folder
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from janus_core import hashing, pipeline
from janus_core.cli import main as janus_main
from janus_core.evidence import gate, schema
from janus_core.hashing import sha256_file
from janus_core.report.folder import REPORT_FILE
from janus_core.report.page import SECTIONS, ReportConfig
from janus_core.report.reasons import REASON_TEXT, UNKNOWN_REASON_TEXT, reason_sentence
from janus_core.report.render import render_report
from janus_core.study.significance import caar_confidence_band

SECTION_RE = re.compile(r'<section id="([^"]+)">')


def section_html(html: str, anchor: str) -> str:
    """The HTML of one section of the report."""
    start = html.index(f'<section id="{anchor}">')
    return html[start : html.index("</section>", start)]


def banner_html(html: str) -> str | None:
    """The integrity banner when it is the first thing in the body, else None."""
    body = html[html.index("<body>") :]
    m = re.match(r'<body>\s*<div class="banner" id="tampered" role="alert">(.*?)</div>', body, re.S)
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------
# Pure pieces


def test_caar_band_matches_scipy_and_statsmodels():
    rows = [
        {"event_type": t, "n": len(c), "caar": float(np.mean(c)), "std_car": float(np.std(c, ddof=1))}
        for t, c in sorted(CARS.items())
    ]
    rows.append({"event_type": "single", "n": 1, "caar": 0.01, "std_car": None})
    rows.append({"event_type": "flat", "n": 3, "caar": 0.01, "std_car": 0.0})
    out = caar_confidence_band(pl.DataFrame(rows), 0.90)
    assert out["event_type"].to_list() == [r["event_type"] for r in rows], "row order must be kept"
    for row in out.iter_rows(named=True):
        if row["event_type"] in ("single", "flat"):
            assert all(row[c] is None for c in ("se", "t_stat", "p_value", "ci_low", "ci_high")), row
            continue
        cars = CARS[row["event_type"]]
        ref = stats.ttest_1samp(cars, 0.0)
        lo, hi = ref.confidence_interval(0.90)
        assert row["t_stat"] == pytest.approx(ref.statistic, rel=1e-12)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(DescrStatsW(cars).tconfint_mean(0.10), rel=1e-10)


def _contract_codes() -> set[str]:
    """Every reason code the gate and the evidence summary can emit, read from their sources."""
    codes = set(re.findall(r"``([a-z0-9_]+)``", gate.__doc__ or ""))
    codes |= {v for k, v in vars(schema).items() if k.startswith("REASON_") and isinstance(v, str)}
    source = Path(gate.__file__).read_text(encoding="utf-8")
    codes |= set(re.findall(r'code="([a-z0-9_]+)"', source))
    for prefix in re.findall(r'"(janus_[a-z_]+)"\),?\s*$', source, re.M):
        for suffix in re.findall(r'code=f"\{prefix\}(_[a-z_]+)"', source):
            codes.add(prefix + suffix)
    return {c for c in codes if "_" in c and c not in ("out_dir", "file", "artifact_ref", "gate5_live_enabled")}


def test_every_gate_and_evidence_reason_code_has_plain_words():
    codes = _contract_codes()
    assert "janus_event_car_evidence_insufficient" in codes and "janus_empirical_authority_missing" in codes
    missing = sorted(c for c in codes if c not in REASON_TEXT)
    assert not missing, f"reason codes without a plain-English sentence in report.REASON_TEXT: {missing}"
    assert all(text and text != UNKNOWN_REASON_TEXT for text in REASON_TEXT.values())


def test_reason_sentence_for_qualified_and_unknown_codes():
    assert reason_sentence("event_car:artifact_authority_placeholder") == REASON_TEXT["artifact_authority_placeholder"]
    assert reason_sentence("something_new") == UNKNOWN_REASON_TEXT


def test_chart_svg_prefixes_element_ids_so_charts_can_share_a_page():
    import altair as alt

    from janus_core.report.charts import chart_svg

    data = alt.Data(values=[{"x": 0, "y": 0}, {"x": 1, "y": 5}, {"x": 2, "y": -3}, {"x": 3, "y": 2}])
    clipped = alt.Chart(data).mark_line(clip=True).encode(x=alt.X("x:Q", scale=alt.Scale(domain=[0, 2])), y="y:Q")
    page = chart_svg(clipped, "one") + chart_svg(clipped, "two")
    ids = re.findall(r'\bid="([^"]+)"', page)
    refs = re.findall(r"url\(#([^)]+)\)", page)
    assert ids and len(ids) == len(set(ids)), ids
    assert refs and set(refs) <= set(ids), (refs, ids)
    assert {i.split("-", 1)[0] for i in ids} == {"one", "two"}
    # vl-convert's own id counter runs on across calls; the renamed SVG must not
    assert chart_svg(clipped, "one") == chart_svg(clipped, "one")


def test_chart_text_from_the_evidence_is_escaped_in_the_svg():
    from janus_core.report.charts import chart_svg, count_bar_chart

    frame = pl.DataFrame(
        {
            "event_type": ["<script>alert(1)</script>&", "dividend"],
            "strength_label": ["strong", "weak"],
            "count": [1, 2],
        }
    )
    svg = chart_svg(count_bar_chart(frame, "event_type", "strength_label"), "x")
    assert "<script" not in svg and "&lt;script&gt;" in svg


# ---------------------------------------------------------------------------------------------
# A hand-made folder: every number known, no analysis beyond three tables, does not verify


@pytest.fixture()
def handmade(tmp_path) -> Path:
    return write_evidence_folder(tmp_path / "evidence")


def test_handmade_folder_renders_every_section_in_order(handmade):
    html = render_report(handmade, "paper").read_text(encoding="utf-8")
    assert SECTION_RE.findall(html) == [anchor for anchor, _ in SECTIONS]
    for _, title in SECTIONS:
        assert f". {title}</h2>" in html
    verdict = section_html(html, "verdict")
    assert "NOT PROMOTABLE to paper" in verdict
    # every reason of the real gate, and among them the synthetic authority reasons, each with its
    # plain words and raw code
    codes = {r.code for r in gate.evaluate_gate(handmade, "paper").reasons}
    for code in sorted(codes):
        assert f'<td class="rcode">{code}</td>' in verdict and jinja_escape(REASON_TEXT[code]) in verdict, code
    for code in (
        "janus_event_car_evidence_insufficient",
        "janus_hgrm_reward_evidence_insufficient",
        "artifact_authority_provenance_invalid",
        "artifact_authority_not_authoritative",
        "promotion_authority_ineligible",
        "janus_q_evidence_incomplete",
        "janus_empirical_authority_missing",
    ):
        assert code in verdict, code
        assert str(jinja_escape(REASON_TEXT[code])) in verdict, code
    # the candidate id is escaped, never injected
    assert "cand-&lt;fixture&gt;" in html and "cand-<fixture>" not in html
    assert "Synthetic data: this evidence was built from generated data" in section_html(html, "provenance")


def jinja_escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@pytest.mark.parametrize(
    ("anchor", "table"),
    [
        ("labels", "tau_sweep"),
        ("reward", "ablations"),
        ("reward", "constant_policy_check"),
        ("backtest", "nav"),
        ("backtest", "holding_period_sweep"),
        ("backtest", "metrics"),
    ],
)
def test_missing_analysis_table_is_an_explicit_note_in_its_section(handmade, anchor, table):
    html = render_report(handmade).read_text(encoding="utf-8")
    assert f"not available in this evidence (no analysis/{table}.* in the folder)" in section_html(html, anchor)


def test_present_analysis_tables_are_shown_and_charted(handmade):
    html = render_report(handmade).read_text(encoding="utf-8")
    study = section_html(html, "event-study")
    assert study.count("<svg") == 2 and "estimation_window_short" in study
    assert "analysis/caar_path.csv" in study and "analysis/significance_by_type.csv" in study and "patell_z" in study
    assert "not available" not in study
    band = pl.read_csv(handmade / "analysis/caar_by_type.csv")
    ci_low = band.filter(pl.col("event_type") == "dividend")["ci_low"][0]
    assert format(ci_low, ".4g") in study
    assert section_html(html, "labels").count("<svg") == 1
    assert section_html(html, "reward").count("<svg") == 1


def test_handmade_folder_fails_verification_and_says_so_at_the_top(handmade):
    html = render_report(handmade).read_text(encoding="utf-8")
    banner = banner_html(html)
    assert banner is not None and "EVIDENCE INTEGRITY FAILURE" in banner
    assert "run-manifest.json: self_hash" in banner
    assert "Verification found" in section_html(html, "integrity")


def test_unreadable_evidence_file_renders_with_the_file_named_in_the_banner(handmade):
    (handmade / "gates/janus-hgrm-reward-v1.json").write_text("{not json", encoding="utf-8")
    (handmade / "analysis/exclusions.csv").write_bytes(b"\xff\xfe\x00garbage\n\x00")
    html = render_report(handmade).read_text(encoding="utf-8")
    banner = banner_html(html)
    assert banner is not None and "gates/janus-hgrm-reward-v1.json: not valid JSON" in html
    assert "not available in this evidence (no rewards in gates/janus-hgrm-reward-v1.json)" in html


@pytest.mark.parametrize("bad", ["not an object", 7, None, ["a", "list"]])
def test_records_that_are_not_objects_are_left_out_with_a_note_and_named_by_verification(handmade, bad):
    for name, key in (("janus-hgrm-reward-v1.json", "rewards"), ("janus-event-car-v1.json", "records")):
        path = handmade / "gates" / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc[key] = [bad, *doc[key], bad]
        path.write_text(json.dumps(doc), encoding="utf-8")
    html = render_report(handmade).read_text(encoding="utf-8")
    rows = len(json.loads((handmade / "gates/janus-hgrm-reward-v1.json").read_text(encoding="utf-8"))["rewards"])
    assert f"2 of the {rows} reward rows in gates/janus-hgrm-reward-v1.json are not JSON objects" in section_html(
        html, "reward"
    )
    assert "of the" in section_html(html, "labels") and "records in gates/janus-event-car-v1.json are not JSON" in html
    assert "rewards[0] lacks" in section_html(html, "integrity") and "records[0] lacks" in section_html(
        html, "integrity"
    )
    assert "<svg" in section_html(html, "reward")  # the object rows are still drawn


def test_render_is_byte_deterministic_across_renders_and_hash_seeds(handmade, tmp_path):
    first = render_report(handmade).read_bytes()
    second = render_report(handmade).read_bytes()  # report.html now exists in the folder
    assert first == second
    code = (
        "import sys; sys.path.insert(0, 'tests'); from janus_core.report.render import render_report; "
        f"render_report({str(handmade)!r})"
    )
    for seed, threads in (("1", "1"), ("12345", "2")):
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            check=True,
            env={"PYTHONHASHSEED": seed, "POLARS_MAX_THREADS": threads, "PATH": "/usr/bin:/bin"},
        )
        assert (handmade / REPORT_FILE).read_bytes() == first, f"bytes changed with {seed=} {threads=}"


def _assert_offline_markup(html: str) -> None:
    assert "<script" not in html and "<link" not in html and "<img" not in html and "@import" not in html
    assert "<iframe" not in html and "<object" not in html and "<embed" not in html
    assert not re.search(r"\bsrc\s*=", html)
    refs = re.findall(r'(?:href|xlink:href)\s*=\s*"([^"]*)"', html)
    assert all(r.startswith("#") for r in refs), [r for r in refs if not r.startswith("#")]
    assert all(u.startswith("#") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html))
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids must be unique across the inline SVGs"


def test_markup_loads_nothing_from_outside(handmade):
    _assert_offline_markup(render_report(handmade).read_text(encoding="utf-8"))


def test_config_limits_rows_and_says_where_the_rest_is(handmade):
    html = render_report(handmade).read_text(encoding="utf-8")
    assert "Showing the first" not in section_html(html, "labels")
    from janus_core.report.folder import load_evidence_folder
    from janus_core.report.render import (
        build_report_html,
        check_integrity,
        gate_outcome,
    )

    folder = load_evidence_folder(handmade)
    small = build_report_html(
        folder,
        check_integrity(handmade, folder, None),
        gate_outcome(handmade, "paper", None),
        ReportConfig(max_table_rows=3),
    )
    assert "Showing the first 3 of 11 rows; the full table is analysis/labelled_car.csv." in small


def test_render_rejects_a_bad_target_and_a_missing_folder(handmade, tmp_path):
    with pytest.raises(ValueError, match="target 'prod'"):
        render_report(handmade, "prod")
    with pytest.raises(FileNotFoundError, match="evidence folder not found"):
        render_report(tmp_path / "nowhere")


def test_cli_writes_the_report_and_fails_clearly_without_a_folder(handmade, tmp_path, capsys):
    assert janus_main(["report", str(handmade), "--target", "live", "--no-dataset"]) == 0
    assert capsys.readouterr().out.strip() == str(handmade / REPORT_FILE)
    html = (handmade / REPORT_FILE).read_text(encoding="utf-8")
    verdict = section_html(html, "verdict")
    assert "live_rollout_disabled_by_policy" in verdict and "approval_token_missing" in verdict
    assert janus_main(["report", str(tmp_path / "nowhere")]) == 2
    assert "evidence folder not found" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The real export of the demo sample


@pytest.fixture(scope="module")
def sample_export(sample_workspace, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample-export") / "evidence"
    pipeline.export(
        pipeline.ExportConfig(dataset="synthetic-ashare", decisions="type_prior", out_dir=out, record_run=False),
        sample_workspace,
    )
    return out


@pytest.fixture()
def sample_copy(sample_export, tmp_path) -> Path:
    dest = tmp_path / "evidence"
    shutil.copytree(sample_export, dest)
    return dest


def test_sample_export_report_has_every_section_and_every_reason_code(sample_copy, sample_workspace):
    for target in ("shadow", "paper", "live"):
        html = render_report(sample_copy, target, paths=sample_workspace).read_text(encoding="utf-8")
        assert SECTION_RE.findall(html) == [anchor for anchor, _ in SECTIONS]
        assert banner_html(html) is None, "an untouched export must verify"
        integrity = section_html(html, "integrity")
        assert "Verified: every file digest" in integrity
        assert "also match the dataset manifest synthetic-ashare.json." in integrity
        assert str(sample_workspace.manifest_path("synthetic-ashare").parent) not in html, (
            "report bytes must not depend on where the workspace lives"
        )
        verdict_obj = gate.evaluate_gate(sample_copy, target)
        verdict = section_html(html, "verdict")
        codes = {r.code for r in verdict_obj.reasons}
        if target == "shadow":
            assert not codes and f"PROMOTABLE to {target}" in verdict
            continue
        assert f"NOT PROMOTABLE to {target}" in verdict
        # synthetic evidence: the authority reasons are among them
        assert {
            "artifact_authority_provenance_invalid",
            "janus_event_car_evidence_insufficient",
            "janus_hgrm_reward_evidence_insufficient",
        } <= codes
        for code in codes:
            assert f'<td class="rcode">{code}</td>' in verdict, code
            assert jinja_escape(REASON_TEXT[code]) in verdict, code
        summary = json.loads((sample_copy / "gates/janus-q-evidence-v1.json").read_text())
        for code in summary["reasons"]:
            assert code in verdict
        _assert_offline_markup(html)


def test_sample_export_report_rendered_alone_says_inputs_were_not_checked(sample_copy):
    integrity = section_html(render_report(sample_copy).read_text(encoding="utf-8"), "integrity")
    assert "Verified: every file digest" in integrity and "were not compared with a dataset manifest" in integrity


def test_sample_export_report_shows_provenance_and_reproducibility(sample_copy, sample_workspace):
    html = render_report(sample_copy, paths=sample_workspace).read_text(encoding="utf-8")
    manifest = json.loads((sample_copy / "run-manifest.json").read_text())
    prov = section_html(html, "provenance")
    assert "synthetic_generated" in prov and "never authoritative" in prov
    for table, digest in manifest["dataset"]["tables"].items():
        assert table in prov and digest["sha256"] in prov
    meth = json.loads((sample_copy / "gates/janus-event-car-v1.json").read_text())["methodology"]
    tau, bps = float(meth["strength_threshold"]), float(meth["label_config"]["round_trip_cost_bps"])
    labels = section_html(html, "labels")
    assert f"tau = {tau:.4g}" in labels and f"cost is {bps:.4g} bps = {bps / 1e4:.4g}" in labels
    assert f"tau is {tau / (bps / 1e4):.4g} x the cost" in labels
    repro = section_html(html, "reproducibility")
    for rel, digest in manifest["files"].items():
        assert rel in repro and digest in repro
    assert manifest["git_commit"] in repro and manifest["config_hash"] in repro
    assert "janus export --dataset synthetic-ashare --decisions type_prior" in repro


def test_rerun_commands_in_the_report_reproduce_the_folder(sample_copy, sample_workspace, tmp_path, monkeypatch):
    """Run the report's own export command and compare every file digest with the report's table."""
    from html import unescape

    repro = unescape(section_html(render_report(sample_copy).read_text(encoding="utf-8"), "reproducibility"))
    line = next(ln for ln in re.findall(r"<pre>(.*?)</pre>", repro, re.S)[-1].splitlines() if " janus export " in ln)
    env_part, _, cmd = line.partition(" uv run --frozen janus ")
    assert env_part.startswith("SOURCE_DATE_EPOCH="), line
    monkeypatch.setenv("SOURCE_DATE_EPOCH", env_part.split("=", 1)[1])
    for var, value in (
        ("JANUS_DATA_DIR", sample_workspace.data_dir),
        ("JANUS_MANIFEST_DIR", sample_workspace.manifest_dir),
        ("JANUS_STORE", sample_workspace.store),
    ):
        monkeypatch.setenv(var, str(value))
    out = tmp_path / "rerun"
    assert janus_main([*cmd.replace("--out OUT", f"--out {out}").split(), "--no-record"]) == 0
    files_part = repro[repro.index("SHA-256 of every file") :]
    files_part = files_part[: files_part.index("</table>")]
    table = dict(re.findall(r'<tr><td(?: class="code")?>([^<]+)</td><td class="code">([0-9a-f]{64})</td>', files_part))
    assert len(table) >= 9 and "run-manifest.json" in table
    rerun = {
        p.relative_to(out).as_posix(): sha256_file(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != REPORT_FILE
    }
    # the run manifest also records the checkout (git commit, source hashes), which the report's recipe pins
    # with `git checkout`; in a shared working tree HEAD may move between the two exports, so compare it
    # without those fields, and every other file byte for byte
    assert {k: v for k, v in rerun.items() if k != "run-manifest.json"} == {
        k: v for k, v in table.items() if k != "run-manifest.json"
    }
    checkout = ("git_commit", "sources", "self_hash")
    before = json.loads((sample_copy / "run-manifest.json").read_text())
    after = json.loads((out / "run-manifest.json").read_text())
    assert {k: v for k, v in after.items() if k not in checkout} == {
        k: v for k, v in before.items() if k not in checkout
    }
    if after["git_commit"] == before["git_commit"] and after["sources"] == before["sources"]:
        assert rerun["run-manifest.json"] == table["run-manifest.json"]


def _edit_record(folder: Path) -> str:
    path = folder / "gates/janus-event-car-v1.json"
    doc = json.loads(path.read_text())
    doc["records"][0]["car"] = "0.5"
    path.write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n")
    return "gates/janus-event-car-v1.json"


def _edit_analysis_table(folder: Path) -> str:
    path = folder / "analysis/caar_by_type.csv"
    path.write_text(path.read_text().replace("dividend", "dividend ", 1))
    return "analysis/caar_by_type.csv"


def _delete_reward_file(folder: Path) -> str:
    (folder / "gates/janus-hgrm-reward-v1.json").unlink()
    return "gates/janus-hgrm-reward-v1.json"


@pytest.mark.parametrize("tamper", [_edit_record, _edit_analysis_table, _delete_reward_file])
def test_tampered_sample_export_says_so_at_the_top(sample_copy, sample_workspace, tamper):
    changed = tamper(sample_copy)
    html = render_report(sample_copy, paths=sample_workspace).read_text(encoding="utf-8")
    banner = banner_html(html)
    assert banner is not None, "the tampered folder's report must open with the integrity banner"
    assert changed in banner
    assert "Verification found" in section_html(html, "integrity")
    assert "NOT PROMOTABLE" in section_html(html, "verdict")


def test_sample_export_report_is_byte_deterministic(sample_copy, sample_workspace):
    first = render_report(sample_copy, paths=sample_workspace).read_bytes()
    assert render_report(sample_copy, paths=sample_workspace).read_bytes() == first
    code = (
        "from janus_core.paths import WorkbenchPaths; from janus_core.report.render import render_report; "
        f"render_report({str(sample_copy)!r}, paths=WorkbenchPaths.from_env())"
    )
    env = {
        "PYTHONHASHSEED": "4242",
        "POLARS_MAX_THREADS": "2",
        "PATH": "/usr/bin:/bin",
        "JANUS_DATA_DIR": str(sample_workspace.data_dir),
        "JANUS_MANIFEST_DIR": str(sample_workspace.manifest_dir),
        "JANUS_STORE": str(sample_workspace.store),
    }
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, env=env)
    assert (sample_copy / REPORT_FILE).read_bytes() == first, "bytes changed in another process"


def test_sample_export_every_analysis_table_is_shown_or_explicitly_missing(sample_copy):
    html = render_report(sample_copy).read_text(encoding="utf-8")
    where = {
        "car_labels": "labels",
        "caar_by_type": "event-study",
        "exclusions": "event-study",
        "caar_path": "event-study",
        "significance": "event-study",
        "decision_mapping": "reward",
        "tau_sweep": "labels",
        "reward_rows": "reward",
        "ablations": "reward",
        "constant_policy": "reward",
        "nav": "backtest",
        "holding_period": "backtest",
        "metrics": "backtest",
    }
    names = ReportConfig().tables
    assert {"caar_path", "significance_by_type"} <= {p.stem for p in (sample_copy / "analysis").iterdir()}
    for key, anchor in sorted(where.items()):
        stem = getattr(names, key)
        section = section_html(html, anchor)
        note = f"not available in this evidence (no analysis/{stem}.* in the folder)"
        if (sample_copy / "analysis" / f"{stem}.csv").is_file():
            assert f"analysis/{stem}.csv" in section and note not in section, stem
        else:
            assert note in section, stem
    backtest = section_html(html, "backtest")
    charts = {"nav": 1, "holding_period_sweep": 1, "metrics": 4}
    expected = sum(n for stem, n in charts.items() if (sample_copy / "analysis" / f"{stem}.csv").is_file())
    assert backtest.count("<svg") == expected


def test_real_replay_export_reads_lane_pass_research_fail_for_paper(tmp_path):
    """The losing us-megacap candidate: the lane's checks pass on real replay data, the research verdict
    fails, and the first screen says so in plain words, never in green."""
    from janus_core.data.samples import build_sample
    from janus_core.paths import WorkbenchPaths

    paths = WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "manifests", store=tmp_path / "s.duckdb")
    build_sample("us-megacap", paths, progress=False)
    out = tmp_path / "evidence"
    pipeline.export(
        pipeline.ExportConfig(dataset="us-megacap", decisions="type_prior", out_dir=out, record_run=False), paths
    )
    html = render_report(out, "paper", paths=paths).read_text(encoding="utf-8")
    assert banner_html(html) is None
    verdict = section_html(html, "verdict")
    assert "NOT PROMOTABLE to paper: the research verdict did not pass." in verdict
    assert 'class="good"' not in verdict
    assert "<td>lane</td>" in verdict and "research_too_few_trades" in verdict
    assert "Sharpe ratio [interval]" in verdict and "short sample" in verdict
    prov = section_html(html, "provenance")
    assert "historical_market_replay" in prov and "Synthetic data" not in prov
    manifest = json.loads(paths.manifest_path("us-megacap").read_text())
    # the licence is read from the run manifest, so the report rendered from the folder alone states it too
    alone = section_html(render_report(out, "paper").read_text(encoding="utf-8"), "provenance")
    for text in (prov, alone):
        assert "As recorded in run-manifest.json at export" in text
        assert jinja_escape(manifest["licence"]) in text and jinja_escape(manifest["source"]) in text
        assert "taken from the dataset manifest" not in text and "no dataset manifest was consulted" not in text
    live = section_html(render_report(out, "live", paths=paths).read_text(encoding="utf-8"), "verdict")
    assert "NOT PROMOTABLE to live" in live
    for code in ("live_rollout_disabled_by_policy", "approval_token_missing"):
        assert f'<td class="rcode">{code}</td>' in live and jinja_escape(REASON_TEXT[code]) in live
    # tampering a table the gate does not read: the gate still passes, the report must not
    _edit_analysis_table(out)
    html = render_report(out, "paper", paths=paths).read_text(encoding="utf-8")
    assert banner_html(html) is not None
    assert "NOT PROMOTABLE to paper" in section_html(html, "verdict")


def test_licence_of_a_folder_that_did_not_record_it_comes_from_the_dataset_manifest(sample_copy, sample_workspace):
    """An evidence folder whose run manifest states no source or licence: the report takes them from
    the dataset manifest when it may consult one (saying whether its digest matches the export's),
    else says it could not."""
    path = sample_copy / "run-manifest.json"
    manifest = json.loads(path.read_text())
    for key in ("source", "licence"):
        manifest["dataset"][key] = None
    path.write_bytes(hashing.dumps(manifest))
    prov = section_html(render_report(sample_copy, paths=sample_workspace).read_text(encoding="utf-8"), "provenance")
    dataset = json.loads(sample_workspace.manifest_path("synthetic-ashare").read_text())
    assert "Not recorded in run-manifest.json; taken from the dataset manifest" in prov
    assert "matches the manifest_sha256 recorded at export" in prov and jinja_escape(dataset["licence"]) in prov
    alone = section_html(render_report(sample_copy).read_text(encoding="utf-8"), "provenance")
    assert "no dataset manifest was consulted" in alone and jinja_escape(dataset["licence"]) not in alone


@pytest.mark.parametrize("flagged", [False, True])
def test_reward_hacking_check_verdict_in_plain_words(handmade, flagged):
    """The reward section states the hacking check's verdict from analysis/constant_policy_check.csv:
    flagged no-skill policies in red, otherwise the smallest margins to the skilled baseline and zero."""
    rows = {
        "strategy_id": ["const:long|none|car=+q", "random", "shuffled_oracle"],
        "kind": ["constant", "random", "shuffled"],
        "mean_final_reward": [0.05 if flagged else -0.12, -0.3, -0.25],
        "skilled_mean_reward": [0.7, 0.7, 0.7],
    }
    frame = (
        pl.DataFrame(rows)
        .with_columns(
            margin_vs_skilled=pl.col("skilled_mean_reward") - pl.col("mean_final_reward"),
            margin_vs_zero=-pl.col("mean_final_reward"),
        )
        .with_columns(flagged=pl.min_horizontal("margin_vs_skilled", "margin_vs_zero") <= 0)
    )
    frame.write_csv(handmade / "analysis" / "constant_policy_check.csv")
    reward = section_html(render_report(handmade).read_text(encoding="utf-8"), "reward")
    if flagged:
        assert '<p class="bad">1 of 3 policies that ignore the news' in reward and "(0.7000)" in reward
    else:
        assert '<p class="good">None of the 3 policies that ignore the news' in reward
        assert "smallest margins 0.8200 and 0.1200" in reward
