"""``janus backtest``: the paper's portfolio backtest of one candidate from the command line (the
headless counterpart of ``notebooks/backtest.py``).

``janus backtest --dataset NAME --decisions POLICY|PATH --out DIR [--holding-period N]
[--round-trip-cost-bps X] [--splits test] [--strategy-id ID] [--candidate-id ID] [--no-record]``:

1. runs the default event study on the dataset (``car.car_study``: CAR, labels, splits) and takes
   the decisions of a baseline policy (``policies.POLICIES``) or of a decisions file (one strategy:
   the only one in the file, or ``--strategy-id``);
2. backtests the decisions on the included events of ``--splits`` (default ``test``, the paper's
   window) with ``BacktestConfig.for_labels`` (the holding period follows the label window unless
   ``--holding-period`` is given);
3. records the run in the trials ledger of the research store (``store.record_trial``, kind
   ``backtest``; ``--no-record`` leaves the store alone) and deflates its Sharpe ratio by the
   candidate's trials on the dataset (``metrics.deflated_sharpe_of_returns``);
4. writes ``DIR/trades.parquet`` (one row per decision: ``status`` ``executed`` or
   ``not_entered:<reason>``), ``DIR/nav.parquet`` (``date, nav`` and the daily returns, exposure,
   positions and cost) and ``DIR/metrics.json`` (canonical JSON: the paper's metrics from
   ``studies.backtest_summary``, the config and its hash, and the ``trials`` section, which
   depends on the ledger at run time) into a temporary sibling folder that is then renamed to
   DIR. An existing DIR is replaced only when it is an earlier ``janus backtest`` output.

Exit 0 on success, 2 on a user mistake (one line on stderr naming the flag, file or rule).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from janus_core.cli import command_help
from janus_core.cli.options import add_dataset
from janus_core.paths import WorkbenchPaths

if TYPE_CHECKING:  # the types only: the libraries load when the command runs
    from janus_core.backtest.engine import BacktestResult
    from janus_core.data.dataset import Dataset

OUTPUT_KIND = "janus-backtest"
OUTPUT_FILES: frozenset[str] = frozenset({"trades.parquet", "nav.parquet", "metrics.json"})


class UserError(ValueError):
    """A mistake in the command's arguments or inputs, reported on one line."""


