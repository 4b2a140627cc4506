"""The report's sections, in order: candidate and verdict; evidence integrity; dataset and provenance;
the event study; labels; reward; backtest; reproducibility."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl

from janus_core.evidence.gate import TRUTHFUL_MATURITY, TRUTHFUL_PROVENANCE
from janus_core.evidence.research_policy import ResearchVerdict
from janus_core.report.charts import (
    caar_by_type_chart,
    caar_path_chart,
    count_bar_chart,
    dot_chart,
    histogram_chart,
    interval_chart,
    line_chart,
)
from janus_core.report.folder import (
    EVENT_CAR_FILE,
    EVIDENCE_FILE,
    HGRM_REWARD_FILE,
    RUN_MANIFEST_FILE,
)
from janus_core.report.page import (
    LICENCE_KEYS,
    NON_COMPONENT_COLUMNS,
    SECTIONS,
    Page,
    Section,
    _flatten,
    _number,
    _stat,
)
from janus_core.report.reasons import reason_sentence


class ReportBuilder(Page):
    """Builds the sections from a loaded folder, the integrity and the gate outcome."""

    def verdict(self) -> Section:
        s = Section(*SECTIONS[0])
        rw, ec, ev = self.f.hgrm_reward, self.f.event_car, self.f.evidence
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
        target, research = self.gate.target, self.gate.research
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
        if research is not None:
            self.headline(s, research)
        s.add("h", "Why: the lane's reasons")
        if self.gate.reasons:
            s.add(
                "reasons",
                headers=("reason code", "in plain words", "detail"),
                rows=tuple((c, reason_sentence(c), d) for c, d in self.gate.reasons),
            )
        else:
            s.add("p", "The lane's checks reported no reasons.")
        s.add("h", "Why: the research verdict's reasons")
        if research is None:
            s.add("note", "The research verdict could not be evaluated: treat it as failed.")
        elif research.reasons:
            s.add(
                "reasons",
                headers=("reason code", "in plain words", "detail"),
                rows=tuple((r.code, reason_sentence(r.code), r.detail) for r in research.reasons),
            )
        else:
            s.add("p", "The research verdict reported no reasons.")
        s.add("h", "The evidence summary's own reasons (janus-q-evidence-v1)")
        codes = ev.get("reasons")
        if isinstance(codes, list) and codes:
            s.add(
                "reasons",
                headers=("reason code", "in plain words", "detail"),
                rows=tuple((str(c), reason_sentence(str(c)), "") for c in codes),
            )
        elif isinstance(codes, list):
            s.add("p", f"None: evidence_complete is {self.fmt(ev.get('evidence_complete'))}.")
        else:
            s.add("note", "The evidence summary is missing or carries no reasons list.")
        return s

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

    def provenance(self) -> Section:
        s = Section(*SECTIONS[2])
        ds = self.run_dataset()
        if ds:
            self.kv(
                s, [(k, v) for k, v in sorted(ds.items()) if not isinstance(v, (dict, list)) and k not in LICENCE_KEYS]
            )
        else:
            s.add("note", f"Dataset description: not available in this evidence (no 'dataset' in {RUN_MANIFEST_FILE}).")
        tables = ds.get("tables")
        if isinstance(tables, dict) and tables:
            cols = sorted(
                {
                    k
                    for t in tables.values()
                    if isinstance(t, dict)
                    for k, v in t.items()
                    if not isinstance(v, (dict, list))
                }
            )
            rows = tuple(
                (name, *(self.fmt(t.get(c)) if isinstance(t, dict) else "—" for c in cols))
                for name, t in sorted(tables.items())
            )
            s.add("h", "Input tables")
            s.add("table", headers=("table", *cols), rows=rows)
        else:
            s.add(
                "note",
                f"Input table digests: not available in this evidence (no dataset.tables in {RUN_MANIFEST_FILE}).",
            )
        self.quarantine(s)
        s.add("h", "Source and licence")
        self.licence(s, ds)
        s.add("h", "Authority")
        if self.is_synthetic():
            s.add(
                "bad",
                "Synthetic data: this evidence was built from generated data. Synthetic evidence is never "
                "authoritative and cannot support a promotion, whatever its numbers say.",
            )
        rows = []
        for rel, a in self.authority().items():
            doc = self.f.documents.get(rel) or {}
            rows.append(
                (
                    rel,
                    self.fmt(a.get("provenance")),
                    self.fmt(a.get("maturity")),
                    self.fmt(a.get("authoritative")),
                    self.fmt(a.get("placeholder")),
                    self.fmt(doc.get("promotion_authority_eligible")),
                    self.fmt(a.get("notes")),
                )
            )
        s.add(
            "table",
            headers=(
                "artifact",
                "provenance",
                "maturity",
                "authoritative",
                "placeholder",
                "promotion eligible",
                "notes",
            ),
            rows=tuple(rows),
        )
        children = [(rel, a) for rel, a in self.authority().items() if rel in (EVENT_CAR_FILE, HGRM_REWARD_FILE)]
        truthful = all(
            a.get("provenance") in TRUTHFUL_PROVENANCE
            and a.get("maturity") == TRUTHFUL_MATURITY
            and a.get("authoritative") is True
            and a.get("placeholder") is False
            and (self.f.documents.get(rel) or {}).get("promotion_authority_eligible") is True
            for rel, a in children
        )
        if truthful:
            s.add(
                "good",
                "Both lane artifacts claim authoritative, empirically validated evidence from "
                f"{', '.join(sorted({str(a['provenance']) for _, a in children}))}.",
            )
        else:
            s.add(
                "p",
                "At least one artifact does not claim authoritative, empirically validated provenance, "
                "so the lane will not count it as evidence.",
            )
        return s

    def quarantine(self, s: Section) -> None:
        """What a quarantine import or a quarantined decisions file left out (run manifest ``quarantine``)."""
        s.add("h", "Rows rejected at import")
        record = self.f.run_manifest.get("quarantine")
        if not isinstance(record, dict):
            s.add("note", f"Not recorded in {RUN_MANIFEST_FILE} (no 'quarantine' section).")
            return
        dataset = record.get("dataset") if isinstance(record.get("dataset"), dict) else {}
        decisions = record.get("decisions") if isinstance(record.get("decisions"), dict) else {}
        tables = dataset.get("tables") if isinstance(dataset.get("tables"), dict) else {}
        universe = (
            dataset.get("universe_rows_rejected") if isinstance(dataset.get("universe_rows_rejected"), dict) else {}
        )
        hit = record.get("universe_rows_rejected")
        if hit:
            s.add(
                "bad",
                f"{self.fmt(hit)} row(s) of the candidate's universe were rejected at import and are not in "
                "this evidence: the study covers less than its inputs (reason "
                "workbench_universe_rows_quarantined).",
            )
        else:
            s.add(
                "p",
                "No row of the candidate's universe was rejected at import (dataset import mode "
                f"{self.fmt(dataset.get('on_invalid'))}).",
            )
        rows = tuple(
            (name, self.fmt(t.get("accepted")), self.fmt(t.get("rejected")), self.fmt(universe.get(name, 0)))
            for name, t in sorted(tables.items())
            if isinstance(t, dict)
        )
        if decisions.get("read"):
            rows += (
                (
                    "decisions",
                    self.fmt(decisions.get("accepted")),
                    self.fmt(decisions.get("rejected")),
                    self.fmt(decisions.get("rejected")),
                ),
            )
        if rows:
            s.add(
                "table",
                headers=("table", "rows accepted", "rows rejected", "rejected in the candidate's universe"),
                rows=rows,
            )
        securities = dataset.get("rejected_securities")
        if isinstance(securities, list) and securities:
            s.add(
                "p",
                f"Rejected securities: {', '.join(str(x) for x in securities[:50])}"
                + (f" and {len(securities) - 50} more" if len(securities) > 50 else "")
                + ".",
            )
        symbols = dataset.get("universe_symbols")
        if isinstance(symbols, list) and symbols:
            s.add("p", f"Securities of the universe with rejected rows: {', '.join(str(x) for x in symbols)}.")

    def licence(self, s: Section, ds: dict) -> None:
        """Source and licence as the run manifest recorded them at export; only when it recorded
        neither, as the dataset manifest consulted at render time states them."""
        recorded = [(k, ds[k]) for k in LICENCE_KEYS if ds.get(k) is not None]
        if recorded:
            s.add(
                "p",
                f"As recorded in {RUN_MANIFEST_FILE} at export, from the dataset manifest whose SHA-256 "
                f"was {self.fmt(ds.get('manifest_sha256'))}:",
            )
            self.kv(s, recorded)
            return
        view = self.dataset_manifest
        if view is None:
            s.add(
                "note",
                f"Source and licence: not recorded in {RUN_MANIFEST_FILE}, and no dataset manifest was "
                "consulted when this report was rendered.",
            )
            return
        found = [(k, view.manifest[k]) for k in LICENCE_KEYS if k in view.manifest]
        match = view.sha256 == ds.get("manifest_sha256")
        s.add(
            "p" if match else "bad",
            f"Not recorded in {RUN_MANIFEST_FILE}; taken from the dataset manifest {view.path}, whose SHA-256 "
            + ("matches" if match else "DOES NOT match")
            + f" the manifest_sha256 recorded at export ({self.fmt(ds.get('manifest_sha256'))}).",
        )
        if found:
            self.kv(s, found)
        else:
            s.add("note", f"The dataset manifest {view.path} states no source or licence either.")

    def event_study(self) -> Section:
        s = Section(*SECTIONS[3])
        ec = self.f.event_car
        meth = ec.get("methodology")
        s.add("h", "Methodology")
        if isinstance(meth, dict) and meth:
            self.kv(s, sorted(meth.items()))
        else:
            s.add("note", f"Methodology: not available in this evidence (no methodology in {EVENT_CAR_FILE}).")
        summ = ec.get("summary")
        if isinstance(summ, dict):
            s.add("h", "Summary")
            self.kv(s, sorted(summ.items()))
        frame, rel = self.analysis("caar_by_type")
        level = frame["confidence"][0] if frame is not None and "confidence" in frame.columns and frame.height else None
        s.add("h", "CAAR by event type" + (f", with {level:.0%} confidence bands" if level is not None else ""))
        if frame is None:
            self.missing(s, "CAAR by event type", rel)
        elif not self.lacks(
            s, frame, rel, ("event_type", "n", "caar", "std_car", "se", "t_stat", "p_value", "ci_low", "ci_high")
        ):
            shown = frame.sort("event_type")
            s.add(
                "p",
                f"CAAR_k is the mean CAR of the included events of type k; the band is CAAR_k -/+ "
                f"t(n-1) x std/sqrt(n), as the export computed it in {rel}.",
            )
            self.chart(s, lambda: caar_by_type_chart(shown, self.cfg.chart))
            s.add("h", "Significance by event type (cross-sectional t test of CAAR = 0)")
            self.table(
                s,
                shown.select(
                    "event_type",
                    "n",
                    "caar",
                    *[c for c in ("mean_abs_car",) if c in shown.columns],
                    "std_car",
                    "se",
                    "t_stat",
                    "p_value",
                    "ci_low",
                    "ci_high",
                ),
                rel,
            )
        s.add("h", "CAAR through the event window, with confidence bands")
        path, path_rel = self.analysis("caar_path")
        if path is None:
            self.missing(s, "CAAR path by event day", path_rel)
        elif not self.lacks(s, path, path_rel, ("event_type", "rel_day", "caar", "ci_low", "ci_high")):
            self.chart(s, lambda: caar_path_chart(path.sort("event_type", "rel_day"), self.cfg.chart))
            self.table(s, path, path_rel)
        s.add("h", "Event-study test statistics (parametric and non-parametric)")
        self.show_table(s, "significance", "Test statistics by event type")
        s.add("h", "Exclusions")
        ex, ex_rel = self.analysis("exclusions")
        if ex is None:
            self.missing(s, "Exclusions", ex_rel)
        else:
            reason = next((c for c in ("excluded_reason", "reason") if c in ex.columns), None)
            if reason is not None:
                counts = ex.group_by(reason).len("events").sort(reason)
                s.add("p", f"{ex.height} input event(s) were excluded from the event study, by reason:")
                self.table(s, counts, f"{ex_rel} grouped by {reason}")
            self.table(s, ex, ex_rel)
        return s

    def labels(self) -> Section:
        s = Section(*SECTIONS[4])
        records = self.f.event_car.get("records")
        s.add("h", "Direction and strength split")
        if isinstance(records, list) and records:
            frame = pl.DataFrame(
                {
                    "semantic_direction": [str(r.get("semantic_direction")) for r in records],
                    "strength_label": [str(r.get("strength_label")) for r in records],
                }
            )
            split = (
                frame.group_by("semantic_direction", "strength_label")
                .len("count")
                .sort("semantic_direction", "strength_label")
            )
            self.chart(s, lambda: count_bar_chart(split, "semantic_direction", "strength_label", style=self.cfg.chart))
            self.table(s, split, f"computed from {EVENT_CAR_FILE}")
        else:
            s.add(
                "note",
                f"Direction and strength split: not available in this evidence (no records in {EVENT_CAR_FILE}).",
            )
        s.add("h", "Strength threshold tau against trading cost")
        meth = self.f.event_car.get("methodology") or {}
        rcfg = self.f.hgrm_reward.get("reward_config") or {}
        flat = _flatten(meth, "methodology") if isinstance(meth, dict) else []
        tau_pairs = [(k, v) for k, v in flat if any(w in k.rsplit(".", 1)[-1] for w in ("tau", "strength", "cost"))]
        cost_pairs = [
            (f"reward_config.{k}", v)
            for k, v in sorted(rcfg.items())
            if isinstance(rcfg, dict) and ("cost" in k or "kappa" in k or "tau" in k)
        ]
        if tau_pairs or cost_pairs:
            self.kv(s, tau_pairs + cost_pairs)
        else:
            s.add("note", "The threshold and cost settings are not stated in this evidence.")
        tau = _number(meth.get("strength_threshold")) if isinstance(meth, dict) else None
        label_cfg = meth.get("label_config") if isinstance(meth, dict) else None
        bps = _number(label_cfg.get("round_trip_cost_bps")) if isinstance(label_cfg, dict) else None
        if tau is not None and bps:
            cost = bps / 10_000.0
            s.add(
                "p",
                f"An event is labelled strong when |CAR| >= tau = {self.fmt(tau)}. The round-trip trading "
                f"cost is {self.fmt(bps)} bps = {self.fmt(cost)}, so tau is {self.fmt(tau / cost)} x the cost: "
                + (
                    "a strong event's move at least pays for a round trip."
                    if tau >= cost
                    else "tau is BELOW the cost, so some events labelled strong cannot pay for a round trip."
                ),
            )
        frame, rel = self.analysis("tau_sweep")
        if frame is None:
            self.missing(s, "Strength threshold sweep", rel)
        else:
            if not self.lacks(s, frame, rel, ("tau", "strong_share")):
                cost = frame["cost"][0] if "cost" in frame.columns and frame.height else None
                self.chart(
                    s,
                    lambda: line_chart(
                        frame,
                        "tau",
                        "strong_share",
                        None,
                        x_title="tau",
                        y_title="share of events labelled strong",
                        rule_at=cost,
                        style=self.cfg.chart,
                    ),
                )
            self.table(s, frame, rel)
        s.add("h", "Labelled CAR table")
        self.show_table(s, "car_labels", "Labelled CAR table")
        return s

    def reward(self) -> Section:
        s = Section(*SECTIONS[5])
        rw = self.f.hgrm_reward
        refs = [r for r in (rw.get("lineage") or {}).get("model_refs") or [] if isinstance(r, str)]
        decided_by = ", ".join(r for r in refs if not r.startswith(("car:", "reward:"))) or None
        self.kv(
            s,
            [
                ("reward version", rw.get("reward_version")),
                ("candidate", rw.get("candidate_id")),
                ("decided by (lineage model_refs)", decided_by),
            ],
        )
        s.add("h", "Reward configuration")
        rcfg = rw.get("reward_config")
        if isinstance(rcfg, dict) and rcfg:
            self.kv(s, sorted(rcfg.items()))
        else:
            s.add(
                "note",
                f"Reward configuration: not available in this evidence (no reward_config in {HGRM_REWARD_FILE}).",
            )
        if isinstance(rw.get("summary"), dict):
            s.add("h", "Summary")
            self.kv(s, sorted(rw["summary"].items()))
        rewards = rw.get("rewards")
        s.add("h", "Distribution of the final reward")
        if isinstance(rewards, list) and rewards:
            comps = self._reward_components(rewards)
            finals = comps.select("final_reward") if "final_reward" in comps.columns else None
            if finals is not None:
                self.chart(
                    s,
                    lambda: histogram_chart(
                        finals, "final_reward", bins=self.cfg.histogram_bins, title="final reward", style=self.cfg.chart
                    ),
                )
            s.add("h", "Components")
            rows_frame, rows_rel = self.analysis("reward_rows")
            if rows_frame is not None:
                comps = rows_frame.select(
                    [c for c, t in rows_frame.schema.items() if t.is_numeric() and c not in NON_COMPONENT_COLUMNS]
                )
                src = rows_rel
            else:
                src = f"computed from {HGRM_REWARD_FILE}"
            s.add("p", f"Every numeric reward component over the {comps.height} reward rows ({src}).")
            desc = pl.DataFrame(
                {
                    "component": comps.columns,
                    **{stat: [_stat(comps[c], stat) for c in comps.columns] for stat in ("mean", "min", "max")},
                    "non_zero": [int((comps[c] != 0).sum()) for c in comps.columns],
                },
                schema={
                    "component": pl.String,
                    "mean": pl.Float64,
                    "min": pl.Float64,
                    "max": pl.Float64,
                    "non_zero": pl.Int64,
                },
            )
            self.table(s, desc, f"summarised from {src}")
            gates = (
                pl.DataFrame(
                    {
                        "direction_gate": [str(r.get("direction_gate")) for r in rewards],
                        "event_type_gate": [str(r.get("event_type_gate")) for r in rewards],
                    }
                )
                .group_by("direction_gate", "event_type_gate")
                .len("rewards")
                .sort("direction_gate", "event_type_gate")
            )
            s.add("h", "Gates")
            self.table(s, gates, f"computed from {HGRM_REWARD_FILE}")
        else:
            s.add("note", f"Reward rows: not available in this evidence (no rewards in {HGRM_REWARD_FILE}).")
        s.add("h", "Decision mapping (every decision and the event it maps to)")
        frame, rel = self.analysis("decision_mapping")
        if frame is None:
            self.missing(s, "Decision mapping", rel)
        else:
            if "format_ok" in frame.columns:
                bad = int((~frame["format_ok"].cast(pl.Boolean).fill_null(False)).sum())
                s.add(
                    "bad" if bad else "p",
                    f"Malformed completions: {bad} of {frame.height} decisions "
                    "(format_ok false: kept as hold and scored by the format term).",
                )
            if "mapping_status" in frame.columns:
                self.table(
                    s,
                    frame.group_by("mapping_status").len("decisions").sort("mapping_status"),
                    f"{rel} grouped by mapping_status",
                )
            self.table(s, frame, rel)
        s.add("h", "Ablations")
        frame, rel = self.analysis("ablations")
        if frame is None:
            self.missing(s, "Ablation table", rel)
        else:
            if not self.lacks(s, frame, rel, ("variant", "strategy_id", "mean_final_reward")):
                s.add(
                    "p",
                    "Mean final reward of each strategy with the full HGRM and with each component switched "
                    "off (the paper's Table 4 variants).",
                )
                self.chart(
                    s,
                    lambda: dot_chart(
                        frame.with_columns(pl.col("mean_final_reward").cast(pl.Float64)),
                        "variant",
                        "mean_final_reward",
                        "strategy_id",
                        x_title="mean final reward",
                        style=self.cfg.chart,
                    ),
                )
            self.table(s, frame, rel)
        s.add("h", "Reward-hacking check (can a policy that ignores the news pay?)")
        frame, rel = self.analysis("constant_policy")
        if frame is None:
            self.missing(s, "Reward-hacking check", rel)
        else:
            if frame.height and {"flagged", "skilled_mean_reward", "margin_vs_skilled", "margin_vs_zero"} <= set(
                frame.columns
            ):
                flagged = frame.filter(pl.col("flagged").cast(pl.Boolean))
                skilled = float(frame["skilled_mean_reward"].cast(pl.Float64)[0])
                vs_skilled = float(frame["margin_vs_skilled"].cast(pl.Float64).min())
                vs_zero = float(frame["margin_vs_zero"].cast(pl.Float64).min())
                if flagged.height:
                    s.add(
                        "bad",
                        f"{flagged.height} of {frame.height} policies that ignore the news (constant, random, "
                        f"label-shuffled) reach the skilled baseline's mean reward ({skilled:.4f}) or zero: "
                        "the reward can be gamed without reading the news.",
                    )
                else:
                    s.add(
                        "good",
                        f"None of the {frame.height} policies that ignore the news (always long, short or "
                        "hold with any fixed type and CAR guess, random, label-shuffled) reaches the skilled "
                        f"baseline's mean reward ({skilled:.4f}) or zero; smallest margins {vs_skilled:.4f} "
                        f"and {vs_zero:.4f}.",
                    )
            self.table(s, frame, rel)
        s.add("h", "Reward rows")
        frame, rel = self.analysis("reward_rows")
        if frame is None:
            self.missing(s, "Reward rows", rel)
        else:
            series = next((c for c in ("policy", "strategy_id") if c in frame.columns), None)
            if "final_reward" in frame.columns and series is not None and frame[series].n_unique() > 1:
                self.chart(
                    s,
                    lambda: histogram_chart(
                        frame.select(series, pl.col("final_reward").cast(pl.Float64)),
                        "final_reward",
                        series,
                        bins=self.cfg.histogram_bins,
                        title="final reward",
                        style=self.cfg.chart,
                    ),
                )
            self.table(s, frame, rel)
        return s

    @staticmethod
    def _reward_components(rewards: list[dict]) -> pl.DataFrame:
        """Numeric reward components (decimal strings in the artifact) as Float64 columns, in the
        order of the first record's keys."""
        names = [
            k
            for k, v in rewards[0].items()
            if k.endswith("_reward")
            or k.endswith("_reward_unclipped")
            or k in ("s_dir", "r_evt", "r_fmt", "r_pnl", "r_mag", "m_evt", "strength_penalty")
        ]
        cols: dict[str, list[float | None]] = {}
        for name in names:
            vals: list[float | None] = []
            for r in rewards:
                v = r.get(name)
                try:
                    vals.append(None if v is None else float(v))
                except (TypeError, ValueError):
                    vals.append(None)
            cols[name] = vals
        return pl.DataFrame(cols, schema={n: pl.Float64 for n in names})

    def backtest(self) -> Section:
        s = Section(*SECTIONS[6])
        s.add("h", "NAV against benchmarks and baselines")
        frame, rel = self.analysis("nav")
        if frame is None:
            self.missing(s, "NAV table", rel)
        elif not self.lacks(s, frame, rel, ("series", "date", "nav")):
            kind = "kind" if "kind" in frame.columns else None
            order = [c for c in (kind, "series", "date") if c is not None]
            self.chart(
                s,
                lambda: line_chart(
                    frame.sort(order),
                    "date",
                    "nav",
                    "series",
                    x_type="T",
                    x_title="date",
                    y_title="NAV",
                    dash=kind,
                    style=self.cfg.chart,
                ),
            )
            keys = [c for c in (kind, "series") if c is not None]
            ends = (
                frame.sort(order)
                .group_by(keys, maintain_order=True)
                .agg(
                    pl.col("date").first().alias("first_date"),
                    pl.col("date").last().alias("last_date"),
                    pl.len().alias("days"),
                    pl.col("nav").last().alias("final_nav"),
                    pl.col("nav").min().alias("min_nav"),
                )
            )
            s.add("p", f"Daily NAV per series is in {rel}; first and last day per series:")
            self.table(s, ends, f"{rel} summarised per series")
        s.add("h", "Holding-period sweep")
        frame, rel = self.analysis("holding_period")
        if frame is None:
            self.missing(s, "Holding-period sweep", rel)
        else:
            series = next((c for c in ("policy", "series") if c in frame.columns), None)
            hp = next((c for c in ("holding_period", "hp") if c in frame.columns), None)
            if hp is not None and "sharpe" in frame.columns:
                self.chart(
                    s,
                    lambda: line_chart(
                        frame,
                        hp,
                        "sharpe",
                        series,
                        x_title="holding period (days)",
                        y_title="Sharpe ratio",
                        style=self.cfg.chart,
                    ),
                )
            else:
                s.add("note", f"{rel} lacks holding_period and sharpe columns, so no chart is drawn from it.")
            self.table(s, frame, rel)
        s.add("h", "Sharpe and directional accuracy with bootstrap intervals")
        frame, rel = self.analysis("metrics")
        if frame is None:
            self.missing(s, "Metrics with bootstrap intervals", rel)
        else:
            label = next((c for c in ("policy", "series", "strategy_id") if c in frame.columns), None)
            for metric, title in (
                ("sharpe", "Sharpe ratio"),
                ("da", "directional accuracy"),
                ("sharpe_diff", "Sharpe ratio minus the baseline's"),
                ("da_diff", "directional accuracy minus the baseline's"),
            ):
                lo, hi = f"{metric}_ci_low", f"{metric}_ci_high"
                if label is not None and all(c in frame.columns for c in (metric, lo, hi)):
                    self.chart(
                        s,
                        lambda m=metric, a=lo, b=hi, t=title: interval_chart(
                            frame,
                            label,
                            m,
                            a,
                            b,
                            x_title=f"{t} (bootstrap interval)",
                            zero_rule=m.endswith("_diff"),
                            style=self.cfg.chart,
                        ),
                    )
                else:
                    s.add("note", f"{rel} lacks {metric}, {lo} or {hi}: no interval chart for the {title}.")
            self.table(s, frame, rel)
        return s

    def reproducibility(self) -> Section:
        s = Section(*SECTIONS[7])
        ec, rw, ev, rm = self.f.event_car, self.f.hgrm_reward, self.f.evidence, self.f.run_manifest
        s.add("h", "Manifest hashes")
        self.kv(
            s,
            [
                (f"{EVENT_CAR_FILE} manifest_hash", ec.get("manifest_hash")),
                (f"{HGRM_REWARD_FILE} manifest_hash", rw.get("manifest_hash")),
                (f"{EVIDENCE_FILE} event_car.manifest_hash", (ev.get("event_car") or {}).get("manifest_hash")),
                (f"{EVIDENCE_FILE} hgrm_reward.manifest_hash", (ev.get("hgrm_reward") or {}).get("manifest_hash")),
            ],
        )
        for rel, doc in ((EVENT_CAR_FILE, ec), (HGRM_REWARD_FILE, rw)):
            lin = doc.get("lineage")
            s.add("h", f"Lineage of {rel}")
            if isinstance(lin, dict) and lin:
                self.kv(s, sorted(lin.items()))
            else:
                s.add("note", f"Lineage: not available in this evidence (no lineage in {rel}).")
        s.add("h", "SHA-256 of every file in the evidence folder")
        s.add(
            "table",
            headers=("file", "sha256", "bytes"),
            rows=tuple((rel, digest, str(size)) for rel, digest, size in self.f.files),
        )
        for key, title in (
            ("git", "Source revision"),
            ("versions", "Package versions"),
            ("packages", "Package versions"),
            ("sources", "Source hashes"),
            ("source_hashes", "Source hashes"),
        ):
            val = rm.get(key)
            if isinstance(val, dict) and val:
                s.add("h", title)
                self.kv(s, sorted(val.items()))
        scalars = [(k, v) for k, v in sorted(rm.items()) if not isinstance(v, (dict, list))]
        if scalars:
            s.add("h", "Run")
            self.kv(s, scalars)
        s.add("h", "Configuration")
        if "config" in rm:
            s.add("pre", json.dumps(rm["config"], sort_keys=True, indent=2, ensure_ascii=False))
        else:
            s.add("note", f"Configuration: not available in this evidence (no config in {RUN_MANIFEST_FILE}).")
        s.add("h", "How to re-run")
        s.add("p", "From a clone of the workbench at the source revision above, with the same dataset:")
        s.add("pre", "\n".join(self.rerun_commands()))
        return s

    def rerun_commands(self) -> list[str]:
        """The shell commands that re-create this folder from the source revision and the dataset.
        The export flags come from the recorded ``config.export``; overrides the command line cannot
        carry (car, label, policy, reward, split) are re-run through the library with the same config."""
        rm = self.f.run_manifest
        ds = self.run_dataset()
        name = ds.get("name", "DATASET")
        cfg = rm.get("config") if isinstance(rm.get("config"), dict) else {}
        export = cfg.get("export") if isinstance(cfg.get("export"), dict) else {}
        generated = rm.get("generated_at") or self.f.event_car.get("generated_at")
        epoch = ""
        if isinstance(generated, str):
            try:
                stamp = datetime.fromisoformat(generated.replace("Z", "+00:00"))
                epoch = f"SOURCE_DATE_EPOCH={int(stamp.timestamp())} "
            except ValueError:
                epoch = ""
        lines = []
        if isinstance(rm.get("git_commit"), str):
            lines.append(f"git checkout {rm['git_commit']}")
        lines.append("uv sync --frozen")
        if ds.get("provenance") == "synthetic_generated":
            lines.append(f"uv run --frozen janus data build {name}")
        lines.append(f"uv run --frozen janus data verify {name}")
        overrides = sorted(k for k in ("car", "label", "policy", "reward", "split") if export.get(k))
        if overrides:
            lines.append(f"# this export overrides {', '.join(overrides)}: re-run it with the recorded export config")
            lines.append(
                f"{epoch}uv run --frozen python -c 'import json; from janus_core.evidence import export, "
                "ExportConfig; from janus_core.paths import WorkbenchPaths; "
                'c = json.load(open("THIS_FOLDER/run-manifest.json"))["config"]["export"]; '
                'export(ExportConfig(**c, out_dir="OUT", record_run=False), WorkbenchPaths.from_env())\''
            )
        else:
            flags = [f"--dataset {name}", f"--decisions {export.get('decisions', 'POLICY-or-PATH')}"]
            if export.get("reward_profile"):
                flags.append(f"--reward-profile {export['reward_profile']}")
            if export.get("candidate_id"):
                flags.append(f"--candidate-id {export['candidate_id']}")
            if export.get("strategy_id"):
                flags.append(f"--strategy-id {export['strategy_id']}")
            lines.append(f"{epoch}uv run --frozen janus export {' '.join(flags)} --out OUT")
        lines += [
            "uv run --frozen janus verify OUT",
            f"uv run --frozen janus gate OUT --target {self.gate.target}",
            f"uv run --frozen janus report OUT --target {self.gate.target}",
            "# then compare: the SHA-256 of every file of OUT must equal the table above",
        ]
        return lines

    def build(self) -> list[Section]:
        return [
            self.verdict(),
            self.integrity_section(),
            self.provenance(),
            self.event_study(),
            self.labels(),
            self.reward(),
            self.backtest(),
            self.reproducibility(),
        ]
