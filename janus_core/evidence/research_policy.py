"""The workbench's own research verdict, next to the lane's: does the candidate's performance earn a
promotion, whatever the evidence's provenance and integrity say?

The lane's Janus checks (:mod:`janus_core.evidence.gate`) ask only whether the evidence is complete,
well formed and authoritative: a losing candidate on real data passes them. This module reads the
export's research tables and applies :class:`ResearchPolicy`, whose thresholds are documented here and
hashed into the verdict (``policy_hash``):

- ``research_metrics_missing``: the backtest metrics of the candidate are absent (fail closed);
- ``research_too_few_trades``: fewer executed trades than ``min_trades``;
- ``research_test_window_too_short``: fewer trading days in the backtest window than ``min_test_days``;
- ``research_sharpe_not_positive``: the lower end of the candidate's Sharpe interval is <= 0;
- ``research_not_beating_baseline``: the lower end of the paired Sharpe difference against the
  bootstrap baseline is <= 0 (the candidate does not beat it with confidence);
- ``research_deflated_sharpe_missing``: no Deflated Sharpe Ratio (no trials ledger behind it);
- ``research_deflated_sharpe_below_threshold``: DSR < ``min_deflated_sharpe``.

:func:`evaluate_promotion` combines both parts: ``promotable`` only when the lane's checks pass and
the research verdict passes. The shadow target needs neither (the lane requires no Janus evidence
for it, and shadow trading risks nothing). Only the standard library reads the CSV tables, so the
command answers at once.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from janus_core.evidence.gate import (
    GatePolicy,
    GateReason,
    GateVerdict,
    Target,
    evaluate_gate,
)
from janus_core.evidence.schema import EVIDENCE_REF
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.hashing import H

METRICS_REF = "analysis/metrics.csv"
NAV_REF = "analysis/nav.csv"
OVERFITTING_REF = "analysis/overfitting.csv"


class ResearchPolicy(BaseModel):
    """Thresholds of the research verdict (module docstring); every one is hashed into the verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Executed trades of the candidate in the backtest window: below ~30 a Sharpe ratio is noise.
    min_trades: int = Field(30, ge=0)
    #: Trading days in the backtest window (about three months).
    min_test_days: int = Field(60, ge=0)
    #: Below this many days the verdict carries a short-sample warning (about six months).
    short_sample_days: int = Field(126, ge=0)
    #: The candidate's Sharpe interval must lie above zero.
    require_positive_sharpe: bool = True
    #: The paired Sharpe difference against the export's bootstrap baseline must lie above zero.
    require_beats_baseline: bool = True
    #: Deflated Sharpe Ratio (probability that the true Sharpe is positive after the trials tried).
    min_deflated_sharpe: float = Field(0.95, ge=0.0, le=1.0)

    @classmethod
    def from_file(cls, path: str | Path) -> ResearchPolicy:
        """Load a policy from a JSON object of the fields above (unknown keys are an error)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the research policy as JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the research policy must be a JSON object")
        return cls.model_validate(data)


class ResearchVerdict(BaseModel):
    """The research policy's decision, its reasons, the candidate's headline numbers next to its
    baselines and benchmarks, and warnings (e.g. a short sample)."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    reasons: list[GateReason]
    headline: dict[str, Any]
    warnings: list[str]
    policy_hash: str


class PromotionVerdict(BaseModel):
    """Both parts: ``lane`` (the lane's Janus checks) and ``research`` (the workbench's performance
    policy); ``promotable`` only when both pass."""

    model_config = ConfigDict(frozen=True)

    target: str
    lane: GateVerdict
    research: ResearchVerdict
    promotable: bool

    def to_json(self) -> dict[str, Any]:
        """``{target, lane: {promotable, reasons}, research: {pass, reasons, headline, warnings,
        policy_hash}, promotable}`` with reasons as ``{code, detail}``."""
        return {
            "target": self.target,
            "lane": {"promotable": self.lane.promotable, "reasons": [r.model_dump() for r in self.lane.reasons]},
            "research": {
                "pass": self.research.passed,
                "reasons": [r.model_dump() for r in self.research.reasons],
                "headline": self.research.headline,
                "warnings": self.research.warnings,
                "policy_hash": self.research.policy_hash,
            },
            "promotable": self.promotable,
        }


