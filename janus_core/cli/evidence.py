"""``janus export``, ``janus verify``, ``janus gate`` and ``janus keygen``: the gate-evidence commands.

- ``janus export [--dataset NAME] --decisions POLICY-or-FILE --out DIR [--reward-profile hgrm|lane_scaffold]
  [--candidate-id ID] [--strategy-id ID] [--dspy-bundle [--measure-latency]] [--gate-policy FILE]
  [--no-record] [--no-report] [--target shadow|paper|live]``: writes the evidence folder with its review
  report ``report.html`` for the target (default paper; :func:`janus_core.pipeline.export`) and prints
  where it went with the summary's reasons (and, with the DSPy bundle, its eval verdict under the gate
  policy's DSPy metrics policy; ``--measure-latency`` times a baseline policy's decisions for it).
  ``--out`` must be absent, empty or an earlier export (else one line, exit 2); ``--sign-key KEY`` writes
  ``run-manifest.sig.json``; ``--decisions-on-invalid quarantine`` keeps a decisions file's bad rows out.
- ``janus verify DIR [--no-dataset] [--trusted-key PUB] [--trusted-dataset-key PUB]``: exit 1 naming each
  mismatch (:func:`janus_core.evidence.verify.verify_evidence`, then the report check
  :func:`janus_core.report.render.report_problems`).
- ``janus gate DIR [--target shadow|paper|live] [--gate-policy FILE] [--research-policy FILE]
  [--approval-token TOKEN]``: prints the verdict JSON in two named parts, ``{target, lane: {promotable,
  reasons}, research: {pass, reasons, headline, warnings, policy_hash}, promotable}``
  (:func:`janus_core.evidence.research_policy.evaluate_promotion`); exit 0 only when both parts pass,
  1 when not. It verifies the folder first (as ``janus verify``, with ``--no-dataset`` and the trusted
  keys): any problem fails the lane's part closed with ``workbench_evidence_integrity_failed``.
- ``janus keygen KEY``: a new Ed25519 key pair, ``KEY`` and ``KEY.pub`` (never over an existing file).

Shared options come from :mod:`janus_core.cli.options`. Handlers import the library themselves, so
``janus gate`` loads only the gate.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from janus_core.cli import command_help
from janus_core.cli.options import (
    add_dataset,
    add_gate_policy,
    add_no_dataset,
    add_target,
    evidence_dir,
    gate_policy,
)
from janus_core.paths import WorkbenchPaths

if TYPE_CHECKING:
    from janus_core.evidence.snapshot import EvidenceFiles


def _export(args: argparse.Namespace) -> int:
    from janus_core.decide.policies import POLICIES
    from janus_core.evidence.dspy_bundle import EVAL_REF
    from janus_core.evidence.schema import REPORT_REF
    from janus_core.paths import WorkbenchPaths
    from janus_core.pipeline import ExportConfig, export

    if args.decisions not in POLICIES and not Path(args.decisions).is_file():
        close = difflib.get_close_matches(args.decisions, POLICIES, n=1)
        raise ValueError(
            f"--decisions {args.decisions!r}: not a baseline policy ({', '.join(POLICIES)}) nor an existing "
            "decisions file" + (f"; did you mean {close[0]}?" if close else "")
        )
    cfg = ExportConfig(
        dataset=args.dataset,
        decisions=args.decisions,
        out_dir=Path(args.out),
        reward_profile=args.reward_profile,
        candidate_id=args.candidate_id,
        strategy_id=args.strategy_id,
        dspy_bundle=args.dspy_bundle,
        decisions_on_invalid=args.decisions_on_invalid,
        sign_key=Path(args.sign_key) if args.sign_key else None,
        dspy_metrics=gate_policy(args.gate_policy).dspy_metrics,
        measure_latency=args.measure_latency,
        record_run=not args.no_record,
        report=not args.no_report,
        report_target=args.target,
    )
    result = export(cfg, WorkbenchPaths.from_env())
    for note in result.notes:
        print(f"janus export: {note}", file=sys.stderr)
    ev = result.evidence
    print(f"evidence written to {result.out_dir} (run {result.run_id})")
    print(
        f"  events {ev['event_car']['event_count']}, rewards {ev['hgrm_reward']['reward_count']} "
        f"(mapped {ev['hgrm_reward']['event_mapped_count']}), provenance "
        f"{ev['artifact_authority']['provenance']}, evidence_complete {str(ev['evidence_complete']).lower()}"
        + (f", reasons {', '.join(ev['reasons'])}" if ev["reasons"] else "")
    )
    if cfg.dspy_bundle:
        dspy_eval = json.loads((result.out_dir / EVAL_REF).read_text(encoding="utf-8"))
        failures = dspy_eval.get("metricBundle", {}).get("gateFailures") or []
        print(
            f"  DSPy eval: gateCompatibility {dspy_eval['gateCompatibility']}, recommendation "
            f"{dspy_eval['promotionRecommendation']}" + (f" (failures: {', '.join(failures)})" if failures else "")
        )
    if cfg.report:
        print(f"  review report for {cfg.report_target}: {result.out_dir / REPORT_REF}")
    return 0


def _trusted(paths: list[str] | None) -> list | None:
    """The public keys of ``--trusted-key`` / ``--trusted-dataset-key`` (None when none was given)."""
    from janus_core.signing import load_public_key

    return [load_public_key(p) for p in paths] if paths else None


def _read_folder(folder: Path) -> EvidenceFiles | None:
    """Every file of ``folder`` read once, for every check of one command (None when reading fails:
    then verify reads it itself and names what went wrong)."""
    from janus_core.evidence.snapshot import EvidenceFiles

    try:
        return EvidenceFiles.read(folder)
    except OSError:
        return None


def _integrity(
    folder: Path,
    paths: WorkbenchPaths | None,
    args: argparse.Namespace,
    *,
    report: bool = True,
    files: EvidenceFiles | None = None,
) -> list[str]:
    """Every problem of the folder: :func:`janus_core.evidence.verify.verify_evidence` (with the
    trusted keys of ``args``), then, with ``report``, the report check
    :func:`janus_core.report.render.report_problems` (which the evidence layer cannot import). The gate
    skips the report check: ``report.html`` is a derived view no lane reads, and re-rendering its
    charts would make the gate slow; ``janus verify`` runs it. Both read ``files``, the folder's bytes
    read once (:func:`_read_folder`: one read, parse and hash of every file)."""
    from janus_core.evidence.verify import verify_evidence

    problems = [
        str(p)
        for p in verify_evidence(
            folder,
            paths,
            trusted_keys=_trusted(args.trusted_key),
            trusted_dataset_keys=_trusted(args.trusted_dataset_key),
            files=files,
        )
    ]
    if not problems and report:
        from janus_core.report.render import report_problems

        problems += report_problems(folder, paths, files)
    return problems


def _verify(args: argparse.Namespace) -> int:
    from janus_core.paths import WorkbenchPaths

    folder = evidence_dir(args.dir)
    paths = None if args.no_dataset else WorkbenchPaths.from_env()
    problems = _integrity(folder, paths, args, files=_read_folder(folder))
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {args.dir}")
        return 1
    print(f"{args.dir}: every hash, summary, claim and digest verifies")
    return 0


def _gate(args: argparse.Namespace) -> int:
    from janus_core.evidence.research_policy import (
        ResearchPolicy,
        evaluate_promotion,
        verdict_text,
    )
    from janus_core.paths import WorkbenchPaths

    research = ResearchPolicy.from_file(args.research_policy) if args.research_policy else None
    policy = gate_policy(args.gate_policy)
    folder = evidence_dir(args.dir)
    files = _read_folder(folder)
    paths = None if args.no_dataset else WorkbenchPaths.from_env()
    problems = _integrity(folder, paths, args, report=False, files=files)
    verdict = evaluate_promotion(
        folder,
        args.target,
        policy,
        research,
        approval_token=args.approval_token,
        integrity_problems=problems,
        files=files,
    )
    if args.text:
        print(verdict_text(verdict))
    else:
        print(json.dumps(verdict.to_json(), indent=2, sort_keys=True, ensure_ascii=True))
    return 0 if verdict.promotable else 1


def _keygen(args: argparse.Namespace) -> int:
    from janus_core.signing import generate_keypair, key_id, load_public_key

    private, public = generate_keypair(args.key)
    print(
        f"private key {private} (keep it secret; mode 0600), public key {public} "
        f"(key id {key_id(load_public_key(public))})"
    )
    return 0


def _trust_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trusted-key",
        action="append",
        default=None,
        metavar="PUB",
        help="require the evidence to be signed by this Ed25519 public key (repeatable)",
    )
    parser.add_argument(
        "--trusted-dataset-key",
        action="append",
        default=None,
        metavar="PUB",
        help="require the evidence to carry its dataset's attestation by this public key (repeatable)",
    )


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``export``, ``verify`` and ``gate``.

    Long because: one flat list of argparse declarations, one per option, read top to bottom."""
    p = subparsers.add_parser("export", help=command_help("export"), description=command_help("export"))
    add_dataset(p)
    p.add_argument(
        "--decisions",
        required=True,
        metavar="POLICY-or-FILE",
        help="a baseline policy (oracle, type_prior, sentiment, always_long, always_hold, random) "
        "or a decisions file (.parquet, .csv or .jsonl)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder: absent, empty or an earlier export (replaced atomically); anything else is refused",
    )
    p.add_argument(
        "--decisions-on-invalid",
        choices=("fail", "quarantine"),
        default="fail",
        help="a decisions file's invalid rows: fail (default) or quarantine (kept out, listed in "
        "analysis/rejected_decisions.csv, and the evidence is not complete)",
    )
    p.add_argument(
        "--sign-key",
        default=None,
        metavar="KEY",
        help="attest the run manifest with this Ed25519 private key (janus keygen): run-manifest.sig.json",
    )
    p.add_argument(
        "--reward-profile",
        choices=("hgrm", "lane_scaffold"),
        default="hgrm",
        help="reward constants: the paper's HGRM or the lane's scaffold (default: hgrm)",
    )
    p.add_argument(
        "--candidate-id",
        default="janus-q-candidate",
        help="candidate name written into the evidence (default: janus-q-candidate)",
    )
    p.add_argument("--strategy-id", default=None, help="pick one strategy of a decisions file")
    p.add_argument("--dspy-bundle", action="store_true", help="also write the DSPy compile/eval bundle")
    p.add_argument(
        "--measure-latency",
        action="store_true",
        help="with --dspy-bundle: time a baseline policy's decisions for the eval's p95 latency "
        "(the bundle's bytes then vary run to run; the gate files do not)",
    )
    add_gate_policy(p)
    p.add_argument("--no-record", action="store_true", help="do not append the run to the research store")
    p.add_argument("--no-report", action="store_true", help="do not render the review report DIR/report.html")
    add_target(p, "the review report is rendered for")
    p.set_defaults(handler=_export)

    v = subparsers.add_parser("verify", help=command_help("verify"), description=command_help("verify"))
    v.add_argument("dir", metavar="DIR", help="the evidence folder an export wrote")
    add_no_dataset(v)
    _trust_flags(v)
    v.set_defaults(handler=_verify)

    g = subparsers.add_parser(
        "gate",
        help=command_help("gate"),
        description=command_help("gate")
        + ": JSON with reason codes; exit 0 when promotable, 1 when not, 2 on an error",
    )
    g.add_argument("dir", metavar="DIR", help="the evidence folder an export wrote")
    add_target(g, "to judge the evidence for")
    add_gate_policy(g)
    g.add_argument(
        "--research-policy",
        default=None,
        metavar="FILE",
        help="JSON file of ResearchPolicy fields (default: the workbench's documented thresholds)",
    )
    g.add_argument("--text", action="store_true", help="print the verdict in plain lines instead of JSON")
    g.add_argument(
        "--approval-token", default=None, metavar="TOKEN", help="the human approval token the live target requires"
    )
    add_no_dataset(g)
    _trust_flags(g)
    g.set_defaults(handler=_gate)

    k = subparsers.add_parser("keygen", help=command_help("keygen"), description=command_help("keygen"))
    k.add_argument("key", help="private key file to create (the public key goes to KEY.pub); never overwritten")
    k.set_defaults(handler=_keygen)
