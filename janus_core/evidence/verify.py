"""Verification of an evidence folder: recompute everything an export derived, name every mismatch.

``verify_evidence(out_dir, paths=None)`` checks, for the folder an export wrote
(:mod:`janus_core.evidence`):

- ``run-manifest.json``: canonical bytes, ``self_hash = H(manifest without self_hash)``,
  ``config_hash = H(config)``, ``run_id = H({config_hash, input_digest_hash})[:24]`` and
  ``input_digest_hash`` from the recorded table digests; every file of the folder is listed with
  the SHA-256 of its bytes, and no file is missing or unlisted, except ``report.html``: the review
  report is a view derived from the hashed files (and showing the run manifest's hashes), so it
  cannot be listed in the run manifest; no evidence is read from it.
- every JSON file: its bytes equal the canonical form ``evidence.dumps(json.loads(bytes))`` (the
  DSPy files: the lane's compact form), so even a whitespace edit is caught.
- the event-car and reward files: schema, ``manifest_hash`` (recomputed, except for the export's own
  documents it hands over with their bytes, :meth:`EvidenceFiles.own`), summaries recomputed from the records,
  ``lineage_hash``, lineage and run id consistent with the run manifest, ``artifact_authority``
  recomputed from the dataset provenance and the lineage.
- the companion summary: equal to the one recomputed from the two child files; likewise
  ``evidence-summary.json``.
- the analysis tables' row counts against the event-car summary's input and excluded counts.
- the DSPy bundle, when present (or named in the run manifest): each file against the lane's strict
  models (a wrong type or unknown key is named by field), every hash recomputed from the parsed
  values, and the content rebuilt from the gate files, the decision mapping and the run manifest's
  seed, latency record and metrics policy (:func:`janus_core.dspy_bundle.bundle_problems`).
- the cross-record claims (:mod:`janus_core.evidence.claims`): canonical record order; labels that
  follow from each CAR and the label config; rewards that refer to existing events, repeat their
  facts, and whose gates and numbers follow from the action, the prediction, the labels and the
  reward config (recomputed by the reward module from the analysis tables); analysis tables that
  agree with the records; ``dataset.snapshot_hash`` = ``H`` of its tables' content hashes; a dataset
  whose source names the bundled generator is ``synthetic_generated``.
- with ``paths``: every recorded dataset field (name, version, provenance, as-of, snapshot hash,
  source, licence, manifest SHA-256, table digests) against the manifest of the version the evidence
  names (the current one, or the copy kept in ``data_dir/NAME/VERSION/``), which must not contradict
  the bundled generator either; and, when the research store holds a ``runs`` row for this run id,
  every file against the hashes recorded there at export time (the gate files and analysis tables
  always; the run manifest and the DSPy files, whose bytes may vary run to run with a measured
  latency, when the row names this folder).
- a folder named like a hidden temp folder of an unfinished export (``.NAME.tmp-*``, ``.NAME.old-*``)
  is refused outright; a JSON file nested deeper than :data:`janus_core.evidence.jsonio.MAX_JSON_DEPTH`
  is refused unparsed; a check that cannot complete on a malformed file is reported, never raised.

``report.html`` is checked outside this module, which may not import the report layer:
:func:`janus_core.report.render.report_problems` re-renders it from the verified folder and compares
the bytes (``janus verify`` and ``janus gate`` run both).

Since the run manifest holds the digest of every other file and its own hash, and every JSON file
has exactly one accepted byte form, no byte of the folder can change undetected by accident; and since
every claim is recomputed, an edit that re-seals every hash still has to agree with the labels, the
reward module, the dataset manifest and the runs registry. Only a signature
(:mod:`janus_core.evidence.signing`) tells who vouches for a folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from janus_core.data import store
from janus_core.data.manifest import (
    DatasetIntegrityError,
    generator_provenance_problems,
    input_digests,
    read_dataset_manifest,
)
from janus_core.evidence import claims, claims_screen, claims_tables, quarantine
from janus_core.evidence.dataset_claims import dataset_problems
from janus_core.evidence.dspy_bundle import (
    DECISION_MAPPING_REF,
    DSPY_DIR,
    DSPY_REFS,
    MANIFEST_KEY,
    bundle_problems,
)
from janus_core.evidence.gate import child_schema_problems, resolve_artifact_ref
from janus_core.evidence.mismatch import Mismatch
from janus_core.evidence.records import (
    EvidenceDocs,
    event_car_summary,
    evidence_summary,
    export_summary,
    reward_summary,
)
from janus_core.evidence.schema import (
    EVENT_CAR_REF,
    EVENT_CAR_SCHEMA,
    EVIDENCE_REF,
    HGRM_REWARD_REF,
    HGRM_REWARD_SCHEMA,
    REPORT_REF,
    RUN_MANIFEST_REF,
    RUN_MANIFEST_SCHEMA,
    SIGNATURE_REF,
    SUMMARY_REF,
    artifact_authority,
)
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import H, sha256_bytes
from janus_core.outdir import hidden_temp_folder
from janus_core.paths import WorkbenchPaths
from janus_core.signing import (
    DATASET_PREDICATE,
    EVIDENCE_PREDICATE,
    Ed25519PublicKey,
    check_attestation,
)


def _read_json(files: EvidenceFiles, rel: str, problems: list[Mismatch]) -> dict[str, Any] | None:
    """Parse a JSON file of the folder and check it is in canonical byte form."""
    if not files.has(rel):
        problems.append(Mismatch(file=rel, location="file", rule="missing"))
        return None
    obj, why = files.json(rel)
    if obj is None:
        problems.append(Mismatch(file=rel, location="file", rule=why or "not a JSON object"))
        return None
    if not files.canonical(rel):
        problems.append(
            Mismatch(
                file=rel,
                location="bytes",
                rule="not in canonical form json.dumps(sort_keys=True, indent=2, ensure_ascii=True) + newline",
            )
        )
    return obj


def _compare(problems: list[Mismatch], file: str, location: str, recorded: Any, recomputed: Any) -> None:
    if recorded != recomputed:
        problems.append(
            Mismatch(file=file, location=location, rule=f"recorded {recorded!r} but recomputed {recomputed!r}")
        )


def _csv_rows(files: EvidenceFiles, rel: str) -> int | None:
    """Rows of an analysis table (None when absent, -1 when not readable CSV)."""
    frame, why = claims_tables.csv_text_table(files, rel)
    return -1 if why is not None else None if frame is None else frame.height


def _check_manifest(out_dir: Path, files: EvidenceFiles, manifest: dict[str, Any], problems: list[Mismatch]) -> None:
    rel = RUN_MANIFEST_REF
    _compare(problems, rel, "schema_version", manifest.get("schema_version"), RUN_MANIFEST_SCHEMA)
    body = {k: v for k, v in manifest.items() if k != "self_hash"}
    _compare(problems, rel, "self_hash", manifest.get("self_hash"), H(body))
    _compare(problems, rel, "config_hash", manifest.get("config_hash"), H(manifest.get("config")))
    for key in ("config", "dataset"):
        if not isinstance(manifest.get(key), dict):
            problems.append(Mismatch(file=rel, location=key, rule="not an object"))
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in listed.items()):
        problems.append(Mismatch(file=rel, location="files", rule="not an object of file -> SHA-256"))
        listed = {}
    for f in files.names():
        if f not in (rel, REPORT_REF, SIGNATURE_REF) and f not in listed:
            problems.append(Mismatch(file=f, location="file", rule="not listed in run-manifest.json files"))
    for f, digest in sorted(listed.items()):
        if not files.has(f) or resolve_artifact_ref(out_dir, f) is None:
            problems.append(Mismatch(file=f, location="file", rule="listed in run-manifest.json but missing"))
        elif files.sha256(f) != digest:
            problems.append(
                Mismatch(
                    file=f, location="sha256", rule=f"file bytes differ from the digest {digest} in run-manifest.json"
                )
            )


def _check_child(
    files: EvidenceFiles, doc: dict[str, Any], rel: str, schema: str, manifest: dict[str, Any], problems: list[Mismatch]
) -> None:
    found = files.memo(
        ("child_schema_problems", rel, schema), lambda: child_schema_problems(doc, schema, not files.own(rel))
    )
    for p in found:
        problems.append(Mismatch(file=rel, location="schema", rule=p))
    is_event = schema == EVENT_CAR_SCHEMA
    rows = doc.get("records" if is_event else "rewards")
    if not isinstance(rows, list):
        return
    try:
        summary = event_car_summary(rows) if is_event else reward_summary(rows)
    except (KeyError, TypeError, AttributeError, ArithmeticError, ValueError) as exc:
        problems.append(Mismatch(file=rel, location="summary", rule=f"cannot recompute from the records: {exc!r}"))
        summary = {}
    recorded = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    for key, value in summary.items():
        _compare(problems, rel, f"summary.{key}", recorded.get(key), value)
    lineage = doc.get("lineage") if isinstance(doc.get("lineage"), dict) else {}
    body = {k: v for k, v in lineage.items() if k != "lineage_hash"}
    _compare(problems, rel, "lineage.lineage_hash", lineage.get("lineage_hash"), H(body))
    _compare(problems, rel, "run_id", doc.get("run_id"), manifest.get("run_id"))
    _compare(problems, rel, "generated_at", doc.get("generated_at"), manifest.get("generated_at"))
    _compare(problems, rel, "lineage.job_run_id", lineage.get("job_run_id"), manifest.get("run_id"))
    _compare(problems, rel, "lineage.config_hash", lineage.get("config_hash"), manifest.get("config_hash"))
    _compare(
        problems, rel, "lineage.input_digest_hash", lineage.get("input_digest_hash"), manifest.get("input_digest_hash")
    )
    dataset = manifest.get("dataset") if isinstance(manifest.get("dataset"), dict) else {}
    _compare(
        problems,
        rel,
        "lineage.dataset_snapshot_hash",
        lineage.get("dataset_snapshot_hash"),
        dataset.get("snapshot_hash"),
    )
    _compare(
        problems, rel, "lineage.dataset_snapshot_ref", lineage.get("dataset_snapshot_ref"), dataset.get("snapshot_ref")
    )
    authority, eligible = artifact_authority(str(dataset.get("provenance")), lineage)
    _compare(problems, rel, "artifact_authority", doc.get("artifact_authority"), authority)
    _compare(problems, rel, "promotion_authority_eligible", doc.get("promotion_authority_eligible"), eligible)


def verify_evidence(
    out_dir: str | Path,
    paths: WorkbenchPaths | None = None,
    *,
    trusted_keys: Sequence[Ed25519PublicKey] | None = None,
    trusted_dataset_keys: Sequence[Ed25519PublicKey] | None = None,
    publishing: bool = False,
    files: EvidenceFiles | None = None,
) -> list[Mismatch]:
    """Every mismatch in the evidence folder ``out_dir`` (empty when it verifies; module docstring).
    ``paths`` (a ``WorkbenchPaths``) enables the checks against the dataset manifest and the runs
    registry. Attestations (:mod:`janus_core.signing`): a present ``run-manifest.sig.json`` or
    ``dataset.signature`` must verify against the bytes (and digest) it names; with ``trusted_keys``
    the folder must be signed by one of them (unsigned evidence does not verify), with
    ``trusted_dataset_keys`` it must carry its dataset's attestation by one of those. ``publishing`` is
    for the export itself only: the folder is its own temp folder about to be renamed into place, so
    its hidden temp name is not held against it. ``files`` are the folder's bytes when the caller
    already holds them (:class:`EvidenceFiles`: the export's own, or shared with the gate and the
    report); by default the folder is read from disk."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return [Mismatch(file=str(out_dir), location="folder", rule="not a folder")]
    if not publishing and hidden_temp_folder(out_dir):
        return [
            Mismatch(
                file=str(out_dir),
                location="folder",
                rule="a hidden temp folder of an unfinished or killed export (.NAME.tmp-* / .NAME.old-*), "
                "never evidence",
            )
        ]
    problems: list[Mismatch] = []
    try:
        files = files if files is not None else EvidenceFiles.read(out_dir)
        _verify(out_dir, files, paths, problems)
        _check_signatures(files, trusted_keys, trusted_dataset_keys, problems)
    except Exception as exc:  # noqa: BLE001 - fail closed: a folder whose checks cannot complete does not verify
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        problems.append(
            Mismatch(
                file=str(out_dir),
                location="folder",
                rule=f"verification could not complete: {type(exc).__name__}: {first}",
            )
        )
    return problems


