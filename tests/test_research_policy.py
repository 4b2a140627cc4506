"""The research verdict: hand-made evidence folders where the answer is known, each threshold reached,
fail closed on missing tables, and the two-part promotion verdict."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from janus_core.evidence.gate import GateVerdict
from janus_core.evidence.research_policy import (
    ResearchPolicy,
    evaluate_promotion,
    evaluate_research,
)

CANDIDATE = "cand"


def _csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def folder(
    tmp_path: Path, *, sharpe_ci=(0.5, 2.5), diff_ci=(0.1, 1.5), trades=80, days=150, dsr: float | None = 0.99, trials=3
) -> Path:
    out = tmp_path / "ev"
    (out / "gates").mkdir(parents=True)
    (out / "gates/janus-q-evidence-v1.json").write_text(json.dumps({"candidate_id": CANDIDATE}))
    base = {
        "sharpe_diff": 0,
        "sharpe_diff_ci_low": 0,
        "sharpe_diff_ci_high": 0,
        "da": 0.5,
        "da_ci_low": 0.45,
        "da_ci_high": 0.55,
        "n_executed": 90,
    }
    _csv(
        out / "analysis/metrics.csv",
        [
            {"policy": "always_long", "sharpe": 0.3, "sharpe_ci_low": -1.0, "sharpe_ci_high": 1.6, **base},
            {
                "policy": CANDIDATE,
                "sharpe": sum(sharpe_ci) / 2,
                "sharpe_ci_low": sharpe_ci[0],
                "sharpe_ci_high": sharpe_ci[1],
                **base,
                "sharpe_diff": 1.0,
                "sharpe_diff_ci_low": diff_ci[0],
                "sharpe_diff_ci_high": diff_ci[1],
                "da": 0.58,
                "n_executed": trades,
            },
        ],
    )
    nav = [{"series": CANDIDATE, "kind": "candidate", "date": f"d{i}", "nav": 1 + 0.001 * i} for i in range(days + 1)]
    nav += [
        {"series": "bench", "kind": "benchmark", "date": f"d{i}", "nav": 1 + 0.001 * (i % 3)} for i in range(days + 1)
    ]
    _csv(out / "analysis/nav.csv", nav)
    if dsr is not None:
        _csv(out / "analysis/overfitting.csv", [{"n_trials": trials, "deflated_sharpe": dsr}])
    return out


def codes(verdict) -> list[str]:
    return [r.code for r in verdict.reasons]


def test_a_candidate_that_clears_every_threshold_passes(tmp_path):
    v = evaluate_research(folder(tmp_path))
    assert v.passed and codes(v) == [] and v.warnings == []
    assert v.headline["trades"] == 80 and v.headline["test_days"] == 150 and v.headline["trials"] == 3
    assert v.headline["baselines"] == {"always_long": 0.3} and "bench" in v.headline["benchmarks"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"trades": 10}, "research_too_few_trades"),
        ({"days": 40}, "research_test_window_too_short"),
        ({"sharpe_ci": (-3.44, 1.62)}, "research_sharpe_not_positive"),
        ({"diff_ci": (-0.2, 1.0)}, "research_not_beating_baseline"),
        ({"dsr": 0.5}, "research_deflated_sharpe_below_threshold"),
        ({"dsr": None}, "research_deflated_sharpe_missing"),
    ],
)
def test_each_threshold_fails_on_its_own(tmp_path, kwargs, code):
    v = evaluate_research(folder(tmp_path, **kwargs))
    assert not v.passed and codes(v) == [code]
    assert bool(v.warnings) == (code in ("research_too_few_trades", "research_test_window_too_short"))


def test_short_sample_warns_and_thresholds_come_from_the_policy(tmp_path):
    ev = folder(tmp_path, days=100)
    v = evaluate_research(ev)
    assert v.passed and v.warnings and "100 trading days" in v.warnings[0]
    strict = ResearchPolicy(min_trades=100)
    assert codes(evaluate_research(ev, strict)) == ["research_too_few_trades"]
    assert evaluate_research(ev, strict).policy_hash != v.policy_hash
    with pytest.raises(ValueError):
        ResearchPolicy(min_trade=3)


def test_missing_tables_fail_closed(tmp_path):
    ev = folder(tmp_path)
    (ev / "analysis/metrics.csv").unlink()
    assert codes(evaluate_research(ev)) == ["research_metrics_missing"]
    assert codes(evaluate_research(tmp_path / "nothing-here")) == ["research_metrics_missing"]


def test_promotion_needs_both_parts(tmp_path, monkeypatch):
    ev = folder(tmp_path, sharpe_ci=(-1.0, 0.5))
    lane_ok = GateVerdict(target="paper", promotable=True, reasons=[])
    monkeypatch.setattr("janus_core.evidence.research_policy.evaluate_gate", lambda *a, **k: lane_ok)
    both = evaluate_promotion(ev, "paper")
    assert both.lane.promotable and not both.research.passed and not both.promotable
    out = both.to_json()
    assert out["lane"]["promotable"] is True and out["research"]["pass"] is False and out["promotable"] is False
    assert evaluate_promotion(ev, "shadow").research.passed
