"""HGRM: every component and gate on hand-computed cases, each ablation switch, the lane's scaffold on
the contract's numbers, a scalar reference implementation on random decisions, and the reward-hacking
check on the synthetic demo."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import format_completion
from janus_core.decide.hacking import (
    constant_decisions,
    constant_policy_check,
    hacking_verdict,
    skilled_decisions,
)
from janus_core.decide.reward import (
    SCORE_COLUMNS,
    HgrmConfig,
    RewardError,
    ablation_table,
    reward_config_hash,
    reward_config_payload,
    reward_profile,
    reward_summary,
    score,
)
from janus_core.study.labels import group_means

LABELS = pl.DataFrame(
    {
        "event_id": ["E1", "E2", "E3", "E4", "E5", "E6", "E7"],
        "event_type": ["dividend", "violation", "industry", "financing", "equity_change", "risk_warning", "unknown"],
        "car": [0.03, -0.02, 0.001, 0.0, None, 0.08, 0.02],
        "direction": ["positive", "negative", "positive", "neutral", None, "positive", "positive"],
        "strength": ["strong", "strong", "weak", "weak", None, "strong", "strong"],
        "excluded_reason": [None, None, None, None, "insufficient_history", None, None],
    },
    schema_overrides={"car": pl.Float64},
)


def decision(event_id, action, etype=None, car=None, *, ok=True, completion=None, rationale=None, strategy="s"):
    return {
        "event_id": event_id,
        "strategy_id": strategy,
        "action": action,
        "predicted_event_type": etype,
        "predicted_car": car,
        "format_ok": ok,
        "completion": completion,
        "rationale": rationale,
    }


def frame(rows):
    return pl.DataFrame(
        rows,
        schema={
            "event_id": pl.String,
            "strategy_id": pl.String,
            "action": pl.String,
            "predicted_event_type": pl.String,
            "predicted_car": pl.Float64,
            "format_ok": pl.Boolean,
            "completion": pl.String,
            "rationale": pl.String,
        },
    )


def one(row, cfg=None, labels=LABELS) -> dict:
    out = score(frame([row]), labels, cfg or HgrmConfig())
    assert out.height == 1
    return out.row(0, named=True)


# Hand-computed with the defaults: lambda_dir 2, s_dir_neutral -0.25, lambda_evt 0.5, lambda_miss 0.25, alpha 0.5,
# kappa 0.0015 (15 bps round trip), rho 0.05, sigma 0.02, penalties 0.2 (weak traded) / 0.1 (strong skipped),
# w_dir 1, w_evt 0.5, w_fmt 0.2, w_pnl 20, w_mag 0.3, clip 3.
CASES = [
    # right direction, type and CAR: 1 + 0.5 + 0.2 + 20 * (0.03 - 0.0015) + 0.3
    (
        "perfect long",
        decision("E1", "long", "dividend", 0.03),
        dict(
            direction_gate="match",
            event_type_gate="match",
            s_dir=1.0,
            g_dir=1.0,
            r_evt=1.0,
            m_evt=1.0,
            r_pnl=0.0285,
            r_mag=1.0,
            r_fmt=1.0,
            strength_penalty=0.0,
            pnl_reward=0.57,
            magnitude_reward=0.3,
            final_reward=2.57,
        ),
    ),
    # wrong direction closes the gate: -2 + 0.5 + 0.2; the PnL and magnitude terms are off
    (
        "wrong direction",
        decision("E1", "short", "dividend", -0.03),
        dict(
            direction_gate="mismatch",
            s_dir=-2.0,
            g_dir=0.0,
            r_pnl=-0.0315,
            r_mag=math.exp(-4.5),
            pnl_reward=0.0,
            magnitude_reward=0.0,
            final_reward=-1.3,
        ),
    ),
    # wrong type: r_evt -0.5, PnL halved: 1 - 0.25 + 0.2 + 20 * 0.5 * 0.0285
    (
        "wrong type",
        decision("E1", "long", "violation"),
        dict(event_type_gate="mismatch", r_evt=-0.5, m_evt=0.5, r_mag=0.0, pnl_reward=0.285, final_reward=1.235),
    ),
    # missing type: r_evt -0.25, PnL halved: 1 - 0.125 + 0.2 + 0.285
    (
        "missing type",
        decision("E1", "long"),
        dict(event_type_gate="unknown", r_evt=-0.25, m_evt=0.5, final_reward=1.36),
    ),
    # hold on a strong event, direction from c_hat: 1 + 0.5 + 0.2 + 0.3 exp(-0.5) - 0.1
    (
        "hold strong with c_hat",
        decision("E1", "hold", "dividend", 0.01),
        dict(
            direction_gate="match",
            r_pnl=0.0,
            r_mag=math.exp(-0.5),
            strength_penalty=0.1,
            final_reward=1.6 + 0.3 * math.exp(-0.5),
        ),
    ),
    # hold with no c_hat expresses no direction: neutral, -0.25 + 0.5 + 0.2 - 0.1
    (
        "hold strong no c_hat",
        decision("E1", "hold", "dividend"),
        dict(direction_gate="neutral", s_dir=-0.25, g_dir=0.0, final_reward=0.35),
    ),
    # abstention (hold, no type, c_hat 0) on a strong event: the gate closes, so c_hat 0 earns no
    # magnitude for being near the CAR: -0.25 - 0.125 + 0.2 - 0.1
    (
        "abstain strong",
        decision("E1", "hold", None, 0.0),
        dict(
            direction_gate="neutral",
            s_dir=-0.25,
            g_dir=0.0,
            r_mag=math.exp(-1.125),
            magnitude_reward=0.0,
            pnl_reward=0.0,
            strength_penalty=0.1,
            final_reward=-0.275,
        ),
    ),
    # ... and on a weak event that moved (no skip penalty): -0.25 - 0.125 + 0.2, still below zero
    (
        "abstain weak",
        decision("E3", "hold", None, 0.0),
        dict(
            direction_gate="neutral",
            s_dir=-0.25,
            g_dir=0.0,
            r_mag=math.exp(-0.00125),
            magnitude_reward=0.0,
            strength_penalty=0.0,
            final_reward=-0.175,
        ),
    ),
    # trading a weak event: PnL 20 * (0.001 - 0.0015) = -0.01, penalty 0.2: 1 + 0.5 + 0.2 - 0.01 + 0.3 - 0.2
    (
        "trade weak",
        decision("E3", "long", "industry", 0.001),
        dict(direction_gate="match", r_pnl=-0.0005, pnl_reward=-0.01, strength_penalty=0.2, final_reward=1.79),
    ),
    # trading a neutral event: neutral (-0.25, gate closed), weak-trade penalty: -0.25 + 0.5 + 0.2 - 0.2
    (
        "trade neutral",
        decision("E4", "long", "financing"),
        dict(direction_gate="neutral", s_dir=-0.25, g_dir=0.0, r_pnl=-0.0015, pnl_reward=0.0, final_reward=0.25),
    ),
    # holding a neutral event with c_hat 0: match, 1 + 0.5 + 0.2 + 0.3
    (
        "hold neutral",
        decision("E4", "hold", "financing", 0.0),
        dict(direction_gate="match", s_dir=1.0, strength_penalty=0.0, final_reward=2.0),
    ),
    # a hold's c_hat inside the neutral band (5 bps) expresses no direction: still a match with a
    # neutral event, magnitude exp(-0.0004^2 / 0.0008): 1 + 0.5 + 0.2 + 0.3 exp(-0.0002)
    (
        "hold neutral in band",
        decision("E4", "hold", "financing", 0.0004),
        dict(direction_gate="match", r_mag=math.exp(-0.0002), final_reward=1.7 + 0.3 * math.exp(-0.0002)),
    ),
    # just outside the band it is a direction: neutral gate on a neutral event
    ("hold outside band", decision("E4", "hold", "financing", 0.0006), dict(direction_gate="neutral", s_dir=-0.25)),
    # PnL clipped at rho: 20 * 0.05 = 1: 1 + 0.5 + 0.2 + 1 + 0.3 = 3, not clipped by the final clip
    (
        "pnl clip",
        decision("E6", "long", "risk_warning", 0.08),
        dict(r_pnl=0.05, pnl_reward=1.0, final_reward=3.0, final_reward_unclipped=3.0, clipped=False),
    ),
    # true type outside the taxonomy: nothing to judge (r_evt 0, m_evt 1): 1 + 0.2 + 20 * 0.0185
    (
        "unknown true type",
        decision("E7", "long", "dividend"),
        dict(event_type_gate="unknown", r_evt=0.0, m_evt=1.0, pnl_reward=0.37, final_reward=1.57),
    ),
    # malformed and verbose output, which says nothing: a hold with no type (the parser's reading) on a
    # strong event: neutral gate, s_dir -0.25 (an abstention on an event that moved), r_evt -0.25,
    # r_fmt -1 - 0.5, skip penalty: -0.25 - 0.125 - 0.3 - 0.1
    (
        "malformed verbose",
        decision("E2", "hold", ok=False, completion="x" * 4001),
        dict(
            direction_gate="neutral",
            s_dir=-0.25,
            r_evt=-0.25,
            r_fmt=-1.5,
            process_reward=-0.3,
            strength_penalty=0.1,
            final_reward=-0.775,
        ),
    ),
]


@pytest.mark.parametrize("name, row, expected", CASES, ids=[c[0] for c in CASES])
def test_hgrm_components_on_hand_computed_cases(name, row, expected):
    got = one(row)
    assert got["mapped"] is True and got["unmapped_reason"] is None
    for key, value in expected.items():
        assert got[key] == (pytest.approx(value, abs=1e-12) if isinstance(value, float) else value), key
    parts = (
        got["direction_reward"]
        + got["event_reward"]
        + got["pnl_reward"]
        + got["magnitude_reward"]
        + got["process_reward"]
        - got["strength_penalty"]
    )
    assert got["final_reward_unclipped"] == pytest.approx(parts, abs=1e-12)


def well_formed(length: int, action: str = "short", etype: str = "violation") -> str:
    """A well-formed completion of exactly ``length`` characters saying ``action`` and ``etype``."""
    base = format_completion(action, etype, "strong", None, "a", "b")
    return format_completion(action, etype, "strong", None, "a" * (1 + length - len(base)), "b")


def test_verbosity_boundary():
    at_limit = one(decision("E2", "short", "violation", completion=well_formed(4000)))
    over = one(decision("E2", "short", "violation", completion=well_formed(4001)))
    assert at_limit["r_fmt"] == 1.0 and over["r_fmt"] == 0.5


def test_final_clip():
    got = one(decision("E6", "long", "risk_warning", 0.08), HgrmConfig(w_pnl=100.0))
    assert got["final_reward_unclipped"] == pytest.approx(7.0)
    assert got["final_reward"] == 3.0 and got["clipped"] is True
    low = one(decision("E1", "short", "violation", ok=False), HgrmConfig(lambda_dir=5.0, final_clip=2.0))
    assert low["final_reward_unclipped"] == pytest.approx(-5.0 - 0.25 - 0.2) and low["final_reward"] == -2.0


def test_predicted_strength_does_not_dodge_the_penalty():
    row = decision("E3", "long", "industry", 0.001)
    claimed_weak = score(frame([row]).with_columns(pl.lit("weak").alias("predicted_strength")), LABELS)
    assert claimed_weak["strength_penalty"].item() == 0.2


@pytest.mark.parametrize(
    "switch, row, expected",
    [
        # gate open: the wrong-direction trade's loss and magnitude now count
        ("use_direction_gate", decision("E1", "short", "dividend", -0.03), -1.3 + 20 * -0.0315 + 0.3 * math.exp(-4.5)),
        # no type term and no discount: 1 + 0.2 + 20 * 0.0285
        ("use_event_gate", decision("E1", "long", "violation"), 1.77),
        ("use_pnl", decision("E1", "long", "dividend", 0.03), 2.0),
        ("use_magnitude", decision("E1", "long", "dividend", 0.03), 2.27),
        # the malformed verbose hold without its format term: 0 - 0.125 - 0.1
        ("use_format", decision("E2", "hold", ok=False, completion="x" * 4001), -0.475),
        ("use_strength_penalty", decision("E3", "long", "industry", 0.001), 1.99),
    ],
)
def test_each_ablation_switch(switch, row, expected):
    on = one(row)
    off = one(row, HgrmConfig(**{switch: False}))
    assert off["final_reward"] == pytest.approx(expected, abs=1e-12)
    assert on["final_reward"] != pytest.approx(off["final_reward"])


def test_tau_override_rederives_true_strength():
    row = decision("E2", "short", "violation", -0.02)
    assert one(row)["strength_penalty"] == 0.0
    # with tau 0.025 the -0.02 event is weak: trading it costs 0.2; 1 + 0.5 + 0.2 + 0.37 + 0.3 - 0.2
    got = one(row, HgrmConfig(strength_tau_override=0.025))
    assert got["strength_penalty"] == 0.2 and got["final_reward"] == pytest.approx(2.17)


def test_unmapped_decisions_keep_their_row_with_null_reward():
    rows = [decision("E5", "long"), decision("E1", "long", "dividend", 0.03), decision("E99", "short")]
    out = score(frame(rows), LABELS)
    assert out["event_id"].to_list() == ["E5", "E1", "E99"]
    assert out["mapped"].to_list() == [False, True, False]
    assert out["unmapped_reason"].to_list() == ["event_excluded:insufficient_history", None, "event_not_in_labels"]
    assert out["final_reward"].to_list()[0] is None and out["final_reward"].to_list()[2] is None
    assert out["event_type"].to_list() == ["equity_change", "dividend", None]
    assert list(out.columns) == [*SCORE_COLUMNS, "profile"]


def test_score_rejects_bad_labels():
    with pytest.raises(RewardError, match="lacks column"):
        score(frame([decision("E1", "long")]), LABELS.drop("strength"))
    with pytest.raises(RewardError, match="row 1, column 'event_id'"):
        score(frame([decision("E1", "long")]), pl.concat([LABELS.head(1), LABELS.head(1)]))
    bad = LABELS.with_columns(
        pl.when(pl.col("event_id") == "E2").then(pl.lit("up")).otherwise("direction").alias("direction")
    )
    with pytest.raises(RewardError, match="row 1, column 'direction'"):
        score(frame([decision("E1", "long")]), bad)


def test_config_rules():
    with pytest.raises(ValidationError):
        HgrmConfig(lambda_dir=1.0)  # the paper: > 1
    with pytest.raises(ValidationError):
        HgrmConfig(alpha=1.0)  # the paper: in (0, 1)
    with pytest.raises(ValidationError):
        HgrmConfig(lambda_miss=0.6, lambda_evt=0.5)
    with pytest.raises(ValidationError):
        HgrmConfig(w_dri=1.0)  # typo: unknown field
    with pytest.raises(RewardError):
        reward_profile("nope")
    payload = reward_config_payload(HgrmConfig())
    assert payload["round_trip_cost_bps"] == "15" and payload["use_pnl"] == "true"
    assert payload["strength_tau_override"] == "none" and "kappa" not in payload and "tau" not in payload
    assert HgrmConfig().kappa == 0.0015
    assert reward_config_hash(HgrmConfig()) != reward_config_hash(HgrmConfig(round_trip_cost_bps=10))


# ---- the lane's scaffold profile, on the contract's numbers ----------------------------------------
SCAFFOLD_CASES = [
    # match 1 * type match 1 * (0.03 - 0.0005) + |0.03| + 0.10
    (decision("E1", "long", "dividend", rationale="buyback"), "match", "match", 0.0295, 0.03, 0.10, 0.1595),
    # mismatch -1 * type mismatch 0.4 * (-0.03 - 0.0005) - |0.03| + 0
    (decision("E1", "short", "violation"), "mismatch", "mismatch", -0.0305, -0.03, 0.0, 0.0122 - 0.03),
    # neutral -0.5 * unknown 0.7 * (0 - 0.0005) - 0 + 0 (blank rationale earns nothing)
    (decision("E4", "long", rationale="  "), "neutral", "unknown", -0.0005, 0.0, 0.0, 0.000175),
    # a hold takes no direction: neutral -0.5 * match 1 * (-0.0005) - |-0.02| + 0.10
    (decision("E2", "hold", "violation", rationale="wait"), "neutral", "match", -0.0005, -0.02, 0.10, 0.08025),
]


@pytest.mark.parametrize("row, dgate, tgate, pnl, mag, proc, final", SCAFFOLD_CASES)
def test_lane_scaffold_on_the_contract_numbers(row, dgate, tgate, pnl, mag, proc, final):
    got = one(row, reward_profile("lane_scaffold"))
    assert (got["direction_gate"], got["event_type_gate"]) == (dgate, tgate)
    assert got["pnl_reward"] == pytest.approx(pnl, abs=1e-12)
    assert got["magnitude_reward"] == pytest.approx(mag, abs=1e-12)
    assert got["process_reward"] == pytest.approx(proc, abs=1e-12)
    assert got["final_reward"] == pytest.approx(final, abs=1e-12)
    assert got["profile"] == "lane_scaffold"


def test_lane_scaffold_gate_values_and_clip():
    cfg = reward_profile("lane_scaffold")
    assert (cfg.scaffold_direction_match, cfg.scaffold_direction_mismatch, cfg.scaffold_direction_neutral) == (
        1,
        -1,
        -0.5,
    )
    assert (cfg.scaffold_type_match, cfg.scaffold_type_mismatch, cfg.scaffold_type_unknown) == (1, 0.4, 0.7)
    assert (cfg.scaffold_cost_bps, cfg.scaffold_process_bonus, cfg.final_clip) == (5, 0.10, 3)
    big = LABELS.with_columns(pl.when(pl.col("event_id") == "E6").then(5.0).otherwise("car").alias("car"))
    got = one(decision("E6", "long", "risk_warning"), cfg, big)
    assert got["final_reward_unclipped"] == pytest.approx(4.9995 + 5.0) and got["final_reward"] == 3.0
    assert got["clipped"] is True


# ---- an independent scalar reference, on random decisions ------------------------------------------
def reference_hgrm(d: dict, lab: dict, cfg: HgrmConfig) -> float:
    """The module docstring's formulas, one decision at a time, in plain Python."""
    a = {"long": 1, "short": -1, "hold": 0}[d["action"]]
    true_d = {"positive": 1, "negative": -1, "neutral": 0}[lab["direction"]]
    c, c_hat = lab["car"], d["predicted_car"]
    p = a if a != 0 else (0 if c_hat is None else (c_hat > cfg.neutral_band) - (c_hat < -cfg.neutral_band))
    s_dir = 1.0 if p == true_d else (-cfg.lambda_dir if p * true_d == -1 else cfg.s_dir_neutral)
    g = 1.0 if s_dir >= 0 else 0.0
    if lab["event_type"] not in EVENT_TYPES:
        r_evt, m_evt = 0.0, 1.0
    elif d["predicted_event_type"] is None:
        r_evt, m_evt = -cfg.lambda_miss, cfg.alpha
    elif d["predicted_event_type"] == lab["event_type"]:
        r_evt, m_evt = 1.0, 1.0
    else:
        r_evt, m_evt = -cfg.lambda_evt, cfg.alpha
    r_pnl = min(max(a * c - cfg.kappa, -cfg.rho), cfg.rho) if a != 0 else 0.0
    r_mag = 0.0 if c_hat is None else math.exp(-((c_hat - c) ** 2) / (2 * cfg.sigma**2))
    r_fmt = cfg.fmt_ok_reward if d["format_ok"] else cfg.fmt_fail_reward
    if d["completion"] is not None and len(d["completion"]) > cfg.max_completion_chars:
        r_fmt -= cfg.verbosity_penalty
    strong = lab["strength"] == "strong"
    pen = cfg.penalty_trade_weak if (a != 0 and not strong) else cfg.penalty_skip_strong if (a == 0 and strong) else 0.0
    total = (
        cfg.w_dir * s_dir
        + cfg.w_evt * r_evt
        + cfg.w_fmt * r_fmt
        + g * (cfg.w_pnl * m_evt * r_pnl + cfg.w_mag * r_mag)
        - pen
    )
    return min(max(total, -cfg.final_clip), cfg.final_clip)


