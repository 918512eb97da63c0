"""Render a conversation and its tools with the model's chat template."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2

from strictcall.chat.environment import render_template
from strictcall.chat.harmony import render_harmony
from strictcall.chat.tokenizer import ModelTokenizer
from strictcall.formats.syntax import Reasoning

# Renderers that replace the chat template for a family (named by its Format's `renderer`).
RENDERERS: dict[str, Callable[..., str]] = {"harmony": render_harmony}


class TemplateError(ValueError):
    """The template refused the conversation (it raised, or it cannot render it)."""


@dataclass
class Prompt:
    text: str
    ids: list[int]
    in_reasoning: bool  # the prompt ends inside an opened reasoning block


def template_messages(
    messages: list[dict[str, Any]], call_id: Callable[[str], str] | None = None
) -> list[dict[str, Any]]:
    """OpenAI messages in the shape chat templates expect.

    Templates iterate over tool-call arguments as a mapping (`arguments | tojson`, `items()`),
    while OpenAI sends a JSON string: decode it. Text content parts are joined. `call_id`
    rewrites call ids (on calls and on tool results alike) for families whose templates
    accept only one shape of id (Mistral: 9 alphanumerics).
    """
    out = []
    for message in messages:
        m = dict(message)
        if call_id is not None and isinstance(m.get("tool_call_id"), str):
            m["tool_call_id"] = call_id(m["tool_call_id"])
        content = m.get("content")
        if isinstance(content, list):
            m["content"] = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if m.get("tool_calls"):
            calls = []
            for call in m["tool_calls"]:
                call = dict(call)
                if call_id is not None and isinstance(call.get("id"), str):
                    call["id"] = call_id(call["id"])
                fn = dict(call.get("function") or {})
                args = fn.get("arguments")
                if isinstance(args, str):
                    with contextlib.suppress(ValueError):  # else keep what the client sent
                        fn["arguments"] = json.loads(args) if args.strip() else {}
                call["function"] = fn
                calls.append(call)
            m["tool_calls"] = calls
        out.append(m)
    return out


def render(
    tokenizer: ModelTokenizer,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    reasoning: Reasoning | None = None,
    template_kwargs: dict[str, Any] | None = None,
    call_id: Callable[[str], str] | None = None,
    renderer: str | None = None,
) -> Prompt:
    """The prompt for a conversation: by the model's chat template, or by the family's own
    renderer (`renderer`, a key of RENDERERS) where it has one."""
    kwargs = dict(template_kwargs or {})
    if renderer is not None:
        try:
            text = RENDERERS[renderer](template_messages(messages), tools or None, **kwargs)
        except (ValueError, TypeError) as exc:
            raise TemplateError(f"cannot render these messages: {exc}") from None
        return Prompt(text, tokenizer.encode(text), in_reasoning=False)
    variables = {**template_variables(tokenizer), **kwargs}
    text = render_text(tokenizer.chat_template, messages, tools, variables, call_id)
    in_reasoning = False
    if reasoning is not None:
        opened, closed = text.rfind(reasoning.start), text.rfind(reasoning.end)
        in_reasoning = (
            opened >= 0 and opened > closed and not text[opened:].strip().endswith(reasoning.end)
        )
    return Prompt(text, tokenizer.encode(text), in_reasoning)


_TEMPLATE_ERRORS = (
    jinja2.TemplateError,
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    IndexError,
)


def render_text(
    template: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    variables: dict[str, Any],
    call_id: Callable[[str], str] | None = None,
) -> str:
    """The template's prompt for OpenAI messages (see `template_messages`); raises TemplateError."""
    text = _apply_template(template, template_messages(messages, call_id), tools or None, variables)
    if not isinstance(text, str):
        raise TemplateError("the chat template did not render text")
    return text


