"""Decisions from models: ``janus decide``'s library side.

A model SPEC names who decides:

- ``text-baseline``: the trained text baseline (:mod:`janus_core.text_baseline`), fitted here on
  the ``train`` split and applied to a later split; ``text-baseline:PATH`` applies a saved model.
- ``openai:MODEL@URL``: an OpenAI-compatible chat-completions endpoint (:mod:`janus_core.completions`),
  with the store's completion cache.
- ``module:function``: a Python callable ``function(messages) -> str`` taking the chat messages
  of one prompt and returning the completion text (run in this process, not cached).

:func:`decide` picks the events (``prompts.decision_events``), renders their prompts with the
template, gets one completion per event, parses it (``decisions.decisions_from_completions``:
malformed output is kept as a ``hold`` with ``format_ok`` false and its ``format_error``) and
returns the decisions with their record columns (``RECORD_COLUMNS``: the rendered prompt, its hash,
the template hash, the model id and fingerprint) and the lineage that
``model_lineage.write_decisions`` seals into the decisions file. The text baseline does not read the
prompt (it reads the headline, the body and the dataset's event-type tag), but its records carry the
prompt too, so every decisions file shows what was known at decision time.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.manifest import load_dataset
from janus_core.decide.completions import (
    Completion,
    EndpointConfig,
    RunStats,
    complete_all,
)
from janus_core.decide.decisions import (
    DECISION_SCHEMA,
    decisions_from_completions,
    validate_decisions,
)
from janus_core.decide.prompts import (
    PromptConfig,
    PromptTemplate,
    decision_events,
    load_template,
    messages,
    render_prompts,
)
from janus_core.decide.text_baseline import (
    TextBaseline,
    TextBaselineConfig,
    baseline_decisions,
    fit_text_baseline,
)
from janus_core.decide.training import SPLITS
from janus_core.study import car, labels

ModelKind = Literal["text-baseline", "openai", "callable"]
#: Columns every decision record carries after the decisions contract's own.
RECORD_COLUMNS: tuple[str, ...] = (
    "format_error",
    "prompt_system",
    "prompt_user",
    "prompt_hash",
    "template_hash",
    "model_id",
    "model_fingerprint",
)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CALLABLE_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*:{_IDENT}$")


class DecideError(ValueError):
    """A model SPEC or a decide run is invalid."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed SPEC: ``kind`` and its parts (``model`` and ``url`` for openai, ``path`` for a
    saved text baseline, ``target`` ``module:function`` for a callable)."""

    kind: ModelKind
    model: str | None = None
    url: str | None = None
    path: str | None = None
    target: str | None = None

    @property
    def default_strategy_id(self) -> str:
        if self.kind == "text-baseline":
            return "text-baseline"
        if self.kind == "openai":
            return f"openai:{self.model}"
        return f"callable:{self.target}"


def parse_model_spec(spec: str) -> ModelSpec:
    """``text-baseline[:PATH]``, ``openai:MODEL@URL`` (URL starting http:// or https://) or
    ``module:function``; anything else is a :class:`DecideError` saying what is expected."""
    spec = spec.strip()
    if spec == "text-baseline":
        return ModelSpec("text-baseline")
    if spec.startswith("text-baseline:"):
        return ModelSpec("text-baseline", path=spec.removeprefix("text-baseline:"))
    if spec.startswith("openai:"):
        rest = spec.removeprefix("openai:")
        at = min((i for i in (rest.find("@http://"), rest.find("@https://")) if i >= 0), default=-1)
        if at <= 0:
            raise DecideError(
                f"model {spec!r}: expected openai:MODEL@URL with an http(s) URL, "
                "e.g. openai:qwen2.5-7b-instruct@http://127.0.0.1:8000/v1"
            )
        return ModelSpec("openai", model=rest[:at], url=rest[at + 1 :])
    if _CALLABLE_RE.match(spec):
        return ModelSpec("callable", target=spec)
    raise DecideError(
        f"model {spec!r}: expected text-baseline, text-baseline:PATH, openai:MODEL@URL or module:function"
    )


def resolve_callable(target: str) -> tuple[Callable[[list[dict[str, str]]], str], str | None]:
    """Import ``module:function``; returns it and the SHA-256 of its module's source file (its
    fingerprint; None when the source is not a file)."""
    module_name, func_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DecideError(f"model {target!r}: cannot import module {module_name!r} ({exc})") from None
    fn = getattr(module, func_name, None)
    if not callable(fn):
        raise DecideError(f"model {target!r}: module {module_name!r} has no callable {func_name!r}")
    try:
        source = inspect.getsourcefile(module)
    except TypeError:
        source = None
    fp = hashlib.sha256(Path(source).read_bytes()).hexdigest() if source and Path(source).is_file() else None
    return fn, fp


class DecideConfig(BaseModel):
    """One decide run. ``car``, ``label`` and ``split_config`` override the ``CarConfig``,
    ``LabelConfig`` and ``SplitConfig`` defaults that label the events (as ``ExportConfig`` does);
    ``endpoint`` holds ``EndpointConfig`` fields other than model and URL (concurrency, rate,
    timeouts, retries, sampling, key variable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = "synthetic-ashare"
    model: str = "text-baseline"
    split: Literal["historical", "train", "validation", "test"] | None = "test"
    limit: int | None = Field(None, ge=1)
    strategy_id: str | None = None
    refresh: bool = False
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    baseline: TextBaselineConfig = Field(default_factory=TextBaselineConfig)
    endpoint: dict[str, Any] = Field(default_factory=dict)
    car: dict[str, Any] = Field(default_factory=dict)
    label: dict[str, Any] = Field(default_factory=dict)
    split_config: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class DecideResult:
    """A decide run: the decisions (``DECISION_SCHEMA`` + ``RECORD_COLUMNS``, validated), the
    lineage to seal into the file, the fitted text baseline (when one decided), the run's costs
    (``stats``; cache and request counts, not part of the file) and the labelled CAR table."""

    decisions: pl.DataFrame
    lineage: dict[str, Any]
    stats: RunStats
    fitted: TextBaseline | None
    labelled: pl.DataFrame


def endpoint_config(spec: ModelSpec, overrides: Mapping[str, Any]) -> EndpointConfig:
    """The :class:`EndpointConfig` of an openai SPEC with ``overrides``."""
    bad = {"model", "base_url"} & set(overrides)
    if bad:
        raise DecideError(f"endpoint overrides may not set {sorted(bad)}: they come from the model SPEC")
    return EndpointConfig(model=spec.model, base_url=spec.url, **overrides)


def _from_completions(events: pl.DataFrame, completions: list[Completion], strategy_id: str) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "event_id": events["event_id"],
            "strategy_id": [strategy_id] * events.height,
            "completion": pl.Series([c.text for c in completions], dtype=pl.String),
        }
    )
    out = decisions_from_completions(frame)
    errors = [c.error for c in completions]
    return (
        out.with_columns(pl.Series("_err", errors, dtype=pl.String))
        .with_columns(pl.coalesce("_err", "format_error").alias("format_error"))
        .drop("_err")
    )


