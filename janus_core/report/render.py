"""Report: the self-contained review report a reviewer reads before approving a promotion.

``render_report(out_dir, target)`` reads an evidence folder written by the export (the three gate
files of the lane contract, ``run-manifest.json`` and the tables under ``analysis/``), checks it with
``verify.verify_evidence``, asks ``gate.evaluate_gate`` what the lane would decide, and writes
``out_dir/report.html``: one HTML file with inline CSS, tables as plain HTML and charts as inline SVG
rendered offline by vl-convert. It loads nothing from the network, at render or at view time.

Sections, in order: candidate and verdict; evidence integrity; dataset and provenance; the event
study; labels; reward; backtest; reproducibility. A tampered folder (any verification problem, an
unreadable file) is announced in a red banner above everything else. A missing analysis table shows
as an explicit "not available in this evidence" note in its section.

The bytes depend only on the evidence folder's contents and the config: no clock, no random ids
(chart element ids are renamed per chart, in order), every listing sorted.

Sections 4 to 7 show the folder alone (:class:`janus_core.report.sections.EvidenceSections`), so
:func:`report_html` draws them in a worker thread while the main thread verifies the folder and asks
the gate: the analysis tables are parsed there, each when its section asks for it and dropped once the
section is drawn, and the charts rendered (polars and vl-convert run without the interpreter lock).
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jinja2
from markupsafe import Markup

from janus_core.evidence.gate import TARGETS, GatePolicy
from janus_core.evidence.mismatch import Mismatch
from janus_core.evidence.research_policy import evaluate_promotion
from janus_core.evidence.snapshot import EvidenceFiles
from janus_core.evidence.verify import verify_evidence
from janus_core.hashing import sha256_bytes
from janus_core.paths import WorkbenchPaths
from janus_core.report.folder import (
    REPORT_FILE,
    DatasetManifestView,
    EvidenceFolder,
    GateOutcome,
    IntegrityOutcome,
    Target,
    load_evidence_folder,
)
from janus_core.report.page import Block, ReportConfig, Section, _fmt
from janus_core.report.renderer import start_renderer
from janus_core.report.sections import EvidenceSections, ReportBuilder

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Janus-Q review report: {{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1em 2em 4em; color: #1d2330; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #d6dbe4; padding-bottom: .2em;
margin-top: 2em; } h3 { font-size: 1.05em; margin: 1.4em 0 .4em; }
nav ol { columns: 2; padding-left: 1.4em; } nav a { color: #1f4e8c; }
table { border-collapse: collapse; margin: .4em 0 1em; font-size: .86em; }
th, td { border: 1px solid #d6dbe4; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #eef1f6; } td { overflow-wrap: break-word; } td.rcode { white-space: nowrap; }
.scroll { overflow-x: auto; max-width: 100%; }
td.code, td.rcode, code { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
table.kv td:first-child { font-weight: 600; background: #f7f8fb; }
.banner { background: #b3261e; color: #fff; padding: .8em 1.2em; border-radius: 4px; margin: 1em 0; }
.banner ul { margin: .4em 0 0; } .banner a { color: #fff; }
.bad { background: #fbe9e7; border-left: 6px solid #b3261e; padding: .5em .9em; font-weight: 600; }
.good { background: #e8f5e9; border-left: 6px solid #2e7d32; padding: .5em .9em; font-weight: 600; }
.note { background: #fff8e1; border-left: 6px solid #f9a825; padding: .4em .9em; }
pre { background: #f4f5f8; padding: .7em; overflow-x: auto; font-size: .82em; }
caption { caption-side: bottom; text-align: left; color: #5a6272; font-size: .9em; padding-top: .2em; }
.chart { overflow-x: auto; } .meta { color: #5a6272; }
</style>
</head>
<body>
{% if integrity_alert %}
<div class="banner" id="tampered" role="alert"><strong>EVIDENCE INTEGRITY FAILURE.</strong>
This evidence folder did not verify: it was changed after the export wrote it, it is incomplete, or it
could not be checked. Do not rely on anything below until every problem is explained.
<ul>{% for p in integrity_alert[:banner_max] %}<li>{{ p }}</li>{% endfor %}
{% if integrity_alert|length > banner_max %}<li>and {{ integrity_alert|length - banner_max }} more: see
<a href="#integrity">Evidence integrity</a>.</li>{% endif %}</ul></div>
{% endif %}
<h1>Janus-Q review report</h1>
<p class="meta">Evidence folder run {{ run_id }}, generated at {{ generated_at }}. Target: {{ target }}.
This file is self-contained: it loads nothing from any network.</p>
<nav><ol>{% for s in sections %}<li><a href="#{{ s.anchor }}">{{ s.title }}</a></li>{% endfor %}</ol></nav>
{% for s in sections %}
<section id="{{ s.anchor }}">
<h2>{{ loop.index }}. {{ s.title }}</h2>
{% for b in s.blocks %}
{% if b.kind == "p" %}<p>{{ b.text }}</p>
{% elif b.kind == "h" %}<h3>{{ b.text }}</h3>
{% elif b.kind in ("note", "bad", "good") %}<p class="{{ b.kind }}">{{ b.text }}</p>
{% elif b.kind == "kv" %}<table class="kv">{% for k, v in b.rows %}<tr><td>{{ k }}</td><td class="code">{{ v }}</td></tr>{% endfor %}</table>
{% elif b.kind in ("table", "reasons") %}<div class="scroll"><table{% if b.kind == "reasons" %} class="reasons"{% endif %}>{% if b.text %}<caption>{{ b.text }}</caption>{% endif %}
<thead><tr>{% for h in b.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in b.rows %}<tr>{% for v in row %}<td{% if b.kind == "reasons" and loop.first %} class="rcode"{% elif v|length > 30 and " " not in v %} class="code"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
{% elif b.kind == "svg" %}<div class="chart">{{ b.markup }}</div>
{% elif b.kind == "pre" %}<pre>{{ b.text }}</pre>
{% endif %}
{% endfor %}
</section>
{% endfor %}
</body>
</html>
"""


