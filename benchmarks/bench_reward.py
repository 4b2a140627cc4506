"""Benchmark: time to score 1,000,000 decisions with the HGRM (``janus_core.decide.reward.score``).

Workload: 1,000,000 random well-formed or malformed decisions (uniform action, type or none, a
normal predicted CAR or none; 10% with a malformed model output of 400 characters, a fifth of those
4,100 so the verbosity rule bites)
over 62,400 labelled events, the paper's dataset size. Prints the median wall time of the repeats,
decisions per second, CPU seconds (the machine may be shared), and the ratio to a per-decision
scalar Python reference (timed on a sample; it also cross-checks the values).

Run: ``uv run --frozen python benchmarks/bench_reward.py [--decisions N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import polars as pl

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.reward import HgrmConfig, reward_profile, score


def workload(n_events: int, n_decisions: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    car = rng.normal(0.0, 0.03, n_events)
    labels = pl.DataFrame(
        {
            "event_id": [f"e{i:06d}" for i in range(n_events)],
            "event_type": rng.choice(np.array(EVENT_TYPES), n_events),
            "car": car,
            "direction": np.where(car > 0, "positive", np.where(car < 0, "negative", "neutral")),
            "strength": np.where(np.abs(car) >= 0.0015, "strong", "weak"),
        }
    )
    types = np.array([None, *EVENT_TYPES], dtype=object)
    c_hat = rng.normal(0.0, 0.03, n_decisions)
    bodies = np.array(["x" * 400, "y" * 4100], dtype=object)
    # 10% of the decisions carry a (malformed) model output, a fifth of those verbose: what such an output
    # says is a hold with no prediction and a failed format (the reward reads the completion, never a
    # self-declared flag); the others carry structured fields and a format flag only
    text = rng.random(n_decisions) < 0.1
    completion = np.where(text, bodies[(rng.random(n_decisions) < 0.2).astype(int)], None)
    decisions = pl.DataFrame(
        {
            "event_id": labels["event_id"].to_numpy()[rng.integers(0, n_events, n_decisions)],
            "strategy_id": np.where(rng.random(n_decisions) < 0.5, "a", "b"),
            "action": np.where(text, "hold", np.array(["long", "short", "hold"])[rng.integers(0, 3, n_decisions)]),
            "predicted_event_type": pl.Series(
                np.where(text, None, types[rng.integers(0, len(types), n_decisions)]).tolist(), dtype=pl.String
            ),
            "predicted_car": pl.Series(np.where(text | (rng.random(n_decisions) < 0.1), np.nan, c_hat)).fill_nan(None),
            "completion": pl.Series(completion.tolist(), dtype=pl.String),
            "format_ok": ~text & (rng.random(n_decisions) < 0.9),
        }
    )
    return labels, decisions


def scalar_reference(d: dict, lab: dict, cfg: HgrmConfig) -> float:
    """One decision at a time in plain Python (the module docstring's formulas), for the ratio."""
    a = {"long": 1, "short": -1, "hold": 0}[d["action"]]
    true_d = {"positive": 1, "negative": -1, "neutral": 0}[lab["direction"]]
    c, c_hat = lab["car"], d["predicted_car"]
    p = a if a != 0 else (0 if c_hat is None else (c_hat > cfg.neutral_band) - (c_hat < -cfg.neutral_band))
    s_dir = 1.0 if p == true_d else (-cfg.lambda_dir if p * true_d == -1 else cfg.s_dir_neutral)
    e_hat = d["predicted_event_type"]
    r_evt, m_evt = (
        (1.0, 1.0)
        if e_hat == lab["event_type"]
        else ((-cfg.lambda_miss, cfg.alpha) if e_hat is None else (-cfg.lambda_evt, cfg.alpha))
    )
    r_pnl = min(max(a * c - cfg.kappa, -cfg.rho), cfg.rho) if a else 0.0
    r_mag = 0.0 if c_hat is None else math.exp(-((c_hat - c) ** 2) / (2 * cfg.sigma**2))
    r_fmt = (cfg.fmt_ok_reward if d["format_ok"] else cfg.fmt_fail_reward) - (
        cfg.verbosity_penalty
        if d["completion"] is not None and len(d["completion"]) > cfg.max_completion_chars
        else 0.0
    )
    strong = lab["strength"] == "strong"
    pen = cfg.penalty_trade_weak if (a and not strong) else cfg.penalty_skip_strong if (not a and strong) else 0.0
    g = 1.0 if s_dir >= 0 else 0.0
    total = (
        cfg.w_dir * s_dir
        + cfg.w_evt * r_evt
        + cfg.w_fmt * r_fmt
        + g * (cfg.w_pnl * m_evt * r_pnl + cfg.w_mag * r_mag)
        - pen
    )
    return min(max(total, -cfg.final_clip), cfg.final_clip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=62_400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    labels, decisions = workload(args.events, args.decisions, args.seed)
    print(
        f"workload: {decisions.height:,} decisions over {labels.height:,} events, polars {pl.__version__}, "
        f"{pl.thread_pool_size()} threads"
    )
    medians: dict[str, float] = {}
    for profile in ("hgrm", "lane_scaffold"):
        cfg = reward_profile(profile)
        score(decisions.head(1000), labels, cfg)  # warm-up
        times, cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            out = score(decisions, labels, cfg)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        med = medians[profile] = statistics.median(times)
        print(
            f"{profile:>13}: score {out.height:,} decisions in {med:.3f} s wall, median of {args.repeats} "
            f"(min {min(times):.3f} s; CPU {statistics.median(cpu):.3f} s) = {out.height / med / 1e6:.2f} M decisions/s"
        )

    cfg = HgrmConfig()
    sample = decisions.head(20_000)
    by_id = {r["event_id"]: r for r in labels.iter_rows(named=True)}
    t0 = time.perf_counter()
    ref = [scalar_reference(d, by_id[d["event_id"]], cfg) for d in sample.iter_rows(named=True)]
    per_row = (time.perf_counter() - t0) / sample.height
    got = score(sample, labels, cfg)["final_reward"].to_numpy()
    vec = medians["hgrm"] / decisions.height
    print(
        f"scalar Python reference: {per_row * 1e6:.2f} us/decision; vectorised: {vec * 1e6:.3f} us/decision; "
        f"speed-up {per_row / vec:.0f}x; max |difference| on {sample.height:,} decisions "
        f"{float(np.max(np.abs(got - np.array(ref)))):.1e}"
    )


if __name__ == "__main__":
    main()
