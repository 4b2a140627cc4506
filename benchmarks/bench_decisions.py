"""Benchmark: validating the baseline policies' decisions (``decisions.validate_decisions``, as HGRM
scoring calls it), the completion parsing column-wise (``structured_output.parse_completions``)
against the per-row parser and the per-row completion checks it replaced, measured in the same run.

Workload: the six baseline policies (``janus_core.decide.policies``) on every included event of a
dataset's labelled CAR table (default CAR config), concatenated (paper scale: about 62,000
decisions per policy, 372,000 in all, each with its structured completion). The dataset is the
workbench's (``JANUS_DATA_DIR`` / ``JANUS_MANIFEST_DIR``; ``--dataset``, default
``synthetic-ashare``). Prints, with the load average: the parse of every completion by
``parse_completion`` row by row (before) and by ``parse_completions`` (after); and
``validate_decisions`` with the per-row checks (before: ``reference_completion_problems`` of
``tests/test_parse_completions.py``, the code it replaced) and as it is (after); each with the
ratio, and a check that before and after give identical frames.

Run: ``JANUS_DATA_DIR=... JANUS_MANIFEST_DIR=... uv run --frozen python benchmarks/bench_decisions.py``.

Measured (2026-12-01, paper-scale dataset, 372,150 decisions, load average 1.2, 2 cores): parse
9.25 s per row (24.9 us/row) vs 0.449 s column-wise (20.6x); ``validate_decisions`` 12.26 s with
the per-row checks vs 0.490 s (25.0x); identical frames.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from _measure import load_line  # noqa: E402
from test_parse_completions import reference_completion_problems, reference_what_the_model_said  # noqa: E402

from janus_core.data.manifest import load_dataset  # noqa: E402
from janus_core.decide import decisions  # noqa: E402
from janus_core.decide.policies import POLICIES, make_decisions  # noqa: E402
from janus_core.decide.structured_output import PARSED_SCHEMA, parse_completion, parse_completions  # noqa: E402
from janus_core.paths import WorkbenchPaths  # noqa: E402
from janus_core.study.car import CarConfig  # noqa: E402
from janus_core.study.labels import car_study  # noqa: E402


def best_of(repeats: int, fn):
    """The result of ``fn()`` and its best wall time over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def per_row_validate(frame: pl.DataFrame) -> pl.DataFrame:
    """``validate_decisions`` with the per-row completion checks it used before."""
    fast = decisions._completion_problems, decisions._what_the_model_said
    decisions._completion_problems = reference_completion_problems
    decisions._what_the_model_said = reference_what_the_model_said
    try:
        return decisions.validate_decisions(frame, "decisions", unique=False)
    finally:
        decisions._completion_problems, decisions._what_the_model_said = fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic-ashare")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the fast steps (best time kept)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    labelled = car_study(load_dataset(args.dataset, WorkbenchPaths.from_env()), CarConfig())
    frame = pl.concat([make_decisions(p, labelled) for p in POLICIES])
    texts = frame["completion"]
    print(
        f"{frame.height:,} decisions of {len(POLICIES)} policies on {args.dataset} "
        f"(built in {time.perf_counter() - t0:.1f} s); {load_line()}"
    )
    slow_parse, t_slow = best_of(1, lambda: [parse_completion(t) for t in texts.to_list()])
    fast_parse, t_fast = best_of(args.repeats, lambda: parse_completions(texts))
    same = fast_parse.equals(pl.DataFrame(slow_parse, schema=PARSED_SCHEMA, orient="row"), null_equal=True)
    print(
        f"parse completions: per row {t_slow:.3f} s ({t_slow / frame.height * 1e6:.1f} us/row), "
        f"column-wise {t_fast:.3f} s; ratio {t_slow / t_fast:.1f}x; identical: {same}"
    )
    slow_valid, v_slow = best_of(1, lambda: per_row_validate(frame))
    fast_valid, v_fast = best_of(args.repeats, lambda: decisions.validate_decisions(frame, "decisions", unique=False))
    same = fast_valid.equals(slow_valid, null_equal=True) and fast_valid.schema == slow_valid.schema
    print(
        f"validate_decisions: per-row checks {v_slow:.3f} s, column-wise {v_fast:.3f} s; "
        f"ratio {v_slow / v_fast:.1f}x; identical: {same}; {load_line()}"
    )


if __name__ == "__main__":
    main()