def random_world(n_events: int, n_decisions: int, seed: int):
    rng = np.random.default_rng(seed)
    car = rng.normal(0, 0.03, n_events)
    car[rng.random(n_events) < 0.05] = 0.0
    car[rng.random(n_events) < 0.05] = 0.0003
    labels = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n_events)],
            "event_type": rng.choice([*EVENT_TYPES, "unknown"], n_events),
            "car": car,
            "direction": np.where(car > 0.0005, "positive", np.where(car < -0.0005, "negative", "neutral")),
            "strength": np.where(np.abs(car) >= 0.01, "strong", "weak"),
        }
    )
    c_hat_near_zero = rng.random(n_decisions) < 0.1
    types = np.array([None, *EVENT_TYPES], dtype=object)
    c_hat = np.where(c_hat_near_zero, rng.normal(0, 0.0005, n_decisions), rng.normal(0, 0.03, n_decisions))
    # a fifth of the decisions come with a (malformed, long) model output: what it says is a hold with
    # no prediction and a failed format; the others carry only structured fields and a format flag
    decisions = frame(
        [
            decision(f"e{rng.integers(n_events)}", "hold", ok=False, completion="y" * int(rng.integers(3990, 4010)))
            if rng.random() < 0.2
            else decision(
                f"e{rng.integers(n_events)}",
                str(rng.choice(["long", "short", "hold"])),
                types[rng.integers(len(types))],
                None if rng.random() < 0.2 else float(c_hat[i]),
                ok=bool(rng.random() < 0.8),
            )
            for i in range(n_decisions)
        ]
    )
    return labels, decisions