def build_report_html(
    folder: EvidenceFolder,
    integrity: IntegrityOutcome,
    gate: GateOutcome,
    config: ReportConfig | None = None,
    dataset_manifest: DatasetManifestView | None = None,
    drawn: list[Section] | None = None,
) -> str:
    """The report's HTML for a loaded folder and its verification and gate outcomes (pure: no I/O);
    ``drawn``: its sections 4 to 7 when already drawn (:func:`draw_evidence_sections`)."""
    config = config or ReportConfig()
    sections = ReportBuilder(folder, integrity, gate, config, dataset_manifest, drawn).build()
    for sec in sections:
        sec.blocks = [
            Block(b.kind, b.text, b.headers, b.rows, Markup(b.markup)) if b.kind == "svg" else b for b in sec.blocks
        ]
    alert = list(integrity.problems)
    if integrity.error is not None:
        alert.insert(0, f"verification could not run: {integrity.error}")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    ec = folder.event_car
    return env.from_string(_TEMPLATE).render(
        sections=sections,
        integrity_alert=alert,
        title=str(folder.hgrm_reward.get("candidate_id") or ec.get("run_id") or folder.out_dir.name),
        run_id=_fmt(ec.get("run_id") or folder.hgrm_reward.get("run_id"), 4),
        generated_at=_fmt(ec.get("generated_at") or folder.hgrm_reward.get("generated_at"), 4),
        target=gate.target,
        banner_max=config.banner_max_problems,
    )


# --------------------------------------------------------------------------------------------
# Rendering an evidence folder