def _verify(out_dir: Path, files: EvidenceFiles, paths: WorkbenchPaths | None, problems: list[Mismatch]) -> None:
    """The checks of :func:`verify_evidence` in order: the run manifest, the gate files and their
    claims, the export summary, the DSPy bundle, then the dataset manifest and the runs registry."""
    manifest = _read_json(files, RUN_MANIFEST_REF, problems)
    if manifest is None:
        return
    _check_manifest(out_dir, files, manifest, problems)
    checked_below = (EVENT_CAR_REF, HGRM_REWARD_REF, EVIDENCE_REF, SUMMARY_REF, *DSPY_REFS)
    for f in sorted(manifest.get("files") if isinstance(manifest.get("files"), dict) else {}):
        if f.endswith(".json") and files.has(f) and f not in checked_below:
            _read_json(files, f, problems)
    event_doc = _read_json(files, EVENT_CAR_REF, problems)
    reward_doc = _read_json(files, HGRM_REWARD_REF, problems)
    summary = _read_json(files, EVIDENCE_REF, problems)
    _check_manifest_claims(files, manifest, event_doc, problems)
    if event_doc is not None:
        _check_child(files, event_doc, EVENT_CAR_REF, EVENT_CAR_SCHEMA, manifest, problems)
        ev_summary = event_doc.get("summary") if isinstance(event_doc.get("summary"), dict) else {}
        for key, table in (
            ("input_event_count", "analysis/labelled_car.csv"),
            ("excluded_event_count", "analysis/exclusions.csv"),
        ):
            _compare(problems, EVENT_CAR_REF, f"summary.{key}", ev_summary.get(key), _csv_rows(files, table))
    if reward_doc is not None:
        _check_child(files, reward_doc, HGRM_REWARD_REF, HGRM_REWARD_SCHEMA, manifest, problems)
    if event_doc is not None and reward_doc is not None:
        _compare(problems, HGRM_REWARD_REF, "lineage", reward_doc.get("lineage"), event_doc.get("lineage"))
        _check_claims(files, manifest, event_doc, reward_doc, problems)
        if summary is not None:
            _check_evidence_summary(manifest, event_doc, reward_doc, summary, problems)
            _check_export_summary(files, manifest, event_doc, reward_doc, summary, problems)
    if MANIFEST_KEY in manifest or (out_dir / DSPY_DIR).is_dir():
        problems += bundle_problems(out_dir, manifest, event_doc, reward_doc, summary)
    dataset = manifest.get("dataset") if isinstance(manifest.get("dataset"), dict) else {}
    if paths is not None and dataset.get("name"):
        _check_dataset_manifest(dataset, paths, problems, manifest.get(quarantine.QUARANTINE_KEY))
        _check_registry(out_dir, files, manifest, paths, problems)


