"""``janus export``, ``janus verify``, ``janus gate`` and ``janus keygen``: the gate-evidence commands.

- ``janus export --dataset NAME --decisions POLICY-or-PATH --out DIR [--reward-profile hgrm|lane_scaffold]
  [--candidate-id ID] [--strategy-id ID] [--dspy-bundle [--measure-latency] [--gate-policy FILE]]
  [--no-record] [--no-report] [--report-target shadow|paper|live]``: writes the evidence folder with
  its review report ``report.html`` for the target (default paper; :func:`janus_core.evidence.export`)
  and prints where it went with the summary's reasons (and, with the DSPy bundle, its eval verdict).
  ``--gate-policy`` takes the DSPy metrics policy from a GatePolicy JSON file (its ``dspy_metrics``);
  ``--measure-latency`` times a baseline policy's decisions (the bundle's bytes then vary run to run).
  ``--out`` must be absent, empty or an earlier export (else one line, exit 2); ``--sign-key KEY`` writes
  ``run-manifest.sig.json``; ``--decisions-on-invalid quarantine`` keeps a decisions file's bad rows out.
  Library errors (bad dataset, decisions, key, output folder, disk) end in one line on stderr.
- ``janus verify DIR [--no-dataset]``: exit 1 naming each mismatch (:func:`janus_core.evidence.verify.verify_evidence`,
  then the report check :func:`janus_core.report.render.report_problems`).
- ``janus gate DIR --target shadow|paper|live [--policy FILE] [--approval-token TOKEN] [--no-dataset]``:
  verifies the folder first, then prints the verdict JSON ``{target, promotable, reasons: [{code, detail}]}``
  (any verification problem: not promotable, ``workbench_evidence_integrity_failed``); exit 0 only
  when promotable, 2 for a missing or malformed ``--policy``. Both take ``--trusted-key PUB`` (the
  evidence must be signed by it) and ``--trusted-dataset-key PUB`` (it must carry its dataset's
  attestation by it), each repeatable (:mod:`janus_core.signing`).
- ``janus keygen KEY``: a new Ed25519 key pair, ``KEY`` and ``KEY.pub`` (never over an existing file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from janus_core.cli.messages import fail
from janus_core.paths import WorkbenchPaths


def _export(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import DatasetIntegrityError
    from janus_core.data.store import StoreError
    from janus_core.evidence.gate import GatePolicy
    from janus_core.evidence.schema import REPORT_REF
    from janus_core.pipeline import ExportConfig, export

    try:
        dspy_metrics = (GatePolicy.from_file(args.gate_policy) if args.gate_policy else GatePolicy()).dspy_metrics
        cfg = ExportConfig(dataset=args.dataset, decisions=args.decisions, out_dir=Path(args.out),
                           decisions_on_invalid=args.decisions_on_invalid,
                           sign_key=Path(args.sign_key) if args.sign_key else None,
                           reward_profile=args.reward_profile, candidate_id=args.candidate_id,
                           strategy_id=args.strategy_id, dspy_bundle=args.dspy_bundle, dspy_metrics=dspy_metrics,
                           measure_latency=args.measure_latency, record_run=not args.no_record,
                           report=not args.no_report, report_target=args.report_target)
        result = export(cfg, WorkbenchPaths.from_env())
    except (ValueError, OSError, DatasetIntegrityError, StoreError) as exc:
        return fail("export", exc, 2 if isinstance(exc, (ValueError, FileNotFoundError)) else 1)
    for note in result.notes:
        print(f"janus export: {note}", file=sys.stderr)
    ev = result.evidence
    print(f"evidence written to {result.out_dir} (run {result.run_id})")
    print(f"  events {ev['event_car']['event_count']}, rewards {ev['hgrm_reward']['reward_count']} "
          f"(mapped {ev['hgrm_reward']['event_mapped_count']}), provenance "
          f"{ev['artifact_authority']['provenance']}, evidence_complete {str(ev['evidence_complete']).lower()}"
          + (f", reasons {', '.join(ev['reasons'])}" if ev["reasons"] else ""))
    if cfg.dspy_bundle:
        from janus_core.evidence.dspy_bundle import EVAL_REF

        report = json.loads((result.out_dir / EVAL_REF).read_text(encoding="utf-8"))
        failures = report["metricBundle"]["gateFailures"]
        print(f"  DSPy eval {result.out_dir / EVAL_REF}: gateCompatibility {report['gateCompatibility']}, "
              f"recommendation {report['promotionRecommendation']}"
              + (f", failures {', '.join(failures)}" if failures else ""))
    if cfg.report:
        print(f"  review report for {cfg.report_target}: {result.out_dir / REPORT_REF}")
    return 0


def _trusted(paths: list[str] | None):
    """The public keys of ``--trusted-key`` / ``--trusted-dataset-key`` (None when none was given)."""
    from janus_core.signing import load_public_key

    return [load_public_key(p) for p in paths] if paths else None


def _integrity(folder: Path, paths: WorkbenchPaths | None, args: argparse.Namespace) -> list[str]:
    """Every problem of the folder: :func:`janus_core.evidence.verify.verify_evidence` (with the
    trusted keys of ``args``), then the report check :func:`janus_core.report.render.report_problems`
    (which the evidence layer cannot import)."""
    from janus_core.evidence.verify import verify_evidence
    from janus_core.report.render import report_problems

    problems = [str(p) for p in verify_evidence(folder, paths, trusted_keys=_trusted(args.trusted_key),
                                                trusted_dataset_keys=_trusted(args.trusted_dataset_key))]
    if not problems:
        problems += report_problems(folder, paths)
    return problems


def _verify(args: argparse.Namespace) -> int:
    from janus_core.signing import SignatureError

    try:
        problems = _integrity(Path(args.dir), None if args.no_dataset else WorkbenchPaths.from_env(), args)
    except SignatureError as exc:
        return fail("verify", exc, 2)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {args.dir}")
        return 1
    print(f"{args.dir}: every hash, summary, claim and digest verifies")
    return 0


def _gate(args: argparse.Namespace) -> int:
    from janus_core.evidence.gate import GatePolicy, evaluate_gate

    try:
        policy = GatePolicy.from_file(args.policy) if args.policy else GatePolicy()
    except ValueError as exc:
        return fail("gate", exc, 2)
    from janus_core.signing import SignatureError

    folder = Path(args.dir)
    try:
        problems = _integrity(folder, None if args.no_dataset else WorkbenchPaths.from_env(), args)
    except SignatureError as exc:
        return fail("gate", exc, 2)
    verdict = evaluate_gate(folder, args.target, policy, approval_token=args.approval_token,
                            integrity_problems=problems)
    print(json.dumps(verdict.to_json(), indent=2, sort_keys=True, ensure_ascii=True))
    return 0 if verdict.promotable else 1


def _keygen(args: argparse.Namespace) -> int:
    from janus_core.signing import (
        SignatureError,
        generate_keypair,
        key_id,
        load_public_key,
    )

    try:
        private, public = generate_keypair(args.key)
    except (SignatureError, OSError) as exc:
        return fail("keygen", exc, 2)
    print(f"private key {private} (keep it secret; mode 0600), public key {public} "
          f"(key id {key_id(load_public_key(public))})")
    return 0


def _trust_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trusted-key", action="append", default=None, metavar="PUB",
                        help="require the evidence to be signed by this Ed25519 public key (repeatable)")
    parser.add_argument("--trusted-dataset-key", action="append", default=None, metavar="PUB",
                        help="require the evidence to carry its dataset's attestation by this public key (repeatable)")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="write the Janus gate evidence of a candidate")
    p.add_argument("--dataset", default="synthetic-ashare")
    p.add_argument("--decisions", required=True, help="a baseline policy name or a decisions file path")
    p.add_argument("--decisions-on-invalid", choices=("fail", "quarantine"), default="fail",
                   help="a decisions file's invalid rows: fail (default) or quarantine (kept out, listed in "
                        "analysis/rejected_decisions.csv, and the evidence is not complete)")
    p.add_argument("--out", required=True, help="output folder: absent, empty or an earlier export (replaced atomically); anything else is refused")
    p.add_argument("--reward-profile", choices=("hgrm", "lane_scaffold"), default="hgrm")
    p.add_argument("--candidate-id", default="janus-q-candidate")
    p.add_argument("--strategy-id", default=None, help="pick one strategy of a decisions file")
    p.add_argument("--dspy-bundle", action="store_true", help="also write the DSPy compile/eval bundle")
    p.add_argument("--measure-latency", action="store_true",
                   help="time a baseline policy's decisions for the DSPy eval (its bytes then vary run to run)")
    p.add_argument("--gate-policy", default=None,
                   help="JSON file of GatePolicy fields; its dspy_metrics judge the DSPy eval")
    p.add_argument("--sign-key", default=None, metavar="KEY",
                   help="attest the run manifest with this Ed25519 private key (janus keygen): run-manifest.sig.json")
    p.add_argument("--no-record", action="store_true", help="do not append the run to the research store")
    p.add_argument("--no-report", action="store_true", help="do not render the review report DIR/report.html")
    p.add_argument("--report-target", choices=("shadow", "paper", "live"), default="paper",
                   help="promotion target the review report is rendered for (default: paper)")
    p.set_defaults(handler=_export)

    v = subparsers.add_parser("verify", help="recompute every hash of an evidence folder")
    v.add_argument("dir")
    v.add_argument("--no-dataset", action="store_true", help="skip the check against the dataset manifest")
    _trust_flags(v)
    v.set_defaults(handler=_verify)

    g = subparsers.add_parser("gate", help="the lane's verdict on an evidence folder, locally")
    g.add_argument("dir")
    g.add_argument("--target", choices=("shadow", "paper", "live"), required=True)
    g.add_argument("--policy", default=None, help="JSON file of GatePolicy fields")
    g.add_argument("--approval-token", default=None)
    g.add_argument("--no-dataset", action="store_true",
                   help="verify the folder alone (skip the dataset manifest and runs registry checks)")
    _trust_flags(g)
    g.set_defaults(handler=_gate)

    k = subparsers.add_parser("keygen", help="make an Ed25519 key pair for signing evidence and datasets")
    k.add_argument("key", help="private key file to create (the public key goes to KEY.pub); never overwritten")
    k.set_defaults(handler=_keygen)
