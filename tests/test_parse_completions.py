"""The column-wise parser (``structured_output.parse_completions``) and the column-wise completion
checks of ``decisions.check_decisions`` against the per-row reference: ``parse_completion`` row by
row, and the per-row comparison loop the checks used before (kept here as the reference), on the
baseline policies' completions of the demo sample and on generated near-miss completions."""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable, Mapping

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janus_core.data.events import EVENT_TYPES
from janus_core.data.manifest import load_dataset
from janus_core.decide import decisions, structured_output
from janus_core.decide.decisions import check_decisions, format_completion
from janus_core.decide.policies import POLICIES, make_decisions
from janus_core.decide.structured_output import (
    PARSED_SCHEMA,
    PYTHON_WHITESPACE,
    REASON_COLUMNS,
    ParsedCompletion,
    parse_completion,
    parse_completions,
)
from janus_core.study.car import CarConfig
from janus_core.study.labels import car_study


def _key(p: ParsedCompletion) -> tuple:
    """A parse result with its CAR as bits (so -0.0 and 0.0 differ)."""
    car = None if p.predicted_car is None else struct.pack("<d", p.predicted_car)
    return (*(getattr(p, name) for name in PARSED_SCHEMA if name != "predicted_car"), car)


def assert_same_parse(texts: list[str | None]) -> None:
    frame = parse_completions(pl.Series("completion", texts, dtype=pl.String))
    assert frame.schema == pl.Schema(PARSED_SCHEMA)
    assert frame.height == len(texts)
    for text, row in zip(texts, frame.iter_rows(), strict=True):
        assert _key(ParsedCompletion(*row)) == _key(parse_completion(text)), text
    # without the reasons: the same frame but for the reason columns
    lean = parse_completions(pl.Series("completion", texts, dtype=pl.String), reasons=False)
    assert lean.equals(frame.drop(REASON_COLUMNS), null_equal=True)


def test_parsed_schema_is_the_fields_of_a_parse_and_whitespace_list_is_pythons():
    assert tuple(PARSED_SCHEMA) == tuple(ParsedCompletion.__dataclass_fields__)
    assert PYTHON_WHITESPACE == tuple(c for c in range(sys.maxunicode + 1) if chr(c).isspace())


def test_empty_and_all_null_columns():
    empty = parse_completions(pl.Series("completion", [], dtype=pl.String))
    assert empty.height == 0 and empty.schema == pl.Schema(PARSED_SCHEMA)
    assert_same_parse([None, None])
    assert_same_parse([])


def test_texts_opening_outside_the_sections_are_malformed_without_the_reasons():
    """Without the reasons, a text whose first character is neither "<" nor whitespace is read as
    malformed column-wise; one opening with whitespace (any of Python's) or "<" is parsed."""
    canonical = format_completion("long", "dividend", "strong", -0.0123, "News: a cut", "Dividends lift prices.")
    texts = [
        "x" * 400,
        "x" + canonical,
        "中" + canonical,
        "><market_influence>",
        *(chr(c) + canonical for c in PYTHON_WHITESPACE),
        *(chr(c) + "x" for c in PYTHON_WHITESPACE),
        "\u200b" + canonical,  # zero-width space: not whitespace to Python
        "<" + canonical,
        "",
        None,
        canonical,
        "x",
    ]
    assert_same_parse(texts)
    lean = parse_completions(pl.Series(texts, dtype=pl.String), reasons=False)
    assert lean.columns == [c for c in PARSED_SCHEMA if c not in REASON_COLUMNS]
    assert lean["format_ok"].to_list()[:4] == [False] * 4


# ---- near-miss completions -------------------------------------------------------------------

