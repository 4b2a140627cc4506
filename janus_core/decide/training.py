"""Training hooks: the HGRM as a TRL GRPO reward function and a DSPy metric, and SFT/GRPO records.

None of this imports TRL or DSPy; the callables follow their calling conventions.

- :func:`grpo_reward_func` returns ``f(prompts, completions, **kwargs) -> list[float]``, TRL's
  ``GRPOTrainer(reward_funcs=...)`` signature: TRL passes the batch's prompts and completions
  (strings, or chat messages ``[{"role": "assistant", "content": ...}]``) and every other dataset
  column as a keyword list aligned with the completions (here ``car``, ``direction``, ``strength``,
  ``event_type``, the paper's labels c, d, s, e; ``c``/``d``/``s``/``e`` are accepted too), plus
  extras such as ``completion_ids`` or ``trainer_state``, which are ignored.
- :func:`dspy_metric` returns ``metric(example, prediction, trace=None) -> float``: labels are read
  from the example's attributes; the prediction is either a full ``completion`` text or separate
  ``action``, ``event_type``, ``strength``, ``car`` fields (optional ``rationale``).
- :func:`training_records` builds one record per included event of the chosen splits: a prompt
  from the company's profile, the news and the pre-event market state (prices strictly before the
  event day, so nothing after the decision time leaks in), the SFT target completion written from
  the labels in the structured format, and the labels. The split is the labelled table's
  chronological 4:4:1:1 ``split`` column.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.dataset import Dataset
from janus_core.data.events import EVENT_TYPE_NAMES, EVENT_TYPES
from janus_core.decide.decisions import (
    CONCLUSION_KEYS,
    ParsedCompletion,
    completion_text,
    format_completion,
    parse_completion,
    parse_conclusion,
)
from janus_core.decide.reward import HgrmConfig, score

SPLITS: tuple[str, ...] = ("historical", "train", "validation", "test")
#: Label columns of a training record and the paper's names for them.
LABEL_ALIASES: dict[str, str] = {"car": "c", "direction": "d", "strength": "s", "event_type": "e"}


class TrainingError(ValueError):
    """Labels or inputs a training hook needs are missing or malformed."""


class TrainingConfig(BaseModel):
    """Constants of the training-record export."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookback_days: tuple[int, ...] = Field(
        (1, 5, 20),
        description=(
            "Trailing windows (trading days) of the pre-event stock and benchmark returns in the prompt: "
            "the last day, a week and a month, the horizons a trader checks before acting on news."
        ),
    )
    max_body_chars: int = Field(
        1500, gt=0, description=("News body truncated to this many characters: keeps a prompt near 1,000 tokens.")
    )
    instruction: str = Field(
        "You are an event-driven trader on China's A-share market. Read the company profile, the news "
        "and the market state before the event. Answer in exactly three tagged sections: "
        "<market_influence> how the news bears on the company </market_influence>, <car_analysis> the "
        "expected cumulative abnormal return over the event window and why </car_analysis>, and "
        "<conclusion> with the lines 'action: long|short|hold', 'event_type: <one of "
        + ", ".join(EVENT_TYPES)
        + ">', 'strength: strong|weak' and 'car: <decimal>' </conclusion>. Trade (long or short) only a "
        "strong event; hold a weak one.",
        description="The task statement opening every prompt (the structured grammar of janus_core.decisions).",
    )


# --------------------------------------------------------------------------------------------------
# Reward hooks
# --------------------------------------------------------------------------------------------------
def _label(kwargs: Mapping[str, Any], name: str, n: int) -> list[Any]:
    for key in (name, LABEL_ALIASES[name]):
        if key in kwargs and kwargs[key] is not None:
            values = list(kwargs[key]) if not isinstance(kwargs[key], (str, bytes)) else None
            if values is None or len(values) != n:
                raise TrainingError(f"label column {key!r} must be a list with one value per completion ({n})")
            return values
    raise TrainingError(f"label column {name!r} (or {LABEL_ALIASES[name]!r}) is missing from the reward inputs")


