"""The declaration a model family is written in.

A family says where its tool calls sit (markers around a section and around each call, the
separator between calls) and how one call's name and arguments are written (a `Body`). The
grammar (formats/constraint.py) and the streaming parser (formats/parser.py) are both derived
from the same declaration, so what the model may emit and what we read cannot drift apart.

Whitespace in a declared piece is its canonical layout: the grammar emits it exactly, the
parser accepts any whitespace where the declaration has some (or none).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from strictcall.formats.types import Delta
from strictcall.grammar.lark import json_rule
from strictcall.grammar.schema import styled


@dataclass(frozen=True)
class Reasoning:
    """Markers around a reasoning block at the start of the output (`<think>`...`</think>`)."""

    start: str
    end: str


class BodyParser(ABC):
    """Reads one call's body incrementally. Each character is looked at once."""

    name: str | None = None  # set once the name is complete
    done: bool = False  # the body is complete
    error: str | None = None  # the body is malformed

    @abstractmethod
    def feed(self, text: str, pos: int) -> int:
        """Consume from text[pos:], stop at the end of the body; return the new position."""

    @abstractmethod
    def take_arguments(self) -> str:
        """Argument text produced since the last call (only once `name` is known)."""

    def close(self) -> None:
        """End of input: complete the body if it can be, else set `error`."""
        if not self.done and self.error is None:
            self.error = "output ended inside a tool call"

    def arguments_json(self) -> str:
        """The whole arguments text, checked once the body is done."""
        raise NotImplementedError


class Body(ABC):
    """How one call's name and arguments are written."""

    @abstractmethod
    def lark(self, name: str, args_rule: str, special_tokens: dict[str, int]) -> str:
        """Lark for one call to tool `name` whose arguments are the rule `args_rule`."""

    @abstractmethod
    def parser(self) -> BodyParser: ...

    @abstractmethod
    def render(self, name: str, arguments: str) -> str:
        """One call in canonical form (`arguments` is compact JSON text)."""

    def arguments_lark(self, rule: str, schema: dict) -> list[tuple[str, str]]:
        """Lark rules for one tool's arguments, as (head, body) pairs; the first defines `rule`.

        A JSON object by default; bodies that write arguments otherwise (Python keyword
        arguments, XML parameters) build them from the schema and name helper rules
        `rule_...`. What cannot be enforced raises `SchemaError` naming the keyword.
        """
        return [(rule, json_rule(styled(schema)))]

    def for_tools(self, schemas: Mapping[str, dict] | None) -> Body:
        """This body for one request's tools (name -> parameters schema; None: unknown).

        Bodies whose reading depends on the schema (XML parameters typed by it) keep them.
        """
        return self

    @property
    def markers(self) -> tuple[str, ...]:
        """Fixed texts the body writes around names and arguments (kept visible in output)."""
        return ()


@dataclass(frozen=True)
class CallSyntax:
    """Where calls sit in the output.

    `section_start`/`section_end` wrap all calls of a turn (empty when there is no wrapper);
    `call_start`/`call_end` wrap each call; `separator` goes between two calls. `trailer` is
    written after the section end and may be left out by a model (Llama 4's `<|python_end|>`).

    `alt_openings` are other spellings of the opening (section start plus call start) that
    models write and the parser accepts (a bare `[` for `<|python_start|>[`); the grammar
    writes only the declared one, and free text never contains any of them.
    `anchored`: the tool section can only open the output (pythonic lists); later text that
    looks like an opening is content.
    """

    body: Body
    call_start: str = ""
    call_end: str = ""
    separator: str = ""
    section_start: str = ""
    section_end: str = ""
    trailer: str = ""
    alt_openings: tuple[str, ...] = ()
    anchored: bool = False

    @property
    def trigger(self) -> str:
        """The first marker of a tool section: where content ends and calls begin."""
        opening = (self.section_start + " " + self.call_start).split()
        if not opening:
            raise ValueError("a call syntax needs a start marker")
        return opening[0]

    def opening_parts(self) -> list[str]:
        """Markers after the trigger up to the first body."""
        return (self.section_start + " " + self.call_start).split()[1:]

    def next_call_parts(self) -> list[str]:
        return (self.separator + " " + self.call_start).split()

    def openings(self) -> dict[str, list[str]]:
        """Every accepted opening: its first marker (a trigger) -> the markers after it."""
        out: dict[str, list[str]] = {}
        for text in (self.section_start + " " + self.call_start, *self.alt_openings):
            first, *rest = text.split()
            if out.setdefault(first, rest) != rest:
                raise ValueError(f"two openings start with {first!r}")
        return out

    @property
    def markers(self) -> tuple[str, ...]:
        """Every fixed text of the format (a special token among them stays visible)."""
        pieces = (self.section_start, self.call_start, self.call_end, self.separator)
        pieces += (self.section_end, self.trailer, *self.alt_openings, *self.body.markers)
        return tuple(p for p in pieces if p)


def parts(text: str) -> list[str]:
    return text.split()


__all__ = ["Body", "BodyParser", "CallSyntax", "Delta", "Reasoning", "parts"]
