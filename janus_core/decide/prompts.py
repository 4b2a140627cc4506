"""Prompts from events: versioned templates rendered with what was known before the decision.

A template is a text file (``janus_core/templates/NAME.txt``, or any path) with a ``=== system ===``
and a ``=== user ===`` section; ``$name`` fields (Python ``string.Template``; ``$$`` is a literal
dollar) are filled per event with the values :func:`prompt_fields` builds. Lines starting with ``#``
before the first section are comments. The **template hash** is the SHA-256 of the file's bytes;
the **prompt hash** is ``H(messages)`` (``hashing.H``) of the rendered chat messages
``[{"role": "system", "content": S}, {"role": "user", "content": U}]``, what the completion cache
keys on. Both are written into every decision record (:func:`render_prompts`).

Point in time
-------------
The decision is taken at the open of the event day (``events.map_event_days``: the first session
the news can inform), which is when the backtest enters. A prompt holds only:

- the event's own news: headline, body (cut to ``max_body_chars``), publication time and symbol;
- the security's static profile (name, industry, size tier, benchmark);
- the pre-event market state of ``training.pre_event_state``: the close of the last session
  strictly before the event day and trailing stock and benchmark returns ending there;
- the decision day itself and the ten event types of the taxonomy (the answer vocabulary).

Nothing computed from prices on or after the event day (the CAR, its labels, the realised path),
no later event and no vendor event-type tag ever enters a prompt (``tests/test_prompts.py`` makes
later prices extreme and checks the prompts are unchanged).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.dataset import Dataset
from janus_core.data.events import EVENT_TYPE_NAMES, EVENT_TYPES
from janus_core.decide.training import SPLITS, TrainingConfig, pre_event_state, with_profile_and_state
from janus_core.hashing import H, sha256_bytes

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATE = "decision-v1"
SYSTEM_MARKER = "=== system ==="
USER_MARKER = "=== user ==="

#: The fields a template may use, each a string built by :func:`prompt_fields`.
TEMPLATE_FIELDS: dict[str, str] = {
    "symbol": "the security's symbol",
    "company": "the security's name (its symbol when it has none)",
    "industry": "the security's industry, or n/a",
    "size_tier": "the security's size tier, or n/a",
    "benchmark": "the security's benchmark",
    "published_local": "publication time in exchange local time, YYYY-MM-DD HH:MM",
    "timezone": "the exchange time zone (IANA name)",
    "headline": "the news headline",
    "body": "the news body, cut to max_body_chars characters (empty when none)",
    "decision_day": "the event day (ISO date): the first session the news can inform, entered at its open",
    "state_date": "the last session strictly before the decision day (ISO date), or n/a",
    "state_close": "the stock's close on state_date (4 decimals), or n/a",
    "returns": "one line per lookback k: the stock's and the benchmark's k-session returns ending at state_date",
    "event_types": "one line per event type: '- slug: English name / Chinese name'",
}
#: Columns of :func:`render_prompts`.
PROMPT_COLUMNS: tuple[str, ...] = ("event_id", "prompt_system", "prompt_user", "prompt_hash", "template_hash")


class PromptError(ValueError):
    """A template cannot be read or rendered."""


class PromptConfig(BaseModel):
    """Which template renders the prompts and the constants of the market state it shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template: str = Field(
        DEFAULT_TEMPLATE,
        description=("A template name under janus_core/templates (without .txt) or the path of a template file."),
    )
    lookback_days: tuple[int, ...] = Field(
        (1, 5, 20),
        description=(
            "Trailing windows (sessions) of the pre-event stock and benchmark returns: the last day, a week "
            "and a month, the horizons a trader checks before acting on news (as training.TrainingConfig)."
        ),
    )
    max_body_chars: int = Field(
        1500,
        gt=0,
        description=(
            "News body cut to this many characters: keeps a prompt near 1,000 tokens (as training.TrainingConfig)."
        ),
    )


@dataclass(frozen=True)
class PromptTemplate:
    """A parsed template: ``name`` (file stem), the two section texts and ``sha256`` of the file."""

    name: str
    system: str
    user: str
    sha256: str

    @property
    def ref(self) -> str:
        """``template:NAME:sha256:HEX``, the template's lineage reference."""
        return f"template:{self.name}:sha256:{self.sha256}"

    def fields(self) -> set[str]:
        """The ``$name`` fields both sections use."""
        return set(string.Template(self.system).get_identifiers()) | set(string.Template(self.user).get_identifiers())


