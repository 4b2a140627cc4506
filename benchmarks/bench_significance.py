"""Benchmark: the event-study tables of an export (``research.event_study_tables``: CAAR by type,
the CAAR path and the significance tests) at paper scale, against the frozen references of the
statistics issue 13 replaced, measured in the same run.

Workload: the paper-scale synthetic dataset (``SyntheticConfig.for_scale("paper")``, 62,400 events
on 375 event days), labelled by ``labels.car_study`` under the export's default configs (risk
neutralisation on).

Prints (median of ``--repeats`` runs, one BLAS thread or the default as set by the environment):
- ``event_study_tables`` end to end, and its parts: ``car.estimation_abnormal_returns`` and
  ``significance.significance_table``;
- the Kolari-Pynnonen r of every group (the 10 event types and the pooled group) as the table
  computes it (one pair matrix per event day) against the frozen reference
  (``tests/significance_reference.same_day_correlation``, called per type and again pooled, as
  the table did before), with the ratio and the largest difference between the two;
- the Corrado ranks (one sort per row) against the frozen reference (scipy ``rankdata``), with the
  ratio and whether the two agree bit for bit;
- the load average before and after.

Run: ``uv run --frozen python benchmarks/bench_significance.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.pipeline.config import ExportConfig
from janus_core.research import event_study_tables
from janus_core.study import significance as sg
from janus_core.study.car import estimation_abnormal_returns
from janus_core.study.labels import car_study

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import significance_reference as ref  # noqa: E402
from _measure import load_line, median_seconds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load before: {load_line()}")
    cfg = ExportConfig()
    ds = generate(SyntheticConfig.for_scale("paper"))
    labelled = car_study(ds, cfg.car, cfg.label, cfg.split)
    est = estimation_abnormal_returns(ds, cfg.car, labelled)
    x = sg._Inputs(labelled, est, "event_type")
    print(f"events {len(x.car):,}, event days {len(np.unique(x.day))}, estimation window {x.est.shape[1]}")

    t_tables = median_seconds(
        lambda: event_study_tables(ds, labelled, cfg.car, cfg.analysis), args.repeats, warmup=True
    )
    t_est = median_seconds(lambda: estimation_abnormal_returns(ds, cfg.car, labelled), args.repeats, warmup=True)
    t_sig = median_seconds(lambda: sg.significance_table(labelled, est), args.repeats, warmup=True)
    print(f"event_study_tables          {t_tables:7.3f} s")
    print(f"  estimation_abnormal_returns {t_est:7.3f} s")
    print(f"  significance_table          {t_sig:7.3f} s")

    def reference_rbar() -> dict[str, float]:
        out = {}
        for group, rows in x.masks():
            dates = None if x.est_dates is None else x.est_dates[rows]
            out[group] = ref.same_day_correlation(x.est[rows], x.day[rows], dates)
        return out

    t_new = median_seconds(x.rbar, args.repeats, warmup=True)
    t_ref = median_seconds(reference_rbar, 1, warmup=True)
    new, old = x.rbar(), reference_rbar()
    diff = max(abs(new[g] - old[g]) for g in old)
    print(f"rbar, all groups            {t_new:7.3f} s   reference {t_ref:7.3f} s   ratio {t_ref / t_new:5.1f}x")
    print(f"  largest |difference|      {diff:.1e}")
    t_rank = median_seconds(lambda: sg.corrado_ranks(x.est, x.ev), args.repeats, warmup=True)
    t_rank_ref = median_seconds(lambda: ref.corrado_ranks(x.est, x.ev), 1, warmup=True)
    same = np.array_equal(sg.corrado_ranks(x.est, x.ev), ref.corrado_ranks(x.est, x.ev), equal_nan=True)
    print(
        f"Corrado ranks               {t_rank:7.3f} s   reference {t_rank_ref:7.3f} s   ratio {t_rank_ref / t_rank:5.1f}x"
    )
    print(f"  bit for bit equal         {same}")
    print(f"load after: {load_line()}")


if __name__ == "__main__":
    main()
