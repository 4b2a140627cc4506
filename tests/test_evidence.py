"""Evidence export: record builders, summaries, decision mapping, authority, golden bytes, atomic writes.

Built on the hand-built tables of ``test_evidence_helpers`` (five included events, one excluded, the
lane scaffold reward), so every expected value below is computed by hand from those tables."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from test_evidence_helpers import EVENTS, labelled_table, make_inputs, write_folder

from janus_core import hashing, pipeline, provenance
from janus_core.data.events import derive_event_id
from janus_core.data.tables import event_ts_iso
from janus_core.evidence import output, records, schema
from janus_core.hashing import H

GOLDEN = Path(__file__).parent / "golden" / "evidence"
REGEN = os.environ.get("JANUS_REGEN_GOLDENS") == "1"
FIXED_RUNTIME = ["janus_core==0.1.0", "polars==pinned", "python==pinned"]


def test_iso_utc_matches_the_data_layers_event_ts_text():
    stamps = [datetime(2024, 1, 2, 3, 4, 5, us, tzinfo=timezone.utc) for us in (0, 1, 999, 1000, 120000, 999999)]
    frame = pl.DataFrame({"t": stamps}, schema={"t": pl.Datetime("us", "UTC")})
    assert [schema.iso_utc(t) for t in frame["t"]] == frame.select(event_ts_iso(pl.col("t"))).to_series().to_list()


def test_decimal_mean_and_ratio_are_exact():
    values = ["0.1", "0.2", "-0.0000000001", "3"]
    exact = sum(Fraction(v) for v in values) / len(values)
    assert Decimal(schema.decimal_mean(values)) == round(Decimal(exact.numerator) / Decimal(exact.denominator), 10)
    assert schema.decimal_mean([]) == "0"
    assert schema.ratio_text(2, 7) == "0.2857142857"
    assert schema.ratio_text(1, 0) == "0"
    assert schema.decimal_text(Decimal("-0.00000000001")) == "0"


def test_event_records_cover_included_events_with_contract_fields():
    labelled = labelled_table()
    recs = records.event_car_records(labelled)
    assert len(recs) == 5
    assert all(set(schema.EVENT_RECORD_FIELDS) <= set(r) for r in recs)
    assert [r["semantic_direction"] for r in recs] == ["long", "short", "short", "neutral", "long"]
    risk = recs[2]
    assert risk["car"] == "-0.0512" and risk["event_ts"] == "2024-11-13T02:30:00.120Z" and risk["seq"] is None
    assert recs[3]["car"] == "0"
    # event ids are the data's, and reproducible from the record by the lane's rule
    for rec, (sym, ts, seq, src, head, *_rest) in zip(recs, EVENTS):
        assert rec["event_id"] == derive_event_id(rec["event_ts"], sym, seq, src, records.event_payload(head, None))
        assert rec["payload_hash"] == H(f"{head}\n")
    assert all(isinstance(r[f], str) for r in recs for f in ("price_t", "raw_return", "abnormal_return"))


def test_event_summary_counts_by_hand():
    summary = records.event_car_summary(records.event_car_records(labelled_table()))
    assert summary == {
        "event_count": 5,
        "positive_direction_count": 2,
        "negative_direction_count": 2,
        "neutral_direction_count": 1,
        "strong_event_count": 3,
        "unknown_event_type_count": 1,
        # (0.0125 + 0.0031 + 0.0512 + 0 + 0.0009) / 5
        "mean_abs_car": "0.01354",
    }


def test_bad_direction_label_names_event_column_and_rule():
    labelled = labelled_table().with_columns(pl.lit("up").alias("direction"))
    with pytest.raises(ValueError, match=r"event .*column direction has 'up'.*rule"):
        records.event_car_records(labelled)


def _decision(**kw) -> pl.DataFrame:
    base = {"event_id": None, "strategy_id": "s", "action": "long", "event_ts": None, "symbol": None, "seq": None}
    base.update(kw)
    return pl.DataFrame(
        [base],
        schema={
            "event_id": pl.String,
            "strategy_id": pl.String,
            "action": pl.String,
            "event_ts": pl.String,
            "symbol": pl.String,
            "seq": pl.Int64,
        },
    )


@pytest.mark.parametrize(
    "kw, status, index",
    [
        ({"event_id": "by-id"}, "mapped", 0),
        ({"event_ts": "2024-11-12T01:00:00Z", "symbol": "600001.SH", "seq": 2}, "mapped", 1),
        ({"event_ts": "2024-11-12T09:00:00+08:00", "symbol": "600001.SH"}, "ambiguous", None),
        ({"event_ts": "2024-11-13T02:30:00.120Z", "symbol": "600002.SH"}, "mapped", 2),
        ({"event_ts": "2024-11-13T02:30:00Z", "symbol": "600002.SH"}, "unmapped", None),
        ({"event_ts": "2024-11-15T08:00:00Z", "symbol": "600005.SH"}, "event_excluded", None),
        ({"event_id": "nope"}, "unmapped", None),
    ],
)
def test_decision_mapping_follows_the_lane_rule(kw, status, index):
    labelled = labelled_table()
    ids = labelled["event_id"].to_list()
    if kw.get("event_id") == "by-id":
        kw = {"event_id": ids[0]}
    out = records.map_decisions(_decision(**kw), labelled)
    assert out["mapping_status"].to_list() == [status]
    assert out["event_id"].to_list() == [ids[index] if index is not None else None]
    assert out["decision_index"].to_list() == [0]


def test_reward_records_keep_every_decision_and_summary_by_hand():
    inputs = make_inputs()
    rewards = records.reward_records(inputs.mapped, inputs.scored, inputs.labelled, "cand-1")
    assert len(rewards) == 7 and all(set(schema.REWARD_RECORD_FIELDS) <= set(r) for r in rewards)
    assert [r["mapping_status"] for r in rewards] == ["mapped"] * 5 + ["event_excluded", "unmapped"]
    assert rewards[5]["final_reward"] is None and rewards[6]["event_id"] is None
    assert len({r["reward_id"] for r in rewards}) == 7
    # lane scaffold by hand, event 0: long on +0.0125 dividend, type match, rationale present:
    # pnl = 0.0125 - 0.0005; magnitude = +0.0125; final = 1 * 1 * 0.012 + 0.0125 + 0.10
    assert rewards[0]["pnl_reward"] == "0.012" and rewards[0]["final_reward"] == "0.1245"
    summary = records.reward_summary(rewards)
    assert summary["reward_count"] == 7 and summary["event_mapped_count"] == 5
    assert summary["event_ambiguous_unmapped_count"] == 2
    gates = [r["direction_gate"] for r in rewards[:5]]
    assert summary["hard_gate_fail_count"] == gates.count("mismatch")
    assert summary["direction_gate_pass_ratio"] == schema.ratio_text(gates.count("match"), 7)
    expected_mean = sum(Decimal(r["final_reward"]) for r in rewards[:5]) / 5
    assert Decimal(summary["mean_final_reward"]) == round(expected_mean, 10)


@pytest.mark.parametrize(
    "provenance, lineage_ok, expected",
    [
        ("synthetic_generated", True, ("synthetic_generated", "uncalibrated", False, False)),
        ("historical_market_replay", True, ("historical_market_replay", "empirically_validated", True, True)),
        ("historical_market_replay", False, ("historical_market_replay", "calibrated", False, False)),
        ("paper_runtime_observed", True, ("non_promotable_validation", "stub", False, False)),
    ],
)
def test_authority_follows_provenance_and_lineage(provenance, lineage_ok, expected):
    lineage = {
        "job_run_id": "r",
        "dataset_snapshot_ref": "d" if lineage_ok else "",
        "runtime_version_refs": ["x"],
        "model_refs": ["m"],
    }
    auth, eligible = schema.artifact_authority(provenance, lineage)
    assert (auth["provenance"], auth["maturity"], auth["authoritative"], eligible) == expected
    assert auth["placeholder"] is False


def test_evidence_reasons():
    complete = make_inputs("historical_market_replay", complete=True)
    _, _, docs = pipeline.render_export(complete, generated="2024-11-20T23:59:59Z", dspy=False)
    assert docs.evidence["evidence_complete"] is True and docs.evidence["reasons"] == []
    assert docs.evidence["promotion_authority_eligible"] is True

    synthetic = pipeline.render_export(make_inputs(), generated="x", dspy=False)[2].evidence
    assert synthetic["reasons"] == ["janus_reward_event_mapping_incomplete", "janus_empirical_authority_missing"]

    empty = labelled_table().filter(pl.lit(False))
    inputs = make_inputs("historical_market_replay", labelled=labelled_table())
    no_events = inputs.model_copy(
        update={"labelled": empty, "mapped": inputs.mapped.head(0), "scored": inputs.scored.head(0)}
    )
    docs = pipeline.render_export(no_events, generated="x", dspy=False)[2]
    assert docs.evidence["reasons"] == ["janus_event_count_missing", "janus_reward_count_missing"]
    assert docs.evidence["evidence_complete"] is False


def test_generated_at_pinning(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert provenance.generated_at("2025-02-06T23:59:59Z", None) == "2025-02-06T23:59:59Z"
    assert provenance.generated_at("2025-02-07T07:59:59+08:00", None) == "2025-02-06T23:59:59Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert provenance.generated_at("2025-02-06T23:59:59Z", None) == "2023-11-14T22:13:20Z"
    assert provenance.generated_at("2025-02-06T23:59:59Z", 0) == "1970-01-01T00:00:00Z"


def test_artifact_refs_are_relative_and_numbers_are_strings(tmp_path):
    out = write_folder(tmp_path / "out")
    summary = json.loads((out / schema.EVIDENCE_REF).read_text())
    for block in ("event_car", "hgrm_reward"):
        ref = summary[block]["artifact_ref"]
        assert not Path(ref).is_absolute() and (out / ref).is_file()
    rewards = json.loads((out / schema.HGRM_REWARD_REF).read_text())
    assert all(isinstance(v, str) for v in rewards["reward_config"].values())
    assert "e" not in "".join(r["final_reward"] or "" for r in rewards["rewards"]).lower()


def test_golden_bytes(tmp_path, monkeypatch):
    """The three lane files of the hand-built inputs, byte for byte (runtime refs pinned so the
    golden does not depend on the interpreter's patch version). Regenerate with
    ``JANUS_REGEN_GOLDENS=1 pytest tests/test_evidence.py -k golden``."""
    monkeypatch.setattr(pipeline, "runtime_version_refs", lambda: list(FIXED_RUNTIME))
    files, _, _ = pipeline.render_export(
        make_inputs("historical_market_replay"), generated="2024-11-20T23:59:59Z", dspy=False
    )
    for ref in (schema.EVENT_CAR_REF, schema.HGRM_REWARD_REF, schema.EVIDENCE_REF):
        golden = GOLDEN / Path(ref).name
        if REGEN:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_bytes(files[ref])
        assert golden.is_file(), f"missing golden {golden}; run with JANUS_REGEN_GOLDENS=1"
        assert files[ref] == golden.read_bytes(), f"{ref} differs from {golden}"


def test_analysis_tables_list_every_event_once(tmp_path):
    out = write_folder(tmp_path / "out")
    labelled = pl.read_csv(out / "analysis/labelled_car.csv")
    assert labelled.height == len(EVENTS) and labelled["event_id"].n_unique() == len(EVENTS)
    exclusions = pl.read_csv(out / "analysis/exclusions.csv")
    assert exclusions["excluded_reason"].to_list() == ["too_few_estimation_days"]
    mapping = pl.read_csv(out / "analysis/decision_mapping.csv")
    assert mapping.height == 7


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------
def _failing_writer(monkeypatch, fail_at: int):
    real = output._write_file
    calls = {"n": 0}

    def writer(path, data):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError("disk full (simulated)")
        real(path, data)

    monkeypatch.setattr(output, "_write_file", writer)


def test_failed_export_leaves_no_folder(tmp_path, monkeypatch):
    _failing_writer(monkeypatch, fail_at=3)
    with pytest.raises(OSError, match="simulated"):
        write_folder(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_previous_folder(tmp_path, monkeypatch):
    out = write_folder(tmp_path / "out")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _failing_writer(monkeypatch, fail_at=4)
    with pytest.raises(OSError):
        write_folder(out, "historical_market_replay")
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_successful_export_replaces_the_old_folder(tmp_path):
    out = write_folder(tmp_path / "out")
    (out / "stale.txt").write_text("old")
    write_folder(out, "historical_market_replay")
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    summary = json.loads((out / schema.EVIDENCE_REF).read_text())
    assert summary["artifact_authority"]["provenance"] == "historical_market_replay"


def test_published_folder_has_ordinary_permissions(tmp_path):
    import stat

    out = write_folder(tmp_path / "out")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask


def test_strategy_selection_is_explicit():
    two = pl.DataFrame({"strategy_id": ["a", "b", "a"], "event_id": ["1", "2", "3"]})
    with pytest.raises(ValueError, match=r"decisions.csv: column strategy_id has 2 strategies \['a', 'b'\]"):
        pipeline._select_strategy(two, None, "decisions.csv")
    assert pipeline._select_strategy(two, "a", "decisions.csv")["event_id"].to_list() == ["1", "3"]
    with pytest.raises(ValueError, match="no rows for 'c'"):
        pipeline._select_strategy(two, "c", "decisions.csv")


def test_dumps_is_byte_identical_to_json_dumps(tmp_path):
    import random

    def reference(obj) -> bytes:
        return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode("utf-8")

    rng = random.Random(7)
    alphabet = ["a", "Z", "0", " ", '"', "\\", "\n", "\t", "\x01", "é", "€", "𝄞", "/", "{", "]", ":"]

    def value(depth: int):
        kind = rng.randrange(8 if depth < 4 else 5)
        if kind == 0:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
        if kind == 1:
            return rng.randrange(-(10**20), 10**20)
        if kind == 2:
            return rng.choice([True, False, None])
        if kind == 3:
            return rng.choice([0, -1, "", "0.0123"])
        if kind == 4:
            return []
        if kind == 5:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 6:
            return tuple(value(depth + 1) for _ in range(rng.randrange(3)))
        return {
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(4))): value(depth + 1)
            for _ in range(rng.randrange(5))
        }

    for _ in range(500):
        obj = value(0)
        assert hashing.dumps(obj) == reference(obj)
    out = write_folder(tmp_path / "out", dspy=True)
    for path in out.rglob("*.json"):
        assert hashing.dumps(json.loads(path.read_bytes())) == reference(json.loads(path.read_bytes()))
    # values outside the fast path go through json itself
    for odd in ({"x": 1.5}, {2: "y", 1: None}, [float("1e-7")]):
        assert hashing.dumps(odd) == reference(odd)


def test_run_manifest_provenance_fields(tmp_path):
    assert provenance.git_commit(tmp_path) == "unknown"
    commit = provenance.git_commit(provenance.repo_root())
    assert commit == "unknown" or len(commit) == 40
    out = write_folder(tmp_path / "out")
    manifest = json.loads((out / "run-manifest.json").read_text())
    assert manifest["config_hash"] == H(manifest["config"])
    assert (
        manifest["run_id"]
        == H({"config_hash": manifest["config_hash"], "input_digest_hash": manifest["input_digest_hash"]})[:24]
    )
    assert set(manifest["files"]) == {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != "run-manifest.json"
    }
    assert manifest["packages"]["polars"] == pl.__version__
    assert (
        all(len(d) == 64 for d in manifest["sources"].values())
        and "janus_core/evidence/verify.py" in manifest["sources"]
    )