def parse_template(data: bytes, name: str) -> PromptTemplate:
    """Parse template bytes (UTF-8): comment lines, then ``=== system ===`` and ``=== user ===``
    sections in that order, each non-empty; every ``$field`` must be one of ``TEMPLATE_FIELDS``.
    Section text is stripped of leading and trailing blank lines."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PromptError(f"template {name}: not UTF-8 text ({exc})") from None
    lines = text.splitlines()
    markers = [(i, line.strip()) for i, line in enumerate(lines) if line.strip() in (SYSTEM_MARKER, USER_MARKER)]
    if [m for _, m in markers] != [SYSTEM_MARKER, USER_MARKER]:
        raise PromptError(
            f"template {name}: needs the marker lines {SYSTEM_MARKER!r} then {USER_MARKER!r}, once each; "
            f"found {[m for _, m in markers] or 'none'}"
        )
    (s, _), (u, _) = markers
    stray = [i + 1 for i in range(s) if lines[i].strip() and not lines[i].lstrip().startswith("#")]
    if stray:
        raise PromptError(f"template {name}: line {stray[0]}: text before {SYSTEM_MARKER!r} must be a '#' comment")
    system = "\n".join(lines[s + 1 : u]).strip("\n")
    user = "\n".join(lines[u + 1 :]).strip("\n")
    for section, body in (("system", system), ("user", user)):
        if not body.strip():
            raise PromptError(f"template {name}: the {section} section is empty")
        tmpl = string.Template(body)
        if not tmpl.is_valid():
            raise PromptError(f"template {name}: the {section} section has a '$' that starts no field (write '$$')")
        unknown = sorted(set(tmpl.get_identifiers()) - set(TEMPLATE_FIELDS))
        if unknown:
            raise PromptError(
                f"template {name}: the {section} section uses unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(TEMPLATE_FIELDS)}"
            )
    return PromptTemplate(name=name, system=system, user=user, sha256=sha256_bytes(data))


def template_path(template: str) -> Path:
    """The file of a template name (``janus_core/templates/NAME.txt``) or path."""
    builtin = TEMPLATE_DIR / f"{template}.txt"
    if "/" not in template and "\\" not in template and not template.endswith(".txt") and builtin.is_file():
        return builtin
    return Path(template)


def load_template(template: str = DEFAULT_TEMPLATE) -> PromptTemplate:
    """Read and parse a template by name or path (:func:`parse_template`)."""
    path = template_path(template)
    if not path.is_file():
        known = sorted(p.stem for p in TEMPLATE_DIR.glob("*.txt"))
        raise PromptError(f"template {template!r}: no such file {path} (built-in templates: {', '.join(known)})")
    return parse_template(path.read_bytes(), path.stem)


def messages(system: str, user: str) -> list[dict[str, str]]:
    """The chat messages of a rendered prompt."""
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def prompt_hash(system: str, user: str) -> str:
    """``H(messages(system, user))``: the prompt's identity in the completion cache."""
    return H(messages(system, user))


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:+.2f}%"


def _text(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, str) and not x.strip()) else str(x)


def event_type_lines() -> str:
    """The ``event_types`` field: ``- slug: English / Chinese`` per type, in taxonomy order."""
    return "\n".join(f"- {slug}: {EVENT_TYPE_NAMES[slug][0]} / {EVENT_TYPE_NAMES[slug][1]}" for slug in EVENT_TYPES)


