"""The report's sections, in order: candidate and verdict; evidence integrity; dataset and provenance;
the event study; labels; reward; backtest; reproducibility. Each lives in its own module
(``section_verdict``, ``section_provenance``, ``section_study``, ``section_reward``,
``section_backtest``); :class:`ReportBuilder` puts them in order.

Sections 4 to 7 (:class:`EvidenceSections`) show the folder alone, whatever its verification and
verdict say, so they can be drawn while the folder is verified (``render.report_html`` does); the
others judge it."""

from __future__ import annotations

from janus_core.report.folder import DatasetManifestView, EvidenceFolder, GateOutcome, IntegrityOutcome
from janus_core.report.page import ReportConfig, Section
from janus_core.report.section_backtest import BacktestSections, ReproducibilitySection
from janus_core.report.section_provenance import ProvenanceSection
from janus_core.report.section_reward import RewardSection
from janus_core.report.section_study import StudySections
from janus_core.report.section_verdict import VerdictSections


class EvidenceSections(StudySections, RewardSection, BacktestSections):
    """Sections 4 to 7 (the event study, labels, reward, backtest), drawn from the folder alone."""

    def build(self) -> list[Section]:
        """The four sections in order; the analysis tables a section read are dropped once it is
        drawn (:meth:`janus_core.report.folder.AnalysisTables.release`), and the charts are drawn
        beside that work (:meth:`janus_core.report.page.Page.drawing_charts`)."""
        sections = []
        with self.drawing_charts():
            for draw in (self.event_study, self.labels, self.reward, self.backtest):
                sections.append(draw())
                self.f.analysis.release()
        return sections


class ReportBuilder(VerdictSections, ProvenanceSection, ReproducibilitySection):
    """Builds the sections from a loaded folder, the integrity and the gate outcome; sections 4 to 7
    are ``drawn`` when given (:class:`EvidenceSections` of the same folder and config), else drawn here."""

    def __init__(
        self,
        folder: EvidenceFolder,
        integrity: IntegrityOutcome,
        gate: GateOutcome,
        config: ReportConfig,
        dataset_manifest: DatasetManifestView | None,
        drawn: list[Section] | None = None,
    ):
        super().__init__(folder, config)
        self.integrity = integrity
        self.gate = gate
        self.dataset_manifest = dataset_manifest
        self.drawn = drawn

    def build(self) -> list[Section]:
        drawn = self.drawn if self.drawn is not None else EvidenceSections(self.f, self.cfg).build()
        return [self.verdict(), self.integrity_section(), self.provenance(), *drawn, self.reproducibility()]