def draw_evidence_sections(
    out_dir: Path, files: EvidenceFiles, config: ReportConfig
) -> tuple[EvidenceFolder, list[Section]]:
    """The folder loaded from ``files`` and its sections 4 to 7 (:class:`EvidenceSections`), with every
    unreadable analysis table already named (``load_errors``): all the report reads from the
    analysis tables, so :func:`report_html` runs this in a worker thread while the folder is verified
    (polars parses and vl-convert draws without the interpreter lock)."""
    folder = load_evidence_folder(out_dir, files)
    tables = config.tables
    folder.analysis.read_ahead([tables.car_labels, tables.reward_rows, tables.decision_mapping])
    try:
        sections = EvidenceSections(folder, config).build()
        folder.analysis.errors()
    finally:
        folder.analysis.close()
    return folder, sections


def verification(
    out_dir: Path, paths: WorkbenchPaths | None, publishing: bool = False, files: EvidenceFiles | None = None
) -> list[Mismatch] | str:
    """``verify.verify_evidence`` on the folder (which leaves out the derived report file itself), or
    the text of the error it crashed with (fail closed)."""
    try:
        return verify_evidence(out_dir, paths=paths, publishing=publishing, files=files)
    except Exception as exc:  # the report must render for any folder, however broken; it says so
        return f"{type(exc).__name__}: {exc}"


def check_integrity(
    out_dir: Path,
    folder: EvidenceFolder,
    paths: WorkbenchPaths | None,
    publishing: bool = False,
    files: EvidenceFiles | None = None,
    verified: list[Mismatch] | str | None = None,
) -> IntegrityOutcome:
    """:func:`verification` of the folder (``verified`` when already run), plus every file the report
    could not read. A crash of the verifier is reported as an error (fail closed). ``publishing``: the
    folder is the export's own temp folder (see ``verify_evidence``); ``files``: its bytes, shared
    with the report and the gate."""
    found = verified if verified is not None else verification(out_dir, paths, publishing, files)
    if isinstance(found, str):
        return IntegrityOutcome(problems=tuple(folder.load_errors), error=found)
    problems = [str(p) for p in found]
    seen = set(problems)
    problems += [e for e in folder.load_errors if e not in seen]
    name = (
        (folder.run_manifest.get("dataset") or {}).get("name")
        if isinstance(folder.run_manifest.get("dataset"), dict)
        else None
    )
    # The manifest is named by file name only, so the report bytes do not depend on where the workspace lives.
    checked = Path(paths.manifest_path(name)).name if paths is not None and isinstance(name, str) else None
    return IntegrityOutcome(problems=tuple(problems), inputs_checked_against=checked)


def gate_outcome(
    out_dir: Path, target: str, policy: GatePolicy | None, files: EvidenceFiles | None = None
) -> GateOutcome:
    """Both parts of the verdict for ``target`` (``research_policy.evaluate_promotion``: the lane's
    checks and the research policy); a crash is reported as not promotable (fail closed)."""
    try:
        verdict = evaluate_promotion(out_dir, target, policy, files=files)
    except Exception as exc:  # the report must render for any folder, however broken; it says so
        return GateOutcome(target=target, promotable=False, reasons=(), error=f"{type(exc).__name__}: {exc}")
    return GateOutcome(
        target=verdict.target,
        promotable=verdict.lane.promotable,
        reasons=tuple((r.code, r.detail) for r in verdict.lane.reasons),
        research=verdict.research,
    )


def dataset_manifest_view(folder: EvidenceFolder, paths: WorkbenchPaths | None) -> DatasetManifestView | None:
    """The current manifest of the folder's dataset under ``paths``, when there is one."""
    name = (
        (folder.run_manifest.get("dataset") or {}).get("name")
        if isinstance(folder.run_manifest.get("dataset"), dict)
        else None
    )
    if paths is None or not isinstance(name, str):
        return None
    path = Path(paths.manifest_path(name))
    if not path.is_file():
        return None
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return DatasetManifestView(
        path=path.name, manifest=manifest if isinstance(manifest, dict) else {}, sha256=sha256_bytes(data)
    )