def _check_manifest_claims(
    files: EvidenceFiles, manifest: dict[str, Any], event_doc: dict[str, Any] | None, problems: list[Mismatch]
) -> None:
    """The run manifest's derived ids (``input_digest_hash``, ``decisions_ref``, ``run_id``), its
    dataset claims and its quarantine record (against ``analysis/rejected_decisions.csv``)."""
    dataset = manifest.get("dataset") if isinstance(manifest.get("dataset"), dict) else {}
    lineage_refs = (
        ((event_doc or {}).get("lineage") or {}) if isinstance((event_doc or {}).get("lineage"), dict) else {}
    )
    model_refs = lineage_refs.get("model_refs") or [None]
    input_hash = H(
        {
            "dataset": dataset.get("name"),
            "tables": dataset.get("tables"),
            "snapshot_hash": dataset.get("snapshot_hash"),
            "decisions": model_refs[0],
        }
    )
    _compare(problems, RUN_MANIFEST_REF, "input_digest_hash", manifest.get("input_digest_hash"), input_hash)
    _compare(problems, RUN_MANIFEST_REF, "decisions_ref", manifest.get("decisions_ref"), model_refs[0])
    _compare(
        problems,
        RUN_MANIFEST_REF,
        "run_id",
        manifest.get("run_id"),
        H({"config_hash": manifest.get("config_hash"), "input_digest_hash": manifest.get("input_digest_hash")})[:24],
    )
    _add(problems, dataset_problems(manifest))
    if quarantine.QUARANTINE_KEY in manifest:
        record = manifest[quarantine.QUARANTINE_KEY]
        for location, rule in quarantine.record_problems(record):
            problems.append(Mismatch(file=RUN_MANIFEST_REF, location=location, rule=rule))
        rejected_rows = _csv_rows(files, quarantine.REJECTED_DECISIONS_REF) or 0
        stated = (record.get("decisions") or {}).get("rejected") if isinstance(record, dict) else None
        _compare(problems, quarantine.REJECTED_DECISIONS_REF, "rows", rejected_rows, stated)