def _score_parsed(
    parsed: Sequence[ParsedCompletion],
    texts: Sequence[str | None],
    labels: Mapping[str, Sequence[Any]],
    cfg: HgrmConfig,
) -> list[float]:
    n = len(parsed)
    ids = [f"sample-{i}" for i in range(n)]
    missing = [i for i, c in enumerate(labels["car"]) if c is None]
    if missing:
        raise TrainingError(f"samples {missing[:5]} have no CAR label: excluded events cannot be rewarded")
    decisions = pl.DataFrame(
        {
            "event_id": ids,
            "strategy_id": ["policy"] * n,
            "action": [p.action for p in parsed],
            "predicted_event_type": pl.Series([p.predicted_event_type for p in parsed], dtype=pl.String),
            "predicted_strength": pl.Series([p.predicted_strength for p in parsed], dtype=pl.String),
            "predicted_car": pl.Series([p.predicted_car for p in parsed], dtype=pl.Float64),
            "rationale": pl.Series([p.car_analysis for p in parsed], dtype=pl.String),
            "completion": pl.Series(list(texts), dtype=pl.String),
            "format_ok": [p.format_ok for p in parsed],
        }
    )
    labelled = pl.DataFrame(
        {
            "event_id": ids,
            "car": pl.Series([float(c) for c in labels["car"]], dtype=pl.Float64),
            "direction": pl.Series([str(d) for d in labels["direction"]], dtype=pl.String),
            "strength": pl.Series([str(s) for s in labels["strength"]], dtype=pl.String),
            "event_type": pl.Series([None if e is None else str(e) for e in labels["event_type"]], dtype=pl.String),
        }
    )
    return [float(x) for x in score(decisions, labelled, cfg)["final_reward"].to_list()]


def grpo_reward_func(cfg: HgrmConfig | None = None) -> Callable[..., list[float]]:
    """The HGRM as a TRL GRPO reward function: ``f(prompts, completions, **kwargs)`` returns one
    ``final_reward`` per completion (module docstring for the inputs). Its ``__name__`` is
    ``hgrm_<profile>``, the name TRL logs the reward under."""
    cfg = cfg or HgrmConfig()

    def reward(
        prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None, **kwargs: Any
    ) -> list[float]:
        if completions is None:
            raise TrainingError("no completions given to the reward function")
        n = len(completions)
        texts = [completion_text(c) for c in completions]
        parsed = [parse_completion(t) for t in texts]
        labels = {name: _label(kwargs, name, n) for name in LABEL_ALIASES}
        return _score_parsed(parsed, texts, labels, cfg)

    reward.__name__ = f"hgrm_{cfg.profile}"
    reward.__qualname__ = reward.__name__
    return reward


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def dspy_metric(cfg: HgrmConfig | None = None) -> Callable[..., float]:
    """The HGRM as a DSPy metric ``metric(example, prediction, trace=None) -> float``. The example
    carries the labels (``car``, ``direction``, ``strength``, ``event_type`` or ``c``/``d``/``s``/``e``);
    the prediction a ``completion`` text or the fields ``action``, ``event_type``, ``strength``,
    ``car`` (and optionally ``rationale``). ``trace`` does not change the score."""
    cfg = cfg or HgrmConfig()

    def metric(example: Any, prediction: Any, trace: Any = None) -> float:
        labels: dict[str, list[Any]] = {}
        for name, alias in LABEL_ALIASES.items():
            value = _field(example, name)
            if value is None:
                value = _field(example, alias)
            if value is None and name != "event_type":
                raise TrainingError(f"example has no label {name!r} (or {alias!r})")
            labels[name] = [value]
        text = _field(prediction, "completion")
        if text is not None:
            parsed = parse_completion(text)
            text = completion_text(text)
        else:
            rationale = _field(prediction, "rationale")
            parsed = parse_conclusion({k: _field(prediction, k) for k in CONCLUSION_KEYS}, None, rationale)
        return _score_parsed([parsed], [text], labels, cfg)[0]

    metric.__name__ = f"hgrm_{cfg.profile}_metric"
    return metric


