"""The text baseline: a trained model that reads the news and decides, on this machine.

A scikit-learn pipeline fitted on the ``train`` split of a labelled CAR table (the chronological
4:4:1:1 split, so it is only ever applied to the later ``validation`` and ``test`` events):

- features: TF-IDF of ``headline + "\\n" + body`` (word uni- and bigrams, ``min_df``, sublinear tf,
  l2 norm: ``tfidf(t, d) = (1 + log tf) * idf(t)`` with ``idf(t) = ln((1 + n) / (1 + df(t))) + 1``,
  each row scaled to unit length), plus a one-hot column per event type of the dataset's own
  event-type tag;
- three multinomial logistic regressions (lbfgs, l2 penalty ``1 / C``): **direction**
  (positive|negative|neutral) and **strength** (strong|weak) on text + type, **event type** on the
  text alone (the tag is an input of the other heads; predicting it from itself would be an
  identity). A head whose training labels have one class predicts it;
- the predicted CAR is the mean training CAR of the predicted (direction, strength) pair (none when
  the pair never occurred in training);
- the action is ``long`` for a strong positive, ``short`` for a strong negative, else ``hold``.

Prediction of a head: scores ``z = X W^T + b``; the class is ``argmax z`` (binary heads: class 1
when ``z > 0``), exactly scikit-learn's ``LogisticRegression.predict``.

Saved model
-----------
The fitted model is saved as canonical JSON (``hashing.canonical_json``: sorted keys, no spaces,
floats in their shortest round-trip form): the vocabulary in column order, the idf vector, each
head's classes, coefficients and intercepts, the CAR table and the config. No pickle: the bytes
depend only on the fitted numbers, so the same training data and config give the same bytes, and
``TextBaseline.from_bytes(m.to_bytes()).to_bytes() == m.to_bytes()``. Fitting runs with one BLAS
thread (``threadpoolctl``), so the numbers do not depend on the machine's thread count; lbfgs uses
no random numbers. The model's hash is the SHA-256 of those bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import DECISION_SCHEMA, format_completion
from janus_core.hashing import canonical_json, sha256_bytes

SCHEMA = "janus-text-baseline-v1"
HEADS: tuple[str, ...] = ("direction", "strength", "event_type")
#: Which features each head reads: the TF-IDF text, plus the event-type one-hot columns or not.
HEAD_USES_TYPE: dict[str, bool] = {"direction": True, "strength": True, "event_type": False}
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class TextBaselineError(ValueError):
    """The text baseline cannot be fitted, read or applied."""


class TextBaselineConfig(BaseModel):
    """Constants of the text baseline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    train_split: Literal["historical", "train"] = Field(
        "train",
        description=("Split the model is fitted on: the paper's training split; validation and test stay unseen."),
    )
    ngram_max: int = Field(
        2,
        ge=1,
        le=3,
        description=("Longest word n-gram: bigrams catch 'cut stake' vs 'raise stake', which single words miss."),
    )
    min_df: int = Field(2, ge=1, description="A term must occur in this many training documents (drops one-off names).")
    max_features: int | None = Field(20000, ge=1, description="Keep at most this many terms by document frequency.")
    sublinear_tf: bool = Field(True, description="Term frequency as 1 + log(tf): repeated words do not dominate.")
    c: float = Field(
        1.0, gt=0.0, description=("Inverse l2 strength of the logistic regressions (scikit-learn's default).")
    )
    max_iter: int = Field(2000, ge=1, description="lbfgs iterations: enough to converge on the demo's ~1,200 events.")
    tol: float = Field(1e-8, gt=0.0, description="lbfgs gradient tolerance: tight, so the fit is a converged optimum.")


def documents(frame: pl.DataFrame) -> list[str]:
    """The text a model reads: ``headline + "\\n" + body`` (missing parts empty)."""
    body = pl.col("body") if "body" in frame.columns else pl.lit(None, dtype=pl.String)
    return frame.select(pl.concat_str(pl.col("headline").fill_null(""), pl.lit("\n"), body.fill_null("")).alias("d"))[
        "d"
    ].to_list()


def type_onehot(types: list[str | None]) -> sp.csr_matrix:
    """One column per ``EVENT_TYPES`` entry, 1.0 where the event has that type (a row of zeros
    for a type outside the taxonomy)."""
    index = {t: i for i, t in enumerate(EVENT_TYPES)}
    rows = [i for i, t in enumerate(types) if t in index]
    cols = [index[types[i]] for i in rows]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(types), len(EVENT_TYPES)), dtype=np.float64)