def _check_evidence_summary(
    manifest: dict[str, Any],
    event_doc: dict[str, Any],
    reward_doc: dict[str, Any],
    summary: dict[str, Any],
    problems: list[Mismatch],
) -> None:
    """The companion summary against the one recomputed from the two child files."""
    try:
        expected = evidence_summary(
            event_doc, reward_doc, quarantine.universe_rows_rejected(manifest.get(quarantine.QUARANTINE_KEY))
        )
    except (KeyError, TypeError, AttributeError) as exc:
        problems.append(
            Mismatch(file=EVIDENCE_REF, location="file", rule=f"cannot recompute from the child files: {exc!r}")
        )
        return
    for key in sorted(set(expected) | set(summary)):
        _compare(problems, EVIDENCE_REF, key, summary.get(key), expected.get(key))


def _check_export_summary(
    files: EvidenceFiles,
    manifest: dict[str, Any],
    event_doc: dict[str, Any],
    reward_doc: dict[str, Any],
    summary: dict[str, Any],
    problems: list[Mismatch],
) -> None:
    """``evidence-summary.json`` against the one recomputed from the gate files and the run manifest."""
    short = _read_json(files, SUMMARY_REF, problems)
    if short is None:
        return
    dataset = manifest.get("dataset") if isinstance(manifest.get("dataset"), dict) else {}
    try:
        docs = EvidenceDocs(event_car=event_doc, hgrm_reward=reward_doc, evidence=summary)
        config = manifest.get("config") if isinstance(manifest.get("config"), dict) else {}
        export_cfg = config.get("export") if isinstance(config.get("export"), dict) else {}
        expected_short = export_summary(
            docs,
            str(dataset.get("name")),
            str(manifest.get("decisions_ref")),
            str(export_cfg.get("reward_profile")),
        )
    except (KeyError, TypeError, AttributeError, ArithmeticError, ValueError) as exc:
        problems.append(
            Mismatch(file=SUMMARY_REF, location="file", rule=f"cannot recompute from the gate files: {exc!r}")
        )
        return
    for key in sorted(set(expected_short) | set(short)):
        _compare(problems, SUMMARY_REF, key, short.get(key), expected_short.get(key))