@pytest.mark.parametrize(
    "cfg",
    [HgrmConfig(), HgrmConfig(lambda_dir=3.0, alpha=0.2, w_pnl=80.0, s_dir_neutral=-0.3, sigma=0.005, final_clip=2.5)],
)
def test_vectorised_score_matches_scalar_reference(cfg):
    labels, decisions = random_world(200, 2000, seed=7)
    got = score(decisions, labels, cfg)["final_reward"].to_list()
    by_id = {r["event_id"]: r for r in labels.iter_rows(named=True)}
    want = [reference_hgrm(d, by_id[d["event_id"]], cfg) for d in decisions.iter_rows(named=True)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_score_is_row_order_equivariant():
    labels, decisions = random_world(50, 300, seed=3)
    perm = np.random.default_rng(1).permutation(decisions.height)
    a = score(decisions, labels)[perm]
    b = score(decisions[perm], labels)
    assert a.equals(b)


# ---- summaries, ablations and the constant-policy check ----------------------------------------------
def test_reward_summary_and_ablation_table():
    rows = [
        decision("E1", "long", "dividend", 0.03, strategy="good"),
        decision("E1", "short", strategy="bad"),
        decision("E5", "long", strategy="bad"),
    ]
    summary = reward_summary(score(frame(rows), LABELS))
    assert summary["strategy_id"].to_list() == ["bad", "good"]
    assert summary["decisions"].to_list() == [2, 1] and summary["mapped"].to_list() == [1, 1]
    assert summary["mean_final_reward"].to_list()[1] == pytest.approx(2.57)
    table = ablation_table(frame(rows), LABELS)
    assert table["variant"].unique(maintain_order=True).to_list() == [
        "full",
        "w/o event-type gate",
        "w/o direction gate",
        "w/o magnitude",
        "w/o pnl",
        "w/o format",
        "w/o strength penalty",
    ]
    good = table.filter(pl.col("strategy_id") == "good")
    assert good.filter(pl.col("variant") == "w/o pnl")["mean_final_reward"].item() == pytest.approx(2.0)
    assert good["rank"].to_list() == [1] * 7
    with pytest.raises(RewardError):
        ablation_table(frame(rows), LABELS, reward_profile("lane_scaffold"))


def test_constant_decisions_grid():
    consts = constant_decisions(LABELS)
    included = LABELS.filter(pl.col("car").is_not_null()).height
    assert consts["strategy_id"].n_unique() == 3 * 11 * 4
    assert consts.height == 3 * 11 * 4 * included
    assert "const:long|dividend|car=+q" in consts["strategy_id"].to_list()


def test_constant_policy_check_on_hand_labels():
    check = constant_policy_check(LABELS)
    assert check.height == 134
    assert dict(check.group_by("kind").len().iter_rows()) == {"constant": 132, "random": 1, "shuffled": 1}
    # always long with no type and no CAR, by hand over the six included events
    cfg = HgrmConfig()
    included = LABELS.filter(pl.col("car").is_not_null())
    want = np.mean(
        [
            reference_hgrm(
                {
                    "action": "long",
                    "predicted_car": None,
                    "predicted_event_type": None,
                    "format_ok": True,
                    "completion": None,
                },
                lab,
                cfg,
            )
            for lab in included.iter_rows(named=True)
        ]
    )
    got = check.filter(pl.col("strategy_id") == "const:long|none|car=none").row(0, named=True)
    assert got["mean_final_reward"] == pytest.approx(want, abs=1e-12)
    # The yardsticks: the skilled baseline's mean reward (by the reference) and zero.
    skilled = skilled_decisions(LABELS)
    skilled_mean = np.mean(
        [
            reference_hgrm(d, lab, cfg)
            for d, lab in zip(skilled.iter_rows(named=True), included.iter_rows(named=True), strict=True)
        ]
    )
    assert check["skilled_mean_reward"].unique().to_list() == [pytest.approx(skilled_mean, abs=1e-12)]
    assert got["margin_vs_skilled"] == pytest.approx(skilled_mean - want, abs=1e-12)
    assert got["margin_vs_zero"] == pytest.approx(-want, abs=1e-12)
    assert check["flagged"].to_list() == list(
        np.minimum(check["margin_vs_skilled"].to_numpy(), check["margin_vs_zero"].to_numpy()) <= 0
    )
    # The varying policies carry no single action, type or CAR.
    varying = check.filter(pl.col("kind") != "constant")
    assert varying["strategy_id"].sort().to_list() == ["random", "shuffled_oracle"]
    assert varying.select("action", "predicted_event_type", "predicted_car").null_count().row(0) == (2, 2, 2)


def test_skilled_baseline_has_exactly_the_paper_skill():
    """Direction right on round(DA * N) events, type right on round(ETA * N), trades everything at
    +/- the median |CAR|; the label-shuffled oracle is a permutation of the oracle's answers."""
    from janus_core.decide.hacking import HackingCheckConfig, no_skill_decisions
    from janus_core.decide.policies import make_decisions

    rng = np.random.default_rng(9)
    n = 500
    cars = rng.normal(0.0, 0.03, n)
    labels = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "event_type": rng.choice(EVENT_TYPES, n),
            "car": cars,
            "direction": np.where(cars > 0.0005, "positive", np.where(cars < -0.0005, "negative", "neutral")),
            "strength": np.where(np.abs(cars) >= 0.0015, "strong", "weak"),
        }
    )
    check = HackingCheckConfig()
    dec = skilled_decisions(labels, check)
    assert dec["event_id"].to_list() == labels["event_id"].to_list()
    right = (dec["action"] == "long").to_numpy() == (cars >= 0)
    assert right.sum() == round(check.skilled_direction_accuracy * n)
    assert (dec["predicted_event_type"] == labels["event_type"]).sum() == round(check.skilled_type_accuracy * n)
    assert dec["predicted_event_type"].is_in(EVENT_TYPES).all() and (dec["predicted_strength"] == "strong").all()
    q = float(np.median(np.abs(cars)))
    np.testing.assert_allclose(dec["predicted_car"].to_numpy(), np.where(dec["action"] == "long", q, -q))
    assert skilled_decisions(labels, check).equals(dec)  # seeded
    assert not skilled_decisions(labels, HackingCheckConfig(seed=1)).equals(dec)
    no_skill = no_skill_decisions(labels, check)
    shuffled = no_skill.filter(pl.col("kind") == "shuffled")
    oracle = make_decisions("oracle", labels)
    assert shuffled["event_id"].to_list() == oracle["event_id"].to_list()
    cols = ["action", "predicted_event_type", "predicted_car"]
    assert shuffled.select(cols).sort(cols).equals(oracle.select(cols).sort(cols))
    assert not shuffled.select(cols).equals(oracle.select(cols))