def training_events(labelled: pl.DataFrame, split: str) -> pl.DataFrame:
    """Included events (non-null ``car``) of ``split``, sorted by (published_at, event_id)."""
    needed = ("event_id", "published_at", "headline", "event_type", "car", "direction", "strength", "split")
    missing = [c for c in needed if c not in labelled.columns]
    if missing:
        raise TextBaselineError(f"labelled CAR table lacks column(s) {', '.join(missing)}")
    out = labelled.filter(pl.col("car").is_not_null() & (pl.col("split") == split)).sort("published_at", "event_id")
    if out.height < 2:
        raise TextBaselineError(
            f"the {split} split has {out.height} included event(s); the text baseline needs at least 2"
        )
    return out


@dataclass(frozen=True)
class FittedEstimators:
    """The scikit-learn objects of one fit (what :meth:`TextBaseline.from_estimators` exports)."""

    vectorizer: Any
    heads: dict[str, Any]  # head -> LogisticRegression, or the single class (str) of a constant head


def _features(vectorizer: Any, frame: pl.DataFrame, with_type: bool) -> sp.csr_matrix:
    text = vectorizer.transform(documents(frame))
    if not with_type:
        return sp.csr_matrix(text)
    return sp.csr_matrix(sp.hstack([text, type_onehot(frame["event_type"].to_list())], format="csr"))


