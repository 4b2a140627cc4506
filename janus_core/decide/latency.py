"""Decision latency: the p95 time per decision of the step that produced the decisions, measured or
read, never invented.

Where the number comes from (:class:`DecisionLatency` ``source``):

- ``decisions_file_latency_ms``: a decisions file with a ``latency_ms`` column (the time the model or
  endpoint took for each decision, measured where the decisions were produced). Every decision of
  the evaluated strategy must carry a finite number >= 0 (:func:`latency_from_column`).
- ``policy_compute_time``: a baseline policy's own computation, timed on request
  (:func:`policy_latency`): each decision is produced by its own call of
  ``policies.make_decisions`` on the rows that decision reads (the event; for ``type_prior`` also
  the ``historical`` split its prior is estimated from, so the prior is re-estimated and the
  historical events re-decided in every call: an upper bound on its time per decision), timed with
  ``time.perf_counter_ns``.
- ``not_measured``: neither; ``reason`` says why (:func:`not_measured`).

``p95_ms`` is the nearest-rank 95th percentile, ``sorted(x)[ceil(0.95 n) - 1]`` (an observed
value, never an interpolation), as a decimal string of milliseconds (``hashing.decimal_str``);
:meth:`DecisionLatency.whole_ms` rounds it *up* to whole milliseconds for the contract's integer
``latencyP95Ms``, so the reported latency never understates the measurement.

Determinism: a ``latency_ms`` column is input data (its file's SHA-256 is in the lineage), so the
export stays byte-reproducible. Timing a policy yields different numbers on every run: it is done
only when asked (``ExportConfig.measure_latency``, ``janus export --measure-latency``) and only the
DSPy bundle, the run manifest and the report carry it; the gate files never do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.decide.policies import PolicyConfig, make_decisions
from janus_core.hashing import decimal_str

LATENCY_COLUMN = "latency_ms"
LatencySource = Literal["decisions_file_latency_ms", "policy_compute_time", "not_measured"]


class DecisionLatency(BaseModel):
    """How long the decisions took, per decision (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    measured: bool
    source: LatencySource
    samples: int = Field(0, ge=0)
    p95_ms: str | None = None
    method: str
    reason: str | None = None

    def whole_ms(self) -> int | None:
        """``ceil(p95_ms)`` as an int (None when not measured)."""
        if self.p95_ms is None:
            return None
        return int(Decimal(self.p95_ms).to_integral_value(rounding=ROUND_CEILING))


def p95_nearest_rank(values: Sequence[float]) -> float:
    """``sorted(values)[ceil(0.95 n) - 1]``; ``ValueError`` for an empty sequence."""
    if not values:
        raise ValueError("p95 of no values")
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def _measured(source: LatencySource, values_ms: Sequence[float], method: str) -> DecisionLatency:
    return DecisionLatency(
        measured=True,
        source=source,
        samples=len(values_ms),
        p95_ms=decimal_str(p95_nearest_rank(values_ms)),
        method=method,
    )


def not_measured(reason: str) -> DecisionLatency:
    """The record of a latency nobody measured."""
    return DecisionLatency(measured=False, source="not_measured", method="none", reason=reason)


def latency_from_column(decisions: pl.DataFrame, source_name: str) -> DecisionLatency:
    """The p95 of a decisions file's ``latency_ms`` column over its rows (one strategy's decisions).

    Raises ``ValueError`` naming the file, the decision (event and strategy), the column and the
    rule for a value that is missing, not a number, not finite or negative, or for no rows."""
    if decisions.height == 0:
        raise ValueError(f"{source_name}: column '{LATENCY_COLUMN}': no decisions to take a p95 of")
    raw = decisions[LATENCY_COLUMN]
    values = raw.cast(pl.Float64, strict=False)
    bad = values.is_null() | ~values.is_finite().fill_null(False) | (values < 0).fill_null(False)
    if bad.any():
        i = int(bad.arg_true()[0])
        row = decisions.row(i, named=True)
        raise ValueError(
            f"{source_name}: decision on event {row.get('event_id')!r} (strategy "
            f"{row.get('strategy_id')!r}), column '{LATENCY_COLUMN}': {raw[i]!r}; "
            f"rule: every decision carries a finite number of milliseconds >= 0"
        )
    return _measured(
        "decisions_file_latency_ms",
        values.to_list(),
        f"p95 (nearest rank) of the decisions file's {LATENCY_COLUMN} column over its "
        f"{decisions.height} decisions, in ms; latencyP95Ms rounds it up to whole ms",
    )


def decision_context(policy: str, labelled: pl.DataFrame, event_id: str) -> pl.DataFrame:
    """The rows of ``labelled`` one decision of ``policy`` reads: the event, plus the ``historical``
    split for ``type_prior`` (the prior it estimates)."""
    own = pl.col("event_id") == event_id
    if policy == "type_prior":
        return labelled.filter(own | (pl.col("split") == "historical"))
    return labelled.filter(own)


def policy_latency(
    policy: str, labelled: pl.DataFrame, cfg: PolicyConfig, clock: Callable[[], int] = time.perf_counter_ns
) -> DecisionLatency:
    """Time every decision of a baseline ``policy`` on ``labelled`` (module docstring): one
    ``make_decisions(policy, decision_context(...), cfg)`` call per included event (``car`` not
    null), ``clock`` in nanoseconds read before and after each call."""
    event_ids = labelled.filter(pl.col("car").is_not_null())["event_id"].to_list()
    if not event_ids:
        return not_measured(f"policy {policy} made no decisions to time")
    times_ms: list[float] = []
    for event_id in event_ids:
        context = decision_context(policy, labelled, event_id)
        start = clock()
        make_decisions(policy, context, cfg)
        times_ms.append((clock() - start) / 1e6)
    context_rows = "the event and the historical split" if policy == "type_prior" else "the event"
    return _measured(
        "policy_compute_time",
        times_ms,
        f"each of the {len(times_ms)} decisions of policy {policy} timed (time.perf_counter_ns) "
        f"as one call of the policy on the rows it reads ({context_rows}); p95 (nearest rank) "
        f"in ms, latencyP95Ms rounds it up to whole ms; measured on request, so it varies "
        f"run to run",
    )
