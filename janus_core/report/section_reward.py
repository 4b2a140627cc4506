"""Report section 6: the reward (configuration, distribution, components, gates, decision mapping,
ablations, the reward-hacking check and the reward rows). Numbers come from
:mod:`janus_core.decide.reward_summary` and :mod:`janus_core.study.counts`; this module only shows them."""

from __future__ import annotations

import polars as pl

from janus_core.decide.reward_summary import (
    component_columns,
    component_summary,
    hacking_verdict,
    malformed_count,
    reward_components,
)
from janus_core.report.charts import dot_chart, histogram_chart
from janus_core.report.folder import HGRM_REWARD_FILE
from janus_core.report.page import SECTIONS, Page, Section
from janus_core.study.counts import column_counts, text_counts


class RewardSection(Page):
    """The report section on the reward."""

    def reward(self) -> Section:
        s = Section(*SECTIONS[5])
        self.reward_header(s)
        self.reward_distribution(s)
        s.add("h", "Decision mapping (every decision and the event it maps to)")
        self.show_table(s, "decision_mapping", "Decision mapping", draw=self.mapping_notes)
        s.add("h", "Ablations")
        self.show_table(s, "ablations", "Ablation table", draw=self.ablation_chart)
        s.add("h", "Reward-hacking check (can a policy that ignores the news pay?)")
        self.show_table(s, "constant_policy", "Reward-hacking check", draw=self.hacking_sentence)
        s.add("h", "Reward rows")
        self.show_table(s, "reward_rows", "Reward rows", draw=self.reward_rows_chart)
        return s

    def reward_header(self, s: Section) -> None:
        """Who decided, the reward version, configuration and summary of the reward file."""
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

    def reward_distribution(self, s: Section) -> None:
        """The final reward's histogram, every component's mean, min, max and non-zero count, and
        the gate outcomes."""
        rewards = self.f.hgrm_reward.get("rewards")
        s.add("h", "Distribution of the final reward")
        if isinstance(rewards, list):
            rewards = self.object_rows(s, rewards, "reward rows", HGRM_REWARD_FILE)
        if not isinstance(rewards, list) or not rewards:
            s.add("note", f"Reward rows: not available in this evidence (no rewards in {HGRM_REWARD_FILE}).")
            return
        finals = reward_components(rewards, ("final_reward",))
        if finals.width:
            self.chart(
                s,
                lambda: histogram_chart(
                    finals, "final_reward", bins=self.cfg.histogram_bins, title="final reward", style=self.cfg.chart
                ),
            )
        s.add("h", "Components")
        rows_frame, rows_rel = self.analysis("reward_rows")
        if rows_frame is not None:
            comps, src = component_columns(rows_frame), rows_rel
        else:
            comps, src = reward_components(rewards), f"computed from {HGRM_REWARD_FILE}"
        s.add("p", f"Every numeric reward component over the {comps.height} reward rows ({src}).")
        self.table(s, component_summary(comps), f"summarised from {src}")
        s.add("h", "Gates")
        gates = text_counts(rewards, ("direction_gate", "event_type_gate"), "rewards")
        self.table(s, gates, f"computed from {HGRM_REWARD_FILE}")

    def mapping_notes(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        """How many completions were malformed, and the decisions per mapping status."""
        if "format_ok" in frame.columns:
            bad = malformed_count(frame)
            s.add(
                "bad" if bad else "p",
                f"Malformed completions: {bad} of {frame.height} decisions "
                "(format_ok false: kept as hold and scored by the format term).",
            )
        if "mapping_status" in frame.columns:
            self.table(s, column_counts(frame, "mapping_status", "decisions"), f"{rel} grouped by mapping_status")

    def ablation_chart(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        if self.lacks(s, frame, rel, ("variant", "strategy_id", "mean_final_reward")):
            return
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

    def hacking_sentence(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        """The reward-hacking check's verdict in words (:func:`hacking_verdict`)."""
        v = hacking_verdict(frame)
        if v is None:
            return
        if v.flagged:
            s.add(
                "bad",
                f"{v.flagged} of {v.policies} policies that ignore the news (constant, random, "
                f"label-shuffled) reach the skilled baseline's mean reward ({v.skilled_mean_reward:.4f}) or zero: "
                "the reward can be gamed without reading the news.",
            )
        else:
            s.add(
                "good",
                f"None of the {v.policies} policies that ignore the news (always long, short or "
                "hold with any fixed type and CAR guess, random, label-shuffled) reaches the skilled "
                f"baseline's mean reward ({v.skilled_mean_reward:.4f}) or zero; smallest margins "
                f"{v.min_margin_vs_skilled:.4f} and {v.min_margin_vs_zero:.4f}.",
            )

    def reward_rows_chart(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        """The final reward's histogram per policy, when the rows hold more than one."""
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
