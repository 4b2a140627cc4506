"""One finding of verification: an evidence file, where in it, and the rule it breaks.

The verifier (:mod:`janus_core.evidence.verify`) and the DSPy bundle's checks
(:mod:`janus_core.evidence.dspy_bundle`) report in this one shape; an input-data problem is a
different thing (:class:`janus_core.data.rows.Problem`: file, row, column, rule, message).
"""

from __future__ import annotations

from typing import NamedTuple


class Mismatch(NamedTuple):
    """``file`` (relative to the evidence folder), ``location`` in it (a key path, ``file`` or
    ``bytes``) and the ``rule`` it breaks; printed as ``file: location: rule``."""

    file: str
    location: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.rule}"
