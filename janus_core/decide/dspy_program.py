"""DSPy, as the seeds' lane uses it: the decision as a DSPy program, compiled against an endpoint.

The program
-----------
One ``dspy.Predict`` over the signature ``janus_event_decision`` built from a prompt template
(:func:`signature_spec`): its **instructions** are the template's system section; its **input
fields** are the template's ``$fields`` in the order they first appear (system section, then user
section), each described by ``prompts.TEMPLATE_FIELDS`` and filled per event by
``prompts.prompt_fields`` (what was known before the decision day's open, nothing later); its one
**output field** ``completion`` is the structured answer of the template (the three tagged
sections), which ``decisions.parse_completion`` reads. DSPy's ``ChatAdapter`` (without its JSON
fallback) writes the chat messages and reads the field back from its ``[[ ## completion ## ]]``
markers. The **signature version** is ``TEMPLATE_NAME:`` + the first 16 hex digits of ``H(spec)``.

Compiling
---------
:func:`optimize_dspy` compiles the program with ``dspy.BootstrapFewShot`` on the ``train`` split:
``DspyOptimizeConfig.train_examples`` included train events drawn with ``random.Random(seed)``
(in the drawn order), offered one at a time to the uncompiled program; an answer whose
:func:`janus_core.decide.training.dspy_metric` (the HGRM reward, ``reward`` config) reaches
``metric_threshold`` becomes a demo, until ``max_demos`` are found (``max_labeled_demos`` 0 and
``max_rounds`` 1: every demo is the model's own answer, nothing is drawn at a higher temperature).
The LM is ``dspy.LM("openai/MODEL")`` with an :class:`EndpointEngine`: the OpenAI-compatible
endpoint of the model SPEC through :mod:`janus_core.decide.completions` (key from the environment
variable, retries, rate limits) and the store's completion cache keyed by ``H(messages)`` of the
adapter's messages, so a re-run asks nothing it asked before and compiles the same demos. DSPy's
own response cache is off.

The **compiled prompt** is ``{"program", "adapter", "signature": spec, "demos": [{"event_id",
"fields": {input fields..., "completion"}}]}``: everything that decides the messages of a request
(:func:`program_from_compiled` rebuilds the program from it). The **dataset** of the compile is the
list of train examples ``{"event_id", "inputs", "labels"}`` (labels ``car, direction, strength,
event_type``) in the drawn order; ``dataset_hash = H(dataset)``, ``compiled_prompt_hash =
H(compiled prompt)``.

Evaluating
----------
The compiled program decides the chosen split (``validation`` or ``test``): the adapter's messages
of each event are sent through ``completions.complete_all`` (concurrency, cache, failures kept), the
field is read back by the adapter and parsed by ``parse_completion``. An output the adapter cannot
read, or a request that failed after its retries, is a malformed decision (``hold``, ``format_ok``
false, ``format_error`` saying why), never dropped. ``mean_metric`` is the mean of ``dspy_metric``
over the evaluated events.

The decisions file
------------------
The decisions carry the record columns of every ``janus decide`` run (the template's rendered
prompt of the event, its hash, the template hash, the model id and fingerprint); the lineage adds
``model_kind`` ``dspy`` and ``dspy``: the compile record
(:class:`janus_core.decide.dspy_record.DspyProgramRecord`), which
``janus export --dspy-bundle`` turns into the bundle's compile result (program name, signature
versions, optimizer, dataset hash, compiled prompt hash, seed). DSPy is an optional dependency
group: without it :func:`require_dspy` raises :class:`DspyUnavailable` naming ``uv sync --group
dspy``; this module imports without it.
"""

from __future__ import annotations