def verdict_text(verdict: PromotionVerdict) -> str:
    """The two-part verdict in plain lines, for a terminal: each part with its reasons, the headline
    numbers and the warnings."""
    lane, research = verdict.lane, verdict.research
    lines = [
        f"promotion to {verdict.target}: {'PROMOTABLE' if verdict.promotable else 'NOT PROMOTABLE'}",
        f"  lane (the lane's Janus checks: provenance, integrity, completeness): "
        f"{'pass' if lane.promotable else 'fail'}",
    ]
    lines += [f"    - {r.code}: {r.detail}" for r in lane.reasons]
    lines.append(f"  research (the workbench's performance policy): {'pass' if research.passed else 'fail'}")
    lines += [f"    - {r.code}: {r.detail}" for r in research.reasons]
    head = research.headline
    if head.get("sharpe") is not None:
        lines.append(
            f"    candidate {head['candidate']}: Sharpe {head['sharpe']:.3f} {head['sharpe_ci']}, "
            f"DA {head['da']}, trades {head['trades']}, test days {head['test_days']}, "
            f"trials {head['trials']}, DSR {head['deflated_sharpe']}"
        )
        lines.append(f"    baselines {head['baselines']}; benchmarks {head['benchmarks']}")
    lines += [f"  warning: {w}" for w in research.warnings]
    return "\n".join(lines)