def report_html(
    out_dir: str | Path,
    target: Target = "paper",
    *,
    paths: WorkbenchPaths | None = None,
    policy: GatePolicy | None = None,
    config: ReportConfig | None = None,
    publishing: bool = False,
    files: EvidenceFiles | None = None,
) -> str:
    """The review report of the evidence folder ``out_dir`` for ``target``, as text (what
    :func:`render_report` writes). ``files``: the folder's bytes when the caller already holds them
    (:class:`EvidenceFiles`; by default the folder is read from disk, once for verify, the gate and
    the report)."""
    if target not in TARGETS:
        raise ValueError(f"target {target!r}: rule: one of {list(TARGETS)}")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"{out_dir}: evidence folder not found; rule: render_report needs an export folder")
    start_renderer()  # the charts' renderer starts while the folder is read and loaded
    files = files if files is not None else EvidenceFiles.read(out_dir)
    config = config or ReportConfig()
    with ThreadPoolExecutor(max_workers=1) as pool:  # sections 4 to 7 are drawn while verify runs
        drawing = pool.submit(draw_evidence_sections, out_dir, files, config)
        verified = verification(out_dir, paths, publishing, files)
        gate = gate_outcome(out_dir, target, policy, files)
        folder, drawn = drawing.result()
    return build_report_html(
        folder,
        check_integrity(out_dir, folder, paths, publishing, files, verified),
        gate,
        config,
        dataset_manifest_view(folder, paths),
        drawn,
    )


def render_report(
    out_dir: str | Path,
    target: Target = "paper",
    *,
    paths: WorkbenchPaths | None = None,
    policy: GatePolicy | None = None,
    config: ReportConfig | None = None,
    publishing: bool = False,
    files: EvidenceFiles | None = None,
) -> Path:
    """Verify the evidence folder ``out_dir``, evaluate the gate for ``target`` and write
    ``out_dir/report.html`` (module docstring). With ``paths`` the recorded input digests are also
    checked against the current dataset manifest, and the dataset's source and licence are read from
    it. ``publishing`` is for the export only (its own temp folder, see ``verify_evidence``), and so is
    ``files`` (the bytes it has just written, :meth:`EvidenceFiles.written`, so that nothing is read
    back). Returns the report's path."""
    html = report_html(out_dir, target, paths=paths, policy=policy, config=config, publishing=publishing, files=files)
    dest = Path(out_dir) / REPORT_FILE
    tmp = Path(out_dir) / f".{REPORT_FILE}.tmp"
    try:
        tmp.write_bytes(html.encode("utf-8"))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


_TARGET_RE = re.compile(rb"Target: (shadow|paper|live)\.")


def report_problems(
    out_dir: str | Path, paths: WorkbenchPaths | None = None, files: EvidenceFiles | None = None
) -> list[str]:
    """The check of ``report.html`` that :func:`janus_core.evidence.verify.verify_evidence` cannot do
    (the evidence layer may not import the report): when the folder has a report, it must be byte for
    byte what this folder renders to now, for the target the report names, under the default gate policy
    and report config, with the dataset checks (``paths``) or without them (``--evidence-only``). An
    edited report (a script, a fake green heading) is named; so is one rendered with a custom
    ``--policy`` (re-render it with ``janus report`` to clear that). Empty when there is no report or it
    matches. ``janus verify`` runs this after ``verify_evidence``, on the same ``files`` (the folder's
    bytes, read once; by default read from disk)."""
    out_dir = Path(out_dir)
    path = out_dir / REPORT_FILE
    if not path.is_file():
        return []
    files = files if files is not None else EvidenceFiles.read(out_dir)
    data = files.bytes(REPORT_FILE) or b""
    m = _TARGET_RE.search(data)
    targets = [m.group(1).decode()] if m else list(TARGETS)
    for target in targets:
        for variant in [paths, None] if paths is not None else [None]:
            if report_html(out_dir, target, paths=variant, files=files).encode("utf-8") == data:
                return []
    return [
        f"{REPORT_FILE}: bytes: not what this evidence renders to (edited after the export, or rendered with "
        f"a custom gate policy or report config); rule: the report is a view of the verified evidence, "
        f"re-render it with janus report"
    ]
