"""Robustness sweeps: every configuration of a grid through the research pipeline, with the
overfitting statistics of the search.

A **grid file** (TOML, :func:`parse_grid`) names values per parameter of the step configs, in four
tables: ``[car]`` (:class:`~janus_core.study.car.CarConfig`), ``[labels]``
(:class:`~janus_core.study.labels.LabelConfig` and :class:`~janus_core.study.labels.SplitConfig`,
whose field names are disjoint), ``[reward]`` (:class:`~janus_core.decide.reward.HgrmConfig`) and
``[backtest]`` (:class:`~janus_core.backtest.engine.BacktestConfig`)::

    [car]
    event_window = [[0, 1], [0, 2]]           # a list of values (a tuple field takes a list of lists)
    estimation_window = 120                   # one value
    [labels]
    neutral_band = {start = 0.0, stop = 0.001, step = 0.00025}   # a range, stop included
    [backtest]
    round_trip_cost_bps = [0, 10, 20]
    position_cap = ["none", 1.0]              # "none" is None for a field that accepts it

A range ``{start, stop, step}`` is ``start + i * step`` for ``i = 0, 1, ...`` while it does not
pass ``stop`` (stop included when it falls on the grid), in exact decimal arithmetic (so
``0.1`` steps give ``0.3``, not ``0.30000000000000004``); all-integer bounds give integers. Refused
before anything runs, each with the parameter named: an unknown table or field, a field the sweep
sets itself (``car.threads``, which never changes a result; ``backtest.label_window``, which follows
``car.event_window``; ``backtest.start`` / ``backtest.end``, set from the test split), a value its
config rejects, a value listed twice, an empty list, a malformed range, and any combination its
configs reject together (e.g. ``car.min_estimation_obs`` above ``car.estimation_window``).

The **expansion** (:func:`expand_grid`) is the cartesian product over the parameters in name order.
Each configuration (:class:`SweepPoint`) has a **config hash**, ``H`` of every resolved config
(``config_json``: floats as decimal strings, so ``5`` and ``5.0`` are one value), the decisions
reference, the policy config and the backtested splits (:meth:`SweepSettings.fixed`).

Each configuration runs the same library steps as an export (:func:`evaluate_point`): the event
study (``car.compute_car``), labels and the purged, embargoed chronological split (``labels.label``,
``labels.chronological_split``), the decisions (a baseline policy on the labelled table, or a
decisions file mapped to events with ``records.map_decisions``), then on the included events of the
backtested splits (default ``test``, the paper's; ``engine.split_window``): the HGRM reward
(``reward.score``), the decision metrics (``metrics.decision_metrics``) and the backtest
(``BacktestConfig.for_labels``: entry and holding period follow the event window unless set, type
weights from the historical split). One result row (:data:`RESULT_SCHEMA`): the config hash, every
grid parameter (one column each, named ``car.gap`` etc.; tuples and dates as canonical JSON text),
the full resolved ``config`` (canonical JSON), the paper's metrics (Sharpe, MDD, TR, ARR, Calmar),
the mean final reward and DA of the decisions, the number of trades executed, the per-day moments
the DSR takes (``n_returns``, ``skew``, ``kurtosis``), the window, and ``status``: ``ok`` or
``error: <ExceptionType>: <message>`` (never a silent gap).

**Reuse.** Work is cached on disk (:func:`cache_dir`) by content hash: the CAR table under
``H(code, dataset identity, CarConfig)`` (``threads`` left out), the labelled table under
``H(CAR key, LabelConfig, SplitConfig)`` and each result row under ``H(labelled key, config hash)``.
``code`` hashes every ``janus_core`` module the numbers depend on (:data:`CODE_PARTS`), so a
changed library never reuses a stale result; the dataset identity is its snapshot hash and table digests. Configurations sharing CAR
parameters share one CAR table, those sharing labels one labelled table; a re-run computes nothing
new and an extended grid only its new cells. Every cache file is written to a temporary name and
renamed, so an interrupted sweep (Ctrl-C) leaves only complete entries and a re-run resumes.
Error rows of a configuration that raised are cached too (the same inputs raise again); a
configuration whose worker died is not, so a re-run tries it again.

**Engines** (:func:`run_sweep`): ``local`` runs the tasks on a process pool (``spawn``) of
``workers`` processes, each loading the dataset once and the labelled tables from the cache;
``ray`` runs the same task functions on a Ray cluster (``ray.init(address=...)``, or a local
cluster of ``workers`` CPUs when no address is given), the dataset, the decisions and the labelled
tables passed through the object store (``ray.put`` once, CAR and labels computed by remote tasks
whose results stay there). Phase 1 computes the missing labelled tables (one task per CAR config:
the CAR table once, then every label config on it); phase 2 evaluates the configurations in chunks
that share a labelled table. A chunk whose worker dies is retried one configuration per task; a
configuration whose own worker dies is reported in its row (``error: worker died: ...``). Rows do
not depend on the engine, the chunking or the worker count, so both engines write the same bytes.

**Overfitting statistics over the sweep** (:func:`overfitting_report`), over the ``ok``
configurations:

- the best configuration: the highest annualised Sharpe ratio (ties: the smallest config hash);
- its Deflated Sharpe Ratio (``metrics.deflated_sharpe_of_returns``, Bailey and Lopez de Prado
  2014) with ``n_trials`` = the number of ``ok`` configurations (each is a trial in the ledger) and
  the sample variance (ddof 1) of their annualised Sharpe ratios;
- the returns matrix: the daily returns of the configurations on the dates every one of them and
  the benchmark have (inner join), identical return columns kept once (configurations differing
  only in reward constants trade identically; a duplicated column would tie with itself in the
  ranks), in config-hash order;
- the probability of backtest overfitting by CSCV (Bailey, Borwein, Lopez de Prado and Zhu 2017;
  ``metrics.probability_of_backtest_overfitting``) on that matrix with ``cscv_splits`` groups (the
  largest even number not above the number of dates when fewer);
- Hansen's (2005) SPA test (``arch.bootstrap.SPA``, stationary bootstrap, studentized) of the
  configurations against the benchmark's buy-and-hold daily returns, losses being negated returns:
  the p-values (lower, consistent, upper) of the null that no configuration beats the benchmark.

Results (:func:`publish_sweep`): ``results.parquet`` (ordered by config hash), ``returns.parquet``
(``config_hash, date, daily_return`` of the ``ok`` configurations), ``overfitting.json`` and
``sweep-manifest.json`` (grid, settings, dataset snapshot, engine, package versions, SHA-256 of
every file written, ``results_sha256``); the research store gets a ``sweeps`` row
(``store.record_sweep``) and every ``ok`` configuration in the trials ledger (kind ``sweep``).

Modules, in import order: ``grid`` (the grid file, settings, configurations), ``evaluate`` (one
configuration, a chunk), ``cache`` (keys and cached rows), ``engines`` (local pool, Ray),
``phases`` (phase 1 and 2 on an engine), ``run`` (:func:`run_sweep`), ``overfitting`` (DSR, PBO,
SPA), ``output`` (the sweep folder and its record), ``tables`` (the notebook's tables). Every
public name is importable from ``janus_core.sweep``.
"""

