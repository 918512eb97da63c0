"""The grammar for one request, derived from the family's declaration.

tool_choice is a grammar, not a hope (DESIGN idea 2):
  auto      free text, or text followed by calls whose names and arguments are valid;
  required  (reasoning, then) at least one call; plain text is unreachable;
  named     (reasoning, then) exactly one call of that function;
  none      the call markers are unreachable;
  parallel_tool_calls=false: at most one call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from strictcall.formats.syntax import NO_TOKENS, Answer, CallSyntax, Reasoning
from strictcall.grammar.lark import (
    free_text_regex,
    lazy_until_regex,
    not_ending_into,
    opens_special,
    text_rule,
)
from strictcall.grammar.matchers import ArgumentsMemo
from strictcall.grammar.schema import SchemaError

Mode = Literal["auto", "none", "required", "named"]

# OpenAI allows letters, digits, `_` and `-` (64 at most); `.` is accepted too, as real tool
# sets (BFCL's `math.factorial`, the built-in `browser.search`) use it.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

# Whitespace a model may put between its reasoning and a forced call.
_GAP = r"/[ \t\r\n]{1,4}/"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    parameters: dict  # normalised JSON Schema of the arguments
    # A built-in tool the family calls its own way (Format.native_builtin_tools), not as a
    # function: only formats that declare native built-ins ever see it set.
    native: bool = False


@dataclass(frozen=True)
class ConstraintSpec:
    tools: tuple[ToolSpec, ...] = ()
    mode: Mode = "auto"
    named: str | None = None
    parallel: bool = True
    reasoning: bool = False  # the template lets the model write a reasoning block
    in_reasoning: bool = False  # the prompt already opened that block
    content: str | None = None  # a Lark rule body for the answer text (response_format)
    # what the prompt already wrote of the output's syntax (Format.prompt_opening): the grammar
    # writes what follows it
    opened: str = ""
    # one shared mapping when none is given: argument rules are kept by its identity
    special_tokens: Mapping[str, int] = field(default_factory=lambda: NO_TOKENS)


class _Lark:
    def __init__(self) -> None:
        self.rules: list[str] = []
        self.names: set[str] = set()

    def add(self, head: str, body: str) -> str:
        name = head.split("[")[0]
        if name not in self.names:
            self.names.add(name)
            self.rules.append(f"{head}: {body}")
        return name

    def has(self, name: str) -> bool:
        return name in self.names

    def text(self) -> str:
        return "\n".join(self.rules) + "\n"


@dataclass(frozen=True)
class _Reserved:
    """What free text must not hold, so the parser never reads a call the grammar did not
    check: anywhere, every trigger the parser reacts to; at the start of the answer, the leads
    of syntaxes that count only there. `markers`: the family's other marker words (a call's
    end, a reasoning marker), which free text may not spell either."""

    anywhere: tuple[str, ...] = ()
    leading: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()


# A marker word: `<...>` without spaces (`</tool_call>`, `<|python_end|>`, `<｜tool▁sep｜>`) or
# `[NAME]` in capitals (`[TOOL_CALLS]`, `[/THINK]`). Short punctuation (`[`, `, `) is layout.
_MARKER_WORD = re.compile(r"<[^<>\s]+>|\[/?[A-Z][A-Z_]*\]")


def marker_words(texts: Sequence[str]) -> tuple[str, ...]:
    """The marker words inside `texts` (markers glued to other text are found too)."""
    return tuple(dict.fromkeys(m for t in texts for m in _MARKER_WORD.findall(t)))


def _reserved(
    syntaxes: Sequence[CallSyntax], reasoning: Reasoning | None, answer: Answer | None = None
) -> _Reserved:
    anywhere = tuple(dict.fromkeys(s.trigger for s in syntaxes if not s.at_start))
    leading = tuple(dict.fromkeys(s.lead for s in syntaxes if s.at_start))
    texts = [m for s in syntaxes for m in s.markers()]
    if answer is not None:
        texts += answer.marks()
    phrases: list[str] = []
    if reasoning is not None:
        texts += [reasoning.start, reasoning.end]
        # a reasoning marker written as a phrase (Apriel's `[BEGIN FINAL RESPONSE]`) is
        # reserved whole: it has no marker word to reserve
        phrases = [m for m in (reasoning.start, reasoning.end) if not marker_words([m])]
    found = (*marker_words(texts), *(p.strip() for p in phrases if p.strip()))
    markers = tuple(m for m in dict.fromkeys(found) if m not in anywhere)
    return _Reserved(anywhere, leading, markers)


def build_grammar(
    syntax: CallSyntax | None,
    reasoning: Reasoning | None,
    spec: ConstraintSpec,
    variants: Sequence[CallSyntax] = (),
    written: Sequence[CallSyntax] = (),
    answer: Answer | None = None,
    framing: tuple[str, str] = ("", ""),
) -> str | None:
    """Lark for the request, or None when the output is unconstrained.

    `syntax` is what the model writes; `variants` are other spellings the parser also reads,
    kept out of free text like the syntax's own trigger. `written` are further spellings the
    grammar lets the model write wherever calls may be made (each opens the answer and shares
    `syntax`'s body; see `Format.written`). `answer`: the markers around a plain answer, where
    the family writes some; `framing`: what an answer without calls opens with / may end with
    (`Format.answer_start`, `Format.answer_end`). Where the prompt opened the output
    (`spec.opened`), the grammar starts after that opening: it must begin both the answer and
    the calls.
    """
    use_tools = bool(spec.tools) and syntax is not None
    think = reasoning if spec.reasoning else None
    if not use_tools and spec.content is None:
        return None
    g = _Lark()
    # the tokenizer's own mapping, never copied: argument rules are kept by its identity
    tokens = spec.special_tokens
    if spec.mode in ("required", "named") and not use_tools:
        raise ValueError(f"tool_choice {spec.mode!r} needs tools")

    for w in written:
        if syntax is None or not w.at_start or w.body != syntax.body:
            raise ValueError("a written variant must open the answer and share the body")
    if spec.opened and (think is not None or written):
        raise ValueError("an output opened by the prompt cannot begin with reasoning or variants")
    if answer is not None and written:
        raise ValueError("written variants open an answer without answer markers")
    everything = [syntax, *variants, *written] if syntax is not None else []
    reserved = _reserved(everything, reasoning, answer) if use_tools else _Reserved()
    marks = answer
    top: str  # the answer's rule
    if not use_tools or spec.mode == "none":
        # the triggers stay unreachable even when spelled in ordinary tokens
        top = g.add("answer", _text_rule(g, spec, reserved, marks, framing, tokens))
    else:
        assert syntax is not None
        tools = spec.tools
        if spec.mode == "named":
            tools = tuple(t for t in tools if t.name == spec.named)
            if not tools:
                raise ValueError(f"no tool named {spec.named!r}")
        parallel = spec.parallel and spec.mode != "named"
        # the written variants open the answer: in auto they stand beside text, elsewhere
        # beside the canonical calls
        alts = [
            _tool_part(g, w, tools, parallel, tokens, tag=f"_w{i}") for i, w in enumerate(written)
        ]
        if spec.mode == "auto":
            top = _auto_answer(
                g, syntax, tools, parallel, spec, tokens, reserved, alts, marks, framing
            )
        else:
            part = _tool_part(g, syntax, tools, parallel, tokens, skip=spec.opened)
            part = " | ".join([part, *alts])
            top = g.add("answer", f"GAP? ({part})" if think else part)
            if think:
                g.add("GAP", _GAP)

    if think is None:
        g.add("start", top)
    else:
        block = _reasoning_rule(g, think, spec, tokens, reserved)
        g.add("start", f"{block} {top}" if spec.in_reasoning else f"{block}? {top}")
    return g.text()


def _plain(
    g: _Lark,
    spec: ConstraintSpec,
    reserved: _Reserved,
    framing: tuple[str, str],
    tokens: Mapping[str, int],
) -> str:
    """An answer without calls, between the family's `framing` (what it opens with, what it
    may end with: `Format.answer_start`, `Format.answer_end`)."""
    content = _content_rule(g, spec, reserved)
    start, end = framing
    head = f"{text_rule(start, tokens)} " if start else ""
    if end and (spec.content is not None or opens_special(end, tokens)):
        content = f"{content} ({text_rule(end, tokens)})?"
    elif end:  # spelled in ordinary tokens, free text could run into it: a lazy lexeme ends there
        others = [*reserved.anywhere, *reserved.markers]
        ended = g.add("ended_text[lazy]", lazy_until_regex(end, others, reserved.leading))
        content = f"({content} | {ended})"
    return g.add("plain", head + content) if head or end else content


def _content_rule(g: _Lark, spec: ConstraintSpec, reserved: _Reserved) -> str:
    if spec.content is not None:
        return g.add("content", spec.content)
    return g.add("TEXT", free_text_regex(reserved.anywhere + reserved.markers, reserved.leading))


def _text_before(g: _Lark, spec: ConstraintSpec, reserved: _Reserved, marker: str) -> str:
    """Free text that `marker` (spelled as special tokens) follows: as `_content_rule`, and not
    ending in the start of a marker that overlaps itself (`>>>` after `>`), which the parser,
    reading text, would find too early."""
    overlap = not_ending_into(marker)
    if spec.content is not None or not overlap:
        return _content_rule(g, spec, reserved)
    words = reserved.anywhere + reserved.markers
    return g.add("TEXT_BEFORE", free_text_regex(words, reserved.leading) + overlap)


def _text_rule(
    g: _Lark,
    spec: ConstraintSpec,
    reserved: _Reserved,
    marks: Answer | None,
    framing: tuple[str, str],
    tokens: Mapping[str, int],
) -> str:
    """The answer text, inside the family's answer markers or its framing, where it writes
    some (a family has one or the other)."""
    content = _plain(g, spec, reserved, framing, tokens)
    if marks is None:
        return content
    start = _piece(_after(marks.start, spec.opened), tokens)
    end = f"{_piece(marks.end, tokens)}?" if marks.end else ""
    return g.add("text", _join(start, content, end))


def _after(text: str, opened: str) -> str:
    """`text` less what the prompt already wrote of it."""
    if not text.startswith(opened):
        raise ValueError(f"the prompt's opening {opened!r} does not begin {text!r}")
    return text[len(opened) :]


def _auto_answer(
    g: _Lark,
    syntax: CallSyntax,
    tools: tuple[ToolSpec, ...],
    parallel: bool,
    spec: ConstraintSpec,
    tokens: Mapping[str, int],
    reserved: _Reserved,
    alts: Sequence[str] = (),
    marks: Answer | None = None,
    framing: tuple[str, str] = ("", ""),
) -> str:
    """auto: the answer text, or the text then calls. Where a plain answer has markers
    (`marks`), calls may also open the answer alone, without them."""
    text = _text_rule(g, spec, reserved, marks, framing, tokens)
    extra = "".join(f" | {a}" for a in alts)
    if spec.content is not None or syntax.at_start or marks is not None:
        # calls opening the answer alone (without the text's markers, where there are some)
        extra = f" | {_tool_part(g, syntax, tools, parallel, tokens, skip=spec.opened)}{extra}"
    if spec.content is not None or syntax.at_start:
        # a response format governs the answer, or calls may only open it: text or calls
        return g.add("answer", f"{text}{extra}")
    start = _piece(_after(marks.start, spec.opened), tokens) if marks is not None else ""
    glue = marks.end + marks.before_calls if marks is not None else ""  # text, then calls
    marker = glue + syntax.trigger
    if opens_special(marker, tokens):
        before = _text_before(g, spec, reserved, marker)
        part = _tool_part(g, syntax, tools, parallel, tokens)
        then = _join(start, before, _piece(glue, tokens), part)
    else:
        # A trigger spelled in ordinary tokens: free text is a lazy lexeme that ends at the
        # first trigger, so the lexer never has to take back text it already gave to content.
        others = reserved.anywhere + reserved.markers
        head = g.add("head[lazy]", lazy_until_regex(marker, others, reserved.leading))
        rest = _tool_part(g, syntax, tools, parallel, tokens, skip=syntax.trigger)
        then = _join(start, head, rest)
    return g.add("answer", f"{text} | {then}{extra}")


def _tool_part(
    g: _Lark,
    syntax: CallSyntax,
    tools: tuple[ToolSpec, ...],
    parallel: bool,
    tokens: Mapping[str, int],
    skip: str = "",
    tag: str = "",
) -> str:
    """The calls; `skip`: what of their opening was already written (their trigger, ended by
    a lazy lexeme, or what the prompt opened)."""
    if skip:
        tag = ("_rest" if skip == syntax.trigger else "_opened") + tag
    name = "tool_part" + tag
    if not g.has("body"):
        _bodies(g, syntax, tools, tokens)
    opening = syntax.section_start + syntax.call_start
    if skip:
        opening = _after(opening.lstrip(), skip)
    seq = [_piece(opening, tokens), "body", _piece(syntax.call_end, tokens)]
    if parallel and syntax.repeats:
        # the separator and the next call's opening are one piece: llguidance lexes greedily,
        # so a separator that also begins the section's end (MiniMax's "\n" before
        # "\n</minimax:tool_call>") would otherwise be taken for the start of that end
        start = _piece(syntax.separator + syntax.call_start, tokens)
        call = g.add(f"call{tag}", _join(start, "body", _piece(syntax.call_end, tokens)))
        seq.append(f"{call}*")
        if syntax.separator and not syntax.separator.strip() and not syntax.section_end:
            # A model ends its last call with the whitespace that would separate the next
            # (Qwen writes "\n" after </tool_call>, then ends its turn): that whitespace may
            # end the calls instead of forcing one more.
            seq.append(f"{_piece(syntax.separator, tokens)}?")
    seq += [_piece(syntax.section_end, tokens), _piece(syntax.trailer, tokens)]
    return g.add(name, _join(*seq))


def _bodies(
    g: _Lark, syntax: CallSyntax, tools: tuple[ToolSpec, ...], tokens: Mapping[str, int]
) -> None:
    alternatives = []
    body = syntax.body
    for i, tool in enumerate(tools):
        try:
            rules = ARGUMENTS.rules(body, tool.parameters, tokens)
        except SchemaError as exc:
            raise SchemaError(exc.keyword, f"{tool.name}: {exc.path}", exc.detail) from None
        for head, rule in rules:
            g.add(head, rule)
        args = rules[0][0]
        alternatives.append(g.add(f"tool_{i}", syntax.body.lark(tool.name, args, tokens)))
    g.add("body", " | ".join(alternatives))


# Argument rules of the tools seen, shared by every request (the benchmark clears it).
ARGUMENTS = ArgumentsMemo()


def _reasoning_rule(
    g: _Lark, think: Reasoning, spec: ConstraintSpec, tokens: Mapping[str, int], reserved: _Reserved
) -> str:
    """The reasoning block: free text, which spells no marker but its own end."""
    opening = "" if spec.in_reasoning else _piece(think.start, tokens)
    # the end's own pieces too (Kimi K3's `<|sep|>`, Solar Open's `<|end|>` of
    # `<|end|><|begin|>assistant`): they are free text nowhere
    others = [m for m in (*reserved.anywhere, *reserved.markers) if m != think.end]
    if opens_special(think.end, tokens):  # THOUGHT cannot run into it
        g.add("THOUGHT", free_text_regex([think.end, *others]))
        body = _join("THOUGHT", _piece(think.end, tokens))
    else:
        body = g.add("thought[lazy]", lazy_until_regex(think.end, others))
    return g.add("reasoning", _join(opening, body))


def _piece(text: str, tokens: Mapping[str, int]) -> str:
    return text_rule(text, tokens) if text else ""


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