def prompt_fields(ds: Dataset, events: pl.DataFrame, cfg: PromptConfig | None = None) -> pl.DataFrame:
    """One row per event of ``events`` (``event_id, symbol, published_at, headline, body,
    event_day``; input order kept): ``event_id`` and every field of ``TEMPLATE_FIELDS`` as a string.
    The market state comes from :func:`janus_core.training.pre_event_state` (prices strictly before
    ``event_day``); nothing else of ``ds.prices`` or ``ds.benchmarks`` is read."""

    cfg = cfg or PromptConfig()
    needed = ("event_id", "symbol", "published_at", "headline", "event_day")
    missing = [c for c in needed if c not in events.columns]
    if missing:
        raise PromptError(f"events lack column(s) {', '.join(missing)}")
    body = pl.col("body") if "body" in events.columns else pl.lit(None, dtype=pl.String)
    base = events.select(*needed, body.fill_null("").str.slice(0, cfg.max_body_chars).alias("body"))
    state = pre_event_state(
        ds, base, TrainingConfig(lookback_days=cfg.lookback_days, max_body_chars=cfg.max_body_chars)
    )
    rows = with_profile_and_state(ds, base, state)
    tz = ds.meta.exchange_timezone
    zone = ZoneInfo(tz)
    types = event_type_lines()
    out: dict[str, list[str]] = {"event_id": []} | {f: [] for f in TEMPLATE_FIELDS}
    for r in rows.iter_rows(named=True):
        values = {
            "symbol": r["symbol"],
            "company": r["name"] or r["symbol"],
            "industry": _text(r["industry"]),
            "size_tier": _text(r["size_tier"]),
            "benchmark": _text(r["benchmark"]),
            "published_local": r["published_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "timezone": tz,
            "headline": _text(r["headline"]),
            "body": r["body"],
            "decision_day": _text(r["event_day"] and r["event_day"].isoformat()),
            "state_date": _text(r["state_date"] and r["state_date"].isoformat()),
            "state_close": "n/a" if r["state_close"] is None else f"{r['state_close']:.4f}",
            "returns": "\n".join(
                f"- {k}-session return {_pct(r[f'ret_{k}d'])} (benchmark {_pct(r[f'bench_ret_{k}d'])})"
                for k in cfg.lookback_days
            ),
            "event_types": types,
        }
        out["event_id"].append(r["event_id"])
        for f in TEMPLATE_FIELDS:
            out[f].append(values[f])
    return pl.DataFrame(out, schema={c: pl.String for c in out})


def render_prompts(
    ds: Dataset, events: pl.DataFrame, template: PromptTemplate, cfg: PromptConfig | None = None
) -> pl.DataFrame:
    """The rendered prompt of every event (input order): ``event_id, prompt_system, prompt_user,
    prompt_hash, template_hash`` (:func:`prompt_fields` substituted into ``template``)."""
    fields = prompt_fields(ds, events, cfg)
    system_t, user_t = string.Template(template.system), string.Template(template.user)
    systems, users, hashes = [], [], []
    for row in fields.iter_rows(named=True):
        s, u = system_t.substitute(row), user_t.substitute(row)
        systems.append(s)
        users.append(u)
        hashes.append(prompt_hash(s, u))
    return pl.DataFrame(
        {
            "event_id": fields["event_id"],
            "prompt_system": systems,
            "prompt_user": users,
            "prompt_hash": hashes,
            "template_hash": [template.sha256] * fields.height,
        },
        schema={c: pl.String for c in PROMPT_COLUMNS},
    )


def decision_events(labelled: pl.DataFrame, split: str | None = "test", limit: int | None = None) -> pl.DataFrame:
    """The events a model decides on, chosen as the baseline policies choose them: the included
    events (non-null ``car``) of ``split`` (``None``: every split), sorted by (published_at,
    event_id), the first ``limit`` of them. The choice reads the labeller's exclusions; no label
    enters a prompt."""

    if split is not None and split not in SPLITS:
        raise PromptError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    needed = ("event_id", "symbol", "published_at", "headline", "event_day", "car", "split")
    missing = [c for c in needed if c not in labelled.columns]
    if missing:
        raise PromptError(f"labelled CAR table lacks column(s) {', '.join(missing)}")
    keep = pl.col("car").is_not_null() & (pl.lit(True) if split is None else pl.col("split") == split)
    out = labelled.filter(keep).sort("published_at", "event_id")
    body = pl.col("body") if "body" in out.columns else pl.lit(None, dtype=pl.String)
    etype = pl.col("event_type") if "event_type" in out.columns else pl.lit(None, dtype=pl.String)
    out = out.select(
        "event_id",
        "symbol",
        "published_at",
        "headline",
        body.alias("body"),
        etype.alias("event_type"),
        "event_day",
        "split",
    )
    return out if limit is None else out.head(limit)