def _check_signatures(
    files: EvidenceFiles,
    trusted: Sequence[Ed25519PublicKey] | None,
    trusted_dataset: Sequence[Ed25519PublicKey] | None,
    problems: list[Mismatch],
) -> None:
    """The export's attestation of its run manifest, and the dataset attestation it carries."""
    manifest_bytes = files.bytes(RUN_MANIFEST_REF) or b""
    envelope, why = files.json(SIGNATURE_REF)
    if envelope is None:
        if trusted is not None:
            problems.append(
                Mismatch(
                    file=SIGNATURE_REF,
                    location="file",
                    rule=f"{why}: the evidence is not signed, and a trusted key was required",
                )
            )
    else:
        found, _ = check_attestation(
            envelope, RUN_MANIFEST_REF, sha256_bytes(manifest_bytes), EVIDENCE_PREDICATE, trusted
        )
        problems.extend(Mismatch(file=SIGNATURE_REF, location="signature", rule=rule) for rule in found)
    manifest, _ = files.json(RUN_MANIFEST_REF) if manifest_bytes else (None, None)
    dataset = (manifest or {}).get("dataset") if isinstance((manifest or {}).get("dataset"), dict) else {}
    signed = dataset.get("signature")
    if signed is None:
        if trusted_dataset is not None:
            problems.append(
                Mismatch(
                    file=RUN_MANIFEST_REF,
                    location="dataset.signature",
                    rule="missing: the dataset was not signed, and a trusted dataset key was required",
                )
            )
        return
    found, _ = check_attestation(
        signed, f"{dataset.get('name')}.json", str(dataset.get("manifest_sha256")), DATASET_PREDICATE, trusted_dataset
    )
    problems.extend(Mismatch(file=RUN_MANIFEST_REF, location="dataset.signature", rule=rule) for rule in found)