def _one_line(exc: BaseException) -> str:
    """The first line of an error, with the number of further problems of a data error."""
    from janus_core.data.rows import DataValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        return f"invalid settings: {where}: {first['msg']}"
    if isinstance(exc, DataValidationError):
        problems = exc.problems
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        return f"{problems[0]}{more}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _jsonable(value: Any) -> Any:
    """Plain JSON values: non-finite floats become null, dates ISO text, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def check_out_dir(out: Path) -> None:
    """``out`` may be written: absent, an empty folder, or an earlier ``janus backtest`` output
    (only its three files, ``metrics.json`` of kind ``janus-backtest``); anything else is refused so
    that no folder the command did not write is ever replaced."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    names = {p.name for p in out.iterdir()}
    if not names:
        return
    kind = None
    if names <= OUTPUT_FILES and "metrics.json" in names:
        try:
            kind = json.loads((out / "metrics.json").read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
    if kind != OUTPUT_KIND:
        extra = sorted(names - OUTPUT_FILES)[:3]
        raise UserError(
            f"--out {out}: exists and is not a janus backtest output folder"
            + (f" (it holds {', '.join(extra)})" if extra else "")
            + "; choose another folder or empty it yourself"
        )


def _decisions(ref: str, labelled: Any, strategy_id: str | None) -> tuple[Any, str, str]:
    """The decisions of ``ref`` (a policy name or a decisions file) for one strategy, their
    reference (``policy:NAME`` or ``decisions:sha256:HEX``) and the default candidate id."""
    from janus_core.decide.decisions import load_decisions
    from janus_core.decide.policies import POLICIES, make_decisions
    from janus_core.hashing import sha256_file

    if ref in POLICIES:
        decisions, source, default_id = make_decisions(ref, labelled), f"policy:{ref}", ref
    else:
        path = Path(ref)
        if not path.is_file():
            raise UserError(f"--decisions {ref!r}: neither a policy ({', '.join(POLICIES)}) nor a decisions file")
        decisions, source, default_id = load_decisions(path), f"decisions:sha256:{sha256_file(path)}", None
    present = sorted(decisions.get_column("strategy_id").drop_nulls().unique().to_list())
    if strategy_id is not None:
        if strategy_id not in present:
            raise UserError(f"--strategy-id {strategy_id!r}: not in {ref} (strategies: {', '.join(present[:10])})")
        decisions = decisions.filter(decisions.get_column("strategy_id") == strategy_id)
    elif len(present) != 1:
        raise UserError(
            f"--decisions {ref}: column strategy_id has {len(present)} strategies "
            f"({', '.join(present[:10])}); pick one with --strategy-id"
        )
    return decisions, source, default_id or (strategy_id or present[0])


def run(args: argparse.Namespace, paths: WorkbenchPaths) -> dict[str, Any]:
    """Compute, record and write one ``janus backtest`` (module docstring); returns metrics.json's
    content. User mistakes raise :class:`UserError` (or a validation error) before anything is
    written."""
    from janus_core.backtest import config, studies
    from janus_core.backtest import engine as backtest
    from janus_core.backtest.metrics import BootstrapConfig
    from janus_core.data.manifest import load_dataset
    from janus_core.decide.policies import PolicyConfig
    from janus_core.hashing import H
    from janus_core.study.car import CarConfig
    from janus_core.study.labels import LabelConfig, SplitConfig, car_study

    out = Path(args.out)
    check_out_dir(out)
    label_cfg = (
        LabelConfig() if args.round_trip_cost_bps is None else LabelConfig(round_trip_cost_bps=args.round_trip_cost_bps)
    )
    car_cfg, split_cfg, policy_cfg, boot = CarConfig(), SplitConfig(), PolicyConfig(), BootstrapConfig()
    overrides = {
        "round_trip_cost_bps": label_cfg.round_trip_cost_bps,  # one cost for labels and trades
        **({} if args.holding_period is None else {"holding_period": args.holding_period}),
    }
    splits = sorted({s.strip() for s in args.splits.split(",") if s.strip()})
    config.BacktestConfig.for_labels(car_cfg, **overrides)  # bad settings fail before any work
    ds = load_dataset(args.dataset, paths)
    labelled = car_study(ds, car_cfg, label_cfg, split_cfg)
    decisions, source, default_id = _decisions(args.decisions, labelled, args.strategy_id)
    candidate = args.candidate_id or default_id
    chosen, start, end = studies.split_window(labelled, decisions, splits)
    cfg = config.BacktestConfig.for_labels(car_cfg, start=start, end=end, **overrides)
    weights = backtest.historical_type_weights(labelled) if cfg.weighting == "type" else None
    result = backtest.run_backtest(ds, chosen, labelled, cfg, weights)
    summary = studies.backtest_summary(result, chosen, labelled, boot)

    resolved = {
        "backtest": cfg.model_dump(mode="json"),
        "car": car_cfg.model_dump(mode="json"),
        "label": label_cfg.model_dump(mode="json"),
        "split": split_cfg.model_dump(mode="json"),
        "policy": policy_cfg.model_dump(mode="json") if source.startswith("policy:") else None,
        "decisions": source,
        "splits": splits,
    }
    config_hash = H(_jsonable(resolved))
    trials = _trials(args, ds, candidate, config_hash, result, summary, paths)
    document = _jsonable(
        {
            "kind": OUTPUT_KIND,
            "dataset": ds.meta.name,
            "dataset_snapshot_hash": ds.meta.snapshot_hash,
            "decisions_ref": source,
            "candidate_id": candidate,
            "window": {"splits": splits, "start": start, "end": end},
            "config": resolved,
            "config_hash": config_hash,
            "bootstrap": boot.model_dump(mode="json"),
            **summary,
            "trials": trials,
        }
    )
    _write(out, result, document)
    return document


def _trials(
    args: argparse.Namespace,
    ds: Dataset,
    candidate: str,
    config_hash: str,
    result: BacktestResult,
    summary: dict[str, Any],
    paths: WorkbenchPaths,
) -> dict[str, Any]:
    """The ``trials`` section: the run recorded in the trials ledger (unless ``--no-record``) and
    its Sharpe ratio deflated by the candidate's trials on the dataset."""
    from janus_core.backtest.overfitting import deflated_sharpe_of_returns
    from janus_core.data import store

    returns = result.nav.get_column("daily_return").drop_nulls()
    trials: dict[str, Any] = {"recorded": not args.no_record}
    if args.no_record or returns.len() < 2:
        return trials
    moments = summary["return_moments"]
    store.record_trial(
        store.TrialRecord(
            created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            dataset=ds.meta.name,
            dataset_snapshot_hash=ds.meta.snapshot_hash,
            candidate_id=candidate,
            config_hash=config_hash,
            kind="backtest",
            sharpe=float(result.metrics["sharpe"]),
            n_returns=int(moments["n_returns"]),
            skew=float(moments["skew"]),
            kurtosis=float(moments["kurtosis"]),
            metrics=_jsonable(summary["portfolio"]),
        ),
        paths,
    )
    n_trials = store.trial_count(ds.meta.name, candidate, paths)
    variance = store.trial_sharpe_variance(ds.meta.name, candidate, paths)
    trials.update(n_trials=n_trials, sharpe_variance=variance)
    try:
        trials.update(deflated=deflated_sharpe_of_returns(returns, n_trials, variance))
    except ValueError as exc:
        trials.update(deflated=None, note=_one_line(exc))
    return trials


def _write(out: Path, result: BacktestResult, document: dict[str, Any]) -> None:
    """``trades.parquet``, ``nav.parquet`` and ``metrics.json`` written to ``out`` atomically."""
    from janus_core.evidence.output import write_tree_atomically
    from janus_core.hashing import canonical_json

    def parquet(frame: Any) -> bytes:
        buf = io.BytesIO()
        frame.write_parquet(buf)
        return buf.getvalue()

    write_tree_atomically(
        out,
        {
            "trades.parquet": parquet(result.trades),
            "nav.parquet": parquet(result.nav),
            "metrics.json": (canonical_json(document) + "\n").encode("utf-8"),
        },
        check_target=check_out_dir,
    )


def _handle(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import DatasetIntegrityError
    from janus_core.data.store import StoreError

    try:
        doc = run(args, WorkbenchPaths.from_env())
    except (UserError, ValidationError, ValueError, FileNotFoundError, DatasetIntegrityError, StoreError) as exc:
        print(f"janus backtest: {_one_line(exc)}", file=sys.stderr)
        return 2
    p, t = doc["portfolio"], doc["trials"]
    interval = doc["sharpe_interval"]
    ci = f" [{interval['lo']:.2f}, {interval['hi']:.2f}]" if interval else ""
    deflated = t.get("deflated")
    trial_text = (
        f", {t['n_trials']} trial(s), DSR {deflated['dsr']:.3f}"
        if deflated
        else ", not recorded"
        if not t["recorded"]
        else ""
    )
    print(
        f"{doc['candidate_id']} on {doc['dataset']} ({', '.join(doc['window']['splits'])}): Sharpe {p['sharpe']:.2f}{ci}, "
        f"{p['n_executed']} of {p['n_decisions']} decisions executed, {p['n_carried']} carried{trial_text} -> {args.out}"
    )
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("backtest", help=command_help("backtest"), description=command_help("backtest"))
    add_dataset(p)
    p.add_argument("--decisions", required=True, help="a baseline policy name or a decisions file path")
    p.add_argument("--out", required=True, help="output folder (written to a temp folder, then renamed)")
    p.add_argument(
        "--holding-period",
        type=int,
        default=None,
        help="trading days held (default: follows the label window, 3 for [0, 2])",
    )
    p.add_argument(
        "--round-trip-cost-bps",
        type=float,
        default=None,
        metavar="BPS",
        help="round-trip trading cost in basis points, for the labels' tau and the trades (half per "
        "side); default: LabelConfig's 15",
    )
    p.add_argument("--splits", default="test", help="comma-separated chronological splits to backtest (default test)")
    p.add_argument("--strategy-id", default=None, help="pick one strategy of a decisions file")
    p.add_argument("--candidate-id", default=None, help="name in the trials ledger (default: policy or strategy id)")
    p.add_argument("--no-record", action="store_true", help="do not record the run in the trials ledger")
    p.set_defaults(handler=_handle)
