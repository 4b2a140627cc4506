"""Benchmark: the research tables of an export (``research.research_tables``) at paper scale,
against the same tables built one after another on the calling thread, measured in the same run.

Workload: the paper-scale synthetic dataset (``SyntheticConfig.for_scale("paper")``, 62,400
events), labelled by ``labels.car_study`` under the export's default configs; the candidate is the
``type_prior`` policy's decisions, the baselines and every constant are the export's defaults.

Reference: the parts of ``research_tables`` called in sequence (``event_study_tables``, the
baseline decisions, ``tau_sweep``, the reward-hacking check, the ablations, ``backtest_tables``),
which is how ``research_tables`` built them before issue 13 ran them on two worker threads. Both
forget the backtest's remembered stock days at the end (``memo.release_memos``), so every repeat
is a first call, as in an export. The two must give equal tables (checked).

Prints the median wall and CPU seconds of ``--repeats`` runs of each (interleaved), the ratio, and
the load average before and after (the figures are only meaningful on a quiet machine: the
threads need the second core).

Run: ``uv run --frozen python benchmarks/bench_research.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import statistics

import polars as pl

from benchmarks._measure import load_line, timed
from janus_core import research
from janus_core.backtest.memo import release_memos
from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.decide import hacking, reward
from janus_core.decide.policies import make_decisions
from janus_core.pipeline.config import ExportConfig
from janus_core.study.labels import car_study, tau_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load before: {load_line()}")
    cfg = ExportConfig(out_dir="unused")
    ds = generate(SyntheticConfig.for_scale("paper"))
    base = reward.reward_profile(cfg.reward_profile)
    reward_cfg = type(base).model_validate({**base.model_dump(), "round_trip_cost_bps": cfg.label.round_trip_cost_bps})
    labelled = car_study(ds, cfg.car, cfg.label, cfg.split)
    candidate = make_decisions(cfg.decisions, labelled, cfg.policy)
    analysis = cfg.analysis

    def threaded() -> dict[str, pl.DataFrame]:
        tables = research.research_tables(
            ds, labelled, candidate, cfg.candidate_id, reward_cfg, cfg.label, cfg.policy, cfg.car, analysis
        )
        release_memos()
        return tables

    def in_sequence() -> dict[str, pl.DataFrame]:
        es, _ = research.event_study_tables(ds, labelled, cfg.car, analysis)
        baselines = tuple(b for b in analysis.baselines if b != cfg.candidate_id)
        decisions = {cfg.candidate_id: candidate, **research.baseline_decisions(labelled, baselines, cfg.policy)}
        tables = {
            "tau_sweep": tau_sweep(labelled, analysis.tau_grid, cfg.label.round_trip_cost_bps),
            "constant_policy_check": hacking.constant_policy_check(labelled, reward_cfg, analysis.hacking_check),
            "ablations": research._ablations(decisions, labelled, reward_cfg),
            **es,
        }
        bt, _ = research.backtest_tables(
            ds, labelled, decisions, cfg.candidate_id, analysis, cfg.car, cfg.label.round_trip_cost_bps
        )
        release_memos()
        return {**tables, **bt}

    new, ref = threaded(), in_sequence()  # warm-up, and the check
    assert all(new[k].equals(ref[k]) for k in ref), "research_tables differs from its parts in sequence"
    runs: dict[str, list[tuple[float, float]]] = {"research_tables": [], "in sequence": []}
    for _ in range(args.repeats):
        runs["research_tables"].append(timed(threaded)[1:])
        runs["in sequence"].append(timed(in_sequence)[1:])
    wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    for name, v in runs.items():
        print(f"{name:16s} wall {wall[name]:6.3f} s   CPU {statistics.median(c for _, c in v):6.3f} s")
    print(f"ratio in sequence / research_tables: {wall['in sequence'] / wall['research_tables']:.2f}x")
    print(f"load after: {load_line()}")


if __name__ == "__main__":
    main()
