"""``janus decide``: a model's decisions on a dataset's events, as a decisions file with lineage.

``janus decide --dataset NAME --model SPEC --out DECISIONS.parquet [--split test] [--limit N]
[--refresh] [--strategy-id ID] [--template NAME-or-PATH] [--model-out PATH]
[--concurrency N] [--requests-per-second R] [--timeout S] [--max-retries N] [--backoff S]
[--temperature T] [--seed N] [--max-tokens N] [--api-key-env NAME] [--fingerprint FP]
[--optimize dspy [--train-examples N] [--max-demos N] [--metric-threshold X] [--optimizer-seed N]]``

SPEC is ``text-baseline`` (fitted on the train split; the fitted model is written to ``--model-out``,
default ``DECISIONS.text-baseline.json`` next to the decisions), ``text-baseline:PATH`` (a saved
model), ``openai:MODEL@URL`` (an OpenAI-compatible endpoint; the key comes from the environment
variable ``--api-key-env``, default ``OPENAI_API_KEY``; completions are cached in the research store,
``--refresh`` asks again) or ``module:function`` (``function(messages) -> str``). The endpoint flags
apply to ``openai:`` models only. The file is accepted by ``janus export --decisions``, whose
evidence then names the model in ``lineage.model_refs`` (:mod:`janus_core.decide.lineage`).
``--optimize dspy`` (an ``openai:`` model, the optional dependency group ``dspy``) compiles the DSPy
decision program against the endpoint on the train split, decides the chosen split with it and
writes its compile record into the lineage (:mod:`janus_core.decide.dspy_program`), which
``janus export --dspy-bundle`` turns into the bundle's compile result; without DSPy it exits 2
naming ``uv sync --group dspy``.
Prints what was written, the malformed count, and the run's requests, cache hits and failures.
Exit 0 on success, 2 on a bad argument, dataset, model or unreachable endpoint (one line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from janus_core.cli import command_help
from janus_core.cli.options import add_dataset
from janus_core.paths import WorkbenchPaths

if TYPE_CHECKING:  # the types only: the libraries load when the command runs
    from janus_core.decide.dspy_program import DspyOptimizeConfig
    from janus_core.decide.models import DecideConfig, DecideResult

#: CLI flag (argparse dest) -> EndpointConfig field.
ENDPOINT_FLAGS: dict[str, str] = {
    "concurrency": "concurrency",
    "requests_per_second": "requests_per_second",
    "timeout": "timeout_s",
    "max_retries": "max_retries",
    "backoff": "backoff_s",
    "temperature": "temperature",
    "seed": "seed",
    "max_tokens": "max_tokens",
    "api_key_env": "api_key_env",
    "fingerprint": "fingerprint",
}

#: CLI flag (argparse dest) -> DspyOptimizeConfig field.
DSPY_FLAGS: dict[str, str] = {
    "train_examples": "train_examples",
    "max_demos": "max_demos",
    "metric_threshold": "metric_threshold",
    "optimizer_seed": "seed",
}


def default_model_out(out: Path) -> Path:
    """``DIR/NAME.text-baseline.json`` for ``--out DIR/NAME.parquet``."""
    return out.with_name(out.stem + ".text-baseline.json")


class _Refused(ValueError):
    """A bad argument or setting, reported as ``janus decide: <message>`` with exit 2."""


def _dspy_config(args: argparse.Namespace) -> DspyOptimizeConfig | None:
    """The ``DspyOptimizeConfig`` of ``--optimize dspy`` (None without it); DSPy missing, an
    invalid optimizer setting or an optimizer flag without ``--optimize dspy`` is refused."""
    if args.optimize != "dspy":
        if any(getattr(args, dest) is not None for dest in DSPY_FLAGS):
            raise _Refused(
                "--train-examples, --max-demos, --metric-threshold and --optimizer-seed apply to --optimize dspy only"
            )
        return None
    from janus_core.decide.dspy_program import DSPY_GROUP_HINT, DspyOptimizeConfig, dspy_installed

    if not dspy_installed():
        raise _Refused(f"--optimize dspy needs DSPy, which is not installed; run `{DSPY_GROUP_HINT}`")
    try:
        return DspyOptimizeConfig(
            **{field: getattr(args, dest) for dest, field in DSPY_FLAGS.items() if getattr(args, dest) is not None}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _Refused(f"invalid setting {'.'.join(str(x) for x in first['loc'])}: {first['msg']}") from None


def _decide_config(args: argparse.Namespace, out: Path) -> DecideConfig:
    """The ``DecideConfig`` of the flags; an invalid setting or a non-Parquet ``--out`` is refused."""
    from janus_core.decide.models import DecideConfig
    from janus_core.decide.prompts import PromptConfig

    endpoint = {field: getattr(args, dest) for dest, field in ENDPOINT_FLAGS.items() if getattr(args, dest) is not None}
    try:
        cfg = DecideConfig(
            dataset=args.dataset,
            model=args.model,
            split=None if args.split == "all" else args.split,
            limit=args.limit,
            strategy_id=args.strategy_id,
            refresh=args.refresh,
            prompt=PromptConfig(template=args.template),
            endpoint=endpoint,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise _Refused(f"invalid setting {where}: {first['msg']}") from None
    if out.suffix.lower() != ".parquet":
        raise _Refused(f"--out {out}: the decisions file is Parquet; name it *.parquet")
    return cfg


def _decide(cfg: DecideConfig, opt: DspyOptimizeConfig | None, progress: Callable[[int, int], None]) -> DecideResult:
    """The model's decisions (``decide``, or ``optimize_dspy`` with ``opt``); a bad dataset, model
    or unreachable endpoint is refused with its first line."""
    from janus_core.data.manifest import DatasetIntegrityError
    from janus_core.data.store import StoreError
    from janus_core.decide.completions import EndpointError
    from janus_core.decide.lineage import LineageError
    from janus_core.decide.models import DecideError, decide
    from janus_core.decide.prompts import PromptError
    from janus_core.decide.text_baseline import TextBaselineError

    errors: tuple[type[Exception], ...] = (
        DecideError,
        PromptError,
        TextBaselineError,
        EndpointError,
        LineageError,
        StoreError,
        DatasetIntegrityError,
        FileNotFoundError,
        ValidationError,
        ValueError,
    )
    try:
        if opt is not None:
            import dspy

            from janus_core.decide.dspy_program import optimize_dspy

            errors = (*errors, dspy.utils.exceptions.DSPyError)
            return optimize_dspy(cfg, opt, WorkbenchPaths.from_env(), progress)
        return decide(cfg, WorkbenchPaths.from_env(), progress)
    except errors as exc:
        raise _Refused(str(exc)) from None


def _handle(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from janus_core.decide.lineage import write_decisions

    out = Path(args.out)
    try:
        opt = _dspy_config(args)
        cfg = _decide_config(args, out)
    except _Refused as exc:
        print(f"janus decide: {exc}", file=sys.stderr)
        return 2
    bar = tqdm(total=0, desc=f"decide {args.model}", unit="event", disable=None, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        result = _decide(cfg, opt, progress)
    except _Refused as exc:
        bar.close()
        print(f"janus decide: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    bar.close()
    model_path = None
    if result.fitted is not None and args.model == "text-baseline":
        model_path = result.fitted.save(Path(args.model_out) if args.model_out else default_model_out(out))
    sealed = write_decisions(result.decisions, result.lineage, out)
    _print_summary(args, out, result, sealed, model_path)
    return 0


def _print_summary(
    args: argparse.Namespace, out: Path, result: DecideResult, sealed: dict[str, Any], model_path: Path | None
) -> None:
    """What was written, the malformed count, and the run's requests, cache hits and failures."""
    s = result.stats
    print(f"{sealed['decisions']} decisions by {sealed['model_id']} on {args.dataset} ({args.split} split) -> {out}")
    print(
        f"  malformed {sealed['malformed']}, template {sealed['template']['name']} "
        f"sha256 {sealed['template']['sha256'][:16]}, decisions content {sealed['decisions_content_hash'][:16]}"
    )
    if result.fitted is not None:
        print(f"  fitted model sha256 {result.fitted.sha256}" + (f" -> {model_path}" if model_path else ""))
    if sealed["model_kind"] == "dspy":
        rec = sealed["dspy"]
        ev = rec["evaluation"]
        print(
            f"  {rec['program_name']} compiled by {rec['optimizer']} on {len(rec['train_event_ids'])} train events "
            f"(seed {rec['seed']}): {len(rec['compiled_prompt']['demos'])} demo(s), compiled prompt sha256 "
            f"{rec['compiled_prompt_hash'][:16]}, dataset sha256 {rec['dataset_hash'][:16]}"
        )
        print(
            f"  {ev['split']} split: mean {rec['metric']['name']} {ev['mean_metric']:.4f} over {ev['events']} events, "
            f"{ev['schema_valid']} well-formed; export with janus export --dspy-bundle --decisions {out}"
        )
    if sealed["model_kind"] in ("openai", "dspy"):
        rate = f", {s.requests_per_second:.1f} requests/s" if s.requests_per_second else ""
        hit_rate = f" ({s.cache_hit_rate:.0%})" if s.cache_hit_rate is not None else ""
        print(
            f"  prompts {s.prompts}, cache hits {s.cache_hits}{hit_rate}, requests {s.requests}, "
            f"failed after retries {s.failures}, {s.seconds:.1f} s{rate}"
        )
        if s.failures:
            print(
                f"  {s.failures} prompt(s) failed after retries: recorded as malformed, not cached; "
                "re-run to retry them"
            )


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("decide", help=command_help("decide"), description=command_help("decide"))
    add_dataset(p)
    p.add_argument(
        "--model", required=True, help="text-baseline | text-baseline:PATH | openai:MODEL@URL | module:function"
    )
    p.add_argument("--out", required=True, help="decisions file to write (.parquet)")
    p.add_argument(
        "--split",
        choices=("historical", "train", "validation", "test", "all"),
        default="test",
        help="events to decide on (default test; text-baseline fits on train, so validation or test)",
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N events of the split, in time order")
    p.add_argument("--refresh", action="store_true", help="ask the endpoint again even for cached prompts")
    p.add_argument("--strategy-id", default=None, help="strategy_id of the decisions (default from the SPEC)")
    p.add_argument("--template", default="decision-v1", help="prompt template name (janus_core/templates) or path")
    p.add_argument(
        "--model-out", default=None, help="where to save a fitted text baseline (default DECISIONS.text-baseline.json)"
    )
    e = p.add_argument_group(
        "endpoint (openai:MODEL@URL only; defaults in janus_core.decide.completions.EndpointConfig)"
    )
    e.add_argument("--concurrency", type=int, default=None, help="requests in flight (default 4)")
    e.add_argument("--requests-per-second", type=float, default=None, help="cap on request starts per second")
    e.add_argument("--timeout", type=float, default=None, help="seconds per response before a retry (default 120)")
    e.add_argument(
        "--max-retries", type=int, default=None, help="retries on 408/429/5xx, timeouts, bad bodies (default 5)"
    )
    e.add_argument("--backoff", type=float, default=None, help="first retry wait in seconds, doubling (default 1)")
    e.add_argument("--temperature", type=float, default=None, help="default 0")
    e.add_argument("--seed", type=int, default=None, help="sampling seed (default 20260219)")
    e.add_argument("--max-tokens", type=int, default=None, help="default 1024")
    e.add_argument("--api-key-env", default=None, help="environment variable holding the key (default OPENAI_API_KEY)")
    e.add_argument("--fingerprint", default=None, help="use only cached completions of this system_fingerprint")
    d = p.add_argument_group(
        "DSPy (--optimize dspy only; defaults in janus_core.decide.dspy_program.DspyOptimizeConfig)"
    )
    d.add_argument(
        "--optimize",
        choices=("dspy",),
        default=None,
        help="compile the DSPy decision program against the openai: model on the train split, then "
        "decide with it (needs `uv sync --group dspy`)",
    )
    d.add_argument("--train-examples", type=int, default=None, help="train events offered to the optimizer (default 8)")
    d.add_argument("--max-demos", type=int, default=None, help="demos of the compiled program (default 2)")
    d.add_argument(
        "--metric-threshold",
        type=float,
        default=None,
        help="least HGRM reward of a train answer kept as a demo (default 0.5)",
    )
    d.add_argument("--optimizer-seed", type=int, default=None, help="seed of the train-event draw (default 20260219)")
    p.set_defaults(handler=_handle)
