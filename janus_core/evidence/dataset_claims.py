"""The run manifest's claims about its dataset, recomputed (used by
:func:`janus_core.evidence.verify.verify_evidence`): ``dataset.snapshot_hash`` is ``H`` of its tables'
content hashes and ``snapshot_ref`` is ``name@version#snapshot_hash``; a dataset whose ``source``
names the bundled generator is ``synthetic_generated``. ``(file, location, rule)`` triples, empty when
the claims hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from janus_core.data.manifest import BUNDLED_GENERATOR
from janus_core.evidence.schema import RUN_MANIFEST_REF
from janus_core.hashing import H

Found = list[tuple[str, str, str]]


def dataset_problems(manifest: Mapping[str, Any]) -> Found:
    dataset = manifest.get("dataset")
    if not isinstance(dataset, Mapping):
        return [(RUN_MANIFEST_REF, "dataset", "not an object")]
    out: Found = []
    tables = dataset.get("tables")
    if not isinstance(tables, Mapping) or not all(isinstance(v, Mapping) for v in tables.values()):
        out.append((RUN_MANIFEST_REF, "dataset.tables", "not an object of table digests"))
    elif dataset.get("snapshot_hash"):
        expected = H(dict(sorted((t, v.get("content_hash")) for t, v in tables.items())))
        if dataset.get("snapshot_hash") != expected:
            out.append(
                (
                    RUN_MANIFEST_REF,
                    "dataset.snapshot_hash",
                    f"is {dataset.get('snapshot_hash')!r} but H of its tables' content hashes is {expected!r}",
                )
            )
    ref = (
        f"{dataset.get('name')}@{dataset.get('version')}#{dataset.get('snapshot_hash')}"
        if dataset.get("snapshot_hash")
        else ""
    )
    if dataset.get("snapshot_ref") != ref:
        out.append((RUN_MANIFEST_REF, "dataset.snapshot_ref", f"is {dataset.get('snapshot_ref')!r}, expected {ref!r}"))
    source = dataset.get("source")
    if (
        isinstance(source, str)
        and BUNDLED_GENERATOR.search(source)
        and dataset.get("provenance") != "synthetic_generated"
    ):
        out.append(
            (
                RUN_MANIFEST_REF,
                "dataset.provenance",
                f"{dataset.get('provenance')!r} but the dataset's source {source!r} names the bundled generator; "
                f"rule: generated data is synthetic_generated",
            )
        )
    return out
