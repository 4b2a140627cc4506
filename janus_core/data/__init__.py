"""Data: the input tables of the data contract, their manifests and the research store.

Modules, bottom up: ``events`` (the ten-type taxonomy, event ids, the point-in-time rule), ``rows``
(the declared row schemas and problems), ``tables`` (reading and checking tables), ``dataset`` (the
canonical in-memory dataset), ``manifest`` (saving, loading and verifying datasets), ``store`` (the
DuckDB research store), ``synthetic`` and ``megacap`` (the two samples), ``samples`` (building them),
``catalog`` (filters for exploring events). Imports only ``janus_core.hashing`` and ``janus_core.paths``
from outside this package.
"""