import contextlib
import logging
import random
import string
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.decide.completions import (
    Completion,
    EndpointConfig,
    EndpointError,
    RunStats,
    complete_all,
)
from janus_core.decide.decisions import decisions_from_completions
from janus_core.decide.dspy_record import DspyProgramRecord
from janus_core.decide.models import (
    DecideConfig,
    DecideError,
    DecidePlan,
    DecideResult,
    decision_records,
    endpoint_config,
    parse_model_spec,
    plan_decisions,
    run_lineage,
)
from janus_core.decide.prompts import (
    TEMPLATE_FIELDS,
    PromptConfig,
    PromptTemplate,
    decision_events,
    prompt_fields,
)
from janus_core.decide.reward import HgrmConfig, reward_config_hash
from janus_core.decide.training import dspy_metric
from janus_core.hashing import H

DSPY_GROUP_HINT = "uv sync --group dspy"
SIGNATURE_NAME = "janus_event_decision"
PROGRAM_NAME = f"dspy.Predict[{SIGNATURE_NAME}]"
OPTIMIZER_NAME = "dspy.BootstrapFewShot"
ADAPTER_NAME = "dspy.ChatAdapter"
OUTPUT_FIELD = "completion"
OUTPUT_DESCRIPTION = (
    "the answer in the three tagged sections <market_influence>, <car_analysis> and <conclusion> "
    "that the instructions describe, with nothing outside them"
)
LABEL_FIELDS: tuple[str, ...] = ("car", "direction", "strength", "event_type")
#: The splits a compiled program may decide: later than the train split it was compiled on.
EVAL_SPLITS: tuple[str, ...] = ("validation", "test")


class DspyUnavailable(ImportError):
    """DSPy is not installed (it is the optional dependency group ``dspy``)."""


def require_dspy() -> Any:
    """The ``dspy`` module, or :class:`DspyUnavailable` with the install command."""
    try:
        import dspy
    except ImportError:
        raise DspyUnavailable(f"DSPy is not installed; install the optional group with `{DSPY_GROUP_HINT}`") from None
    return dspy


def dspy_installed() -> bool:
    """Whether :func:`require_dspy` succeeds."""
    try:
        require_dspy()
    except DspyUnavailable:
        return False
    return True


class DspyOptimizeConfig(BaseModel):
    """The compile step of ``janus decide --optimize dspy`` (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    train_examples: int = Field(
        8,
        ge=1,
        description=("Train-split events offered to the optimizer, drawn with the seed: a few dozen requests at most."),
    )
    max_demos: int = Field(
        2,
        ge=1,
        description=(
            "Demos the compiled program shows (BootstrapFewShot max_bootstrapped_demos): two keep the prompt "
            "within a few thousand tokens."
        ),
    )
    metric_threshold: float = Field(
        0.5,
        description=(
            "A train answer becomes a demo when its HGRM reward is at least this: with the default reward a "
            "well-formed answer with the right direction scores at least 0.75, a wrong direction or an "
            "abstention below 0."
        ),
    )
    seed: int = Field(20260219, description="Seed of the draw of train events (a fixed date).")
    reward: HgrmConfig = Field(default_factory=HgrmConfig, description="The reward dspy_metric scores with.")


# --------------------------------------------------------------------------------------------------
# The signature and the program
# --------------------------------------------------------------------------------------------------
def template_field_order(template: PromptTemplate) -> list[str]:
    """The template's ``$fields`` in order of first appearance, system section first."""
    out: list[str] = []
    for section in (template.system, template.user):
        for name in string.Template(section).get_identifiers():
            if name not in out:
                out.append(name)
    return out


def signature_spec(template: PromptTemplate) -> dict[str, Any]:
    """The signature of the decision program as JSON (module docstring)."""
    return {
        "name": SIGNATURE_NAME,
        "template": {"name": template.name, "sha256": template.sha256},
        "instructions": template.system,
        "inputs": [{"name": f, "desc": TEMPLATE_FIELDS[f]} for f in template_field_order(template)],
        "outputs": [{"name": OUTPUT_FIELD, "desc": OUTPUT_DESCRIPTION}],
    }


def signature_version(spec: Mapping[str, Any]) -> str:
    """``TEMPLATE_NAME:HEX16`` with ``HEX16`` the start of ``H(spec)``."""
    return f"{spec['template']['name']}:{H(dict(spec))[:16]}"


