"""Harmony prompts (gpt-oss), rendered by us instead of by the chat template.

The text is the one the official gpt-oss chat template renders for the same conversation
(tests/chat/test_harmony_render.py holds the two side by side), down to the template's quirks
in the TypeScript-like tool declarations. Where the template raises or loses information we
render what Harmony means instead:

- an assistant message with several tool calls: every call is written (the template keeps the
  first), and a tool result is attributed by its tool_call_id;
- an assistant tool-call message with both reasoning and content: the reasoning goes to the
  analysis channel and the content is a commentary preamble (the template refuses);
- a tool without a description, a message whose content is null: no comment line, empty text
  (the template raises);
- a system or developer message after the first: a developer message in place (the template
  drops it silently).

Built-in tools (`builtin_tools=["browser", "python"]`) are declared in the system message as
the template does; the Responses API calls them. The template has no rule for their calls, so
earlier calls of an enabled built-in (a call named `python` or `browser.*` that is not also a
declared function) are written as Harmony writes them, on the analysis channel:

    <|start|>assistant to=python<|channel|>analysis code<|message|>CODE<|call|>
    <|start|>python to=assistant<|channel|>analysis<|message|>OUTPUT<|end|>

(browser calls carry their JSON arguments; results are the tool's text, not JSON-quoted). Being
chain of thought, they are dropped with the analysis once a final answer follows.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from strictcall.formats.harmony_syntax import BUILTIN_CHANNEL, BUILTIN_CONTENT_TYPE

EFFORTS = ("low", "medium", "high")
KNOWLEDGE_CUTOFF = "2024-06"
DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
CHANNELS_LINE = (
    "# Valid channels: analysis, commentary, final. Channel must be included for every message."
)
FUNCTIONS_LINE = "\nCalls to these tools must go to the commentary channel: 'functions'."
_FORBIDDEN_IN_CONTENT = ("<|channel|>analysis<|message|>", "<|channel|>final<|message|>")


class HarmonyRenderError(ValueError):
    """The conversation cannot be written in Harmony (the API answers 400)."""


def render_harmony(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    *,
    reasoning_effort: str | None = None,
    model_identity: str | None = None,
    builtin_tools: Iterable[str] | None = None,
    today: datetime.date | None = None,
    **_template_kwargs: Any,
) -> str:
    """The prompt for `messages` (template-shaped: arguments decoded, content parts joined),
    ending with `<|start|>assistant` for the model to continue.

    Other chat_template_kwargs are accepted and ignored, as the template ignores them.
    """
    for key, value in (("reasoning_effort", reasoning_effort), ("model_identity", model_identity)):
        if value is not None and not isinstance(value, str):
            raise HarmonyRenderError(f"{key} must be a string")
    if isinstance(builtin_tools, str) or not all(isinstance(t, str) for t in builtin_tools or ()):
        raise HarmonyRenderError("builtin_tools must be a list of names (browser, python)")
    if today is not None and not isinstance(today, datetime.date):
        raise HarmonyRenderError("today must be a date")
    today = today or datetime.date.today()
    builtins = set(builtin_tools or ())
    system = _system_message(
        reasoning_effort or "medium",
        DEFAULT_IDENTITY if model_identity is None else model_identity,
        builtins,
        today,
        bool(tools),
    )
    out = [_message("system", system)]
    rest = messages
    instructions = ""
    if messages and messages[0].get("role") in ("system", "developer"):
        instructions = _text(messages[0].get("content"))
        rest = messages[1:]
    if instructions or tools:
        body = f"# Instructions\n\n{instructions}\n\n" if instructions else ""
        if tools:
            body += "# Tools\n\n" + _namespace("functions", tools)
        out.append(_message("developer", body))
    declared = {(t.get("function") or t).get("name") for t in tools or ()}
    out.extend(_conversation(rest, lambda name: _is_native(name, builtins, declared)))
    out.append("<|start|>assistant")
    return "".join(out)


def _message(header: str, body: str, end: str = "<|end|>") -> str:
    return f"<|start|>{header}<|message|>{body}{end}"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _tojson(value: Any) -> str:
    """The template's `tojson` filter (transformers': no HTML escaping, non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False)


# ---- the system message ---------------------------------------------------------------------
def _system_message(
    effort: str, identity: str, builtins: set[str], today: datetime.date, functions: bool
) -> str:
    text = f"{identity}\nKnowledge cutoff: {KNOWLEDGE_CUTOFF}\n"
    text += f"Current date: {today.strftime('%Y-%m-%d')}\n\n"
    text += f"Reasoning: {effort}\n\n"
    if builtins:
        text += "# Tools\n\n"
        if "browser" in builtins:
            text += BROWSER_NAMESPACE
        if "python" in builtins:
            text += PYTHON_DESCRIPTION
    text += CHANNELS_LINE
    if functions:
        text += FUNCTIONS_LINE
    return text


