"""The decisions table and the structured-output parser: good outputs, each malformed case, validation."""

from __future__ import annotations

import polars as pl
import pytest

from janus_core.decide.decisions import (
    DECISION_SCHEMA,
    DecisionsError,
    decisions_from_completions,
    format_completion,
    load_decisions,
    parse_completion,
    parse_conclusion,
    validate_decisions,
)

GOOD = """
<market_influence>The buyback signals confidence.</market_influence>
<car_analysis>Similar buybacks moved about +2%.</car_analysis>
<conclusion>
Action: LONG
event_type: 股权变动
strength: strong
car: +1.85%
</conclusion>
"""


def test_parser_reads_a_well_formed_output():
    p = parse_completion(GOOD)
    assert p.format_ok and p.format_error is None
    assert (p.action, p.predicted_event_type, p.predicted_strength) == ("long", "equity_change", "strong")
    assert p.predicted_car == pytest.approx(0.0185)
    assert p.market_influence == "The buyback signals confidence."
    assert p.car_analysis == "Similar buybacks moved about +2%."


@pytest.mark.parametrize("car_text, expected", [("-0.0123", -0.0123), ("1.5e-3", 0.0015), ("-2%", -0.02),
                                                 ("none", None), (".5", 0.5)])
def test_parser_car_values(car_text, expected):
    text = GOOD.replace("+1.85%", car_text)
    p = parse_completion(text)
    assert p.format_ok
    assert p.predicted_car == (pytest.approx(expected) if expected is not None else None)


def test_parser_accepts_chat_messages_and_none_type():
    text = GOOD.replace("股权变动", "none")
    p = parse_completion([{"role": "user", "content": "q"}, {"role": "assistant", "content": text}])
    assert p.format_ok and p.predicted_event_type is None and p.action == "long"


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda t: None, "no completion"),
        (lambda t: "I think it goes up. Buy!", "sections must be"),
        (lambda t: t.replace("<car_analysis>Similar buybacks moved about +2%.</car_analysis>", ""), "sections must be"),
        (lambda t: "Sure! Here is my answer." + t, "text outside"),
        (lambda t: t + "\nThanks for asking.", "text outside"),
        (lambda t: t.replace("The buyback signals confidence.", "  "), "empty <market_influence>"),
        (lambda t: t.replace("Action: LONG", "action: buy"), "action 'buy'"),
        (lambda t: t.replace("strength: strong", "strength: huge"), "strength 'huge'"),
        (lambda t: t.replace("event_type: 股权变动", "event_type: weather"), "not in the taxonomy"),
        (lambda t: t.replace("car: +1.85%", "car: about two percent"), "not a decimal"),
        (lambda t: t.replace("strength: strong\n", ""), "lacks strength"),
        (lambda t: t.replace("strength: strong", "strength: strong\nstrength: weak"), "given twice"),
        (lambda t: t.replace("strength: strong", "strength strong"), "is not 'key: value'"),
        (lambda t: t.replace("</conclusion>", ""), "unbalanced"),
        (lambda t: t.replace("<market_influence>", "<market_influence><conclusion>"), "unbalanced"),
        (lambda t: t.replace("<market_influence>The buyback signals confidence.</market_influence>\n", "")
         + "<market_influence>late</market_influence>", "sections must be"),
    ],
)
def test_parser_records_malformed_outputs(mutate, reason):
    p = parse_completion(mutate(GOOD))
    assert not p.format_ok
    assert p.action == "hold"
    assert p.predicted_event_type is None and p.predicted_car is None and p.predicted_strength is None
    assert reason in p.format_error


def test_format_completion_round_trips():
    text = format_completion("short", "violation", "strong", -0.031234567, "Fine imposed.", "Fines cut value.")
    p = parse_completion(text)
    assert p.format_ok
    assert (p.action, p.predicted_event_type, p.predicted_strength) == ("short", "violation", "strong")
    assert p.predicted_car == pytest.approx(-0.031235)


def test_parse_conclusion_fields():
    assert parse_conclusion({"action": "hold", "event_type": None, "strength": "weak", "car": 1e-05}).format_ok
    assert parse_conclusion({"action": "hold", "event_type": None, "strength": "weak", "car": float("nan")}).format_error
    assert "lacks car" in parse_conclusion({"action": "hold", "event_type": None, "strength": "weak"}).format_error


def test_decisions_from_completions_keeps_every_row_in_order():
    frame = pl.DataFrame({"event_id": ["e1", "e2", "e3"], "strategy_id": ["m"] * 3,
                          "completion": [GOOD, "garbage", None]})
    out = decisions_from_completions(frame)
    assert out["event_id"].to_list() == ["e1", "e2", "e3"]
    assert out["format_ok"].to_list() == [True, False, False]
    assert out["action"].to_list() == ["long", "hold", "hold"]
    assert out["rationale"].to_list() == ["Similar buybacks moved about +2%.", None, None]
    assert out["format_error"][0] is None and out["format_error"][1] and out["format_error"][2]
    validate_decisions(out, "completions")  # the output is a valid decisions table


def _frame(**overrides):
    base = {"event_id": ["e1", "e2"], "strategy_id": ["s", "s"], "action": ["long", "hold"]}
    base.update(overrides)
    return pl.DataFrame(base)


def test_validate_fills_optional_columns_and_normalises_types():
    out = validate_decisions(_frame(predicted_event_type=["Dividend", "unknown"], extra=[1, 2]), "mem")
    assert list(out.columns) == [*DECISION_SCHEMA, "extra"]
    assert out["predicted_event_type"].to_list() == ["dividend", None]
    assert out["format_ok"].to_list() == [False, False]  # no completion to credit
    assert dict(zip(out.columns, out.dtypes))["predicted_car"] == pl.Float64


def test_validate_derives_format_ok_from_the_completion():
    out = validate_decisions(_frame(completion=[GOOD, "nope"]), "mem")
    assert out["format_ok"].to_list() == [True, False]


@pytest.mark.parametrize(
    "frame, message",
    [
        (_frame().drop("action"), "lacks required column(s) action"),
        (_frame(action=["long", "buy"]), "row 1, column 'action': value 'buy'"),
        (_frame(action=["long", None]), "row 1, column 'action': value is missing"),
        (_frame(predicted_strength=["strong", "mild"]), "row 1, column 'predicted_strength'"),
        (_frame(predicted_event_type=["weather", None]), "row 0, column 'predicted_event_type'"),
        (_frame(predicted_car=[0.1, float("inf")]), "row 1, column 'predicted_car'"),
        (_frame(event_id=["e1", "e1"]), "row 1, columns 'event_id','strategy_id'"),
        (_frame(predicted_car=["a", "b"]), "column 'predicted_car' cannot be read"),
    ],
)
def test_validate_errors_name_source_row_and_column(frame, message):
    with pytest.raises(DecisionsError) as err:
        validate_decisions(frame, "decisions.csv")
    assert "decisions.csv" in str(err.value) and message in str(err.value)


def test_validate_allows_duplicates_when_asked():
    out = validate_decisions(_frame(event_id=["e1", "e1"]), "mem", unique=False)
    assert out.height == 2


def test_load_decisions_reads_files(tmp_path):
    path = tmp_path / "d.jsonl"
    _frame(predicted_event_type=["Dividend", None], completion=[GOOD, None]).write_ndjson(path)
    out = load_decisions(path)
    assert out.height == 2 and out["predicted_event_type"].to_list() == ["dividend", None]
    assert out.filter(pl.col("event_id") == "e1")["format_ok"].item() is True
