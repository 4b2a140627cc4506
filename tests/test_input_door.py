"""Every input validated at the door, and one consistent snapshot per export (issue 14): UTC offsets,
as-of times, out-of-range prices, ``generated_at`` from data that can be included, quarantine results
carried into the evidence, and a re-import during an export that cannot mix versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from data_tables import isolated_workspace, janus_data, raw_tables, workspace, write_all

from janus_core.data import manifest as mf
from janus_core.data.rows import DataValidationError
from janus_core.data.tables import load_tables
from janus_core.evidence import schema
from janus_core.evidence.gate import evaluate_gate
from janus_core.evidence.verify import verify_evidence
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline import ExportConfig, export
from janus_core.report.render import report_problems


@pytest.fixture
def paths(tmp_path, monkeypatch):
    return isolated_workspace(tmp_path / "ws", monkeypatch)


def _import(
    files: dict[str, Path], *extra: str, name: str = "mine", provenance: str = "historical_market_replay"
) -> int:
    argv = ["import", name]
    for table, path in files.items():
        argv += [f"--{table}", str(path)]
    return janus_data(*argv, "--timezone", "Asia/Shanghai", "--provenance", provenance, *extra)


# --------------------------------------------------------------------------------------------------
# UTC offsets, prices, as-of
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("offset", ["+25:00", "+99:99", "-00:75", "+14:01", "-1460"])
def test_an_impossible_utc_offset_is_refused(tmp_path, offset):
    """The issue's repro: these moved events by up to four days and were accepted."""
    tables = raw_tables()
    tables["events"][1]["published_at"] = f"2024-01-03T09:00:00{offset}"
    files = write_all(tables, tmp_path / "in", "csv")
    with pytest.raises(DataValidationError) as err:
        load_tables(files, timezone="Asia/Shanghai")
    assert f"{files['events']}:3: published_at: invalid_offset: " in str(err.value)


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "+05:45", "Z", "+0530"])
def test_real_utc_offsets_are_accepted(tmp_path, offset):
    tables = raw_tables()
    tables["events"][1]["published_at"] = f"2024-01-03T09:00:00{offset}"
    load_tables(write_all(tables, tmp_path / "in", "csv"), timezone="Asia/Shanghai")


@pytest.mark.parametrize("price", ["1e300", "2e9", "1e-9"])
def test_a_price_outside_the_sane_range_is_refused_with_the_rule(paths, tmp_path, capsys, price):
    """The issue's repro: a 1e300 price imported and then crashed the export (decimal.InvalidOperation)."""
    tables = raw_tables()
    tables["prices"][2]["close"] = price
    files = write_all(tables, tmp_path / "in", "csv")
    assert _import(files) == 1
    assert f"{files['prices']}:4: close: price_out_of_range: price " in capsys.readouterr().err
    assert not paths.manifest_path("mine").exists()
    assert _import(files, "--on-invalid", "quarantine") == 0
    assert mf.load_dataset("mine", paths).prices["close"].max() < 1e9


@pytest.mark.parametrize(
    "as_of, code",
    [("<script>", 2), ("2019-01-01", 2), ("2024-01-03", 2), ("2024-01-04", 0), ("2025-06-30T12:00:00+08:00", 0)],
)
def test_as_of_is_a_valid_date_not_before_the_data(paths, tmp_path, capsys, as_of, code):
    """The issue's repro: ``--as-of '<script>'`` imported and then crashed the export; ``--as-of
    2019-01-01`` on data running to 2024 was accepted."""
    files = write_all(raw_tables(), tmp_path / "in", "csv")
    assert _import(files, "--as-of", as_of) == code
    err = capsys.readouterr().err.strip().splitlines()
    if code:
        assert len(err) == 1 and err[0].startswith("janus data import: as-of "), err
        assert not paths.manifest_path("mine").exists()
    else:
        assert json.loads(paths.manifest_path("mine").read_text())["as_of"] == as_of


def test_an_event_after_the_data_does_not_date_the_evidence(paths, tmp_path):
    """The issue's repro: a 2099 event (excluded: no session after it) set generated_at to 2099."""
    tables = raw_tables()
    tables["events"].append(
        {**tables["events"][0], "published_at": "2099-01-01 10:00", "headline": "Far future", "seq": "9"}
    )
    assert _import(write_all(tables, tmp_path / "in", "csv")) == 0
    assert json.loads(paths.manifest_path("mine").read_text())["as_of"] == "2024-01-04T23:59:59Z"
    out = tmp_path / "out"
    export(ExportConfig(dataset="mine", decisions="always_long", out_dir=out, record_run=False, report=False), paths)
    assert json.loads((out / "run-manifest.json").read_text())["generated_at"] == "2024-01-04T23:59:59Z"


