"""Report sections 4 and 5: the event study and the labels."""

from __future__ import annotations

import polars as pl

from janus_core.report.charts import (
    caar_by_type_chart,
    caar_path_chart,
    count_bar_chart,
    line_chart,
)
from janus_core.report.folder import (
    EVENT_CAR_FILE,
)
from janus_core.report.page import (
    SECTIONS,
    Page,
    Section,
    _flatten,
    _number,
)
from janus_core.study.counts import column_counts, text_counts


class StudySections(Page):
    """The report sections on the event study and on the labels."""

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
        self.show_table(s, "exclusions", "Exclusions", draw=self.exclusion_counts)
        return s

    def exclusion_counts(self, s: Section, ex: pl.DataFrame, rel: str) -> None:
        reason = next((c for c in ("excluded_reason", "reason") if c in ex.columns), None)
        if reason is not None:
            s.add("p", f"{ex.height} input event(s) were excluded from the event study, by reason:")
            self.table(s, column_counts(ex, reason, "events"), f"{rel} grouped by {reason}")

    def labels(self) -> Section:
        s = Section(*SECTIONS[4])
        records = self.f.event_car.get("records")
        s.add("h", "Direction and strength split")
        if isinstance(records, list):
            records = self.object_rows(s, records, "records", EVENT_CAR_FILE)
        if isinstance(records, list) and records:
            split = text_counts(records, ("semantic_direction", "strength_label"), "count")
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
        self.show_table(s, "tau_sweep", "Strength threshold sweep", draw=self.tau_sweep_chart)
        s.add("h", "Labelled CAR table")
        self.show_table(s, "car_labels", "Labelled CAR table")
        return s

    def tau_sweep_chart(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        """The share of events labelled strong against tau, with the trading cost marked."""
        if self.lacks(s, frame, rel, ("tau", "strong_share")):
            return
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
