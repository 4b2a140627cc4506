"""The reward formulas of :mod:`janus_core.decide.reward` on NumPy arrays (formulas in that module's
docstring): the ``hgrm`` profile (:func:`hgrm_terms`), the ``lane_scaffold`` profile
(:func:`scaffold_terms`) and the driver :func:`reward_terms` that ``score`` runs: blocks of decisions
evaluated by a pool of two threads, each block writing its own slice of preallocated outputs.

Every HGRM term but the PnL and magnitude terms takes one of a handful of values, fixed by four
small codes per decision: the direction gate (match, mismatch, neutral), the type case (match,
mismatch, no prediction, true type outside the taxonomy), the format case (``format_ok`` x
verbose) and the strength case (trading x strong). :class:`HgrmTables` holds each term's value per
code, computed with the formula's own operations in its own order (so each value has the bits the
elementwise formula gives it), and again per *decision code*, the one small integer that combines
the four (:func:`hgrm_terms`); a decision's terms are read from those tables by its decision code
(one index array per block, written in place, so a block allocates almost nothing); only the PnL,
the magnitude and the sums that follow them are computed per decision, in the formula's order. Each
result is therefore the same to the last bit as evaluating the formula elementwise (the tests keep
the elementwise polars formula as the reference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from janus_core.decide.reward_config import HgrmConfig

#: Gate codes of :func:`hgrm_terms` / :func:`scaffold_terms`, by position: 0 match, 1 mismatch, then
#: 2 "neutral" (direction gate) or "unknown" (event-type gate).
DIRECTION_GATES: tuple[str, ...] = ("match", "mismatch", "neutral")
TYPE_GATES: tuple[str, ...] = ("match", "mismatch", "unknown")
#: True-type codes besides the index into ``EVENT_TYPES``: outside the taxonomy (nothing to judge),
#: and null (a known type no prediction matches, as the string comparison with a null treats it).
TYPE_OUTSIDE, TYPE_NULL = -2, -3
REWARD_COLUMNS: tuple[str, ...] = (
    "s_dir",
    "g_dir",
    "r_evt",
    "m_evt",
    "r_pnl",
    "r_mag",
    "r_fmt",
    "strength_penalty",
    "direction_reward",
    "event_reward",
    "pnl_reward",
    "magnitude_reward",
    "process_reward",
    "final_reward_unclipped",
    "final_reward",
    "clipped",
)
#: Direction-gate code of predicted direction ``p`` and true direction ``d`` (each -1, 0, +1) at
#: ``3 (p + 1) + d + 1``: match when ``p == d``, mismatch when ``p == -d != 0``, else neutral.
_DIRECTION_GATE_OF = np.array([0, 2, 1, 2, 0, 2, 1, 2, 0], dtype=np.intp)
#: Type case (:func:`hgrm_terms`) at ``same + 2 none + 4 outside`` (``same``: the predicted type code
#: equals the true one; ``none``: no prediction; ``outside``: the true type is outside the taxonomy):
#: ``3 if outside else 1 - same + none``, so match 0, mismatch 1, no prediction 2.
_TYPE_CASE_OF = np.array([1, 0, 2, 1, 3, 3, 3, 3], dtype=np.intp)


@dataclass(frozen=True)
class RewardInputs:
    """The reward's inputs per decision as NumPy arrays that broadcast together (a scalar stands
    for a constant): signs ``a`` (action) and ``d`` (true direction), ``strong`` (true strength),
    type codes ``true_type`` (index into ``EVENT_TYPES``, :data:`TYPE_OUTSIDE` or :data:`TYPE_NULL`)
    and ``pred_type`` (index, -1 for none), true CAR ``car``, predicted CAR ``pred_car`` (NaN for
    none), ``r_mag`` (the Gaussian magnitude term, ``reward.magnitude_term``), ``format_ok``,
    ``verbose`` (completion longer than ``max_completion_chars``) and ``rationale`` (a non-empty
    rationale is present; the scaffold's process reward)."""

    a: np.ndarray
    d: np.ndarray
    strong: np.ndarray
    true_type: np.ndarray
    pred_type: np.ndarray
    car: np.ndarray
    pred_car: np.ndarray
    r_mag: np.ndarray
    format_ok: np.ndarray
    verbose: np.ndarray
    rationale: np.ndarray


@dataclass(frozen=True)
class HgrmTables:
    """The value of every discrete HGRM term per code (module docstring). By direction-gate code
    ``g`` (match, mismatch, neutral): ``s_dir``, ``g_dir``, ``direction_reward = w_dir * s_dir``,
    ``magnitude_weight = g_dir * w_mag``. By type case ``t`` (match, mismatch, no prediction, true
    type outside the taxonomy): ``r_evt``, ``m_evt``, ``event_reward = w_evt * r_evt``. By format
    case ``2 format_ok + verbose``: ``r_fmt``, ``process_reward = w_fmt * r_fmt``. By strength case
    ``2 trade + strong``: ``penalty``. By ``4 g + t``: ``pnl_weight = g_dir * w_pnl * m_evt`` and
    ``base = direction_reward + event_reward`` (the first two addends of the total). ``by_code``:
    each of these (``strength_penalty`` for ``penalty``) and the gate codes ``direction_gate`` and
    ``type_gate`` (int8) by decision code (:data:`DECISION_CODES`), copies of the entries above."""

    s_dir: np.ndarray
    g_dir: np.ndarray
    direction_reward: np.ndarray
    magnitude_weight: np.ndarray
    r_evt: np.ndarray
    m_evt: np.ndarray
    event_reward: np.ndarray
    r_fmt: np.ndarray
    process_reward: np.ndarray
    penalty: np.ndarray
    pnl_weight: np.ndarray
    base: np.ndarray
    by_code: dict[str, np.ndarray]


#: Decision codes of :func:`hgrm_terms`: ``((8 i_dir + i_type) * 4 + f) * 4 + s`` with the direction
#: index ``i_dir = 3 (p + 1) + d + 1`` (gate ``_DIRECTION_GATE_OF[i_dir]``), the type index
#: ``i_type = same + 2 none + 4 outside`` (case ``_TYPE_CASE_OF[i_type]``), the format case ``f`` and
#: the strength case ``s``; below, each code's four parts.
DECISION_CODES = 9 * 8 * 4 * 4
_I_DIR, _I_TYPE, _F, _S = np.unravel_index(np.arange(DECISION_CODES), (9, 8, 4, 4))


def hgrm_tables(cfg: HgrmConfig) -> HgrmTables:
    """:class:`HgrmTables` of ``cfg``, each entry by the operations (and in the order) of the
    elementwise formula in ``reward``'s module docstring."""
    s_dir = np.array([1.0, -cfg.lambda_dir, cfg.s_dir_neutral])
    g_dir = np.where(s_dir >= 0, 1.0, 0.0) if cfg.use_direction_gate else np.ones(3)
    if cfg.use_event_gate:
        r_evt = np.array([1.0, -cfg.lambda_evt, -cfg.lambda_miss, 0.0])
        m_evt = np.array([1.0, cfg.alpha, cfg.alpha, 1.0])
    else:
        r_evt, m_evt = np.zeros(4), np.ones(4)
    low, high = np.array([False, False, True, True]), np.array([False, True, False, True])
    fmt = np.where(low, cfg.fmt_ok_reward, cfg.fmt_fail_reward) - np.where(high, cfg.verbosity_penalty, 0.0)
    r_fmt = fmt + np.zeros(4) if cfg.use_format else np.zeros(4)
    penalty = (
        np.where(low & ~high, cfg.penalty_trade_weak, np.where(~low & high, cfg.penalty_skip_strong, 0.0))
        if cfg.use_strength_penalty
        else np.zeros(4)
    )
    g, t = np.repeat(np.arange(3), 4), np.tile(np.arange(4), 3)
    direction_reward, event_reward = cfg.w_dir * s_dir, cfg.w_evt * r_evt
    tables = {
        "s_dir": s_dir,
        "g_dir": g_dir,
        "direction_reward": direction_reward,
        "magnitude_weight": g_dir * cfg.w_mag,
        "r_evt": r_evt,
        "m_evt": m_evt,
        "event_reward": event_reward,
        "r_fmt": r_fmt,
        "process_reward": cfg.w_fmt * r_fmt,
        "penalty": penalty,
        "pnl_weight": g_dir[g] * cfg.w_pnl * m_evt[t],
        "base": direction_reward[g] + event_reward[t],
    }
    gate, case = _DIRECTION_GATE_OF[_I_DIR], _TYPE_CASE_OF[_I_TYPE]
    part = {"s_dir": gate, "g_dir": gate, "direction_reward": gate, "magnitude_weight": gate, "r_evt": case}
    part |= {"m_evt": case, "event_reward": case, "r_fmt": _F, "process_reward": _F, "penalty": _S}
    part |= {"pnl_weight": gate * 4 + case, "base": gate * 4 + case}
    by_code = {"strength_penalty" if k == "penalty" else k: v[part[k]] for k, v in tables.items()}
    by_code |= {"direction_gate": gate.astype(np.int8), "type_gate": np.minimum(case, 2).astype(np.int8)}
    return HgrmTables(
        **tables,
        by_code=by_code,
    )


def hgrm_terms(
    cfg: HgrmConfig, x: RewardInputs, out: Mapping[str, np.ndarray], tables: HgrmTables | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``hgrm`` profile (formulas in ``reward``'s module docstring, tables in the module
    docstring): fills ``out`` (one array per column of :data:`REWARD_COLUMNS`, the decisions'
    shape) and returns the direction-gate and event-type-gate codes (:data:`DIRECTION_GATES`,
    :data:`TYPE_GATES`). ``tables`` is :func:`hgrm_tables` of ``cfg`` (computed when None)."""
    tab = tables if tables is not None else hgrm_tables(cfg)
    # p: a when trading, else the predicted CAR's side of the neutral band (branch-free, in int8)
    i8, trade = np.int8, x.a != 0
    hold_side = (x.pred_car > cfg.neutral_band).astype(i8) - (x.pred_car < -cfg.neutral_band).astype(i8)
    p = hold_side * (~trade).astype(i8) + x.a
    # the decision code (DECISION_CODES), built in place in 16 bits, then one index array
    u = np.uint16
    shape = np.broadcast(x.a, x.d, x.strong, x.true_type, x.pred_type, x.pred_car, x.format_ok, x.verbose).shape
    code = np.empty(shape, dtype=u)
    code[...] = p * 3 + x.d + 4
    code *= u(8)
    code += x.pred_type == x.true_type
    code += u(2) * (x.pred_type < 0)
    code += u(4) * (x.true_type == TYPE_OUTSIDE)
    code *= u(4)
    code += u(2) * x.format_ok + x.verbose
    code *= u(4)
    code += u(2) * trade + x.strong
    k = code.astype(np.intp)
    table = tab.by_code
    for name in ("s_dir", "g_dir", "direction_reward", "r_evt", "m_evt", "event_reward", "r_fmt", "process_reward"):
        np.take(table[name], k, out=out[name], mode="clip")
    np.take(table["strength_penalty"], k, out=out["strength_penalty"], mode="clip")
    r_pnl = out["r_pnl"]
    if cfg.use_pnl:
        # in place, in the formula's order: clip(a * c - kappa, -rho, rho), 0 where not trading
        np.multiply(x.a, x.car, out=r_pnl)
        r_pnl -= cfg.kappa
        np.clip(r_pnl, -cfg.rho, cfg.rho, out=r_pnl)
        r_pnl[np.flatnonzero(np.broadcast_to(~trade, r_pnl.shape))] = 0.0
    else:
        r_pnl[...] = 0.0
    if cfg.use_magnitude:
        np.add(x.r_mag, 0.0, out=out["r_mag"])
    else:
        out["r_mag"][...] = 0.0
    # each product and sum written into its output array (IEEE products and sums are commutative)
    np.take(table["pnl_weight"], k, out=out["pnl_reward"], mode="clip")
    out["pnl_reward"] *= r_pnl
    np.take(table["magnitude_weight"], k, out=out["magnitude_reward"], mode="clip")
    out["magnitude_reward"] *= out["r_mag"]
    total = out["final_reward_unclipped"]
    np.take(table["base"], k, out=total, mode="clip")
    total += out["pnl_reward"]
    total += out["magnitude_reward"]
    total += out["process_reward"]
    total -= out["strength_penalty"]
    np.clip(total, -cfg.final_clip, cfg.final_clip, out=out["final_reward"])
    np.not_equal(out["final_reward"], total, out=out["clipped"])
    return np.take(table["direction_gate"], k), np.take(table["type_gate"], k)


def scaffold_terms(
    cfg: HgrmConfig, x: RewardInputs, out: Mapping[str, np.ndarray], tables: HgrmTables | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``lane_scaffold`` profile (``reward``'s module docstring), in :func:`hgrm_terms`' form
    (``tables`` unused)."""
    direction_gate = np.where(x.d == 0, 2, np.where(x.a == x.d, 0, np.where(x.a == 0, 2, 1)))
    values = np.array([cfg.scaffold_direction_match, cfg.scaffold_direction_mismatch, cfg.scaffold_direction_neutral])
    gate_value = values[direction_gate]
    type_gate = np.where(x.pred_type < 0, 2, np.where(x.pred_type == x.true_type, 0, 1))
    type_value = np.array([cfg.scaffold_type_match, cfg.scaffold_type_mismatch, cfg.scaffold_type_unknown])[type_gate]
    pnl = x.a * x.car - cfg.scaffold_cost_bps / 10_000.0
    magnitude = np.where((x.a == x.d) & (x.a != 0), np.abs(x.car), -np.abs(x.car))
    process = np.where(x.rationale, cfg.scaffold_process_bonus, 0.0) + np.zeros(np.shape(pnl))
    total = gate_value * type_value * pnl + magnitude + process
    final = np.clip(total, -cfg.final_clip, cfg.final_clip)
    values = {"s_dir": gate_value, "g_dir": gate_value, "r_evt": type_value, "m_evt": type_value, "r_pnl": pnl}
    values |= {"r_mag": magnitude, "r_fmt": process, "strength_penalty": 0.0, "direction_reward": 0.0}
    values |= {"event_reward": 0.0, "pnl_reward": pnl, "magnitude_reward": magnitude, "process_reward": process}
    values |= {"final_reward_unclipped": total, "final_reward": final, "clipped": final != total}
    for name, value in values.items():
        out[name][...] = value
    return direction_gate, type_gate


#: Columns the ``lane_scaffold`` profile sets to another column's values (:func:`scaffold_terms`).
_SCAFFOLD_SHARED: dict[str, str] = {
    "g_dir": "s_dir",
    "m_evt": "r_evt",
    "direction_reward": "strength_penalty",
    "event_reward": "strength_penalty",
    "pnl_reward": "r_pnl",
    "magnitude_reward": "r_mag",
    "process_reward": "r_fmt",
}


def shared_columns(cfg: HgrmConfig, tables: HgrmTables | None) -> dict[str, str]:
    """The columns of :data:`REWARD_COLUMNS` that equal an earlier one value for value whatever the
    decisions, each with that column: under ``hgrm`` a tabulated term whose decision-code table
    (``tables.by_code``) has the bits of an earlier term's (``direction_reward = w_dir * s_dir`` with
    ``w_dir`` 1, the default); under ``lane_scaffold`` those :func:`scaffold_terms` sets equal."""
    if cfg.profile != "hgrm":
        return dict(_SCAFFOLD_SHARED)
    by_code = (tables if tables is not None else hgrm_tables(cfg)).by_code
    tabulated = [c for c in REWARD_COLUMNS if c in by_code]
    shared: dict[str, str] = {}
    for i, column in enumerate(tabulated):
        bits = by_code[column].view(np.uint64)
        same = (c for c in tabulated[:i] if c not in shared and np.array_equal(by_code[c].view(np.uint64), bits))
        if (first := next(same, None)) is not None:
            shared[column] = first
    return shared


#: Decisions per block of the formula: large enough to amortise the block's polars call, small
#: enough that its few temporaries stay in cache.
_BLOCK = 262_144
#: Threads that evaluate the blocks (NumPy releases the GIL inside its loops). Every value is
#: elementwise and each block is written by one thread into its own slice, so the result does not
#: depend on the number of threads or on which thread ran which block.
_THREADS = 2
#: Code of "no value" in the gate and expected-direction codes of :class:`ScoredTerms`.
UNMAPPED = 3


@dataclass(frozen=True)
class ScoredTerms:
    """What :func:`reward_terms` computes per decision: ``mapped`` (the decision has a finite true
    CAR), the direction-gate and event-type-gate codes (:data:`DIRECTION_GATES`, :data:`TYPE_GATES`)
    and the expected-direction code (0 neutral, 1 long, 2 short: ``d`` as an action), each int8 and
    :data:`UNMAPPED` where not ``mapped``; and every column of :data:`REWARD_COLUMNS` (Float64;
    ``clipped`` Boolean), values of unmapped decisions included (the caller nulls them); a column
    that always equals an earlier one (:func:`shared_columns`) is that column's array."""

    mapped: np.ndarray
    direction_gate: np.ndarray
    type_gate: np.ndarray
    expected: np.ndarray
    columns: dict[str, np.ndarray]


def reward_terms(cfg: HgrmConfig, inputs_of: Callable[[slice], RewardInputs], n: int) -> ScoredTerms:
    """:func:`hgrm_terms` / :func:`scaffold_terms` (by ``cfg.profile``) over ``n`` decisions, in
    blocks of :data:`_BLOCK` run by :data:`_THREADS` threads (every value is elementwise, so the
    result is the same as in one pass), each output written into its own preallocated array (one
    array for columns that always agree, :func:`shared_columns`);
    ``mapped = isfinite(car)`` and the codes of :class:`ScoredTerms`. ``inputs_of(block)`` gives the
    :class:`RewardInputs` of the decisions in ``block`` (arrays of the block's length, or scalars)."""
    terms_of = hgrm_terms if cfg.profile == "hgrm" else scaffold_terms
    tables = hgrm_tables(cfg) if cfg.profile == "hgrm" else None
    out = ScoredTerms(
        mapped=np.empty(n, dtype=bool),
        direction_gate=np.empty(n, dtype=np.int8),
        type_gate=np.empty(n, dtype=np.int8),
        expected=np.empty(n, dtype=np.int8),
        columns={},
    )
    shared = shared_columns(cfg, tables)
    for c in REWARD_COLUMNS:
        out.columns[c] = out.columns[shared[c]] if c in shared else np.empty(n, bool if c == "clipped" else np.float64)

    def run(block: slice) -> None:
        part = inputs_of(block)
        direction_gate, type_gate = terms_of(cfg, part, {c: o[block] for c, o in out.columns.items()}, tables)
        unmapped = np.flatnonzero(~np.isfinite(part.car, out=out.mapped[block]))
        expected = part.d + np.int8(3) * (part.d < 0)  # -1 (short) -> 2, 0 and 1 as they are
        for codes, code in ((out.direction_gate, direction_gate), (out.type_gate, type_gate), (out.expected, expected)):
            np.copyto(codes[block], code, casting="unsafe")
            codes[block][unmapped] = UNMAPPED

    blocks = [slice(start, min(start + _BLOCK, n)) for start in range(0, n, _BLOCK)]
    if len(blocks) > 1:
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(run, blocks))
    else:
        for block in blocks:
            run(block)
    return out
