"""DSPy, as the seeds' lane uses it (issue 15 item 5): the decision program's signature comes from the
template, ``janus decide --optimize dspy`` compiles it with BootstrapFewShot against an
OpenAI-compatible endpoint (a test server on 127.0.0.1 answering in DSPy's ChatAdapter format),
evaluates it on the test split through the completion cache, and ``janus export --dspy-bundle`` names
the real program, optimizer, dataset hash and compiled prompt hash in the same hash chain.

The tests that run DSPy are skipped when the optional group is not installed
(``uv sync --group dspy``); the rest (the signature spec, the CLI's message without DSPy, the bundle
from a compile record) run without it."""

from __future__ import annotations

import hashlib
import json
import random
import socket
import sys

import polars as pl
import pytest
from chat_server import ChatServer, answer

from janus_core import hashing, pipeline
from janus_core.cli import main
from janus_core.data.manifest import load_dataset
from janus_core.decide.decisions import load_decisions
from janus_core.decide.dspy_program import (
    DSPY_GROUP_HINT,
    OPTIMIZER_NAME,
    PROGRAM_NAME,
    SIGNATURE_NAME,
    DspyOptimizeConfig,
    DspyUnavailable,
    dspy_installed,
    optimize_dspy,
    signature_spec,
    signature_version,
    template_field_order,
)
from janus_core.decide.dspy_record import DspyProgramRecord
from janus_core.decide.lineage import (
    LineageError,
    model_refs,
    read_lineage,
    write_decisions,
)
from janus_core.decide.models import DecideConfig, DecideError
from janus_core.decide.prompts import (
    TEMPLATE_DIR,
    TEMPLATE_FIELDS,
    decision_events,
    load_template,
    prompt_fields,
)
from janus_core.decide.training import dspy_metric
from janus_core.evidence import dspy_bundle, output
from janus_core.evidence.verify import verify_evidence
from janus_core.paths import WorkbenchPaths
from janus_core.study.car import CarConfig
from janus_core.study.labels import car_study

SKIP_REASON = f"DSPy is not installed; install the optional group with `{DSPY_GROUP_HINT}`"
needs_dspy = pytest.mark.skipif(not dspy_installed(), reason=SKIP_REASON)
GENERATED = "2024-11-20T23:59:59Z"


def _h(x) -> str:
    """The lane's H, written out independently of janus_core.hashing."""
    return hashlib.sha256(
        json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    ).hexdigest()


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


# --------------------------------------------------------------------------------------------------
# Without DSPy
# --------------------------------------------------------------------------------------------------
def test_the_signature_is_the_templates():
    template = load_template()
    spec = signature_spec(template)
    assert spec["instructions"] == template.system
    names = [f["name"] for f in spec["inputs"]]
    # every field of the user section, in the order the prompt shows them
    user = template.user
    assert names == sorted(set(names), key=lambda n: user.index("$" + n))
    assert set(names) == template.fields() and names[0] == "company" and names[-1] == "event_types"
    assert [f["desc"] for f in spec["inputs"]] == [TEMPLATE_FIELDS[n] for n in names]
    assert [f["name"] for f in spec["outputs"]] == ["completion"]
    assert signature_version(spec) == f"decision-v1:{_h(spec)[:16]}"


def test_the_signature_version_follows_the_template(tmp_path):
    edited = tmp_path / "decision-v1-edit.txt"
    edited.write_text((TEMPLATE_DIR / "decision-v1.txt").read_text().replace("Headline: $headline\n", ""))
    a, b = signature_spec(load_template()), signature_spec(load_template(str(edited)))
    assert "headline" in template_field_order(load_template()) and "headline" not in [f["name"] for f in b["inputs"]]
    assert signature_version(a) != signature_version(b)