CANONICAL = format_completion("long", "dividend", "strong", -0.0123, "News: a cut", "Dividends lift prices.")
SECTION_TEXT = st.text(
    alphabet=st.sampled_from(
        ["a", "Z", " ", "\n", "\r", "\t", "<", ">", "/", ":", "é", "中", "\x1c", "\u2028", "\xa0"]
    ),
    max_size=8,
)
TAG_NAMES = ["market_influence", "car_analysis", "conclusion", "MARKET_INFLUENCE", "Conclusion", "conclusions"]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1, 1).map(lambda x: f"{x:.6f}"),
    st.from_regex(r"\A[+-]?([0-9]{0,25}(\.[0-9]{0,20})?|\.[0-9]{1,5})([eE][+-]?[0-9]{1,4})?%?\Z", fullmatch=True),
    st.sampled_from(["none", "None", "NULL", "n/a", "-", "", "١٢", "0.5 %", "1,5", "0x1", "inf", "nan", "1e400"]),
)
EVENT_WORDS = st.one_of(
    st.sampled_from(EVENT_TYPES),
    st.sampled_from(["none", "unknown", "Dividend", "risk warning", "dividends", "分红", "", "n/a"]),
)
WORDS = st.sampled_from(["long", "short", "hold", "LONG", " long", "buy", "strong", "weak", "Weak", "none", ""])
SEPARATORS = st.sampled_from(["\n", "\r\n", "\n\n", " \n", "", "\t\n", "\u2028"])


#: Places where :func:`completions` may deviate from the canonical shape.
DEVIATION_SITES = 21


@st.composite
def completions(draw: st.DrawFn) -> str:
    """A completion in the canonical shape but for up to three drawn deviations (most examples
    differ in one or two places only, so each deviation is also seen alone)."""
    chosen = draw(st.sets(st.integers(0, DEVIATION_SITES - 1), max_size=3))
    site = iter(range(DEVIATION_SITES))

    def vary(usual: object, other: st.SearchStrategy) -> object:
        return draw(other) if next(site) in chosen else usual

    sep = [vary("\n", SEPARATORS) for _ in range(4)]
    values = {
        "action": vary(draw(st.sampled_from(["long", "short", "hold"])), WORDS),
        "event_type": vary(draw(st.sampled_from([*EVENT_TYPES, "none"])), EVENT_WORDS),
        "strength": vary(draw(st.sampled_from(["strong", "weak"])), WORDS),
        "car": vary(draw(st.sampled_from(["none", "-0.012300", "0.000000", "-0.000000"])), NUMBERS),
    }
    keys = vary(list(values), st.permutations(list(values)))
    keys = vary(keys, st.sampled_from([*keys, "ACTION", "Event Type", "notes"]).map(lambda k: [*keys, k]))
    colon = vary(": ", st.sampled_from([":", " = ", "：", " : ", ":\t"]))
    lines = sep[0].join(f"{k}{colon}{values.get(k.lower().replace(' ', '_'), 'x')}" for k in keys)
    influence = vary("News: x", SECTION_TEXT)
    analysis = vary("why", SECTION_TEXT)
    tags = [vary(t, st.sampled_from(TAG_NAMES)) for t in TAG_NAMES[:3]]
    sections = [
        f"<{tags[0]}>{influence}</{tags[0]}>",
        f"<{tags[1]}>{analysis}</{tags[1]}>",
        f"<{tags[2]}>{sep[1]}{lines}{sep[2]}</{tags[2]}>",
    ]
    sections = vary(sections, st.permutations(sections))
    extra = vary(None, st.tuples(st.integers(0, 3), st.sampled_from(["extra", "<conclusion>", "</car_analysis>"])))
    if extra is not None:
        sections.insert(*extra)
    if vary(False, st.just(True)):
        sections[0] = f"<market_influence>{sections[0]}</market_influence>"
    before = vary("", st.sampled_from([" ", "x", "\n"]))
    return before + sep[3].join(sections) + vary("", st.sampled_from(["\n", " ", ".", "\r\n"]))