# --------------------------------------------------------------------------------------------------
# Training records
# --------------------------------------------------------------------------------------------------
def pre_event_state(ds: Dataset, events: pl.DataFrame, cfg: TrainingConfig) -> pl.DataFrame:
    """Per event (``event_id, symbol, event_day``): ``state_date``, the last trading day of the
    stock strictly before ``event_day``, its ``state_close``, and for each lookback k the trailing
    returns ``ret_{k}d`` = close(state_date) / close(k trading days earlier) - 1 of the stock and
    ``bench_ret_{k}d`` of its benchmark (null when the history is too short). Input row order kept."""
    sec = ds.securities.select("symbol", "benchmark")
    keyed = (
        events.select("event_id", "symbol", "event_day")
        .with_row_index("_row")
        .join(sec, on="symbol", how="left", maintain_order="left")
    )
    out = keyed
    series = (
        ("", ds.prices.select("symbol", "date", "close"), "symbol"),
        ("bench_", ds.benchmarks.select(pl.col("benchmark"), "date", "close"), "benchmark"),
    )
    for prefix, table, key in series:
        px = table.sort(key, "date").with_columns(pl.int_range(pl.len()).over(key).alias("_i"))
        last = (
            out.select("_row", key, "event_day")
            .filter(pl.col("event_day").is_not_null())
            .sort("event_day")
            .join_asof(
                px.sort("date"),
                left_on="event_day",
                right_on="date",
                by=key,
                strategy="backward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
        )
        cols = [
            pl.col("_row"),
            pl.col("date").alias(f"{prefix}state_date"),
            pl.col("close").alias(f"{prefix}state_close"),
            pl.col("_i"),
        ]
        last = last.select(cols)
        for k in cfg.lookback_days:
            back = px.select(key, pl.col("_i") + k, pl.col("close").alias("_back"))
            last = (
                last.join(out.select("_row", key), on="_row", how="left")
                .join(back, on=[key, "_i"], how="left")
                .with_columns((pl.col(f"{prefix}state_close") / pl.col("_back") - 1.0).alias(f"{prefix}ret_{k}d"))
                .drop("_back", key)
            )
        out = out.join(last.drop("_i"), on="_row", how="left")
    return out.sort("_row").drop("_row", "bench_state_date")


def with_profile_and_state(ds: Dataset, events: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """``events`` (input order) with the company's ``name, industry, size_tier`` (null when the
    securities table lacks one) and the pre-event ``state`` (:func:`pre_event_state` of the same
    events, row for row)."""
    profile = ds.securities.select(
        "symbol",
        *[
            pl.col(c) if c in ds.securities.columns else pl.lit(None, dtype=pl.String).alias(c)
            for c in ("name", "industry", "size_tier")
        ],
    )
    return events.join(profile, on="symbol", how="left", maintain_order="left").with_columns(
        state.drop("event_id", "symbol", "event_day")
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:+.2f}%"


def training_records(
    ds: Dataset, labelled: pl.DataFrame, split: str | Iterable[str] | None = None, cfg: TrainingConfig | None = None
) -> pl.DataFrame:
    """One SFT/GRPO record per included event of ``split`` (a split name, several, or ``None`` for
    all), sorted by (published_at, event_id). Columns: ``event_id, split, published_at, symbol,
    prompt, completion`` (the SFT target, written from the labels by
    :func:`janus_core.decide.decisions.format_completion`), the labels ``car, direction, strength,
    event_type`` (the paper's c, d, s, e) and the pre-event state of :func:`pre_event_state`."""
    cfg = cfg or TrainingConfig()
    needed = ("event_id", "symbol", "published_at", "headline", "event_day", "split", *LABEL_ALIASES)
    missing = [c for c in needed if c not in labelled.columns]
    if missing:
        raise TrainingError(
            f"labelled CAR table lacks column(s) {', '.join(missing)} (split comes from the chronological split step)"
        )
    wanted = list(SPLITS) if split is None else [split] if isinstance(split, str) else list(split)
    unknown = [s for s in wanted if s not in SPLITS]
    if unknown:
        raise TrainingError(f"unknown split(s) {unknown}; choose from {', '.join(SPLITS)}")
    body = pl.col("body") if "body" in labelled.columns else pl.lit(None, dtype=pl.String)
    events = (
        labelled.filter(pl.col("car").is_not_null() & pl.col("split").is_in(wanted))
        .sort("published_at", "event_id")
        .with_columns(body.fill_null("").str.slice(0, cfg.max_body_chars).alias("_body"))
    )
    state = pre_event_state(ds, events, cfg)
    rows = with_profile_and_state(ds, events, state)
    tz = ds.meta.exchange_timezone
    prompts = [_record_prompt(r, cfg, tz) for r in rows.iter_rows(named=True)]
    targets = [_record_target(r) for r in rows.iter_rows(named=True)]
    state_cols = [c for c in state.columns if c not in ("event_id", "symbol", "event_day", "benchmark")]
    return rows.select(
        "event_id",
        "split",
        "published_at",
        "symbol",
        pl.Series("prompt", prompts, dtype=pl.String),
        pl.Series("completion", targets, dtype=pl.String),
        "car",
        "direction",
        "strength",
        "event_type",
        *state_cols,
    )


def _record_prompt(r: Mapping[str, Any], cfg: TrainingConfig, tz: str) -> str:
    """The prompt of one record: the instruction, the company, the news (local publication time)
    and the market state before the event."""
    returns = "; ".join(
        f"{k}-day return {_pct(r[f'ret_{k}d'])} (benchmark {_pct(r[f'bench_ret_{k}d'])})" for k in cfg.lookback_days
    )
    local = r["published_at"].astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    return (
        f"{cfg.instruction}\n\n"
        f"Company: {r['name'] or r['symbol']} ({r['symbol']}); industry {r['industry'] or 'n/a'}; "
        f"size tier {r['size_tier'] or 'n/a'}; benchmark {r['benchmark'] or 'n/a'}.\n"
        f"News (published {local} {tz}): {r['headline']}\n{r['_body']}\n"
        f"Market state before the event (close of {r['state_date'] or 'n/a'}, "
        f"price {'n/a' if r['state_close'] is None else format(r['state_close'], '.4f')}): {returns}."
    )


def _record_target(r: Mapping[str, Any]) -> str:
    """The SFT target of one record, written from its labels: strong moves traded in their
    direction, everything else held."""
    etype = r["event_type"] if r["event_type"] in EVENT_TYPES else None
    action = (
        "hold"
        if r["strength"] != "strong" or r["direction"] == "neutral"
        else ("long" if r["direction"] == "positive" else "short")
    )
    kind = f"a {EVENT_TYPE_NAMES[etype][0]} event" if etype else "an unclassified event"
    return format_completion(
        action,
        etype,
        r["strength"],
        r["car"],
        f"{r['headline']}: {kind} for {r['name'] or r['symbol']}.",
        f"The cumulative abnormal return over the event window was {r['car']:+.4f}: a {r['strength']} "
        f"{r['direction']} reaction.",
    )


def _iso_values(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def write_training_records(
    ds: Dataset,
    labelled: pl.DataFrame,
    out_dir: str | Path,
    splits: Iterable[str] = ("train", "validation", "test"),
    cfg: TrainingConfig | None = None,
) -> dict[str, Path]:
    """Write ``OUT/<split>.jsonl`` for each split: one JSON object per line (keys sorted, UTF-8),
    each with ``prompt`` and ``completion`` (SFT) and the label columns that TRL hands a GRPO reward
    function as keyword lists. Same inputs, same bytes. Returns the paths by split."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for split in splits:
        records = training_records(ds, labelled, split, cfg)
        path = out / f"{split}.jsonl"
        lines = [
            json.dumps({k: _iso_values(v) for k, v in row.items()}, sort_keys=True, ensure_ascii=False)
            for row in records.iter_rows(named=True)
        ]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        written[split] = path
    return written
