"""OpenAI Harmony (gpt-oss): messages on channels instead of markers around calls.

The model writes messages after the prompt's `<|start|>assistant`: reasoning on the analysis
channel, preambles and calls on commentary, the answer on final. A call is

    <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{...}<|call|>

and `<|call|>` (like `<|return|>` after the answer) ends the turn: gpt-oss lists both as
end-of-sequence tokens. The built-in tools gpt-oss was trained on (`native_builtin_tools`) are
called the Harmony way, on the analysis channel with the `code` content type:

    <|channel|>analysis to=python code<|message|>print(2 ** 10)<|call|>
    <|channel|>analysis to=browser.search code<|message|>{"query": "..."}<|call|>

The parser is in harmony_parser.py, the tokens and headers in harmony_syntax.py, the prompt
renderer in chat/harmony.py; this module declares the format and builds its grammar
(docs/harmony.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from strictcall.formats.base import Format, ToolsArg, compact_json, tool_names, tool_schemas
from strictcall.formats.constraint import ConstraintSpec, ToolSpec
from strictcall.formats.harmony_parser import HarmonyParser
from strictcall.formats.harmony_syntax import (
    BUILTIN_CHANNEL,
    BUILTIN_CONTENT_TYPE,
    CALL,
    CHANNEL,
    CONSTRAIN,
    END,
    MARKERS,
    MESSAGE,
    PYTHON,
    RETURN,
    START,
)
from strictcall.formats.validation import arguments_check
from strictcall.grammar.json_lark import arguments_rules
from strictcall.grammar.lark import free_text_regex, lazy_until_regex, text_rule


@dataclass(frozen=True)
class HarmonyFormat(Format):
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
    ) -> HarmonyParser:
        """The analysis channel is always reasoning: `reasoning`/`in_reasoning` do not apply,
        and calls are messages of their own, so `calls_at_start` neither (nor `opened`: no
        prompt opening is declared).

        Tools given as ToolSpecs marked `native` are called the Harmony way (`to=python`)."""
        tools = None if tools is None else list(tools)
        native = {t.name for t in tools or () if getattr(t, "native", False)}
        return HarmonyParser(
            tool_names(tools),
            calls=calls,
            new_id=self.new_id,
            native=native,
            check_arguments=arguments_check(tool_schemas(tools)) if validate else None,
        )

    def markers(self) -> list[str]:
        return list(MARKERS)

    def render_calls(self, calls: list[tuple[str, dict]]) -> str:
        messages = [
            f"{CHANNEL}commentary to=functions.{name} {CONSTRAIN}json{MESSAGE}"
            f"{compact_json(arguments)}{CALL}"
            for name, arguments in calls
        ]
        return f"{START}assistant".join(messages)

    def render_builtin_call(self, name: str, arguments: dict | str) -> str:
        """A built-in tool's call as the grammar writes it (python: `arguments` is the code)."""
        body = arguments if isinstance(arguments, str) else compact_json(arguments)
        head = f"{CHANNEL}{BUILTIN_CHANNEL} to={name} {BUILTIN_CONTENT_TYPE}{MESSAGE}"
        return f"{head}{body}{CALL}"

    def render_answer(self, text: str) -> str:
        return f"{CHANNEL}final{MESSAGE}{text}{RETURN}"

    def grammar(self, spec: ConstraintSpec) -> str | None:
        return harmony_grammar(spec)