BROWSER_NAMESPACE = (
    "## browser\n\n"
    "// Tool for browsing.\n"
    "// The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
    "// Cite information from the tool using the following format:\n"
    "// `【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.\n"
    "// Do not quote more than 10 words directly from the tool output.\n"
    "// sources=web (default: web)\n"
    "namespace browser {\n\n"
    "// Searches for information related to `query` and displays `topn` results.\n"
    "type search = (_: {\n"
    "query: string,\n"
    "topn?: number, // default: 10\n"
    "source?: string,\n"
    "}) => any;\n\n"
    "// Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, "
    "showing `num_lines` lines.\n"
    "// Valid link ids are displayed with the formatting: `【{id}†.*】`.\n"
    "// If `cursor` is not provided, the most recent page is implied.\n"
    "// If `id` is a string, it is treated as a fully qualified URL associated with `source`.\n"
    "// If `loc` is not provided, the viewport will be positioned at the beginning of the "
    "document or centered on the most relevant passage, if available.\n"
    "// Use this function without `id` to scroll to a new location of an opened page.\n"
    "type open = (_: {\n"
    "id?: number | string, // default: -1\n"
    "cursor?: number, // default: -1\n"
    "loc?: number, // default: -1\n"
    "num_lines?: number, // default: -1\n"
    "view_source?: boolean, // default: false\n"
    "source?: string,\n"
    "}) => any;\n\n"
    "// Finds exact matches of `pattern` in the current page, or the page given by `cursor`.\n"
    "type find = (_: {\n"
    "pattern: string,\n"
    "cursor?: number, // default: -1\n"
    "}) => any;\n\n"
    "} // namespace browser\n\n"
)

PYTHON_DESCRIPTION = (
    "## python\n\n"
    "Use this tool to execute Python code in your chain of thought. The code will not be shown "
    "to the user. This tool should be used for internal reasoning, but not for code that is "
    "intended to be visible to the user (e.g. when creating plots, tables, or files).\n\n"
    "When you send a message containing Python code to python, it will be executed in a "
    "stateful Jupyter notebook environment. python will respond with the output of the "
    "execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save "
    "and persist user files. Internet access for this session is UNKNOWN. Depends on the "
    "cluster.\n\n"
)


# ---- tool declarations ----------------------------------------------------------------------
def _namespace(name: str, tools: list[dict[str, Any]]) -> str:
    out = [f"## {name}\n\nnamespace {name} {{\n\n"]
    for tool in tools:
        fn = tool.get("function", tool)
        if fn.get("description") is not None:
            out.append(f"// {fn['description']}\n")
        out.append(f"type {fn['name']} = ")
        params = fn.get("parameters")
        properties = params.get("properties") if isinstance(params, dict) else None
        if not (properties and isinstance(properties, dict)):
            out.append("() => any;\n\n")
            continue
        out.append("(_: {\n")
        required = params.get("required") or []
        for key, spec in properties.items():
            spec = spec if isinstance(spec, dict) else {}
            if spec.get("description"):
                out.append(f"// {spec['description']}\n")
            out.append(key + ("" if key in required else "?") + ": " + ts_type(spec))
            if "default" in spec:
                default = spec["default"]
                plain = default if isinstance(default, str) else _tojson(default)
                if spec.get("enum"):
                    out.append(", // default: " + plain)
                elif spec.get("oneOf"):
                    out.append("// default: " + plain)
                else:
                    out.append(", // default: " + _tojson(default))
            out.append(",\n")
        out.append("}) => any;\n\n")
    out.append(f"}} // namespace {name}")
    return "".join(out)


def ts_type(spec: Any) -> str:
    """A JSON Schema as the template's TypeScript-like type (its quirks included)."""
    if not isinstance(spec, dict):
        return "any"
    kind = spec.get("type")
    nullable = " | null" if spec.get("nullable") else ""
    if kind == "array":
        items = spec.get("items")
        if not items:
            return "any[]" + nullable
        item_kind = items.get("type") if isinstance(items, dict) else None
        if item_kind == "string":
            return "string[]" + nullable
        if item_kind in ("number", "integer"):
            return "number[]" + nullable
        if item_kind == "boolean":
            return "boolean[]" + nullable
        inner = ts_type(items)
        if inner == "object | object" or len(inner) > 50:
            return "any[]" + nullable
        return inner + "[]" + nullable
    if isinstance(kind, list) and kind:
        return " | ".join(_jinja_str(k) for k in kind)
    if spec.get("oneOf"):
        return _one_of(spec["oneOf"])
    if kind == "string":
        if spec.get("enum"):
            return '"' + '" | "'.join(_jinja_str(v) for v in spec["enum"]) + '"'
        return "string" + nullable
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "object":
        properties = spec.get("properties")
        if not properties or not isinstance(properties, dict):
            return "object"
        required = spec.get("required") or []
        fields = [
            key + ("" if key in required else "?") + ": " + "\n" + " " * 16 + ts_type(value)
            for key, value in properties.items()
        ]
        return "{\n" + ", ".join(fields) + "}"
    return "any"