# ---- the synthetic demo, through the real Stage I pipeline ---------------------------------------------
@pytest.fixture(scope="module")
def demo_labelled() -> pl.DataFrame:
    from janus_core.data.synthetic import SyntheticConfig, generate
    from janus_core.study.car import CarConfig, compute_car
    from janus_core.study.labels import LabelConfig, chronological_split, label

    return chronological_split(label(compute_car(generate(SyntheticConfig()), CarConfig()), LabelConfig()))


def test_demo_policy_ordering(demo_labelled):
    from janus_core.decide.policies import POLICIES, make_decisions

    decisions = pl.concat([make_decisions(p, demo_labelled) for p in POLICIES])
    summary = reward_summary(score(decisions, demo_labelled))
    mean = dict(zip(summary["strategy_id"], summary["mean_final_reward"]))
    assert mean["oracle"] > mean["type_prior"] > mean["random"]
    assert mean["oracle"] == max(mean.values())
    test_ids = demo_labelled.filter(pl.col("split") == "test")["event_id"].implode()
    on_test = reward_summary(score(decisions.filter(pl.col("event_id").is_in(test_ids)), demo_labelled))
    test_mean = dict(zip(on_test["strategy_id"], on_test["mean_final_reward"]))
    assert test_mean["oracle"] > test_mean["type_prior"] > test_mean["random"]
    # the oracle ranks first under every ablation variant too
    table = ablation_table(decisions, demo_labelled)
    assert table.filter(pl.col("strategy_id") == "oracle")["rank"].to_list() == [1] * 7


