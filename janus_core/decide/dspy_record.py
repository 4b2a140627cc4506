"""The compile record of a DSPy decision program, as a decisions file's lineage carries it.

``janus decide --optimize dspy`` (:mod:`janus_core.decide.dspy_program`) writes it under the
lineage's ``dspy`` key; ``janus export --dspy-bundle`` reads it back (:func:`decisions_program_record`)
into the bundle's compile result and keeps it in the run manifest's ``dspy.program``, where ``janus
verify`` rebuilds the compile result from it. This module needs neither DSPy nor the numerical
libraries, so reading evidence stays light.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from janus_core.decide.lineage import LineageError, read_lineage
from janus_core.hashing import H


class DspyProgramRecord(BaseModel):
    """The compile record a decisions file's lineage carries under ``dspy`` (module docstring), and
    the run manifest's ``dspy.program``.

    ``program_name``, ``signature_versions``, ``optimizer``, ``seed`` (the draw of the train
    examples, a decimal string), ``dataset_hash`` (H of the train examples) and
    ``compiled_prompt_hash`` go into the compile result as they are; ``compiled_prompt`` is the
    program (signature and demos) and must hash to ``compiled_prompt_hash``; ``optimizer_config``,
    ``metric`` (name and reward config hash), ``train_event_ids``, ``evaluation`` (the decide run's
    own: split, events, their hash, mean metric, well-formed count), ``lm`` (model id, sampling) and
    ``dspy_version`` describe how it was made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    program_name: str
    signature_versions: dict[str, str]
    optimizer: str
    optimizer_config: dict[str, Any]
    metric: dict[str, str]
    seed: str
    dataset_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    train_event_ids: list[str]
    compiled_prompt: dict[str, Any]
    compiled_prompt_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    evaluation: dict[str, Any]
    lm: dict[str, Any]
    dspy_version: str

    @model_validator(mode="after")
    def _prompt_hash(self) -> DspyProgramRecord:
        actual = H(self.compiled_prompt)
        if self.compiled_prompt_hash != actual:
            raise ValueError(f"compiled_prompt_hash {self.compiled_prompt_hash} is not H(compiled_prompt) {actual}")
        return self

    def demo_event_ids(self) -> list[str]:
        return [d["event_id"] for d in self.compiled_prompt.get("demos", [])]

    def bundle_entry(self) -> dict[str, Any]:
        """What the DSPy bundle's metric bundle carries of the record (``janus_dspy_compile``): all
        but the fields the compile result has itself and the compiled prompt (its hash is there)."""
        return {
            "optimizer_config": self.optimizer_config,
            "metric": self.metric,
            "train_event_ids": self.train_event_ids,
            "demo_event_ids": self.demo_event_ids(),
            "evaluation": self.evaluation,
            "lm": self.lm,
            "dspy_version": self.dspy_version,
        }


def decisions_program_record(path: Any) -> DspyProgramRecord | None:
    """The compile record in a decisions file's lineage (None without lineage or without one);
    :class:`LineageError` naming the file when it breaks :class:`DspyProgramRecord`."""
    lineage = read_lineage(path)
    if lineage is None or lineage.get("dspy") is None:
        return None
    try:
        return DspyProgramRecord.model_validate(lineage["dspy"])
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "".join(f".{x}" for x in err["loc"])
        raise LineageError(
            f"{path}: lineage dspy{where}: {err['msg']} (rule: the DSPy compile record of janus decide --optimize dspy)"
        ) from None
