"""``janus export``, ``janus verify`` and ``janus gate``: the gate-evidence commands.

- ``janus export [--dataset NAME] --decisions POLICY-or-FILE --out DIR [--reward-profile hgrm|lane_scaffold]
  [--candidate-id ID] [--strategy-id ID] [--dspy-bundle [--measure-latency]] [--gate-policy FILE]
  [--no-record] [--no-report] [--target shadow|paper|live]``: writes the evidence folder with its review
  report ``report.html`` for the target (default paper; :func:`janus_core.pipeline.export`) and prints
  where it went with the summary's reasons (and, with the DSPy bundle, its eval verdict under the gate
  policy's DSPy metrics policy; ``--measure-latency`` times a baseline policy's decisions for it).
- ``janus verify DIR [--no-dataset]``: exit 1 naming each mismatch
  (:func:`janus_core.evidence.verify.verify_evidence`).
- ``janus gate DIR [--target shadow|paper|live] [--gate-policy FILE] [--research-policy FILE]
  [--approval-token TOKEN]``: prints the verdict JSON in two named parts, ``{target, lane: {promotable,
  reasons}, research: {pass, reasons, headline, warnings, policy_hash}, promotable}``
  (:func:`janus_core.evidence.research_policy.evaluate_promotion`); exit 0 only when both parts pass,
  1 when not.

Shared options come from :mod:`janus_core.cli.options`. Handlers import the library themselves, so
``janus gate`` loads only the gate.
"""

from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path

from janus_core.cli import command_help
from janus_core.cli.options import (
    add_dataset,
    add_gate_policy,
    add_no_dataset,
    add_target,
    evidence_dir,
    gate_policy,
)


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
    cfg = ExportConfig(dataset=args.dataset, decisions=args.decisions, out_dir=Path(args.out),
                       reward_profile=args.reward_profile, candidate_id=args.candidate_id,
                       strategy_id=args.strategy_id, dspy_bundle=args.dspy_bundle,
                       dspy_metrics=gate_policy(args.gate_policy).dspy_metrics, measure_latency=args.measure_latency,
                       record_run=not args.no_record, report=not args.no_report, report_target=args.target)
    result = export(cfg, WorkbenchPaths.from_env())
    ev = result.evidence
    print(f"evidence written to {result.out_dir} (run {result.run_id})")
    print(f"  events {ev['event_car']['event_count']}, rewards {ev['hgrm_reward']['reward_count']} "
          f"(mapped {ev['hgrm_reward']['event_mapped_count']}), provenance "
          f"{ev['artifact_authority']['provenance']}, evidence_complete {str(ev['evidence_complete']).lower()}"
          + (f", reasons {', '.join(ev['reasons'])}" if ev["reasons"] else ""))
    if cfg.dspy_bundle:
        dspy_eval = json.loads((result.out_dir / EVAL_REF).read_text(encoding="utf-8"))
        failures = dspy_eval.get("metricBundle", {}).get("gateFailures") or []
        print(f"  DSPy eval: gateCompatibility {dspy_eval['gateCompatibility']}, recommendation "
              f"{dspy_eval['promotionRecommendation']}" + (f" (failures: {', '.join(failures)})" if failures else ""))
    if cfg.report:
        print(f"  review report for {cfg.report_target}: {result.out_dir / REPORT_REF}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from janus_core.evidence.verify import verify_evidence
    from janus_core.paths import WorkbenchPaths

    problems = verify_evidence(evidence_dir(args.dir), None if args.no_dataset else WorkbenchPaths.from_env())
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {args.dir}")
        return 1
    print(f"{args.dir}: every hash, summary and digest verifies")
    return 0


def _gate(args: argparse.Namespace) -> int:
    from janus_core.evidence.research_policy import (
        ResearchPolicy,
        evaluate_promotion,
        verdict_text,
    )

    research = ResearchPolicy.from_file(args.research_policy) if args.research_policy else None
    verdict = evaluate_promotion(evidence_dir(args.dir), args.target, gate_policy(args.gate_policy), research,
                                 approval_token=args.approval_token)
    if args.text:
        print(verdict_text(verdict))
    else:
        print(json.dumps(verdict.to_json(), indent=2, sort_keys=True, ensure_ascii=True))
    return 0 if verdict.promotable else 1


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help=command_help("export"), description=command_help("export"))
    add_dataset(p)
    p.add_argument("--decisions", required=True, metavar="POLICY-or-FILE",
                   help="a baseline policy (oracle, type_prior, sentiment, always_long, always_hold, random) "
                        "or a decisions file (.parquet, .csv or .jsonl)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced atomically)")
    p.add_argument("--reward-profile", choices=("hgrm", "lane_scaffold"), default="hgrm",
                   help="reward constants: the paper's HGRM or the lane's scaffold (default: hgrm)")
    p.add_argument("--candidate-id", default="janus-q-candidate",
                   help="candidate name written into the evidence (default: janus-q-candidate)")
    p.add_argument("--strategy-id", default=None, help="pick one strategy of a decisions file")
    p.add_argument("--dspy-bundle", action="store_true", help="also write the DSPy compile/eval bundle")
    p.add_argument("--measure-latency", action="store_true",
                   help="with --dspy-bundle: time a baseline policy's decisions for the eval's p95 latency "
                        "(the bundle's bytes then vary run to run; the gate files do not)")
    add_gate_policy(p)
    p.add_argument("--no-record", action="store_true", help="do not append the run to the research store")
    p.add_argument("--no-report", action="store_true", help="do not render the review report DIR/report.html")
    add_target(p, "the review report is rendered for")
    p.set_defaults(handler=_export)

    v = subparsers.add_parser("verify", help=command_help("verify"), description=command_help("verify"))
    v.add_argument("dir", metavar="DIR", help="the evidence folder an export wrote")
    add_no_dataset(v)
    v.set_defaults(handler=_verify)

    g = subparsers.add_parser("gate", help=command_help("gate"), description=command_help("gate") +
                              ": JSON with reason codes; exit 0 when promotable, 1 when not, 2 on an error")
    g.add_argument("dir", metavar="DIR", help="the evidence folder an export wrote")
    add_target(g, "to judge the evidence for")
    add_gate_policy(g)
    g.add_argument("--research-policy", default=None, metavar="FILE",
                   help="JSON file of ResearchPolicy fields (default: the workbench's documented thresholds)")
    g.add_argument("--text", action="store_true", help="print the verdict in plain lines instead of JSON")
    g.add_argument("--approval-token", default=None, metavar="TOKEN",
                   help="the human approval token the live target requires")
    g.set_defaults(handler=_gate)
