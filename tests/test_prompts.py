"""Prompts from events (janus_core.decide.prompts): template parsing and hashing, and the point-in-time rule
(nothing after the decision day's open ever enters a prompt)."""

from __future__ import annotations

import dataclasses
import string

import polars as pl
import pytest

from janus_core.data.events import EVENT_TYPES, map_event_days
from janus_core.data.manifest import load_dataset
from janus_core.decide import prompts
from janus_core.decide.decisions import CONCLUSION_KEYS, SECTION_TAGS
from janus_core.hashing import H, sha256_file
from janus_core.study.car import CarConfig
from janus_core.study.labels import car_study


@pytest.fixture(scope="module")
def ds(sample_workspace):
    return load_dataset("synthetic-ashare", sample_workspace)


@pytest.fixture(scope="module")
def labelled(ds):
    return car_study(ds, CarConfig())


def _events_from_raw(ds) -> pl.DataFrame:
    """Events with their event day straight from the events and prices tables (no CAR study)."""
    return map_event_days(ds.events, ds.prices, ds.meta.exchange_timezone, ds.meta.news_cutoff)


def test_default_template_hash_is_the_file_sha256_and_names_every_answer_key():
    t = prompts.load_template()
    assert t.name == prompts.DEFAULT_TEMPLATE
    assert t.sha256 == sha256_file(prompts.TEMPLATE_DIR / "decision-v1.txt")
    assert t.ref == f"template:decision-v1:sha256:{t.sha256}"
    for tag in SECTION_TAGS:
        assert f"<{tag}>" in t.system and f"</{tag}>" in t.system
    for key in CONCLUSION_KEYS:
        assert f"{key}:" in t.system
    assert t.fields() <= set(prompts.TEMPLATE_FIELDS)
    assert {"headline", "body", "published_local", "symbol", "event_types", "returns"} <= t.fields()


def test_a_changed_comment_is_a_new_template(tmp_path):
    src = (prompts.TEMPLATE_DIR / "decision-v1.txt").read_bytes()
    edited = tmp_path / "decision-v1b.txt"
    edited.write_bytes(src.replace(b"version 1", b"version 1 (edited)", 1))
    a, b = prompts.load_template(), prompts.load_template(str(edited))
    assert (a.system, a.user) == (b.system, b.user)
    assert a.sha256 != b.sha256 and b.name == "decision-v1b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("=== user ===\nhi\n=== system ===\nyou\n", "marker lines"),
        ("=== system ===\nyou\n", "marker lines"),
        ("preamble\n=== system ===\nyou\n=== user ===\nhi\n", "line 1: text before"),
        ("=== system ===\n\n=== user ===\nhi $headline\n", "system section is empty"),
        ("=== system ===\nyou\n=== user ===\nhi $car\n", "unknown field(s) car"),
        ("=== system ===\nyou cost $5\n=== user ===\nhi\n", "'$' that starts no field"),
    ],
)
def test_bad_templates_fail_with_one_clear_line(text, message):
    with pytest.raises(prompts.PromptError) as info:
        prompts.parse_template(text.encode(), "bad")
    assert message in str(info.value) and "template bad" in str(info.value)
    assert "\n" not in str(info.value)


def test_rendered_prompt_has_the_event_the_state_and_the_ten_types(ds, labelled):
    events = prompts.decision_events(labelled, "test", limit=5)
    t = prompts.load_template()
    rendered = prompts.render_prompts(ds, events, t)
    assert rendered.columns == list(prompts.PROMPT_COLUMNS)
    assert rendered["event_id"].to_list() == events["event_id"].to_list()
    for ev, row in zip(events.iter_rows(named=True), rendered.iter_rows(named=True)):
        assert ev["headline"] in row["prompt_user"] and ev["symbol"] in row["prompt_user"]
        assert f"Decision day: {ev['event_day'].isoformat()}" in row["prompt_user"]
        assert all(f"- {slug}:" in row["prompt_user"] for slug in EVENT_TYPES)
        assert row["prompt_hash"] == H(prompts.messages(row["prompt_system"], row["prompt_user"]))
        assert row["template_hash"] == t.sha256


