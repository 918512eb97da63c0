"""A model family's tool-call format: one declaration, from which come its grammar and parser."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from strictcall.formats.constraint import ConstraintSpec, build_grammar
from strictcall.formats.parser import StreamParser
from strictcall.formats.syntax import Answer, CallSyntax, Reasoning
from strictcall.formats.types import (
    DeltaParser,
    IdFactory,
    ParseResult,
    assemble,
    openai_call_id,
)
from strictcall.formats.validation import arguments_check

ToolsArg = Iterable[Any] | None


def compact_json(value: Any) -> str:
    """JSON in the style the grammar enforces (see grammar.schema.JSON_STYLE)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def tool_schemas(tools: ToolsArg) -> dict[str, dict] | None:
    """Parameters schema by tool name, from OpenAI tool objects, ToolSpecs or plain names (a
    schema that is not given is `{}`); None means "any tool, schemas unknown"."""
    if tools is None:
        return None
    out: dict[str, dict] = {}
    for tool in tools:
        if isinstance(tool, str):
            name, params = tool, None
        elif isinstance(tool, dict):
            fn = tool.get("function", tool)
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                continue
            name, params = fn["name"], fn.get("parameters")
        elif hasattr(tool, "name"):
            name, params = tool.name, getattr(tool, "parameters", None)
        else:
            continue
        out[name] = params if isinstance(params, dict) else {}
    return out


def tool_names(tools: ToolsArg) -> set[str] | None:
    """Names of the tools (as `tool_schemas` reads them); None means "accept any name"."""
    schemas = tool_schemas(tools)
    return None if schemas is None else set(schemas)