def _add(problems: list[Mismatch], found: list[tuple[str, str, str]]) -> None:
    problems.extend(Mismatch(file=f, location=loc, rule=rule) for f, loc, rule in found)


def _check_claims(
    files: EvidenceFiles,
    manifest: dict[str, Any],
    event_doc: dict[str, Any],
    reward_doc: dict[str, Any],
    problems: list[Mismatch],
) -> None:
    """The cross-record invariants (:mod:`janus_core.evidence.claims`)."""
    records, rewards = event_doc.get("records"), reward_doc.get("rewards")
    if not isinstance(records, list) or not isinstance(rewards, list):
        return  # named by the schema checks
    found: list[tuple[str, str, str]] = []
    columns = claims_screen.record_columns(event_doc, reward_doc)  # each field read once for every claim
    _add(problems, claims.order_problems(records, rewards, columns))
    _add(problems, claims.label_problems(event_doc, claims.label_config(manifest), columns))
    cfg = claims.reward_config(reward_doc)
    labelled = claims_tables.read_csv_table(files, claims_tables.LABELLED_CSV, found)
    mapping = claims_tables.read_csv_table(files, DECISION_MAPPING_REF, found)
    _add(problems, found)
    cars = claims.predicted_cars(mapping)
    _add(problems, claims.reward_reference_problems(event_doc, reward_doc, cfg, cars, columns))
    _add(problems, claims.analysis_problems(files, event_doc, reward_doc, cfg, labelled, mapping, columns))
    config = manifest.get("config") if isinstance(manifest.get("config"), dict) else {}
    if cfg is not None and isinstance(config.get("reward"), dict):
        stated = claims.reward_config(
            {"reward_config": {k: "none" if v is None else v for k, v in config["reward"].items()}}
        )
        if stated != cfg:
            problems.append(
                Mismatch(
                    file=HGRM_REWARD_REF,
                    location="reward_config",
                    rule="differs from the reward config of the run manifest",
                )
            )