def fit_estimators(train: pl.DataFrame, cfg: TextBaselineConfig) -> FittedEstimators:
    """Fit the vectorizer and the three heads on ``train`` (:func:`training_events`) with one BLAS thread."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    vec = TfidfVectorizer(
        lowercase=True,
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, cfg.ngram_max),
        min_df=cfg.min_df,
        max_features=cfg.max_features,
        sublinear_tf=cfg.sublinear_tf,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        dtype=np.float64,
    )
    heads: dict[str, Any] = {}
    with threadpool_limits(limits=1):
        try:
            vec.fit(documents(train))
        except ValueError as exc:  # e.g. no term reaches min_df
            raise TextBaselineError(f"TF-IDF on the {train.height} training events: {exc}") from None
        for head in HEADS:
            rows = train.filter(pl.col("event_type").is_in(EVENT_TYPES)) if head == "event_type" else train
            y = rows[head].to_numpy()
            classes = sorted(set(y.tolist()))
            if not classes:
                raise TextBaselineError(f"head {head}: no training event has a label")
            if len(classes) == 1:
                heads[head] = str(classes[0])
                continue
            clf = LogisticRegression(C=cfg.c, solver="lbfgs", max_iter=cfg.max_iter, tol=cfg.tol, random_state=0)
            clf.fit(_features(vec, rows, HEAD_USES_TYPE[head]), y)
            heads[head] = clf
    return FittedEstimators(vectorizer=vec, heads=heads)


def car_table(train: pl.DataFrame) -> dict[str, float]:
    """Mean training CAR per ``"direction|strength"`` pair (``math.fsum`` / n, exact and order-free)."""
    out: dict[str, list[float]] = {}
    for d, s, c in train.select("direction", "strength", "car").iter_rows():
        out.setdefault(f"{d}|{s}", []).append(float(c))
    return {k: math.fsum(v) / len(v) for k, v in sorted(out.items())}


def _floats(a: np.ndarray) -> list[Any]:
    return np.asarray(a, dtype=np.float64).tolist()


@dataclass(frozen=True)
class TextBaseline:
    """A fitted text baseline as its JSON payload (module docstring); predicts without scikit-learn's
    estimators (only its tokenizer)."""

    payload: dict[str, Any]

    # ------------------------------------------------------------------ serialisation
    def to_bytes(self) -> bytes:
        """Canonical JSON bytes (UTF-8): the saved file."""
        return canonical_json(self.payload).encode("utf-8")

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.to_bytes())

    @property
    def ref(self) -> str:
        """``fitted_model:text-baseline:sha256:HEX``, the model's lineage reference."""
        return f"fitted_model:text-baseline:sha256:{self.sha256}"

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_bytes` to ``path`` (parents created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(self.to_bytes())
        tmp.replace(path)
        return path

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "TextBaseline":
        """Read a saved model, checking its schema and shapes (one-line errors naming ``source``)."""
        try:
            payload = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TextBaselineError(f"{source}: not a JSON text-baseline model ({exc})") from None
        if not isinstance(payload, dict) or payload.get("schema") != SCHEMA:
            found = payload.get("schema") if isinstance(payload, dict) else None
            raise TextBaselineError(f"{source}: schema is {found!r}, expected {SCHEMA!r}")
        try:
            n_terms = len(payload["vectorizer"]["vocabulary"])
            if len(payload["vectorizer"]["idf"]) != n_terms:
                raise TextBaselineError(
                    f"{source}: vectorizer has {n_terms} terms but {len(payload['vectorizer']['idf'])} idf values"
                )
            for head in HEADS:
                h = payload["heads"][head]
                width = n_terms + (len(EVENT_TYPES) if HEAD_USES_TYPE[head] else 0)
                if h["coef"] and (len(h["coef"]) != len(h["intercept"]) or any(len(r) != width for r in h["coef"])):
                    raise TextBaselineError(
                        f"{source}: head {head} coefficients are not {len(h['intercept'])} x {width}"
                    )
        except (KeyError, TypeError) as exc:
            raise TextBaselineError(f"{source}: malformed text-baseline model (missing {exc})") from None
        return cls(payload)

    @classmethod
    def load(cls, path: str | Path) -> "TextBaseline":
        path = Path(path)
        if not path.is_file():
            raise TextBaselineError(f"{path}: no such text-baseline model file")
        return cls.from_bytes(path.read_bytes(), str(path))

    @classmethod
    def from_estimators(
        cls, est: FittedEstimators, cfg: TextBaselineConfig, train: pl.DataFrame, training: Mapping[str, Any]
    ) -> "TextBaseline":
        """Export a fit to the JSON payload (``training``: facts about the training data to record)."""
        vec = est.vectorizer
        vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
        heads: dict[str, Any] = {}
        for head, clf in est.heads.items():
            if isinstance(clf, str):
                heads[head] = {"classes": [clf], "coef": [], "intercept": [], "with_event_type": HEAD_USES_TYPE[head]}
            else:
                heads[head] = {
                    "classes": [str(c) for c in clf.classes_],
                    "coef": [_floats(r) for r in clf.coef_],
                    "intercept": _floats(clf.intercept_),
                    "with_event_type": HEAD_USES_TYPE[head],
                    "n_iter": int(np.max(clf.n_iter_)),
                }
        counts = {
            head: {str(k): int(v) for k, v in train.group_by(head).len().sort(head).iter_rows()} for head in HEADS
        }
        return cls(
            {
                "schema": SCHEMA,
                "config": cfg.model_dump(mode="json"),
                "training": {**dict(training), "events": train.height, "label_counts": counts},
                "vectorizer": {
                    "vocabulary": vocab,
                    "idf": _floats(vec.idf_),
                    "lowercase": True,
                    "token_pattern": TOKEN_PATTERN,
                    "ngram_range": [1, cfg.ngram_max],
                    "sublinear_tf": cfg.sublinear_tf,
                    "norm": "l2",
                    "smooth_idf": True,
                },
                "event_type_features": list(EVENT_TYPES),
                "heads": heads,
                "car_by_direction_strength": car_table(train),
            }
        )

    # ------------------------------------------------------------------ prediction
    def vectorizer(self) -> Any:
        """A scikit-learn ``TfidfVectorizer`` with the saved vocabulary and idf (no refit)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        v = self.payload["vectorizer"]
        vec = TfidfVectorizer(
            vocabulary={t: i for i, t in enumerate(v["vocabulary"])},
            lowercase=v["lowercase"],
            token_pattern=v["token_pattern"],
            ngram_range=tuple(v["ngram_range"]),
            sublinear_tf=v["sublinear_tf"],
            norm=v["norm"],
            smooth_idf=v["smooth_idf"],
            use_idf=True,
            dtype=np.float64,
        )
        vec.idf_ = np.asarray(v["idf"], dtype=np.float64)
        return vec

    def scores(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """Per head, the decision values ``X W^T + b`` (n x classes; n x 1 for a binary head; n x 0
        for a constant head)."""
        if list(self.payload["event_type_features"]) != list(EVENT_TYPES):
            raise TextBaselineError("model was fitted on another event taxonomy")
        vec = self.vectorizer()
        out = {}
        for head in HEADS:
            h = self.payload["heads"][head]
            if not h["coef"]:
                out[head] = np.zeros((frame.height, 0))
                continue
            X = _features(vec, frame, h["with_event_type"])
            out[head] = X @ np.asarray(h["coef"], dtype=np.float64).T + np.asarray(h["intercept"], dtype=np.float64)
        return out

    def predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Per event of ``frame`` (``event_id, headline, body, event_type``; order kept): the
        predicted ``direction``, ``strength``, ``event_type``, ``car`` and each head's class
        probability ``p_<head>`` (softmax of the scores; logistic for a binary head)."""
        scores = self.scores(frame)
        cols: dict[str, Any] = {"event_id": frame["event_id"]}
        for head in HEADS:
            classes = self.payload["heads"][head]["classes"]
            z = scores[head]
            if len(classes) == 1:
                label = np.full(frame.height, 0)
                prob = np.ones(frame.height)
            elif z.shape[1] == 1:
                label = (z[:, 0] > 0).astype(np.int64)
                p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
                prob = np.where(label == 1, p1, 1.0 - p1)
            else:
                label = np.argmax(z, axis=1)
                e = np.exp(z - z.max(axis=1, keepdims=True))
                prob = e[np.arange(frame.height), label] / e.sum(axis=1)
            cols[head] = pl.Series(head, [classes[i] for i in label], dtype=pl.String)
            cols[f"p_{head}"] = pl.Series(f"p_{head}", prob, dtype=pl.Float64)
        table = self.payload["car_by_direction_strength"]
        cols["car"] = pl.Series(
            "car", [table.get(f"{d}|{s}") for d, s in zip(cols["direction"], cols["strength"])], dtype=pl.Float64
        )
        return pl.DataFrame(cols)


def fit_text_baseline(
    labelled: pl.DataFrame, cfg: TextBaselineConfig | None = None, training: Mapping[str, Any] | None = None
) -> TextBaseline:
    """Fit on the ``cfg.train_split`` events of ``labelled`` and export (``training``: facts to
    record with the model, e.g. the dataset name and snapshot hash)."""
    cfg = cfg or TextBaselineConfig()
    train = training_events(labelled, cfg.train_split)
    return TextBaseline.from_estimators(
        fit_estimators(train, cfg), cfg, train, {"split": cfg.train_split, **dict(training or {})}
    )


def action_of(direction: str, strength: str) -> str:
    """``long`` for strong positive, ``short`` for strong negative, else ``hold``."""
    if strength != "strong" or direction not in ("positive", "negative"):
        return "hold"
    return "long" if direction == "positive" else "short"


def baseline_decisions(model: TextBaseline, events: pl.DataFrame, strategy_id: str = "text-baseline") -> pl.DataFrame:
    """The decisions table (``DECISION_SCHEMA`` + ``format_error``) of ``model`` on ``events``
    (:func:`janus_core.prompts.decision_events`), each with a structured completion stating the
    heads' probabilities and where the CAR came from."""
    pred = model.predict(events)
    rows = []
    for p in pred.iter_rows(named=True):
        action = action_of(p["direction"], p["strength"])
        influence = (
            f"Text baseline (TF-IDF + logistic regression): direction {p['direction']} "
            f"(p={p['p_direction']:.2f}), strength {p['strength']} (p={p['p_strength']:.2f}), "
            f"event type {p['event_type']} (p={p['p_event_type']:.2f})."
        )
        analysis = (
            "No training event had this direction and strength: no CAR forecast."
            if p["car"] is None
            else f"Mean CAR of the {p['strength']} {p['direction']} training events: {p['car']:+.4f}."
        )
        rows.append(
            {
                "event_id": p["event_id"],
                "strategy_id": strategy_id,
                "action": action,
                "predicted_event_type": p["event_type"],
                "predicted_strength": p["strength"],
                "predicted_car": p["car"],
                "rationale": analysis,
                "completion": format_completion(action, p["event_type"], p["strength"], p["car"], influence, analysis),
                "format_ok": True,
                "format_error": None,
            }
        )
    schema = {**DECISION_SCHEMA, "format_error": pl.String()}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
