"""Report section 3: the dataset and its provenance (input tables, rows rejected at import, source
and licence, authority)."""

from __future__ import annotations

from janus_core.evidence.gate import TRUTHFUL_MATURITY, TRUTHFUL_PROVENANCE
from janus_core.report.folder import (
    EVENT_CAR_FILE,
    HGRM_REWARD_FILE,
    RUN_MANIFEST_FILE,
)
from janus_core.report.page import (
    LICENCE_KEYS,
    SECTIONS,
    Page,
    Section,
)


class ProvenanceSection(Page):
    """The report section on the dataset and its provenance."""

    def provenance(self) -> Section:
        s = Section(*SECTIONS[2])
        ds = self.run_dataset()
        if ds:
            self.kv(
                s, [(k, v) for k, v in sorted(ds.items()) if not isinstance(v, (dict, list)) and k not in LICENCE_KEYS]
            )
        else:
            s.add("note", f"Dataset description: not available in this evidence (no 'dataset' in {RUN_MANIFEST_FILE}).")
        tables = ds.get("tables")
        if isinstance(tables, dict) and tables:
            cols = sorted(
                {
                    k
                    for t in tables.values()
                    if isinstance(t, dict)
                    for k, v in t.items()
                    if not isinstance(v, (dict, list))
                }
            )
            rows = tuple(
                (name, *(self.fmt(t.get(c)) if isinstance(t, dict) else "—" for c in cols))
                for name, t in sorted(tables.items())
            )
            s.add("h", "Input tables")
            s.add("table", headers=("table", *cols), rows=rows)
        else:
            s.add(
                "note",
                f"Input table digests: not available in this evidence (no dataset.tables in {RUN_MANIFEST_FILE}).",
            )
        self.quarantine(s)
        s.add("h", "Source and licence")
        self.licence(s, ds)
        s.add("h", "Authority")
        self.authority_table(s)
        return s

    def authority_table(self, s: Section) -> None:
        """What each artifact claims about its authority, and whether both lane artifacts claim
        authoritative, empirically validated evidence."""
        if self.is_synthetic():
            s.add(
                "bad",
                "Synthetic data: this evidence was built from generated data. Synthetic evidence is never "
                "authoritative and cannot support a promotion, whatever its numbers say.",
            )
        rows = []
        for rel, a in self.authority().items():
            doc = self.f.documents.get(rel) or {}
            rows.append(
                (
                    rel,
                    self.fmt(a.get("provenance")),
                    self.fmt(a.get("maturity")),
                    self.fmt(a.get("authoritative")),
                    self.fmt(a.get("placeholder")),
                    self.fmt(doc.get("promotion_authority_eligible")),
                    self.fmt(a.get("notes")),
                )
            )
        s.add(
            "table",
            headers=(
                "artifact",
                "provenance",
                "maturity",
                "authoritative",
                "placeholder",
                "promotion eligible",
                "notes",
            ),
            rows=tuple(rows),
        )
        children = [(rel, a) for rel, a in self.authority().items() if rel in (EVENT_CAR_FILE, HGRM_REWARD_FILE)]
        truthful = all(
            a.get("provenance") in TRUTHFUL_PROVENANCE
            and a.get("maturity") == TRUTHFUL_MATURITY
            and a.get("authoritative") is True
            and a.get("placeholder") is False
            and (self.f.documents.get(rel) or {}).get("promotion_authority_eligible") is True
            for rel, a in children
        )
        if truthful:
            s.add(
                "good",
                "Both lane artifacts claim authoritative, empirically validated evidence from "
                f"{', '.join(sorted({str(a['provenance']) for _, a in children}))}.",
            )
        else:
            s.add(
                "p",
                "At least one artifact does not claim authoritative, empirically validated provenance, "
                "so the lane will not count it as evidence.",
            )

    def quarantine(self, s: Section) -> None:
        """What a quarantine import or a quarantined decisions file left out (run manifest ``quarantine``)."""
        s.add("h", "Rows rejected at import")
        record = self.f.run_manifest.get("quarantine")
        if not isinstance(record, dict):
            s.add("note", f"Not recorded in {RUN_MANIFEST_FILE} (no 'quarantine' section).")
            return
        dataset = record.get("dataset") if isinstance(record.get("dataset"), dict) else {}
        decisions = record.get("decisions") if isinstance(record.get("decisions"), dict) else {}
        tables = dataset.get("tables") if isinstance(dataset.get("tables"), dict) else {}
        universe = (
            dataset.get("universe_rows_rejected") if isinstance(dataset.get("universe_rows_rejected"), dict) else {}
        )
        hit = record.get("universe_rows_rejected")
        if hit:
            s.add(
                "bad",
                f"{self.fmt(hit)} row(s) of the candidate's universe were rejected at import and are not in "
                "this evidence: the study covers less than its inputs (reason "
                "workbench_universe_rows_quarantined).",
            )
        else:
            s.add(
                "p",
                "No row of the candidate's universe was rejected at import (dataset import mode "
                f"{self.fmt(dataset.get('on_invalid'))}).",
            )
        rows = tuple(
            (name, self.fmt(t.get("accepted")), self.fmt(t.get("rejected")), self.fmt(universe.get(name, 0)))
            for name, t in sorted(tables.items())
            if isinstance(t, dict)
        )
        if decisions.get("read"):
            rows += (
                (
                    "decisions",
                    self.fmt(decisions.get("accepted")),
                    self.fmt(decisions.get("rejected")),
                    self.fmt(decisions.get("rejected")),
                ),
            )
        if rows:
            s.add(
                "table",
                headers=("table", "rows accepted", "rows rejected", "rejected in the candidate's universe"),
                rows=rows,
            )
        securities = dataset.get("rejected_securities")
        if isinstance(securities, list) and securities:
            s.add(
                "p",
                f"Rejected securities: {', '.join(str(x) for x in securities[:50])}"
                + (f" and {len(securities) - 50} more" if len(securities) > 50 else "")
                + ".",
            )
        symbols = dataset.get("universe_symbols")
        if isinstance(symbols, list) and symbols:
            s.add("p", f"Securities of the universe with rejected rows: {', '.join(str(x) for x in symbols)}.")

    def licence(self, s: Section, ds: dict) -> None:
        """Source and licence as the run manifest recorded them at export; only when it recorded
        neither, as the dataset manifest consulted at render time states them."""
        recorded = [(k, ds[k]) for k in LICENCE_KEYS if ds.get(k) is not None]
        if recorded:
            s.add(
                "p",
                f"As recorded in {RUN_MANIFEST_FILE} at export, from the dataset manifest whose SHA-256 "
                f"was {self.fmt(ds.get('manifest_sha256'))}:",
            )
            self.kv(s, recorded)
            return
        view = self.dataset_manifest
        if view is None:
            s.add(
                "note",
                f"Source and licence: not recorded in {RUN_MANIFEST_FILE}, and no dataset manifest was "
                "consulted when this report was rendered.",
            )
            return
        found = [(k, view.manifest[k]) for k in LICENCE_KEYS if k in view.manifest]
        match = view.sha256 == ds.get("manifest_sha256")
        s.add(
            "p" if match else "bad",
            f"Not recorded in {RUN_MANIFEST_FILE}; taken from the dataset manifest {view.path}, whose SHA-256 "
            + ("matches" if match else "DOES NOT match")
            + f" the manifest_sha256 recorded at export ({self.fmt(ds.get('manifest_sha256'))}).",
        )
        if found:
            self.kv(s, found)
        else:
            s.add("note", f"The dataset manifest {view.path} states no source or licence either.")
