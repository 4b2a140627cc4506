"""The scaling and targets benchmarks still run (issue 13's ``make bench``): both scripts at the demo's
size, checked for structure only (every step, scale and target present, each cell a measurement);
never for timings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

from _measure import cell_text, run_worker  # noqa: E402
from bench_scaling import STEP_LABELS, STEPS, parse_scale  # noqa: E402

CELL = re.compile(r"^\d+\.\d\d s, [\d,]+ MiB$")


def _table(text: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with ``first_header`` (header excluded)."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header}"))
    rows = []
    for ln in lines[start + 2 :]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


def test_scales_parse_to_the_papers_sizes():
    assert parse_scale("0.1").overrides == {"n_events": 6_240}
    assert parse_scale("1").overrides == {"n_events": 62_400}
    # 624,000 events do not fit the paper universe at the default 5-day gap between a stock's events
    assert parse_scale("10").overrides == {"n_events": 624_000, "min_event_gap": 3}
    assert parse_scale("4xdays").overrides == {"n_days": 2_120}
    assert parse_scale("demo").base == "demo"


def test_a_slow_cell_is_reported_as_a_timeout_not_a_hang():
    result = run_worker([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1.0)
    assert result == {"timeout": 1.0}
    assert cell_text(result) == "timeout >1 s"
    failed = run_worker([sys.executable, "-c", "raise SystemExit('no')"], timeout=30)
    assert "error" in failed and cell_text(failed) == "error"


def test_targets_and_scaling_table_at_demo_size(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_targets.py"),
            "--scales",
            "demo",
            "--paper-scale",
            "demo",
            "--large-scale",
            "demo",
            "--decisions",
            "20000",
            "--repeats",
            "1",
            "--skip-make-run",
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = proc.stdout
    assert out.count("load average") == 2  # at the start and at the end
    scaling = _table(out, "step")
    assert [row[0] for row in scaling] == [STEP_LABELS[s] for s in STEPS]
    assert all(len(row) == 2 and CELL.match(row[1]) for row in scaling), scaling
    targets = _table(out, "target")
    assert [row[0].split(",")[0].split(" ")[0] for row in targets] == [
        "1.", "1.", "1.", "2.", "3.", "3.", "4.", "4.", "4.", "5.", "5."
    ]  # fmt: skip
    verdicts = [row[-1] for row in targets]
    assert verdicts[3] == "n/a"  # make run skipped
    assert all(v in ("PASS", "FAIL") for i, v in enumerate(verdicts) if i != 3), verdicts
    assert all(row[1] != "-" for i, row in enumerate(targets) if i != 3), targets