def test_canonical_shape_is_read_on_the_fast_path_and_agrees():
    texts = [
        format_completion(a, t, s, c, "News: x", "why")
        for a in ("long", "short", "hold")
        for t in (*EVENT_TYPES, None)
        for s in ("strong", "weak")
        for c in (None, 0.0, -0.0, 1e-7, -0.0123456789, 123456789.123, 5e-324)
    ]
    assert_same_parse(texts)
    frame = parse_completions(pl.Series(texts, dtype=pl.String))
    assert frame["format_ok"].all() and frame["format_error"].null_count() == len(texts)


VALUE_WORDS = (
    *EVENT_TYPES,
    *["long", "short", "hold", "LONG", " long", "Hold ", "buy", "strong", "weak", "Weak", "STRONG"],
    *["none", "None", "NONE", "null", "n/a", "na", "unknown", "Unknown", "-", "", " "],
    *["Dividend", "DIVIDEND", "risk warning", "risk-warning", "dividends", "分红", "equity change"],
    *["0.5", "-0.012300", "+0.5", "-0", "5", "5.", ".5", "1e-3", "1E+2", "-1.23%", "0e500", "1e400", "١٢"],
    *["0.000000", "-0.000000", "1234567890123456.5", "123456789012345.5", "0." + "1" * 30, "inf", "nan"],
)


@pytest.mark.parametrize("key", ["action", "event_type", "strength", "car"])
def test_each_conclusion_value_alone_parses_as_the_per_row_parser(key):
    usual = {"action": "long", "event_type": "dividend", "strength": "strong", "car": "-0.012300"}
    texts = []
    for word in VALUE_WORDS:
        values = {**usual, key: word}
        lines = "\n".join(f"{k}: {v}" for k, v in values.items())
        texts.append(
            f"<market_influence>a</market_influence>\n<car_analysis>b</car_analysis>\n<conclusion>\n{lines}\n</conclusion>"
        )
    assert_same_parse(texts)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(completions(), st.none(), st.just(CANONICAL)), max_size=12))
def test_near_miss_completions_parse_as_the_per_row_parser(texts):
    assert_same_parse(texts)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=6),
    st.text(max_size=6),
    st.sampled_from(["long", "short", "hold"]),
    st.sampled_from([*EVENT_TYPES, None]),
    st.floats(allow_nan=False, allow_infinity=False) | st.none(),
)
def test_any_section_text_and_any_car_parse_as_the_per_row_parser(influence, analysis, action, event_type, car):
    text = format_completion(action, event_type, "strong", car, influence, analysis)
    assert_same_parse([text, text.replace("\n", "\r\n"), text.upper()])


# ---- check_decisions against the per-row comparison it replaced ------------------------------


def reference_completion_problems(
    out: pl.DataFrame, claimed: pl.Series | None, where: Callable[[int], str]
) -> tuple[dict[int, str], dict[int, ParsedCompletion]]:
    """The per-row comparison ``check_decisions`` used before the column-wise one (verbatim)."""
    rows = out["completion"].is_not_null().arg_true().to_list()
    if not rows:
        return {}, {}
    sub = out[rows]
    texts = sub["completion"].to_list()
    cache = {t: parse_completion(t) for t in set(texts)}
    parsed = {i: cache[t] for i, t in zip(rows, texts, strict=True)}
    columns = {c: sub[c].to_list() for c in ("action", "predicted_event_type", "predicted_strength", "predicted_car")}
    claims = claimed[rows].to_list() if claimed is not None else [None] * len(rows)
    problems: dict[int, str] = {}
    for k, i in enumerate(rows):
        p = parsed[i]
        found: list[str] = []
        if claims[k] is not None and claims[k] != p.format_ok:
            found.append(
                f"format_ok {str(claims[k]).lower()} but the completion "
                + ("parses" if p.format_ok else f"is malformed ({p.format_error})")
            )
        if columns["action"][k] is not None and columns["action"][k] != p.action:
            found.append(
                f"action {columns['action'][k]!r} but the completion says {p.action!r}"
                + ("" if p.format_ok else f" (malformed: {p.format_error})")
            )
        for col, said in (
            ("predicted_event_type", p.predicted_event_type),
            ("predicted_strength", p.predicted_strength),
        ):
            if columns[col][k] is not None and columns[col][k] != said:
                found.append(f"{col} {columns[col][k]!r} but the completion says {said!r}")
        car = columns["predicted_car"][k]
        if car is not None and (p.predicted_car is None or not _reference_car_agrees(car, p.predicted_car, p)):
            found.append(f"predicted_car {car!r} but the completion says {p.predicted_car!r}")
        if found:
            problems[i] = f"{where(i)}: completion: completion_mismatch: " + "; ".join(found)
    return problems, parsed