def _rows(path: Path) -> list[dict[str, str]] | None:
    """The rows of a CSV table, or None when it is absent or unreadable (fail closed upstream)."""
    if not path.is_file():
        return None
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [r for r in csv.DictReader(fh) if isinstance(r, dict)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _num(value: str | None) -> float | None:
    try:
        x = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return x if x is not None and math.isfinite(x) else None


def _candidate_id(out_dir: Path) -> str | None:
    try:
        doc = json.loads((out_dir / EVIDENCE_REF).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, malformed or absurdly nested: no candidate
        return None
    value = doc.get("candidate_id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def _headline(
    candidate: str,
    metrics: list[dict[str, str]],
    nav: list[dict[str, str]] | None,
    overfitting: list[dict[str, str]] | None,
) -> dict[str, Any]:
    """The candidate's numbers, its baselines' Sharpe ratios and the benchmarks' (from the NAVs)."""
    by_policy = {r.get("policy"): r for r in metrics}
    cand = by_policy.get(candidate, {})
    days = sum(1 for r in nav or [] if r.get("series") == candidate) - 1 if nav else None
    over = (overfitting or [{}])[0]
    bench: dict[str, float | None] = {}
    for name in sorted({r["series"] for r in nav or [] if r.get("kind") == "benchmark"}):
        navs = [_num(r.get("nav")) for r in nav or [] if r.get("series") == name]
        rets = [b / a - 1.0 for a, b in zip(navs, navs[1:], strict=False) if a and b is not None]
        mean = sum(rets) / len(rets) if rets else None
        sd = math.sqrt(sum((x - mean) ** 2 for x in rets) / len(rets)) if rets else None
        bench[name] = mean / sd * math.sqrt(252.0) if mean is not None and sd else None
    return {
        "candidate": candidate,
        "sharpe": _num(cand.get("sharpe")),
        "sharpe_ci": [_num(cand.get("sharpe_ci_low")), _num(cand.get("sharpe_ci_high"))],
        "sharpe_diff_vs_baseline_ci": [_num(cand.get("sharpe_diff_ci_low")), _num(cand.get("sharpe_diff_ci_high"))],
        "da": _num(cand.get("da")),
        "da_ci": [_num(cand.get("da_ci_low")), _num(cand.get("da_ci_high"))],
        "trades": int(_num(cand.get("n_executed")) or 0) if cand else None,
        "test_days": days if days is None or days >= 0 else None,
        "trials": int(_num(over.get("n_trials")) or 0) if over.get("n_trials") else None,
        "deflated_sharpe": _num(over.get("deflated_sharpe")),
        "pbo": _num(over.get("pbo")),
        "sweep_id": over.get("sweep_id") or None,
        "baselines": {p: _num(r.get("sharpe")) for p, r in sorted(by_policy.items()) if p != candidate},
        "benchmarks": bench,
    }


def evaluate_research(out_dir: str | Path, policy: ResearchPolicy | None = None) -> ResearchVerdict:
    """The research verdict on the export in ``out_dir`` (module docstring). Fail closed: a missing
    table or number is a reason, never a pass."""
    policy = policy or ResearchPolicy()
    out_dir = Path(out_dir)
    reasons: list[GateReason] = []
    candidate = _candidate_id(out_dir)
    metrics = _rows(out_dir / METRICS_REF)
    head: dict[str, Any] = {"candidate": candidate}
    if candidate is None or not metrics or not any(r.get("policy") == candidate for r in metrics):
        reasons.append(
            GateReason(
                code="research_metrics_missing",
                detail=f"no backtest metrics of candidate {candidate!r} in {METRICS_REF}",
            )
        )
    else:
        head = _headline(candidate, metrics, _rows(out_dir / NAV_REF), _rows(out_dir / OVERFITTING_REF))
        reasons += _threshold_reasons(head, policy)
    warnings = []
    days, trades = head.get("test_days"), head.get("trades")
    if days is not None and days < policy.short_sample_days:
        warnings.append(
            f"short sample: {days} trading days in the backtest window (< {policy.short_sample_days}); "
            f"Sharpe ratios this short are unreliable"
        )
    if trades is not None and trades < policy.min_trades:
        warnings.append(
            f"short sample: {trades} trades (< {policy.min_trades}); every number above rests on "
            f"too few trades to mean much"
        )
    return ResearchVerdict(
        passed=not reasons,
        reasons=reasons,
        headline=head,
        warnings=warnings,
        policy_hash=H(policy.model_dump(mode="json")),
    )


def _threshold_reasons(head: dict[str, Any], policy: ResearchPolicy) -> list[GateReason]:
    """The threshold checks of :class:`ResearchPolicy` on the candidate's headline numbers."""
    trades, days = head.get("trades"), head.get("test_days")
    low, diff_low = head["sharpe_ci"][0], head["sharpe_diff_vs_baseline_ci"][0]
    checks = (
        (
            trades is None or trades < policy.min_trades,
            "research_too_few_trades",
            f"{trades} executed trades < minimum {policy.min_trades}",
        ),
        (
            days is None or days < policy.min_test_days,
            "research_test_window_too_short",
            f"{days} trading days in the backtest window < minimum {policy.min_test_days}",
        ),
        (
            policy.require_positive_sharpe and (low is None or low <= 0),
            "research_sharpe_not_positive",
            f"Sharpe {head.get('sharpe')} with interval {head['sharpe_ci']}: the lower end is not above 0",
        ),
        (
            policy.require_beats_baseline and (diff_low is None or diff_low <= 0),
            "research_not_beating_baseline",
            f"Sharpe difference against the bootstrap baseline has interval "
            f"{head['sharpe_diff_vs_baseline_ci']}: the lower end is not above 0",
        ),
    )
    out = [GateReason(code=code, detail=detail) for failed, code, detail in checks if failed]
    dsr = head.get("deflated_sharpe")
    if dsr is None:
        out.append(
            GateReason(
                code="research_deflated_sharpe_missing",
                detail=f"no Deflated Sharpe Ratio in {OVERFITTING_REF} (no trials ledger behind it)",
            )
        )
    elif dsr < policy.min_deflated_sharpe:
        out.append(
            GateReason(
                code="research_deflated_sharpe_below_threshold",
                detail=f"Deflated Sharpe Ratio {dsr:.4f} over {head.get('trials')} trial(s) "
                f"< {policy.min_deflated_sharpe}",
            )
        )
    return out


def evaluate_promotion(
    out_dir: str | Path,
    target: Target,
    gate_policy: GatePolicy | None = None,
    research_policy: ResearchPolicy | None = None,
    approval_token: str | None = None,
    integrity_problems: list[str] | None = None,
    files: EvidenceFiles | None = None,
) -> PromotionVerdict:
    """Both parts of the verdict for ``target``: the lane's (:func:`evaluate_gate`) and the research
    policy's (:func:`evaluate_research`; not required for shadow). Promotable only when both pass.
    ``integrity_problems`` (from verifying the folder first) fail the lane's part closed; ``files``
    are the folder's bytes when the caller already holds them (:func:`evaluate_gate`)."""
    lane = evaluate_gate(
        out_dir, target, gate_policy, approval_token, integrity_problems=integrity_problems, files=files
    )
    if target == "shadow":
        research = ResearchVerdict(
            passed=True,
            reasons=[],
            headline={},
            warnings=["shadow needs no research verdict: nothing is traded"],
            policy_hash=H((research_policy or ResearchPolicy()).model_dump(mode="json")),
        )
    else:
        research = evaluate_research(out_dir, research_policy)
    return PromotionVerdict(target=target, lane=lane, research=research, promotable=lane.promotable and research.passed)