# --------------------------------------------------------------------------------------------------
# Quarantine results carried into the evidence
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def megacap_files(tmp_path_factory) -> dict[str, Path]:
    """The us-megacap tables as Parquet input files, with one whole security broken (an unknown
    benchmark): a quarantine import rejects it and all its prices."""
    from janus_core.data.samples import build_sample

    root = tmp_path_factory.mktemp("door")
    ws = workspace(root / "ws")
    build_sample("us-megacap", ws, progress=False)
    ds = mf.load_dataset("us-megacap", ws)
    files = {}
    for table, frame in ds.tables().items():
        if table == "securities":
            frame = frame.with_columns(
                pl.when(pl.col("symbol") == "IBM")
                .then(pl.lit("NOPE"))
                .otherwise(pl.col("benchmark"))
                .alias("benchmark")
            )
        if table == "events":
            frame = frame.drop("event_type_raw")
        files[table] = root / f"{table}.parquet"
        frame.write_parquet(files[table])
    return files


def test_a_quarantine_import_is_named_in_the_evidence(paths, tmp_path, megacap_files, capsys):
    """The issue's repro: a quarantine import that rejected a whole security gave paper-promotable
    evidence whose run manifest, report and gate files never mention the rejection."""
    assert _import(megacap_files, "--on-invalid", "quarantine", "--timezone", "America/New_York", name="mega") == 0
    out = tmp_path / "ev"
    result = export(ExportConfig(dataset="mega", decisions="type_prior", out_dir=out, record_run=False), paths)
    record = json.loads((out / "run-manifest.json").read_text())["quarantine"]
    assert record["dataset"]["rejected_securities"] == ["IBM"]
    assert (
        record["dataset"]["tables"]["prices"]["rejected"] == record["dataset"]["universe_rows_rejected"]["prices"] > 0
    )
    assert "IBM" in record["dataset"]["universe_symbols"] and record["universe_rows_rejected"] > 0
    assert result.evidence["reasons"] == [schema.REASON_QUARANTINED] and result.evidence["evidence_complete"] is False
    assert verify_evidence(out, paths) == [] and report_problems(out, paths) == []
    verdict = evaluate_gate(out, "paper")
    assert not verdict.promotable and "janus_q_evidence_incomplete" in {r.code for r in verdict.reasons}
    html = (out / "report.html").read_text()
    assert "Rejected securities: IBM" in html and "workbench_universe_rows_quarantined" in html
    # the unbroken dataset: no rejection, no reason, promotable
    clean = dict(megacap_files)
    good = tmp_path / "securities.parquet"
    pl.read_parquet(megacap_files["securities"]).with_columns(
        pl.when(pl.col("benchmark") == "NOPE").then(pl.lit("SP500")).otherwise(pl.col("benchmark")).alias("benchmark")
    ).write_parquet(good)
    clean["securities"] = good
    assert _import(clean, "--on-invalid", "quarantine", "--timezone", "America/New_York", name="mega-ok") == 0
    ok = export(
        ExportConfig(
            dataset="mega-ok", decisions="type_prior", out_dir=tmp_path / "ok", record_run=False, report=False
        ),
        paths,
    )
    assert ok.evidence["evidence_complete"] is True
    assert json.loads((tmp_path / "ok" / "run-manifest.json").read_text())["quarantine"]["universe_rows_rejected"] == 0


def test_quarantined_decisions_are_named_in_the_evidence(tmp_path, megacap_files, paths):
    assert _import(megacap_files, "--on-invalid", "quarantine", "--timezone", "America/New_York", name="mega") == 0
    base = tmp_path / "base"
    export(ExportConfig(dataset="mega", decisions="type_prior", out_dir=base, record_run=False, report=False), paths)
    decisions = pl.read_csv(base / "analysis" / "decision_mapping.csv").drop("decision_index", "mapping_status")
    decisions = decisions.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("buy")).otherwise(pl.col("action")).alias("action")
    )
    path = tmp_path / "decisions.csv"
    decisions.write_csv(path)
    with pytest.raises(ValueError, match="invalid_enum"):
        export(ExportConfig(dataset="mega", decisions=str(path), out_dir=tmp_path / "strict", record_run=False), paths)
    out = tmp_path / "q"
    result = export(
        ExportConfig(
            dataset="mega",
            decisions=str(path),
            decisions_on_invalid="quarantine",
            out_dir=out,
            record_run=False,
            report=False,
        ),
        paths,
    )
    record = json.loads((out / "run-manifest.json").read_text())["quarantine"]
    assert record["decisions"] == {"read": decisions.height, "accepted": decisions.height - 1, "rejected": 1}
    assert pl.read_csv(out / "analysis" / "rejected_decisions.csv")["reason"][0].startswith("action: invalid_enum")
    assert schema.REASON_QUARANTINED in result.evidence["reasons"]
    assert verify_evidence(out, paths) == []