def test_default_reward_cannot_be_hacked_on_the_demo(demo_labelled):
    """No policy that ignores the news (132 constants, random, label-shuffled oracle) reaches the
    skilled baseline's mean reward or zero under the default HGRM: the check passes, with margin."""
    check = constant_policy_check(demo_labelled)
    verdict = hacking_verdict(check)
    assert check.height == 134 and not check["flagged"].any(), check.head(3)
    assert verdict["hackable"] is False and verdict["flagged"] == 0
    assert verdict["margin_vs_zero"] > 0.1 and verdict["margin_vs_skilled"] > 0.5
    assert verdict["skilled_mean_reward"] > 0.5


@pytest.mark.parametrize(
    "hack, update, yardstick",
    [
        # The earlier defaults: abstention scored 0 and kept the gate open, a wrong call cost 1.5: holding
        # with a predicted CAR of 0 earned the magnitude credit, always-long the gated PnL.
        ("abstention pays", {"lambda_dir": 1.5, "s_dir_neutral": 0.0}, "margin_vs_zero"),
        # Abstaining counted as a right call: never-trade outscores real skill.
        ("abstention is right", {"s_dir_neutral": 1.0}, "margin_vs_skilled"),
        # A fat format reward: any well-formed answer is paid, whatever it says.
        ("format farm", {"w_fmt": 2.0}, "margin_vs_zero"),
    ],
)
def test_a_hackable_reward_is_flagged(demo_labelled, hack, update, yardstick):
    check = constant_policy_check(demo_labelled, HgrmConfig(**update))
    verdict = hacking_verdict(check)
    assert verdict["hackable"] is True and verdict["flagged"] > 0, hack
    assert verdict[yardstick] < 0, (hack, verdict)
    flagged = check.filter(pl.col("flagged"))
    assert (np.minimum(flagged["margin_vs_skilled"].to_numpy(), flagged["margin_vs_zero"].to_numpy()) <= 0).all()
    assert check["strategy_id"][0] == verdict["best_policy"]


