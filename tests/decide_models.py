"""Python-callable models for ``janus decide --model decide_models:NAME`` in tests: each takes the
chat messages of one prompt and returns the completion text."""

from __future__ import annotations

from janus_core.decide.decisions import format_completion


def always_long(messages: list[dict[str, str]]) -> str:
    """A well-formed structured answer: long, strong, financing, CAR +1%."""
    assert [m["role"] for m in messages] == ["system", "user"]
    return format_completion("long", "financing", "strong", 0.01, "Good news.", "Expect +1%.")


def chatty(messages: list[dict[str, str]]) -> str:
    """Ignores the answer format."""
    return "Sure! I think this stock goes up."


def broken(messages: list[dict[str, str]]) -> str:
    raise RuntimeError("model crashed")


def not_text(messages: list[dict[str, str]]) -> int:
    return 42
