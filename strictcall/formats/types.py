"""Plain values the parsers hand to their callers."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

_ALNUM = string.ascii_letters + string.digits


def openai_call_id() -> str:
    """`call_` plus 24 alphanumerics, the shape OpenAI uses."""
    return "call_" + "".join(secrets.choice(_ALNUM) for _ in range(24))


IdFactory = Callable[[], str]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # a JSON text


@dataclass
class ParseResult:
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    # True when the text ended inside a call or a reasoning block (cut off, or malformed).
    incomplete: bool = False


@dataclass
class Delta:
    """One step of streamed output.

    A delta carries content, reasoning, or a piece of tool call `tool_call_index`: the first
    piece of a call has its `id` and `name`, later pieces extend `arguments`. A delta with
    `withdrawn=True` says that call turned out malformed: its raw text is in `content`, and a
    consumer that can still take the call back (non-streaming) returns that text as content.
    """

    content: str | None = None
    reasoning: str | None = None
    tool_call_index: int | None = None
    id: str | None = None
    name: str | None = None
    arguments: str | None = None
    withdrawn: bool = False


def assemble(deltas: list[Delta]) -> ParseResult:
    """Fold a delta stream into a whole message (what a non-streaming response returns)."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, ToolCall] = {}
    for d in deltas:
        if d.withdrawn:
            calls.pop(d.tool_call_index, None)  # type: ignore[arg-type]
            content.append(d.content or "")
            continue
        if d.content:
            content.append(d.content)
        if d.reasoning:
            reasoning.append(d.reasoning)
        if d.tool_call_index is not None:
            call = calls.get(d.tool_call_index)
            if call is None:
                call = calls[d.tool_call_index] = ToolCall(d.id or "", d.name or "", "")
            call.arguments += d.arguments or ""
    return ParseResult(
        content="".join(content) or None,
        reasoning="".join(reasoning) or None,
        tool_calls=[calls[i] for i in sorted(calls)],
    )


class DeltaParser(Protocol):
    """What every format's incremental parser offers (see formats/parser.py)."""

    calls: int  # calls begun
    malformed: int  # calls that fell back to content

    def feed(self, text: str) -> list[Delta]: ...

    def close(self) -> list[Delta]: ...