def test_group_means_against_numpy_with_nulls():
    frame = pl.DataFrame({"k": ["b", "a", "b", "a", "c"], "x": [1.0, 2.0, None, 4.0, None]})
    out = group_means(frame, "k", {"mx": pl.col("x"), "pos": pl.col("x") > 1.5})
    assert out["k"].to_list() == ["a", "b", "c"]
    assert out["mx"].to_list() == [np.mean([2.0, 4.0]), 1.0, None]
    assert out["pos"].to_list() == [1.0, 0.0, None]
    assert group_means(frame.head(0), "k", {"mx": pl.col("x")}).height == 0


_DETERMINISM_SCRIPT = """
import hashlib, polars as pl
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.labels import LabelConfig, chronological_split, label
from janus_core.decide.policies import POLICIES, make_decisions
from janus_core.decide.reward import ablation_table, score
from janus_core.decide.hacking import constant_policy_check
from janus_core.data.synthetic import SyntheticConfig, generate
lab = chronological_split(label(compute_car(generate(SyntheticConfig()), CarConfig()), LabelConfig()))
dec = pl.concat([make_decisions(p, lab) for p in POLICIES])
h = hashlib.sha256()
for frame in (dec, score(dec, lab), ablation_table(dec, lab), constant_policy_check(lab)):
    h.update(repr(frame.rows()).encode())
print(h.hexdigest())
"""


