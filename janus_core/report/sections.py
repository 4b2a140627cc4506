"""The report's sections, in order: candidate and verdict; evidence integrity; dataset and provenance;
the event study; labels; reward; backtest; reproducibility. Each lives in its own module
(``section_verdict``, ``section_provenance``, ``section_study``, ``section_reward``,
``section_backtest``); :class:`ReportBuilder` puts them in order."""

from __future__ import annotations

from janus_core.report.page import Section
from janus_core.report.section_backtest import BacktestSections
from janus_core.report.section_provenance import ProvenanceSection
from janus_core.report.section_reward import RewardSection
from janus_core.report.section_study import StudySections
from janus_core.report.section_verdict import VerdictSections


class ReportBuilder(VerdictSections, ProvenanceSection, StudySections, RewardSection, BacktestSections):
    """Builds the sections from a loaded folder, the integrity and the gate outcome."""

    def build(self) -> list[Section]:
        return [
            self.verdict(),
            self.integrity_section(),
            self.provenance(),
            self.event_study(),
            self.labels(),
            self.reward(),
            self.backtest(),
            self.reproducibility(),
        ]
