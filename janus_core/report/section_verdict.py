"""Report sections 1 and 2: the candidate and its verdict, and the evidence integrity."""

from __future__ import annotations

from janus_core.evidence.research_policy import ResearchVerdict
from janus_core.report.page import (
    SECTIONS,
    Page,
    Section,
)
from janus_core.report.reasons import reason_sentence


class VerdictSections(Page):
    """The report sections on the verdict and on the evidence integrity."""

    def verdict(self) -> Section:
        s = Section(*SECTIONS[0])
        rw, ec = self.f.hgrm_reward, self.f.event_car
        self.kv(
            s,
            [
                ("candidate", rw.get("candidate_id")),
                ("run", rw.get("run_id") or ec.get("run_id")),
                ("dataset", self.run_dataset().get("name")),
                ("evidence generated at", ec.get("generated_at") or rw.get("generated_at")),
                ("promotion target", self.gate.target),
            ],
        )
        self.verdict_statement(s)
        s.add(
            "table",
            "The verdict in two parts",
            headers=("part", "what it checks", "result"),
            rows=(
                (
                    "lane",
                    "the evidence's provenance, authority, lineage, integrity and completeness (not performance)",
                    "pass" if self.gate.promotable and self.gate.error is None else "fail",
                ),
                (
                    "research",
                    "the candidate's performance: trades, test window, Sharpe against zero and its baseline, "
                    "Deflated Sharpe Ratio over the trials tried",
                    "pass" if self.gate.research_passed else "fail",
                ),
            ),
        )
        research = self.gate.research
        if research is not None:
            self.headline(s, research)
        self.verdict_reasons(s, research)
        return s

    def verdict_statement(self, s: Section) -> None:
        """PROMOTABLE or NOT PROMOTABLE, and why in one sentence."""
        target = self.gate.target
        if self.gate.error is not None:
            s.add("bad", f"NOT PROMOTABLE to {target}: the verdict could not be evaluated ({self.gate.error}).")
        elif self.gate.promotable and self.gate.research_passed and self.integrity.clean:
            s.add("good", f"PROMOTABLE to {target}: the lane's Janus checks and the research verdict both pass.")
            s.add("p", "The local gate mirrors the promotion lane's Janus checks; the lane itself makes the decision.")
        elif self.gate.promotable and self.gate.research_passed:
            s.add(
                "bad",
                f"NOT PROMOTABLE to {target}: both parts passed, but the evidence failed verification "
                "(see the banner above), so the verdict cannot be trusted.",
            )
        else:
            failed = [
                name
                for name, ok in (
                    ("the lane's Janus checks", self.gate.promotable),
                    ("the research verdict", self.gate.research_passed),
                )
                if not ok
            ]
            s.add("bad", f"NOT PROMOTABLE to {target}: {' and '.join(failed)} did not pass.")

    def verdict_reasons(self, s: Section, research: ResearchVerdict | None) -> None:
        """The reason codes of the lane, the research verdict and the evidence summary, in words."""
        s.add("h", "Why: the lane's reasons")
        self.reasons(s, [(c, d) for c, d in self.gate.reasons], "The lane's checks reported no reasons.")
        s.add("h", "Why: the research verdict's reasons")
        if research is None:
            s.add("note", "The research verdict could not be evaluated: treat it as failed.")
        else:
            self.reasons(s, [(r.code, r.detail) for r in research.reasons], "The research verdict reported no reasons.")
        s.add("h", "The evidence summary's own reasons (janus-q-evidence-v1)")
        ev = self.f.evidence
        codes = ev.get("reasons")
        if isinstance(codes, list):
            self.reasons(
                s, [(str(c), "") for c in codes], f"None: evidence_complete is {self.fmt(ev.get('evidence_complete'))}."
            )
        else:
            s.add("note", "The evidence summary is missing or carries no reasons list.")

    @staticmethod
    def reasons(s: Section, codes: list[tuple[str, str]], none: str) -> None:
        """A table of (reason code, the code in plain words, detail), or the sentence ``none``."""
        if not codes:
            s.add("p", none)
            return
        s.add(
            "reasons",
            headers=("reason code", "in plain words", "detail"),
            rows=tuple((c, reason_sentence(c), d) for c, d in codes),
        )

    def headline(self, s: Section, research: ResearchVerdict) -> None:
        """The candidate's headline numbers next to its baselines and benchmarks, and any warning."""
        head = research.headline
        for warning in research.warnings:
            s.add("bad", f"Warning: {warning}.")
        if head.get("sharpe") is None:
            return
        s.add(
            "kv",
            rows=tuple(
                (k, self.fmt(v))
                for k, v in (
                    ("candidate", head.get("candidate")),
                    (
                        "Sharpe ratio [interval]",
                        f"{self.fmt(head['sharpe'])} [{self.fmt(head['sharpe_ci'][0])}, "
                        f"{self.fmt(head['sharpe_ci'][1])}]",
                    ),
                    (
                        "Sharpe minus baseline [interval]",
                        f"[{self.fmt(head['sharpe_diff_vs_baseline_ci'][0])}, "
                        f"{self.fmt(head['sharpe_diff_vs_baseline_ci'][1])}]",
                    ),
                    (
                        "directional accuracy [interval]",
                        f"{self.fmt(head.get('da'))} [{self.fmt(head['da_ci'][0])}, {self.fmt(head['da_ci'][1])}]",
                    ),
                    ("trades", head.get("trades")),
                    ("test-window trading days", head.get("test_days")),
                    ("trials behind the candidate", head.get("trials")),
                    ("Deflated Sharpe Ratio", head.get("deflated_sharpe")),
                    ("probability of backtest overfitting (its sweep)", head.get("pbo")),
                )
            ),
        )
        rows = [(name, "baseline", self.fmt(v)) for name, v in sorted(head.get("baselines", {}).items())]
        rows += [
            (name, "benchmark (buy and hold)", self.fmt(v)) for name, v in sorted(head.get("benchmarks", {}).items())
        ]
        if rows:
            s.add("table", "Sharpe ratios over the same window", headers=("series", "kind", "Sharpe"), rows=tuple(rows))

    def integrity_section(self) -> Section:
        s = Section(*SECTIONS[1])
        if self.integrity.error is not None:
            s.add("bad", f"Verification could not run: {self.integrity.error}. Treat this evidence as unverified.")
        if self.integrity.problems:
            s.add(
                "bad",
                f"Verification found {len(self.integrity.problems)} problem(s): this evidence folder was "
                "changed after it was written, or is incomplete.",
            )
            s.add("table", headers=("problem",), rows=tuple((p,) for p in self.integrity.problems))
        if self.integrity.clean:
            s.add(
                "good",
                "Verified: every file digest, hash, summary and lineage field of the folder was "
                "recomputed and matches.",
            )
            if self.integrity.inputs_checked_against is not None:
                s.add(
                    "p",
                    "The input table digests recorded at export also match the dataset manifest "
                    f"{self.integrity.inputs_checked_against}.",
                )
            else:
                s.add(
                    "note",
                    "The recorded input table digests were not compared with a dataset manifest: this "
                    "report was rendered from the evidence folder alone.",
                )
        return s