#: Dataset fields of the run manifest and the dataset-manifest key each must equal.
DATASET_FIELDS: tuple[str, ...] = ("name", "version", "provenance", "as_of", "snapshot_hash", "source", "licence")


def _check_dataset_manifest(
    dataset: dict[str, Any], paths: WorkbenchPaths, problems: list[Mismatch], manifest_quarantine: Any = None
) -> None:
    """Every recorded dataset field (and the quarantine counts) against the manifest of the version
    the evidence names."""
    version = dataset.get("version") if isinstance(dataset.get("version"), str) else None
    try:
        current, current_sha = read_dataset_manifest(str(dataset["name"]), paths, version)
    except DatasetIntegrityError as exc:
        problems.append(
            Mismatch(file=str(Path(paths.manifest_path(str(dataset["name"])))), location="file", rule=str(exc))
        )
        return
    if current is None:
        problems.append(
            Mismatch(
                file=str(Path(paths.manifest_path(str(dataset["name"])))),
                location="file",
                rule=f"dataset manifest (version {version}) not found: input digests cannot be checked",
            )
        )
        return
    recorded = dataset.get("tables") if isinstance(dataset.get("tables"), dict) else {}
    for table, digest in sorted(input_digests(current).items()):
        _compare(problems, RUN_MANIFEST_REF, f"dataset.tables.{table}", recorded.get(table), digest)
    for table in sorted(set(recorded) - set(input_digests(current))):
        problems.append(
            Mismatch(
                file=RUN_MANIFEST_REF,
                location=f"dataset.tables.{table}",
                rule="table not in the current dataset manifest",
            )
        )
    _compare(problems, RUN_MANIFEST_REF, "dataset.manifest_sha256", dataset.get("manifest_sha256"), current_sha)
    for key in DATASET_FIELDS:
        _compare(problems, RUN_MANIFEST_REF, f"dataset.{key}", dataset.get(key), current.get(key))
    record = manifest_quarantine.get("dataset") if isinstance(manifest_quarantine, dict) else None
    if isinstance(record, dict):
        expected = quarantine.quarantine_record(current, {}, ())["dataset"]["tables"]
        _compare(problems, RUN_MANIFEST_REF, "quarantine.dataset.tables", record.get("tables"), expected)
    for rule in generator_provenance_problems(current):
        problems.append(
            Mismatch(file=str(Path(paths.manifest_path(str(dataset["name"])))), location="provenance", rule=rule)
        )


def _check_registry(
    out_dir: Path, files: EvidenceFiles, manifest: dict[str, Any], paths: WorkbenchPaths, problems: list[Mismatch]
) -> None:
    """The files against the hashes the research store's ``runs`` table recorded for this run id at
    export time, when the store and such a row exist (module docstring says which files)."""
    row = store.recorded_run(str(manifest.get("run_id")), paths)
    if row is None:
        return
    try:
        recorded = json.loads(row["artifact_hashes"])
    except (TypeError, ValueError, RecursionError):
        problems.append(
            Mismatch(
                file=str(paths.store),
                location=f"runs.{manifest.get('run_id')}",
                rule="artifact_hashes of the registry row are not JSON",
            )
        )
        return
    same_folder = Path(str(row.get("out_dir"))).resolve() == out_dir.resolve()
    for rel, digest in sorted(recorded.items() if isinstance(recorded, dict) else []):
        varies = rel == RUN_MANIFEST_REF or rel.startswith(f"{DSPY_DIR}/")
        if varies and not same_folder:
            continue
        actual = H(manifest) if rel == RUN_MANIFEST_REF else files.sha256(rel)
        if actual != digest:
            problems.append(
                Mismatch(
                    file=rel,
                    location="registry",
                    rule=f"differs from the hash the runs registry ({paths.store}) recorded for run "
                    f"{manifest.get('run_id')} at export time",
                )
            )
