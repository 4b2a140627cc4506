"""No tracebacks (issue 14): every bad invocation the issue lists ends in a short error on stderr and
a non-zero exit, or in evidence with the right reason code."""

from __future__ import annotations

import json

import polars as pl
import pytest
from data_tables import raw_tables, write_all

from janus_core.cli import main


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A workspace with us-megacap and the tiny hand-made dataset (every event excluded), an earlier
    evidence folder, decisions files and a few foreign files."""
    from janus_core.data.samples import build_sample
    from janus_core.paths import WorkbenchPaths
    from janus_core.pipeline import ExportConfig, export

    root = tmp_path_factory.mktemp("bad")
    paths = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "data_manifests", store=root / "janus.duckdb")
    build_sample("us-megacap", paths, progress=False)
    evidence = root / "evidence"
    export(
        ExportConfig(dataset="us-megacap", decisions="type_prior", out_dir=evidence, record_run=False, report=False),
        paths,
    )
    mapping = pl.read_csv(evidence / "analysis" / "decision_mapping.csv").drop("decision_index", "mapping_status")
    files = {"tiny": write_all(raw_tables(), root / "tiny", "csv")}
    d = root / "decisions"
    d.mkdir()
    mapping.write_csv(d / "good.csv")
    mapping.write_ndjson(d / "good.jsonl")
    pl.concat([mapping, mapping.head(1)]).write_csv(d / "duplicate.csv")
    mapping.with_columns(pl.lit("buy").alias("action")).write_csv(d / "bad-enum.csv")
    mapping.drop("strategy_id").write_csv(d / "missing-column.csv")
    mapping.with_columns(pl.lit("false").alias("format_ok")).write_csv(d / "format-ok-lies.csv")
    mapping.with_columns(pl.format("unknown-{}", pl.int_range(pl.len())).alias("event_id")).write_csv(
        d / "unmapped.csv"
    )
    (root / "policy-bad.json").write_text('{"gate5_live": true}')
    (root / "policy-not-json.json").write_text("{nope")
    (root / "input.csv").write_text("a,b\n1,2\n")
    (root / "key").write_text("not a key")
    return {"root": root, "paths": paths, "evidence": evidence, "decisions": d, "files": files}


@pytest.fixture
def env(world, monkeypatch):
    paths = world["paths"]
    monkeypatch.setenv("JANUS_DATA_DIR", str(paths.data_dir))
    monkeypatch.setenv("JANUS_MANIFEST_DIR", str(paths.manifest_dir))
    monkeypatch.setenv("JANUS_STORE", str(paths.store))
    monkeypatch.chdir(world["root"])
    return world


def _tiny_import(world) -> list[str]:
    f = world["files"]["tiny"]
    return [
        "data",
        "import",
        "tiny",
        *[x for t, p in f.items() for x in (f"--{t}", str(p))],
        "--timezone",
        "Asia/Shanghai",
        "--provenance",
        "historical_market_replay",
    ]


# (id, argv builder, expected exit code) for the failures: one short line on stderr, no traceback
FAILURES = [
    (
        "export-out-dot",
        lambda w, t: ["export", "--decisions", "always_long", "--dataset", "us-megacap", "--out", "."],
        2,
    ),
    (
        "export-out-input-file",
        lambda w, t: ["export", "--decisions", "always_long", "--dataset", "us-megacap", "--out", "input.csv"],
        2,
    ),
    (
        "export-unknown-dataset",
        lambda w, t: ["export", "--dataset", "nope", "--decisions", "always_long", "--out", str(t / "o")],
        2,
    ),
    (
        "export-unknown-policy",
        lambda w, t: ["export", "--dataset", "us-megacap", "--decisions", "typo_policy", "--out", str(t / "o")],
        2,
    ),
    (
        "decisions-duplicate",
        lambda w, t: [
            "export",
            "--dataset",
            "us-megacap",
            "--decisions",
            str(w["decisions"] / "duplicate.csv"),
            "--out",
            str(t / "o"),
        ],
        2,
    ),
    (
        "decisions-bad-enum",
        lambda w, t: [
            "export",
            "--dataset",
            "us-megacap",
            "--decisions",
            str(w["decisions"] / "bad-enum.csv"),
            "--out",
            str(t / "o"),
        ],
        2,
    ),
    (
        "decisions-missing-column",
        lambda w, t: [
            "export",
            "--dataset",
            "us-megacap",
            "--decisions",
            str(w["decisions"] / "missing-column.csv"),
            "--out",
            str(t / "o"),
        ],
        2,
    ),
    (
        "decisions-format-ok-lies",
        lambda w, t: [
            "export",
            "--dataset",
            "us-megacap",
            "--decisions",
            str(w["decisions"] / "format-ok-lies.csv"),
            "--out",
            str(t / "o"),
        ],
        2,
    ),
    (
        "export-bad-sign-key",
        lambda w, t: [
            "export",
            "--dataset",
            "us-megacap",
            "--decisions",
            "always_long",
            "--out",
            str(t / "o"),
            "--sign-key",
            "key",
        ],
        2,
    ),
    (
        "export-out-under-a-file",
        lambda w, t: ["export", "--dataset", "us-megacap", "--decisions", "always_long", "--out", "input.csv/sub"],
        2,
    ),
    (
        "gate-policy-missing",
        lambda w, t: ["gate", str(w["evidence"]), "--target", "paper", "--gate-policy", "none.json"],
        2,
    ),
    (
        "gate-policy-unknown-field",
        lambda w, t: ["gate", str(w["evidence"]), "--target", "paper", "--gate-policy", "policy-bad.json"],
        2,
    ),
    (
        "gate-policy-not-json",
        lambda w, t: ["gate", str(w["evidence"]), "--target", "paper", "--gate-policy", "policy-not-json.json"],
        2,
    ),
    (
        "import-existing-name",
        lambda w, t: [
            "data",
            "import",
            "us-megacap",
            *[x for tb, p in w["files"]["tiny"].items() for x in (f"--{tb}", str(p))],
            "--timezone",
            "Asia/Shanghai",
            "--provenance",
            "historical_market_replay",
        ],
        2,
    ),
    (
        "import-as-of-script",
        lambda w, t: [*_tiny_import(w)[:2], "tiny-x", *_tiny_import(w)[3:], "--as-of", "<script>"],
        2,
    ),
    (
        "import-as-of-before-data",
        lambda w, t: [*_tiny_import(w)[:2], "tiny-y", *_tiny_import(w)[3:], "--as-of", "2019-01-01"],
        2,
    ),
    ("report-foreign-folder", lambda w, t: ["report", str(w["decisions"])], 2),
    ("car-out-file", lambda w, t: ["car", "--dataset", "us-megacap", "--out", "input.csv"], 2),
    ("keygen-over-a-file", lambda w, t: ["keygen", "input.csv"], 2),
    ("verify-untrusted-key-file", lambda w, t: ["verify", str(w["evidence"]), "--trusted-key", "input.csv"], 2),
]


@pytest.mark.parametrize("build, code", [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_bad_invocation_is_one_line_and_non_zero(env, tmp_path, capsys, build, code):
    before = sorted(p.name for p in env["root"].iterdir())
    got = main(build(env, tmp_path))
    captured = capsys.readouterr()
    lines = [line for line in captured.err.strip().splitlines() if line.strip()]
    assert got == code, (got, captured.err[-2000:])
    assert len(lines) == 1 and "Traceback" not in captured.err and len(lines[0]) < 600, captured.err[-2000:]
    assert lines[0].startswith("janus ")
    assert sorted(p.name for p in env["root"].iterdir()) == before  # nothing written, nothing destroyed
    assert not (tmp_path / "o").exists()


# failures that name every problem, one line each (a data file with several bad rows), never a traceback
DATA_FAILURES = [
    ("offset", "events", 1, "published_at", "2024-01-03T09:00:00+25:00", "invalid_offset"),
    ("price-1e300", "prices", 2, "close", "1e300", "price_out_of_range"),
    ("price-negative", "prices", 2, "close", "-4", "non_positive_price"),
]


@pytest.mark.parametrize(
    "table, row, column, value, rule", [f[1:] for f in DATA_FAILURES], ids=[f[0] for f in DATA_FAILURES]
)
def test_bad_data_is_named_by_file_row_column_and_rule(env, tmp_path, capsys, table, row, column, value, rule):
    tables = raw_tables()
    tables[table][row][column] = value
    files = write_all(tables, tmp_path / "in", "csv")
    argv = [
        "data",
        "import",
        "fresh",
        *[x for t, p in files.items() for x in (f"--{t}", str(p))],
        "--timezone",
        "Asia/Shanghai",
        "--provenance",
        "historical_market_replay",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{files[table]}:{row + 2}: {column}: {rule}: " in err
    assert not (env["paths"].manifest_dir / "fresh.json").exists()


def test_full_disk_is_one_line(env, tmp_path, capsys, monkeypatch):
    import errno

    from janus_core.evidence import output

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(output, "_write_file", full)
    assert (
        main(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                "always_long",
                "--out",
                str(tmp_path / "o"),
                "--no-record",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    assert not [p for p in tmp_path.iterdir()]


# evidence with the right reason code instead of a crash
def test_every_event_excluded_gives_evidence_that_says_so(env, tmp_path, capsys):
    assert main(_tiny_import(env)) == 0
    out = tmp_path / "ev"
    assert main(["export", "--dataset", "tiny", "--decisions", "always_long", "--out", str(out), "--no-record"]) == 0
    summary = json.loads((out / "gates" / "janus-q-evidence-v1.json").read_text())
    assert "janus_event_count_missing" in summary["reasons"] and "janus_reward_count_missing" in summary["reasons"]
    assert main(["verify", str(out)]) == 0


def test_no_decision_mapped_gives_evidence_that_says_so(env, tmp_path):
    out = tmp_path / "ev"
    assert (
        main(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                str(env["decisions"] / "unmapped.csv"),
                "--out",
                str(out),
                "--no-record",
                "--no-report",
            ]
        )
        == 0
    )
    summary = json.loads((out / "gates" / "janus-q-evidence-v1.json").read_text())
    assert "janus_reward_event_mapping_incomplete" in summary["reasons"]
    assert summary["hgrm_reward"]["event_mapped_count"] == 0


@pytest.mark.parametrize("name", ["good.csv", "good.jsonl"])
def test_a_truthful_format_ok_column_in_csv_or_jsonl_exports(env, tmp_path, name):
    """The issue's repro: a format_ok column in CSV or JSON Lines raised a traceback."""
    out = tmp_path / "ev"
    assert (
        main(
            [
                "export",
                "--dataset",
                "us-megacap",
                "--decisions",
                str(env["decisions"] / name),
                "--out",
                str(out),
                "--no-record",
                "--no-report",
            ]
        )
        == 0
    )
    assert main(["verify", str(out)]) == 0


@pytest.mark.parametrize("damage", ["manifest-not-object", "nested", "analysis-garbage"])
def test_verify_and_gate_on_malformed_evidence_do_not_crash(env, tmp_path, capsys, damage):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(env["evidence"], folder)
    if damage == "manifest-not-object":
        (folder / "run-manifest.json").write_text('["not", "an", "object"]\n')
    elif damage == "nested":
        (folder / "gates" / "janus-q-evidence-v1.json").write_text('{"a":' * 50_000 + "1" + "}" * 50_000)
    else:
        (folder / "analysis" / "labelled_car.csv").write_bytes(b'\x00\xff\xfe,\n"')
    assert main(["verify", str(folder)]) == 1
    assert main(["gate", str(folder), "--target", "paper"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    verdict = json.loads(captured.out[captured.out.index("{") :])
    assert (
        verdict["promotable"] is False
        and verdict["lane"]["reasons"][0]["code"] == "workbench_evidence_integrity_failed"
    )