@dataclass(frozen=True)
class DecidePlan:
    """What a decide run works on, before any model is asked: the dataset, its labelled CAR table,
    the chosen events, the template and the rendered prompts (``prompts.render_prompts``)."""

    ds: Any
    labelled: pl.DataFrame
    events: pl.DataFrame
    template: PromptTemplate
    rendered: pl.DataFrame


def plan_decisions(cfg: DecideConfig, paths: Any = None) -> DecidePlan:
    """Load ``cfg.dataset``, label its events with the configured CAR study, choose the events
    (``prompts.decision_events``) and render their prompts."""

    template = load_template(cfg.prompt.template)
    ds = load_dataset(cfg.dataset, paths)
    labelled = labels.car_study(
        ds, car.CarConfig(**cfg.car), labels.LabelConfig(**cfg.label), labels.SplitConfig(**cfg.split_config)
    )
    events = decision_events(labelled, cfg.split, cfg.limit)
    if events.height == 0:
        raise DecideError(f"{cfg.dataset}: no included event in split {cfg.split!r}")
    return DecidePlan(ds, labelled, events, template, render_prompts(ds, events, template, cfg.prompt))


def decide(
    cfg: DecideConfig,
    paths: Any = None,
    progress: Callable[[int, int], None] | None = None,
    plan: DecidePlan | None = None,
) -> DecideResult:
    """Run ``cfg.model`` on the included events of ``cfg.split`` (module docstring).
    ``progress(done, total)`` reports completions as they arrive; ``plan`` is
    :func:`plan_decisions` of the same ``cfg`` when already computed (a notebook previews it)."""
    spec = parse_model_spec(cfg.model)
    strategy_id = cfg.strategy_id or spec.default_strategy_id
    endpoint = endpoint_config(spec, cfg.endpoint) if spec.kind == "openai" else None
    if spec.kind != "openai" and cfg.endpoint:
        raise DecideError(f"endpoint settings {sorted(cfg.endpoint)} apply to openai:MODEL@URL models only")
    plan = plan or plan_decisions(cfg, paths)
    labelled, events, rendered = plan.labelled, plan.events, plan.rendered
    started = time.perf_counter()
    stats = RunStats(prompts=events.height)
    fitted: TextBaseline | None = None
    fingerprints: list[str | None]
    if spec.kind == "text-baseline":
        fitted = _text_baseline(cfg, spec, plan)
        decisions = baseline_decisions(fitted, events, strategy_id)
        model_id, fingerprints = "text-baseline", [None] * events.height
        if progress is not None:
            progress(events.height, events.height)
    elif spec.kind == "openai":
        pairs = [
            (h, messages(s, u))
            for h, s, u in rendered.select("prompt_hash", "prompt_system", "prompt_user").iter_rows()
        ]
        completions, stats = complete_all(endpoint, pairs, paths, refresh=cfg.refresh, progress=progress)
        decisions = _from_completions(events, completions, strategy_id)
        model_id, fingerprints = endpoint.model_id, [c.fingerprint or None for c in completions]
    else:
        fn, fp = resolve_callable(spec.target)
        texts = _callable_texts(spec.target, fn, rendered, events.height, progress)
        decisions = _from_completions(
            events,
            [Completion(h, t, "", None, None, None, 0, False) for h, t in zip(rendered["prompt_hash"], texts)],
            strategy_id,
        )
        model_id, fingerprints = f"callable:{spec.target}", [fp] * events.height
    if spec.kind != "openai":
        stats = RunStats(prompts=events.height, seconds=time.perf_counter() - started)
    validated = decision_records(decisions, rendered, model_id, fingerprints)
    lineage = run_lineage(
        cfg,
        plan,
        validated,
        model_id=model_id,
        model_kind=spec.kind,
        strategy_id=strategy_id,
        fingerprints=fingerprints,
        fitted=fitted,
        endpoint=endpoint,
    )
    return DecideResult(decisions=validated, lineage=lineage, stats=stats, fitted=fitted, labelled=labelled)