@dataclass(frozen=True)
class Format:
    """A family's declaration plus the two things derived from it.

    Families whose calls are markers around a body need nothing but the declaration, however
    the body is written (JSON, Python calls, XML parameters: a `Body`); Harmony, whose calls
    are messages on channels, overrides `stream` and `grammar`.

    `syntax` is what the grammar makes the model write; `variants` are other spellings the
    family is known to produce, which the parser reads too (and free text may not contain).
    `written` are variants that open the answer and that the grammar lets the model write
    as well wherever calls may be made, because the family's models favour them (a small Qwen
    model opens a call with the bare JSON body its template shows, without `<tool_call>`): a
    call so written is read and constrained as a call instead of being left as unchecked text.
    Which of them one model writes is read from its chat template's rendering
    (formats/detect.py: Mistral's generations, Granite's marker); `prompt_call_id` rewrites
    earlier-turn call ids into the shape the family's chat templates require.
    """

    name: str
    syntax: CallSyntax | None
    reasoning: Reasoning | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    new_id: IdFactory = field(default=openai_call_id, compare=False)
    variants: tuple[CallSyntax, ...] = ()
    written: tuple[CallSyntax, ...] = ()
    prompt_call_id: Callable[[str], str] | None = field(default=None, compare=False)
    # A prompt renderer in chat/ that replaces the model's chat template (None: the template).
    renderer: str | None = None
    # The reasoning_effort values the family understands (empty: whatever its template takes).
    reasoning_efforts: tuple[str, ...] = ()
    # Special tokens that end the model's turn, besides the model's own end-of-sequence ones.
    turn_ends: tuple[str, ...] = ()
    # Namespaces of the server's built-in tools (`python`, `browser`) that this family was
    # trained to call its own way (Harmony: declared in the system message, called as
    # `to=python`): for these the prompt gets `builtin_tools=[...]` instead of functions, and
    # their ToolSpecs are marked `native` so the grammar and parser use the family's own form.
    native_builtin_tools: frozenset[str] = frozenset()
    # What a plain answer opens with, where a call would open it instead (muse-glimmer's
    # ` to=user<|message|>`, beside ` to=NAME<|message|>` for a call): the grammar writes it,
    # the parser drops it.
    answer_start: str = ""
    # What a plain answer ends with where calls would follow it (Kimi K3 closes its response
    # block, then opens its tools block): the grammar lets an answer without calls end with
    # it, the parser drops it from the content's end.
    answer_end: str = ""
    # Special tokens the family cannot be served without (Harmony's channels): a server asked
    # for this format on a tokenizer that lacks one refuses to start.
    required_tokens: tuple[str, ...] = ()
    # Markers around a plain answer, in families whose every message opens with a header
    # (Functionary's `>>>all\n`, Solar Open's `<|content|>`).
    answer: Answer | None = None
    # What a generation prompt ends with that the output continues (Functionary's `>>>`, which
    # opens the model's first message, whatever it is): see `opened_by`.
    prompt_opening: str = ""

    @property
    def syntaxes(self) -> tuple[CallSyntax, ...]:
        """Every syntax the parser reads, the canonical one first."""
        first = (self.syntax,) if self.syntax is not None else ()
        rest = (*self.variants, *self.written)
        return first + tuple(dict.fromkeys(v for v in rest if v != self.syntax))

    def markers(self) -> list[str]:
        """Texts the parser reads (every syntax's markers): special tokens spelling them must
        reach it as text."""
        out = [m for s in self.syntaxes for m in s.markers()]
        out += self.answer.marks() if self.answer is not None else ()
        return [m for m in dict.fromkeys(out) if m.strip()]

    def opened_by(self, prompt: str) -> str:
        """What `prompt` already wrote of the output (its `prompt_opening`, "" if it does not end
        so): the parser reads the output as following it, the grammar writes only the rest."""
        opening = self.prompt_opening
        return opening if opening and prompt.endswith(opening) else ""

    def stream(
        self,
        tools: ToolsArg = None,
        *,
        reasoning: bool = True,
        in_reasoning: bool = False,
        calls: bool = True,
        calls_at_start: bool = False,
        validate: bool = False,
        opened: str = "",
    ) -> DeltaParser:
        """An incremental parser: `.feed(text)` and `.close()` each return a list of deltas.

        `calls=False` reads call markup as content (no tools were offered, or none may be
        called); reasoning is still separated. `calls_at_start`: calls may only open the
        answer, as the grammar has it when a response format governs the answer text (a call
        spelled inside a JSON answer is then content). Calls whose arguments break their
        tool's schema are withdrawn (formats/validation.py). `opened`: what the prompt already
        wrote of the output (`opened_by`).
        """
        syntaxes = self._bound(tools) if calls else ()
        if calls_at_start:
            syntaxes = tuple(replace(s, at_start=True) for s in syntaxes)
        return StreamParser(
            syntaxes,
            self.reasoning if reasoning else None,
            tools=tool_names(tools),
            in_reasoning=in_reasoning,
            new_id=self.new_id,
            check_arguments=arguments_check(tool_schemas(tools)) if validate else None,
            answer=self.answer,
            framing=(self.answer_start, self.answer_end),
            opened=opened,
        )

    def _bound(self, tools: ToolsArg) -> tuple[CallSyntax, ...]:
        """Every syntax, its body given the request's tool schemas (XML parameters are read by
        their types)."""
        schemas = tool_schemas(tools)
        out = []
        for syntax in self.syntaxes:
            body = syntax.body.for_tools(schemas)
            out.append(syntax if body is syntax.body else replace(syntax, body=body))
        return tuple(out)

    def render_answer(self, text: str) -> str:
        """A plain answer (no calls) as the family writes it; see `render_calls`."""
        opening = self.answer.start if self.answer is not None else ""
        return opening + self.answer_start + text + self.answer_end

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
        written = tuple(w for w in self.written if w != self.syntax)
        others = tuple(s for s in self.syntaxes[1:] if s not in written)
        return build_grammar(
            self.syntax,
            self.reasoning,
            spec,
            others,
            written,
            self.answer,
            (self.answer_start, self.answer_end),
        )