def test_prompts_do_not_depend_on_the_labelled_table(ds, labelled):
    """Rendering from the raw events table (no CAR study) gives the same prompts as from the
    labelled table: no label column can have entered them."""
    chosen = prompts.decision_events(labelled, "test", limit=20)
    raw = _events_from_raw(ds).join(chosen.select("event_id"), on="event_id", how="semi")
    raw = chosen.select("event_id").join(raw, on="event_id", how="left", maintain_order="left")
    t = prompts.load_template()
    assert prompts.render_prompts(ds, raw, t).equals(prompts.render_prompts(ds, chosen, t))


def _distort_after(ds, symbol: str, benchmark: str, day) -> object:
    """``ds`` with every price of ``symbol`` and benchmark close of ``benchmark`` on or after
    ``day`` made extreme, the injected CAR of every event set to 90% and a later event added."""
    later = pl.col("date") >= day
    prices = ds.prices.with_columns(
        pl.when((pl.col("symbol") == symbol) & later).then(pl.col(c) * 100.0).otherwise(pl.col(c)).alias(c)
        for c in ("open", "close")
    )
    benchmarks = ds.benchmarks.with_columns(
        pl.when((pl.col("benchmark") == benchmark) & later)
        .then(pl.col("close") * 0.01)
        .otherwise(pl.col("close"))
        .alias("close")
    )
    events = ds.events.with_columns(pl.lit(0.9).alias("injected_car"))
    return dataclasses.replace(ds, prices=prices, benchmarks=benchmarks, events=events)


def test_later_prices_never_enter_a_prompt(ds, labelled):
    t = prompts.load_template()
    chosen = prompts.decision_events(labelled, "test", limit=40)
    picks = chosen.gather([0, 13, 39])
    bench = dict(ds.securities.select("symbol", "benchmark").iter_rows())
    for ev in picks.iter_rows(named=True):
        one = picks.filter(pl.col("event_id") == ev["event_id"])
        before = prompts.render_prompts(ds, one, t)
        distorted = _distort_after(ds, ev["symbol"], bench[ev["symbol"]], ev["event_day"])
        remapped = _events_from_raw(distorted).filter(pl.col("event_id") == ev["event_id"])
        assert remapped["event_day"].to_list() == [ev["event_day"]]
        after = prompts.render_prompts(distorted, remapped, t)
        assert after.equals(before), f"event {ev['event_id']}: a price on or after {ev['event_day']} changed its prompt"

        # control: the last close before the decision day is in the prompt, so moving it must show
        state_day = ds.prices.filter((pl.col("symbol") == ev["symbol"]) & (pl.col("date") < ev["event_day"]))[
            "date"
        ].max()
        moved = dataclasses.replace(
            ds,
            prices=ds.prices.with_columns(
                pl.when((pl.col("symbol") == ev["symbol"]) & (pl.col("date") == state_day))
                .then(pl.col("close") * 2.0)
                .otherwise(pl.col("close"))
                .alias("close")
            ),
        )
        assert not prompts.render_prompts(moved, one, t)["prompt_user"].equals(before["prompt_user"])


def test_decision_events_are_the_included_events_of_the_split_in_time_order(labelled):
    test = prompts.decision_events(labelled, "test")
    expected = labelled.filter(pl.col("car").is_not_null() & (pl.col("split") == "test")).sort(
        "published_at", "event_id"
    )
    assert test["event_id"].to_list() == expected["event_id"].to_list()
    assert (
        prompts.decision_events(labelled, "test", limit=7)["event_id"].to_list() == expected["event_id"].to_list()[:7]
    )
    with pytest.raises(prompts.PromptError, match="unknown split 'dev'"):
        prompts.decision_events(labelled, "dev")


def test_template_fields_cover_every_substitution():
    """Every field prompt_fields fills is documented, and a template using all of them renders."""
    body = "\n".join(f"${f}" for f in prompts.TEMPLATE_FIELDS)
    t = prompts.parse_template(f"=== system ===\nsys\n=== user ===\n{body}\n".encode(), "all")
    assert t.fields() == set(prompts.TEMPLATE_FIELDS)
    assert string.Template(t.user).get_identifiers() == list(prompts.TEMPLATE_FIELDS)