def input_names(spec: Mapping[str, Any]) -> list[str]:
    return [f["name"] for f in spec["inputs"]]


def make_signature(spec: Mapping[str, Any]) -> Any:
    """The ``dspy.Signature`` of ``spec``."""
    dspy = require_dspy()
    fields = {f["name"]: dspy.InputField(desc=f["desc"]) for f in spec["inputs"]}
    fields |= {f["name"]: dspy.OutputField(desc=f["desc"]) for f in spec["outputs"]}
    return dspy.Signature(fields, spec["instructions"])


def make_adapter() -> Any:
    """DSPy's ``ChatAdapter`` without the JSON fallback (one request per decision, one format)."""
    return require_dspy().ChatAdapter(use_json_adapter_fallback=False)


def program_from_compiled(compiled: Mapping[str, Any]) -> Any:
    """The ``dspy.Predict`` a compiled prompt describes: its signature and its demos."""
    dspy = require_dspy()
    program = dspy.Predict(make_signature(compiled["signature"]))
    program.demos = [dspy.Example(augmented=True, **d["fields"]) for d in compiled["demos"]]
    return program


def program_messages(program: Any, inputs: Mapping[str, str]) -> list[dict[str, str]]:
    """The chat messages the adapter writes for one event: system, the demos as user/assistant
    turns, then the event."""
    formatted = make_adapter().format(program.signature, program.demos, dict(inputs))
    return [{"role": m["role"], "content": m["content"]} for m in formatted]


def read_output(program: Any, text: str) -> tuple[str | None, str | None]:
    """``(completion field, None)`` of an LM output, or ``(None, reason)`` when the adapter
    cannot read the field."""
    dspy = require_dspy()
    try:
        fields = make_adapter().parse(program.signature, text)
    except dspy.utils.exceptions.AdapterParseError as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), "no output field")
        return None, f"dspy ChatAdapter: {first.strip()}"
    value = fields.get(OUTPUT_FIELD)
    return (value, None) if isinstance(value, str) else (None, f"dspy ChatAdapter: no {OUTPUT_FIELD} field")


# --------------------------------------------------------------------------------------------------
# The LM: the endpoint and the completion cache as a DSPy engine
# --------------------------------------------------------------------------------------------------
def request_messages(request: Any) -> list[dict[str, str]]:
    """A DSPy (lm15) request as chat messages: the system text, then each message's text."""
    out: list[dict[str, str]] = []
    if request.system is not None:
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
        out.append({"role": "system", "content": system})
    out += [{"role": m.role, "content": m.text or ""} for m in request.messages]
    return out


class EndpointEngine:
    """A DSPy engine (``complete(Request) -> Response``, given to ``dspy.LM(engine=...)``) that
    sends each request to ``endpoint`` through :func:`janus_core.decide.completions.complete_all`
    with the store's cache (``refresh`` asks again). The request's sampling parameters (temperature,
    seed, max_tokens, top_p) replace the endpoint's where given. A prompt that failed after its
    retries raises (DSPy skips that train example); :class:`EndpointError` (unreachable, HTTP 4xx)
    is kept in ``fatal`` and raised again on every later call, so the run stops with it. ``stats``
    adds up the calls' :class:`RunStats`."""

    def __init__(self, endpoint: EndpointConfig, paths: Any = None, refresh: bool = False) -> None:
        self.endpoint, self.paths, self.refresh = endpoint, paths, refresh
        self.stats = RunStats()
        self.fatal: EndpointError | None = None

    def _config(self, request: Any) -> EndpointConfig:
        c = request.config
        update = {
            k: v
            for k, v in (
                ("temperature", c.temperature),
                ("seed", c.seed),
                ("max_tokens", c.max_tokens),
                ("top_p", c.top_p),
            )
            if v is not None
        }
        return self.endpoint.model_copy(update=update)

    def complete(self, request: Any) -> Any:
        if self.fatal is not None:
            raise self.fatal
        from dspy.lm15 import Message, Response, TextPart, Usage

        msgs = request_messages(request)
        cfg = self._config(request)
        try:
            (done,), stats = complete_all(cfg, [(H(msgs), msgs)], self.paths, refresh=self.refresh)
        except EndpointError as exc:
            self.fatal = exc
            raise
        s = self.stats
        self.stats = RunStats(
            prompts=s.prompts + stats.prompts,
            cache_hits=s.cache_hits + stats.cache_hits,
            requests=s.requests + stats.requests,
            failures=s.failures + stats.failures,
            seconds=s.seconds + stats.seconds,
        )
        if done.text is None:
            raise RuntimeError(done.error)
        reason = done.finish_reason if done.finish_reason in ("stop", "length", "content_filter") else "stop"
        return Response(
            id=None,
            model=done.response_model or cfg.model,
            message=Message.assistant([TextPart(done.text)]),
            finish_reason=reason,
            usage=Usage(),
        )


