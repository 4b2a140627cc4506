"""janus_core: the library behind the Janus-Q research workbench (arXiv:2602.19919).

One sub-package per research step, each importing only from the steps below it (a test enforces it):

=================  ==========================================================================
``hashing``,       the lane's canonical hash and JSON writer; workspace paths (the core)
``paths``
``data``           the data contract's tables, manifests, the DuckDB store, the two samples
``study``          Stage I: CAR by market model and risk neutralisation, test statistics, labels
``decide``         Stage II: decisions, baseline policies, the HGRM reward, training records
``backtest``       the paper's event portfolio and its metrics
``evidence``       the lane contract: records, authority, verification and the local gate
``research``       the reviewer's research tables (significance, ablations, backtests, sweeps)
``report``         the self-contained review report (renders, never computes)
``pipeline``       the one place that runs the steps in order and writes the gate evidence
``cli``            the ``janus`` command
=================  ==========================================================================

The main entry points are importable from here (``from janus_core import car_study``); each is
imported on first use, so ``import janus_core`` stays cheap and reading evidence (``evidence.gate``)
never loads the computation.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_ENTRY_POINTS: dict[str, str] = {
    # data
    "load_tables": "janus_core.data.tables",
    "Dataset": "janus_core.data.dataset",
    "save_dataset": "janus_core.data.manifest",
    "load_dataset": "janus_core.data.manifest",
    "verify_dataset": "janus_core.data.manifest",
    "dataset_choices": "janus_core.data.workspace",
    "register_dataset": "janus_core.data.store",
    "generate": "janus_core.data.synthetic",
    "filter_events": "janus_core.data.catalog",
    "explore_events": "janus_core.data.catalog",
    "EVENT_TYPES": "janus_core.data.events",
    "normalise_event_type": "janus_core.data.events",
    "derive_event_id": "janus_core.data.events",
    "map_event_days": "janus_core.data.events",
    # study
    "CarConfig": "janus_core.study.car",
    "compute_car": "janus_core.study.car",
    "aar_caar": "janus_core.study.significance",
    "significance_table": "janus_core.study.significance",
    "LabelConfig": "janus_core.study.labels",
    "SplitConfig": "janus_core.study.labels",
    "label": "janus_core.study.labels",
    "chronological_split": "janus_core.study.labels",
    "car_study": "janus_core.study.labels",
    "historical_mean_abs_car": "janus_core.study.labels",
    "event_study": "janus_core.study.event_study",
    "cached_car_study": "janus_core.study.cache",
    # decide
    "parse_completion": "janus_core.decide.decisions",
    "validate_decisions": "janus_core.decide.decisions",
    "load_decisions": "janus_core.decide.decisions",
    "PolicyConfig": "janus_core.decide.policies",
    "make_decisions": "janus_core.decide.policies",
    "HgrmConfig": "janus_core.decide.reward",
    "reward_profile": "janus_core.decide.reward",
    "score": "janus_core.decide.reward",
    "ablation_table": "janus_core.decide.reward",
    "constant_policy_check": "janus_core.decide.hacking",
    "reward_study": "janus_core.decide.study",
    # backtest
    "BacktestConfig": "janus_core.backtest.config",
    "run_backtest": "janus_core.backtest.engine",
    "holding_period_sweep": "janus_core.backtest.studies",
    "nav_metrics": "janus_core.backtest.metrics",
    "decision_metrics": "janus_core.backtest.metrics",
    "BacktestStudyConfig": "janus_core.backtest.study",
    "backtest_study": "janus_core.backtest.study",
    # evidence, report, pipeline
    "verify_evidence": "janus_core.evidence.verify",
    "GatePolicy": "janus_core.evidence.gate",
    "evaluate_gate": "janus_core.evidence.gate",
    "render_report": "janus_core.report.render",
    "ExportConfig": "janus_core.pipeline",
    "export": "janus_core.pipeline",
}

__all__ = ["__version__", *sorted(_ENTRY_POINTS)]


def __getattr__(name: str) -> Any:
    """Import an entry point's module on first access (PEP 562), so the package import stays light."""
    module = _ENTRY_POINTS.get(name)
    if module is None:
        raise AttributeError(f"module 'janus_core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