def _reference_car_agrees(column: float, parsed: float, p: ParsedCompletion) -> bool:
    tol = 0.5 * 10.0 ** -(p.car_decimals if p.car_decimals is not None else 12) + 1e-12
    return abs(column - parsed) <= tol


def reference_what_the_model_said(
    out: pl.DataFrame, claimed: pl.Series | None, parsed: Mapping[int, ParsedCompletion]
) -> pl.DataFrame:
    fmt = (
        claimed.fill_null(False)
        if claimed is not None
        else pl.Series("format_ok", [False] * out.height, dtype=pl.Boolean)
    )
    if not parsed:
        return out.with_columns(fmt.alias("format_ok"))
    rows = sorted(parsed)
    fmt = fmt.scatter(rows, [parsed[i].format_ok for i in rows])
    filled = []
    for col in ("predicted_event_type", "predicted_strength", "predicted_car"):
        series = out[col]
        empty = [i for i in rows if series[i] is None and getattr(parsed[i], col) is not None]
        filled.append(series.scatter(empty, [getattr(parsed[i], col) for i in empty]) if empty else series)
    return out.with_columns(fmt.alias("format_ok"), *filled)


def _check_both(monkeypatch: pytest.MonkeyPatch, frame: pl.DataFrame, **kwargs) -> None:
    """``check_decisions`` (quarantine mode) equals its per-row reference: same frame (values,
    dtypes, order, float bits), same rejected rows and reasons."""
    fast = _outcome(frame, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(decisions, "_completion_problems", reference_completion_problems)
        m.setattr(decisions, "_what_the_model_said", reference_what_the_model_said)
        slow = _outcome(frame, **kwargs)
    if isinstance(slow, OverflowError):  # the tolerance of a CAR written like 0e500 overflows, in both
        assert isinstance(fast, OverflowError)
        return
    assert fast.rows_read == slow.rows_read
    for got, want in ((fast.frame, slow.frame), (fast.rejected, slow.rejected)):
        assert got.schema == want.schema
        assert got.equals(want, null_equal=True)
        floats = [c for c, t in got.schema.items() if t == pl.Float64]
        if floats:
            bits = [pl.col(c).reinterpret(signed=True) for c in floats]
            assert got.select(bits).equals(want.select(bits), null_equal=True)


def _outcome(frame: pl.DataFrame, **kwargs) -> decisions.DecisionsCheck | OverflowError:
    try:
        return check_decisions(frame, "t", on_invalid="quarantine", **kwargs)
    except OverflowError as exc:
        return exc


@pytest.fixture(scope="module")
def demo_decisions(sample_workspace) -> pl.DataFrame:
    labelled = car_study(load_dataset("synthetic-ashare", sample_workspace), CarConfig())
    return pl.concat([make_decisions(p, labelled) for p in POLICIES])


def test_every_baseline_policy_completion_on_the_demo_parses_as_the_per_row_parser(demo_decisions):
    texts = demo_decisions["completion"].to_list()
    frame = parse_completions(demo_decisions["completion"])
    assert frame["format_ok"].all()
    for text, row in zip(texts, frame.iter_rows(), strict=True):
        assert _key(ParsedCompletion(*row)) == _key(parse_completion(text))


def test_demo_decisions_check_as_the_per_row_reference(monkeypatch, demo_decisions):
    _check_both(monkeypatch, demo_decisions, unique=False)
    _check_both(monkeypatch, demo_decisions.drop("format_ok").head(500))
    # every column stated wrongly or left null, on the same completions
    n = demo_decisions.height
    mutated = demo_decisions.with_columns(
        pl.when(pl.int_range(n) % 7 == 0).then(pl.lit("hold")).otherwise(pl.col("action")).alias("action"),
        pl.when(pl.int_range(n) % 5 == 0)
        .then(None)
        .otherwise(pl.col("predicted_event_type"))
        .alias("predicted_event_type"),
        pl.when(pl.int_range(n) % 11 == 0)
        .then(pl.lit("weak"))
        .otherwise(pl.col("predicted_strength"))
        .alias("predicted_strength"),
        (pl.col("predicted_car") + pl.int_range(n).mod(13).cast(pl.Float64) * 2.5e-7).alias("predicted_car"),
        (pl.int_range(n) % 17 != 0).alias("format_ok"),
    )
    _check_both(monkeypatch, mutated, unique=False)


CAR_COLUMN = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0123, -0.01235, -0.0122995, -0.0123005, 0.0, -0.0, 0.5e-6, 1e-12, 2e-12]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.just(CANONICAL), completions(), st.sampled_from(["x", CANONICAL.upper()])),
            st.sampled_from(["long", "short", "hold"]),
            st.sampled_from([None, "dividend", "industry", "Dividend", "unknown"]),
            st.sampled_from([None, "strong", "weak"]),
            CAR_COLUMN,
            st.sampled_from([None, True, False]),
        ),
        max_size=10,
    )
)
def test_generated_decisions_check_as_the_per_row_reference(monkeypatch, rows):
    frame = pl.DataFrame(
        rows,
        schema={
            "completion": pl.String,
            "action": pl.String,
            "predicted_event_type": pl.String,
            "predicted_strength": pl.String,
            "predicted_car": pl.Float64,
            "format_ok": pl.Boolean,
        },
        orient="row",
    ).with_columns(pl.lit("e").alias("event_id"), pl.format("s{}", pl.int_range(pl.len())).alias("strategy_id"))
    _check_both(monkeypatch, frame, format_claims_need_completion=True)
    _check_both(monkeypatch, frame.drop("format_ok"))


