"""The reward study as one typed result: every baseline policy's decisions on a split's events scored
with one HGRM config, the per-policy summary, the paper's ablations and the reward-hacking check,
and :meth:`RewardStudy.summary`, the reward notebook's headless summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from janus_core.data.dataset import Dataset
from janus_core.decide import hacking, reward
from janus_core.decide.policies import POLICIES, make_decisions
from janus_core.decide.reward import HgrmConfig
from janus_core.decide.training import write_training_records

#: The event sets a reward study can score: every event, or one chronological split.
RewardSplit = Literal["all", "historical", "train", "validation", "test"]
#: Decimals of the rewards in :meth:`RewardStudy.summary`.
SUMMARY_DECIMALS = 4


def _rounded(x: object) -> float | None:
    return None if x is None else round(float(x), SUMMARY_DECIMALS)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RewardStudy:
    """The baseline ``policies``' decisions on the events of ``split`` (``decisions``), scored under
    ``cfg`` (``scored``: ``reward.score``), the per-policy means (``table``: ``reward.reward_summary``),
    the ablations (``reward.ablation_table``; None for a profile other than ``hgrm``) and every
    policy that ignores the news against the skilled baseline and zero (``constants``: ``hacking.constant_policy_check``, on all
    events)."""

    dataset: Dataset
    labelled: pl.DataFrame
    cfg: HgrmConfig
    split: RewardSplit
    decisions: pl.DataFrame
    scored: pl.DataFrame
    table: pl.DataFrame
    ablations: pl.DataFrame | None
    constants: pl.DataFrame

    def summary(self) -> dict[str, Any]:
        """The notebook's headless summary: dataset, profile, split, whether ``cfg`` is the default
        ``HgrmConfig()``, its hash, decision / mapped / clipped counts, mean final reward and
        direction-gate pass ratio per policy, mean final reward per ``variant/policy`` ablation, and
        the reward-hacking check (``hacking.hacking_verdict``: the no-skill policies, the best one and its
        mean reward, the skilled baseline's, the margins to it and to zero, and whether the reward is
        hackable); rewards rounded to :data:`SUMMARY_DECIMALS`."""
        rows = list(self.table.iter_rows(named=True))
        c = self.constants
        verdict = hacking.hacking_verdict(c)
        return {
            "dataset": self.dataset.name,
            "profile": self.cfg.profile,
            "split": self.split,
            "config_is_default": self.cfg == HgrmConfig(),
            "reward_config_hash": reward.reward_config_hash(self.cfg),
            "decision_count": self.scored.height,
            "mapped_count": int(self.scored["mapped"].sum()),
            "clipped_count": int(self.scored["clipped"].fill_null(False).sum()),
            "mean_final_reward": {r["strategy_id"]: _rounded(r["mean_final_reward"]) for r in rows},
            "direction_gate_pass_ratio": {r["strategy_id"]: _rounded(r["direction_gate_pass_ratio"]) for r in rows},
            "ablation_mean_final_reward": None
            if self.ablations is None
            else {
                f"{r['variant']}/{r['strategy_id']}": _rounded(r["mean_final_reward"])
                for r in self.ablations.iter_rows(named=True)
            },
            "no_skill_policy_count": c.height,
            "best_no_skill_policy": verdict["best_policy"],
            "best_no_skill_mean_reward": _rounded(verdict["best_mean_reward"]),
            "skilled_mean_reward": _rounded(verdict["skilled_mean_reward"]),
            "hacking_margin_vs_skilled": _rounded(verdict["margin_vs_skilled"]),
            "hacking_margin_vs_zero": _rounded(verdict["margin_vs_zero"]),
            "reward_hackable": verdict["hackable"],
        }

    def write(self, out_dir: Path | str) -> dict[str, Any]:
        """Write ``out_dir/rewards.parquet`` (the scored decisions by policy and event), the SFT/GRPO
        training records of the train, validation and test splits (``out_dir/training/<split>.jsonl``,
        ``training.write_training_records``) and ``out_dir/reward-summary.json``: :meth:`summary` plus
        ``training_records`` (records per split). Returns that summary."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.scored.sort("strategy_id", "event_id", maintain_order=True).write_parquet(out / "rewards.parquet")
        records = write_training_records(self.dataset, self.labelled, out / "training")
        summary = self.summary()
        summary["training_records"] = {
            split: sum(1 for _ in path.open(encoding="utf-8")) for split, path in records.items()
        }
        (out / "reward-summary.json").write_text(json.dumps(summary, sort_keys=True, indent=2) + "\n")
        return summary


def split_decisions(labelled: pl.DataFrame, split: RewardSplit, policies: tuple[str, ...] = POLICIES) -> pl.DataFrame:
    """Every policy's decisions (``policies.make_decisions`` on the whole labelled table, so priors
    come from the historical split), kept on the events of ``split`` (all of them for ``"all"``)."""
    events = labelled if split == "all" else labelled.filter(pl.col("split") == split)
    return pl.concat([make_decisions(p, labelled) for p in policies]).filter(
        pl.col("event_id").is_in(events["event_id"].implode())
    )


def reward_study(
    ds: Dataset,
    labelled: pl.DataFrame,
    cfg: HgrmConfig,
    split: RewardSplit = "all",
    policies: tuple[str, ...] = POLICIES,
) -> RewardStudy:
    """The :class:`RewardStudy` of ``policies`` on the events of ``split`` under ``cfg``."""
    decisions = split_decisions(labelled, split, policies)
    scored = reward.score(decisions, labelled, cfg)
    return RewardStudy(
        dataset=ds,
        labelled=labelled,
        cfg=cfg,
        split=split,
        decisions=decisions,
        scored=scored,
        table=reward.reward_summary(scored),
        ablations=reward.ablation_table(decisions, labelled, cfg) if cfg.profile == "hgrm" else None,
        constants=hacking.constant_policy_check(labelled, cfg),
    )
