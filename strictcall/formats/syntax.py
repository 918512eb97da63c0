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
from strictcall.grammar.json_lark import arguments_rules
from strictcall.grammar.rule_memo import NO_TOKENS


def json_arguments_lark(rule: str, schema: dict) -> list[tuple[str, str]]:
    """Arguments written as a JSON object (grammar/json_lark.py: Lark rules where they mean
    exactly llguidance's `%json` of the schema, that otherwise)."""
    return arguments_rules(rule, schema)


@dataclass(frozen=True)
class Reasoning:
    """Markers around a reasoning block at the start of the output (`<think>`...`</think>`)."""

    start: str
    end: str


@dataclass(frozen=True)
class Answer:
    """Markers around a plain answer, in families whose every message opens with a header
    (Functionary's `>>>all\n`, Solar Open's `<|content|>`). `start` opens the answer text;
    `end` closes it (the output may stop there); `before_calls` follows `end` where calls come
    after the answer (Solar Open's `<|begin|>assistant`). The grammar writes them, the parser
    drops them."""

    start: str
    end: str = ""
    before_calls: str = ""

    def marks(self) -> tuple[str, ...]:
        """The texts the parser drops from content, the one that leads to calls included."""
        found = (self.start, self.end + self.before_calls, self.end)
        return tuple(m for m in dict.fromkeys(found) if m)


class BodyParser(ABC):
    """Reads one call's body incrementally. Each character is looked at once."""

    name: str | None = None  # set once the name is complete
    call_id: str | None = None  # the id the model wrote for the call, if its syntax has one
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

    # Text every body of this kind begins with ("" when it varies). A call syntax without a
    # start marker (`CallSyntax.at_start`) is recognised by it.
    lead: str = ""

    @abstractmethod
    def lark(self, name: str, args_rule: str, special_tokens: Mapping[str, int]) -> str:
        """Lark for one call to tool `name` whose arguments are the rule `args_rule`."""

    @abstractmethod
    def parser(self) -> BodyParser: ...

    @abstractmethod
    def render(self, name: str, arguments: str) -> str:
        """One call in canonical form (`arguments` is compact JSON text)."""

    def arguments_lark(
        self, rule: str, schema: dict, special_tokens: Mapping[str, int] = NO_TOKENS
    ) -> list[tuple[str, str]]:
        """Lark rules for one tool's arguments, as (head, body) pairs; the first defines `rule`.

        A JSON object by default; bodies that write arguments otherwise (Python keyword
        arguments, XML parameters) build them from the schema and name helper rules
        `rule_...`, their markers' special tokens as tokens (Gemma's `<|"|>`, Kimi K3's tags).
        What cannot be enforced raises `SchemaError` naming the keyword.
        """
        return json_arguments_lark(rule, schema)

    def for_tools(self, schemas: Mapping[str, dict] | None) -> Body:
        """This body for one request's tools (name -> parameters schema; None: unknown).

        Bodies whose reading depends on the schema (XML parameters typed by it) keep them.
        """
        return self

    def starts(self, ch: str) -> bool:
        """Can a body begin with `ch`? Tells apart syntaxes that share a start marker, and
        keeps text that cannot be a call from being read as one."""
        return not self.lead or ch == self.lead[0]

    def markers(self) -> tuple[str, ...]:
        """Marker texts inside the body (kept visible when they are special tokens)."""
        return ()


@dataclass(frozen=True)
class CallSyntax:
    """Where calls sit in the output.

    `section_start`/`section_end` wrap all calls of a turn (empty when there is no wrapper);
    `call_start`/`call_end` wrap each call; `separator` goes between two calls. `trailer` is
    written after the section end and may be left out by a model (Llama 4's `<|python_end|>`).

    The trigger (where content ends and calls begin) is the first whitespace-separated word of
    the opening; `trigger_marker` names it when the opening writes it glued to what follows
    (Mistral's `[TOOL_CALLS][`), so the parser still accepts whitespace after it.

    `at_start`: calls count only at the very start of the answer (after any reasoning); later
    text that looks like an opening is content (pythonic lists, Llama 3's JSON). Such a syntax
    may have no start marker at all: the body's own `lead` (Llama 3's `{`) is then the
    trigger, and it is part of the body.

    Other spellings a family writes (a bare `[` for Llama 4's `<|python_start|>[`, Qwen3-Coder's
    `<function=` without `<tool_call>`) are further `CallSyntax`es in `Format.variants`.
    """

    body: Body
    call_start: str = ""
    call_end: str = ""
    separator: str = ""
    section_start: str = ""
    section_end: str = ""
    trailer: str = ""
    trigger_marker: str = ""
    at_start: bool = False

    def __post_init__(self) -> None:
        opening = self._opening().strip()
        if self.trigger_marker and not opening.startswith(self.trigger_marker):
            raise ValueError(f"the opening {opening!r} does not start with the trigger")
        if not opening and not (self.at_start and self.body.lead):
            raise ValueError("a call syntax needs a start marker (or at_start and a body lead)")

    def _opening(self) -> str:
        return self.section_start + " " + self.call_start

    @property
    def trigger(self) -> str:
        """The first marker of a tool section ("" when the body itself starts it)."""
        if self.trigger_marker:
            return self.trigger_marker
        opening = self._opening().split()
        return opening[0] if opening else ""

    @property
    def lead(self) -> str:
        """What the first piece of a tool section starts with: the trigger or the body."""
        return self.trigger or self.body.lead

    def opening_parts(self) -> list[str]:
        """Markers after the trigger up to the first body."""
        opening = self._opening().strip()
        return opening[len(self.trigger) :].split()

    def next_call_parts(self) -> list[str]:
        return (self.separator + " " + self.call_start).split()

    @property
    def repeats(self) -> bool:
        """Can a second call follow the first? Not without a marker the parser can see (a
        bare JSON body at the start of the answer stands alone)."""
        return bool(self.next_call_parts())

    def markers(self) -> tuple[str, ...]:
        """Every fixed text of the syntax (a special token among them stays visible)."""
        pieces = (self.section_start, self.call_start, self.call_end, self.separator)
        return (*pieces, self.section_end, self.trailer, *self.body.markers())


def parts(text: str) -> list[str]:
    return text.split()


__all__ = [
    "NO_TOKENS",
    "Answer",
    "Body",
    "BodyParser",
    "CallSyntax",
    "Delta",
    "Reasoning",
    "parts",
]
