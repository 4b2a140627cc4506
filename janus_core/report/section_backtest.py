"""Report sections 7 and 8: the backtest and reproducibility (hashes, lineage, file digests,
versions, configuration and the commands that re-create the folder)."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl

from janus_core.backtest.nav_summary import nav_ends
from janus_core.report.charts import (
    interval_chart,
    line_chart,
)
from janus_core.report.folder import (
    EVENT_CAR_FILE,
    EVIDENCE_FILE,
    HGRM_REWARD_FILE,
    RUN_MANIFEST_FILE,
)
from janus_core.report.page import (
    SECTIONS,
    Page,
    Section,
)


class BacktestSections(Page):
    """The report section on the backtest."""

    def backtest(self) -> Section:
        s = Section(*SECTIONS[6])
        s.add("h", "NAV against benchmarks and baselines")
        frame, rel = self.analysis("nav")
        if frame is None:
            self.missing(s, "NAV table", rel)
        elif not self.lacks(s, frame, rel, ("series", "date", "nav")):
            self.nav(s, frame, rel)
        s.add("h", "Holding-period sweep")
        self.show_table(s, "holding_period", "Holding-period sweep", draw=self.holding_period_chart)
        s.add("h", "Sharpe and directional accuracy with bootstrap intervals")
        self.show_table(s, "metrics", "Metrics with bootstrap intervals", draw=self.interval_charts)
        return s

    def nav(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        """Every series' NAV in one chart (benchmarks dashed apart from policies when the table has a
        ``kind``) and the first and last day per series (:func:`nav_ends`)."""
        kind = "kind" if "kind" in frame.columns else None
        keys = [c for c in (kind, "series") if c is not None]
        self.chart(
            s,
            lambda: line_chart(
                frame.sort([*keys, "date"]),
                "date",
                "nav",
                "series",
                x_type="T",
                x_title="date",
                y_title="NAV",
                dash=kind,
                style=self.cfg.chart,
            ),
        )
        s.add("p", f"Daily NAV per series is in {rel}; first and last day per series:")
        self.table(s, nav_ends(frame, keys), f"{rel} summarised per series")

    def holding_period_chart(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        series = next((c for c in ("policy", "series") if c in frame.columns), None)
        hp = next((c for c in ("holding_period", "hp") if c in frame.columns), None)
        if hp is None or "sharpe" not in frame.columns:
            s.add("note", f"{rel} lacks holding_period and sharpe columns, so no chart is drawn from it.")
            return
        self.chart(
            s,
            lambda: line_chart(
                frame,
                hp,
                "sharpe",
                series,
                x_title="holding period (days)",
                y_title="Sharpe ratio",
                style=self.cfg.chart,
            ),
        )

    def interval_charts(self, s: Section, frame: pl.DataFrame, rel: str) -> None:
        """Sharpe, directional accuracy and their differences from the baseline, each with its
        bootstrap interval per policy."""
        label = next((c for c in ("policy", "series", "strategy_id") if c in frame.columns), None)
        for metric, title in (
            ("sharpe", "Sharpe ratio"),
            ("da", "directional accuracy"),
            ("sharpe_diff", "Sharpe ratio minus the baseline's"),
            ("da_diff", "directional accuracy minus the baseline's"),
        ):
            lo, hi = f"{metric}_ci_low", f"{metric}_ci_high"
            if label is None or not all(c in frame.columns for c in (metric, lo, hi)):
                s.add("note", f"{rel} lacks {metric}, {lo} or {hi}: no interval chart for the {title}.")
                continue
            self.chart(
                s,
                lambda m=metric, a=lo, b=hi, t=title: interval_chart(
                    frame,
                    label,
                    m,
                    a,
                    b,
                    x_title=f"{t} (bootstrap interval)",
                    zero_rule=m.endswith("_diff"),
                    style=self.cfg.chart,
                ),
            )


class ReproducibilitySection(Page):
    """The report section on reproducibility (it names the gate's target, so it is drawn after the
    verdict is known)."""

    def reproducibility(self) -> Section:
        s = Section(*SECTIONS[7])
        ec, rw, ev, rm = self.f.event_car, self.f.hgrm_reward, self.f.evidence, self.f.run_manifest
        s.add("h", "Manifest hashes")
        self.kv(
            s,
            [
                (f"{EVENT_CAR_FILE} manifest_hash", ec.get("manifest_hash")),
                (f"{HGRM_REWARD_FILE} manifest_hash", rw.get("manifest_hash")),
                (f"{EVIDENCE_FILE} event_car.manifest_hash", (ev.get("event_car") or {}).get("manifest_hash")),
                (f"{EVIDENCE_FILE} hgrm_reward.manifest_hash", (ev.get("hgrm_reward") or {}).get("manifest_hash")),
            ],
        )
        for rel, doc in ((EVENT_CAR_FILE, ec), (HGRM_REWARD_FILE, rw)):
            lin = doc.get("lineage")
            s.add("h", f"Lineage of {rel}")
            if isinstance(lin, dict) and lin:
                self.kv(s, sorted(lin.items()))
            else:
                s.add("note", f"Lineage: not available in this evidence (no lineage in {rel}).")
        s.add("h", "SHA-256 of every file in the evidence folder")
        s.add(
            "table",
            headers=("file", "sha256", "bytes"),
            rows=tuple((rel, digest, str(size)) for rel, digest, size in self.f.files),
        )
        for key, title in (
            ("git", "Source revision"),
            ("versions", "Package versions"),
            ("packages", "Package versions"),
            ("sources", "Source hashes"),
            ("source_hashes", "Source hashes"),
        ):
            val = rm.get(key)
            if isinstance(val, dict) and val:
                s.add("h", title)
                self.kv(s, sorted(val.items()))
        scalars = [(k, v) for k, v in sorted(rm.items()) if not isinstance(v, (dict, list))]
        if scalars:
            s.add("h", "Run")
            self.kv(s, scalars)
        s.add("h", "Configuration")
        if "config" in rm:
            s.add("pre", json.dumps(rm["config"], sort_keys=True, indent=2, ensure_ascii=False))
        else:
            s.add("note", f"Configuration: not available in this evidence (no config in {RUN_MANIFEST_FILE}).")
        s.add("h", "How to re-run")
        s.add("p", "From a clone of the workbench at the source revision above, with the same dataset:")
        s.add("pre", "\n".join(self.rerun_commands()))
        return s

    def rerun_commands(self) -> list[str]:
        """The shell commands that re-create this folder from the source revision and the dataset.
        The export flags come from the recorded ``config.export``; overrides the command line cannot
        carry (car, label, policy, reward, split) are re-run through the library with the same config."""
        rm = self.f.run_manifest
        ds = self.run_dataset()
        name = ds.get("name", "DATASET")
        cfg = rm.get("config") if isinstance(rm.get("config"), dict) else {}
        export = cfg.get("export") if isinstance(cfg.get("export"), dict) else {}
        generated = rm.get("generated_at") or self.f.event_car.get("generated_at")
        epoch = ""
        if isinstance(generated, str):
            try:
                stamp = datetime.fromisoformat(generated.replace("Z", "+00:00"))
                epoch = f"SOURCE_DATE_EPOCH={int(stamp.timestamp())} "
            except ValueError:
                epoch = ""
        lines = []
        if isinstance(rm.get("git_commit"), str):
            lines.append(f"git checkout {rm['git_commit']}")
        lines.append("uv sync --frozen")
        if ds.get("provenance") == "synthetic_generated":
            lines.append(f"uv run --frozen janus data build {name}")
        lines.append(f"uv run --frozen janus data verify {name}")
        overrides = sorted(k for k in ("car", "label", "policy", "reward", "split") if export.get(k))
        if overrides:
            lines.append(f"# this export overrides {', '.join(overrides)}: re-run it with the recorded export config")
            lines.append(
                f"{epoch}uv run --frozen python -c 'import json; from janus_core.evidence import export, "
                "ExportConfig; from janus_core.paths import WorkbenchPaths; "
                'c = json.load(open("THIS_FOLDER/run-manifest.json"))["config"]["export"]; '
                'export(ExportConfig(**c, out_dir="OUT", record_run=False), WorkbenchPaths.from_env())\''
            )
        else:
            flags = [f"--dataset {name}", f"--decisions {export.get('decisions', 'POLICY-or-PATH')}"]
            if export.get("reward_profile"):
                flags.append(f"--reward-profile {export['reward_profile']}")
            if export.get("candidate_id"):
                flags.append(f"--candidate-id {export['candidate_id']}")
            if export.get("strategy_id"):
                flags.append(f"--strategy-id {export['strategy_id']}")
            lines.append(f"{epoch}uv run --frozen janus export {' '.join(flags)} --out OUT")
        lines += [
            "uv run --frozen janus verify OUT",
            f"uv run --frozen janus gate OUT --target {self.gate.target}",
            f"uv run --frozen janus report OUT --target {self.gate.target}",
            "# then compare: the SHA-256 of every file of OUT must equal the table above",
        ]
        return lines
