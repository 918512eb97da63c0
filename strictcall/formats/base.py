"""A model family's tool-call format: one declaration, from which come its grammar and parser."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from strictcall.formats.constraint import ConstraintSpec, build_grammar
from strictcall.formats.parser import StreamParser
from strictcall.formats.syntax import CallSyntax, Reasoning
from strictcall.formats.types import IdFactory, ParseResult, assemble, openai_call_id

ToolsArg = Iterable[Any] | None


def compact_json(value: Any) -> str:
    """JSON in the style the grammar enforces (see grammar.schema.JSON_STYLE)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def tool_names(tools: ToolsArg) -> set[str] | None:
    """Names from OpenAI tool objects (or plain names); None means "accept any name"."""
    if tools is None:
        return None
    names = set()
    for tool in tools:
        if isinstance(tool, str):
            names.add(tool)
        elif isinstance(tool, dict):
            fn = tool.get("function", tool)
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                names.add(fn["name"])
        elif hasattr(tool, "name"):
            names.add(tool.name)
    return names


def tool_schemas(tools: ToolsArg) -> dict[str, dict] | None:
    """Parameters schema by tool name (OpenAI tool objects or ToolSpecs); None: no tools."""
    if tools is None:
        return None
    out: dict[str, dict] = {}
    for tool in tools:
        if isinstance(tool, dict):
            fn = tool.get("function", tool)
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                params = fn.get("parameters")
                out[fn["name"]] = params if isinstance(params, dict) else {}
        elif hasattr(tool, "name") and isinstance(getattr(tool, "parameters", None), dict):
            out[tool.name] = tool.parameters
    return out


@dataclass(frozen=True)
class Format:
    """A family's declaration plus the two things derived from it.

    Families whose calls are markers around a body need nothing but the declaration; families
    with a shape of their own (pythonic, Harmony) override `stream` and `grammar`.
    """

    name: str
    syntax: CallSyntax | None
    reasoning: Reasoning | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    new_id: IdFactory = field(default=openai_call_id, compare=False)

    def stream(
        self,
        tools: ToolsArg = None,
        *,
        reasoning: bool = True,
        in_reasoning: bool = False,
    ) -> StreamParser:
        """An incremental parser: `.feed(text)` and `.close()` each return a list of deltas."""
        syntax = self.syntax
        if syntax is not None:
            body = syntax.body.for_tools(tool_schemas(tools))
            if body is not syntax.body:
                syntax = replace(syntax, body=body)
        return StreamParser(
            syntax,
            self.reasoning if reasoning else None,
            tools=tool_names(tools),
            in_reasoning=in_reasoning,
            new_id=self.new_id,
        )

    def parse(self, text: str, tools: ToolsArg = None, **options: Any) -> ParseResult:
        """Parse a whole output: `.content`, `.reasoning`, `.tool_calls`."""
        parser = self.stream(tools, **options)
        deltas = parser.feed(text) + parser.close()
        result = assemble(deltas)
        result.incomplete = parser.malformed > 0
        return result

    def render_calls(self, calls: list[tuple[str, dict]]) -> str:
        """Calls written as this family writes them (what its grammar produces).

        Used to build examples, benchmarks and round-trip tests: parse(render(x)) == x.
        """
        if self.syntax is None:
            raise NotImplementedError(f"{self.name} has no call syntax")
        s = self.syntax
        bodies = [s.call_start + s.body.render(n, compact_json(a)) + s.call_end for n, a in calls]
        return s.section_start + s.separator.join(bodies) + s.section_end + s.trailer

    def grammar(self, spec: ConstraintSpec) -> str | None:
        """Lark grammar enforcing `spec` in this family's own syntax (None: unconstrained)."""
        return build_grammar(self.syntax, self.reasoning, spec)
