"""The baseline policies' completions, written column-wise (``policies._with_completions``), against
``decisions.format_completion`` row by row (the formula they replace, still in the library), on
edge cases: null and empty headlines, null rationales, unknown or empty event types, null, NaN,
negative-zero and tied CARs, a single event and no event."""

from __future__ import annotations

import math

import polars as pl
import pytest

from janus_core.decide.decisions import DECISION_SCHEMA, parse_completion
from janus_core.decide.policies import POLICIES, _with_completions, make_decisions
from janus_core.decide.structured_output import format_completion


def _reference(frame: pl.DataFrame, influence: list[str]) -> list[str]:
    strength = ["weak" if a == "hold" else "strong" for a in frame["action"].to_list()]
    return [
        format_completion(a, t, s, c, inf, r)
        for a, t, s, c, inf, r in zip(
            frame["action"].to_list(),
            frame["predicted_event_type"].to_list(),
            strength,
            frame["predicted_car"].to_list(),
            influence,
            frame["rationale"].to_list(),
        )
    ]


FRAME = pl.DataFrame(
    {
        "event_id": ["a", "b", "c", "d", "e", "f", "g"],
        "action": ["long", "short", "hold", None, "hold", "long", "long"],
        "predicted_event_type": ["dividend", None, "", "violation", None, "dividend", "dividend"],
        "predicted_car": [0.0123456789, None, -0.0, float("nan"), 1e-7, 0.0123456789, -2.5e-7],
        "rationale": ["Mean CAR is 0.01.", None, "", "x <y> & z\n", "é ü 漢字", "same", "same"],
        "headline": ["H1", None, "", "H\nnew line", "é", "H1", "H1"],
    },
    schema_overrides={"predicted_car": pl.Float64},
)


@pytest.mark.parametrize("rows", [slice(0, 7), slice(0, 1), slice(3, 4), slice(0, 0)])
def test_completions_match_format_completion_row_by_row(rows):
    frame = FRAME[rows]
    influence = pl.concat_str(pl.lit("News: "), pl.col("headline").fill_null("(no headline)"))
    out = _with_completions(frame, "p", influence)
    assert out.schema == pl.Schema(DECISION_SCHEMA)
    expected = _reference(frame, [f"News: {h if h is not None else '(no headline)'}" for h in frame["headline"]])
    assert out["completion"].to_list() == expected
    assert out["predicted_strength"].to_list() == ["weak" if a == "hold" else "strong" for a in frame["action"]]


def _labelled() -> pl.DataFrame:
    n = 9
    return pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "split": ["historical"] * 6 + ["test"] * 3,
            "event_type": [
                "dividend",
                "dividend",
                "dividend",
                "dividend",
                "dividend",
                "unknown",
                "dividend",
                "x",
                None,
            ],
            "car": [0.01, 0.02, -0.0, 0.0, 0.01, 0.3, None, -0.02, 0.02],
            "direction": [
                "positive",
                "positive",
                "neutral",
                None,
                "positive",
                "positive",
                None,
                "negative",
                "positive",
            ],
            "strength": ["strong", "weak", "weak", None, "strong", "strong", None, "strong", "strong"],
            "sentiment": ["positive", None, "negative", "neutral", "positive", None, None, "negative", "positive"],
            "headline": ["A", None, "", "B", "A", "C", None, "D", "E"],
        }
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_writes_the_completions_format_completion_writes(policy):
    labelled = _labelled()
    out = make_decisions(policy, labelled)
    events = labelled.filter(pl.col("car").is_not_null())
    influence = [f"News: {h if h is not None else '(no headline)'}" for h in events["headline"]]
    assert out["completion"].to_list() == _reference(out, influence)
    for text, car in zip(out["completion"], out["predicted_car"]):
        parsed = parse_completion(text)
        assert parsed.format_ok
        assert (parsed.predicted_car is None) == (car is None)
        if car is not None and math.isfinite(car):
            assert parsed.predicted_car == float(f"{car:.6f}")