def harmony_grammar(spec: ConstraintSpec) -> str | None:
    """Lark for one turn of Harmony messages under `spec` (None: unconstrained).

    Every message before the last is an analysis or preamble message (`note`), which ends with
    `<|end|>` and opens the next with `<|start|>assistant`. The turn ends with the answer on
    the final channel (`<|return|>`) or with a call (`<|call|>`):
      auto      note* (final | call), and with parallel calls, more messages after a call;
      required  note* call, more calls after it if parallel; the final channel is unreachable;
      named     note* one call of that function;
      none      note* final: no recipient can be written.
    A call is a function's on commentary, or, for a tool marked `native`, a built-in's on
    analysis (python's body is code, free text up to `<|call|>`).
    """
    if not spec.tools and spec.content is None:
        return None
    if spec.mode in ("required", "named") and not spec.tools:
        raise ValueError(f"tool_choice {spec.mode!r} needs tools")
    g = _Rules(spec.special_tokens)
    g.add("TEXT", free_text_regex(MARKERS))
    channel = CHANNEL + "{}" + MESSAGE
    g.add(
        "note",
        f"({g.tok(channel.format('analysis'))} | {g.tok(channel.format('commentary'))}) "
        f"{g.until(END, 'note_text')} {g.tok(START + 'assistant')}",
    )
    if spec.content is not None:
        g.add("content", spec.content)
        answer = f"content {g.tok(RETURN)}"
    else:
        answer = g.until(RETURN, "final_text")
    g.add("final", f"{g.tok(channel.format('final'))} {answer}")

    tools = spec.tools if spec.mode != "none" else ()
    if spec.mode == "named":
        tools = tuple(t for t in tools if t.name == spec.named)
        if not tools:
            raise ValueError(f"no tool named {spec.named!r}")
    if not tools:
        g.add("start", "note* final")
        return g.text()
    _call_rule(g, tools)
    parallel = spec.parallel and spec.mode != "named"
    ends = "final | call" if spec.mode == "auto" else "call"
    if parallel:
        g.add("start", "turn")
        g.add("turn", f"note* ({ends} | call {g.tok(START + 'assistant')} turn)")
    else:
        g.add("start", f"note* ({ends})")
    return g.text()


def _call_rule(g: _Rules, tools: tuple[ToolSpec, ...]) -> None:
    """`call`: a function on commentary, or a native built-in on analysis. The header is
    written as gpt-oss writes it: the recipient after the channel name."""
    functions, builtins = [], []
    for i, tool in enumerate(tools):
        if tool.native and tool.name == PYTHON:  # the body is code: free text up to <|call|>
            body = g.until(CALL, f"code_{i}")
        else:
            args = [
                g.add(head, rule) for head, rule in arguments_rules(f"args_{i}", tool.parameters)
            ]
            body = f"{args[0]} {g.tok(CALL)}"
        if tool.native:
            head = g.tok(f"{tool.name} {BUILTIN_CONTENT_TYPE}{MESSAGE}")
            builtins.append(g.add(f"tool_{i}", f"{head} {body}"))
        else:
            head = g.tok(f"{tool.name} {CONSTRAIN}json{MESSAGE}")
            functions.append(g.add(f"tool_{i}", f"{head} {body}"))
    calls = []
    if functions:
        opening = f'{g.tok(CHANNEL + "commentary")} " to=functions."'
        calls.append(g.add("function_call", f"{opening} ({' | '.join(functions)})"))
    if builtins:
        opening = f'{g.tok(CHANNEL + BUILTIN_CHANNEL)} " to="'
        calls.append(g.add("builtin_call", f"{opening} ({' | '.join(builtins)})"))
    g.add("call", " | ".join(calls))


class _Rules:
    def __init__(self, special_tokens):
        self.tokens = dict(special_tokens)
        self.rules: list[str] = []
        self.names: set[str] = set()

    def add(self, head: str, body: str) -> str:
        """Define `head` once (tools share their argument leaves, named by content)."""
        name = head.split("[")[0]
        if name not in self.names:
            self.names.add(name)
            self.rules.append(f"{head}: {body}")
        return name

    def tok(self, text: str) -> str:
        """`text` with the markers that are single special tokens written as those tokens."""
        return text_rule(text, self.tokens)

    def until(self, end: str, name: str) -> str:
        """Free text ended by the marker `end`."""
        if end in self.tokens:
            return f"TEXT {self.tok(end)}"
        # spelled out in ordinary tokens: a lazy lexeme stops at the first one, and spells no
        # other marker (a `<|start|>` in the text would open a message of its own)
        others = [m for m in MARKERS if m != end]
        return self.add(f"{name}[lazy]", lazy_until_regex(end, others))

    def text(self) -> str:
        return "\n".join(self.rules) + "\n"


HARMONY = HarmonyFormat(
    name="openai",
    aliases=("harmony", "gpt-oss", "gpt_oss"),
    description="Harmony channels: commentary to=functions.NAME (gpt-oss)",
    syntax=None,
    renderer="harmony",
    reasoning_efforts=("low", "medium", "high"),
    turn_ends=(RETURN, CALL),
    native_builtin_tools=frozenset({"browser", PYTHON}),
    required_tokens=MARKERS,
)
