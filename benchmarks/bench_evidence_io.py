"""The export's work after the research tables: render the files (``pipeline.render_export``), write
them atomically with the review report, whose verification recomputes every claim
(``outdir``/``evidence.output.write_tree_atomically`` + ``report.render.render_report``), and
``janus verify``'s check of the folder from disk (``evidence.verify.verify_evidence``).

The research runs once, untimed (``pipeline.run_research``, the workspace of ``JANUS_DATA_DIR`` /
``JANUS_MANIFEST_DIR`` / ``JANUS_STORE``: point them at a paper-scale workspace for the issue-13
figure). Each step is timed ``--repeats`` times (median). The reference, measured in the same run, is
the floor of the same work: writing the same bytes with plain ``open().write()`` and reading them
back, parsing every JSON file with ``json.loads`` and hashing every file once.

Run: ``uv run --frozen python benchmarks/bench_evidence_io.py [--dataset NAME] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from _measure import load_line, median_seconds

from janus_core.evidence.output import write_tree_atomically
from janus_core.evidence.verify import verify_evidence
from janus_core.paths import WorkbenchPaths
from janus_core.pipeline import ExportConfig, evidence_inputs, render_export, run_research, written_files
from janus_core.provenance import generated_at
from janus_core.report.render import render_report


def _floor(files: dict[str, bytes], root: Path) -> None:
    """Write, read back, parse and hash the files the plain way (the reference)."""
    shutil.rmtree(root, ignore_errors=True)
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel in files:
        data = (root / rel).read_bytes()
        hashlib.sha256(data).hexdigest()
        if rel.endswith(".json"):
            json.loads(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic-ashare")
    parser.add_argument("--decisions", default="type_prior")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paths = WorkbenchPaths.from_env()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cfg = ExportConfig(dataset=args.dataset, decisions=args.decisions, out_dir=out, record_run=False)
        inputs = evidence_inputs(run_research(cfg, paths), cfg, paths)
        generated = generated_at(inputs.as_of, cfg.source_date_epoch)

        def render():
            return render_export(inputs, generated=generated, dspy=False)

        files, manifest, docs = render()

        def write_with_report() -> None:
            written = written_files(files, manifest, docs)
            write_tree_atomically(
                out, files, lambda d: render_report(d, "paper", paths=paths, publishing=True, files=written)
            )

        t_render = median_seconds(render, args.repeats)
        t_write = median_seconds(write_with_report, args.repeats)
        t_verify = median_seconds(lambda: verify_evidence(out, paths), args.repeats)
        t_floor = median_seconds(lambda: _floor(files, Path(tmp) / "floor"), args.repeats)
    total = t_render + t_write
    size = sum(map(len, files.values())) / 2**20
    print(f"evidence I/O after the research, {args.dataset} ({size:.0f} MiB written); {load_line()}")
    print(f"  render_export                      {t_render:6.2f} s")
    print(f"  write + report (verify included)   {t_write:6.2f} s")
    print(f"  after-research total               {total:6.2f} s  ({total / t_floor:.1f}x the reference)")
    print(f"  janus verify's check, from disk    {t_verify:6.2f} s  ({t_verify / t_floor:.1f}x the reference)")
    print(f"  reference: plain write, read, json.loads, sha256 of the same files {t_floor:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
