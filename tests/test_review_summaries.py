"""The summaries the review report draws (reward components, counts by category, the reward-hacking
verdict, NAV ends), each against a plain-Python reference on small frames with nulls, ties and
nothing at all."""

from __future__ import annotations

import math
import random
import struct
from datetime import date, timedelta

import numpy as np
import polars as pl

from janus_core.backtest.nav_summary import nav_ends
from janus_core.decide.reward_summary import (
    component_columns,
    component_summary,
    hacking_verdict,
    malformed_count,
    reward_components,
)
from janus_core.hashing import decimal_str
from janus_core.study.counts import column_counts, text_counts

REWARDS = [
    {"event_id": "e1", "final_reward": "0.5", "pnl_reward": "-0.25", "r_evt": "1", "direction_gate": True},
    {"event_id": "e2", "final_reward": None, "pnl_reward": "x", "r_evt": "0", "direction_gate": False},
    {"event_id": "e3", "final_reward": "0", "pnl_reward": "0.75", "r_evt": "1"},
]


def test_reward_components_are_numbers_or_null_in_record_order():
    comps = reward_components(REWARDS)
    assert comps.columns == ["final_reward", "pnl_reward", "r_evt"]
    assert comps.to_dict(as_series=False) == {
        "final_reward": [0.5, None, 0.0],
        "pnl_reward": [-0.25, None, 0.75],
        "r_evt": [1.0, 0.0, 1.0],
    }
    assert reward_components(REWARDS, ("final_reward",)).columns == ["final_reward"]
    assert reward_components([]).shape == (0, 0)


def test_component_summary_against_python():
    comps = reward_components(REWARDS).with_columns(pl.lit(None, pl.Float64).alias("empty_reward"))
    got = {row["component"]: row for row in component_summary(comps).iter_rows(named=True)}
    for name in comps.columns:
        values = [v for v in comps[name].to_list() if v is not None]
        row = got[name]
        assert row["mean"] == (math.fsum(values) / len(values) if values else None)
        assert row["min"] == (min(values) if values else None) and row["max"] == (max(values) if values else None)
        assert row["non_zero"] == sum(1 for v in values if v != 0)
    assert component_summary(pl.DataFrame()).height == 0


def test_component_columns_leave_out_inputs_and_text():
    rows = pl.DataFrame({"decision_index": [0], "car": [0.1], "final_reward": [0.2], "action": ["long"]})
    assert component_columns(rows).columns == ["final_reward"]


def test_counts_against_python():
    got = text_counts(REWARDS, ("direction_gate",), "rewards").rows()
    assert got == [("False", 1), ("None", 1), ("True", 1)]  # a missing field counts as None
    rng = random.Random(3)
    rows = [{"a": rng.choice(["x", "y", None]), "b": rng.choice([1, 2])} for _ in range(200)]
    expected: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (str(r["a"]), str(r["b"]))
        expected[key] = expected.get(key, 0) + 1
    assert text_counts(rows, ("a", "b"), "n").rows() == sorted((*k, n) for k, n in expected.items())
    assert text_counts([], ("a",), "n").height == 0
    frame = pl.DataFrame({"reason": ["b", None, "a", "b"]})
    assert column_counts(frame, "reason", "events").rows() == [(None, 1), ("a", 1), ("b", 2)]


def test_malformed_count_treats_null_as_malformed():
    assert malformed_count(pl.DataFrame({"format_ok": [True, False, None, True]})) == 2


def test_hacking_verdict_in_numbers():
    check = pl.DataFrame(
        {
            "flagged": [False, True, False],
            "skilled_mean_reward": [0.3, 0.3, 0.3],
            "margin_vs_skilled": [0.2, -0.1, 0.5],
            "margin_vs_zero": [0.1, 0.05, 0.4],
        }
    )
    v = hacking_verdict(check)
    assert (v.flagged, v.policies, v.skilled_mean_reward, v.min_margin_vs_skilled, v.min_margin_vs_zero) == (
        1,
        3,
        0.3,
        -0.1,
        0.05,
    )
    assert hacking_verdict(check.clear()) is None
    assert hacking_verdict(check.drop("flagged")) is None


def test_nav_ends_against_python():
    rng = random.Random(5)
    start = date(2024, 1, 1)
    rows = [
        {"kind": k, "series": s, "date": start + timedelta(days=d), "nav": rng.choice([0.9, 1.0, 1.1])}
        for k, s in (("policy", "p"), ("benchmark", "b"), ("benchmark", "a"))
        for d in range(rng.randint(1, 6))
    ]
    rng.shuffle(rows)
    got = nav_ends(pl.DataFrame(rows), ["kind", "series"]).rows(named=True)
    keys = sorted({(r["kind"], r["series"]) for r in rows})
    assert [(g["kind"], g["series"]) for g in got] == keys
    for g in got:
        mine = sorted(
            (r for r in rows if (r["kind"], r["series"]) == (g["kind"], g["series"])), key=lambda r: r["date"]
        )
        assert (g["first_date"], g["last_date"], g["days"]) == (mine[0]["date"], mine[-1]["date"], len(mine))
        assert (g["final_nav"], g["min_nav"]) == (mine[-1]["nav"], min(r["nav"] for r in mine))
    assert nav_ends(pl.DataFrame(rows).clear(), ["kind", "series"]).height == 0


def test_reward_components_read_every_value_as_float_does():
    """Plain decimal strings are parsed by polars, anything else by ``float`` itself: every value
    gives what ``float(value)`` gives (null when it raises or is missing), bit for bit."""
    odd = [None, "nan", " 1.5", "1_0", "1e3", "-0", "-0.0", "abc", "", "+2", ".5", "5.", "inf", "-Infinity"]
    odd += ["123456789012345678901234567890.5", "0.1000000000000000055511151231257827", "-0.0000000001"]
    rng = np.random.default_rng(3)
    plain = [decimal_str(x) for x in rng.normal(0.0, 2.0, 200)] + ["0", "-7", "00012.50"]
    for values in (plain, plain + odd, odd, [3, True, 2.5, "4.25", None], []):
        rows = [{"final_reward": v, "s_dir": v} for v in values] + [{"final_reward": "1.5"}]
        got = reward_components(rows)
        assert got.columns == list(rows[0])
        for name in got.columns:
            want = []
            for r in rows:
                try:
                    want.append(None if r.get(name) is None else float(r.get(name)))
                except (TypeError, ValueError):
                    want.append(None)
            assert got[name].dtype == pl.Float64
            assert [None if v is None else struct.pack("<d", v) for v in got[name].to_list()] == [
                None if v is None else struct.pack("<d", v) for v in want
            ], (name, values[:3])