def test_without_dspy_the_cli_exits_2_naming_the_group(ws, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "dspy", None)  # `import dspy` now fails as if it were not installed
    assert not dspy_installed()
    with pytest.raises(DspyUnavailable, match="uv sync --group dspy"):
        optimize_dspy(DecideConfig(model="openai:m@http://127.0.0.1:9/v1"))
    out = tmp_path / "d.parquet"
    assert (
        main(
            [
                "decide",
                "--dataset",
                "synthetic-ashare",
                "--model",
                "openai:m@http://127.0.0.1:9/v1",
                "--optimize",
                "dspy",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["janus decide: --optimize dspy needs DSPy, which is not installed; run `uv sync --group dspy`"]
    assert not out.exists()
    assert (
        main(
            [
                "decide",
                "--dataset",
                "synthetic-ashare",
                "--model",
                "text-baseline",
                "--max-demos",
                "3",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "apply to --optimize dspy only" in capsys.readouterr().err


def _record(template=None, demos=()) -> DspyProgramRecord:
    spec = signature_spec(template or load_template())
    compiled = {"program": PROGRAM_NAME, "adapter": "dspy.ChatAdapter", "signature": spec, "demos": list(demos)}
    return DspyProgramRecord(
        program_name=PROGRAM_NAME,
        signature_versions={SIGNATURE_NAME: signature_version(spec)},
        optimizer=OPTIMIZER_NAME,
        optimizer_config={"max_bootstrapped_demos": 2},
        metric={"name": "hgrm_hgrm_metric"},
        seed="7",
        dataset_hash="d" * 64,
        train_event_ids=["e1", "e2"],
        compiled_prompt=compiled,
        compiled_prompt_hash=_h(compiled),
        evaluation={"split": "test", "events": 3, "mean_metric": 0.25},
        lm={"model_id": "openai:m@http://127.0.0.1:1/v1"},
        dspy_version="3.4.1",
    )


def test_a_compile_record_must_hash_its_compiled_prompt():
    rec = _record()
    with pytest.raises(ValueError, match="is not H\\(compiled_prompt\\)"):
        DspyProgramRecord.model_validate({**rec.model_dump(), "compiled_prompt_hash": "0" * 64})
    refs = model_refs({"model_id": "openai:m@u", "dspy": rec.model_dump(mode="json"), "decisions_content_hash": "c"})
    assert refs == ["model:openai:m@u", f"dspy_program:sha256:{rec.compiled_prompt_hash}", "decisions_content:sha256:c"]


def _reseal_manifest(out):
    manifest = json.loads((out / "run-manifest.json").read_bytes())
    manifest["files"] = {rel: hashing.sha256_file(out / rel) for rel in manifest["files"]}
    manifest["self_hash"] = hashing.H({k: v for k, v in manifest.items() if k != "self_hash"})
    (out / "run-manifest.json").write_bytes(hashing.dumps(manifest))


def test_the_bundle_names_the_compiled_program_and_verify_rebuilds_it(tmp_path):
    from test_evidence_helpers import make_inputs

    rec = _record(demos=[{"event_id": "e1", "fields": {"company": "A", "completion": "x"}}])
    inputs = make_inputs("historical_market_replay", complete=True).model_copy(update={"dspy_program": rec})
    files, manifest, _ = pipeline.render_export(inputs, generated=GENERATED, dspy=True)
    out = tmp_path / "out"
    output.write_tree_atomically(out, files)
    c = json.loads(files[dspy_bundle.COMPILE_REF])
    assert (c["programName"], c["optimizer"], c["signatureVersions"]) == (
        PROGRAM_NAME,
        OPTIMIZER_NAME,
        {SIGNATURE_NAME: rec.signature_versions[SIGNATURE_NAME]},
    )
    assert c["datasetHash"] == "d" * 64 and c["compiledPromptHash"] == _h(rec.compiled_prompt)
    assert c["compiledArtifactUri"] == inputs.decisions_ref
    assert c["metricBundle"]["janus_dspy_compile"]["demo_event_ids"] == ["e1"]
    assert c["reproducibilityHash"] == _h(
        {
            "program_name": PROGRAM_NAME,
            "signature_versions": c["signatureVersions"],
            "optimizer": OPTIMIZER_NAME,
            "dataset_hash": "d" * 64,
            "compiled_prompt_hash": c["compiledPromptHash"],
            "seed": "7",
            "metric_bundle": c["metricBundle"],
        }
    )
    assert manifest["dspy"]["seed"] == "7" and manifest["dspy"]["program"] == rec.model_dump(mode="json")
    assert verify_evidence(out) == []

    # a policy's bundle has no program record in its run manifest (unchanged)
    plain, plain_manifest, _ = pipeline.render_export(
        make_inputs("historical_market_replay", complete=True), generated=GENERATED, dspy=True
    )
    assert "program" not in plain_manifest["dspy"]
    assert json.loads(plain[dspy_bundle.COMPILE_REF])["optimizer"] == "none"

    # an edited compiled prompt no longer hashes to the recorded hash
    doc = json.loads((out / "run-manifest.json").read_bytes())
    doc["dspy"]["program"]["compiled_prompt"]["demos"] = []
    (out / "run-manifest.json").write_bytes(hashing.dumps(doc))
    _reseal_manifest(out)
    assert [(p.file, p.location) for p in verify_evidence(out)] == [("run-manifest.json", "dspy.program")]
    # ... and one resealed with its hash gives another compiled prompt hash than the compile result's
    doc["dspy"]["program"]["compiled_prompt_hash"] = _h(doc["dspy"]["program"]["compiled_prompt"])
    (out / "run-manifest.json").write_bytes(hashing.dumps(doc))
    _reseal_manifest(out)
    assert (dspy_bundle.COMPILE_REF, "compiledPromptHash") in {(p.file, p.location) for p in verify_evidence(out)}


# --------------------------------------------------------------------------------------------------
# With DSPy, against the test server
# --------------------------------------------------------------------------------------------------
def _prompt(messages) -> str:
    """The text the test server derives its answer from."""
    return "\n".join(m["content"] for m in messages)


@needs_dspy
def test_compile_evaluate_cache_and_export(ws, labelled, tmp_path):
    from janus_core.decide.dspy_program import program_from_compiled, program_messages

    opt = DspyOptimizeConfig(train_examples=6, max_demos=2)
    with ChatServer() as srv:
        cfg = DecideConfig(model=f"openai:test-model@{srv.url}", limit=8, endpoint={"backoff_s": 0.0})
        first = optimize_dspy(cfg, opt, ws)
        bodies = list(srv.bodies)
        rec = DspyProgramRecord.model_validate(first.lineage["dspy"])

        # the train draw: the seeded sample of the included train events, in the drawn order
        train = decision_events(labelled, "train")
        drawn = [train["event_id"][i] for i in random.Random(opt.seed).sample(range(train.height), 6)]
        assert rec.train_event_ids == drawn
        ds = load_dataset("synthetic-ashare", ws)
        events = train.filter(pl.col("event_id").is_in(drawn))
        fields = {r["event_id"]: r for r in prompt_fields(ds, events).iter_rows(named=True)}
        names = [f["name"] for f in rec.compiled_prompt["signature"]["inputs"]]
        labels = {
            r["event_id"]: {k: r[k] for k in ("car", "direction", "strength", "event_type")}
            for r in labelled.iter_rows(named=True)
        }
        dataset = [{"event_id": e, "inputs": {n: fields[e][n] for n in names}, "labels": labels[e]} for e in drawn]
        assert rec.dataset_hash == _h(dataset)

        # BootstrapFewShot: each train event asked without demos, in order, until max_demos answers
        # reach the threshold; those answers (the server's, read from DSPy's field) are the demos
        bare = program_from_compiled({**rec.compiled_prompt, "demos": []})
        metric = dspy_metric()
        expected, asked = [], 0
        for ex in dataset:
            if len(expected) == opt.max_demos:
                break
            asked += 1
            text = answer(_prompt(program_messages(bare, ex["inputs"])))
            if metric(ex["labels"], {"completion": text}) >= opt.metric_threshold:
                expected.append({"event_id": ex["event_id"], "fields": {**ex["inputs"], "completion": text}})
        assert rec.compiled_prompt["demos"] == expected and len(expected) >= 1
        assert rec.compiled_prompt_hash == _h(rec.compiled_prompt)

        # the evaluation: every test event asked once with the demos in the messages
        program = program_from_compiled(rec.compiled_prompt)
        test = decision_events(labelled, "test", limit=8)
        test_fields = prompt_fields(ds, test)
        sent = [program_messages(program, {n: r[n] for n in names}) for r in test_fields.iter_rows(named=True)]
        assert sorted(map(_h, (b["messages"] for b in bodies[asked:]))) == sorted(map(_h, sent))  # concurrent
        assert all(len(m) == 2 + 2 * len(expected) for m in sent)
        d = first.decisions
        assert d["event_id"].to_list() == test["event_id"].to_list()
        by_event = dict(zip(test["event_id"], sent, strict=True))
        for row in d.iter_rows(named=True):
            assert row["completion"] == answer(_prompt(by_event[row["event_id"]])) and row["format_ok"]
        assert first.lineage["model_kind"] == "dspy" and rec.evaluation["schema_valid"] == 8
        scores = [metric(labels[r["event_id"]], {"completion": r["completion"]}) for r in d.iter_rows(named=True)]
        assert rec.evaluation["mean_metric"] == pytest.approx(sum(scores) / 8, abs=1e-12)
        assert (first.stats.requests, first.stats.cache_hits) == (asked + 8, 0)

        # a re-run asks nothing and writes the same bytes
        a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
        write_decisions(first.decisions, first.lineage, a)
        second = optimize_dspy(cfg, opt, ws)
        assert (second.stats.requests, second.stats.cache_hits) == (0, asked + 8) and srv.requests == asked + 8
        write_decisions(second.decisions, second.lineage, b)
        assert a.read_bytes() == b.read_bytes()

        # another seed draws other train events: another dataset
        other = optimize_dspy(cfg, opt.model_copy(update={"seed": 1}), ws)
        assert other.lineage["dspy"]["dataset_hash"] != rec.dataset_hash

    # the export names the program; verify recomputes the chain
    ev = tmp_path / "ev"
    pipeline.export(
        pipeline.ExportConfig(
            dataset="synthetic-ashare", decisions=str(a), out_dir=ev, record_run=False, dspy_bundle=True
        ),
        ws,
    )
    c = json.loads((ev / dspy_bundle.COMPILE_REF).read_bytes())
    assert (c["programName"], c["optimizer"]) == ("dspy.Predict[janus_event_decision]", "dspy.BootstrapFewShot")
    assert c["datasetHash"] == _h(dataset) and c["compiledPromptHash"] == _h(rec.compiled_prompt)
    assert c["signatureVersions"] == {"janus_event_decision": signature_version(signature_spec(load_template()))}
    manifest = json.loads((ev / "run-manifest.json").read_bytes())
    assert manifest["dspy"]["seed"] == str(opt.seed) and manifest["dspy"]["program"] == first.lineage["dspy"]
    assert c["compiledArtifactUri"] == manifest["decisions_ref"] == f"decisions:sha256:{hashing.sha256_file(a)}"
    assert c["reproducibilityHash"] == _h(
        {
            k: v
            for k, v in {
                "program_name": c["programName"],
                "signature_versions": c["signatureVersions"],
                "optimizer": c["optimizer"],
                "dataset_hash": c["datasetHash"],
                "compiled_prompt_hash": c["compiledPromptHash"],
                "seed": str(opt.seed),
                "metric_bundle": c["metricBundle"],
            }.items()
        }
    )
    assert c["metricBundle"]["schemaValidRate"] == 1.0
    refs = json.loads((ev / "gates" / "janus-event-car-v1.json").read_text())["lineage"]["model_refs"]
    assert f"dspy_program:sha256:{rec.compiled_prompt_hash}" in refs
    assert verify_evidence(ev, ws) == []


@needs_dspy
def test_unreadable_outputs_and_failed_requests_are_malformed_decisions(ws, labelled):
    test = decision_events(labelled, "test", limit=6)
    unread, failing = test["headline"][1], test["headline"][3]

    def script(prompt: str, attempt: int) -> str:
        if f"[[ ## headline ## ]]\n{unread}\n" in prompt:
            return "no_markers"
        return "500" if f"[[ ## headline ## ]]\n{failing}\n" in prompt else "ok"

    with ChatServer(script) as srv:
        result = optimize_dspy(
            DecideConfig(model=f"openai:m@{srv.url}", limit=6, endpoint={"backoff_s": 0.0, "max_retries": 1}),
            DspyOptimizeConfig(train_examples=4),
            ws,
        )
    d = result.decisions.join(test.select("event_id", "headline"), on="event_id")
    bad = d.filter(~pl.col("format_ok")).sort("headline")
    assert sorted(bad["headline"].to_list()) == sorted([unread, failing]) and (bad["action"] == "hold").all()
    assert bad["predicted_car"].is_null().all()
    errors = dict(zip(bad["headline"], bad["format_error"], strict=True))
    assert errors[unread].startswith("dspy ChatAdapter: Adapter ChatAdapter failed to parse")
    assert errors[failing] == "endpoint: HTTP 500 after 2 attempt(s)"
    row = d.filter(pl.col("headline") == unread).row(0, named=True)
    assert row["completion"].startswith("<market_influence>")  # the raw output is kept
    assert result.lineage["malformed"] == 2 and result.lineage["dspy"]["evaluation"]["schema_valid"] == 4


@needs_dspy
def test_cli_optimize_then_export_with_the_bundle(ws, tmp_path, capsys):
    out, ev = tmp_path / "dspy.parquet", tmp_path / "ev"
    with ChatServer() as srv:
        argv = [
            "decide",
            "--dataset",
            "synthetic-ashare",
            "--model",
            f"openai:test-model@{srv.url}",
            "--optimize",
            "dspy",
            "--out",
            str(out),
            "--limit",
            "5",
            "--train-examples",
            "4",
            "--max-demos",
            "1",
            "--backoff",
            "0",
        ]
        assert main(argv) == 0
        printed = capsys.readouterr().out
        assert "compiled by dspy.BootstrapFewShot on 4 train events (seed 20260219)" in printed
        assert "cache hits 0 (0%)" in printed
        assert main(argv) == 0
        assert "requests 0," in capsys.readouterr().out
    lineage = read_lineage(out)
    assert lineage["dspy"]["optimizer_config"]["max_bootstrapped_demos"] == 1
    assert load_decisions(out).height == 5
    assert (
        main(
            [
                "export",
                "--dataset",
                "synthetic-ashare",
                "--decisions",
                str(out),
                "--out",
                str(ev),
                "--dspy-bundle",
                "--no-record",
                "--no-report",
            ]
        )
        == 0
    )
    c = json.loads((ev / dspy_bundle.COMPILE_REF).read_bytes())
    assert c["programName"] == PROGRAM_NAME and c["compiledPromptHash"] == lineage["dspy"]["compiled_prompt_hash"]
    # the latency of an endpoint's decisions was not measured: the eval cannot pass, and says so
    r = json.loads((ev / dspy_bundle.EVAL_REF).read_bytes())
    assert r["gateCompatibility"] == "fail" and r["promotionRecommendation"] == "hold"


@needs_dspy
def test_cli_errors_are_one_line(ws, tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "x.parquet"
    cases = [
        (["--model", "text-baseline"], "the model must be openai:MODEL@URL"),
        (["--model", f"openai:m@http://127.0.0.1:{port}/v1", "--split", "train"], "decide on a later split"),
        (["--model", f"openai:m@http://127.0.0.1:{port}/v1", "--train-examples", "2"], "is unreachable"),
        (["--model", f"openai:m@http://127.0.0.1:{port}/v1", "--max-demos", "0"], "max_demos"),
    ]
    for extra, message in cases:
        assert main(["decide", "--dataset", "synthetic-ashare", "--optimize", "dspy", "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("janus decide: ") and message in err[-1], err
    assert not out.exists()
    with pytest.raises(DecideError, match="decide on a later split"):
        optimize_dspy(DecideConfig(model=f"openai:m@http://127.0.0.1:{port}/v1", split="historical"), paths=ws)


def test_a_broken_compile_record_is_refused_by_the_export(ws, tmp_path, labelled):
    """No DSPy needed: a decisions file whose lineage carries a compile record with a wrong hash."""
    from janus_core.decide.policies import make_decisions

    decisions = make_decisions("type_prior", labelled).head(5)
    broken = {**_record().model_dump(mode="json"), "compiled_prompt_hash": "0" * 64}
    path = tmp_path / "d.parquet"
    write_decisions(decisions, {"model_id": "openai:m@u", "model_kind": "dspy", "dspy": broken}, path)
    with pytest.raises(LineageError, match=r"lineage dspy: Value error, compiled_prompt_hash 0+ is not H"):
        pipeline.export(
            pipeline.ExportConfig(
                dataset="synthetic-ashare", decisions=str(path), out_dir=tmp_path / "ev", record_run=False, report=False
            ),
            ws,
        )
