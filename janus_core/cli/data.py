"""``janus data``: bring your own data and look after saved datasets.

- ``janus data import NAME --events F --prices F --benchmarks F --securities F [--exposures F]
  --timezone ZONE --provenance historical_market_replay|synthetic_generated
  [--on-invalid fail|quarantine] [--source S] [--licence L] [--dataset-version V] [--news-cutoff HH:MM]
  [--as-of ISO] [--format parquet|csv|jsonl] [--replace] [--sign-key KEY]``: validate, write the dataset and its
  manifest, register it in the store. An existing NAME is refused unless ``--replace``, which adds
  the import as a new version (``data/NAME/VERSION/``) and keeps the earlier ones. Bad input (strict mode): exit 1, every problem printed, nothing written.
  Quarantine: the good rows are written and the rejected ones go to ``data/NAME/rejected/``.
- ``janus data verify NAME [--trusted-key PUB]``: recompute every hash (and check the attestation);
  ``OK`` (exit 0) or each change (exit 1).
- ``janus data list``: the datasets with a manifest.
- ``janus data register NAME``: rebuild the store views of a saved dataset.
- ``janus data versions NAME`` / ``janus data restore NAME VERSION``: the versions kept on disk, and
  making a kept version current again.
- ``janus data build NAME``: the bundled samples (:mod:`janus_core.samples`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import polars as pl
from tqdm import tqdm

from janus_core import __version__
from janus_core.cli import command_help
from janus_core.data.dataset import (
    Dataset,
    DatasetMeta,
    as_of_problem,
    check_as_of,
    check_news_cutoff,
    check_timezone,
    derive_as_of,
)
from janus_core.data.reading import detect_format
from janus_core.data.rows import (
    TABLE_NAMES,
    DataValidationError,
    FileFormat,
    Provenance,
)
from janus_core.data.tables import DatasetLoad, load_tables
from janus_core.paths import WorkbenchPaths

if TYPE_CHECKING:
    from janus_core.signing import Ed25519PrivateKey

#: Required tables accepted by ``import`` (``exposures`` is optional).
IMPORT_TABLES: tuple[str, ...] = ("events", "prices", "benchmarks", "securities")
DEFAULT_SOURCE = "user data imported with janus data import"
DEFAULT_LICENCE = "unspecified"
#: Problems printed for a quarantine import before referring to the rejected files.
QUARANTINE_LISTED = 50


def _err(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass(frozen=True)
class _ImportPlan:
    """What an import writes where: the workspace, the version id, the signing key, the input files
    and their formats."""

    paths: WorkbenchPaths
    version: str
    sign_key: Ed25519PrivateKey | None
    files: dict[str, Path]
    formats: dict[str, FileFormat]


def _plan_import(args: argparse.Namespace) -> _ImportPlan | int:
    """Check the command line (time zone, cut-off, as-of, name not taken unless ``--replace``, key,
    files present, formats known) before reading any data; an exit code on a problem."""
    from janus_core.data.manifest import list_datasets
    from janus_core.data.versions import next_version

    try:
        check_timezone(args.timezone)
        check_news_cutoff(args.news_cutoff)
        if args.as_of is not None:
            check_as_of(args.as_of)
    except ValueError as exc:
        _err(f"janus data import: {exc}")
        return 2
    paths = WorkbenchPaths.from_env()
    exists = args.name in list_datasets(paths)
    if exists and not args.replace:
        _err(
            f"janus data import: dataset {args.name!r} exists; rule: an import never overwrites a dataset: pass "
            f"--replace to add a new version (the current one stays recoverable), or choose another name"
        )
        return 2
    version = args.dataset_version or (next_version(args.name, paths) if exists else "1")
    sign_key = None
    if args.sign_key is not None:
        from janus_core.signing import SignatureError, load_private_key

        try:
            sign_key = load_private_key(args.sign_key)
        except SignatureError as exc:
            _err(f"janus data import: {exc}")
            return 2
    files = {t: Path(getattr(args, t)) for t in TABLE_NAMES if getattr(args, t) is not None}
    missing = [f"--{t} {f}" for t, f in files.items() if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"file(s) not found: {', '.join(missing)}; nothing written")
    try:
        formats: dict[str, FileFormat] = {t: args.format or detect_format(f) for t, f in files.items()}
    except ValueError as exc:
        _err(str(exc))
        return 2
    return _ImportPlan(paths, version, sign_key, files, formats)


def _print_problems(problems: pl.DataFrame) -> None:
    for problem in problems.head(QUARANTINE_LISTED).iter_rows(named=True):
        _err(f"{problem['file']}:{problem['row']}: {problem['column']}: {problem['rule']}: {problem['message']}")


def _load_import(args: argparse.Namespace, plan: _ImportPlan, bar: tqdm) -> DatasetLoad | int:
    """Read and validate the files (:func:`janus_core.data.tables.load_tables`); in strict mode every
    problem is printed and nothing is written (exit 1), as when a required table keeps no valid row."""

    def step(table: str) -> None:
        bar.set_postfix_str(table)
        bar.update()

    try:
        load = load_tables(
            plan.files, timezone=args.timezone, on_invalid=args.on_invalid, formats=plan.formats, progress=step
        )
    except DataValidationError as exc:
        bar.close()
        for problem in exc.problems:
            _err(str(problem))
        _err(
            f"{exc.problem_frame.height} problem(s); nothing written (use --on-invalid quarantine to keep the good rows)"
        )
        return 1
    empty = [t for t in IMPORT_TABLES if load.tables[t].frame.height == 0]
    if empty:
        bar.close()
        _print_problems(load.problems)
        _err(f"no valid rows left in {', '.join(empty)}; nothing written")
        return 1
    return load


def _save_import(
    args: argparse.Namespace, plan: _ImportPlan, load: DatasetLoad, bar: tqdm
) -> tuple[DatasetMeta, Path] | int:
    """Save the good rows (and a quarantine's rejected rows) as the new version with its manifest and
    register it in the store; an exit code (and one line on stderr) when that cannot be done."""
    from janus_core.data.manifest import save_dataset
    from janus_core.data.store import StoreError, register_dataset
    from janus_core.data.versions import DatasetExistsError

    frames = load.frames()
    late = as_of_problem(args.as_of, frames) if args.as_of is not None else None
    if late is not None:
        bar.close()
        _err(f"janus data import: {late}; nothing written")
        return 2
    meta = DatasetMeta(
        name=args.name,
        version=plan.version,
        provenance=args.provenance,
        exchange_timezone=args.timezone,
        news_cutoff=args.news_cutoff,
        as_of=args.as_of or derive_as_of(frames),
    )
    production = {
        "importer": "janus data import",
        "janus_core_version": __version__,
        "on_invalid": args.on_invalid,
        "inputs": {
            t: {"file": f.name, "format": plan.formats[t], "sha256": load.tables[t].sha256}
            for t, f in sorted(plan.files.items())
        },
    }
    try:
        manifest = save_dataset(
            Dataset(meta=meta, **frames),
            plan.paths,
            source=args.source,
            licence=args.licence,
            production=production,
            rejected=load.rejected(),
            replace=args.replace,
            sign_key=plan.sign_key,
        )
        register_dataset(args.name, plan.paths)
    except DatasetExistsError as exc:
        bar.close()
        _err(f"janus data import: {exc}")
        return 2
    except (DataValidationError, ValueError, OSError) as exc:
        bar.close()
        _err(f"could not write dataset {args.name!r}: {exc}")
        return 1
    except StoreError as exc:
        bar.close()
        _err(
            f"dataset {args.name!r} written, but not registered in the store: {exc}\n"
            f"retry with: janus data register {args.name}"
        )
        return 1
    return meta, manifest


def _handle_import(args: argparse.Namespace) -> int:
    plan = _plan_import(args)
    if isinstance(plan, int):
        return plan
    with tqdm(
        total=len(plan.files) + 1, desc=f"import {args.name}", unit="table", disable=None, file=sys.stderr
    ) as bar:
        load = _load_import(args, plan, bar)
        if isinstance(load, int):
            return load
        saved = _save_import(args, plan, load, bar)
        if isinstance(saved, int):
            return saved
        bar.set_postfix_str("written")
        bar.update()
    meta, manifest = saved
    counts = load.counts()
    written = ", ".join(f"{t} {c['accepted']:,}" for t, c in counts.items())
    unknown = counts["events"].get("unknown_event_type", 0)
    rejected = {t: c["rejected"] for t, c in counts.items() if c["rejected"]}
    folder = plan.paths.dataset_dir(args.name) / plan.version
    if rejected:
        _print_problems(load.problems)
        if load.problems.height > QUARANTINE_LISTED:
            _err(f"... and {load.problems.height - QUARANTINE_LISTED} more problems")
        print(
            f"quarantined {sum(rejected.values()):,} rejected row(s) ("
            + ", ".join(f"{t} {n:,}" for t, n in rejected.items())
            + f") with reasons -> {folder / 'rejected'}"
        )
    print(
        f"imported {args.name} version {plan.version} ({args.provenance}, as of {meta.as_of}): {written} rows, "
        f"{unknown:,} event(s) of unknown type -> {folder}, manifest {manifest}"
    )
    return 0


def _handle_verify(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import read_manifest, verify_dataset
    from janus_core.signing import SignatureError, load_public_key

    try:
        trusted = [load_public_key(k) for k in args.trusted_key] if args.trusted_key else None
    except SignatureError as exc:
        _err(f"janus data verify: {exc}")
        return 2
    paths = WorkbenchPaths.from_env()
    read_manifest(args.name, paths)  # an unknown dataset is an error naming the known ones, not a finding
    findings = verify_dataset(args.name, paths, trusted)
    if not findings:
        print("OK")
        return 0
    for finding in findings:
        print(f"{args.name}: {finding}")
    return 1


def _handle_list(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import (
        DatasetIntegrityError,
        list_datasets,
        read_manifest,
    )

    paths = WorkbenchPaths.from_env()
    names = list_datasets(paths)
    if not names:
        print(f"no datasets (no manifests in {paths.manifest_dir})")
    for name in names:
        try:
            m = read_manifest(name, paths)
            rows = ", ".join(f"{t} {e.rows:,}" for t, e in sorted(m.tables.items()))
            print(f"{name}\tversion {m.version}\t{m.provenance}\tsnapshot {m.snapshot_hash[:12]}\t{rows}")
        except (ValueError, KeyError, TypeError, DatasetIntegrityError) as exc:
            print(f"{name}\tunreadable manifest: {exc}")
    return 0


def _handle_versions(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import read_manifest
    from janus_core.data.versions import dataset_versions

    paths = WorkbenchPaths.from_env()
    try:
        current = read_manifest(args.name, paths).version
    except (FileNotFoundError, ValueError) as exc:
        current = None
        _err(f"janus data versions: {exc}")
    versions = dataset_versions(args.name, paths)
    if current is not None and current not in versions:
        versions.append(current)  # a dataset saved before versioned folders: its one version
    if not versions:
        return 1
    for version in versions:
        print(f"{args.name}\tversion {version}" + ("\tcurrent" if version == current else ""))
    return 0


def _handle_restore(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import DatasetIntegrityError, restore_version
    from janus_core.data.store import StoreError, register_dataset

    paths = WorkbenchPaths.from_env()
    try:
        manifest = restore_version(args.name, args.version, paths)
        register_dataset(args.name, paths)
    except (FileNotFoundError, DatasetIntegrityError, StoreError, OSError) as exc:
        _err(f"janus data restore: {exc}")
        return 1
    print(f"restored {args.name} version {args.version} as current: manifest {manifest}")
    return 0


def _handle_register(args: argparse.Namespace) -> int:
    from janus_core.data.manifest import DatasetIntegrityError
    from janus_core.data.store import StoreError, register_dataset

    try:
        views = register_dataset(args.name, WorkbenchPaths.from_env())
    except (FileNotFoundError, StoreError, DatasetIntegrityError) as exc:
        _err(str(exc))
        return 1
    print(f"registered {args.name}: views {', '.join(views)}")
    return 0


def _add_import_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``janus data import`` (one argument per line: the builder is long, not complex)."""
    imp = sub.add_parser("import", help="validate tables and save them as a dataset with a manifest")
    imp.add_argument("name", help="dataset name (letters, digits, '.', '_', '-')")
    for table in TABLE_NAMES:
        imp.add_argument(
            f"--{table}",
            required=table in IMPORT_TABLES,
            metavar="FILE",
            help=f"{table} table (.parquet, .csv or .jsonl)" + ("" if table in IMPORT_TABLES else ", optional"),
        )
    imp.add_argument("--timezone", required=True, help="exchange time zone (IANA), used for times without offset")
    imp.add_argument(
        "--provenance",
        required=True,
        choices=get_args(Provenance),
        help="where the prices come from: real market history or generated data",
    )
    imp.add_argument(
        "--on-invalid",
        choices=("fail", "quarantine"),
        default="fail",
        help="fail: write nothing on any problem (default); quarantine: keep good rows, write rejected ones",
    )
    imp.add_argument(
        "--format",
        choices=("parquet", "csv", "jsonl"),
        default=None,
        help="format of every input file (default: from each file's extension)",
    )
    imp.add_argument("--source", default=DEFAULT_SOURCE, help="where the data comes from (recorded in the manifest)")
    imp.add_argument("--licence", default=DEFAULT_LICENCE, help=f"the data's licence (default: {DEFAULT_LICENCE})")
    imp.add_argument(
        "--dataset-version",
        default=None,
        metavar="V",
        help="version id of this import (default: 1 for a new dataset, the next number with --replace)",
    )
    imp.add_argument(
        "--sign-key",
        default=None,
        metavar="KEY",
        help="attest the dataset manifest with this Ed25519 private key (janus keygen)",
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="the dataset exists: add this import as its new current version (earlier versions are kept: "
        "janus data versions / janus data restore)",
    )
    imp.add_argument("--news-cutoff", default="09:30", help="point-in-time news cut-off, exchange local HH:MM")
    imp.add_argument("--as-of", default=None, help="as-of time (default: the latest event or price in the data)")
    imp.set_defaults(handler=_handle_import)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register ``janus data {import,verify,list,register,build}``."""
    from janus_core.data.samples import add_build_parser

    data = subparsers.add_parser("data", help=command_help("data"), description=command_help("data"))
    sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    _add_import_parser(sub)

    ver = sub.add_parser("verify", help="recompute a dataset's hashes and name what changed")
    ver.add_argument("name", help="dataset name (data_manifests/NAME.json)")
    ver.add_argument(
        "--trusted-key",
        action="append",
        default=None,
        metavar="PUB",
        help="require the dataset's attestation to be signed by this public key (repeatable)",
    )
    ver.set_defaults(handler=_handle_verify)

    lst = sub.add_parser("list", help="datasets with a manifest")
    lst.set_defaults(handler=_handle_list)

    vers = sub.add_parser("versions", help="the versions of a dataset kept on disk")
    vers.add_argument("name", help="dataset name (data_manifests/NAME.json)")
    vers.set_defaults(handler=_handle_versions)

    res = sub.add_parser("restore", help="make a kept version of a dataset current again")
    res.add_argument("name", help="dataset name (data_manifests/NAME.json)")
    res.add_argument("version", help="a kept version id (janus data versions NAME)")
    res.set_defaults(handler=_handle_restore)

    reg = sub.add_parser("register", help="(re)create a saved dataset's views in the DuckDB store")
    reg.add_argument("name", help="dataset name (data_manifests/NAME.json)")
    reg.set_defaults(handler=_handle_register)

    add_build_parser(sub)
