"""Every target of issue 13 with its measured figure, the reference measured in the same run, the
ratio and PASS/FAIL; first the scaling table of ``bench_scaling.py`` (target 6), whose cells the
targets reuse.

Targets (all timed in fresh processes; peak memory is the process's VmHWM, interpreter included; the
export's is that of its process and the chart renderer process it starts, sampled, ``_measure.TreePeak``):

1. paper-scale ``janus export`` (report included): wall < 10 s, peak < 1.5 GB (10^9 bytes), and
   at most 8x the CAR study alone (load + ``car_study``) measured in the same run;
2. ``make run`` on the demo < 30 s on a warm environment (``make data`` first, untimed);
3. HGRM scoring (``reward.score``) of 1M decisions (``bench_reward.workload``) within 1.5x the
   plain NumPy formula (``_references.hgrm_core`` after the join and coding of the same frames,
   ``hgrm_arrays``; the formula alone is printed too), and 10M decisions under 2 s (the median of 3
   calls, as the 1M figure is a median; the first 10M call of the process, which also touches its
   fresh memory for the first time, is printed beside it);
4. CAR: ``compute_car`` in memory (market model, median of repeats on one loaded dataset) within 2x
   the NumPy prefix-sum core (``_references.car_core`` on pre-built arrays); a second study on the
   same loaded dataset (another event window) under half the first (default configs; the first in a
   fresh process warmed on a small dataset of its own); the CAR study at 10x events (624,000) under 1 GiB peak;
5. data import, the validated import of the paper-scale CSV tables (``load_tables``: parse, convert,
   every rule; as issue 13 measured it): < 5 s and < 1 GiB peak; the reference is a plain
   ``polars.read_csv`` of the same files (the whole ``janus data import`` command, which also saves,
   hashes and registers, is a row of the scaling table);
6. the scaling table, printed first.

Run (``make bench`` runs it with the full table): ``uv run --frozen python benchmarks/bench_targets.py
[--scales 0.1,1,10,4xdays] [--steps ...] [--timeout 900] [--workspace DIR] [--uv UV] [--skip-make-run]``.
``--scales ''`` skips the table and measures only the cells the targets need (1x: import, CAR,
export; 10x: CAR). ``--paper-scale``, ``--large-scale`` and ``--decisions`` shrink the workloads (the
smoke test runs everything at the demo's size); the goals stay those of the paper scale.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_scaling as scaling
from _measure import cell_text, load_line, markdown_table, median_seconds, python_cmd, report, run_worker, timed

REPO = Path(__file__).resolve().parent.parent
GB_MIB = 1e9 / 2**20  # 1 GB (10^9 bytes) in MiB
GIB_MIB = 1024.0
#: The steps the targets read at the paper scale and at the large scale (10x events).
PAPER_STEPS = ("import", "car", "export")
LARGE_STEPS = ("car",)


# --------------------------------------------------------------------------------------------------
# Workers (fresh processes); they import what they use, so each peak holds only its own libraries
# --------------------------------------------------------------------------------------------------


def car_worker(root: Path, repeats: int) -> None:
    """Target 4 on the 1x dataset: first and second study on one loaded dataset, compute_car in
    memory against the NumPy core."""
    import numpy as np
    from _references import car_arrays, car_core

    from janus_core.data.manifest import load_dataset
    from janus_core.data.synthetic import SyntheticConfig, generate
    from janus_core.study.car import CarConfig, compute_car
    from janus_core.study.labels import LabelConfig, car_study

    # warm the process (lazy imports, first-call set-up) on a small dataset of its own, so the first
    # study's time is the study on a snapshot not seen yet, not the process's start-up
    car_study(generate(SyntheticConfig.for_scale("demo", n_stocks=30, n_events=200)), CarConfig(), LabelConfig())
    ds = load_dataset(scaling.NAME, scaling._paths(root), verify_files=False)
    _, first, _ = timed(lambda: car_study(ds, CarConfig(), LabelConfig()))
    _, second, _ = timed(lambda: car_study(ds, CarConfig(event_window=(-1, 1)), LabelConfig()))
    mm = CarConfig(risk_neutralize=False)
    engine = median_seconds(lambda: compute_car(ds, mm), repeats)
    arrays = car_arrays(ds, compute_car(ds, mm))
    core = median_seconds(lambda: car_core(arrays, mm), repeats)
    diff = float(np.nanmax(np.abs(car_core(arrays, mm) - arrays.car_mm)))
    report(first, 0.0, first=first, second=second, engine=engine, core=core, max_diff=diff, events=len(arrays.j))


def hgrm_worker(repeats: int, n: int) -> None:
    """Target 3: ``n`` (1M) decisions scored against the NumPy formula, then ``10 n`` (the first
    ``n`` tiled): the first call at that size (``big_first``), then the median of 3 (``big``)."""
    import numpy as np
    import polars as pl
    from _references import hgrm_arrays, hgrm_core
    from bench_reward import workload

    from janus_core.decide.reward import HgrmConfig, score

    cfg = HgrmConfig()
    labels, decisions = workload(62_400, n, 0)
    score(decisions.head(1000), labels, cfg)  # warm-up
    engine = median_seconds(lambda: score(decisions, labels, cfg), repeats)
    reference = median_seconds(lambda: hgrm_core(hgrm_arrays(decisions, labels, cfg), cfg), repeats)
    arrays = hgrm_arrays(decisions, labels, cfg)
    formula = median_seconds(lambda: hgrm_core(arrays, cfg), repeats)
    got = score(decisions, labels, cfg)["final_reward"].to_numpy()
    diff = float(np.max(np.abs(got - hgrm_core(arrays, cfg))))
    big = pl.concat([decisions] * 10, rechunk=True)
    _, big_first, _ = timed(lambda: score(big, labels, cfg))
    big_s = median_seconds(lambda: score(big, labels, cfg), 3)
    figures = {"engine": engine, "reference": reference, "formula": formula, "max_diff": diff}
    report(engine, 0.0, **figures, big=big_s, big_first=big_first, decisions=n)


def time_make_run(uv: str, timeout: float) -> dict[str, Any]:
    """Target 2: ``make run`` on the demo, after an untimed ``make data`` (the warm environment)."""
    make = ["make", "--no-print-directory", "-C", str(REPO), f"UV={uv}"]
    warm = subprocess.run([*make, "data"], capture_output=True, text=True)
    if warm.returncode != 0:
        return {"error": f"make data: exit {warm.returncode}: {(warm.stderr.strip().splitlines() or [''])[-1]}"}
    with tempfile.TemporaryDirectory(prefix="bench_make_run_") as out:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([*make, f"OUT={out}", "run"], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": timeout}
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or [''])[-1]}"}
    return {"wall": wall}


# --------------------------------------------------------------------------------------------------
# The summary
# --------------------------------------------------------------------------------------------------


def _row(
    target: str,
    value: float | None,
    unit: str,
    goal: str,
    ok: bool | None,
    ref: str = "-",
    ratio: float | None = None,
    cell: dict[str, Any] | None = None,
) -> list[str]:
    """One row of the targets table; ``cell`` (the measurement behind ``value``) names a timeout or
    failure when there is no value."""
    if value is None and cell is not None:
        target += f" ({cell_text(cell)})"
    shown = "-" if value is None else f"{value:,.0f} MiB" if unit == "MiB" else f"{value:,.3f} {unit}"
    verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
    return [target, shown, ref, "-" if ratio is None else f"{ratio:.2f}x", goal, verdict]


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def _below(value: float | None, limit: float, inclusive: bool = False) -> bool | None:
    return None if value is None else (value <= limit if inclusive else value < limit)


def summary(
    one: dict[str, dict[str, Any]], ten: dict[str, dict[str, Any]], car: dict, hgrm: dict, make_run: dict | None
) -> str:
    """The targets table (Markdown) from the paper-scale cells ``one``, the large-scale cells ``ten``,
    the CAR and HGRM worker reports and the ``make run`` timing (None: skipped)."""
    exp, car1, imp, big_car = (d.get(k, {}) for d, k in ((one, "export"), (one, "car"), (one, "import"), (ten, "car")))
    ew, ep, cw = exp.get("wall"), exp.get("peak_mib"), car1.get("wall")
    iw, ip, parse = imp.get("wall"), imp.get("peak_mib"), imp.get("csv_parse_s")
    he, hr, hb, n = hgrm.get("engine"), hgrm.get("reference"), hgrm.get("big"), _count(hgrm)
    ce, cc, c1, c2 = car.get("engine"), car.get("core"), car.get("first"), car.get("second")
    mw, tp = (make_run or {}).get("wall"), big_car.get("peak_mib")
    show = {
        k: "-" if v is None else f"{v:.3f} s" for k, v in {"cw": cw, "hr": hr, "cc": cc, "c1": c1, "p": parse}.items()
    }
    big_ref = "-" if hr is None else f"{10 * hr:.3f} s"
    first = hgrm.get("big_first")
    big_ref += "" if first is None else f"; first call {first:.3f} s"
    rows = [
        _row("1. export wall, paper scale", ew, "s", "< 10 s", _below(ew, 10), cell=exp),
        _row("1. export peak RSS", ep, "MiB", "< 1.5 GB (1,431 MiB)", _below(ep, 1.5 * GB_MIB), cell=exp),
        _row("1. export / CAR study alone", ew, "s", "<= 8x", _below(_ratio(ew, cw), 8, True),
             f"CAR study {show['cw']}", _ratio(ew, cw), exp),
        _row("2. make run, demo, warm", mw, "s", "< 30 s", _below(mw, 30), "skipped" if make_run is None else "-",
             cell=make_run),
        _row(f"3. HGRM score, {n} decisions", he, "s", "<= 1.5x", _below(_ratio(he, hr), 1.5, True),
             f"NumPy {show['hr']} (formula alone {hgrm.get('formula', float('nan')):.3f} s)", _ratio(he, hr), hgrm),
        _row(f"3. HGRM score, {_count(hgrm, 10)} decisions (median of 3)", hb, "s", "< 2 s", _below(hb, 2),
             f"10 x NumPy {n}: {big_ref}", _ratio(hb, None if hr is None else 10 * hr), hgrm),
        _row("4. compute_car in memory (market model)", ce, "s", "<= 2x", _below(_ratio(ce, cc), 2, True),
             f"NumPy core {show['cc']}", _ratio(ce, cc), car),
        _row("4. second study, same snapshot", c2, "s", "< 0.5x", _below(_ratio(c2, c1), 0.5),
             f"first study {show['c1']}", _ratio(c2, c1), car),
        _row("4. CAR study, 10x events, peak RSS", tp, "MiB", "< 1 GiB", _below(tp, GIB_MIB), cell=big_car),
        _row("5. data import, paper scale", iw, "s", "< 5 s", _below(iw, 5), f"plain CSV parse {show['p']}",
             _ratio(iw, parse), imp),
        _row("5. data import peak RSS", ip, "MiB", "< 1 GiB", _below(ip, GIB_MIB), cell=imp),
    ]  # fmt: skip
    return markdown_table(["target", "measured", "reference (same run)", "ratio", "goal", "verdict"], rows)


def _count(hgrm: dict[str, Any], times: int = 1) -> str:
    n = hgrm.get("decisions", 0) * times
    return f"{n / 1e6:g}M" if n >= 1e6 else f"{n:,}"


def _car_line(car: dict[str, Any]) -> str:
    if "first" not in car:
        return cell_text(car) + (f" ({car['error']})" if "error" in car else "")
    return (
        f"first study {car['first']:.3f} s, second (window [-1, 1]) {car['second']:.3f} s; compute_car "
        f"(market model) median {car['engine']:.3f} s, NumPy core {car['core']:.3f} s, max |CAR - engine| "
        f"{car['max_diff']:.1e} on {car['events']:,} events; worker peak {car['peak_mib']:,.0f} MiB"
    )


def _hgrm_line(hgrm: dict[str, Any]) -> str:
    if "engine" not in hgrm:
        return cell_text(hgrm) + (f" ({hgrm['error']})" if "error" in hgrm else "")
    return (
        f"score {_count(hgrm)} {hgrm['engine']:.3f} s, NumPy {hgrm['reference']:.3f} s (join and coding "
        f"{hgrm['reference'] - hgrm['formula']:.3f} s + formula {hgrm['formula']:.3f} s), max |reward - NumPy| "
        f"{hgrm['max_diff']:.1e}; score {_count(hgrm, 10)} {hgrm['big']:.3f} s (median of 3; first call "
        f"{hgrm.get('big_first', float('nan')):.3f} s); worker peak {hgrm['peak_mib']:,.0f} MiB"
    )


def _plan(
    scales: list[scaling.Scale], steps: list[str], needs: list[tuple[scaling.Scale, tuple[str, ...]]]
) -> list[tuple[scaling.Scale, list[str]]]:
    """The table's cells plus the cells the targets need, each scale once, steps in table order."""
    plan = [(s, list(steps)) for s in scales]
    for scale, needed in needs:
        entry = next((e for e in plan if (e[0].base, e[0].overrides) == (scale.base, scale.overrides)), None)
        if entry is None:
            entry = (scale, [])
            plan.append(entry)
        entry[1][:] = [st for st in scaling.STEPS if st in entry[1] or st in needed]
    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    scaling.add_grid_options(parser, ",".join(scaling.DEFAULT_SCALES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--uv", default=os.environ.get("UV", "uv"), help="the uv that make run uses")
    parser.add_argument("--skip-make-run", action="store_true")
    parser.add_argument("--decisions", type=int, default=1_000_000, help="decisions scored (10x for the large run)")
    parser.add_argument("--paper-scale", default="1", help="the scale of targets 1, 4 and 5 (default: 1, the paper's)")
    parser.add_argument("--large-scale", default="10", help="the scale of the 10x-events memory target")
    parser.add_argument("--car-worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--hgrm-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.car_worker is not None:
        car_worker(args.car_worker, args.repeats)
        return 0
    if args.hgrm_worker:
        hgrm_worker(args.repeats, args.decisions)
        return 0
    try:
        scales = [scaling.parse_scale(s) for s in scaling.parse_list(args.scales)]
        steps = scaling.parse_list(args.steps, scaling.STEPS)
        paper, large = scaling.parse_scale(args.paper_scale), scaling.parse_scale(args.large_scale)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    tmp = None
    workspace = args.workspace
    if workspace is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_targets_")
        workspace = Path(tmp.name)
    print(f"issue 13 targets; at the start: {load_line()}")
    plan = _plan(scales, steps, [(paper, PAPER_STEPS), (large, LARGE_STEPS)])
    cells = scaling.measure(plan, args.timeout, workspace, args.max_rss_gib)
    if scales:
        print("\nscaling table (target 6): time of the step alone, peak RSS of its fresh process\n")
        print(scaling.table(scales, steps, cells))
    one = scaling.scale_root(workspace, paper)
    car = run_worker(python_cmd(__file__, "--car-worker", str(one), "--repeats", str(args.repeats)), args.timeout)
    print(f"\nCAR on the 1x dataset: {_car_line(car)}")
    hgrm_cmd = python_cmd(__file__, "--hgrm-worker", "--repeats", str(args.repeats), "--decisions", str(args.decisions))
    hgrm = run_worker(hgrm_cmd, args.timeout)
    print(f"HGRM: {_hgrm_line(hgrm)}")
    export = cells.get(paper.label, {}).get("export", {})
    if "own_peak_mib" in export:
        print(
            f"export memory: {export['peak_mib']:,.0f} MiB sampled for the process and its chart renderer; "
            f"the process's own peak {export['own_peak_mib']:,.0f} MiB, the renderer's "
            f"{export['renderer_peak_mib']:,.0f} MiB (their sum, {export['own_peak_mib'] + export['renderer_peak_mib']:,.0f} "
            "MiB, bounds the combined peak from above)"
        )
    make_run = None if args.skip_make_run else time_make_run(args.uv, args.timeout)
    if make_run is not None:
        print(f"make run: {cell_text({**make_run, 'peak_mib': float('nan')}).split(',')[0]}")
    print()
    print(summary(cells.get(paper.label, {}), cells.get(large.label, {}), car, hgrm, make_run))
    print(f"\nat the end: {load_line()}; per cell: timeout {args.timeout:.0f} s, memory cap {args.max_rss_gib:g} GiB")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