# --------------------------------------------------------------------------------------------------
# One snapshot per export
# --------------------------------------------------------------------------------------------------
def _copy_workspace(src: WorkbenchPaths, root: Path) -> WorkbenchPaths:
    paths = workspace(root)
    shutil.copytree(src.data_dir, paths.data_dir)
    shutil.copytree(src.manifest_dir, paths.manifest_dir)
    return paths


def _reimport(paths: WorkbenchPaths, version: str) -> None:
    """A concurrent ``janus data import --replace``: the same dataset with every close 1% higher."""
    ds = mf.load_dataset("synthetic-ashare", paths)
    changed = type(ds)(
        meta=ds.meta.model_copy(update={"version": version}),
        events=ds.events,
        prices=ds.prices.with_columns(pl.col("close") * 1.01),
        benchmarks=ds.benchmarks,
        securities=ds.securities,
        exposures=ds.exposures,
    )
    manifest = json.loads(paths.manifest_path("synthetic-ashare").read_text())
    mf.save_dataset(
        changed,
        paths,
        source=manifest["source"],
        licence=manifest["licence"],
        production=manifest["production"],
        replace=True,
    )


def test_a_reimport_during_an_export_cannot_mix_versions(sample_workspace, tmp_path, monkeypatch):
    """The issue's repro: re-importing while an export ran bound the evidence to the new tables'
    hashes although it was computed from the old ones, and verify passed. Now the export reads one
    snapshot (the bytes it hashes are the bytes it parses, and the manifest it records is the one it
    read): a re-import mid-read or mid-computation leaves the evidence wholly of the version it read."""
    from janus_core import pipeline

    paths = _copy_workspace(sample_workspace, tmp_path / "ws")
    cfg = dict(dataset="synthetic-ashare", decisions="type_prior", record_run=False, report=False)
    export(ExportConfig(**cfg, out_dir=tmp_path / "clean"), paths)
    v1 = json.loads(paths.manifest_path("synthetic-ashare").read_text())
    base = int(v1["version"])  # the sample's own version; each re-import adds the next one
    first, second, third = str(base), str(base + 1), str(base + 2)

    real_study = pipeline.car_study

    def reimport_then_study(*args, **kwargs):  # after the dataset was read, before anything is computed
        _reimport(paths, second)
        return real_study(*args, **kwargs)

    monkeypatch.setattr(pipeline, "car_study", reimport_then_study)
    export(ExportConfig(**cfg, out_dir=tmp_path / "during-compute"), paths)
    monkeypatch.setattr(pipeline, "car_study", real_study)
    assert json.loads(paths.manifest_path("synthetic-ashare").read_text())["version"] == second

    real_hash, calls = mf.sha256_bytes, []

    def reimport_mid_read(data):  # between the manifest and the table files
        calls.append(1)
        if len(calls) == 1:
            _reimport(paths, third)
        return real_hash(data)

    monkeypatch.setattr(mf, "sha256_bytes", reimport_mid_read)
    export(ExportConfig(**cfg, out_dir=tmp_path / "during-read"), paths)
    monkeypatch.setattr(mf, "sha256_bytes", real_hash)

    clean = tmp_path / "clean"
    for name, version in (("during-compute", first), ("during-read", second)):
        out = tmp_path / name
        dataset = json.loads((out / "run-manifest.json").read_text())["dataset"]
        assert dataset["version"] == version, name
        recorded = mf.read_dataset_manifest("synthetic-ashare", paths, version)[0]
        assert dataset["tables"] == mf.input_digests(recorded), name
        assert verify_evidence(out, paths) == [], name
    for ref in (schema.EVENT_CAR_REF, schema.HGRM_REWARD_REF):
        clean_doc = json.loads((clean / ref).read_text())
        doc = json.loads((tmp_path / "during-compute" / ref).read_text())
        assert doc == clean_doc  # computed from version 1 and bound to version 1
    assert mf.input_digests(v1) == json.loads((clean / "run-manifest.json").read_text())["dataset"]["tables"]