def test_outputs_do_not_depend_on_thread_count_or_hash_seed():
    import os
    import subprocess
    import sys

    digests = set()
    for threads, seed in (("1", "1"), ("2", "2")):
        env = dict(os.environ, POLARS_MAX_THREADS=threads, PYTHONHASHSEED=seed)
        proc = subprocess.run(
            [sys.executable, "-c", _DETERMINISM_SCRIPT], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.add(proc.stdout.strip())
    assert len(digests) == 1


def test_reward_quantiles_match_numpy_over_mapped_decisions():
    import numpy as np
    import polars as pl

    from janus_core.decide.reward import reward_quantiles

    rng = np.random.default_rng(3)
    n = 1_001
    scored = pl.DataFrame(
        {
            "strategy_id": rng.choice(["b", "a"], n),
            "final_reward": rng.normal(0, 1, n),
            "mapped": rng.random(n) > 0.1,
        }
    )
    got = reward_quantiles(scored)
    assert got["strategy_id"].to_list() == ["a", "b"]
    for row in got.iter_rows(named=True):
        vals = scored.filter((pl.col("strategy_id") == row["strategy_id"]) & pl.col("mapped"))[
            "final_reward"
        ].to_numpy()
        assert row["n"] == len(vals)
        expected = np.quantile(vals, [0.0, 0.25, 0.5, 0.75, 1.0])
        assert [row[k] for k in ("min", "q25", "median", "q75", "max")] == pytest.approx(expected.tolist(), abs=1e-12)