from janus_core.sweep.cache import CODE_PARTS, Keys, cache_dir, code_key, point_keys
from janus_core.sweep.engines import Engine, LocalEngine, RayEngine, WorkerDied, disable_uv_run_hook
from janus_core.sweep.evaluate import (
    METRIC_SCHEMA,
    ChunkMemo,
    Outcome,
    candidate_decisions,
    error_status,
    evaluate_chunk,
    evaluate_point,
    labelled_table,
    prepare_labelled,
)
from janus_core.sweep.grid import (
    FIXED,
    MAX_RANGE_VALUES,
    SECTIONS,
    Grid,
    GridError,
    SweepPoint,
    SweepSettings,
    expand_grid,
    parse_grid,
)
from janus_core.sweep.output import (
    OUTPUT_FILES,
    SWEEP_KIND,
    SWEEP_PACKAGES,
    check_out_dir,
    json_load,
    load_sweep,
    publish_sweep,
    record_sweep,
    sweep_files,
)
from janus_core.sweep.overfitting import (
    aligned_returns,
    benchmark_returns,
    default_benchmark,
    overfitting_report,
    spa_test,
)
from janus_core.sweep.phases import Progress
from janus_core.sweep.run import SweepRun, dataset_identity, results_frame, run_sweep
from janus_core.sweep.tables import SURVIVAL_DSR, deflated_table, heatmap_table, neighbours, parameter_columns

__all__ = [
    "CODE_PARTS",
    "FIXED",
    "MAX_RANGE_VALUES",
    "METRIC_SCHEMA",
    "OUTPUT_FILES",
    "SECTIONS",
    "SURVIVAL_DSR",
    "SWEEP_KIND",
    "SWEEP_PACKAGES",
    "ChunkMemo",
    "Engine",
    "Grid",
    "GridError",
    "Keys",
    "LocalEngine",
    "Outcome",
    "Progress",
    "RayEngine",
    "SweepPoint",
    "SweepRun",
    "SweepSettings",
    "WorkerDied",
    "aligned_returns",
    "benchmark_returns",
    "cache_dir",
    "candidate_decisions",
    "check_out_dir",
    "code_key",
    "dataset_identity",
    "default_benchmark",
    "deflated_table",
    "disable_uv_run_hook",
    "error_status",
    "evaluate_chunk",
    "evaluate_point",
    "expand_grid",
    "heatmap_table",
    "json_load",
    "labelled_table",
    "load_sweep",
    "neighbours",
    "overfitting_report",
    "parameter_columns",
    "parse_grid",
    "point_keys",
    "prepare_labelled",
    "publish_sweep",
    "record_sweep",
    "results_frame",
    "run_sweep",
    "spa_test",
    "sweep_files",
]