def _one_of(variants: list[Any]) -> str:
    # The template means to write "any" for unions with object variants, but its flag is set
    # inside a loop (a Jinja scope) and never seen: every variant is always written out.
    parts = []
    for variant in variants:
        text = ts_type(variant)
        if isinstance(variant, dict):
            if variant.get("description"):
                text += "// " + _jinja_str(variant["description"])
            if "default" in variant:
                text += " " * 20 + "// default: " + _tojson(variant["default"])
        parts.append(text)
    return " | \n".join(parts)


def _jinja_str(value: Any) -> str:
    """How Jinja prints a value."""
    return str(value)


# ---- the conversation -----------------------------------------------------------------------
def _is_native(name: str, builtins: set[str], declared: set[Any]) -> bool:
    """A call of an enabled built-in tool (not a function that happens to share its name)."""
    if name == "python":
        namespace = "python"
    elif name.startswith("browser."):
        namespace = "browser"
    else:
        return False
    return namespace in builtins and name not in declared


def _conversation(messages: list[dict[str, Any]], native: Callable[[str], bool]) -> list[str]:
    out: list[str] = []
    names: dict[str, _Call] = {}  # tool_call_id -> the call
    last_call: _Call | None = None
    for i, message in enumerate(messages):
        role = message.get("role")
        content = message.get("content")
        if role == "user":
            out.append(_message("user", _text(content)))
        elif role in ("system", "developer"):
            out.append(_message("developer", _text(content)))
        elif role == "tool":
            call = names.get(message.get("tool_call_id") or "") or last_call
            if call is None:
                raise HarmonyRenderError(
                    f"messages[{i}] is a tool result, but no earlier assistant message has a "
                    "tool call"
                )
            if not call.native:
                header = f"functions.{call.name} to=assistant<|channel|>commentary"
                out.append(_message(header, _tojson(_text(content))))
            elif call.shown:  # a built-in answers on its call's channel, in plain text
                header = f"{call.name} to=assistant<|channel|>{BUILTIN_CHANNEL}"
                out.append(_message(header, _text(content)))
        elif role == "assistant":
            _check_channels(i, message)
            calls = message.get("tool_calls") or []
            if not calls:
                out.append(_message("assistant<|channel|>final", _text(content)))
                last_call = None
                continue
            in_progress = not _final_follows(messages[i + 1 :])
            if in_progress:
                out.extend(_kept_thoughts(message))
            for call in calls:
                fn = call.get("function") or call
                last_call = _Call(fn.get("name", ""), native(fn.get("name", "")), in_progress)
                if last_call.native:
                    if in_progress:
                        out.append(_builtin_call(last_call.name, fn.get("arguments")))
                else:
                    header = f"assistant to=functions.{last_call.name}<|channel|>commentary json"
                    out.append(_message(header, _tojson(fn.get("arguments")), end="<|call|>"))
                if call.get("id"):
                    names[call["id"]] = last_call
    return out


@dataclass(frozen=True)
class _Call:
    name: str
    native: bool  # a built-in tool's call, written the Harmony way
    shown: bool  # kept in the prompt (a built-in's call goes with the analysis it belongs to)


def _builtin_call(name: str, arguments: Any) -> str:
    """A built-in's call as gpt-oss writes it (formats/harmony.py), in the renderer's header
    order (the recipient with the role): python's body is its code, browser's its JSON."""
    if name == "python" and isinstance(arguments, dict) and isinstance(arguments.get("code"), str):
        body = arguments["code"]
    elif isinstance(arguments, str):
        body = arguments  # raw code, or arguments that were not JSON
    else:
        body = _tojson(arguments)
    header = f"assistant to={name}<|channel|>{BUILTIN_CHANNEL} {BUILTIN_CONTENT_TYPE}"
    return _message(header, body, end="<|call|>")


def _reasoning_of(message: dict[str, Any]) -> str | None:
    for key in ("reasoning_content", "thinking", "reasoning"):
        if message.get(key) is not None:
            return str(message[key])
    return None


def _check_channels(i: int, message: dict[str, Any]) -> None:
    for key in ("content", "reasoning_content", "thinking", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and any(tag in value for tag in _FORBIDDEN_IN_CONTENT):
            raise HarmonyRenderError(
                f"messages[{i}].{key} contains Harmony channel tags; pass the analysis text as "
                "reasoning_content and the final text as content"
            )


def _final_follows(later: list[dict[str, Any]]) -> bool:
    """A later assistant message without tool calls: this round of tool use is over."""
    return any(m.get("role") == "assistant" and not m.get("tool_calls") for m in later)


def _kept_thoughts(message: dict[str, Any]) -> list[str]:
    """What precedes the calls of a round still in progress: its reasoning (the template
    renders content there as analysis too) and, when both are given, a preamble."""
    reasoning, content = _reasoning_of(message), _text(message.get("content"))
    out = []
    if reasoning:
        out.append(_message("assistant<|channel|>analysis", reasoning))
        if content:
            out.append(_message("assistant<|channel|>commentary", content))
    elif content:
        out.append(_message("assistant<|channel|>analysis", content))
    return out