def test_car_at_the_tolerance_edge_agrees_as_the_per_row_reference(monkeypatch):
    text = format_completion("long", "dividend", "strong", -0.0123, "a", "b")
    edge = [-0.0123 + d for d in (5e-7 + 1e-12, 5e-7 + 1.0000001e-12, -5e-7 - 1e-12, math.ulp(5e-7))]
    frame = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(edge))],
            "strategy_id": "s",
            "action": "long",
            "predicted_car": edge,
            "completion": text,
        }
    )
    _check_both(monkeypatch, frame)


def test_repeated_texts_off_the_fast_path_are_parsed_once(monkeypatch):
    calls: list[str] = []

    def counting(text):
        calls.append(text)
        return parse_completion(text)

    monkeypatch.setattr(structured_output, "parse_completion", counting)
    texts = ["junk", CANONICAL, "junk", CANONICAL.upper(), None, "junk"] * 50
    frame = parse_completions(pl.Series(texts, dtype=pl.String))
    assert sorted(calls) == sorted({"junk", CANONICAL.upper()})
    assert [ParsedCompletion(*row) for row in frame.iter_rows()] == [parse_completion(t) for t in texts]
    calls.clear()
    lean = parse_completions(pl.Series(texts, dtype=pl.String), reasons=False)
    assert calls == [CANONICAL.upper()]  # "junk" opens outside the sections: malformed, no parse
    assert lean.equals(frame.drop(REASON_COLUMNS), null_equal=True)