def _text_baseline(cfg: DecideConfig, spec: ModelSpec, plan: DecidePlan) -> TextBaseline:
    """The text baseline of ``spec``: loaded from its path, or fitted on the train split (deciding
    on that split or an earlier one is refused)."""
    if spec.path is not None:
        return TextBaseline.load(spec.path)
    later = SPLITS[SPLITS.index(cfg.baseline.train_split) + 1 :]
    if cfg.split not in later:
        raise DecideError(
            f"text-baseline is fitted on the {cfg.baseline.train_split} split; decide on a later "
            f"split ({', '.join(later)}), not {cfg.split or 'every split'}"
        )
    meta = {"dataset": plan.ds.meta.name, "snapshot_hash": plan.ds.meta.snapshot_hash}
    return fit_text_baseline(plan.labelled, cfg.baseline, meta)


def _callable_texts(
    target: str,
    fn: Callable[[list[dict[str, str]]], Any],
    rendered: pl.DataFrame,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> list[str]:
    """``fn(messages)`` of every rendered prompt, in order; a raise or a non-text answer is refused
    naming the event."""
    texts = []
    for i, (eid, s, u) in enumerate(rendered.select("event_id", "prompt_system", "prompt_user").iter_rows()):
        try:
            texts.append(fn(messages(s, u)))
        except Exception as exc:  # noqa: BLE001 - a user's callable may raise anything
            raise DecideError(f"model {target!r} raised on event {eid}: {exc.__class__.__name__}: {exc}") from None
        if not isinstance(texts[-1], str):
            raise DecideError(
                f"model {target!r} returned {type(texts[-1]).__name__} for event {eid}; rule: function(messages) -> str"
            )
        if progress is not None:
            progress(i + 1, total)
    return texts


def decision_records(
    decisions: pl.DataFrame, rendered: pl.DataFrame, model_id: str, fingerprints: list[str | None]
) -> pl.DataFrame:
    """The decisions with their record columns (``RECORD_COLUMNS``: the rendered prompt of each
    event, the model id and each decision's fingerprint), validated."""
    record = decisions.join(rendered, on="event_id", how="left", maintain_order="left").with_columns(
        pl.lit(model_id).alias("model_id"), pl.Series("model_fingerprint", fingerprints, dtype=pl.String)
    )
    return validate_decisions(record.select(*DECISION_SCHEMA, *RECORD_COLUMNS), "janus decide")


def run_lineage(
    cfg: DecideConfig,
    plan: DecidePlan,
    validated: pl.DataFrame,
    *,
    model_id: str,
    model_kind: str,
    strategy_id: str,
    fingerprints: list[str | None],
    fitted: TextBaseline | None = None,
    endpoint: EndpointConfig | None = None,
) -> dict[str, Any]:
    """The lineage of a decide run (``lineage.write_decisions`` seals it into the decisions file)."""
    ds, template = plan.ds, plan.template
    return {
        "model_id": model_id,
        "model_kind": model_kind,
        "model_fingerprints": sorted({f for f in fingerprints if f}),
        "template": {"name": template.name, "sha256": template.sha256},
        "fitted_model_sha256": fitted.sha256 if fitted is not None else None,
        "sampling": endpoint.sampling() if endpoint is not None else None,
        "prompt_config": cfg.prompt.model_dump(mode="json"),
        "dataset": {"name": ds.meta.name, "version": ds.meta.version, "snapshot_hash": ds.meta.snapshot_hash},
        "split": cfg.split,
        "limit": cfg.limit,
        "strategy_id": strategy_id,
        "decisions": validated.height,
        "malformed": int((~validated["format_ok"]).sum()),
    }


# --------------------------------------------------------------------------------------------------
# Comparison with the rule policies
# --------------------------------------------------------------------------------------------------