def _apply_template(
    template: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    variables: dict[str, Any],
) -> str:
    """The template's prompt, for the first shape of the messages it takes (`_shapes`); a
    template that takes none gets a TemplateError naming the message it could not render."""
    result = _try_shapes(template, messages, tools, variables)
    if isinstance(result, str):
        return result
    where = ""
    for i in range(1, len(messages)):  # the first message whose addition it refuses
        if not isinstance(_try_shapes(template, messages[:i], tools, variables), str):
            where = _describe(messages[i - 1], i - 1)
            break
    else:
        where = _describe(messages[-1], len(messages) - 1)
    raise TemplateError(f"the chat template cannot render these messages: {result}{where}")


def _try_shapes(
    template: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    variables: dict[str, Any],
) -> str | Exception:
    first: Exception | None = None
    for tool_shape in _tool_shapes(tools):
        for shape in _shapes(messages):
            try:
                return render_template(template, shape, tool_shape, **variables)
            except _TEMPLATE_ERRORS as exc:
                first = first or exc
    assert first is not None
    return first


def _tool_shapes(tools: list[dict[str, Any]] | None) -> list[list[dict[str, Any]] | None]:
    """The tools as given, then each with the parameter schema templates read spelled out
    (`parameters.properties` and `.required`, which Seed-OSS and Command R7B index): a tool
    without arguments gets an empty object schema, which means the same."""
    if not tools:
        return [tools]
    full = []
    for tool in tools:
        fn = tool.get("function")
        if isinstance(fn, dict):
            given = fn.get("parameters")
            params = {"type": "object", "properties": {}, "required": []}
            params.update(given if isinstance(given, dict) else {})
            tool = {**tool, "function": {**fn, "parameters": params}}
        full.append(tool)
    return [tools] if full == tools else [tools, full]


def _describe(message: dict[str, Any], index: int) -> str:
    what = "tool calls" if message.get("tool_calls") else f"a {message.get('role')!r} message"
    return f" (at messages[{index}]: {what})"


def _shapes(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The messages as given, then in the other shapes templates expect: arguments as JSON text
    (Functionary's and DeepSeek R1's concatenate them), null content as "" (Devstral's)."""
    filled = [{**m, "content": ""} if m.get("content") is None else m for m in messages]
    out = [messages]
    if any(m.get("tool_calls") for m in messages):
        out.append(_string_arguments(messages))
    out += [filled, _string_arguments(filled)]
    return [s for i, s in enumerate(out) if s not in out[:i]]


def _string_arguments(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        if m.get("tool_calls"):
            calls = []
            for call in m["tool_calls"]:
                fn = dict(call.get("function") or {})
                if not isinstance(fn.get("arguments"), str):
                    fn["arguments"] = json.dumps(fn.get("arguments") or {}, ensure_ascii=False)
                calls.append({**call, "function": fn})
            m = {**m, "tool_calls": calls}
        out.append(m)
    return out


def template_variables(tokenizer: ModelTokenizer) -> dict[str, Any]:
    """What transformers gives a template besides the conversation: the special tokens'
    texts by role (`bos_token`, `eos_token`, ...)."""
    named = tokenizer.hf.special_tokens_map
    return {k: v for k, v in named.items() if isinstance(v, str)}


def template_has_reasoning(template: str, reasoning: Reasoning | None) -> bool:
    """Does the template write the family's reasoning markers? Spelled in it (a marker made of
    several pieces, as Solar Open's `<|end|><|begin|>assistant`, may be written piece by
    piece), or, where it builds them from pieces (Kimi K3's `<|open|>think<|sep|>`), around
    the reasoning of an earlier answer it renders."""
    if reasoning is None:
        return False
    if all(
        all(piece in template for piece in _MARKER_PIECES.findall(marker))
        for marker in (reasoning.start, reasoning.end)
    ):
        return True
    thought = "Thinking it over"
    messages = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi", "reasoning_content": thought},
    ]
    try:
        text = render_text(template, messages, None, {"bos_token": "", "eos_token": ""})
    except TemplateError:  # a template that cannot render this says nothing of its markers
        return False
    at = text.find(thought)
    return at >= 0 and reasoning.start in text[:at] and reasoning.end in text[at:]


# a marker's pieces: `<|...|>` words and the text between them
_MARKER_PIECES = re.compile(r"<\|[^|<>]*\|>|(?:(?!<\|).)+", re.S)