def make_lm(endpoint: EndpointConfig, engine: EndpointEngine) -> Any:
    """``dspy.LM("openai/MODEL")`` on ``engine`` with the endpoint's sampling parameters, DSPy's
    response cache off and no retries of its own (the client retries)."""
    dspy = require_dspy()
    return dspy.LM(f"openai/{endpoint.model}", engine=engine, cache=False, num_retries=0, **endpoint.sampling())


# --------------------------------------------------------------------------------------------------
# Examples, compile, evaluate
# --------------------------------------------------------------------------------------------------
def decision_examples(
    plan: DecidePlan, events: pl.DataFrame, prompt_cfg: PromptConfig, spec: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``{"event_id", "inputs": {input field: text}, "labels": {car, direction, strength,
    event_type}}`` per event of ``events`` (input order); the inputs are ``prompts.prompt_fields``."""
    fields = prompt_fields(plan.ds, events, prompt_cfg)
    labels = events.select("event_id").join(
        plan.labelled.select("event_id", *LABEL_FIELDS), on="event_id", how="left", maintain_order="left"
    )
    names = input_names(spec)
    return [
        {"event_id": f["event_id"], "inputs": {n: f[n] for n in names}, "labels": {k: lab[k] for k in LABEL_FIELDS}}
        for f, lab in zip(fields.iter_rows(named=True), labels.iter_rows(named=True), strict=True)
    ]


def train_events(labelled: pl.DataFrame, opt: DspyOptimizeConfig) -> pl.DataFrame:
    """``opt.train_examples`` included train events drawn with ``random.Random(opt.seed)`` from the
    train split in time order (all of them, shuffled, when it has fewer), in the drawn order."""
    train = decision_events(labelled, "train")
    if train.height == 0:
        raise DecideError("the train split has no included event to compile the DSPy program on")
    order = random.Random(opt.seed).sample(range(train.height), min(opt.train_examples, train.height))
    return train[order]


def _example(dspy: Any, ex: Mapping[str, Any]) -> Any:
    return dspy.Example(**ex["inputs"], **ex["labels"]).with_inputs(*ex["inputs"])


def compile_program(
    spec: Mapping[str, Any],
    train: Sequence[Mapping[str, Any]],
    endpoint: EndpointConfig,
    opt: DspyOptimizeConfig,
    paths: Any = None,
    refresh: bool = False,
) -> tuple[dict[str, Any], RunStats]:
    """Compile the program on ``train`` (:func:`decision_examples`) with ``BootstrapFewShot``
    (module docstring). Returns the compiled prompt and the requests it cost. DSPy's progress goes
    to stderr."""
    dspy = require_dspy()
    threshold, base = opt.metric_threshold, dspy_metric(opt.reward)

    def accept(example: Any, prediction: Any, trace: Any = None) -> bool:
        # a comparison, not DSPy's metric_threshold: DSPy ignores a threshold of 0 and takes the
        # reward's truth value instead, which a negative reward passes
        return base(example, prediction, trace) >= threshold

    engine = EndpointEngine(endpoint, paths, refresh)
    optimizer = dspy.BootstrapFewShot(
        metric=accept,
        max_bootstrapped_demos=opt.max_demos,
        max_labeled_demos=0,
        max_rounds=1,
        max_errors=len(train) + 1,
    )
    by_inputs = {H(ex["inputs"]): ex["event_id"] for ex in train}
    quiet = logging.getLogger("dspy.teleprompt.bootstrap")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a failed train example is skipped; failures are counted in the stats
    try:
        with dspy.context(lm=make_lm(endpoint, engine), adapter=make_adapter()), contextlib.redirect_stdout(sys.stderr):
            compiled = optimizer.compile(
                dspy.Predict(make_signature(spec)), trainset=[_example(dspy, ex) for ex in train]
            )
    finally:
        quiet.setLevel(level)
    if engine.fatal is not None:
        raise engine.fatal
    names = [*input_names(spec), OUTPUT_FIELD]
    demos = []
    for demo in compiled.demos:
        fields = {n: demo[n] for n in names}
        demos.append({"event_id": by_inputs[H({n: fields[n] for n in input_names(spec)})], "fields": fields})
    return {"program": PROGRAM_NAME, "adapter": ADAPTER_NAME, "signature": dict(spec), "demos": demos}, engine.stats


def evaluate_program(
    compiled: Mapping[str, Any],
    examples: Sequence[Mapping[str, Any]],
    endpoint: EndpointConfig,
    paths: Any = None,
    refresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Completion], list[str | None], list[str | None], RunStats]:
    """Run the compiled program on ``examples``: per example the endpoint's completion, the
    completion field the adapter read (None when it could not) and why not (the adapter's or the
    endpoint's reason; None when it could)."""
    program = program_from_compiled(compiled)
    pairs = []
    for ex in examples:
        msgs = program_messages(program, ex["inputs"])
        pairs.append((H(msgs), msgs))
    done, stats = complete_all(endpoint, pairs, paths, refresh=refresh, progress=progress)
    fields: list[str | None] = []
    errors: list[str | None] = []
    for c in done:
        field, why = (None, c.error) if c.text is None else read_output(program, c.text)
        fields.append(field)
        errors.append(why)
    return done, fields, errors, stats


def program_decisions(
    events: pl.DataFrame,
    strategy_id: str,
    done: Sequence[Completion],
    fields: Sequence[str | None],
    errors: Sequence[str | None],
) -> pl.DataFrame:
    """The decisions of an evaluation (``decisions.decisions_from_completions`` of the completion
    fields). ``completion`` holds the field, or the raw output when the adapter could not read it;
    such a row and a failed request are malformed: ``hold``, no predictions, ``format_ok`` false,
    ``format_error`` the reason."""
    texts = [f if f is not None else c.text for f, c in zip(fields, done, strict=True)]
    frame = pl.DataFrame(
        {
            "event_id": events["event_id"],
            "strategy_id": [strategy_id] * events.height,
            "completion": pl.Series(texts, dtype=pl.String),
        }
    )
    out = decisions_from_completions(frame)
    failed = pl.Series("_failed", [e is not None for e in errors], dtype=pl.Boolean)
    keep = ~pl.col("_failed")
    return (
        out.with_columns(failed, pl.Series("_err", list(errors), dtype=pl.String))
        .with_columns(
            pl.when(keep).then(pl.col("action")).otherwise(pl.lit("hold")).alias("action"),
            *[
                pl.when(keep).then(pl.col(c)).otherwise(None).alias(c)
                for c in ("predicted_event_type", "predicted_strength", "predicted_car", "rationale")
            ],
            (pl.col("format_ok") & keep).alias("format_ok"),
            pl.coalesce("_err", "format_error").alias("format_error"),
        )
        .drop("_failed", "_err")
    )


def _sum(a: RunStats, b: RunStats) -> RunStats:
    return RunStats(
        prompts=a.prompts + b.prompts,
        cache_hits=a.cache_hits + b.cache_hits,
        requests=a.requests + b.requests,
        failures=a.failures + b.failures,
        seconds=a.seconds + b.seconds,
    )


def optimize_dspy(
    cfg: DecideConfig,
    opt: DspyOptimizeConfig | None = None,
    paths: Any = None,
    progress: Callable[[int, int], None] | None = None,
    plan: DecidePlan | None = None,
) -> DecideResult:
    """``janus decide --optimize dspy``: compile the decision program for ``cfg.model`` (an
    ``openai:MODEL@URL`` SPEC) on the train split, evaluate it on ``cfg.split`` and return its
    decisions with the lineage (``model_kind`` ``dspy``, the compile record under ``dspy``)
    (module docstring). ``stats`` adds up the compile's and the evaluation's requests."""
    opt = opt or DspyOptimizeConfig()
    dspy = require_dspy()
    spec = parse_model_spec(cfg.model)
    if spec.kind != "openai":
        raise DecideError(
            f"--optimize dspy compiles against an endpoint: the model must be openai:MODEL@URL, not {cfg.model!r}"
        )
    if cfg.split not in EVAL_SPLITS:
        raise DecideError(
            f"the DSPy program is compiled on the train split; decide on a later split "
            f"({', '.join(EVAL_SPLITS)}), not {cfg.split or 'every split'}"
        )
    started = time.perf_counter()
    endpoint = endpoint_config(spec, cfg.endpoint)
    strategy_id = cfg.strategy_id or f"dspy:{spec.model}"
    plan = plan or plan_decisions(cfg, paths)
    sig = signature_spec(plan.template)
    train = decision_examples(plan, train_events(plan.labelled, opt), cfg.prompt, sig)
    compiled, compile_stats = compile_program(sig, train, endpoint, opt, paths, cfg.refresh)
    examples = decision_examples(plan, plan.events, cfg.prompt, sig)
    done, fields, errors, eval_stats = evaluate_program(compiled, examples, endpoint, paths, cfg.refresh, progress)
    decisions = program_decisions(plan.events, strategy_id, done, fields, errors)
    fingerprints = [c.fingerprint or None for c in done]
    validated = decision_records(decisions, plan.rendered, endpoint.model_id, fingerprints)
    metric = dspy_metric(opt.reward)
    # the metric reads what the program answered: the completion field ("" when there was none)
    scores = [metric(ex["labels"], {"completion": field or ""}) for ex, field in zip(examples, fields, strict=True)]
    record = DspyProgramRecord(
        program_name=PROGRAM_NAME,
        signature_versions={SIGNATURE_NAME: signature_version(sig)},
        optimizer=OPTIMIZER_NAME,
        optimizer_config={
            "max_bootstrapped_demos": opt.max_demos,
            "max_labeled_demos": 0,
            "max_rounds": 1,
            "metric_threshold": opt.metric_threshold,
            "train_examples": opt.train_examples,
            "train_split": "train",
        },
        metric={"name": metric.__name__, "reward_config_hash": reward_config_hash(opt.reward)},
        seed=str(opt.seed),
        dataset_hash=H(train),
        train_event_ids=[ex["event_id"] for ex in train],
        compiled_prompt=compiled,
        compiled_prompt_hash=H(compiled),
        evaluation={
            "split": cfg.split,
            "events": len(examples),
            "dataset_hash": H(examples),
            "mean_metric": sum(scores) / len(scores),
            "schema_valid": int(validated["format_ok"].sum()),
        },
        lm={"model_id": endpoint.model_id, "sampling": endpoint.sampling()},
        dspy_version=dspy.__version__,
    )
    lineage = run_lineage(
        cfg,
        plan,
        validated,
        model_id=endpoint.model_id,
        model_kind="dspy",
        strategy_id=strategy_id,
        fingerprints=fingerprints,
        endpoint=endpoint,
    )
    lineage["dspy"] = record.model_dump(mode="json")
    stats = _sum(compile_stats, eval_stats)
    stats.seconds = time.perf_counter() - started
    return DecideResult(decisions=validated, lineage=lineage, stats=stats, fitted=None, labelled=plan.labelled)
